//! Several capture files read as one, in timestamp order.
//!
//! Each file is read in its own order; across files the packet with the
//! earliest timestamp goes first (ties go to the earlier file on the command
//! line), as `mergecap` does. Only one record per file is held at a time.

use crate::{CaptureError, FileSource, Packet, PacketSource, Polled, Progress, Warning};
use otposture_model::Timestamp;

/// Files merged by timestamp.
#[derive(Debug)]
pub struct MergedSource {
    files: Vec<FileSource>,
}

impl MergedSource {
    /// Merges already opened files.
    pub fn new(files: Vec<FileSource>) -> Self {
        MergedSource { files }
    }

    /// The files, for their metadata.
    pub fn files(&self) -> &[FileSource] {
        &self.files
    }
}

impl PacketSource for MergedSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        // One file (the usual case) has nothing to merge.
        if self.files.len() == 1 {
            return match self.files.first_mut() {
                Some(only) => only.next_packet(),
                None => Ok(None),
            };
        }
        let mut best: Option<(usize, Timestamp)> = None;
        for (i, f) in self.files.iter_mut().enumerate() {
            if let Some(ts) = f.peek_ts()? {
                if best.is_none_or(|(_, b)| ts < b) {
                    best = Some((i, ts));
                }
            }
        }
        match best {
            Some((i, _)) => match self.files.get_mut(i) {
                Some(f) => f.next_packet(),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// One file (or pipe) waits as it does alone; several are merged with
    /// blocking reads (merging waits on every input anyway).
    fn poll_packet(&mut self, wait: std::time::Duration) -> Result<Polled<'_>, CaptureError> {
        if self.files.len() == 1 {
            return match self.files.first_mut() {
                Some(only) => only.poll_packet(wait),
                None => Ok(Polled::End),
            };
        }
        Ok(self.next_packet()?.map_or(Polled::End, Polled::Packet))
    }

    fn progress(&self) -> Progress {
        let mut p = Progress { total_bytes: Some(0), ..Progress::default() };
        for f in &self.files {
            let q = f.progress();
            p.bytes_read += q.bytes_read;
            p.packets += q.packets;
            p.total_bytes = match (p.total_bytes, q.total_bytes) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        p
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        self.files.iter_mut().flat_map(|f| f.take_warnings()).collect()
    }

    fn take_notes(&mut self) -> Vec<crate::Note> {
        self.files.iter_mut().flat_map(|f| f.take_notes()).collect()
    }
}
