//! One SNMP message (RFC 3416 PDUs in RFC 1157 / RFC 1901 / RFC 3412
//! envelopes), read in place: the version, the community's presence and length
//! (v1, v2c) or the v3 header and USM security parameters, and the PDU with
//! its varbinds left as bytes to walk.
//!
//! Hand-written over the crate's BER reader rather than taken from
//! `snmp-parser`: that crate copies the community into a `String` (a secret
//! we must never hold longer than the packet), rejects communities that are
//! not UTF-8, negative request ids (INTEGER (-2147483648..2147483647) in RFC
//! 3416) and a whole message for one odd varbind value, where a passive
//! monitor wants what precedes the odd part. The subset SNMP needs is small:
//! one-byte tags, definite lengths.

use crate::iec61850::ber::{BerError, Tlv, Tlvs};
use std::fmt;

/// SNMP version as the message's INTEGER says it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(pub u8);

impl Version {
    /// SNMPv1 (RFC 1157).
    pub const V1: Version = Version(0);
    /// SNMPv2c (RFC 1901).
    pub const V2C: Version = Version(1);
    /// SNMPv3 (RFC 3412).
    pub const V3: Version = Version(3);

    /// `1`, `2c`, `3`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "1",
            1 => "2c",
            3 => "3",
            _ => "unknown",
        }
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.name())
    }
}

/// The PDU's context tag (RFC 3416 section 3; the v1 Trap-PDU of RFC 1157).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PduType(pub u8);

impl PduType {
    /// GetRequest-PDU.
    pub const GET: PduType = PduType(0xa0);
    /// GetNextRequest-PDU.
    pub const GET_NEXT: PduType = PduType(0xa1);
    /// Response-PDU.
    pub const RESPONSE: PduType = PduType(0xa2);
    /// SetRequest-PDU.
    pub const SET: PduType = PduType(0xa3);
    /// The SNMPv1 Trap-PDU.
    pub const TRAP_V1: PduType = PduType(0xa4);
    /// GetBulkRequest-PDU.
    pub const GET_BULK: PduType = PduType(0xa5);
    /// InformRequest-PDU.
    pub const INFORM: PduType = PduType(0xa6);
    /// SNMPv2-Trap-PDU.
    pub const TRAP_V2: PduType = PduType(0xa7);
    /// Report-PDU.
    pub const REPORT: PduType = PduType(0xa8);

    /// The operation name (`get`, `set`, `trap_v2`...), or `None` for a tag
    /// SNMP does not define.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            PduType::GET => "get",
            PduType::GET_NEXT => "get_next",
            PduType::RESPONSE => "response",
            PduType::SET => "set",
            PduType::TRAP_V1 => "trap",
            PduType::GET_BULK => "get_bulk",
            PduType::INFORM => "inform",
            PduType::TRAP_V2 => "trap_v2",
            PduType::REPORT => "report",
            _ => return None,
        })
    }
}

/// The error-status of a Response-PDU (RFC 3416 section 3; 0-5 from RFC 1157).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorStatus(pub i64);

impl ErrorStatus {
    /// noError.
    pub const NO_ERROR: ErrorStatus = ErrorStatus(0);

    /// The RFC's name in snake case, or `unknown_N`.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 19] = [
            "no_error",
            "too_big",
            "no_such_name",
            "bad_value",
            "read_only",
            "gen_err",
            "no_access",
            "wrong_type",
            "wrong_length",
            "wrong_encoding",
            "wrong_value",
            "no_creation",
            "inconsistent_value",
            "resource_unavailable",
            "commit_failed",
            "undo_failed",
            "authorization_error",
            "not_writable",
            "inconsistent_name",
        ];
        usize::try_from(self.0).ok().and_then(|i| NAMES.get(i).copied())
    }
}

/// Why a datagram is not a readable SNMP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnmpError {
    /// A TLV is cut or its length is invalid.
    Ber(BerError),
    /// A field has the wrong tag (the outer SEQUENCE, the version INTEGER...).
    Unexpected(&'static str),
    /// The version is not 0, 1 or 3.
    Version,
}

impl SnmpError {
    /// The name counted as malformed.
    pub fn what(self) -> &'static str {
        match self {
            SnmpError::Ber(e) => match e {
                BerError::Truncated => "snmp_truncated",
                BerError::LongTag => "snmp_long_tag",
                BerError::BadLength => "snmp_bad_length",
            },
            SnmpError::Unexpected(what) => what,
            SnmpError::Version => "snmp_bad_version",
        }
    }
}

