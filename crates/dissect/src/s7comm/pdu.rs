//! The S7comm PDU ("S7 communication", protocol id 0x32) inside a COTP TSDU,
//! and detection of S7comm-plus (protocol id 0x72).
//!
//! Siemens publishes no specification; field layouts follow the Wireshark
//! `packet-s7comm.c` dissector (Thomas Wiens), which is also what the
//! cross-check compares against. Owns the header (ROSCTR, PDU reference,
//! parameter and data lengths, error class and code of ack and ack_data), the
//! job/ack_data function codes and their fixed fields (setup communication,
//! item counts, block file names, PI service names), the userdata parameter
//! (function group, subfunction, data unit reference) and the SZL request and
//! first-response fields. SZL records are read by [`super::szl`]; variable
//! items, addresses and values are left unread.
//!
//! Three outcomes stay apart: bytes too short for the header or its stated
//! lengths are a [`PduError`]; readable PDUs that break a rule (trailing
//! bytes after the data) parse with `trailing` set; anything else is valid.
//! Function codes, groups and subfunctions are open newtypes and are
//! reported by number when unassigned.

use crate::cursor::Cursor;
use otposture_model::OperationClass;
use std::borrow::Cow;
use std::fmt;

/// Protocol id of S7comm.
pub const PROTOCOL_ID_S7COMM: u8 = 0x32;
/// Protocol id of S7comm-plus.
pub const PROTOCOL_ID_S7COMM_PLUS: u8 = 0x72;

/// Message type (ROSCTR); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rosctr(pub u8);

impl Rosctr {
    /// A request.
    pub const JOB: Rosctr = Rosctr(1);
    /// An acknowledgement without data.
    pub const ACK: Rosctr = Rosctr(2);
    /// An acknowledgement with data: the response to a job.
    pub const ACK_DATA: Rosctr = Rosctr(3);
    /// Userdata: the extended protocol (SZL, clock, security, blocks...).
    pub const USERDATA: Rosctr = Rosctr(7);

    /// True when the header carries error class and code (ack, ack_data).
    pub fn has_error(self) -> bool {
        matches!(self, Rosctr::ACK | Rosctr::ACK_DATA)
    }

    /// The stable name.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            1 => "job",
            2 => "ack",
            3 => "ack_data",
            7 => "userdata",
            n => return Cow::Owned(format!("rosctr_{n}")),
        })
    }
}

/// A job / ack_data function code; open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Function(pub u8);

impl Function {
    /// 0x00: CPU services.
    pub const CPU_SERVICES: Function = Function(0x00);
    /// 0xF0: setup communication.
    pub const SETUP_COMMUNICATION: Function = Function(0xf0);
    /// 0x04: read variable.
    pub const READ_VAR: Function = Function(0x04);
    /// 0x05: write variable.
    pub const WRITE_VAR: Function = Function(0x05);
    /// 0x1A: request download.
    pub const REQUEST_DOWNLOAD: Function = Function(0x1a);
    /// 0x1B: download block.
    pub const DOWNLOAD_BLOCK: Function = Function(0x1b);
    /// 0x1C: download ended.
    pub const DOWNLOAD_ENDED: Function = Function(0x1c);
    /// 0x1D: start upload.
    pub const START_UPLOAD: Function = Function(0x1d);
    /// 0x1E: upload.
    pub const UPLOAD: Function = Function(0x1e);
    /// 0x1F: end upload.
    pub const END_UPLOAD: Function = Function(0x1f);
    /// 0x28: PLC control (PI service: start, insert block, compress...).
    pub const PLC_CONTROL: Function = Function(0x28);
    /// 0x29: PLC stop.
    pub const PLC_STOP: Function = Function(0x29);

