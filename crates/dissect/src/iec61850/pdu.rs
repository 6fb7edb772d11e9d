//! GOOSE and Sampled Values frames (IEC 61850-8-1 clause 8 and annex A;
//! IEC 61850-9-2 clause 8): the common header, then the BER-encoded PDU.
//! Values that carry identity (control block references, data sets, ids,
//! configuration revisions) are borrowed; the data values themselves are only
//! counted: they are process state, not inventory.

use super::ber::{self, BerError, Tlvs};
use crate::cursor::Cursor;
use std::fmt;

/// EtherType of GOOSE.
pub const ETHERTYPE_GOOSE: u16 = 0x88b8;
/// EtherType of Sampled Values.
pub const ETHERTYPE_SV: u16 = 0x88ba;
/// APPID, Length, Reserved 1, Reserved 2.
const HEADER_LEN: usize = 8;
/// Reserved 1, bit 15: the frame is simulated (IEC 61850-8-1 Ed2).
const SIMULATE_BIT: u16 = 0x8000;
/// `goosePdu`: [APPLICATION 1] IMPLICIT SEQUENCE.
const GOOSE_PDU: u8 = 0x61;
/// `savPdu`: [APPLICATION 0] IMPLICIT SEQUENCE.
const SAV_PDU: u8 = 0x60;
/// An ASDU inside `seqASDU`: SEQUENCE.
const ASDU: u8 = 0x30;

/// The header both frame types share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Application id (GOOSE 0x0000-0x3fff, SV 0x4000-0x7fff by convention).
    pub appid: u16,
    /// Bytes from the APPID to the end of the PDU.
    pub length: u16,
    /// Reserved 1 (simulate bit and, in Ed2.1, security bits).
    pub reserved1: u16,
    /// Reserved 2.
    pub reserved2: u16,
}

impl Header {
    /// The simulate bit of Reserved 1 is set.
    pub fn simulated(&self) -> bool {
        self.reserved1 & SIMULATE_BIT != 0
    }
}

/// A GOOSE message: the fields that name the publisher and its data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Goose<'a> {
    /// Frame header.
    pub header: Header,
    /// `gocbRef`: the control block, `<IED><LDinst>/LLN0$GO$<name>`.
    pub gocb_ref: &'a [u8],
    /// `timeAllowedtoLive`, ms.
    pub time_allowed_to_live: Option<u64>,
    /// `datSet`: the data set published.
    pub dat_set: &'a [u8],
    /// `goID`, when present.
    pub go_id: Option<&'a [u8]>,
    /// `stNum`: state number (incremented on every change of data).
    pub st_num: u64,
    /// `sqNum`: sequence number within the state.
    pub sq_num: u64,
    /// `simulation` (Ed1: `test`).
    pub simulation: bool,
    /// `confRev`: configuration revision of the data set.
    pub conf_rev: u64,
    /// `ndsCom`: needs commissioning.
    pub nds_com: bool,
    /// `numDatSetEntries`.
    pub entries: u64,
    /// Data values actually in `allData`.
    pub values: u64,
}

/// One ASDU of a Sampled Values frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SvAsdu<'a> {
    /// `svID`.
    pub sv_id: &'a [u8],
    /// `datSet`, when present.
    pub dat_set: Option<&'a [u8]>,
    /// `smpCnt`.
    pub smp_cnt: u64,
    /// `confRev`.
    pub conf_rev: u64,
    /// `smpSynch`: 0 none, 1 local, 2 global (IEC 61850-9-2 Ed2).
    pub smp_synch: Option<u64>,
    /// `smpRate`, when present.
    pub smp_rate: Option<u64>,
}

/// A Sampled Values frame: its header and up to the first eight ASDUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sv<'a> {
    /// Frame header.
    pub header: Header,
    /// `noASDU` as stated.
    pub no_asdu: u64,
    /// ASDUs read (a frame carries 1 to 8 in practice; more are counted, not kept).
    pub asdus: [Option<SvAsdu<'a>>; 8],
    /// ASDUs in `seqASDU`.
    pub asdu_count: u64,
}

