//! TPKT framing (RFC 1006 §6): cutting one direction of a TCP stream into
//! TPKT packets.
//!
//! Owns the 4-byte TPKT header — version (3), reserved, length (header
//! included) — and what makes a position a plausible packet start when
//! resynchronising, for which it looks at the COTP length indicator and TPDU
//! code; the COTP layer itself is [`super::cotp`].
//!
//! The [`Framer`] is the shared length-prefixed one ([`crate::framing`]) over
//! the [`Tpkt`] format: it hands out complete packets borrowed from the
//! caller's chunk, buffers at most [`MAX_PACKET`] bytes of a split one, and
//! after a bad header or a gap scans for the next plausible header.

use super::cotp;
use crate::cursor::Cursor;
use crate::framing::{self, FrameFormat};
use std::fmt;

pub use crate::framing::{FramerStats, Plausible};

/// Length of the TPKT header.
pub const HEADER_LEN: usize = 4;
/// The only TPKT version (RFC 1006 §6: "vrsn 8 bits, this field is always 3").
pub const VERSION: u8 = 3;
/// Smallest length field: RFC 1006 §6 gives 7 as the minimum packet length
/// (header and the shortest TPDU, a COTP DT header).
pub const MIN_LENGTH: u16 = 7;
/// Largest packet the framer accepts and so the most it ever buffers. The
/// length field is 16 bits, so this is also the format's own limit.
pub const MAX_PACKET: usize = u16::MAX as usize;
/// Bytes needed to judge whether a position starts a plausible packet: the
/// header, the COTP length indicator and the TPDU code.
pub const PLAUSIBLE_LEN: usize = HEADER_LEN + 2;

/// A TPKT header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Always [`VERSION`].
    pub version: u8,
    /// Reserved; 0 on the wire, reported as is.
    pub reserved: u8,
    /// The whole packet's length, header included.
    pub length: u16,
}

impl Header {
    /// The whole packet's length, header included.
    pub fn packet_len(&self) -> usize {
        usize::from(self.length)
    }
}

/// Why bytes cannot start a TPKT packet.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TpktError {
    /// A version other than 3.
    BadVersion(u8),
    /// A length below [`MIN_LENGTH`].
    BadLength(u16),
}

impl TpktError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            TpktError::BadVersion(_) => "tpkt_bad_version",
            TpktError::BadLength(_) => "tpkt_bad_length",
        }
    }
}

impl fmt::Display for TpktError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TpktError::BadVersion(v) => write!(f, "TPKT version {v}, expected {VERSION}"),
            TpktError::BadLength(n) => write!(f, "TPKT length {n}, expected at least {MIN_LENGTH}"),
        }
    }
}

impl std::error::Error for TpktError {}

/// Parses the header at the start of `data`: `Ok(None)` when fewer than
/// [`HEADER_LEN`] bytes are there.
pub fn parse_header(data: &[u8]) -> Result<Option<Header>, TpktError> {
    let mut c = Cursor::new(data);
    let (Some(version), Some(reserved), Some(length)) = (c.u8(), c.u8(), c.be_u16()) else {
        // A first byte other than 3 is already wrong.
        return match data.first() {
            Some(&v) if v != VERSION => Err(TpktError::BadVersion(v)),
            _ => Ok(None),
        };
    };
    // RFC 1006 §6: the version is always 3.
    if version != VERSION {
        return Err(TpktError::BadVersion(version));
    }
    // RFC 1006 §6: the length includes the header; the minimum is 7.
    if length < MIN_LENGTH {
        return Err(TpktError::BadLength(length));
    }
    Ok(Some(Header { version, reserved, length }))
}

/// Judges whether `data` starts with a plausible packet: version 3, reserved 0,
/// a length of at least 7, a COTP length indicator inside the packet and a
/// known TPDU code.
pub fn plausible(data: &[u8]) -> Plausible {
    let header = match parse_header(data) {
        Err(_) => return Plausible::No,
        Ok(None) => {
            return if data.get(1).is_some_and(|&r| r != 0) { Plausible::No } else { Plausible::NeedMore };
        }
        Ok(Some(h)) => h,
    };
    if header.reserved != 0 {
        return Plausible::No;
    }
    let (Some(&li), Some(&code)) = (data.get(HEADER_LEN), data.get(HEADER_LEN + 1)) else {
        return Plausible::NeedMore;
    };
    // ISO 8073 §13.2.1: the length indicator counts the header after itself, so
    // it must fit in the packet.
    let fits = usize::from(li) < header.packet_len() - HEADER_LEN && li >= 2;
    if fits && cotp::TpduCode::from_byte(code).is_known() {
        Plausible::Yes
    } else {
        Plausible::No
    }
}

