//! The subset of ASN.1 BER (ITU-T X.690) that GOOSE, Sampled Values, SNMP
//! and MMS use: definite lengths (short form, or long form up to four length
//! bytes); one-byte tags, and for MMS ([`Tlvs::next_tagged`]) tag numbers of
//! 31 and more in the high-tag-number form. Written here rather than taken from a crate because this
//! subset is a dozen lines over our bounds-checked cursor, allocates nothing,
//! and a general BER crate (der-parser and nom) would be most of the packet
//! path's dependency weight for four tags.

use crate::cursor::Cursor;

/// One tag-length-value, its value borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (class, constructed bit and tag number).
    pub(crate) tag: u8,
    /// The contents.
    pub(crate) value: &'a [u8],
}

/// One tag-length-value whose tag may be in the high-tag-number form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tagged<'a> {
    /// Class and constructed bit: the identifier octet's top three bits
    /// (0xa0: context-specific, constructed).
    pub(crate) form: u8,
    /// The tag number.
    pub(crate) number: u32,
    /// The contents.
    pub(crate) value: &'a [u8],
}

/// Context-specific class, primitive ([`Tagged::form`]).
pub(crate) const CONTEXT: u8 = 0x80;
/// Context-specific class, constructed.
pub(crate) const CONTEXT_CONSTRUCTED: u8 = 0xa0;

/// Why bytes are not a TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BerError {
    /// The TLV runs past the end of its container.
    Truncated,
    /// A multi-byte tag (tag number 31 or more), which these PDUs never use.
    LongTag,
    /// Indefinite length (0x80) or more than four length bytes.
    BadLength,
}

impl BerError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            BerError::Truncated => "ber_truncated",
            BerError::LongTag => "ber_long_tag",
            BerError::BadLength => "ber_bad_length",
        }
    }
}

/// Reads the TLVs of a constructed value one after another.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlvs<'a> {
    c: Cursor<'a>,
}

impl<'a> Tlvs<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Tlvs { c: Cursor::new(data) }
    }

    /// The next TLV; `None` at the end of the container.
    pub(crate) fn next_tlv(&mut self) -> Option<Result<Tlv<'a>, BerError>> {
        if self.c.remaining() == 0 {
            return None;
        }
        let r = self.read();
        if r.is_err() {
            // A broken TLV ends the walk: what follows cannot be found.
            self.c = Cursor::new(&[]);
        }
        Some(r)
    }

    /// The next TLV, its tag in either form; `None` at the end of the
    /// container. Tag numbers past 2^28 are [`BerError::LongTag`].
    pub(crate) fn next_tagged(&mut self) -> Option<Result<Tagged<'a>, BerError>> {
        if self.c.remaining() == 0 {
            return None;
        }
        let r = self.read_tagged();
        if r.is_err() {
            self.c = Cursor::new(&[]);
        }
        Some(r)
    }

    fn read_tagged(&mut self) -> Result<Tagged<'a>, BerError> {
        let tag = self.c.u8().ok_or(BerError::Truncated)?;
        let mut number = u32::from(tag & 0x1f);
        if number == 0x1f {
            number = 0;
            for i in 0..4 {
                let b = self.c.u8().ok_or(BerError::Truncated)?;
                number = (number << 7) | u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    break;
                }
                if i == 3 {
                    return Err(BerError::LongTag);
                }
            }
        }
        let value = self.value()?;
        Ok(Tagged { form: tag & 0xe0, number, value })
    }

    fn read(&mut self) -> Result<Tlv<'a>, BerError> {
        let tag = self.c.u8().ok_or(BerError::Truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(BerError::LongTag);
        }
        let value = self.value()?;
        Ok(Tlv { tag, value })
    }

    /// A definite length and the contents it measures.
    fn value(&mut self) -> Result<&'a [u8], BerError> {
        let first = self.c.u8().ok_or(BerError::Truncated)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = first & 0x7f;
            if n == 0 || n > 4 {
                return Err(BerError::BadLength);
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(self.c.u8().ok_or(BerError::Truncated)?);
            }
            len
        };
        self.c.take(len).ok_or(BerError::Truncated)
    }
}

