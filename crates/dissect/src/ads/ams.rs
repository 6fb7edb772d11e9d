//! AMS/TCP framing: the 6-byte AMS/TCP header (two reserved bytes, zero, and
//! the length of what follows) and the 32-byte AMS header every ADS message
//! starts with (target and source AMS Net Id and port, command, state flags,
//! data length, error code, invoke id; all little-endian).
//!
//! The [`Framer`] is the shared length-prefixed one ([`crate::framing`]): it
//! hands out each message's ADS data borrowed from the caller's chunk after
//! its header, buffers at most [`MAX_MESSAGE`] bytes of a split one, and after
//! a bad header or a gap hunts for the next plausible one.

use crate::cursor::Cursor;
use crate::framing::{self, FrameFormat, Plausible};
use std::fmt::Write as _;

/// AMS/TCP header and AMS header together: what the framer reads before a
/// message's ADS data.
pub const HEADER_LEN: usize = 6 + AMS_HEADER_LEN;
/// The AMS header.
pub const AMS_HEADER_LEN: usize = 32;
/// Largest ADS data the framer accepts, and so about the most it buffers per
/// direction. Reads and writes of a PLC's variables are far smaller; a larger
/// message (a whole symbol table uploaded at once) is counted malformed
/// (`too_long`) and the framer hunts for the next header after it.
pub const MAX_DATA: usize = 1 << 16;
/// Largest message: headers and [`MAX_DATA`].
pub const MAX_MESSAGE: usize = HEADER_LEN + MAX_DATA;

/// State flag: the message is a response.
pub const STATE_RESPONSE: u16 = 0x0001;
/// State flag: an ADS command (every ADS message sets it).
pub const STATE_ADS_COMMAND: u16 = 0x0004;
/// State flag: sent over UDP.
pub const STATE_UDP: u16 = 0x0040;

/// An AMS Net Id: six bytes, written `a.b.c.d.e.f`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NetId(pub [u8; 6]);

impl NetId {
    /// `a.b.c.d.e.f`.
    pub fn text(&self) -> otposture_model::AttrValue {
        let mut s = otposture_model::AttrValue::default();
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            let _ = write!(s, "{b}");
        }
        s
    }
}

/// An AMS/TCP header with the AMS header after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The AMS/TCP header's reserved bytes (zero in an ADS message).
    pub reserved: u16,
    /// Length after the AMS/TCP header: AMS header and ADS data.
    pub length: u32,
    /// Where the message goes.
    pub target: NetId,
    /// The ADS device addressed on the target (851: the first PLC runtime of
    /// TwinCAT 3, 801: of TwinCAT 2, 10000: the system service).
    pub target_port: u16,
    /// Who sent it.
    pub source: NetId,
    /// The sender's port.
    pub source_port: u16,
    /// The ADS command.
    pub command: u16,
    /// State flags ([`STATE_RESPONSE`] and others).
    pub state: u16,
    /// Length of the ADS data.
    pub data_length: u32,
    /// AMS error code (0: none).
    pub error: u32,
    /// Pairs a response with its request.
    pub invoke_id: u32,
}

impl Header {
    /// Whole message length: the AMS/TCP header and what it counts.
    pub fn message_len(&self) -> usize {
        6usize.saturating_add(usize::try_from(self.length).unwrap_or(usize::MAX))
    }

    /// True for a response.
    pub fn is_response(&self) -> bool {
        self.state & STATE_RESPONSE != 0
    }
}

/// Why bytes cannot start a message.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmsError {
    /// Reserved bytes other than zero (the router's own port-connect
    /// commands, which never leave a host, or no AMS/TCP at all).
    BadReserved(u16),
    /// A length shorter than the AMS header.
    TooShort(u32),
    /// A message longer than [`MAX_MESSAGE`].
    TooLong(u32),
    /// The AMS header's data length disagrees with the AMS/TCP length.
    LengthMismatch,
}

impl AmsError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            AmsError::BadReserved(_) => "bad_reserved",
            AmsError::TooShort(_) => "too_short",
            AmsError::TooLong(_) => "too_long",
            AmsError::LengthMismatch => "length_mismatch",
        }
    }
}

/// Reads the headers at the start of `data`; `None` when fewer than
/// [`HEADER_LEN`] bytes are there.
pub fn parse_header(data: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(data);
    let reserved = c.le_u16()?;
    let length = c.le_u32()?;
    let target = NetId(c.array()?);
    let target_port = c.le_u16()?;
    let source = NetId(c.array()?);
    let source_port = c.le_u16()?;
    let command = c.le_u16()?;
    let state = c.le_u16()?;
    let data_length = c.le_u32()?;
    let error = c.le_u32()?;
    let invoke_id = c.le_u32()?;
    Some(Header {
        reserved,
        length,
        target,
        target_port,
        source,
        source_port,
        command,
        state,
        data_length,
        error,
        invoke_id,
    })
}

/// What is wrong with the headers, if anything.
fn check(h: &Header) -> Result<(), AmsError> {
    if h.reserved != 0 {
        return Err(AmsError::BadReserved(h.reserved));
    }
    if (h.length as usize) < AMS_HEADER_LEN {
        return Err(AmsError::TooShort(h.length));
    }
    if h.message_len() > MAX_MESSAGE {
        return Err(AmsError::TooLong(h.length));
    }
    if u64::from(h.data_length) + AMS_HEADER_LEN as u64 != u64::from(h.length) {
        return Err(AmsError::LengthMismatch);
    }
    Ok(())
}

/// Whether `data` plausibly starts a message: a sound header, the ADS
/// command flag set, a known command, and no flag bits past those defined
/// (0x0001-0x0080, the broadcast flag 0x8000, and 0x0100).
pub fn plausible(data: &[u8]) -> Plausible {
    let Some(h) = parse_header(data) else {
        // Judge what is there: the reserved bytes must be zero.
        return if data.iter().take(2).any(|&b| b != 0) { Plausible::No } else { Plausible::NeedMore };
    };
    let sound = check(&h).is_ok()
        && h.state & STATE_ADS_COMMAND != 0
        && h.state & !0x81ff == 0
        && h.command <= super::command::MAX_COMMAND;
    if sound {
        Plausible::Yes
    } else {
        Plausible::No
    }
}

/// The AMS/TCP message format, for the shared framer.
#[derive(Clone, Copy, Debug)]
pub struct AmsTcp;

impl FrameFormat for AmsTcp {
    const HEADER_LEN: usize = HEADER_LEN;
    const PLAUSIBLE_LEN: usize = HEADER_LEN;
    const MAX_FRAME: usize = MAX_MESSAGE;
    type Header = Header;
    type Error = AmsError;
    fn header(data: &[u8]) -> Result<Option<Header>, AmsError> {
        let Some(h) = parse_header(data) else { return Ok(None) };
        check(&h)?;
        Ok(Some(h))
    }
    fn frame_len(header: &Header) -> usize {
        header.message_len()
    }
    fn plausible(data: &[u8]) -> Plausible {
        plausible(data)
    }
}

/// What the framer found: a message (headers and ADS data) or a bad header.
pub type Framed<'a> = framing::Framed<'a, Header, AmsError>;

/// Cuts one direction of a stream into AMS/TCP messages.
pub type Framer = framing::Framer<AmsTcp>;
