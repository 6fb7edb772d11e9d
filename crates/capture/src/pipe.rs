//! Reading a pipe (standard input, a FIFO) with a time limit.
//!
//! A read from a pipe blocks until the writer sends more or closes it, and
//! std has no read with a timeout for a plain file descriptor. A capture piped
//! from `tcpdump -w -` on a quiet network would then hold its last packets
//! unstored until traffic resumed. So a thread does the blocking reads and
//! hands the bytes over a bounded channel; the reader waits on the channel,
//! which has a timeout. Written by hand: no well-kept crate offers a timed
//! `Read` over an arbitrary file without `unsafe` or an async runtime.

use std::cell::Cell;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::rc::Rc;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::time::Instant;

/// Bytes per hand-over.
const CHUNK: usize = 64 << 10;
/// Hand-overs in flight: the most a pipe reader holds ahead of the parser is
/// `CHUNK * IN_FLIGHT` (1 MiB).
const IN_FLIGHT: usize = 16;

/// When a read must give up, shared between a [`TimedPipe`] and its owner:
/// `None` waits as long as it takes.
pub(crate) type Deadline = Rc<Cell<Option<Instant>>>;

/// A pipe read on a thread of its own. A read that finds nothing by the
/// deadline fails with [`ErrorKind::WouldBlock`] and loses nothing: the next
/// read goes on where it stopped.
pub(crate) struct TimedPipe {
    rx: Receiver<std::io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    deadline: Deadline,
    /// Bytes handed to the parser.
    count: Rc<Cell<u64>>,
}

impl TimedPipe {
    /// Starts the reading thread on `file`.
    pub(crate) fn spawn(mut file: File, deadline: Deadline, count: Rc<Cell<u64>>) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        std::thread::Builder::new().name("pipe-reader".into()).spawn(move || loop {
            let mut chunk = vec![0; CHUNK];
            let sent = match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    chunk.truncate(n);
                    tx.send(Ok(chunk))
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            };
            // The reader is gone (the analysis ended): nothing to read for.
            if sent.is_err() {
                break;
            }
        })?;
        Ok(TimedPipe { rx, chunk: Vec::new(), at: 0, deadline, count })
    }
}

impl Read for TimedPipe {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(left) = self.chunk.get(self.at..).filter(|l| !l.is_empty()) {
                let n = left.len().min(out.len());
                if let (Some(dst), Some(src)) = (out.get_mut(..n), left.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.at += n;
                self.count.set(self.count.get() + n as u64);
                return Ok(n);
            }
            let next = match self.deadline.get() {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => self.rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match next {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The writer closed the pipe and every byte was read.
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
                Err(RecvTimeoutError::Timeout) => return Err(ErrorKind::WouldBlock.into()),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    /// A FIFO the test writes to, read with and without a deadline.
    #[test]
    fn a_quiet_pipe_times_out_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let writer_path = fifo.clone();
        let (go_on, wait) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            let mut w = std::fs::OpenOptions::new().write(true).open(writer_path).unwrap();
            w.write_all(b"first").unwrap();
            w.flush().unwrap();
            wait.recv().unwrap();
            w.write_all(b" second").unwrap();
        });
        let deadline: Deadline = Rc::new(Cell::new(None));
        let count = Rc::new(Cell::new(0));
        let mut pipe = TimedPipe::spawn(File::open(&fifo).unwrap(), deadline.clone(), count.clone()).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        while got.len() < 5 {
            let n = pipe.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        deadline.set(Some(Instant::now() + Duration::from_millis(200)));
        let start = Instant::now();
        let err = pipe.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(start.elapsed() >= Duration::from_millis(150), "{:?}", start.elapsed());
        go_on.send(()).unwrap();
        deadline.set(None);
        writer.join().unwrap();
        pipe.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"first second");
        assert_eq!(count.get(), 12);
    }
}
