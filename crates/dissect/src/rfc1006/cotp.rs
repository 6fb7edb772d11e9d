//! COTP, the ISO 8073 / X.224 connection-oriented transport protocol, class 0,
//! as RFC 1006 carries it inside TPKT.
//!
//! Owns the TPDU header: length indicator, TPDU code, the fixed part of CR, CC,
//! DR, DT and ER TPDUs, the variable-part parameters of CR and CC (TPDU size,
//! calling and called TSAP), and the [`Reassembler`] that joins DT TPDUs until
//! the one with the EOT bit (ISO 8073 §13.7). It does not implement classes
//! 1 to 4 (expedited data, acknowledgements, credit) beyond naming their codes.

use crate::cursor::Cursor;
use std::fmt;

/// A TPDU code (ISO 8073 §13.2.2.2, high nibble of the second header byte);
/// open, so unexpected codes are reported by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TpduCode(pub u8);

impl TpduCode {
    /// Connection request.
    pub const CR: TpduCode = TpduCode(0xe0);
    /// Connection confirm.
    pub const CC: TpduCode = TpduCode(0xd0);
    /// Disconnect request.
    pub const DR: TpduCode = TpduCode(0x80);
    /// Disconnect confirm.
    pub const DC: TpduCode = TpduCode(0xc0);
    /// Data.
    pub const DT: TpduCode = TpduCode(0xf0);
    /// Expedited data.
    pub const ED: TpduCode = TpduCode(0x10);
    /// Data acknowledgement.
    pub const AK: TpduCode = TpduCode(0x60);
    /// Expedited data acknowledgement.
    pub const EA: TpduCode = TpduCode(0x20);
    /// Reject.
    pub const RJ: TpduCode = TpduCode(0x50);
    /// TPDU error.
    pub const ER: TpduCode = TpduCode(0x70);

    /// The code of a header byte: its high nibble (the low nibble carries credit
    /// in classes 2 to 4).
    pub fn from_byte(b: u8) -> TpduCode {
        TpduCode(b & 0xf0)
    }

    /// True for the codes ISO 8073 assigns.
    pub fn is_known(self) -> bool {
        matches!(self.0, 0xe0 | 0xd0 | 0x80 | 0xc0 | 0xf0 | 0x10 | 0x60 | 0x20 | 0x50 | 0x70)
    }

    /// The stable snake_case name; `tpdu_0xNN` for unassigned codes.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self.0 {
            0xe0 => "connection_request",
            0xd0 => "connection_confirm",
            0x80 => "disconnect_request",
            0xc0 => "disconnect_confirm",
            0xf0 => "data",
            0x10 => "expedited_data",
            0x60 => "data_ack",
            0x20 => "expedited_data_ack",
            0x50 => "reject",
            0x70 => "tpdu_error",
            n => return std::borrow::Cow::Owned(format!("tpdu_{n:#04x}")),
        })
    }
}

/// Parameter code of the TPDU size (ISO 8073 §13.3.4 b).
pub const PARAM_TPDU_SIZE: u8 = 0xc0;
/// Parameter code of the calling (source) TSAP.
pub const PARAM_SRC_TSAP: u8 = 0xc1;
/// Parameter code of the called (destination) TSAP.
pub const PARAM_DST_TSAP: u8 = 0xc2;
/// The EOT bit of a DT TPDU's number byte (ISO 8073 §13.7.3 c).
pub const EOT: u8 = 0x80;

/// One parsed TPDU, borrowing its user data and parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tpdu<'a> {
    /// The TPDU code.
    pub code: TpduCode,
    /// What the code's fixed part says.
    pub kind: TpduKind<'a>,
    /// User data after the header.
    pub data: &'a [u8],
}

/// The fixed part of the TPDUs class 0 uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TpduKind<'a> {
    /// DT: TPDU number and whether this is the last of the TSDU.
    Data {
        /// The 7-bit TPDU number.
        number: u8,
        /// End of TSDU.
        eot: bool,
    },
    /// CR or CC: references, class and the variable part.
    Connect {
        /// Destination reference.
        dst_ref: u16,
        /// Source reference.
        src_ref: u16,
        /// Class (high nibble) and options.
        class: u8,
        /// The variable part: parameter code, length, value.
        params: &'a [u8],
    },
    /// DR: references and reason.
    Disconnect {
        /// Destination reference.
        dst_ref: u16,
        /// Source reference.
        src_ref: u16,
        /// Disconnect reason.
        reason: u8,
    },
    /// ER: the reject cause.
    Error {
        /// Destination reference.
        dst_ref: u16,
        /// Reject cause.
        cause: u8,
    },
    /// Any other code: the fixed part is not read.
    Other,
}

