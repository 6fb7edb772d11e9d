//! The APCI (IEC 60870-5-104:2006 §5): cutting one direction of a TCP stream
//! into APDUs, and reading each APDU's control field.
//!
//! An APDU is the start octet 0x68, a length octet (4..=253: the control
//! field's four octets and the ASDU), the control field and, in I format
//! only, the ASDU. The control field's low bits give its format (§5.1-5.3):
//! I (numbered information transfer: send and receive sequence numbers
//! N(S), N(R)), S (numbered supervisory: N(R) only) or U (unnumbered control:
//! STARTDT, STOPDT, TESTFR, each act or con).
//!
//! The [`Framer`] is the shared length-prefixed one ([`crate::framing`]) over
//! [`Apci`]: a 2-octet header, at most [`MAX_APDU`] octets buffered, and after
//! a bad header or a gap a byte-by-byte hunt for a plausible APDU: start and
//! length, a well-formed control field whose format fits the length, and for
//! I format a non-zero type id and cause.

use crate::framing::{self, FrameFormat};
use std::borrow::Cow;
use std::fmt;

pub use crate::framing::{FramerStats, Plausible};

/// The start octet (§5).
pub const START: u8 = 0x68;
/// Length of the header the framer reads: start and length octets.
pub const HEADER_LEN: usize = 2;
/// Length of the control field.
pub const CONTROL_LEN: usize = 4;
/// Smallest length octet: the control field alone (§5: S and U formats).
pub const MIN_LENGTH: u8 = 4;
/// Largest length octet (§5: "the maximum length of the APDU is 253").
pub const MAX_LENGTH: u8 = 253;
/// Largest APDU, start and length octets included: the most the framer buffers.
pub const MAX_APDU: usize = HEADER_LEN + MAX_LENGTH as usize;
/// Octets a plausible-APDU check needs: header, control field, and the type
/// id, variable structure qualifier and cause of an I-format ASDU.
pub const PLAUSIBLE_LEN: usize = HEADER_LEN + CONTROL_LEN + 3;
/// Smallest I-format length: control field and the 6-octet ASDU header of
/// IEC 60870-5-104 §9 (type, qualifier, two cause octets, two address octets).
pub const MIN_I_LENGTH: u8 = MIN_LENGTH + 6;
/// Sequence numbers count modulo 2^15 (§5.1).
pub const SEQUENCE_MODULUS: u16 = 1 << 15;

/// The APCI header: start and length octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Octets after the length octet: control field and ASDU.
    pub length: u8,
}

impl Header {
    /// The whole APDU's length.
    pub fn apdu_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length)
    }
}

/// Why octets cannot start an APDU.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApciError {
    /// A first octet other than 0x68.
    BadStart(u8),
    /// A length outside [`MIN_LENGTH`]..=[`MAX_LENGTH`].
    BadLength(u8),
}

impl ApciError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            ApciError::BadStart(_) => "bad_start",
            ApciError::BadLength(_) => "bad_length",
        }
    }
}

impl fmt::Display for ApciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ApciError::BadStart(b) => write!(f, "APDU start octet {b:#04x}, expected {START:#04x}"),
            ApciError::BadLength(n) => write!(f, "APDU length {n}, expected {MIN_LENGTH}..={MAX_LENGTH}"),
        }
    }
}

impl std::error::Error for ApciError {}

/// Parses the header at the start of `data`: `Ok(None)` when fewer than
/// [`HEADER_LEN`] octets are there.
pub fn parse_header(data: &[u8]) -> Result<Option<Header>, ApciError> {
    let Some(&start) = data.first() else { return Ok(None) };
    if start != START {
        return Err(ApciError::BadStart(start));
    }
    let Some(&length) = data.get(1) else { return Ok(None) };
    // §5: the length counts the control field (4) and the ASDU, at most 253.
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(ApciError::BadLength(length));
    }
    Ok(Some(Header { length }))
}

/// An unnumbered control function (§5.3): the first control octet, in which
/// exactly one of the bits 3-8 should be set; open, so other patterns are
/// reported, not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UFunction(pub u8);

impl UFunction {
    /// STARTDT act: the controlling station starts data transfer.
    pub const STARTDT_ACT: UFunction = UFunction(0x07);
    /// STARTDT con.
    pub const STARTDT_CON: UFunction = UFunction(0x0b);
    /// STOPDT act: the controlling station stops data transfer.
    pub const STOPDT_ACT: UFunction = UFunction(0x13);
    /// STOPDT con.
    pub const STOPDT_CON: UFunction = UFunction(0x23);
    /// TESTFR act: a keep-alive test of an idle connection.
    pub const TESTFR_ACT: UFunction = UFunction(0x43);
    /// TESTFR con.
    pub const TESTFR_CON: UFunction = UFunction(0x83);

    /// True for the six functions of §5.3.
    pub fn is_known(self) -> bool {
        matches!(self.0, 0x07 | 0x0b | 0x13 | 0x23 | 0x43 | 0x83)
    }

