//! Reading pcap and pcapng files, plain or gzip-compressed, in bounded memory.
//!
//! Record framing is checked here before `pcap-parser` parses a record, so that
//! an absurd length is an error naming its offset instead of a huge allocation,
//! and a short file is a `Truncated` error naming the cut record.

use crate::pipe::{Deadline, TimedPipe};
use crate::{CaptureError, Note, NoteKind, Packet, PacketSource, Polled, Progress, Warning};
use otposture_model::Timestamp;
use pcap_parser::pcapng::{Block, OptionCode};
use pcap_parser::{PcapError, PcapNGOption};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// How much is read from disk at a time.
const READ_CHUNK: usize = 1 << 20;
/// The least a read asks for when the file's size says less is left.
const MIN_READ: usize = 64 << 10;
/// The largest record or block accepted. libpcap's largest snap length is
/// 262,144; pcapng blocks also carry options. Anything beyond this is corrupt.
const MAX_RECORD: usize = 16 << 20;
/// The largest snap length a real capture uses (libpcap's MAXIMUM_SNAPLEN).
const MAX_SNAPLEN: u32 = 262_144;
/// How many packet comments are kept per file (the rest are counted).
const MAX_COMMENTS: usize = 100_000;

/// The container format of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Classic pcap.
    Pcap {
        /// Timestamps in nanoseconds (magic a1b23c4d).
        nanosecond: bool,
        /// Big-endian headers.
        big_endian: bool,
    },
    /// pcapng.
    Pcapng,
}

/// A capture interface (the pcap file's single one, or a pcapng IDB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// LINKTYPE_ value.
    pub linktype: u32,
    /// Snap length (0: unlimited).
    pub snaplen: u32,
    /// Timestamp units per second.
    pub ts_units_per_sec: u64,
    /// Seconds added to every timestamp (pcapng if_tsoffset).
    pub ts_offset_secs: i64,
    /// Interface name, when the file gives one.
    pub name: Option<String>,
}

/// Where the current record lies in the buffer (positions, not borrows, so the
/// merge can hold many sources' heads at once).
#[derive(Clone, Copy, Debug)]
// In this order, and kept in it: of the fields a packet takes as they are,
// time, record and offset are kept apart by ones it does not take, and so are
// the two 4-byte ones, so building the packet does not copy two of them with
// one wide load from the two narrow stores that had just written them (a
// store-forwarding stall on every packet; perf showed it, measured gone).
#[repr(C)]
struct Head {
    ts: Timestamp,
    data_start: usize,
    record: u64,
    data_len: usize,
    offset: u64,
    orig_len: u32,
    comment: Option<(usize, usize)>,
    interface: u32,
}

/// Counts the bytes read from the underlying file (compressed bytes for gzip).
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A capture file being read.
pub struct FileSource {
    path: PathBuf,
    index: usize,
    reader: Box<dyn Read>,
    disk_read: std::rc::Rc<std::cell::Cell<u64>>,
    total_bytes: Option<u64>,
    compressed: bool,
    format: FileFormat,
    big_endian: bool,
    interfaces: Vec<Interface>,
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    pos: usize,
    /// End of valid bytes in `buf`.
    end: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    eof: bool,
    records: u64,
    head: Option<Head>,
    /// Bytes of the current head to consume before parsing the next record.
    pending: usize,
    /// The head has been handed out; the next peek parses the following record.
    handed: bool,
    comment_buf: String,
    comments_kept: usize,
    notes: Vec<Note>,
    notes_kept: usize,
    warnings: Vec<Warning>,
    done: bool,
    /// For a pipe read with a time limit ([`crate::pipe`]): when its reads give up.
    deadline: Option<Deadline>,
    /// Opened from a regular file by path, so it can be closed and opened
    /// again from its start (see [`crate::MergedSource`]).
    reopenable: bool,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("compressed", &self.compressed)
            .field("records", &self.records)
            .finish()
    }
}

