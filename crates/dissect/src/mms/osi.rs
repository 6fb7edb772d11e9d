//! The OSI upper layers MMS runs on over RFC 1006, in the kernel subset that
//! IEC 61850 (part 8-1) and ICCP use: ISO 8327-1 session SPDUs, the ISO 8823
//! presentation PPDUs that carry user data, and the ACSE (ISO 8650) APDUs that
//! open and close an association. What comes out is the content of each
//! presentation data value: an ACSE APDU (with the MMS PDU it carries) or an
//! MMS PDU.

use crate::iec61850::ber::{BerError, Tlvs};

/// Session SPDU identifiers (ISO 8327-1 section 8.3).
pub(crate) mod si {
    /// GIVE TOKENS (category 0), and DATA TRANSFER (category 2) after it.
    pub(crate) const DATA: u8 = 0x01;
    pub(crate) const FINISH: u8 = 0x09;
    pub(crate) const DISCONNECT: u8 = 0x0a;
    pub(crate) const REFUSE: u8 = 0x0c;
    pub(crate) const CONNECT: u8 = 0x0d;
    pub(crate) const ACCEPT: u8 = 0x0e;
    pub(crate) const ABORT: u8 = 0x19;
    pub(crate) const ABORT_ACCEPT: u8 = 0x1a;
}

/// The session parameter that carries the presentation PPDU: User Data (193),
/// or Extended User Data (194) when it is longer than 512 bytes.
const PI_USER_DATA: u8 = 193;
const PI_EXTENDED_USER_DATA: u8 = 194;

/// Why a TSDU could not be read down to its presentation data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OsiError {
    /// An SPDU or parameter length runs past the TSDU.
    SessionLength,
    /// A data SPDU not made of GIVE TOKENS and DATA TRANSFER.
    SessionData,
    /// The presentation PPDU is not BER as ISO 8823 lays it out.
    Presentation(BerError),
}

impl OsiError {
    pub(crate) fn what(self) -> &'static str {
        match self {
            OsiError::SessionLength => "session_bad_length",
            OsiError::SessionData => "session_bad_data_spdu",
            OsiError::Presentation(BerError::Truncated) => "presentation_truncated",
            OsiError::Presentation(BerError::LongTag) => "presentation_long_tag",
            OsiError::Presentation(BerError::BadLength) => "presentation_bad_length",
        }
    }
}

/// One session SPDU (or the GIVE TOKENS + DATA TRANSFER pair of the data
/// phase) and the presentation PPDU it carries, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spdu<'a> {
    /// The SPDU identifier ([`si`]).
    pub(crate) si: u8,
    /// The presentation PPDU: user information of a data SPDU, the User Data
    /// parameter of the others; empty when there is none.
    pub(crate) user_data: &'a [u8],
}

impl Spdu<'_> {
    /// The operation name of the SPDU itself (data SPDUs are named by what
    /// they carry).
    pub(crate) fn name(&self) -> &'static str {
        match self.si {
            si::DATA => "session_data",
            si::FINISH => "session_finish",
            si::DISCONNECT => "session_disconnect",
            si::REFUSE => "session_refuse",
            si::CONNECT => "session_connect",
            si::ACCEPT => "session_accept",
            si::ABORT => "session_abort",
            si::ABORT_ACCEPT => "session_abort_accept",
            _ => "session_other",
        }
    }
}

/// True when `d` (the first data of a connection) starts like a session SPDU
/// of the kernel subset (a CONNECT, ACCEPT, FINISH or DISCONNECT whose length
/// fits, or the GIVE TOKENS + DATA TRANSFER pair) or like an MMS PDU carried
/// straight in COTP ([`is_bare_mms`]). What a probe needs to tell MMS from
/// S7comm on port 102.
pub(crate) fn looks_like_mms_transport(d: &[u8]) -> bool {
    match d {
        [si::DATA, 0, si::DATA, 0, ..] => true,
        [si::CONNECT | si::ACCEPT | si::FINISH | si::DISCONNECT, li, ..] => {
            *li == 0xff || usize::from(*li) + 2 <= d.len()
        }
        _ => {
            is_bare_mms(d) && !matches!(Tlvs::new(d).next_tagged(), Some(Err(BerError::BadLength | BerError::LongTag)))
        }
    }
}

