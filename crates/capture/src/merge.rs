//! Several capture files read as one, in timestamp order.
//!
//! Each file is read in its own order; across files the packet with the
//! earliest timestamp goes first (ties go to the earlier file on the command
//! line), as `mergecap` does.
//!
//! The open files wait in a heap keyed by the time of their next packet, so a
//! packet costs the same whether two files are merged or two thousand (asking
//! every file for its next time at every packet made 180 files read 20x slower
//! than one file of the same packets).
//!
//! Memory and open file handles follow the files that overlap in time, not how
//! many files were given: a regular file after the first is closed once the
//! time of its first packet is known, opened again when the merge reaches that
//! time, and closed at its end. A day of hourly rotated captures holds one or
//! two open at once. The first file, pipes and standard input (which cannot be
//! opened again) stay open until their end.
//!
//! A file that fails (cut short, corrupt, gone) is closed where it fails, and
//! its error is returned by one read; the next read goes on with the other
//! files. One broken file in a directory of rotated captures costs its own
//! rest, not everything after it.

use crate::{CaptureError, FileSource, Note, Packet, PacketSource, Polled, Progress, Warning};
use otposture_model::Timestamp;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::PathBuf;

/// Files merged by timestamp.
#[derive(Debug)]
pub struct MergedSource {
    /// The files open now, by their position among the inputs.
    open: Vec<Option<FileSource>>,
    /// Open files whose next packet has been read, by (its time, their position).
    ready: BinaryHeap<Reverse<(Timestamp, usize)>>,
    /// Open files not read yet: read when the merge starts (a pipe's first
    /// packet is waited for then, not while the inputs are given).
    unread: Vec<usize>,
    /// Closed files the merge has not reached; once sorted, the next to open is last.
    parked: Vec<Parked>,
    parked_sorted: bool,
    /// The file whose packet was handed out last: its next record is read on
    /// the next call, after the caller is done with the packet.
    last: Option<usize>,
    /// Errors of files that failed and were closed, returned one per read.
    failed: VecDeque<CaptureError>,
    /// Bytes and packets of the files read to their end and closed.
    ended: Progress,
    /// Every input's size, when all are known.
    total_bytes: Option<u64>,
    /// Warnings and notes of closed files, not yet taken.
    warnings: Vec<Warning>,
    notes: Vec<Note>,
    open_now: usize,
    peak_open: usize,
}

/// A closed file and the time of its first packet.
#[derive(Debug)]
struct Parked {
    path: PathBuf,
    index: usize,
    position: usize,
    first: Timestamp,
}

impl MergedSource {
    /// Merges already opened files, in this order (the order breaks ties).
    pub fn new(files: Vec<FileSource>) -> Self {
        let mut m = MergedSource {
            open: Vec::new(),
            ready: BinaryHeap::new(),
            unread: Vec::new(),
            parked: Vec::new(),
            parked_sorted: true,
            last: None,
            failed: VecDeque::new(),
            ended: Progress::default(),
            total_bytes: Some(0),
            warnings: Vec::new(),
            notes: Vec::new(),
            open_now: 0,
            peak_open: 0,
        };
        for f in files {
            m.add(f);
        }
        m
    }

    /// Adds the next input. A regular file other than the first is read up to
    /// its first packet and closed until the merge reaches that packet; an
    /// error on the way is returned by a read of the merge, as a later one
    /// would be.
    pub fn add(&mut self, mut file: FileSource) {
        let position = self.open.len();
        self.total_bytes = self.total_bytes.zip(file.progress().total_bytes).map(|(a, b)| a + b);
        if position == 0 || !file.reopenable() {
            self.open.push(Some(file));
            self.unread.push(position);
            self.opened();
            return;
        }
        self.open.push(None);
        match file.peek_ts() {
            Ok(Some(first)) => {
                // Its warnings and notes come again when it is opened again.
                self.parked.push(Parked { path: file.path().to_path_buf(), index: file.index(), position, first });
                self.parked_sorted = false;
            }
            Ok(None) => self.ended(file),
            Err(e) => {
                self.ended(file);
                self.failed.push_back(e);
            }
        }
    }

