//! The Modbus PDU (Modbus Application Protocol Specification V1.1b3 §4.1, §6,
//! §7): function codes, the fields of every public request and normal
//! response, exception responses, and what each does to the device.
//!
//! Owns reading the fixed fields — start address, quantity, value, byte count,
//! sub-function — into a small borrowed [`Pdu`]; register and coil values are
//! left unread in [`Pdu::body`]. Device identification (function 43, MEI 14) is
//! read by [`super::mei`], Schneider's UMAS (function 90) by [`super::umas`].
//!
//! Three outcomes stay apart: a PDU too short for its fields is a
//! [`PduError`]; a PDU whose fields are readable but break a spec rule
//! (quantity out of range, byte count that disagrees with the quantity, trailing
//! bytes) parses, with [`Anomalies`] set; anything else is valid. Function codes
//! the specification does not assign are reported by number, never rejected.

use super::umas;
use crate::cursor::Cursor;
use otposture_model::OperationClass;
use std::borrow::Cow;
use std::fmt;

/// A Modbus function code (Spec §5.1); open, so user-defined and vendor codes
/// parse and are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FunctionCode(pub u8);

impl FunctionCode {
    /// 0x01.
    pub const READ_COILS: FunctionCode = FunctionCode(1);
    /// 0x02.
    pub const READ_DISCRETE_INPUTS: FunctionCode = FunctionCode(2);
    /// 0x03.
    pub const READ_HOLDING_REGISTERS: FunctionCode = FunctionCode(3);
    /// 0x04.
    pub const READ_INPUT_REGISTERS: FunctionCode = FunctionCode(4);
    /// 0x05.
    pub const WRITE_SINGLE_COIL: FunctionCode = FunctionCode(5);
    /// 0x06.
    pub const WRITE_SINGLE_REGISTER: FunctionCode = FunctionCode(6);
    /// 0x07 (serial line only, but seen on TCP).
    pub const READ_EXCEPTION_STATUS: FunctionCode = FunctionCode(7);
    /// 0x08 (serial line only, but seen on TCP).
    pub const DIAGNOSTICS: FunctionCode = FunctionCode(8);
    /// 0x0B.
    pub const GET_COMM_EVENT_COUNTER: FunctionCode = FunctionCode(11);
    /// 0x0C.
    pub const GET_COMM_EVENT_LOG: FunctionCode = FunctionCode(12);
    /// 0x0F.
    pub const WRITE_MULTIPLE_COILS: FunctionCode = FunctionCode(15);
    /// 0x10.
    pub const WRITE_MULTIPLE_REGISTERS: FunctionCode = FunctionCode(16);
    /// 0x11.
    pub const REPORT_SERVER_ID: FunctionCode = FunctionCode(17);
    /// 0x14.
    pub const READ_FILE_RECORD: FunctionCode = FunctionCode(20);
    /// 0x15.
    pub const WRITE_FILE_RECORD: FunctionCode = FunctionCode(21);
    /// 0x16.
    pub const MASK_WRITE_REGISTER: FunctionCode = FunctionCode(22);
    /// 0x17.
    pub const READ_WRITE_MULTIPLE_REGISTERS: FunctionCode = FunctionCode(23);
    /// 0x18.
    pub const READ_FIFO_QUEUE: FunctionCode = FunctionCode(24);
    /// 0x2B: Encapsulated Interface Transport (MEI).
    pub const ENCAPSULATED_INTERFACE: FunctionCode = FunctionCode(43);
    /// 0x5A: Schneider Electric UMAS, in the user-defined range.
    pub const UMAS: FunctionCode = FunctionCode(90);

    /// True for the ranges Spec §5 leaves to users (65..=72, 100..=110).
    pub fn is_user_defined(self) -> bool {
        matches!(self.0, 65..=72 | 100..=110)
    }