/// True when a TSDU starts with an MMS PDU tag rather than a session SPDU:
/// some implementations and test tools put MMS PDUs straight into COTP data,
/// without session and presentation (Wireshark reads them too). The two never
/// collide: session SPDU identifiers are below 0x20, MMS PDU tags are
/// context-specific (0x80 and up).
pub(crate) fn is_bare_mms(d: &[u8]) -> bool {
    matches!(d.first(), Some(0xa0..=0xad | 0x85 | 0x86 | 0x8b | 0x8c))
}

/// The SPDU header at the start of `d`: identifier, parameters, and what
/// follows them.
fn header(d: &[u8]) -> Result<(u8, &[u8], &[u8]), OsiError> {
    let (&si, rest) = d.split_first().ok_or(OsiError::SessionLength)?;
    let (len, rest) = length(rest)?;
    let params = rest.get(..len).ok_or(OsiError::SessionLength)?;
    Ok((si, params, rest.get(len..).unwrap_or_default()))
}

/// A session length indicator: one byte, or 0xff and two bytes.
fn length(d: &[u8]) -> Result<(usize, &[u8]), OsiError> {
    match d {
        [0xff, hi, lo, rest @ ..] => Ok((usize::from(u16::from_be_bytes([*hi, *lo])), rest)),
        [0xff, ..] | [] => Err(OsiError::SessionLength),
        [n, rest @ ..] => Ok((usize::from(*n), rest)),
    }
}

/// The value of the top-level parameter `code` among `params`.
fn parameter(mut params: &[u8], code: u8) -> Result<Option<&[u8]>, OsiError> {
    while let Some((&c, rest)) = params.split_first() {
        let (len, rest) = length(rest)?;
        let value = rest.get(..len).ok_or(OsiError::SessionLength)?;
        if c == code {
            return Ok(Some(value));
        }
        params = rest.get(len..).unwrap_or_default();
    }
    Ok(None)
}

/// Reads the SPDU a TSDU starts with.
pub(crate) fn spdu(tsdu: &[u8]) -> Result<Spdu<'_>, OsiError> {
    let (si, params, rest) = header(tsdu)?;
    if si == si::DATA {
        // GIVE TOKENS alone moves no data; with DATA TRANSFER after it, the
        // user information is what follows the second header.
        if rest.is_empty() {
            return Ok(Spdu { si, user_data: &[] });
        }
        let (second, _, user_data) = header(rest)?;
        if second != si::DATA {
            return Err(OsiError::SessionData);
        }
        return Ok(Spdu { si, user_data });
    }
    let user_data = match parameter(params, PI_USER_DATA)? {
        Some(v) => v,
        None => parameter(params, PI_EXTENDED_USER_DATA)?.unwrap_or_default(),
    };
    Ok(Spdu { si, user_data })
}

/// One presentation data value's content: a whole BER TLV of the abstract
/// syntax its context names (ACSE or MMS), and the context's identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pdv<'a> {
    pub(crate) context: Option<u64>,
    pub(crate) content: &'a [u8],
}