/// Why a frame is not a GOOSE or SV message.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduError {
    /// Fewer bytes than the 8-byte header.
    ShortHeader {
        /// Bytes there were.
        available: usize,
    },
    /// The header's Length is below 8 or beyond the frame.
    BadLength {
        /// Length stated.
        length: u16,
        /// Bytes after the EtherType.
        available: usize,
    },
    /// The PDU is not the expected [APPLICATION n] SEQUENCE.
    NotPdu {
        /// Tag found.
        tag: u8,
    },
    /// BER structure broken.
    Ber(BerError),
    /// A mandatory field is missing.
    Missing {
        /// The field's ASN.1 name.
        field: &'static str,
    },
}

impl PduError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            PduError::ShortHeader { .. } => "short_header",
            PduError::BadLength { .. } => "bad_length",
            PduError::NotPdu { .. } => "not_pdu",
            PduError::Ber(e) => e.what(),
            PduError::Missing { .. } => "missing_field",
        }
    }
}

impl fmt::Display for PduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PduError::ShortHeader { available } => write!(f, "header needs 8 bytes, only {available} present"),
            PduError::BadLength { length, available } => {
                write!(f, "length {length} outside 8..={available}")
            }
            PduError::NotPdu { tag } => write!(f, "PDU tag {tag:#04x} is not a GOOSE or SV PDU"),
            PduError::Ber(e) => write!(f, "BER: {}", e.what()),
            PduError::Missing { field } => write!(f, "mandatory field {field} is missing"),
        }
    }
}

impl std::error::Error for PduError {}

impl From<BerError> for PduError {
    fn from(e: BerError) -> Self {
        PduError::Ber(e)
    }
}

/// The header and the PDU's contents (inside its outer tag). Bytes after
/// Length (Ethernet padding) are ignored.
fn frame(data: &[u8], pdu_tag: u8) -> Result<(Header, &[u8]), PduError> {
    let mut c = Cursor::new(data);
    let (Some(appid), Some(length), Some(reserved1), Some(reserved2)) =
        (c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16())
    else {
        return Err(PduError::ShortHeader { available: data.len() });
    };
    let header = Header { appid, length, reserved1, reserved2 };
    let body = usize::from(length)
        .checked_sub(HEADER_LEN)
        .and_then(|n| c.take(n))
        .ok_or(PduError::BadLength { length, available: data.len() })?;
    let pdu = Tlvs::new(body).next_tlv().ok_or(PduError::Missing { field: "pdu" })??;
    if pdu.tag != pdu_tag {
        return Err(PduError::NotPdu { tag: pdu.tag });
    }
    Ok((header, pdu.value))
}