    /// The stable snake_case name of the function; `user_defined_N` and
    /// `function_N` for unassigned codes.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            1 => "read_coils",
            2 => "read_discrete_inputs",
            3 => "read_holding_registers",
            4 => "read_input_registers",
            5 => "write_single_coil",
            6 => "write_single_register",
            7 => "read_exception_status",
            8 => "diagnostics",
            11 => "get_comm_event_counter",
            12 => "get_comm_event_log",
            15 => "write_multiple_coils",
            16 => "write_multiple_registers",
            17 => "report_server_id",
            20 => "read_file_record",
            21 => "write_file_record",
            22 => "mask_write_register",
            23 => "read_write_multiple_registers",
            24 => "read_fifo_queue",
            43 => "encapsulated_interface_transport",
            90 => "umas",
            n if self.is_user_defined() => return Cow::Owned(format!("user_defined_{n}")),
            n => return Cow::Owned(format!("function_{n}")),
        })
    }

    /// What the function does to the device, before looking at sub-functions.
    pub fn class(self) -> OperationClass {
        match self.0 {
            1 | 2 | 3 | 4 | 20 | 24 => OperationClass::Read,
            // 23 reads too, but the write is what matters to the device.
            5 | 6 | 15 | 16 | 21 | 22 | 23 => OperationClass::Write,
            7 | 8 | 11 | 12 => OperationClass::Diagnostic,
            // Report Server ID answers with the device's identity.
            17 => OperationClass::Discovery,
            _ => OperationClass::Unknown,
        }
    }
}

/// An exception code (Spec §7); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExceptionCode(pub u8);

impl ExceptionCode {
    /// 0x01.
    pub const ILLEGAL_FUNCTION: ExceptionCode = ExceptionCode(1);
    /// 0x02.
    pub const ILLEGAL_DATA_ADDRESS: ExceptionCode = ExceptionCode(2);
    /// 0x03.
    pub const ILLEGAL_DATA_VALUE: ExceptionCode = ExceptionCode(3);
    /// 0x04.
    pub const SERVER_DEVICE_FAILURE: ExceptionCode = ExceptionCode(4);
    /// 0x05.
    pub const ACKNOWLEDGE: ExceptionCode = ExceptionCode(5);
    /// 0x06.
    pub const SERVER_DEVICE_BUSY: ExceptionCode = ExceptionCode(6);
    /// 0x08.
    pub const MEMORY_PARITY_ERROR: ExceptionCode = ExceptionCode(8);
    /// 0x0A.
    pub const GATEWAY_PATH_UNAVAILABLE: ExceptionCode = ExceptionCode(0x0a);
    /// 0x0B.
    pub const GATEWAY_TARGET_FAILED: ExceptionCode = ExceptionCode(0x0b);

    /// The snake_case name; `exception_N` for codes Spec §7 does not list.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            1 => "illegal_function",
            2 => "illegal_data_address",
            3 => "illegal_data_value",
            4 => "server_device_failure",
            5 => "acknowledge",
            6 => "server_device_busy",
            // Not in V1.1b3; older editions and many devices use it.
            7 => "negative_acknowledge",
            8 => "memory_parity_error",
            0x0a => "gateway_path_unavailable",
            0x0b => "gateway_target_device_failed_to_respond",
            n => return Cow::Owned(format!("exception_{n}")),
        })
    }
}

/// A diagnostics sub-function (function 8, Spec §6.8.1); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DiagnosticCode(pub u16);

impl DiagnosticCode {
    /// 0x00: echo.
    pub const RETURN_QUERY_DATA: DiagnosticCode = DiagnosticCode(0);
    /// 0x01: restarts the serial port, optionally clearing the event log.
    pub const RESTART_COMMUNICATIONS: DiagnosticCode = DiagnosticCode(1);
    /// 0x04: the device stops answering until restarted.
    pub const FORCE_LISTEN_ONLY: DiagnosticCode = DiagnosticCode(4);