/// Calls `out` with each presentation data value of the PPDU an SPDU
/// carries: for a CONNECT or ACCEPT the user data of the CP or CPA PPDU's
/// normal-mode parameters, otherwise the PPDU's own user data.
pub(crate) fn pdvs<'a>(spdu: &Spdu<'a>, out: &mut dyn FnMut(Pdv<'a>)) -> Result<(), OsiError> {
    let mut user_data = spdu.user_data;
    if user_data.is_empty() {
        return Ok(());
    }
    if matches!(spdu.si, si::CONNECT | si::ACCEPT) {
        // CP-type / CPA-PPDU: SET { mode-selector [0], normal-mode-parameters [2] }.
        let set = one(user_data, 0x31)?;
        let Some(normal) = find(set, 0xa2)? else { return Ok(()) };
        let Some(ud) = find(normal, 0x61)? else { return Ok(()) };
        user_data = ud;
    } else {
        // Fully-encoded-data [APPLICATION 1]; a refusal or abort may carry
        // something else, which holds no MMS.
        match Tlvs::new(user_data).next_tlv() {
            Some(Ok(t)) if t.tag == 0x61 => user_data = t.value,
            Some(Err(e)) => return Err(OsiError::Presentation(e)),
            _ => return Ok(()),
        }
    }
    // SEQUENCE OF PDV-list { transfer-syntax-name OPTIONAL,
    // presentation-context-identifier, presentation-data-values }.
    let mut list = Tlvs::new(user_data);
    while let Some(pdv) = list.next_tlv() {
        let pdv = pdv.map_err(OsiError::Presentation)?;
        if pdv.tag != 0x30 {
            continue;
        }
        let mut context = None;
        let mut items = Tlvs::new(pdv.value);
        while let Some(item) = items.next_tlv() {
            let item = item.map_err(OsiError::Presentation)?;
            match item.tag {
                0x02 => context = crate::iec61850::ber::unsigned(item.value),
                // single-ASN1-type [0] (explicit: one whole TLV) or
                // octet-aligned [1] (the encoding as octets).
                0xa0 | 0x81 => out(Pdv { context, content: item.value }),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The contents of `d` when it is one TLV with `tag`.
fn one(d: &[u8], tag: u8) -> Result<&[u8], OsiError> {
    match Tlvs::new(d).next_tlv() {
        Some(Ok(t)) if t.tag == tag => Ok(t.value),
        Some(Err(e)) => Err(OsiError::Presentation(e)),
        _ => Err(OsiError::Presentation(BerError::Truncated)),
    }
}

/// The contents of the first TLV with `tag` among those `d` holds.
pub(crate) fn find(d: &[u8], tag: u8) -> Result<Option<&[u8]>, OsiError> {
    let mut t = Tlvs::new(d);
    while let Some(x) = t.next_tlv() {
        let x = x.map_err(OsiError::Presentation)?;
        if x.tag == tag {
            return Ok(Some(x.value));
        }
    }
    Ok(None)
}

/// An ACSE APDU (ISO 8650-1), by its [APPLICATION n] tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Acse<'a> {
    /// 0x60 AARQ, 0x61 AARE, 0x62 RLRQ, 0x63 RLRE, 0x64 ABRT.
    pub(crate) tag: u8,
    /// The APDU's fields.
    pub(crate) fields: &'a [u8],
}

impl<'a> Acse<'a> {
    /// The APDU when `content` is one.
    pub(crate) fn read(content: &'a [u8]) -> Option<Acse<'a>> {
        match Tlvs::new(content).next_tlv() {
            Some(Ok(t)) if (0x60..=0x64).contains(&t.tag) => Some(Acse { tag: t.tag, fields: t.value }),
            _ => None,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self.tag {
            0x60 => "associate_request",
            0x61 => "associate_response",
            0x62 => "release_request",
            0x63 => "release_response",
            _ => "associate_abort",
        }
    }

    /// The first field with `tag`.
    pub(crate) fn field(&self, tag: u8) -> Option<&'a [u8]> {
        find(self.fields, tag).ok().flatten()
    }

    /// An AARE's result: 0 accepted, 1 rejected (permanent), 2 rejected
    /// (transient).
    pub(crate) fn result(&self) -> Option<u64> {
        let r = self.field(0xa2)?;
        crate::iec61850::ber::unsigned(find(r, 0x02).ok().flatten()?)
    }

    /// The user information's first EXTERNAL encoding: the MMS PDU of an
    /// AARQ or AARE (initiate) or of a release.
    pub(crate) fn user_information(&self) -> Option<&'a [u8]> {
        let info = self.field(0xbe)?;
        let external = find(info, 0x28).ok().flatten()?;
        let mut t = Tlvs::new(external);
        while let Some(Ok(x)) = t.next_tlv() {
            if x.tag == 0xa0 || x.tag == 0x81 {
                return Some(x.value);
            }
        }
        None
    }
}