    /// The stable snake_case name; `function_0xNN` for unassigned codes.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0x00 => "cpu_services",
            0xf0 => "setup_communication",
            0x04 => "read_var",
            0x05 => "write_var",
            0x1a => "request_download",
            0x1b => "download_block",
            0x1c => "download_ended",
            0x1d => "start_upload",
            0x1e => "upload",
            0x1f => "end_upload",
            0x28 => "plc_control",
            0x29 => "plc_stop",
            n => return Cow::Owned(format!("function_{n:#04x}")),
        })
    }

    /// What the function does to the device. PLC control is refined by its
    /// PI service in [`Pdu::operation`].
    pub fn class(self) -> OperationClass {
        match self.0 {
            0x04 => OperationClass::Read,
            0x05 => OperationClass::Write,
            0xf0 => OperationClass::Session,
            // Upload moves the program off the device: still a program transfer.
            0x1a..=0x1f => OperationClass::Program,
            0x28 | 0x29 => OperationClass::Control,
            _ => OperationClass::Unknown,
        }
    }
}

/// A userdata function group (low nibble of the type/group byte); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FunctionGroup(pub u8);

impl FunctionGroup {
    /// 0: mode transition (pushed by the CPU).
    pub const MODE_TRANSITION: FunctionGroup = FunctionGroup(0);
    /// 1: programmer commands (variable tables, forcing, diagnostics).
    pub const PROGRAMMER: FunctionGroup = FunctionGroup(1);
    /// 2: cyclic data.
    pub const CYCLIC: FunctionGroup = FunctionGroup(2);
    /// 3: block functions (list blocks, block info).
    pub const BLOCK: FunctionGroup = FunctionGroup(3);
    /// 4: CPU functions (SZL, alarms).
    pub const CPU: FunctionGroup = FunctionGroup(4);
    /// 5: security (password).
    pub const SECURITY: FunctionGroup = FunctionGroup(5);
    /// 6: PBC BSEND/BRECV.
    pub const PBC: FunctionGroup = FunctionGroup(6);
    /// 7: time functions (clock).
    pub const TIME: FunctionGroup = FunctionGroup(7);
}

/// SZL id of module identification.
pub const SZL_MODULE_IDENTIFICATION: u16 = 0x0011;
/// SZL id of component identification.
pub const SZL_COMPONENT_IDENTIFICATION: u16 = 0x001c;
/// SZL id of the CPU state (mode transitions).
pub const SZL_CPU_STATE: u16 = 0x0424;

/// The userdata parameter and data header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Userdata<'a> {
    /// 0x11 request, 0x12 response.
    pub method: u8,
    /// Type (high nibble): 0 push, 4 request, 8 response.
    pub kind: u8,
    /// Function group.
    pub group: FunctionGroup,
    /// Subfunction within the group.
    pub subfunction: u8,
    /// Sequence number.
    pub sequence: u8,
    /// Data unit reference, when the parameter is 12 bytes long.
    pub data_unit_ref: Option<u8>,
    /// True when more data units follow (last data unit byte non-zero).
    pub more: bool,
    /// Error code of a response parameter.
    pub error: Option<u16>,
    /// Return code of the data part (0xff success).
    pub return_code: Option<u8>,
    /// The data part's payload after return code, transport size and length.
    pub payload: &'a [u8],
}