    /// The snake_case name; `0xNNNN` for codes Spec §6.8.1 does not list.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0 => "return_query_data",
            1 => "restart_communications_option",
            2 => "return_diagnostic_register",
            3 => "change_ascii_input_delimiter",
            4 => "force_listen_only_mode",
            10 => "clear_counters_and_diagnostic_register",
            11 => "return_bus_message_count",
            12 => "return_bus_communication_error_count",
            13 => "return_bus_exception_error_count",
            14 => "return_server_message_count",
            15 => "return_server_no_response_count",
            16 => "return_server_nak_count",
            17 => "return_server_busy_count",
            18 => "return_bus_character_overrun_count",
            20 => "clear_overrun_counter_and_flag",
            n => return Cow::Owned(format!("{n:#06x}")),
        })
    }

    /// Restart and listen-only change whether the device communicates at all:
    /// they are control, not diagnostics; a changed delimiter is configuration.
    pub fn class(self) -> OperationClass {
        match self.0 {
            1 | 4 => OperationClass::Control,
            3 => OperationClass::Configuration,
            0 | 2 | 10..=18 | 20 => OperationClass::Diagnostic,
            _ => OperationClass::Unknown,
        }
    }
}

/// An MEI type (function 43, Spec §6.19-6.21); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeiType(pub u8);

impl MeiType {
    /// 0x0D: CANopen General Reference.
    pub const CANOPEN_GENERAL_REFERENCE: MeiType = MeiType(0x0d);
    /// 0x0E: Read Device Identification.
    pub const READ_DEVICE_IDENTIFICATION: MeiType = MeiType(0x0e);

    /// The snake_case name; `mei_0xNN` for others.
    pub fn name(self) -> Cow<'static, str> {
        match self.0 {
            0x0d => Cow::Borrowed("canopen_general_reference"),
            0x0e => Cow::Borrowed("read_device_identification"),
            n => Cow::Owned(format!("mei_{n:#04x}")),
        }
    }

    /// Device identification is discovery; a CANopen tunnel can read or write
    /// any object of the device behind it, so it is reported as unknown.
    pub fn class(self) -> OperationClass {
        match self.0 {
            0x0e => OperationClass::Discovery,
            _ => OperationClass::Unknown,
        }
    }
}

/// Valid-but-anomalous flags of one PDU (a small bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Anomalies(pub u8);

impl Anomalies {
    /// A quantity outside the range the specification allows for the function.
    pub const QUANTITY_OUT_OF_RANGE: Anomalies = Anomalies(1);
    /// A byte count that disagrees with the quantity or the bytes present.
    pub const BYTE_COUNT_MISMATCH: Anomalies = Anomalies(1 << 1);
    /// Bytes after the last field.
    pub const TRAILING_BYTES: Anomalies = Anomalies(1 << 2);
    /// Write Single Coil with a value other than 0x0000 or 0xFF00 (§6.5).
    pub const BAD_COIL_VALUE: Anomalies = Anomalies(1 << 3);
    /// A Read Device ID code outside 1..=4, or a More Follows other than 0x00/0xFF.
    pub const BAD_DEVICE_ID_FIELD: Anomalies = Anomalies(1 << 4);
    /// An exception code Spec §7 does not list.
    pub const UNKNOWN_EXCEPTION_CODE: Anomalies = Anomalies(1 << 5);
    /// A PDU longer than the 253 bytes Spec §4.1 allows.
    pub const OVERSIZED_PDU: Anomalies = Anomalies(1 << 6);
    /// Function code 0, which Spec §6 never assigns.
    pub const FUNCTION_ZERO: Anomalies = Anomalies(1 << 7);