/// The v3 header and USM security parameters (RFC 3412 section 6, RFC 3414
/// section 2.4).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct V3<'a> {
    /// msgID.
    pub msg_id: i64,
    /// msgFlags: bit 0 authentication, bit 1 privacy, bit 2 reportable.
    pub flags: u8,
    /// msgSecurityModel (3 is USM).
    pub security_model: i64,
    /// msgAuthoritativeEngineID (USM).
    pub engine_id: &'a [u8],
    /// msgAuthoritativeEngineBoots: how often the agent restarted.
    pub engine_boots: Option<i64>,
    /// msgUserName: not a secret.
    pub user: &'a [u8],
    /// The scoped PDU is encrypted: no PDU can be read.
    pub encrypted: bool,
}

impl V3<'_> {
    /// The RFC 3411 security level the flags state.
    pub fn security_level(&self) -> &'static str {
        match self.flags & 0x03 {
            0 => "no_auth_no_priv",
            1 => "auth_no_priv",
            3 => "auth_priv",
            _ => "invalid_priv_without_auth",
        }
    }
}

impl fmt::Debug for V3<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V3")
            .field("msg_id", &self.msg_id)
            .field("level", &self.security_level())
            .field("engine_id_len", &self.engine_id.len())
            .field("user", &String::from_utf8_lossy(self.user))
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

/// The SNMPv1 Trap-PDU's own fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapV1<'a> {
    /// enterprise OBJECT IDENTIFIER contents.
    pub enterprise: &'a [u8],
    /// agent-addr.
    pub agent: Option<[u8; 4]>,
    /// generic-trap (0 coldStart, 1 warmStart, 4 authenticationFailure...).
    pub generic: i64,
    /// specific-trap.
    pub specific: i64,
}

/// A PDU: its type, header integers and varbinds (the contents of the
/// VarBindList, walked with [`varbinds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// The context tag.
    pub kind: PduType,
    /// request-id (absent in a v1 trap).
    pub request_id: Option<i64>,
    /// error-status (non-repeaters in GetBulk).
    pub error_status: ErrorStatus,
    /// error-index (max-repetitions in GetBulk).
    pub error_index: i64,
    /// The v1 trap fields.
    pub trap: Option<TrapV1<'a>>,
    /// VarBindList contents.
    pub varbinds: &'a [u8],
}

/// One SNMP message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The version.
    pub version: Version,
    /// The community (v1, v2c). A secret: never printed, logged or kept; only
    /// its presence and length are reported.
    pub community: Option<&'a [u8]>,
    /// The v3 header and security parameters.
    pub v3: Option<V3<'a>>,
    /// The PDU, unless encrypted or unreadable.
    pub pdu: Option<Pdu<'a>>,
}

impl fmt::Debug for Message<'_> {
    // Written by hand so that no debug print ever shows the community.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("version", &self.version)
            .field("community_len", &self.community.map(<[u8]>::len))
            .field("v3", &self.v3)
            .field("pdu", &self.pdu)
            .finish()
    }
}

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const IP_ADDRESS: u8 = 0x40;

fn next<'a>(t: &mut Tlvs<'a>, tag: u8, what: &'static str) -> Result<&'a [u8], SnmpError> {
    match t.next_tlv() {
        Some(Ok(Tlv { tag: got, value })) if got == tag => Ok(value),
        Some(Ok(_)) => Err(SnmpError::Unexpected(what)),
        Some(Err(e)) => Err(SnmpError::Ber(e)),
        None => Err(SnmpError::Ber(BerError::Truncated)),
    }
}

fn integer(t: &mut Tlvs<'_>, what: &'static str) -> Result<i64, SnmpError> {
    signed(next(t, INTEGER, what)?).ok_or(SnmpError::Unexpected(what))
}

/// A BER INTEGER's contents as a signed value, when it fits in 64 bits.
pub fn signed(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let first = *v.first()?;
    let init: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    Some(v.iter().fold(init, |n, &b| (n << 8) | i64::from(b)))
}

/// The outer SEQUENCE and version: enough to tell SNMP from other BER over
/// UDP. The field after the version must be a community (OCTET STRING) or a
/// v3 header (SEQUENCE).
pub fn probe(data: &[u8]) -> Option<Version> {
    let outer = match Tlvs::new(data).next_tlv()? {
        Ok(Tlv { tag: SEQUENCE, value }) => value,
        _ => return None,
    };
    let mut t = Tlvs::new(outer);
    let version = match t.next_tlv()? {
        Ok(Tlv { tag: INTEGER, value: [v @ (0 | 1 | 3)] }) => Version(*v),
        _ => return None,
    };
    let want = if version == Version::V3 { SEQUENCE } else { OCTET_STRING };
    matches!(t.next_tlv()?, Ok(Tlv { tag, .. }) if tag == want).then_some(version)
}