impl Userdata<'_> {
    /// True for a request (type 4).
    pub fn is_request(&self) -> bool {
        self.kind == 4
    }

    /// SZL id and index of a read-SZL request, or of the first part of its
    /// response.
    pub fn szl(&self) -> Option<(u16, u16)> {
        if self.group != FunctionGroup::CPU || self.subfunction != 1 {
            return None;
        }
        let mut c = Cursor::new(self.payload);
        Some((c.be_u16()?, c.be_u16()?))
    }

    /// The stable operation name and class.
    pub fn operation(&self) -> (Cow<'static, str>, OperationClass) {
        use OperationClass::*;
        let (g, s) = (self.group.0, self.subfunction);
        let named = |n: &'static str, c| (Cow::Borrowed(n), c);
        match (g, s) {
            (4, 1) => {
                // A continuation response carries no SZL id; it is still an SZL read.
                let identity = self.szl().is_some_and(|(id, _)| is_identity_szl(id));
                named("szl_read", if identity { Discovery } else { Diagnostic })
            }
            (4, _) => (Cow::Owned(format!("userdata_g{g}_s{s}")), Diagnostic),
            (5, 1) => named("plc_password", Authentication),
            (5, 2) => named("clean_session", Authentication),
            (5, _) => (Cow::Owned(format!("userdata_g{g}_s{s}")), Authentication),
            (7, 1) | (7, 3) => named("read_clock", Read),
            (7, 2) | (7, 4) => named("set_clock", Configuration),
            (3, 1) => named("list_blocks", Diagnostic),
            (3, 2) => named("list_blocks_of_type", Diagnostic),
            (3, 3) => named("get_block_info", Diagnostic),
            // Group 0 is pushed by the CPU; its "subfunction" is the new mode.
            (0, _) => named("mode_transition", Diagnostic),
            (1 | 3, _) => (Cow::Owned(format!("userdata_g{g}_s{s}")), Diagnostic),
            (2, _) => (Cow::Owned(format!("userdata_g{g}_s{s}")), Read),
            _ => (Cow::Owned(format!("userdata_g{g}_s{s}")), Unknown),
        }
    }
}

/// The CPU mode a mode-transition push (group 0) announces in its
/// subfunction byte.
pub fn transition_mode(mode: u8) -> &'static str {
    match mode {
        0 => "stop",
        1 => "startup_warm",
        2 => "run",
        3 => "startup_hot",
        4 => "hold",
        6 => "startup_cold",
        9 => "run_redundant",
        11 => "link_up",
        12 => "update",
        _ => "unknown",
    }
}

/// True for SZL lists that identify the device: module identification
/// (xy11) and component identification (xy1C), whatever the extract.
pub fn is_identity_szl(id: u16) -> bool {
    matches!(id & 0x00ff, 0x11 | 0x1c)
}

/// A PDU, borrowing its parameter and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// Message type.
    pub rosctr: Rosctr,
    /// Reference that pairs a response with its job.
    pub pdu_ref: u16,
    /// Error class and code of ack and ack_data.
    pub error: Option<(u8, u8)>,
    /// The parameter part.
    pub param: &'a [u8],
    /// The data part.
    pub data: &'a [u8],
    /// Bytes after the data part (valid but anomalous).
    pub trailing: usize,
}

/// Why bytes cannot be read as an S7comm PDU.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduError {
    /// A protocol id other than 0x32.
    BadProtocolId(u8),
    /// Fewer bytes than the header needs (bytes there).
    ShortHeader(usize),
    /// Parameter and data lengths past the end (stated, bytes there).
    BadLength(usize, usize),
}

impl PduError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            PduError::BadProtocolId(_) => "s7_bad_protocol_id",
            PduError::ShortHeader(_) => "s7_short_header",
            PduError::BadLength(..) => "s7_bad_length",
        }
    }
}

impl fmt::Display for PduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PduError::BadProtocolId(p) => write!(f, "S7 protocol id {p:#04x}, expected 0x32"),
            PduError::ShortHeader(n) => write!(f, "S7 header needs 10 or 12 bytes, {n} there"),
            PduError::BadLength(want, n) => write!(f, "S7 parameter and data need {want} bytes, {n} there"),
        }
    }
}

impl std::error::Error for PduError {}

/// Parses an S7comm PDU (a whole COTP TSDU).
pub fn parse(tsdu: &[u8]) -> Result<Pdu<'_>, PduError> {
    let mut c = Cursor::new(tsdu);
    let short = PduError::ShortHeader(tsdu.len());
    let protocol = c.u8().ok_or(short)?;
    if protocol != PROTOCOL_ID_S7COMM {
        return Err(PduError::BadProtocolId(protocol));
    }
    let (Some(rosctr), Some(_redundancy), Some(pdu_ref), Some(param_len), Some(data_len)) =
        (c.u8(), c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16())
    else {
        return Err(short);
    };
    let rosctr = Rosctr(rosctr);
    let error = if rosctr.has_error() {
        let (Some(class), Some(code)) = (c.u8(), c.u8()) else { return Err(short) };
        Some((class, code))
    } else {
        None
    };
    let (p, d) = (usize::from(param_len), usize::from(data_len));
    let there = c.remaining();
    let (Some(param), Some(data)) = (c.take(p), c.take(d)) else {
        return Err(PduError::BadLength(p + d, there));
    };
    Ok(Pdu { rosctr, pdu_ref, error, param, data, trailing: c.remaining() })
}