    const NAMES: [(Anomalies, &'static str); 8] = [
        (Anomalies::QUANTITY_OUT_OF_RANGE, "quantity_out_of_range"),
        (Anomalies::BYTE_COUNT_MISMATCH, "byte_count_mismatch"),
        (Anomalies::TRAILING_BYTES, "trailing_bytes"),
        (Anomalies::BAD_COIL_VALUE, "bad_coil_value"),
        (Anomalies::BAD_DEVICE_ID_FIELD, "bad_device_id_field"),
        (Anomalies::UNKNOWN_EXCEPTION_CODE, "unknown_exception_code"),
        (Anomalies::OVERSIZED_PDU, "oversized_pdu"),
        (Anomalies::FUNCTION_ZERO, "function_zero"),
    ];

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every flag of `other` is set.
    pub fn contains(self, other: Anomalies) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Anomalies) {
        self.0 |= other.0;
    }

    /// Sets `other` when `cond` holds.
    fn flag_if(&mut self, cond: bool, other: Anomalies) {
        if cond {
            self.insert(other);
        }
    }

    /// The names of the flags set, comma-separated.
    pub fn names(self) -> String {
        let names: Vec<&str> = Self::NAMES.iter().filter(|(a, _)| self.contains(*a)).map(|(_, n)| *n).collect();
        names.join(",")
    }
}

/// Why a PDU cannot be read.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduError {
    /// No function code at all.
    Empty,
    /// Fewer bytes than the function's fixed fields or its byte count need.
    Truncated {
        /// The function code byte, exception bit included.
        function: u8,
        /// Bytes there were after the function code.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
}

impl PduError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            PduError::Empty => "empty_pdu",
            PduError::Truncated { .. } => "truncated_pdu",
        }
    }
}

impl fmt::Display for PduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PduError::Empty => write!(f, "empty Modbus PDU"),
            PduError::Truncated { function, len, need } => {
                write!(f, "function {function:#04x} has {len} bytes of fields, {need} needed")
            }
        }
    }
}

impl std::error::Error for PduError {}

/// Whether a PDU asks, answers, or refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduKind {
    /// Client to server.
    Request,
    /// A normal response.
    Response,
    /// An exception response (function code + 0x80, Spec §7).
    Exception(ExceptionCode),
}

/// The fixed fields of one PDU, borrowing its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// The function, exception bit cleared.
    pub function: FunctionCode,
    /// Request, response or exception.
    pub kind: PduKind,
    /// Start (or only) address; the write address for function 23.
    pub address: Option<u16>,
    /// Number of coils or registers; the write quantity for function 23; the
    /// event count (11) or FIFO count (24) in responses.
    pub quantity: Option<u16>,
    /// A single value: written by 5, 6; read exception status (7); the status
    /// word of 11 and 12 responses.
    pub value: Option<u16>,
    /// Diagnostics sub-function (8), MEI type (43) or UMAS code (90).
    pub sub_function: Option<u16>,
    /// Function 23's read address and quantity.
    pub read: Option<(u16, u16)>,
    /// The byte count field, where the function has one.
    pub byte_count: Option<u16>,
    /// Everything after the function code, unparsed.
    pub body: &'a [u8],
    /// Spec rules broken by readable fields.
    pub anomalies: Anomalies,
}

impl<'a> Pdu<'a> {
    fn new(function: FunctionCode, kind: PduKind, body: &'a [u8]) -> Self {
        Pdu {
            function,
            kind,
            address: None,
            quantity: None,
            value: None,
            sub_function: None,
            read: None,
            byte_count: None,
            body,
            anomalies: Anomalies::default(),
        }
    }

    /// The stable operation name counted for this PDU: the function's name,
    /// refined by its sub-function (diagnostics, MEI, UMAS), with `_exception`
    /// appended to exception responses. `umas` is the UMAS code of the paired
    /// request, for responses, which do not repeat it.
    pub fn operation(&self, umas: Option<u8>) -> (Cow<'static, str>, OperationClass) {
        let (name, class) = self.base_operation(umas);
        match self.kind {
            PduKind::Exception(_) => (Cow::Owned(format!("{name}_exception")), class),
            _ => (name, class),
        }
    }