impl<'a> Tpdu<'a> {
    /// The parameters of a CR or CC TPDU, in order; stops at the first one that
    /// does not fit.
    pub fn params(&self) -> impl Iterator<Item = (u8, &'a [u8])> {
        let mut c = Cursor::new(match self.kind {
            TpduKind::Connect { params, .. } => params,
            _ => &[],
        });
        std::iter::from_fn(move || {
            let code = c.u8()?;
            let len = c.u8()?;
            let value = c.take(usize::from(len))?;
            Some((code, value))
        })
    }

    /// The value of one CR/CC parameter.
    pub fn param(&self, code: u8) -> Option<&'a [u8]> {
        self.params().find(|(c, _)| *c == code).map(|(_, v)| v)
    }
}

/// Why a TPDU cannot be read.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CotpError {
    /// No length indicator.
    Empty,
    /// A length indicator past the end of the packet (indicator, bytes there).
    BadLengthIndicator(u8, usize),
    /// A fixed part shorter than the code needs (code, length indicator).
    ShortHeader(u8, u8),
}

impl CotpError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            CotpError::Empty => "cotp_empty",
            CotpError::BadLengthIndicator(..) => "cotp_bad_length_indicator",
            CotpError::ShortHeader(..) => "cotp_short_header",
        }
    }
}

impl fmt::Display for CotpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CotpError::Empty => write!(f, "COTP TPDU without a length indicator"),
            CotpError::BadLengthIndicator(li, n) => write!(f, "COTP length indicator {li}, only {n} bytes follow"),
            CotpError::ShortHeader(code, li) => write!(f, "COTP TPDU {code:#04x} with length indicator {li}"),
        }
    }
}

impl std::error::Error for CotpError {}

/// Parses the TPDU that fills one TPKT payload.
pub fn parse(data: &[u8]) -> Result<Tpdu<'_>, CotpError> {
    let mut c = Cursor::new(data);
    let li = c.u8().ok_or(CotpError::Empty)?;
    // ISO 8073 §13.2.1: the length indicator counts the header bytes after it.
    let header = c.take(usize::from(li)).ok_or(CotpError::BadLengthIndicator(li, data.len().saturating_sub(1)))?;
    let data = c.rest();
    let mut h = Cursor::new(header);
    let byte = h.u8().ok_or(CotpError::ShortHeader(0, li))?;
    let code = TpduCode::from_byte(byte);
    let short = CotpError::ShortHeader(code.0, li);
    let kind = match code {
        // §13.7: DT in class 0 has a 1-byte number with the EOT bit.
        TpduCode::DT => {
            let n = h.u8().ok_or(short)?;
            TpduKind::Data { number: n & !EOT, eot: n & EOT != 0 }
        }
        // §13.3, §13.4: CR and CC: DST-REF, SRC-REF, class and option.
        TpduCode::CR | TpduCode::CC => {
            let (Some(dst_ref), Some(src_ref), Some(class)) = (h.be_u16(), h.be_u16(), h.u8()) else {
                return Err(short);
            };
            TpduKind::Connect { dst_ref, src_ref, class, params: h.rest() }
        }
        // §13.5: DR: DST-REF, SRC-REF, reason.
        TpduCode::DR => {
            let (Some(dst_ref), Some(src_ref), Some(reason)) = (h.be_u16(), h.be_u16(), h.u8()) else {
                return Err(short);
            };
            TpduKind::Disconnect { dst_ref, src_ref, reason }
        }
        // §13.12: ER: DST-REF, reject cause.
        TpduCode::ER => {
            let (Some(dst_ref), Some(cause)) = (h.be_u16(), h.u8()) else { return Err(short) };
            TpduKind::Error { dst_ref, cause }
        }
        _ => TpduKind::Other,
    };
    Ok(Tpdu { code, kind, data })
}

