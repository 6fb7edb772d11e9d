//! MBAP framing (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3):
//! cutting one direction of a TCP stream into ADUs.
//!
//! Owns the 7-byte MBAP header — transaction id, protocol id (0 = Modbus),
//! length (unit id + PDU) and unit id — and what makes a position a plausible
//! ADU start when resynchronising (the function code byte after the header).
//! It does not look further inside the PDU.
//!
//! The [`Framer`] is the shared length-prefixed one ([`crate::framing`]) over
//! the [`Mbap`] format: it hands out complete ADUs borrowed from the caller's
//! chunk, buffers at most [`MAX_ADU`] bytes of a split one, and after a bad
//! header or a gap scans for the next plausible header.

use crate::cursor::Cursor;
use crate::framing::{self, FrameFormat};
use std::fmt;

pub use crate::framing::{FramerStats, Plausible};

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

/// MBAP as a [`FrameFormat`]: a frame is an ADU, its body the PDU.
#[derive(Clone, Copy, Debug)]
pub struct Mbap;

impl FrameFormat for Mbap {
    const HEADER_LEN: usize = HEADER_LEN;
    const PLAUSIBLE_LEN: usize = PLAUSIBLE_LEN;
    const MAX_FRAME: usize = MAX_ADU;
    type Header = Header;
    type Error = MbapError;
    fn header(data: &[u8]) -> Result<Option<Header>, MbapError> {
        parse_header(data)
    }
    fn frame_len(header: &Header) -> usize {
        header.adu_len()
    }
    fn plausible(data: &[u8]) -> Plausible {
        plausible(data)
    }
}

/// What the framer found: an ADU (header and PDU) or a bad header.
pub type Framed<'a> = framing::Framed<'a, Header, MbapError>;

/// Cuts one direction of a stream into ADUs, whatever the chunking.
pub type Framer = framing::Framer<Mbap>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::framing::tests::{frame_all, splits_at_every_pair_of_offsets, stays_bounded};
    use proptest::prelude::*;

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
    fn splitting_the_stream_at_every_offset_yields_the_same_adus() {
        splits_at_every_pair_of_offsets::<Mbap>(&[READ_REQ, READ_REQ, READ_REQ].concat(), 3);
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

    proptest! {
        #[test]
        fn never_buffers_more_than_an_adu(input in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..600), proptest::option::of(any::<u16>())), 0..8)
        ) {
            stays_bounded::<Mbap>(&input)?;
        }
    }
}