    fn base_operation(&self, umas: Option<u8>) -> (Cow<'static, str>, OperationClass) {
        let sub = self.sub_function;
        match (self.function, sub) {
            (FunctionCode::DIAGNOSTICS, Some(s)) => {
                let d = DiagnosticCode(s);
                (Cow::Owned(format!("diagnostics_{}", d.name())), d.class())
            }
            (FunctionCode::ENCAPSULATED_INTERFACE, Some(m)) => {
                let m = MeiType(u8::try_from(m).unwrap_or(u8::MAX));
                (m.name(), m.class())
            }
            (FunctionCode::UMAS, _) => match umas.or(sub.and_then(|s| u8::try_from(s).ok())) {
                Some(code) => {
                    let c = umas::UmasCode(code);
                    (c.operation(), c.class())
                }
                None => (Cow::Borrowed("umas"), OperationClass::Unknown),
            },
            (f, _) => (f.name(), f.class()),
        }
    }
}

/// Reads a field, or reports the PDU truncated.
struct Fields<'a> {
    c: Cursor<'a>,
    function: u8,
    len: usize,
}

impl<'a> Fields<'a> {
    fn new(function: u8, body: &'a [u8]) -> Self {
        Fields { c: Cursor::new(body), function, len: body.len() }
    }
    fn short(&self, more: usize) -> PduError {
        let used = self.len.saturating_sub(self.c.remaining());
        PduError::Truncated { function: self.function, len: self.len, need: used.saturating_add(more) }
    }
    fn u8(&mut self) -> Result<u8, PduError> {
        self.c.u8().ok_or_else(|| self.short(1))
    }
    fn u16(&mut self) -> Result<u16, PduError> {
        self.c.be_u16().ok_or_else(|| self.short(2))
    }
    /// `n` bytes announced by a byte count.
    fn take(&mut self, n: usize) -> Result<&'a [u8], PduError> {
        self.c.take(n).ok_or_else(|| self.short(n))
    }
    fn remaining(&self) -> usize {
        self.c.remaining()
    }
}

/// Largest PDU of Spec §4.1.
pub const MAX_PDU: usize = 253;

/// Flags that depend only on the PDU's size and function code.
fn whole_pdu_flags(pdu: &[u8], code: u8) -> Anomalies {
    let mut a = Anomalies::default();
    a.flag_if(pdu.len() > MAX_PDU, Anomalies::OVERSIZED_PDU);
    a.flag_if(code & 0x7f == 0, Anomalies::FUNCTION_ZERO);
    a
}

/// Splits the function code from a PDU.
fn split(pdu: &[u8]) -> Result<(u8, &[u8]), PduError> {
    pdu.split_first().map(|(&f, b)| (f, b)).ok_or(PduError::Empty)
}