/// A block named by a download/upload file name (`_0A00001P`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Block type code (`0x08` OB, `0x0A` DB, `0x0B` SDB, `0x0C` FC, `0x0D`
    /// SFC, `0x0E` FB, `0x0F` SFB).
    pub kind: u8,
    /// Block number.
    pub number: u32,
}

impl Block {
    /// The block as Step 7 writes it (`DB1`, `OB1`); unknown types as `block_0xNN_N`.
    pub fn text(&self) -> String {
        let t = match self.kind {
            0x08 => "OB",
            0x0a => "DB",
            0x0b => "SDB",
            0x0c => "FC",
            0x0d => "SFC",
            0x0e => "FB",
            0x0f => "SFB",
            k => return format!("block_{k:#04x}_{}", self.number),
        };
        format!("{t}{}", self.number)
    }
}

/// Reads a block file name: `_`, two ASCII hex digits of block type, five
/// decimal digits of number, and a file system letter.
pub fn parse_block_filename(name: &[u8]) -> Option<Block> {
    let mut c = Cursor::new(name);
    if c.u8()? != b'_' {
        return None;
    }
    let kind = std::str::from_utf8(c.take(2)?).ok()?;
    let kind = u8::from_str_radix(kind, 16).ok()?;
    let digits = c.take(5)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(Block { kind, number })
}

/// The fields of a job or ack_data parameter worth reporting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    /// Item count of read/write var.
    pub item_count: Option<u8>,
    /// Setup communication: max AMQ calling, max AMQ called, PDU size.
    pub setup: Option<(u16, u16, u16)>,
    /// The file name of a download/upload (raw).
    pub filename: Option<&'a [u8]>,
    /// The block the file name names.
    pub block: Option<Block>,
    /// The PI service of PLC control and PLC stop.
    pub pi_service: Option<&'a [u8]>,
}

impl<'a> Pdu<'a> {
    /// The job / ack_data function code.
    pub fn function(&self) -> Option<Function> {
        match self.rosctr {
            Rosctr::JOB | Rosctr::ACK_DATA => self.param.first().map(|&f| Function(f)),
            _ => None,
        }
    }

