//! MBAP framing (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3):
//! cutting one direction of a TCP stream into ADUs.
//!
//! Owns the 7-byte MBAP header — transaction id, protocol id (0 = Modbus),
//! length (unit id + PDU) and unit id — and the [`Framer`], which turns
//! arbitrarily chunked in-order bytes into whole ADUs. It does not look inside
//! the PDU beyond the function code byte that makes a header plausible when
//! resynchronising.
//!
//! Complete ADUs are handed out borrowed from the caller's chunk; only an ADU
//! split across chunks is copied, into a buffer that never exceeds
//! [`MAX_ADU`] bytes. After a bad header or a gap the framer scans for the next
//! plausible header instead of trusting the byte that follows.

use crate::cursor::Cursor;
use std::fmt;

/// Length of the MBAP header, unit id included.
pub const HEADER_LEN: usize = 7;
/// Protocol id of Modbus (Implementation Guide §3.1.3).
pub const PROTOCOL_ID_MODBUS: u16 = 0;
/// Smallest length field: unit id and a function code.
pub const MIN_LENGTH: u16 = 2;
/// Largest length field: unit id and a 253-byte PDU (Application Protocol
/// Specification V1.1b3 §4.1: the PDU is at most 253 bytes).
pub const MAX_LENGTH: u16 = 254;
/// Largest length field the framer accepts. Some devices exceed the
/// specification's [`MAX_LENGTH`] (Schneider PLCs send UMAS replies of length
/// 255, as in `modbus/modicon_test.pcap`); a few bytes of tolerance keep those
/// ADUs, and the PDU layer flags them as oversized.
pub const MAX_ACCEPTED_LENGTH: u16 = 260;
/// Largest ADU the framer accepts and so the most it ever buffers: transaction
/// id, protocol id and length (6) plus [`MAX_ACCEPTED_LENGTH`].
pub const MAX_ADU: usize = 6 + MAX_ACCEPTED_LENGTH as usize;
/// Bytes needed to judge whether a position starts a plausible ADU: the header
/// and the function code.
pub const PLAUSIBLE_LEN: usize = HEADER_LEN + 1;

/// An MBAP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Pairs a response with its request.
    pub transaction_id: u16,
    /// 0 for Modbus.
    pub protocol_id: u16,
    /// Bytes that follow the length field: unit id and PDU.
    pub length: u16,
    /// The addressed device behind a gateway (255 or 0 when direct).
    pub unit_id: u8,
}

impl Header {
    /// Total ADU length: the 6 bytes up to and including the length field, plus
    /// the length.
    pub fn adu_len(&self) -> usize {
        6 + usize::from(self.length)
    }
}

/// Why bytes cannot start an ADU.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MbapError {
    /// A protocol id other than 0.
    BadProtocolId(u16),
    /// A length outside [`MIN_LENGTH`]..=[`MAX_ACCEPTED_LENGTH`].
    BadLength(u16),
}

impl MbapError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            MbapError::BadProtocolId(_) => "bad_protocol_id",
            MbapError::BadLength(_) => "bad_length",
        }
    }
}

impl fmt::Display for MbapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MbapError::BadProtocolId(p) => write!(f, "MBAP protocol id {p}, expected {PROTOCOL_ID_MODBUS}"),
            MbapError::BadLength(n) => write!(f, "MBAP length {n}, expected {MIN_LENGTH}..={MAX_ACCEPTED_LENGTH}"),
        }
    }
}

impl std::error::Error for MbapError {}

/// Parses the header at the start of `data`: `Ok(None)` when fewer than
/// [`HEADER_LEN`] bytes are there.
pub fn parse_header(data: &[u8]) -> Result<Option<Header>, MbapError> {
    let mut c = Cursor::new(data);
    let (Some(transaction_id), Some(protocol_id), Some(length), Some(unit_id)) =
        (c.be_u16(), c.be_u16(), c.be_u16(), c.u8())
    else {
        return Ok(None);
    };
    // Implementation Guide §3.1.3: protocol identifier 0 = MODBUS protocol.
    if protocol_id != PROTOCOL_ID_MODBUS {
        return Err(MbapError::BadProtocolId(protocol_id));
    }
    // The length counts the unit id and a PDU of 1..=253 bytes (Spec §4.1), with
    // the tolerance of MAX_ACCEPTED_LENGTH.
    if !(MIN_LENGTH..=MAX_ACCEPTED_LENGTH).contains(&length) {
        return Err(MbapError::BadLength(length));
    }
    Ok(Some(Header { transaction_id, protocol_id, length, unit_id }))
}