impl FileSource {
    /// Opens a capture file and reads its header. `index` tags the packets when
    /// several files are merged.
    pub fn open(path: &Path, index: usize) -> Result<Self, CaptureError> {
        let io = |source| CaptureError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let disk_read = std::rc::Rc::new(std::cell::Cell::new(0));
        // A pipe (standard input, a FIFO) is read on a thread of its own, so
        // that a quiet one can be waited on with a time limit.
        let (mut counted, deadline): (Box<dyn Read>, _) = if meta.is_file() {
            let file = Counting { inner: file, count: disk_read.clone() };
            (Box::new(BufReader::with_capacity(64 << 10, file)), None)
        } else {
            let deadline: Deadline = std::rc::Rc::new(std::cell::Cell::new(None));
            (Box::new(TimedPipe::spawn(file, deadline.clone(), disk_read.clone()).map_err(io)?), Some(deadline))
        };
        let total_bytes = meta.is_file().then_some(meta.len());
        let mut magic = [0u8; 2];
        let got = read_full(&mut counted, &mut magic).map_err(io)?;
        let compressed = got == 2 && magic == [0x1f, 0x8b];
        let head = std::io::Cursor::new(magic.get(..got).unwrap_or_default().to_vec());
        let chained = head.chain(counted);
        let reader: Box<dyn Read> =
            if compressed { Box::new(flate2::read::MultiGzDecoder::new(chained)) } else { Box::new(chained) };
        let mut src = Self::from_reader(path.to_path_buf(), index, reader, disk_read, total_bytes, compressed)?;
        // A gzip decoder is not known to resume after a read that gave up:
        // a compressed pipe is read without a time limit.
        src.deadline = deadline.filter(|_| !compressed);
        src.reopenable = meta.is_file();
        Ok(src)
    }