/// Parses a GOOSE frame from the bytes after the EtherType.
pub fn parse_goose(data: &[u8]) -> Result<Goose<'_>, PduError> {
    let (header, body) = frame(data, GOOSE_PDU)?;
    let (mut gocb_ref, mut dat_set, mut st_num, mut sq_num, mut conf_rev) = (None, None, None, None, None);
    let mut g = Goose {
        header,
        gocb_ref: &[],
        time_allowed_to_live: None,
        dat_set: &[],
        go_id: None,
        st_num: 0,
        sq_num: 0,
        simulation: false,
        conf_rev: 0,
        nds_com: false,
        entries: 0,
        values: 0,
    };
    let mut fields = Tlvs::new(body);
    while let Some(tlv) = fields.next_tlv() {
        let tlv = tlv?;
        match tlv.tag {
            0x80 => gocb_ref = Some(tlv.value),
            0x81 => g.time_allowed_to_live = ber::unsigned(tlv.value),
            0x82 => dat_set = Some(tlv.value),
            0x83 => g.go_id = Some(tlv.value),
            0x85 => st_num = ber::unsigned(tlv.value),
            0x86 => sq_num = ber::unsigned(tlv.value),
            0x87 => g.simulation = ber::boolean(tlv.value).unwrap_or(false),
            0x88 => conf_rev = ber::unsigned(tlv.value),
            0x89 => g.nds_com = ber::boolean(tlv.value).unwrap_or(false),
            0x8a => g.entries = ber::unsigned(tlv.value).unwrap_or(0),
            0xab => {
                let mut values = Tlvs::new(tlv.value);
                while let Some(v) = values.next_tlv() {
                    v?;
                    g.values += 1;
                }
            }
            // t (UtcTime), security and later additions: not identity.
            _ => {}
        }
    }
    let missing = |field| PduError::Missing { field };
    g.gocb_ref = gocb_ref.ok_or(missing("gocbRef"))?;
    g.dat_set = dat_set.ok_or(missing("datSet"))?;
    g.st_num = st_num.ok_or(missing("stNum"))?;
    g.sq_num = sq_num.ok_or(missing("sqNum"))?;
    g.conf_rev = conf_rev.ok_or(missing("confRev"))?;
    Ok(g)
}

/// Parses a Sampled Values frame from the bytes after the EtherType.
pub fn parse_sv(data: &[u8]) -> Result<Sv<'_>, PduError> {
    let (header, body) = frame(data, SAV_PDU)?;
    let mut sv = Sv { header, no_asdu: 0, asdus: [None; 8], asdu_count: 0 };
    let mut no_asdu = None;
    let mut seq = None;
    let mut fields = Tlvs::new(body);
    while let Some(tlv) = fields.next_tlv() {
        let tlv = tlv?;
        match tlv.tag {
            0x80 => no_asdu = ber::unsigned(tlv.value),
            0xa2 => seq = Some(tlv.value),
            _ => {}
        }
    }
    sv.no_asdu = no_asdu.ok_or(PduError::Missing { field: "noASDU" })?;
    let mut asdus = Tlvs::new(seq.ok_or(PduError::Missing { field: "seqASDU" })?);
    while let Some(tlv) = asdus.next_tlv() {
        let tlv = tlv?;
        if tlv.tag != ASDU {
            continue;
        }
        let asdu = parse_asdu(tlv.value)?;
        if let Some(slot) = usize::try_from(sv.asdu_count).ok().and_then(|i| sv.asdus.get_mut(i)) {
            *slot = Some(asdu);
        }
        sv.asdu_count += 1;
    }
    Ok(sv)
}

fn parse_asdu(data: &[u8]) -> Result<SvAsdu<'_>, PduError> {
    let (mut sv_id, mut smp_cnt, mut conf_rev) = (None, None, None);
    let mut a = SvAsdu { sv_id: &[], dat_set: None, smp_cnt: 0, conf_rev: 0, smp_synch: None, smp_rate: None };
    let mut fields = Tlvs::new(data);
    while let Some(tlv) = fields.next_tlv() {
        let tlv = tlv?;
        match tlv.tag {
            0x80 => sv_id = Some(tlv.value),
            0x81 => a.dat_set = Some(tlv.value),
            0x82 => smp_cnt = ber::unsigned_fixed(tlv.value),
            0x83 => conf_rev = ber::unsigned_fixed(tlv.value),
            0x85 => a.smp_synch = ber::unsigned_fixed(tlv.value),
            0x86 => a.smp_rate = ber::unsigned_fixed(tlv.value),
            _ => {}
        }
    }
    let missing = |field| PduError::Missing { field };
    a.sv_id = sv_id.ok_or(missing("svID"))?;
    a.smp_cnt = smp_cnt.ok_or(missing("smpCnt"))?;
    a.conf_rev = conf_rev.ok_or(missing("confRev"))?;
    Ok(a)
}