/// True for a function code byte a real ADU can carry: 1..=127, or an
/// exception response to one (128 + 1..=127). 0 and 128 are never valid
/// (Spec §4.1, §7).
pub fn plausible_function(code: u8) -> bool {
    code & 0x7f != 0
}

/// What the first bytes of `data` say about an ADU starting there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plausible {
    /// A good header and function code.
    Yes,
    /// Not an ADU start.
    No,
    /// Consistent so far; more bytes needed to tell.
    NeedMore,
}

/// Judges whether `data` starts with a plausible ADU: protocol id 0, a length
/// in range and a valid function code.
pub fn plausible(data: &[u8]) -> Plausible {
    match parse_header(data) {
        Err(_) => Plausible::No,
        Ok(None) => {
            // Bytes 2 and 3 are the protocol id: both must be zero.
            if data.get(2..4.min(data.len())).is_some_and(|p| p.iter().any(|&b| b != 0)) {
                Plausible::No
            } else {
                Plausible::NeedMore
            }
        }
        Ok(Some(_)) => match data.get(HEADER_LEN) {
            None => Plausible::NeedMore,
            Some(&f) if plausible_function(f) => Plausible::Yes,
            Some(_) => Plausible::No,
        },
    }
}

/// One ADU, borrowed: header and PDU (function code first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adu<'a> {
    /// The MBAP header.
    pub header: Header,
    /// The PDU: `header.length - 1` bytes, function code first.
    pub pdu: &'a [u8],
}

/// What the framer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    /// A whole ADU.
    Adu(Adu<'a>),
    /// A bad header where one was expected; the framer now resynchronises.
    Malformed(MbapError),
}

/// Where the framer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The next byte starts a header.
    Synced,
    /// The next bytes belong to an ADU lost in a gap: skip them, then synced.
    Skip(usize),
    /// Alignment unknown: look for a plausible header.
    Hunting,
}

/// Counters kept by a framer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Bytes dropped while hunting for a header.
    pub skipped_bytes: u64,
    /// Times the framer lost alignment (bad header or gap).
    pub resyncs: u64,
}

/// Cuts one direction of a stream into ADUs, whatever the chunking.
#[derive(Clone, Debug)]
pub struct Framer {
    /// A partial ADU (or, while hunting, a candidate start) carried between
    /// chunks; never longer than [`MAX_ADU`].
    buf: Vec<u8>,
    state: State,
    /// Counters.
    pub stats: FramerStats,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    /// A framer expecting a header first.
    pub fn new() -> Self {
        Framer { buf: Vec::new(), state: State::Synced, stats: FramerStats::default() }
    }

    /// Bytes held between chunks.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// `len` bytes of the stream are missing. When the gap falls inside a
    /// buffered ADU of known length, the framer skips the rest of that ADU
    /// exactly; otherwise it hunts for the next plausible header.
    pub fn gap(&mut self, len: u64) {
        let known = parse_header(&self.buf).ok().flatten().map(|h| h.adu_len());
        let missing = known.and_then(|n| n.checked_sub(self.buf.len()));
        self.buf.clear();
        self.stats.resyncs += 1;
        self.state = match (self.state, missing) {
            (State::Synced, Some(missing)) => match usize::try_from(len).ok().and_then(|l| missing.checked_sub(l)) {
                Some(0) => State::Synced,
                Some(rest) => State::Skip(rest),
                None => State::Hunting,
            },
            _ => State::Hunting,
        };
    }