    /// Reads a capture from memory (fuzzing, tests). Gzip is detected as for files.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Self, CaptureError> {
        let total = bytes.len() as u64;
        let compressed = bytes.starts_with(&[0x1f, 0x8b]);
        let cursor = std::io::Cursor::new(bytes);
        let reader: Box<dyn Read> =
            if compressed { Box::new(flate2::read::MultiGzDecoder::new(cursor)) } else { Box::new(cursor) };
        let counter = std::rc::Rc::new(std::cell::Cell::new(0));
        Self::from_reader(PathBuf::from(name), 0, reader, counter, Some(total), compressed)
    }

    fn from_reader(
        path: PathBuf,
        index: usize,
        reader: Box<dyn Read>,
        disk_read: std::rc::Rc<std::cell::Cell<u64>>,
        total_bytes: Option<u64>,
        compressed: bool,
    ) -> Result<Self, CaptureError> {
        let mut src = FileSource {
            path,
            index,
            reader,
            disk_read,
            total_bytes,
            compressed,
            format: FileFormat::Pcapng,
            big_endian: false,
            interfaces: Vec::new(),
            buf: Vec::with_capacity(READ_CHUNK * 2),
            pos: 0,
            end: 0,
            buf_offset: 0,
            eof: false,
            records: 0,
            head: None,
            pending: 0,
            handed: false,
            comment_buf: String::new(),
            comments_kept: 0,
            notes: Vec::new(),
            notes_kept: 0,
            warnings: Vec::new(),
            done: false,
            deadline: None,
            reopenable: false,
        };
        src.read_header()?;
        Ok(src)
    }

    /// The index its packets carry as their `source`.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// True when it was opened from a regular file, which can be opened again.
    pub(crate) fn reopenable(&self) -> bool {
        self.reopenable
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The container format.
    pub fn format(&self) -> FileFormat {
        self.format
    }
    /// True for gzip input.
    pub fn compressed(&self) -> bool {
        self.compressed
    }
    /// Interfaces declared so far (pcapng declares them as it goes).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }
    /// Timestamp of the next packet without consuming it (parses it if needed).
    pub fn peek_ts(&mut self) -> Result<Option<Timestamp>, CaptureError> {
        if (self.head.is_none() || self.handed) && !self.done {
            self.advance()?;
        }
        Ok(self.head.as_ref().map(|h| h.ts))
    }

    /// Builds the current head's packet view.
    fn head_packet(&self) -> Option<Packet<'_>> {
        // By reference, field by field: a copy of the whole head read it with
        // wide loads right behind the narrow stores that had just written it.
        let h = self.head.as_ref()?;
        let data = self.buf.get(h.data_start..h.data_start + h.data_len)?;
        let comment = h.comment.and_then(|(s, e)| self.comment_buf.get(s..e));
        let linktype = self.interfaces.get(h.interface as usize).map_or(0, |i| i.linktype);
        Some(Packet {
            ts: h.ts,
            data,
            orig_len: h.orig_len,
            linktype,
            interface: h.interface,
            source: self.index,
            record: h.record,
            offset: h.offset,
            comment,
        })
    }

    fn err_malformed(&self, offset: u64, what: impl Into<String>) -> CaptureError {
        CaptureError::Malformed { path: self.path.clone(), record: self.records + 1, offset, what: what.into() }
    }

    /// Keeps a note, up to a bound per file (the rest are not kept).
    fn note(&mut self, offset: u64, kind: NoteKind) {
        if self.notes_kept < MAX_COMMENTS {
            self.notes_kept += 1;
            self.notes.push(Note { source: self.index, after_record: self.records, offset, kind });
        }
    }

    fn warn(&mut self, offset: u64, what: String) {
        // Bounded: a file with a warning on every record reports the first 1,000.
        if self.warnings.len() < 1_000 {
            self.warnings.push(Warning { path: self.path.clone(), record: self.records + 1, offset, what });
        }
    }

    /// Makes at least `n` unconsumed bytes available; returns how many are
    /// (fewer only at end of file).
    fn fill(&mut self, n: usize) -> Result<usize, CaptureError> {
        while self.end - self.pos < n && !self.eof {
            if self.pos > 0 && (self.buf.len() - self.end < READ_CHUNK || self.pos == self.end) {
                // Slide the unconsumed tail to the front; its bytes move, the
                // file offset bookkeeping follows.
                self.buf.copy_within(self.pos..self.end, 0);
                self.buf_offset += self.pos as u64;
                self.end -= self.pos;
                self.pos = 0;
            }
            let needed = n - (self.end - self.pos);
            let mut want = needed.max(READ_CHUNK);
            if let (false, Some(total)) = (self.compressed, self.total_bytes) {
                // No more than the file holds: zeroing a megabyte of buffer cost
                // more than reading a small capture (most of a directory of them).
                // At least a little, so a file that grew is still read on.
                let left = total.saturating_sub(self.buf_offset + self.end as u64);
                want = want.min(usize::try_from(left).unwrap_or(usize::MAX).max(needed).max(MIN_READ));
            }
            if self.buf.len() < self.end + want {
                self.buf.resize(self.end + want, 0);
            }
            let dst = self.buf.get_mut(self.end..).unwrap_or_default();
            let got = loop {
                match self.reader.read(dst) {
                    Ok(k) => break k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(source) => return Err(CaptureError::Io { path: self.path.clone(), source }),
                }
            };
            if got == 0 {
                self.eof = true;
            }
            self.end += got;
        }
        Ok((self.end - self.pos).min(n.max(self.end - self.pos)))
    }

    fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    fn read_header(&mut self) -> Result<(), CaptureError> {
        let got = self.fill(24)?;
        if got == 0 {
            return Err(CaptureError::Empty { path: self.path.clone() });
        }
        let first: Vec<u8> = self.avail().iter().take(4).copied().collect();
        match first.as_slice() {
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                self.format = FileFormat::Pcapng;
                // Blocks, the SHB included, are read by `advance`.
                Ok(())
            }
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => {
                if got < 24 {
                    return Err(CaptureError::Truncated {
                        path: self.path.clone(),
                        record: 0,
                        offset: 0,
                        needed: 24,
                        available: got as u64,
                    });
                }
                let (_, hdr) = pcap_parser::parse_pcap_header(self.avail())
                    .map_err(|_| self.err_malformed(0, "invalid pcap file header"))?;
                if hdr.is_modified_format() {
                    return Err(self.err_malformed(0, "Kuznetzov's modified pcap format is not supported"));
                }
                self.big_endian = hdr.is_bigendian();
                self.format =
                    FileFormat::Pcap { nanosecond: hdr.is_nanosecond_precision(), big_endian: self.big_endian };
                let linktype = hdr.network.0 as u32;
                if !crate::linktype_supported(linktype) {
                    return Err(CaptureError::UnsupportedLinkType { path: self.path.clone(), linktype });
                }
                self.interfaces.push(Interface {
                    linktype,
                    snaplen: hdr.snaplen,
                    ts_units_per_sec: if hdr.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 },
                    ts_offset_secs: 0,
                    name: None,
                });
                self.pos += 24;
                Ok(())
            }
            _ => Err(CaptureError::NotACapture { path: self.path.clone(), magic: first }),
        }
    }

    /// Parses the next packet record into `head`, skipping non-packet blocks.
    fn advance(&mut self) -> Result<(), CaptureError> {
        self.pos += std::mem::take(&mut self.pending);
        self.head = None;
        self.handed = false;
        if self.done {
            return Ok(());
        }
        let res = match self.format {
            FileFormat::Pcap { .. } => self.advance_pcap(),
            FileFormat::Pcapng => self.advance_pcapng(),
        };
        // A timed read that gave up consumed nothing: the next call parses
        // the same record again, from bytes already read and more.
        let gave_up = res.as_ref().is_err_and(gave_up);
        if (res.is_err() && !gave_up) || (res.is_ok() && self.head.is_none()) {
            self.done = true;
        }
        res
    }

    fn truncated(&self, needed: usize, available: usize) -> CaptureError {
        CaptureError::Truncated {
            path: self.path.clone(),
            record: self.records + 1,
            offset: self.offset(),
            needed: needed as u64,
            available: available as u64,
        }
    }

    fn advance_pcap(&mut self) -> Result<(), CaptureError> {
        let got = self.fill(16)?;
        if got == 0 {
            return Ok(());
        }
        if got < 16 {
            return Err(self.truncated(16, got));
        }
        let hdr: [u8; 16] = self.avail().get(..16).and_then(|h| h.try_into().ok()).unwrap_or([0; 16]);
        let word = |i: usize| {
            let b: [u8; 4] = hdr.get(i..i + 4).and_then(|w| w.try_into().ok()).unwrap_or([0; 4]);
            if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (secs, frac, caplen, origlen) = (word(0), word(4), word(8), word(12));
        let offset = self.offset();
        let iface = self.interfaces.first().cloned().unwrap_or(Interface {
            linktype: 1,
            snaplen: 0,
            ts_units_per_sec: 1_000_000,
            ts_offset_secs: 0,
            name: None,
        });
        // A header may claim any snap length; records beyond 16 MiB are corrupt
        // whatever it says (found by fuzzing: a 4 GB snap length let one record
        // ask for a 2 GB buffer).
        let limit = iface.snaplen.max(MAX_SNAPLEN).min(MAX_RECORD as u32);
        if caplen > limit {
            return Err(self.err_malformed(
                offset,
                format!(
                    "captured length {caplen} exceeds the snap length {} and the {MAX_SNAPLEN}-byte maximum",
                    iface.snaplen
                ),
            ));
        }
        // Read before warning: a pipe read that gives up (`fill`) comes back
        // to this record, and its warnings are given once.
        let need = 16 + caplen as usize;
        let got = self.fill(need)?;
        if got < need {
            return Err(self.truncated(need, got));
        }
        if iface.snaplen > 0 && caplen > iface.snaplen {
            self.warn(offset, format!("captured length {caplen} exceeds the file's snap length {}", iface.snaplen));
        }
        if caplen > origlen {
            self.warn(offset, format!("captured length {caplen} exceeds the original length {origlen}"));
        }
        if u64::from(frac) >= iface.ts_units_per_sec {
            self.warn(offset, format!("sub-second timestamp field {frac} is out of range"));
        }
        self.records += 1;
        let nanos = if iface.ts_units_per_sec == 1_000_000 { u64::from(frac) * 1_000 } else { u64::from(frac) };
        self.head = Some(Head {
            ts: Timestamp(i64::from(secs) * 1_000_000_000 + nanos as i64),
            data_start: self.pos + 16,
            data_len: caplen as usize,
            orig_len: origlen,
            interface: 0,
            record: self.records,
            offset,
            comment: None,
        });
        self.pending = need;
        Ok(())
    }

    fn advance_pcapng(&mut self) -> Result<(), CaptureError> {
        // Nearly every block is an option-less packet block already read into
        // the buffer: taken without filling, copying its first bytes or
        // building a `Result` for each step.
        if let Some(block_len) = self.buffered_epb() {
            self.pending = block_len;
            return Ok(());
        }
        loop {
            let got = self.fill(12)?;
            if got == 0 {
                return Ok(());
            }
            if got < 12 {
                return Err(self.truncated(12, got));
            }
            let offset = self.offset();
            let a: [u8; 12] = self.avail().get(..12).and_then(|h| h.try_into().ok()).unwrap_or([0; 12]);
            let raw_type = [a[0], a[1], a[2], a[3]];
            let is_shb = raw_type == [0x0a, 0x0d, 0x0d, 0x0a];
            if is_shb {
                // The byte-order magic decides the endianness of this section.
                match [a[8], a[9], a[10], a[11]] {
                    [0x1a, 0x2b, 0x3c, 0x4d] => self.big_endian = true,
                    [0x4d, 0x3c, 0x2b, 0x1a] => self.big_endian = false,
                    other => {
                        return Err(self
                            .err_malformed(offset, format!("section header byte-order magic {other:02x?} is invalid")))
                    }
                }
            } else if self.records == 0 && self.interfaces.is_empty() && offset == 0 {
                return Err(self.err_malformed(offset, "pcapng file does not start with a section header block"));
            }
            let lenb = [a[4], a[5], a[6], a[7]];
            let block_len = if self.big_endian { u32::from_be_bytes(lenb) } else { u32::from_le_bytes(lenb) } as usize;
            if block_len < 12 || block_len % 4 != 0 || block_len > MAX_RECORD {
                return Err(self.err_malformed(
                    offset,
                    format!(
                        "block length {block_len} is invalid (must be a multiple of 4 between 12 and {MAX_RECORD})"
                    ),
                ));
            }
            let got = self.fill(block_len)?;
            if got < block_len {
                return Err(self.truncated(block_len, got));
            }
            if self.fast_epb(&a, block_len, offset).is_some() {
                self.pending = block_len;
                return Ok(());
            }
            // The parsed block borrows the buffer while `on_block` updates the
            // source: move the buffer out for the duration (no copy).
            let buf = std::mem::take(&mut self.buf);
            let block_bytes = buf.get(self.pos..self.pos + block_len).unwrap_or_default();
            let trailer = block_bytes.get(block_len - 4..).unwrap_or_default();
            let len2 = if self.big_endian {
                u32::from_be_bytes(trailer.try_into().unwrap_or([0; 4]))
            } else {
                u32::from_le_bytes(trailer.try_into().unwrap_or([0; 4]))
            } as usize;
            if len2 != block_len {
                self.buf = buf;
                return Err(self.err_malformed(
                    offset,
                    format!("block length {block_len} does not match its trailing copy {len2}"),
                ));
            }
            let parsed = if self.big_endian {
                pcap_parser::pcapng::parse_block_be(block_bytes)
            } else {
                pcap_parser::pcapng::parse_block_le(block_bytes)
            };
            let block = match parsed {
                Ok((_, b)) => b,
                Err(e) => {
                    let why = match e {
                        pcap_parser::nom::Err::Incomplete(_) => "block content runs past its length".to_string(),
                        pcap_parser::nom::Err::Error(pe) | pcap_parser::nom::Err::Failure(pe) => describe(&pe),
                    };
                    self.buf = buf;
                    return Err(
                        self.err_malformed(offset, format!("invalid pcapng block type {:02x?}: {why}", raw_type))
                    );
                }
            };
            let outcome = self.on_block(block, buf.as_ptr() as usize, offset);
            self.buf = buf;
            match outcome? {
                Some(head) => {
                    self.head = Some(head);
                    self.pending = block_len;
                    return Ok(());
                }
                None => self.pos += block_len,
            }
        }
    }

    /// [`Self::fast_epb`] for a block wholly in the buffer, checked as the
    /// general path checks it first (a length within [`MAX_RECORD`]); `None`
    /// sends anything else, or a block not yet read in full, the general way.
    fn buffered_epb(&mut self) -> Option<usize> {
        let avail = self.buf.get(self.pos..self.end)?;
        let first: [u8; 12] = avail.get(..12)?.try_into().ok()?;
        let len = [first[4], first[5], first[6], first[7]];
        let block_len = if self.big_endian { u32::from_be_bytes(len) } else { u32::from_le_bytes(len) } as usize;
        if block_len > avail.len() || block_len > MAX_RECORD {
            return None;
        }
        let offset = self.offset();
        self.fast_epb(&first, block_len, offset).map(|()| block_len)
    }

    /// The common enhanced packet block — known interface, no options — read
    /// directly (pcapng §4.3): pcap-parser's general block parser costs more per
    /// packet than everything else in the read stage. Anything else returns `None`
    /// and takes the general path.
    /// Sets the head in place: built here and moved out, it was copied with
    /// wide loads right behind the narrow stores that wrote it (a
    /// store-forwarding stall on every packet).
    fn fast_epb(&mut self, first: &[u8; 12], block_len: usize, offset: u64) -> Option<()> {
        let epb = if self.big_endian { [0, 0, 0, 6] } else { [6, 0, 0, 0] };
        if first.get(..4)? != epb {
            return None;
        }
        let b = self.buf.get(self.pos..self.pos + block_len)?;
        // The fixed part at once: the fields below are then read without a
        // bounds check each.
        let h: [u8; 28] = b.get(..28)?.try_into().ok()?;
        let big_endian = self.big_endian;
        let word = |w: [u8; 4]| if big_endian { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) };
        let (if_id, hi, lo, caplen, origlen) = (
            word([h[8], h[9], h[10], h[11]]),
            word([h[12], h[13], h[14], h[15]]),
            word([h[16], h[17], h[18], h[19]]),
            word([h[20], h[21], h[22], h[23]]),
            word([h[24], h[25], h[26], h[27]]),
        );
        let padded = (caplen as usize).checked_add(3)? & !3;
        // Exactly header, padded data and trailer: no options to read.
        if 28usize.checked_add(padded)?.checked_add(4)? != block_len || caplen > origlen {
            return None;
        }
        let iface = self.interfaces.get(if_id as usize)?;
        let ts = units_to_ts((u64::from(hi) << 32) | u64::from(lo), iface.ts_units_per_sec, iface.ts_offset_secs);
        self.records += 1;
        self.head = Some(Head {
            ts,
            data_start: self.pos + 28,
            data_len: caplen as usize,
            orig_len: origlen,
            interface: if_id,
            record: self.records,
            offset,
            comment: None,
        });
        Some(())
    }

    /// Handles one pcapng block; returns the packet head for packet blocks.
    fn on_block(&mut self, block: Block<'_>, base: usize, offset: u64) -> Result<Option<Head>, CaptureError> {
        // Data slices borrow the (moved-out) buffer starting at `base`; keep positions.
        let pos_of = |s: &[u8]| (s.as_ptr() as usize).wrapping_sub(base);
        match block {
            Block::SectionHeader(shb) => {
                if shb.major_version != 1 {
                    return Err(self.err_malformed(
                        offset,
                        format!("pcapng major version {} is not supported", shb.major_version),
                    ));
                }
                // A new section starts a new interface list.
                self.interfaces.clear();
                for c in option_strings(&shb.options, OptionCode::Comment) {
                    self.note(offset, NoteKind::SectionComment(c));
                }
                Ok(None)
            }
            Block::InterfaceDescription(idb) => {
                let linktype = idb.linktype.0 as u32;
                let ts_units_per_sec = match idb.ts_resolution() {
                    Some(r) if r > 0 => r,
                    _ => {
                        return Err(self.err_malformed(
                            offset,
                            format!("interface timestamp resolution {:#x} is invalid", idb.if_tsresol),
                        ))
                    }
                };
                let name = option_strings(&idb.options, OptionCode::IfName).into_iter().next();
                if !crate::linktype_supported(linktype) {
                    self.warn(
                        offset,
                        format!(
                            "interface {} has unsupported link type {linktype}; its packets are counted and skipped",
                            self.interfaces.len()
                        ),
                    );
                }
                self.interfaces.push(Interface {
                    linktype,
                    snaplen: idb.snaplen,
                    ts_units_per_sec,
                    ts_offset_secs: idb.if_tsoffset,
                    name,
                });
                Ok(None)
            }
            Block::EnhancedPacket(epb) => {
                let Some(iface) = self.interfaces.get(epb.if_id as usize).cloned() else {
                    return Err(self.err_malformed(
                        offset,
                        format!(
                            "packet refers to interface {} but only {} are declared",
                            epb.if_id,
                            self.interfaces.len()
                        ),
                    ));
                };
                if epb.caplen > epb.origlen {
                    self.warn(
                        offset,
                        format!("captured length {} exceeds the original length {}", epb.caplen, epb.origlen),
                    );
                }
                let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let ts = units_to_ts(units, iface.ts_units_per_sec, iface.ts_offset_secs);
                let comment = match option_strings(&epb.options, OptionCode::Comment).into_iter().next() {
                    Some(c) if self.comments_kept < MAX_COMMENTS => {
                        self.comments_kept += 1;
                        self.comment_buf.clear();
                        self.comment_buf.push_str(&c);
                        Some((0, self.comment_buf.len()))
                    }
                    _ => None,
                };
                let data_start = pos_of(epb.data);
                self.records += 1;
                Ok(Some(Head {
                    ts,
                    data_start,
                    // The block's data is padded to 32 bits; the record is `caplen` long.
                    data_len: epb.data.len().min(epb.caplen as usize),
                    orig_len: epb.origlen,
                    interface: epb.if_id,
                    record: self.records,
                    offset,
                    comment,
                }))
            }
            Block::SimplePacket(spb) => {
                let Some(iface) = self.interfaces.first() else {
                    return Err(self.err_malformed(offset, "simple packet block before any interface description"));
                };
                // SPB has no captured length: it is the block body bounded by snaplen.
                let snap = if iface.snaplen == 0 { usize::MAX } else { iface.snaplen as usize };
                let data_len = spb.data.len().min(spb.origlen as usize).min(snap);
                self.records += 1;
                Ok(Some(Head {
                    // SPBs carry no timestamp; keep order by using the previous one.
                    ts: self.head.map_or(Timestamp(0), |h| h.ts),
                    data_start: pos_of(spb.data),
                    data_len,
                    orig_len: spb.origlen,
                    interface: 0,
                    record: self.records,
                    offset,
                    comment: None,
                }))
            }
            Block::NameResolution(nrb) => {
                for rec in &nrb.nr {
                    let addr = match rec.record_type.0 {
                        1 => rec
                            .record_value
                            .get(..4)
                            .and_then(|a| <[u8; 4]>::try_from(a).ok())
                            .map(std::net::IpAddr::from),
                        2 => rec
                            .record_value
                            .get(..16)
                            .and_then(|a| <[u8; 16]>::try_from(a).ok())
                            .map(std::net::IpAddr::from),
                        _ => None,
                    };
                    let alen = if rec.record_type.0 == 1 { 4 } else { 16 };
                    if let Some(addr) = addr {
                        for name in rec
                            .record_value
                            .get(alen..)
                            .unwrap_or_default()
                            .split(|b| *b == 0)
                            .filter(|n| !n.is_empty())
                        {
                            let name = String::from_utf8_lossy(name).into_owned();
                            self.note(offset, NoteKind::ResolvedName { ip: addr, name });
                        }
                    }
                }
                Ok(None)
            }
            Block::InterfaceStatistics(isb) => {
                for opt in &isb.options {
                    // isb_ifdrop (5): packets dropped by the interface.
                    if opt.code.0 == 5 {
                        let v: Option<[u8; 8]> = opt.value.get(..8).and_then(|v| v.try_into().ok());
                        if let Some(v) = v {
                            let n = if self.big_endian { u64::from_be_bytes(v) } else { u64::from_le_bytes(v) };
                            self.note(offset, NoteKind::InterfaceDrops { interface: isb.if_id, dropped: n });
                        }
                    }
                }
                Ok(None)
            }
            // Journal, secrets, process info, custom and unknown blocks carry no packets.
            _ => Ok(None),
        }
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => format!("parse error ({kind:?})"),
        other => format!("{other:?}"),
    }
}