    /// The most files open at once so far.
    pub fn peak_open(&self) -> usize {
        self.peak_open
    }

    fn opened(&mut self) {
        self.open_now += 1;
        self.peak_open = self.peak_open.max(self.open_now);
    }

    /// Keeps what a file read to its end (or to an error) leaves, and closes it.
    fn ended(&mut self, mut file: FileSource) {
        let p = file.progress();
        self.ended.bytes_read += p.bytes_read;
        self.ended.packets += p.packets;
        self.warnings.extend(file.take_warnings());
        self.notes.extend(file.take_notes());
    }

    fn close(&mut self, position: usize) {
        if let Some(file) = self.open.get_mut(position).and_then(Option::take) {
            self.open_now -= 1;
            self.ended(file);
        }
    }

    /// The time of an open file's next packet; a file at its end, or at an
    /// error, is closed.
    fn peek(&mut self, position: usize) -> Result<Option<Timestamp>, CaptureError> {
        let Some(Some(file)) = self.open.get_mut(position) else { return Ok(None) };
        match file.peek_ts() {
            Ok(Some(ts)) => Ok(Some(ts)),
            Ok(None) => {
                self.close(position);
                Ok(None)
            }
            Err(e) => {
                self.close(position);
                Err(e)
            }
        }
    }

    /// Reads an open file's next packet time and queues it by that time.
    fn queue(&mut self, position: usize) -> Result<(), CaptureError> {
        if let Some(ts) = self.peek(position)? {
            self.ready.push(Reverse((ts, position)));
        }
        Ok(())
    }

    /// Opens a parked file again and queues it.
    fn reopen(&mut self, p: Parked) -> Result<(), CaptureError> {
        let file = FileSource::open(&p.path, p.index)?;
        if let Some(slot) = self.open.get_mut(p.position) {
            *slot = Some(file);
            self.opened();
        }
        self.queue(p.position)
    }

    /// The packet an open file has read ahead.
    fn hand(&mut self, position: usize) -> Result<Option<Packet<'_>>, CaptureError> {
        match self.open.get_mut(position) {
            Some(Some(file)) => file.next_packet(),
            _ => Ok(None),
        }
    }
}