    /// The userdata parameter and data header, for ROSCTR 7.
    pub fn userdata(&self) -> Option<Userdata<'a>> {
        if self.rosctr != Rosctr::USERDATA {
            return None;
        }
        let mut c = Cursor::new(self.param);
        let _head = c.take(3)?;
        let plen = c.u8()?;
        let method = c.u8()?;
        let tg = c.u8()?;
        let subfunction = c.u8()?;
        let sequence = c.u8()?;
        let (data_unit_ref, more, error) =
            if plen >= 8 { (c.u8(), c.u8().is_some_and(|b| b != 0), c.be_u16()) } else { (None, false, None) };
        let mut d = Cursor::new(self.data);
        let return_code = d.u8();
        let _transport = d.u8();
        let len = d.be_u16().map(usize::from).unwrap_or(0);
        let rest = d.rest();
        let payload = rest.get(..len.min(rest.len())).unwrap_or_default();
        Some(Userdata {
            method,
            kind: tg >> 4,
            group: FunctionGroup(tg & 0x0f),
            subfunction,
            sequence,
            data_unit_ref,
            more,
            error,
            return_code,
            payload,
        })
    }

    /// The fixed fields of a job or ack_data parameter.
    pub fn fields(&self) -> Fields<'a> {
        let mut f = Fields::default();
        let Some(function) = self.function() else { return f };
        let mut c = Cursor::new(self.param);
        let _ = c.u8();
        match function {
            Function::READ_VAR | Function::WRITE_VAR => f.item_count = c.u8(),
            Function::SETUP_COMMUNICATION => {
                let _reserved = c.u8();
                if let (Some(a), Some(b), Some(p)) = (c.be_u16(), c.be_u16(), c.be_u16()) {
                    f.setup = Some((a, b, p));
                }
            }
            Function::REQUEST_DOWNLOAD
            | Function::DOWNLOAD_BLOCK
            | Function::DOWNLOAD_ENDED
            | Function::START_UPLOAD
                if self.rosctr == Rosctr::JOB =>
            {
                // Status, 2 unknown bytes, 4 bytes of upload id, then the name.
                if let (Some(_), Some(n)) = (c.take(7), c.u8()) {
                    f.filename = c.take(usize::from(n));
                    f.block = f.filename.and_then(parse_block_filename);
                }
            }
            Function::PLC_CONTROL if self.rosctr == Rosctr::JOB => {
                // 7 unknown bytes, parameter block length and block, then the
                // service name with its length.
                if let (Some(_), Some(n)) = (c.take(7), c.be_u16()) {
                    let block = c.take(usize::from(n));
                    if let Some(s) = c.u8() {
                        f.pi_service = c.take(usize::from(s));
                    }
                    // The parameter block of _INSE/_DELE names blocks as
                    // "<count 2><type 2 hex><number 5><fs 1>" after 2 bytes.
                    if let Some(src) = block.and_then(|b| b.get(2..10)) {
                        let mut name = [b'_'; 9];
                        for (d, s) in name.iter_mut().skip(1).zip(src) {
                            *d = *s;
                        }
                        f.block = parse_block_filename(&name);
                    }
                }
            }
            Function::PLC_STOP if self.rosctr == Rosctr::JOB => {
                // 5 unknown bytes, then the service name with its length.
                if let (Some(_), Some(s)) = (c.take(5), c.u8()) {
                    f.pi_service = c.take(usize::from(s));
                }
            }
            _ => {}
        }
        f
    }

    /// The stable operation name and class.
    pub fn operation(&self) -> (Cow<'static, str>, OperationClass) {
        if let Some(u) = self.userdata() {
            return u.operation();
        }
        match self.function() {
            Some(f) if f == Function::PLC_CONTROL => {
                let class = match self.fields().pi_service {
                    // Insert and delete block activate or remove downloaded logic.
                    Some(b"_INSE" | b"_DELE") => OperationClass::Program,
                    _ => OperationClass::Control,
                };
                (f.name(), class)
            }
            Some(f) => (f.name(), f.class()),
            // An ack without parameter: a bare acknowledgement.
            None if self.rosctr == Rosctr::ACK => (Cow::Borrowed("ack"), OperationClass::Session),
            None => (Cow::Owned(format!("{}_empty", self.rosctr.name())), OperationClass::Unknown),
        }
    }
}

/// An S7comm-plus PDU header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlusHeader {
    /// Protocol version (1, 2, 3; 0xfe keep-alive).
    pub version: u8,
    /// Opcode (0x31 request, 0x32 response, 0x33 notification, 0x02 response2),
    /// when present.
    pub opcode: Option<u8>,
    /// Function code of requests and responses.
    pub function: Option<u16>,
}

/// Reads an S7comm-plus header: id 0x72, version, data length, then (after
/// the 33-byte integrity part of version 3, when its digest length byte 0x20
/// is there) opcode, 2 reserved bytes and the 16-bit function.
pub fn parse_plus(tsdu: &[u8]) -> Option<PlusHeader> {
    let mut c = Cursor::new(tsdu);
    if c.u8()? != PROTOCOL_ID_S7COMM_PLUS {
        return None;
    }
    let version = c.u8()?;
    let _len = c.be_u16()?;
    if version == 3 && c.rest().first() == Some(&0x20) {
        c.take(33);
    }
    let opcode = c.u8();
    let function = match opcode {
        Some(0x31 | 0x32) => c.take(2).and_then(|_| c.be_u16()),
        _ => None,
    };
    Some(PlusHeader { version, opcode, function })
}

