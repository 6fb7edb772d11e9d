//! Capture sources: where packets come from.
//!
//! Owns reading packets — from pcap files (both byte orders, microsecond and
//! nanosecond), pcapng files (several interfaces and link types, EPB/SPB/ISB/NRB,
//! comments kept), gzip-compressed files of either, several files merged in
//! timestamp order, and live interfaces through libpcap (feature `live`).
//! It yields raw frames with their link type; it does not decode them
//! (`otposture-wire` does). Nothing here ever transmits a packet: the live source
//! opens the interface for receiving only.
//!
//! Errors name the file, the record number and the byte offset (in the
//! decompressed stream for gzip input).

use otposture_model::Timestamp;
use std::path::PathBuf;

mod dir;
mod file;
#[cfg(feature = "live")]
mod live;
mod merge;
mod pipe;

pub use dir::{captures_in, DirCaptures};
pub use file::{FileFormat, FileSource, Interface};
#[cfg(feature = "live")]
pub use live::{LiveOptions, LiveSource};
pub use merge::MergedSource;

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// LINKTYPE_ value of the interface that captured it.
    pub linktype: u32,
    /// Interface index within the source (pcapng IDB number; 0 otherwise).
    pub interface: u32,
    /// Which input this came from, when several are merged (0-based).
    pub source: usize,
    /// Record number within its file, 1-based (counts packet records only).
    pub record: u64,
    /// Byte offset of the record within its (decompressed) file.
    pub offset: u64,
    /// The packet's pcapng comment, if any.
    pub comment: Option<&'a str>,
}

/// Where a source stands, for progress bars.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Bytes read from disk so far (compressed bytes for gzip input).
    pub bytes_read: u64,
    /// Total bytes on disk, when known.
    pub total_bytes: Option<u64>,
    /// Packets yielded so far.
    pub packets: u64,
}

/// Something a capture contained that is not fatal but worth telling the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The file.
    pub path: PathBuf,
    /// Record number (0 when the warning is about the file header).
    pub record: u64,
    /// Byte offset.
    pub offset: u64,
    /// What happened.
    pub what: String,
}

/// Something a capture file says besides its packets, kept for the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Which input (index in a merge).
    pub source: usize,
    /// Packet records read before it (the note sits between packets).
    pub after_record: u64,
    /// Byte offset of the block that carried it.
    pub offset: u64,
    /// What it says.
    pub kind: NoteKind,
}

/// The kinds of [`Note`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteKind {
    /// A pcapng section header comment (`opt_comment`).
    SectionComment(String),
    /// A pcapng name resolution record: an address and a name for it.
    ResolvedName {
        /// The address.
        ip: std::net::IpAddr,
        /// The name the capturing host had for it.
        name: String,
    },
    /// A pcapng interface statistics block's drop counter: packets the capture lost.
    InterfaceDrops {
        /// Interface index.
        interface: u32,
        /// Packets dropped by the interface (isb_ifdrop).
        dropped: u64,
    },
}

/// What [`PacketSource::poll_packet`] found.
#[derive(Debug)]
pub enum Polled<'a> {
    /// The next packet.
    Packet(Packet<'a>),
    /// No packet arrived within the wait: a live interface on a quiet network.
    Idle,
    /// The end of the input.
    End,
}

/// A source of packets.
pub trait PacketSource {
    /// The next packet, or `None` at the end. After an error the source is done.
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError>;
    /// The next packet, waiting at most about `wait` for one: a source that
    /// waits for packets (a live interface) then says [`Polled::Idle`], so the
    /// caller can store what it has while the network is quiet. Sources that
    /// never wait (files) never say it.
    fn poll_packet(&mut self, wait: std::time::Duration) -> Result<Polled<'_>, CaptureError> {
        let _ = wait;
        Ok(match self.next_packet()? {
            Some(p) => Polled::Packet(p),
            None => Polled::End,
        })
    }
    /// Progress so far.
    fn progress(&self) -> Progress;
    /// Takes the non-fatal warnings gathered since the last call.
    fn take_warnings(&mut self) -> Vec<Warning>;
    /// Takes the notes (comments, names, drop counts) read since the last call.
    fn take_notes(&mut self) -> Vec<Note> {
        Vec::new()
    }
}

/// Why a capture could not be read further.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Opening or reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{path}: the file is empty, not a capture")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file does not start with a pcap or pcapng magic number.
    #[error("{path}: not a pcap or pcapng capture (first bytes {magic:02x?} at offset 0)")]
    NotACapture {
        /// The file.
        path: PathBuf,
        /// The first bytes found.
        magic: Vec<u8>,
    },
    /// The file ends in the middle of a record or block.
    #[error("{path}: truncated: record {record} at byte offset {offset} needs {needed} bytes but the file ends after {available}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Record number that was cut (the next packet record number).
        record: u64,
        /// Offset of the record.
        offset: u64,
        /// Bytes the record needs.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// A record or block is structurally invalid.
    #[error("{path}: record {record} at byte offset {offset}: {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Record number.
        record: u64,
        /// Offset of the record or block.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The capture's link type is not one this engine decodes.
    #[error("{path}: link type {linktype} is not supported (supported: Ethernet, Linux cooked SLL/SLL2, raw IPv4/IPv6, BSD loopback)")]
    UnsupportedLinkType {
        /// The file.
        path: PathBuf,
        /// The LINKTYPE_ value.
        linktype: u32,
    },
    /// The live capture failed.
    #[error("live capture on {iface}: {what}")]
    Live {
        /// Interface name.
        iface: String,
        /// What libpcap said.
        what: String,
    },
}

impl CaptureError {
    /// The file the error is about, when it is about a file.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            CaptureError::Io { path, .. }
            | CaptureError::Empty { path }
            | CaptureError::NotACapture { path, .. }
            | CaptureError::Truncated { path, .. }
            | CaptureError::Malformed { path, .. }
            | CaptureError::UnsupportedLinkType { path, .. } => Some(path),
            CaptureError::Live { .. } => None,
        }
    }
}

/// True when the LINKTYPE_ value is one the engine decodes (`otposture-wire`
/// owns that list), so a source can refuse a whole file early.
pub fn linktype_supported(linktype: u32) -> bool {
    otposture_wire::LinkType::from_linktype(linktype).is_some()
}
