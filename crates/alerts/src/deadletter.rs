//! The dead-letter file: JSON lines, one per (target, alert) that could not be delivered.
//!
//! Appends open the file in append mode and write each line with one `write_all`,
//! so concurrent writers (this process's targets, or another otposture run)
//! never interleave or lose earlier lines. Only [`crate::redeliver`] rewrites the
//! file, through a temporary file in the same directory and a rename.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::Alert;

/// One line of the dead-letter file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The target's `name` in `[alerts]`.
    pub target: String,
    /// The alert, as it would have been sent.
    pub alert: Alert,
    /// Delivery attempts to this target so far, over every run.
    pub attempts: u32,
    /// Why the last attempt failed (never a secret).
    pub last_error: String,
    /// When it was written here, in nanoseconds since the Unix epoch.
    pub dead_lettered_at_ns: i64,
}

/// Appends to one dead-letter file.
#[derive(Debug)]
pub(crate) struct DeadLetterFile {
    path: PathBuf,
    // Serialises this process's appends; O_APPEND already keeps other processes' lines whole.
    lock: Mutex<()>,
}

impl DeadLetterFile {
    pub(crate) fn new(path: PathBuf) -> DeadLetterFile {
        DeadLetterFile { path, lock: Mutex::new(()) }
    }

    pub(crate) fn append(&self, entry: &DeadLetter) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = match open_append(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A missing directory would lose the alert: make it.
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                open_append(&self.path)?
            }
            other => other?,
        };
        file.write_all(&line)
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// A line of the file as read back: an entry, or text kept as it is because it does not parse.
#[derive(Debug)]
pub(crate) enum Line {
    Entry(Box<DeadLetter>),
    Unreadable(String),
}

/// The file's lines and how many bytes were read; a missing file has none.
pub(crate) fn read(path: &Path) -> io::Result<(Vec<Line>, u64)> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
    let lines = String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<DeadLetter>(l) {
            Ok(entry) => Line::Entry(Box::new(entry)),
            Err(_) => Line::Unreadable(l.to_owned()),
        })
        .collect();
    Ok((lines, len))
}

/// Replaces the file with `unreadable` and `entries`, plus whatever was appended
/// after the first `read_len` bytes were read: write a temporary file beside it,
/// sync, rename over. A writer appending between the tail's read and the rename
/// can still lose its line; run `redeliver` when no analysis writes to the file.
pub(crate) fn rewrite(path: &Path, unreadable: &[String], entries: &[DeadLetter], read_len: u64) -> io::Result<()> {
    let mut out = Vec::new();
    for line in unreadable {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    for entry in entries {
        out.extend_from_slice(&serde_json::to_vec(entry)?);
        out.push(b'\n');
    }
    match File::open(path) {
        Ok(mut file) => {
            file.seek(SeekFrom::Start(read_len))?;
            file.read_to_end(&mut out)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(&out)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