    /// Feeds in-order bytes; calls `out` for every ADU completed and every bad
    /// header met, in stream order.
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(Framed<'_>)) {
        let mut data = data;
        // First finish what earlier chunks left.
        while !self.buf.is_empty() && !data.is_empty() {
            data = self.top_up(data, out);
        }
        if self.buf.is_empty() {
            self.run(data, out);
        }
    }

    /// Completes the buffered partial ADU (or hunting candidate) from `data`;
    /// returns what is left of `data`.
    fn top_up<'d>(&mut self, data: &'d [u8], out: &mut dyn FnMut(Framed<'_>)) -> &'d [u8] {
        let want = match (self.state, parse_header(&self.buf)) {
            (State::Synced, Ok(Some(h))) => h.adu_len(),
            // A bad header cannot be buffered (fewer than 7 bytes never fail), but
            // if it were, running it reports it.
            (State::Synced, Ok(None) | Err(_)) => HEADER_LEN,
            (State::Hunting, _) => PLAUSIBLE_LEN,
            // A bad header or a skip never stays in the buffer.
            _ => {
                self.buf.clear();
                return data;
            }
        };
        let n = want.saturating_sub(self.buf.len()).min(data.len());
        let (head, rest) = data.split_at_checked(n).unwrap_or((data, &[]));
        self.buf.extend_from_slice(head);
        if self.buf.len() < want {
            return rest;
        }
        // The buffer now holds a whole ADU, a whole header, or a candidate start:
        // run it through the same path as unbuffered bytes.
        let held = std::mem::take(&mut self.buf);
        // `run` may keep a tail of `held` (a header still waiting for its PDU, or
        // a hunting candidate); the caller then tops it up from `rest`.
        self.run(&held, out);
        rest
    }

    /// Frames `data` from the current state; a trailing partial ADU is buffered.
    fn run(&mut self, data: &[u8], out: &mut dyn FnMut(Framed<'_>)) {
        let mut rest = data;
        loop {
            match self.state {
                State::Skip(n) => {
                    let k = n.min(rest.len());
                    rest = rest.get(k..).unwrap_or_default();
                    self.state = if k == n { State::Synced } else { State::Skip(n - k) };
                    if rest.is_empty() {
                        return;
                    }
                }
                State::Hunting => {
                    // Drop bytes until one could start an ADU.
                    let mut i = 0;
                    let found = loop {
                        let Some(tail) = rest.get(i..).filter(|t| !t.is_empty()) else { break None };
                        match plausible(tail) {
                            Plausible::Yes => break Some(true),
                            Plausible::NeedMore => break Some(false),
                            Plausible::No => i += 1,
                        }
                    };
                    self.stats.skipped_bytes += i as u64;
                    rest = rest.get(i..).unwrap_or_default();
                    match found {
                        Some(true) => self.state = State::Synced,
                        Some(false) => {
                            self.buf.extend_from_slice(rest);
                            return;
                        }
                        None => return,
                    }
                }
                State::Synced => match parse_header(rest) {
                    Ok(None) => {
                        self.buf.extend_from_slice(rest);
                        return;
                    }
                    Err(e) => {
                        out(Framed::Malformed(e));
                        self.stats.resyncs += 1;
                        self.state = State::Hunting;
                        // The bad header's first byte cannot start an ADU.
                        rest = rest.get(1..).unwrap_or_default();
                    }
                    Ok(Some(h)) => {
                        let Some((adu, tail)) = rest.split_at_checked(h.adu_len()) else {
                            self.buf.extend_from_slice(rest);
                            return;
                        };
                        let pdu = adu.get(HEADER_LEN..).unwrap_or_default();
                        out(Framed::Adu(Adu { header: h, pdu }));
                        rest = tail;
                        if rest.is_empty() {
                            return;
                        }
                    }
                },
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// Everything a framer yields, owned.
    fn frame_all(framer: &mut Framer, chunks: &[&[u8]]) -> Vec<Result<(Header, Vec<u8>), MbapError>> {
        let mut got = Vec::new();
        for c in chunks {
            framer.push(c, &mut |f| match f {
                Framed::Adu(a) => got.push(Ok((a.header, a.pdu.to_vec()))),
                Framed::Malformed(e) => got.push(Err(e)),
            });
        }
        got
    }

    const READ_REQ: [u8; 12] = [
        0x00, 0x01, // transaction id 1
        0x00, 0x00, // protocol id 0
        0x00, 0x06, // length 6
        0x11, // unit id 17
        0x03, // function 3: read holding registers
        0x00, 0x6b, // start address 107
        0x00, 0x03, // quantity 3
    ];

    #[test]
    fn parses_a_header_and_its_adu_length() {
        let h = parse_header(&READ_REQ).unwrap().unwrap();
        assert_eq!(h, Header { transaction_id: 1, protocol_id: 0, length: 6, unit_id: 0x11 });
        assert_eq!(h.adu_len(), 12);
        assert_eq!(parse_header(&READ_REQ[..6]), Ok(None));
    }

    #[test]
    fn rejects_a_non_zero_protocol_id_and_lengths_out_of_range() {
        let mut b = READ_REQ;
        b[3] = 1; // protocol id 1
        assert_eq!(parse_header(&b), Err(MbapError::BadProtocolId(1)));
        let mut b = READ_REQ;
        b[5] = 1; // length 1: no room for a function code
        assert_eq!(parse_header(&b), Err(MbapError::BadLength(1)));
        let mut b = READ_REQ;
        b[4] = 0x01; // length 0x0106 = 262
        assert_eq!(parse_header(&b), Err(MbapError::BadLength(262)));
        b[4] = 0x00;
        b[5] = 0xff; // length 255: beyond the spec, accepted
        assert_eq!(parse_header(&b).unwrap().unwrap().length, 255);
    }

    #[test]
    fn judges_plausibility_from_the_first_eight_bytes() {
        assert_eq!(plausible(&READ_REQ), Plausible::Yes);
        assert_eq!(plausible(&READ_REQ[..5]), Plausible::NeedMore);
        assert_eq!(plausible(&[0x00, 0x01, 0x00, 0x07]), Plausible::No);
        let mut b = READ_REQ;
        b[7] = 0x80; // function 0x80: exception of function 0
        assert_eq!(plausible(&b), Plausible::No);
    }

    #[test]
    fn yields_every_adu_of_a_chunk_and_buffers_the_tail() {
        let mut stream = READ_REQ.to_vec();
        stream.extend_from_slice(&READ_REQ);
        stream.extend_from_slice(&READ_REQ[..5]);
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got.len(), 2);
        assert_eq!(f.buffered(), 5);
        let got = frame_all(&mut f, &[&READ_REQ[5..]]);
        assert_eq!(got.len(), 1);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn resynchronises_after_a_bad_header() {
        let mut stream = vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00];
        stream.extend_from_slice(&READ_REQ);
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got[0], Err(MbapError::BadProtocolId(0xbeef)));
        assert_eq!(got.len(), 2);
        assert!(got[1].is_ok());
        assert_eq!(f.stats.skipped_bytes, 6);
    }

    #[test]
    fn skips_exactly_the_rest_of_an_adu_cut_by_a_gap() {
        let mut f = Framer::new();
        assert!(frame_all(&mut f, &[&READ_REQ[..8]]).is_empty());
        f.gap(2); // bytes 8 and 9 lost; 10 and 11 still belong to the ADU
        let mut rest = READ_REQ[10..].to_vec();
        rest.extend_from_slice(&READ_REQ);
        let got = frame_all(&mut f, &[&rest]);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ok());
    }

    #[test]
    fn hunts_for_a_header_after_a_gap_of_unknown_alignment() {
        let mut f = Framer::new();
        f.gap(1000);
        let mut rest = vec![0x00, 0x6b, 0x00]; // tail of some earlier ADU
        rest.extend_from_slice(&READ_REQ);
        let got = frame_all(&mut f, &[&rest[..4], &rest[4..9], &rest[9..]]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().0.transaction_id, 1);
    }
}