/// Reads a request PDU (client to server).
pub fn parse_request(pdu: &[u8]) -> Result<Pdu<'_>, PduError> {
    let (code, body) = split(pdu)?;
    let function = FunctionCode(code);
    let mut p = Pdu::new(function, PduKind::Request, body);
    p.anomalies = whole_pdu_flags(pdu, code);
    let mut f = Fields::new(code, body);
    match code {
        1..=4 => {
            let (address, quantity) = (f.u16()?, f.u16()?);
            // §6.1-6.4: 1..=2000 bits, 1..=125 registers.
            let max = if code <= 2 { 2000 } else { 125 };
            p.anomalies.flag_if(!(1..=max).contains(&quantity), Anomalies::QUANTITY_OUT_OF_RANGE);
            (p.address, p.quantity) = (Some(address), Some(quantity));
        }
        5 | 6 => {
            let (address, value) = (f.u16()?, f.u16()?);
            // §6.5: 0xFF00 requests ON, 0x0000 OFF; other values are illegal.
            p.anomalies.flag_if(code == 5 && value != 0 && value != 0xff00, Anomalies::BAD_COIL_VALUE);
            (p.address, p.value) = (Some(address), Some(value));
        }
        7 | 11 | 12 | 17 => {}
        8 => {
            p.sub_function = Some(f.u16()?);
            let _data = f.take(f.remaining())?;
        }
        15 | 16 => {
            let (address, quantity, byte_count) = (f.u16()?, f.u16()?, f.u8()?);
            // §6.11: 1..=0x7B0 coils, N = ceil(q / 8); §6.12: 1..=123 registers, N = 2q.
            let (max, expected) =
                if code == 15 { (0x7b0, quantity.div_ceil(8)) } else { (123, quantity.saturating_mul(2)) };
            p.anomalies.flag_if(!(1..=max).contains(&quantity), Anomalies::QUANTITY_OUT_OF_RANGE);
            p.anomalies.flag_if(u16::from(byte_count) != expected, Anomalies::BYTE_COUNT_MISMATCH);
            let _values = f.take(usize::from(byte_count))?;
            (p.address, p.quantity, p.byte_count) = (Some(address), Some(quantity), Some(u16::from(byte_count)));
        }
        20 | 21 => {
            // §6.14, §6.15: a byte count, then sub-requests of 7 bytes (plus data for 21).
            let byte_count = f.u8()?;
            let _records = f.take(usize::from(byte_count))?;
            p.anomalies.flag_if(code == 20 && !(7..=0xf5).contains(&byte_count), Anomalies::BYTE_COUNT_MISMATCH);
            p.byte_count = Some(u16::from(byte_count));
        }
        22 => {
            let (address, and_mask, or_mask) = (f.u16()?, f.u16()?, f.u16()?);
            let _ = (and_mask, or_mask);
            p.address = Some(address);
        }
        23 => {
            let (ra, rq, wa, wq, byte_count) = (f.u16()?, f.u16()?, f.u16()?, f.u16()?, f.u8()?);
            // §6.17: read 1..=125, write 1..=121 registers, N = 2 x write quantity.
            p.anomalies.flag_if(!(1..=125).contains(&rq) || !(1..=121).contains(&wq), Anomalies::QUANTITY_OUT_OF_RANGE);
            p.anomalies.flag_if(u16::from(byte_count) != wq.saturating_mul(2), Anomalies::BYTE_COUNT_MISMATCH);
            let _values = f.take(usize::from(byte_count))?;
            (p.read, p.address, p.quantity, p.byte_count) =
                (Some((ra, rq)), Some(wa), Some(wq), Some(u16::from(byte_count)));
        }
        24 => p.address = Some(f.u16()?),
        43 => {
            let mei = f.u8()?;
            p.sub_function = Some(u16::from(mei));
            if MeiType(mei) == MeiType::READ_DEVICE_IDENTIFICATION {
                let (read_code, object_id) = (f.u8()?, f.u8()?);
                p.anomalies.flag_if(!(1..=4).contains(&read_code), Anomalies::BAD_DEVICE_ID_FIELD);
                (p.value, p.address) = (Some(u16::from(read_code)), Some(u16::from(object_id)));
            } else {
                let _data = f.take(f.remaining())?;
            }
        }
        90 => {
            let (_session, umas_code) = (f.u8()?, f.u8()?);
            p.sub_function = Some(u16::from(umas_code));
            let _data = f.take(f.remaining())?;
        }
        // Unassigned and user-defined codes: the body is opaque.
        _ => {
            let _data = f.take(f.remaining())?;
        }
    }
    p.anomalies.flag_if(f.remaining() > 0, Anomalies::TRAILING_BYTES);
    Ok(p)
}