impl PlusHeader {
    /// The stable operation name and a documented guess at its class: reads
    /// and writes of variables by function, object creation as session.
    pub fn operation(&self) -> (Cow<'static, str>, OperationClass) {
        use OperationClass::*;
        let opcode = match self.opcode {
            Some(0x31) => "request",
            Some(0x32) => "response",
            Some(0x33) => "notification",
            Some(0x02) => "response2",
            None if self.version == 0xfe => return (Cow::Borrowed("s7comm_plus_keep_alive"), Session),
            None => return (Cow::Borrowed("s7comm_plus_empty"), Unknown),
            Some(o) => return (Cow::Owned(format!("s7comm_plus_opcode_{o:#04x}")), Unknown),
        };
        // A notification pushes the values of a subscription the client set
        // up (HMI tags, alarms): process data reported, as an MMS
        // information report is, so a read.
        if opcode == "notification" {
            return (Cow::Borrowed("s7comm_plus_notification"), Read);
        }
        let Some(function) = self.function else { return (Cow::Owned(format!("s7comm_plus_{opcode}")), Unknown) };
        let (name, class) = match function {
            0x04bb => ("s7comm_plus_explore", Discovery),
            0x04ca => ("s7comm_plus_create_object", Session),
            0x04d4 => ("s7comm_plus_delete_object", Session),
            0x04f2 => ("s7comm_plus_set_variable", Write),
            0x0524 => ("s7comm_plus_get_variable", Read),
            0x0542 => ("s7comm_plus_set_multi_variables", Write),
            0x054c => ("s7comm_plus_get_multi_variables", Read),
            0x0556 => ("s7comm_plus_begin_sequence", Session),
            0x0560 => ("s7comm_plus_end_sequence", Session),
            0x056b => ("s7comm_plus_invoke", Unknown),
            0x0586 => ("s7comm_plus_get_var_substreamed", Read),
            f => return (Cow::Owned(format!("s7comm_plus_{opcode}_{f:#06x}")), Unknown),
        };
        (Cow::Borrowed(name), class)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_block_file_name() {
        assert_eq!(parse_block_filename(b"_0A00001P"), Some(Block { kind: 0x0a, number: 1 }));
        assert_eq!(Block { kind: 0x08, number: 35 }.text(), "OB35");
        assert_eq!(parse_block_filename(b"_0AXX001P"), None);
        assert_eq!(parse_block_filename(b"_0A"), None);
    }

    #[test]
    fn rejects_lengths_past_the_end() {
        let b = [
            0x32, // protocol id
            0x01, // job
            0x00, 0x00, // redundancy
            0x00, 0x01, // PDU ref 1
            0x00, 0x08, // parameter length 8
            0x00, 0x00, // data length 0
            0xf0, // only one parameter byte
        ];
        assert_eq!(parse(&b), Err(PduError::BadLength(8, 1)));
        assert_eq!(parse(&b[..5]), Err(PduError::ShortHeader(5)));
        assert_eq!(parse(&[0x33]), Err(PduError::BadProtocolId(0x33)));
    }

    #[test]
    fn reads_an_s7comm_plus_v3_header_past_its_integrity_part() {
        let mut b = vec![0x72, 0x03, 0x00, 0x30, 0x20]; // id, version 3, length, digest length 32
        b.extend_from_slice(&[0xaa; 32]); // digest
        b.extend_from_slice(&[0x31, 0x00, 0x00, 0x05, 0x4c]); // request, reserved, GetMultiVariables
        let h = parse_plus(&b).unwrap();
        assert_eq!(h, PlusHeader { version: 3, opcode: Some(0x31), function: Some(0x054c) });
        assert_eq!(h.operation(), (Cow::Borrowed("s7comm_plus_get_multi_variables"), OperationClass::Read));
        let notification = parse_plus(&[0x72, 0x02, 0x00, 0x10, 0x33, 0x00, 0x00, 0x01]).unwrap();
        assert_eq!(notification.operation(), (Cow::Borrowed("s7comm_plus_notification"), OperationClass::Read));
    }
}