/// For a probe: the COTP TPDU of the first packet when `data` starts with a
/// plausible one and holds it whole; otherwise whether more data could tell.
pub fn first_tpdu(data: &[u8]) -> Result<&[u8], crate::Probe> {
    match plausible(data) {
        Plausible::No => return Err(crate::Probe::NoMatch),
        Plausible::NeedMore => return Err(crate::Probe::NeedMore),
        Plausible::Yes => {}
    }
    let Ok(Some(h)) = parse_header(data) else { return Err(crate::Probe::NoMatch) };
    data.get(HEADER_LEN..h.packet_len()).ok_or(crate::Probe::NeedMore)
}

/// TPKT as a [`FrameFormat`]: a frame is a packet, its body the COTP TPDU.
#[derive(Clone, Copy, Debug)]
pub struct Tpkt;

impl FrameFormat for Tpkt {
    const HEADER_LEN: usize = HEADER_LEN;
    const PLAUSIBLE_LEN: usize = PLAUSIBLE_LEN;
    const MAX_FRAME: usize = MAX_PACKET;
    type Header = Header;
    type Error = TpktError;
    fn header(data: &[u8]) -> Result<Option<Header>, TpktError> {
        parse_header(data)
    }
    fn frame_len(header: &Header) -> usize {
        header.packet_len()
    }
    fn plausible(data: &[u8]) -> Plausible {
        plausible(data)
    }
}

/// What the framer found: a packet (header and COTP TPDU) or a bad header.
pub type Framed<'a> = framing::Framed<'a, Header, TpktError>;

/// Cuts one direction of a stream into TPKT packets, whatever the chunking.
pub type Framer = framing::Framer<Tpkt>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::framing::tests::{frame_all, splits_at_every_pair_of_offsets, stays_bounded};
    use proptest::prelude::*;

    const DT: [u8; 10] = [
        0x03, // TPKT version 3
        0x00, // reserved
        0x00, 0x0a, // length 10
        0x02, // COTP length indicator 2
        0xf0, // DT
        0x80, // TPDU number 0, EOT
        0x32, 0x01, 0x00, // start of an S7comm header
    ];

    #[test]
    fn parses_a_header_and_its_packet_length() {
        let h = parse_header(&DT).unwrap().unwrap();
        assert_eq!(h, Header { version: 3, reserved: 0, length: 10 });
        assert_eq!(parse_header(&DT[..3]), Ok(None));
    }

    #[test]
    fn rejects_other_versions_and_lengths_below_seven() {
        assert_eq!(parse_header(&[0x04, 0x00, 0x00, 0x0a]), Err(TpktError::BadVersion(4)));
        assert_eq!(parse_header(&[0x04]), Err(TpktError::BadVersion(4)));
        assert_eq!(parse_header(&[0x03, 0x00, 0x00, 0x06]), Err(TpktError::BadLength(6)));
    }

    #[test]
    fn judges_plausibility_from_the_cotp_header_too() {
        assert_eq!(plausible(&DT), Plausible::Yes);
        assert_eq!(plausible(&DT[..5]), Plausible::NeedMore);
        let mut b = DT;
        b[5] = 0x00; // no such TPDU code
        assert_eq!(plausible(&b), Plausible::No);
        let mut b = DT;
        b[4] = 0x09; // length indicator past the packet's end
        assert_eq!(plausible(&b), Plausible::No);
        let mut b = DT;
        b[1] = 0x01; // reserved not zero
        assert_eq!(plausible(&b), Plausible::No);
    }

    #[test]
    fn splitting_the_stream_at_every_offset_yields_the_same_packets() {
        splits_at_every_pair_of_offsets::<Tpkt>(&[DT, DT, DT].concat(), 3);
    }

    #[test]
    fn resynchronises_after_a_bad_header() {
        let mut stream = vec![0xde, 0xad, 0xbe, 0xef];
        stream.extend_from_slice(&DT);
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got[0], Err(TpktError::BadVersion(0xde)));
        assert_eq!(got.len(), 2);
        assert!(got[1].is_ok());
        assert_eq!(f.stats.skipped_bytes, 3);
    }

    #[test]
    fn skips_exactly_the_rest_of_a_packet_cut_by_a_gap() {
        let mut f = Framer::new();
        assert!(frame_all(&mut f, &[&DT[..6]]).is_empty());
        f.gap(2); // bytes 6 and 7 lost; 8 and 9 still belong to the packet
        let mut rest = DT[8..].to_vec();
        rest.extend_from_slice(&DT);
        let got = frame_all(&mut f, &[&rest]);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ok());
    }

    #[test]
    fn hunts_for_a_header_after_a_gap_of_unknown_alignment() {
        let mut f = Framer::new();
        f.gap(1000);
        let mut rest = vec![0x32, 0x03, 0x00]; // tail of some earlier packet
        rest.extend_from_slice(&DT);
        let got = frame_all(&mut f, &[&rest[..4], &rest[4..6], &rest[6..]]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().1, DT[4..].to_vec());
    }

    proptest! {
        #[test]
        fn never_buffers_more_than_a_packet(input in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..600), proptest::option::of(any::<u16>())), 0..8)
        ) {
            stays_bounded::<Tpkt>(&input)?;
        }
    }
}