    /// `startdt_act` ... `testfr_con`; `u_function_0xNN` for other patterns.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0x07 => "startdt_act",
            0x0b => "startdt_con",
            0x13 => "stopdt_act",
            0x23 => "stopdt_con",
            0x43 => "testfr_act",
            0x83 => "testfr_con",
            n => return crate::intern::name("iec104_u", u64::from(n), || format!("u_function_{n:#04x}")),
        })
    }

    /// The bit tshark's `iec60870_104.utype` gives: the function bits shifted
    /// down (STARTDT act 0x01 ... TESTFR con 0x20).
    pub fn bits(self) -> u8 {
        self.0 >> 2
    }
}

/// A control field (§5.1-5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// I format: an ASDU follows.
    I {
        /// N(S): this APDU's send sequence number.
        send: u16,
        /// N(R): every I-format APDU of the other direction below it is received.
        receive: u16,
    },
    /// S format: acknowledges I-format APDUs up to N(R).
    S {
        /// N(R).
        receive: u16,
    },
    /// U format: connection control.
    U(UFunction),
}

impl Control {
    /// Reads the four control octets (§5.1-5.3): bit 1 of the first octet
    /// clear is I format; bits 1-2 = 01 is S format; 11 is U format. Sequence
    /// numbers are 15 bits, low bit first, above a format bit.
    pub fn parse(c: [u8; 4]) -> Control {
        let [c1, c2, c3, c4] = c;
        let receive = (u16::from(c3) >> 1) | (u16::from(c4) << 7);
        if c1 & 0x01 == 0 {
            Control::I { send: (u16::from(c1) >> 1) | (u16::from(c2) << 7), receive }
        } else if c1 & 0x03 == 0x01 {
            Control::S { receive }
        } else {
            Control::U(UFunction(c1))
        }
    }

    /// True when the octets the format leaves unused are zero (§5.1-5.3: bit 1
    /// of the third octet in every format; the second octet and the rest of
    /// the first in S format; the last three in U format) and a U function
    /// sets exactly one bit.
    pub fn well_formed(c: [u8; 4]) -> bool {
        let [c1, c2, c3, c4] = c;
        match Control::parse(c) {
            Control::I { .. } => c3 & 0x01 == 0,
            Control::S { .. } => c1 == 0x01 && c2 == 0 && c3 & 0x01 == 0,
            Control::U(f) => f.is_known() && c2 == 0 && c3 == 0 && c4 == 0,
        }
    }

    /// The format letter tshark's `iec60870_104.type` gives as a number: I 0,
    /// S 1, U 3.
    pub fn format_code(self) -> u8 {
        match self {
            Control::I { .. } => 0,
            Control::S { .. } => 1,
            Control::U(_) => 3,
        }
    }
}

/// Judges whether `data` starts with a plausible APDU: a good header, a
/// well-formed control field, a length that fits the format (4 for S and U,
/// at least [`MIN_I_LENGTH`] for I), and for I format a type id and cause
/// other than 0 (both "not used" in IEC 60870-5-101 §7.2.1.1 and §7.2.3).
pub fn plausible(data: &[u8]) -> Plausible {
    let h = match parse_header(data) {
        Err(_) => return Plausible::No,
        Ok(None) => return Plausible::NeedMore,
        Ok(Some(h)) => h,
    };
    let Some(&c) = data.get(HEADER_LEN..).and_then(|d| d.first_chunk::<CONTROL_LEN>()) else {
        return Plausible::NeedMore;
    };
    if !Control::well_formed(c) {
        return Plausible::No;
    }
    match Control::parse(c) {
        Control::S { .. } | Control::U(_) => {
            if h.length == MIN_LENGTH {
                Plausible::Yes
            } else {
                Plausible::No
            }
        }
        Control::I { .. } => {
            if h.length < MIN_I_LENGTH {
                return Plausible::No;
            }
            let asdu = HEADER_LEN + CONTROL_LEN;
            match (data.get(asdu), data.get(asdu + 2)) {
                (Some(0), _) | (_, Some(0 | 0x40 | 0x80 | 0xc0)) => Plausible::No,
                (Some(_), Some(_)) => Plausible::Yes,
                _ => Plausible::NeedMore,
            }
        }
    }
}

/// The APCI as a [`FrameFormat`]: a frame is an APDU, its body the control
/// field and the ASDU.
#[derive(Clone, Copy, Debug)]
pub struct Apci;

impl FrameFormat for Apci {
    const HEADER_LEN: usize = HEADER_LEN;
    const PLAUSIBLE_LEN: usize = PLAUSIBLE_LEN;
    const MAX_FRAME: usize = MAX_APDU;
    type Header = Header;
    type Error = ApciError;
    fn header(data: &[u8]) -> Result<Option<Header>, ApciError> {
        parse_header(data)
    }
    fn frame_len(header: &Header) -> usize {
        header.apdu_len()
    }
    fn plausible(data: &[u8]) -> Plausible {
        plausible(data)
    }
}

/// What the framer found: an APDU (header, and control field with ASDU) or a
/// bad header.
pub type Framed<'a> = framing::Framed<'a, Header, ApciError>;