fn option_strings(opts: &[PcapNGOption<'_>], code: OptionCode) -> Vec<String> {
    opts.iter()
        .filter(|o| o.code == code)
        .map(|o| {
            let v = o.value.get(..o.len as usize).unwrap_or(&o.value);
            String::from_utf8_lossy(v).trim_end_matches('\0').to_string()
        })
        .collect()
}

/// Converts pcapng timestamp units to nanoseconds.
fn units_to_ts(units: u64, per_sec: u64, offset_secs: i64) -> Timestamp {
    // Microseconds or nanoseconds without an offset (nearly every file): one
    // multiplication. When it fits, the general formula below gives the same.
    let ns_per_unit = match per_sec {
        1_000_000 => 1_000,
        1_000_000_000 => 1,
        _ => 0,
    };
    if ns_per_unit != 0 && offset_secs == 0 {
        if let Some(ns) = units.checked_mul(ns_per_unit).and_then(|n| i64::try_from(n).ok()) {
            return Timestamp(ns);
        }
    }
    units_to_ts_general(units, per_sec, offset_secs)
}

/// Any resolution and offset, saturating at the ends of the range.
fn units_to_ts_general(units: u64, per_sec: u64, offset_secs: i64) -> Timestamp {
    // Microseconds and nanoseconds arrive here only with an offset or past
    // the range of one multiplication: constant divisors still keep the
    // 128-bit division for the other resolutions.
    let (secs, nanos) = match per_sec {
        1_000_000 => (units / 1_000_000, (units % 1_000_000) * 1_000),
        1_000_000_000 => (units / 1_000_000_000, units % 1_000_000_000),
        _ => (units / per_sec, (u128::from(units % per_sec) * 1_000_000_000 / u128::from(per_sec)) as u64),
    };
    Timestamp((secs as i64).saturating_add(offset_secs).saturating_mul(1_000_000_000).saturating_add(nanos as i64))
}

/// Reads until `buf` is full or the input ends; how many bytes it got.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// True for the error of a pipe read that gave up at its deadline.
fn gave_up(e: &CaptureError) -> bool {
    matches!(e, CaptureError::Io { source, .. } if source.kind() == std::io::ErrorKind::WouldBlock)
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        self.peek_ts()?;
        self.handed = self.head.is_some();
        Ok(self.head_packet())
    }

    /// A pipe waits at most `wait` for the next whole record; a file never
    /// waits.
    fn poll_packet(&mut self, wait: std::time::Duration) -> Result<Polled<'_>, CaptureError> {
        let Some(deadline) = self.deadline.clone() else {
            return Ok(self.next_packet()?.map_or(Polled::End, Polled::Packet));
        };
        deadline.set(Some(std::time::Instant::now() + wait));
        let peeked = self.peek_ts();
        deadline.set(None);
        match peeked {
            Err(e) if gave_up(&e) => Ok(Polled::Idle),
            Err(e) => Err(e),
            Ok(_) => {
                self.handed = self.head.is_some();
                Ok(self.head_packet().map_or(Polled::End, Polled::Packet))
            }
        }
    }

    fn progress(&self) -> Progress {
        let bytes_read = if self.compressed || self.disk_read.get() > 0 { self.disk_read.get() } else { self.offset() };
        Progress { bytes_read, total_bytes: self.total_bytes, packets: self.records }
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-multiplication path gives what the general formula gives.
        #[test]
        fn timestamps_take_the_short_path_without_changing(
            // Real capture times in microseconds and nanoseconds, and the ends.
            units in prop_oneof![0u64..4_000_000_000_000_000, 0u64..4_000_000_000_000_000_000, any::<u64>(), Just(u64::MAX), Just(i64::MAX as u64 / 1_000)],
            per_sec in prop_oneof![Just(1_000_000u64), Just(1_000_000_000), Just(1_000), Just(1), 1u64..u64::MAX],
            offset_secs in prop_oneof![Just(0i64), any::<i64>()],
        ) {
            prop_assert_eq!(units_to_ts(units, per_sec, offset_secs), units_to_ts_general(units, per_sec, offset_secs));
        }
    }
}