/// Reads one message. A PDU that cannot be read past its header still gives
/// the version and community or v3 header (`pdu` is then the error).
pub fn parse(data: &[u8]) -> Result<(Message<'_>, Result<(), SnmpError>), SnmpError> {
    let outer = next(&mut Tlvs::new(data), SEQUENCE, "snmp_not_a_sequence")?;
    let mut t = Tlvs::new(outer);
    let version = match next(&mut t, INTEGER, "snmp_bad_version")? {
        [v @ (0 | 1 | 3)] => Version(*v),
        _ => return Err(SnmpError::Version),
    };
    let mut msg = Message { version, community: None, v3: None, pdu: None };
    let pdu_bytes = if version == Version::V3 {
        let (v3, scoped) = v3(&mut t)?;
        msg.v3 = Some(v3);
        match scoped {
            Some(b) => b,
            None => return Ok((msg, Ok(()))),
        }
    } else {
        msg.community = Some(next(&mut t, OCTET_STRING, "snmp_bad_community")?);
        t
    };
    let r = pdu(pdu_bytes).map(|p| msg.pdu = Some(p));
    Ok((msg, r))
}

/// The v3 header, USM parameters and the plaintext scoped PDU's remaining
/// TLVs (after contextEngineID and contextName), or `None` when encrypted.
fn v3<'a>(t: &mut Tlvs<'a>) -> Result<(V3<'a>, Option<Tlvs<'a>>), SnmpError> {
    let mut h = Tlvs::new(next(t, SEQUENCE, "snmp_bad_v3_header")?);
    let msg_id = integer(&mut h, "snmp_bad_v3_header")?;
    let _max_size = integer(&mut h, "snmp_bad_v3_header")?;
    let flags = match next(&mut h, OCTET_STRING, "snmp_bad_v3_header")? {
        [f] => *f,
        _ => return Err(SnmpError::Unexpected("snmp_bad_msg_flags")),
    };
    let security_model = integer(&mut h, "snmp_bad_v3_header")?;
    let sp = next(t, OCTET_STRING, "snmp_bad_security_parameters")?;
    let mut v3 = V3 { msg_id, flags, security_model, engine_id: &[], engine_boots: None, user: &[], encrypted: false };
    // USM (model 3): a SEQUENCE inside the OCTET STRING.
    if security_model == 3 && !sp.is_empty() {
        let mut u = Tlvs::new(next(&mut Tlvs::new(sp), SEQUENCE, "snmp_bad_usm")?);
        v3.engine_id = next(&mut u, OCTET_STRING, "snmp_bad_usm")?;
        v3.engine_boots = Some(integer(&mut u, "snmp_bad_usm")?);
        let _time = integer(&mut u, "snmp_bad_usm")?;
        v3.user = next(&mut u, OCTET_STRING, "snmp_bad_usm")?;
    }
    match t.next_tlv() {
        Some(Ok(Tlv { tag: SEQUENCE, value })) => {
            let mut s = Tlvs::new(value);
            let _context_engine = next(&mut s, OCTET_STRING, "snmp_bad_scoped_pdu")?;
            let _context_name = next(&mut s, OCTET_STRING, "snmp_bad_scoped_pdu")?;
            Ok((v3, Some(s)))
        }
        Some(Ok(Tlv { tag: OCTET_STRING, .. })) => {
            v3.encrypted = true;
            Ok((v3, None))
        }
        Some(Ok(_)) => Err(SnmpError::Unexpected("snmp_bad_scoped_pdu")),
        Some(Err(e)) => Err(SnmpError::Ber(e)),
        None => Err(SnmpError::Ber(BerError::Truncated)),
    }
}