/// A TSAP as text: two bytes as `0x0102`, others as lower-case hex, printable
/// ASCII TSAPs (as some HMIs send) as the text itself.
pub fn tsap_text(value: &[u8]) -> String {
    use std::fmt::Write as _;
    if value.len() > 2 && value.iter().all(|b| b.is_ascii_graphic()) {
        return String::from_utf8_lossy(value).into_owned();
    }
    let mut s = String::from("0x");
    for b in value.iter().take(32) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The rack and slot an S7 destination TSAP of two bytes names: the second byte
/// holds rack (bits 5-7) and slot (bits 0-4).
pub fn rack_slot(tsap: &[u8]) -> Option<(u8, u8)> {
    match *tsap {
        [_, b] => Some((b >> 5, b & 0x1f)),
        _ => None,
    }
}

/// Most bytes the reassembler holds for one TSDU. S7 negotiates PDUs of at
/// most 960 bytes and S7comm-plus of a few kilobytes; beyond this the TSDU is
/// dropped and counted.
pub const MAX_TSDU: usize = 32 * 1024;

/// What the reassembler produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reassembled<'a> {
    /// Not the last DT of the TSDU: held.
    Held,
    /// A whole TSDU.
    Complete(&'a [u8]),
    /// The TSDU grew past [`MAX_TSDU`] and was dropped.
    Overflow,
}

/// Joins DT TPDUs of one direction until the one with EOT.
#[derive(Clone, Debug, Default)]
pub struct Reassembler {
    buf: Vec<u8>,
    /// Set after an overflow: drop fragments until the next EOT.
    dropping: bool,
    /// TSDUs dropped for size.
    pub overflows: u64,
}

impl Reassembler {
    /// A reassembler holding nothing.
    pub fn new() -> Self {
        Reassembler::default()
    }

    /// Bytes held.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forgets a partial TSDU (after a gap).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.dropping = false;
    }

    /// One DT TPDU's user data; `out` receives the whole TSDU when `eot` is set.
    /// A single-TPDU TSDU is passed through without a copy.
    pub fn push<R>(&mut self, data: &[u8], eot: bool, out: impl FnOnce(Reassembled<'_>) -> R) -> R {
        if self.dropping {
            if eot {
                self.dropping = false;
            }
            return out(Reassembled::Held);
        }
        if self.buf.is_empty() && eot {
            return out(Reassembled::Complete(data));
        }
        if self.buf.len().saturating_add(data.len()) > MAX_TSDU {
            self.buf = Vec::new();
            self.overflows += 1;
            self.dropping = !eot;
            return out(Reassembled::Overflow);
        }
        self.buf.extend_from_slice(data);
        if !eot {
            return out(Reassembled::Held);
        }
        let held = std::mem::take(&mut self.buf);
        out(Reassembled::Complete(&held))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const CR: [u8; 18] = [
        0x11, // length indicator 17
        0xe0, // CR, credit 0
        0x00, 0x00, // destination reference 0
        0x00, 0x01, // source reference 1
        0x00, // class 0
        0xc0, 0x01, 0x0a, // TPDU size 2^10
        0xc1, 0x02, 0x01, 0x00, // calling TSAP 0x0100
        0xc2, 0x02, 0x01, 0x02, // called TSAP 0x0102: rack 0, slot 2
    ];

    #[test]
    fn reads_the_tsaps_of_a_connection_request() {
        let t = parse(&CR).unwrap();
        assert_eq!(t.code, TpduCode::CR);
        assert!(matches!(t.kind, TpduKind::Connect { src_ref: 1, class: 0, .. }));
        assert_eq!(t.param(PARAM_TPDU_SIZE), Some(&[0x0a][..]));
        assert_eq!(tsap_text(t.param(PARAM_SRC_TSAP).unwrap()), "0x0100");
        assert_eq!(rack_slot(t.param(PARAM_DST_TSAP).unwrap()), Some((0, 2)));
        assert!(t.data.is_empty());
    }

    #[test]
    fn reads_a_data_tpdu_and_its_eot_bit() {
        let t = parse(&[
            0x02, // length indicator 2
            0xf0, // DT
            0x80, // number 0, EOT
            0x32, // user data
        ])
        .unwrap();
        assert_eq!(t.kind, TpduKind::Data { number: 0, eot: true });
        assert_eq!(t.data, &[0x32]);
        let t = parse(&[0x02, 0xf0, 0x05]).unwrap(); // number 5, more follows
        assert_eq!(t.kind, TpduKind::Data { number: 5, eot: false });
    }

    #[test]
    fn rejects_a_length_indicator_past_the_end_and_short_fixed_parts() {
        assert_eq!(parse(&[]), Err(CotpError::Empty));
        assert_eq!(parse(&[0x05, 0xf0, 0x80]), Err(CotpError::BadLengthIndicator(5, 2)));
        assert_eq!(parse(&[0x01, 0xf0]), Err(CotpError::ShortHeader(0xf0, 1)));
        assert_eq!(parse(&[0x03, 0xe0, 0x00, 0x00]), Err(CotpError::ShortHeader(0xe0, 3)));
    }

    #[test]
    fn joins_data_tpdus_until_the_one_with_eot() {
        let mut r = Reassembler::new();
        assert!(r.push(&[1, 2], false, |x| x == Reassembled::Held));
        assert!(r.push(&[3], false, |x| x == Reassembled::Held));
        let got = r.push(&[4, 5], true, |x| match x {
            Reassembled::Complete(d) => d.to_vec(),
            _ => Vec::new(),
        });
        assert_eq!(got, vec![1, 2, 3, 4, 5]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn drops_a_tsdu_that_grows_past_the_cap_and_recovers_at_eot() {
        let mut r = Reassembler::new();
        let big = vec![0u8; MAX_TSDU];
        assert!(r.push(&big, false, |x| x == Reassembled::Held));
        assert!(r.push(&[1], false, |x| x == Reassembled::Overflow));
        assert!(r.push(&[2], true, |x| x == Reassembled::Held));
        assert!(r.push(&[3], true, |x| x == Reassembled::Complete(&[3])));
        assert_eq!(r.overflows, 1);
    }
}