/// A BER INTEGER's contents as an unsigned value, when it is non-negative and
/// fits in 64 bits (counters and revisions in these PDUs always do).
pub(crate) fn unsigned(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 9 || value.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut n: u64 = 0;
    for (i, &b) in value.iter().enumerate() {
        // A ninth byte is allowed only as the sign-padding zero in front.
        if i == 0 && value.len() == 9 {
            if b != 0 {
                return None;
            }
            continue;
        }
        n = (n << 8) | u64::from(b);
    }
    Some(n)
}

/// A fixed-size unsigned big-endian field carried as an OCTET STRING (how
/// IEC 61850-9-2 encodes smpCnt, confRev, smpSynch and smpRate).
pub(crate) fn unsigned_fixed(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 8 {
        return None;
    }
    Some(value.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
}

/// A BER BOOLEAN: any non-zero octet is true.
pub(crate) fn boolean(value: &[u8]) -> Option<bool> {
    match value {
        [b] => Some(*b != 0),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![0x61, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        let mut t = Tlvs::new(&long);
        let tlv = t.next_tlv().unwrap().unwrap();
        assert_eq!((tlv.tag, tlv.value.len()), (0x61, 0x80));
        assert!(t.next_tlv().is_none());

        let mut t = Tlvs::new(&[0x80, 0x02, b'a', b'b', 0x85, 0x01, 0x07]);
        assert_eq!(t.next_tlv(), Some(Ok(Tlv { tag: 0x80, value: b"ab" })));
        assert_eq!(t.next_tlv(), Some(Ok(Tlv { tag: 0x85, value: &[7] })));
        assert_eq!(t.next_tlv(), None);
    }

    #[test]
    fn bad_tlvs_are_errors_and_end_the_walk() {
        assert_eq!(Tlvs::new(&[0x80, 0x05, 1, 2]).next_tlv(), Some(Err(BerError::Truncated)));
        assert_eq!(Tlvs::new(&[0x80]).next_tlv(), Some(Err(BerError::Truncated)));
        assert_eq!(Tlvs::new(&[0x1f, 0x01, 0x00]).next_tlv(), Some(Err(BerError::LongTag)));
        assert_eq!(Tlvs::new(&[0x30, 0x80, 0x00, 0x00]).next_tlv(), Some(Err(BerError::BadLength)));
        assert_eq!(Tlvs::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).next_tlv(), Some(Err(BerError::BadLength)));
        let mut t = Tlvs::new(&[0x80, 0x09, 1]);
        assert!(t.next_tlv().unwrap().is_err());
        assert!(t.next_tlv().is_none());
    }

    #[test]
    fn reads_high_tag_numbers() {
        // [77] constructed (MMS fileDirectory), then [2] primitive.
        let mut t = Tlvs::new(&[0xbf, 0x4d, 0x01, 0x00, 0x82, 0x00]);
        assert_eq!(t.next_tagged(), Some(Ok(Tagged { form: 0xa0, number: 77, value: &[0] })));
        assert_eq!(t.next_tagged(), Some(Ok(Tagged { form: 0x80, number: 2, value: &[] })));
        assert_eq!(t.next_tagged(), None);
        let mut t = Tlvs::new(&[0x9f, 0x81, 0x01, 0x00]);
        assert_eq!(t.next_tagged(), Some(Ok(Tagged { form: 0x80, number: 129, value: &[] })));
        assert_eq!(Tlvs::new(&[0x9f, 0x81]).next_tagged(), Some(Err(BerError::Truncated)));
        assert_eq!(Tlvs::new(&[0x9f, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]).next_tagged(), Some(Err(BerError::LongTag)));
        assert_eq!(Tlvs::new(&[0xbf, 0x4d, 0x01, 0x00]).next_tlv(), Some(Err(BerError::LongTag)));
    }

    #[test]
    fn integers_and_booleans() {
        assert_eq!(unsigned(&[0x01]), Some(1));
        assert_eq!(unsigned(&[0x00, 0xff]), Some(255));
        assert_eq!(unsigned(&[0x80]), None, "negative");
        assert_eq!(unsigned(&[]), None);
        assert_eq!(unsigned(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Some(u64::MAX));
        assert_eq!(unsigned(&[1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(unsigned_fixed(&[0x80, 0x01]), Some(0x8001));
        assert_eq!(unsigned_fixed(&[]), None);
        assert_eq!(boolean(&[0]), Some(false));
        assert_eq!(boolean(&[0xff]), Some(true));
        assert_eq!(boolean(&[0, 0]), None);
    }
}