fn pdu(mut t: Tlvs<'_>) -> Result<Pdu<'_>, SnmpError> {
    let (tag, body) = match t.next_tlv() {
        Some(Ok(Tlv { tag, value })) if tag & 0xe0 == 0xa0 => (tag, value),
        Some(Ok(_)) => return Err(SnmpError::Unexpected("snmp_bad_pdu")),
        Some(Err(e)) => return Err(SnmpError::Ber(e)),
        None => return Err(SnmpError::Ber(BerError::Truncated)),
    };
    let kind = PduType(tag);
    let mut b = Tlvs::new(body);
    if kind == PduType::TRAP_V1 {
        let enterprise = next(&mut b, OID, "snmp_bad_trap")?;
        let agent = <[u8; 4]>::try_from(next(&mut b, IP_ADDRESS, "snmp_bad_trap")?).ok();
        let generic = integer(&mut b, "snmp_bad_trap")?;
        let specific = integer(&mut b, "snmp_bad_trap")?;
        let _time_stamp = b.next_tlv();
        let varbinds = next(&mut b, SEQUENCE, "snmp_bad_varbinds")?;
        return Ok(Pdu {
            kind,
            request_id: None,
            error_status: ErrorStatus::NO_ERROR,
            error_index: 0,
            trap: Some(TrapV1 { enterprise, agent, generic, specific }),
            varbinds,
        });
    }
    let request_id = Some(integer(&mut b, "snmp_bad_pdu")?);
    let error_status = ErrorStatus(integer(&mut b, "snmp_bad_pdu")?);
    let error_index = integer(&mut b, "snmp_bad_pdu")?;
    let varbinds = next(&mut b, SEQUENCE, "snmp_bad_varbinds")?;
    Ok(Pdu { kind, request_id, error_status, error_index, trap: None, varbinds })
}

/// A varbind's value: its BER tag (0x04 OCTET STRING, 0x06 OBJECT IDENTIFIER,
/// 0x40 IpAddress, 0x43 TimeTicks, 0x80-0x82 exceptions...) and contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents.
    pub value: &'a [u8],
}

/// The varbinds of a VarBindList: (OID contents, value). An `Err` ends the
/// walk.
pub fn varbinds(list: &[u8]) -> impl Iterator<Item = Result<(&[u8], Value<'_>), SnmpError>> {
    let mut t = Tlvs::new(list);
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let r = match t.next_tlv()? {
            Ok(Tlv { tag: SEQUENCE, value }) => {
                let mut v = Tlvs::new(value);
                next(&mut v, OID, "snmp_bad_varbind").and_then(|oid| match v.next_tlv() {
                    Some(Ok(Tlv { tag, value })) => Ok((oid, Value { tag, value })),
                    Some(Err(e)) => Err(SnmpError::Ber(e)),
                    None => Err(SnmpError::Unexpected("snmp_bad_varbind")),
                })
            }
            Ok(_) => Err(SnmpError::Unexpected("snmp_bad_varbind")),
            Err(e) => Err(SnmpError::Ber(e)),
        };
        done = r.is_err();
        Some(r)
    })
}

/// Most sub-identifiers printed from one OID.
const MAX_ARCS: usize = 64;

/// An OBJECT IDENTIFIER's contents as dotted text (`1.3.6.1.2.1.1.5.0`), or
/// `None` when they do not encode one (empty, a sub-identifier cut or over 64
/// bits). Printing stops after [`MAX_ARCS`] arcs with `...`.
pub fn oid_text(v: &[u8]) -> Option<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut n: u64 = 0;
    let mut arcs = 0usize;
    let mut started = false;
    for &b in v {
        if !started && b == 0x80 {
            return None; // leading 0x80 padding is invalid (X.690 8.19.2)
        }
        started = b & 0x80 != 0;
        if n > u64::MAX >> 7 {
            return None;
        }
        n = (n << 7) | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            continue;
        }
        if arcs == 0 {
            let (x, y) = match n {
                0..=39 => (0, n),
                40..=79 => (1, n - 40),
                _ => (2, n - 80),
            };
            let _ = write!(out, "{x}.{y}");
            arcs = 2;
        } else if arcs < MAX_ARCS {
            let _ = write!(out, ".{n}");
            arcs += 1;
        } else if arcs == MAX_ARCS {
            out.push_str("...");
            arcs += 1;
        }
        n = 0;
    }
    (arcs > 0 && !started).then_some(out)
}

/// The enterprise number N of an OID under 1.3.6.1.4.1.N (IANA private
/// enterprise numbers), from its contents.
pub fn enterprise_of_oid(v: &[u8]) -> Option<u64> {
    let rest = v.strip_prefix(&[0x2b, 0x06, 0x01, 0x04, 0x01])?;
    let mut n: u64 = 0;
    for &b in rest.iter().take(9) {
        n = (n << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// The enterprise number in an SnmpEngineID (RFC 3411 section 5): the first
/// four bytes with the top bit cleared (set in the current format, clear in
/// the RFC 1910 one).
pub fn enterprise_of_engine_id(id: &[u8]) -> Option<u32> {
    let b: [u8; 4] = id.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b) & 0x7fff_ffff)
}