/// Cuts one direction of a stream into APDUs, whatever the chunking.
pub type Framer = framing::Framer<Apci>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::framing::tests::{frame_all, splits_at_every_pair_of_offsets, stays_bounded};
    use proptest::prelude::*;

    const STARTDT_ACT: [u8; 6] = [
        0x68, // start
        0x04, // length 4: control field only
        0x07, 0x00, 0x00, 0x00, // U format, STARTDT act
    ];
    const S_FRAME: [u8; 6] = [
        0x68, 0x04, // start, length 4
        0x01, 0x00, // S format
        0x4e, 0x00, // N(R) = 0x4e >> 1 = 39
    ];
    /// An interrogation command, station interrogation, to common address 3.
    const INTERROGATION: [u8; 16] = [
        0x68, 0x0e, // start, length 14
        0x3c, 0x00, // I format, N(S) = 0x3c >> 1 = 30
        0xbc, 0x00, // N(R) = 0xbc >> 1 = 94
        0x64, // type 100: C_IC_NA_1
        0x01, // SQ 0, one object
        0x06, 0x00, // cause 6 (act), originator 0
        0x03, 0x00, // common address 3
        0x00, 0x00, 0x00, // IOA 0
        0x14, // QOI 20: station interrogation
    ];

    #[test]
    fn reads_the_three_control_formats() {
        assert_eq!(Control::parse([0x07, 0, 0, 0]), Control::U(UFunction::STARTDT_ACT));
        assert_eq!(Control::parse([0x01, 0, 0x4e, 0]), Control::S { receive: 39 });
        assert_eq!(Control::parse([0x3c, 0x00, 0xbc, 0x00]), Control::I { send: 30, receive: 94 });
        // The high octets carry bits 8-15 of the sequence numbers.
        assert_eq!(Control::parse([0xfe, 0xff, 0xfe, 0xff]), Control::I { send: 0x7fff, receive: 0x7fff });
        assert_eq!(UFunction::TESTFR_CON.bits(), 0x20);
        assert_eq!(UFunction(0x0f).name(), "u_function_0x0f");
    }

    #[test]
    fn checks_the_octets_a_format_leaves_unused() {
        assert!(Control::well_formed([0x07, 0, 0, 0]));
        assert!(!Control::well_formed([0x0f, 0, 0, 0])); // STARTDT act and con at once
        assert!(!Control::well_formed([0x07, 0, 0, 1]));
        assert!(!Control::well_formed([0x01, 0x02, 0, 0])); // S format with a second octet
        assert!(!Control::well_formed([0x02, 0, 0x01, 0])); // I format, bit 1 of octet 3 set
    }

    #[test]
    fn parses_a_header_and_rejects_bad_start_and_length() {
        assert_eq!(parse_header(&INTERROGATION), Ok(Some(Header { length: 14 })));
        assert_eq!(parse_header(&[0x68]), Ok(None));
        assert_eq!(parse_header(&[0x69, 0x04]), Err(ApciError::BadStart(0x69)));
        assert_eq!(parse_header(&[0x68, 0x03]), Err(ApciError::BadLength(3)));
        assert_eq!(parse_header(&[0x68, 0xfe]), Err(ApciError::BadLength(254)));
    }

    #[test]
    fn judges_plausibility_from_format_and_length() {
        assert_eq!(plausible(&STARTDT_ACT), Plausible::Yes);
        assert_eq!(plausible(&S_FRAME), Plausible::Yes);
        assert_eq!(plausible(&INTERROGATION), Plausible::Yes);
        assert_eq!(plausible(&INTERROGATION[..7]), Plausible::NeedMore);
        // A U frame with an ASDU's length is not plausible.
        assert_eq!(plausible(&[0x68, 0x0e, 0x07, 0, 0, 0]), Plausible::No);
        // An I frame too short for an ASDU header.
        assert_eq!(plausible(&[0x68, 0x08, 0x00, 0, 0, 0, 0x64, 0x01]), Plausible::No);
        // Type id 0, or cause 0.
        let mut b = INTERROGATION;
        b[6] = 0;
        assert_eq!(plausible(&b), Plausible::No);
        let mut b = INTERROGATION;
        b[8] = 0x40; // P/N set, cause 0
        assert_eq!(plausible(&b), Plausible::No);
        assert_eq!(plausible(b"hello world"), Plausible::No);
    }

    #[test]
    fn splitting_the_stream_at_every_offset_yields_the_same_apdus() {
        splits_at_every_pair_of_offsets::<Apci>(&[&STARTDT_ACT[..], &INTERROGATION, &S_FRAME].concat(), 3);
    }

    #[test]
    fn resynchronises_after_a_bad_start_octet() {
        let stream = [&[0x00, 0x68, 0x04, 0x07, 0x00][..], &INTERROGATION].concat();
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got[0], Err(ApciError::BadStart(0)));
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().unwrap().0, Header { length: 14 });
        // The bad octet is reported, the implausible U frame (cut short) skipped.
        assert_eq!(f.stats.skipped_bytes, 4);
    }

    proptest! {
        #[test]
        fn never_buffers_more_than_an_apdu(input in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..600), proptest::option::of(any::<u16>())), 0..8)
        ) {
            stays_bounded::<Apci>(&input)?;
        }
    }
}