impl PacketSource for MergedSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        // One file (the usual case) has nothing to merge.
        if self.open.len() == 1 {
            return match self.open.first_mut() {
                Some(Some(only)) => only.next_packet(),
                _ => Ok(None),
            };
        }
        if !self.unread.is_empty() {
            for position in std::mem::take(&mut self.unread) {
                if let Err(e) = self.queue(position) {
                    self.failed.push_back(e);
                }
            }
        }
        if let Some(e) = self.failed.pop_front() {
            return Err(e);
        }
        if !self.parked_sorted {
            self.parked.sort_unstable_by_key(|p| Reverse((p.first, p.position)));
            self.parked_sorted = true;
        }
        if let Some(position) = self.last.take() {
            if let Some(ts) = self.peek(position)? {
                let key = (ts, position);
                // Still first (a run of one file's packets): handed out again
                // without going through the heap.
                let first = self.ready.peek().is_none_or(|Reverse(k)| key < *k)
                    && self.parked.last().is_none_or(|p| key < (p.first, p.position));
                if first {
                    self.last = Some(position);
                    return self.hand(position);
                }
                self.ready.push(Reverse(key));
            }
        }
        // Open the parked files whose first packet goes before every queued one.
        while let Some(p) = self.parked.last() {
            if self.ready.peek().is_some_and(|Reverse(k)| *k < (p.first, p.position)) {
                break;
            }
            if let Some(p) = self.parked.pop() {
                self.reopen(p)?;
            }
        }
        let Some(Reverse((_, position))) = self.ready.pop() else { return Ok(None) };
        self.last = Some(position);
        self.hand(position)
    }

    /// One file (or pipe) waits as it does alone; several are merged with
    /// blocking reads (merging waits on every input anyway).
    fn poll_packet(&mut self, wait: std::time::Duration) -> Result<Polled<'_>, CaptureError> {
        if self.open.len() == 1 {
            return match self.open.first_mut() {
                Some(Some(only)) => only.poll_packet(wait),
                _ => Ok(Polled::End),
            };
        }
        Ok(self.next_packet()?.map_or(Polled::End, Polled::Packet))
    }

    fn progress(&self) -> Progress {
        let mut p = Progress { total_bytes: self.total_bytes, ..self.ended };
        for f in self.open.iter().flatten() {
            let q = f.progress();
            p.bytes_read += q.bytes_read;
            p.packets += q.packets;
        }
        p
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        let mut w = std::mem::take(&mut self.warnings);
        w.extend(self.open.iter_mut().flatten().flat_map(|f| f.take_warnings()));
        w
    }

    fn take_notes(&mut self) -> Vec<Note> {
        let mut n = std::mem::take(&mut self.notes);
        n.extend(self.open.iter_mut().flatten().flat_map(|f| f.take_notes()));
        n
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use otposture_fixtures::{LinkType, PcapWriter};
    use proptest::prelude::*;

    /// A pcap file of minimal Ethernet frames at these times (ns), each frame
    /// tagged with `tag` so the test can tell the files apart.
    fn write(dir: &std::path::Path, name: &str, tag: u8, times: &[i64]) -> PathBuf {
        let path = dir.join(name);
        let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap(), LinkType::ETHERNET).unwrap();
        for &t in times {
            let mut frame = vec![0u8; 14];
            frame[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
            frame.push(tag);
            w.write_packet(Timestamp(t * 1_000), &frame).unwrap();
        }
        path
    }

    fn read(m: &mut MergedSource) -> Vec<(i64, u8, usize)> {
        let mut out = Vec::new();
        while let Some(p) = m.next_packet().unwrap() {
            out.push((p.ts.0 / 1_000, *p.data.last().unwrap(), p.source));
        }
        out
    }

    fn merged(paths: &[PathBuf]) -> MergedSource {
        MergedSource::new(paths.iter().enumerate().map(|(i, p)| FileSource::open(p, i).unwrap()).collect())
    }

    #[test]
    fn rotated_files_are_read_one_or_two_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..300)
            .map(|i| write(dir.path(), &format!("r{i:03}.pcap"), (i % 251) as u8, &[i * 10, i * 10 + 5]))
            .collect();
        // Given in reverse: the order of the times decides, not of the arguments.
        let reversed: Vec<PathBuf> = paths.iter().rev().cloned().collect();
        let mut m = merged(&reversed);
        let got = read(&mut m);
        assert_eq!(got.len(), 600);
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "out of order");
        assert_eq!(got.first().unwrap().0, 0);
        // The last file given stays open from the start; one more at a time.
        assert_eq!(m.peak_open(), 2, "files open at once");
        assert_eq!(m.progress().packets, 600);
        let size: u64 = paths.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
        assert_eq!(m.progress().total_bytes, Some(size));
        assert_eq!(m.progress().bytes_read, size);
    }

    #[test]
    fn ties_go_to_the_earlier_file_given() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.pcap", 1, &[5, 10, 10, 20]);
        let b = write(dir.path(), "b.pcap", 2, &[10, 10, 15]);
        let c = write(dir.path(), "c.pcap", 3, &[1, 10]);
        let got: Vec<(i64, u8)> = read(&mut merged(&[a, b, c])).into_iter().map(|(t, g, _)| (t, g)).collect();
        assert_eq!(got, [(1, 3), (5, 1), (10, 1), (10, 1), (10, 2), (10, 2), (10, 3), (15, 2), (20, 1)]);
    }

    /// Cuts the last `n` bytes off a file.
    fn cut(path: &std::path::Path, n: u64) {
        let len = std::fs::metadata(path).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len - n).unwrap();
    }

    /// Every packet and every error, in the order the merge gives them.
    fn read_through(m: &mut MergedSource) -> (Vec<(i64, u8)>, Vec<String>) {
        let (mut packets, mut errors) = (Vec::new(), Vec::new());
        loop {
            match m.next_packet() {
                Ok(Some(p)) => packets.push((p.ts.0 / 1_000, *p.data.last().unwrap())),
                Ok(None) => return (packets, errors),
                Err(e) => {
                    errors.push(e.to_string());
                    assert!(errors.len() <= 10, "errors without end: {errors:?}");
                }
            }
        }
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it_after_what_came_before_and_the_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.pcap", 1, &[1, 2, 3, 4]);
        let b = write(dir.path(), "b.pcap", 2, &[2, 3]);
        // Cut b's second record short.
        cut(&b, 3);
        let mut m = merged(&[a, b.clone()]);
        let mut seen = 0;
        let err = loop {
            match m.next_packet() {
                Ok(Some(_)) => seen += 1,
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert_eq!(seen, 3, "a's 1 and 2, then b's 2 before b's cut record");
        assert!(err.to_string().contains(&b.display().to_string()), "{err}");
        // The next reads go on with a, and b is not read again.
        let (rest, errors) = read_through(&mut m);
        assert_eq!(rest, [(3, 1), (4, 1)]);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn broken_files_anywhere_in_a_merge_cost_only_their_own_rest() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.pcap", 1, &[1, 5, 9]);
        // Broken before its first packet (found while the inputs are given).
        let b = write(dir.path(), "b.pcap", 2, &[2]);
        cut(&b, 5);
        let b2 = write(dir.path(), "b2.pcap", 7, &[2]);
        cut(&b2, 1);
        // Broken after two packets (found when the merge reaches it again).
        let c = write(dir.path(), "c.pcap", 3, &[3, 4, 6]);
        cut(&c, 1);
        // Not a capture at all past its header: a bad record length.
        let d = write(dir.path(), "d.pcap", 4, &[7, 8]);
        {
            use std::io::{Seek, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&d).unwrap();
            // The second record's captured length (24-byte file header,
            // 16-byte record header, 15-byte frame, then 8 bytes in).
            f.seek(std::io::SeekFrom::Start(24 + 16 + 15 + 8)).unwrap();
            f.write_all(&u32::MAX.to_le_bytes()).unwrap();
        }
        let e = write(dir.path(), "e.pcap", 5, &[10]);
        // The first file given breaks too, and the merge goes on without it.
        let f = write(dir.path(), "f.pcap", 6, &[0, 11]);
        cut(&f, 2);
        let (packets, errors) =
            read_through(&mut merged(&[f.clone(), a, b.clone(), c.clone(), b2.clone(), d.clone(), e]));
        assert_eq!(packets, [(0, 6), (1, 1), (3, 3), (4, 3), (5, 1), (7, 4), (9, 1), (10, 5)]);
        assert_eq!(errors.len(), 5, "{errors:?}");
        for broken in [&f, &b, &b2, &c, &d] {
            let name = broken.display().to_string();
            assert_eq!(errors.iter().filter(|e| e.contains(&name)).count(), 1, "{name}: {errors:?}");
        }
    }

    #[test]
    fn an_empty_capture_among_others_ends_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.pcap", 1, &[3, 4]);
        let empty = write(dir.path(), "e.pcap", 2, &[]);
        let c = write(dir.path(), "c.pcap", 3, &[1]);
        let got: Vec<(i64, u8)> = read(&mut merged(&[a, empty, c])).into_iter().map(|(t, g, _)| (t, g)).collect();
        assert_eq!(got, [(1, 3), (3, 1), (4, 1)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any files, in any order: the merge is the stable sort of every packet
        /// by (time, file given), and every packet carries its file's index.
        #[test]
        fn the_merge_is_the_stable_sort_by_time_then_file(
            files in prop::collection::vec(prop::collection::vec(0i64..50, 0..12), 1..8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut paths = Vec::new();
            let mut expected = Vec::new();
            for (i, times) in files.iter().enumerate() {
                // Each file in its own order: sorted, as a capture is.
                let mut times = times.clone();
                times.sort_unstable();
                paths.push(write(dir.path(), &format!("f{i}.pcap"), i as u8, &times));
                expected.extend(times.iter().map(|&t| (t, i as u8, i)));
            }
            expected.sort_by_key(|&(t, _, i)| (t, i));
            prop_assert_eq!(read(&mut merged(&paths)), expected);
        }
    }
}