/// Reads a response PDU (server to client): a normal response, or an
/// exception response when the function code has its high bit set.
pub fn parse_response(pdu: &[u8]) -> Result<Pdu<'_>, PduError> {
    let (code, body) = split(pdu)?;
    let mut f = Fields::new(code, body);
    if code & 0x80 != 0 {
        // §7: function code + 0x80, then one exception code byte.
        let e = ExceptionCode(f.u8()?);
        let mut p = Pdu::new(FunctionCode(code & 0x7f), PduKind::Exception(e), body);
        p.anomalies = whole_pdu_flags(pdu, code);
        p.anomalies.flag_if(e.name().starts_with("exception_"), Anomalies::UNKNOWN_EXCEPTION_CODE);
        p.anomalies.flag_if(f.remaining() > 0, Anomalies::TRAILING_BYTES);
        return Ok(p);
    }
    let mut p = Pdu::new(FunctionCode(code), PduKind::Response, body);
    p.anomalies = whole_pdu_flags(pdu, code);
    match code {
        1..=4 | 12 | 17 | 20 | 23 => {
            // A byte count, then that many bytes (§6.1-6.4, 6.10, 6.13, 6.14, 6.17).
            let byte_count = f.u8()?;
            let data = f.take(usize::from(byte_count))?;
            p.byte_count = Some(u16::from(byte_count));
            p.anomalies.flag_if(matches!(code, 3 | 4 | 23) && byte_count % 2 != 0, Anomalies::BYTE_COUNT_MISMATCH);
            if code == 12 {
                // Status, event count, message count, then events.
                let mut d = Fields::new(code, data);
                let (status, events) = (d.u16()?, d.u16()?);
                (p.value, p.quantity) = (Some(status), Some(events));
            }
        }
        5 | 6 => {
            let (address, value) = (f.u16()?, f.u16()?);
            (p.address, p.value) = (Some(address), Some(value));
        }
        7 => p.value = Some(u16::from(f.u8()?)),
        8 => {
            p.sub_function = Some(f.u16()?);
            let _data = f.take(f.remaining())?;
        }
        11 => {
            let (status, events) = (f.u16()?, f.u16()?);
            (p.value, p.quantity) = (Some(status), Some(events));
        }
        15 | 16 => {
            let (address, quantity) = (f.u16()?, f.u16()?);
            (p.address, p.quantity) = (Some(address), Some(quantity));
        }
        21 => {
            // §6.15: the response echoes the request.
            let byte_count = f.u8()?;
            let _records = f.take(usize::from(byte_count))?;
            p.byte_count = Some(u16::from(byte_count));
        }
        22 => {
            let (address, and_mask, or_mask) = (f.u16()?, f.u16()?, f.u16()?);
            let _ = (and_mask, or_mask);
            p.address = Some(address);
        }
        24 => {
            // §6.18: a 16-bit byte count, the FIFO count (at most 31), the values.
            let (byte_count, fifo_count) = (f.u16()?, f.u16()?);
            let _values = f.take(usize::from(byte_count).saturating_sub(2))?;
            p.anomalies.flag_if(fifo_count > 31, Anomalies::QUANTITY_OUT_OF_RANGE);
            p.anomalies
                .flag_if(usize::from(byte_count) != 2 + 2 * usize::from(fifo_count), Anomalies::BYTE_COUNT_MISMATCH);
            (p.byte_count, p.quantity) = (Some(byte_count), Some(fifo_count));
        }
        43 => {
            let mei = f.u8()?;
            p.sub_function = Some(u16::from(mei));
            // The objects are read by `mei::parse_response`.
            let _data = f.take(f.remaining())?;
        }
        90 => {
            // Session byte, then 0xFE (OK) or 0xFD (error), then data.
            let (_session, status) = (f.u8()?, f.u8()?);
            let _ = status;
            let _data = f.take(f.remaining())?;
        }
        _ => {
            let _data = f.take(f.remaining())?;
        }
    }
    p.anomalies.flag_if(f.remaining() > 0, Anomalies::TRAILING_BYTES);
    Ok(p)
}
