//! The DNP3 application layer (IEEE 1815-2012 §4.2, §A): the fragment header
//! (application control, function code, internal indications), object
//! headers, and what each fragment does to the device.
//!
//! Owns reading a reassembled fragment into a borrowed [`Fragment`] and
//! walking its object headers with [`Objects`]. Object values are not decoded,
//! except group 0 device attributes ([`Attribute`]), which carry the
//! outstation's identity. To walk past fixed-size objects the walker needs
//! their size: [`object_size`] gives it for every fixed-size object of
//! IEEE 1815 Annex A, from the generated table in [`objects`](super::objects);
//! objects with a size prefix or in free format need no table. When a size is
//! unknown the walk stops there and says so ([`ObjectError::UnknownSize`]):
//! guessing would misread everything after it.
//!
//! Three outcomes stay apart: a fragment too short for its header is an
//! [`AppError`]; object headers that cannot be walked end the walk with an
//! [`ObjectError`] (truncated is malformed, an unknown size or qualifier is
//! anomalous); the rest is valid. Function codes, groups and variations the
//! tables do not list are reported by number, never rejected.

use super::objects;
use crate::cursor::Cursor;
use otposture_model::OperationClass;
use std::borrow::Cow;
use std::fmt;

/// An application function code (§4.2.2.5, Table 4-1); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FunctionCode(pub u8);

impl FunctionCode {
    /// 0: confirm.
    pub const CONFIRM: FunctionCode = FunctionCode(0);
    /// 1: read.
    pub const READ: FunctionCode = FunctionCode(1);
    /// 2: write.
    pub const WRITE: FunctionCode = FunctionCode(2);
    /// 3: select (first half of select-before-operate).
    pub const SELECT: FunctionCode = FunctionCode(3);
    /// 4: operate.
    pub const OPERATE: FunctionCode = FunctionCode(4);
    /// 5: direct operate.
    pub const DIRECT_OPERATE: FunctionCode = FunctionCode(5);
    /// 6: direct operate, no response.
    pub const DIRECT_OPERATE_NO_ACK: FunctionCode = FunctionCode(6);
    /// 7: immediate freeze.
    pub const IMMEDIATE_FREEZE: FunctionCode = FunctionCode(7);
    /// 13: cold restart.
    pub const COLD_RESTART: FunctionCode = FunctionCode(13);
    /// 14: warm restart.
    pub const WARM_RESTART: FunctionCode = FunctionCode(14);
    /// 18: stop application.
    pub const STOP_APPLICATION: FunctionCode = FunctionCode(18);
    /// 20: enable unsolicited responses.
    pub const ENABLE_UNSOLICITED: FunctionCode = FunctionCode(20);
    /// 23: delay measurement (time synchronisation).
    pub const DELAY_MEASURE: FunctionCode = FunctionCode(23);
    /// 24: record current time (LAN time synchronisation).
    pub const RECORD_CURRENT_TIME: FunctionCode = FunctionCode(24);
    /// 25: open file.
    pub const OPEN_FILE: FunctionCode = FunctionCode(25);
    /// 27: delete file.
    pub const DELETE_FILE: FunctionCode = FunctionCode(27);
    /// 32: secure authentication request.
    pub const AUTHENTICATE_REQUEST: FunctionCode = FunctionCode(32);
    /// 33: secure authentication request, no response.
    pub const AUTHENTICATE_REQUEST_NO_ACK: FunctionCode = FunctionCode(33);
    /// 129: solicited response.
    pub const RESPONSE: FunctionCode = FunctionCode(129);
    /// 130: unsolicited response.
    pub const UNSOLICITED_RESPONSE: FunctionCode = FunctionCode(130);
    /// 131: secure authentication response.
    pub const AUTHENTICATE_RESPONSE: FunctionCode = FunctionCode(131);

    /// True for the three functions an outstation sends (they carry IIN).
    pub fn is_response(self) -> bool {
        self.0 >= 129
    }

    /// The stable snake_case name; `function_N` for codes Table 4-1 leaves
    /// unassigned.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0 => "confirm",
            1 => "read",
            2 => "write",
            3 => "select",
            4 => "operate",
            5 => "direct_operate",
            6 => "direct_operate_no_ack",
            7 => "immediate_freeze",
            8 => "immediate_freeze_no_ack",
            9 => "freeze_clear",
            10 => "freeze_clear_no_ack",
            11 => "freeze_at_time",
            12 => "freeze_at_time_no_ack",
            13 => "cold_restart",
            14 => "warm_restart",
            15 => "initialize_data",
            16 => "initialize_application",
            17 => "start_application",
            18 => "stop_application",
            19 => "save_configuration",
            20 => "enable_unsolicited",
            21 => "disable_unsolicited",
            22 => "assign_class",
            23 => "delay_measure",
            24 => "record_current_time",
            25 => "open_file",
            26 => "close_file",
            27 => "delete_file",
            28 => "get_file_info",
            29 => "authenticate_file",
            30 => "abort_file",
            31 => "activate_config",
            32 => "authenticate_request",
            // IEEE 1815-2012 names 0x21 AUTH_REQ_NO_ACK; some older tables call it
            // "authenticate error".
            33 => "authenticate_request_no_ack",
            129 => "response",
            130 => "unsolicited_response",
            131 => "authenticate_response",
            n => return Cow::Owned(format!("function_{n}")),
        })
    }

    /// What the function does to the device, before looking at its objects
    /// (see [`classify`] for the refinements by object group).
    ///
    /// - select/operate/direct operate command outputs (CROB, analog output):
    ///   writes of process outputs, [`OperationClass::Write`], like Modbus
    ///   coil and register writes;
    /// - freeze and freeze-and-clear change counter values: `Write`;
    /// - restarts, initialize data/application, start/stop application change
    ///   run state: `Control`;
    /// - save/activate configuration, (dis)enable unsolicited, assign class,
    ///   delay measure, record current time: `Configuration`;
    /// - open/close/abort/authenticate file move files (configuration, logic)
    ///   to or from the device: `Program`; delete file: `Configuration`; get
    ///   file info only reads: `Read`;
    /// - secure authentication (32, 33, 131): `Authentication`;
    /// - confirm: `Session`; responses take their request's class.
    pub fn class(self) -> OperationClass {
        match self.0 {
            0 => OperationClass::Session,
            1 | 28 | 129 | 130 => OperationClass::Read,
            2..=12 => OperationClass::Write,
            13..=18 => OperationClass::Control,
            19..=24 | 27 | 31 => OperationClass::Configuration,
            25 | 26 | 29 | 30 => OperationClass::Program,
            32 | 33 | 131 => OperationClass::Authentication,
            _ => OperationClass::Unknown,
        }
    }

    /// True when the request's object headers carry no object values (§4.4):
    /// read, freezes without time, unsolicited control and assign class.
    pub fn headers_only(self) -> bool {
        matches!(self.0, 1 | 7..=10 | 20..=22)
    }
}

/// The application control octet (§4.2.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppControl(pub u8);

impl AppControl {
    /// FIR: first fragment of a message.
    pub fn fir(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// FIN: last fragment of a message.
    pub fn fin(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// CON: the receiver must confirm.
    pub fn con(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// UNS: an unsolicited response or its confirm.
    pub fn uns(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// SEQ, 0..=15.
    pub fn seq(self) -> u8 {
        self.0 & 0x0f
    }
}

/// The internal indications of a response (§4.2.2.7), first octet in the low
/// byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iin(pub u16);

impl Iin {
    /// IIN1.7: the outstation restarted.
    pub const DEVICE_RESTART: Iin = Iin(1 << 7);
    /// IIN1.4: the outstation asks for time synchronisation.
    pub const NEED_TIME: Iin = Iin(1 << 4);
    /// IIN2.0: function code not supported.
    pub const NO_FUNC_CODE_SUPPORT: Iin = Iin(1 << 8);
    /// IIN2 bits that report the request failed: unsupported function,
    /// unknown object, parameter error, already executing, corrupt
    /// configuration.
    pub const ERRORS: Iin = Iin(0b0011_0111 << 8);

    const NAMES: [&'static str; 16] = [
        "broadcast",
        "class_1_events",
        "class_2_events",
        "class_3_events",
        "need_time",
        "local_control",
        "device_trouble",
        "device_restart",
        "no_func_code_support",
        "object_unknown",
        "parameter_error",
        "event_buffer_overflow",
        "already_executing",
        "config_corrupt",
        "reserved_2_6",
        "reserved_2_7",
    ];

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Iin) -> bool {
        self.0 & other.0 == other.0
    }

    /// The set bits' names, comma-separated (empty when none).
    pub fn names(self) -> String {
        let set = Iin::NAMES.iter().enumerate().filter(|(i, _)| self.0 & (1 << i) != 0);
        set.map(|(_, n)| *n).collect::<Vec<_>>().join(",")
    }
}

/// Why a fragment cannot be read at all.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppError {
    /// Fewer octets than the header needs (carries those present and needed).
    Truncated(usize, usize),
}

impl AppError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            AppError::Truncated(..) => "truncated_fragment",
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AppError::Truncated(n, need) => write!(f, "DNP3 fragment of {n} octets, header needs {need}"),
        }
    }
}

impl std::error::Error for AppError {}

/// One application fragment, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Application control.
    pub control: AppControl,
    /// Function code.
    pub function: FunctionCode,
    /// Internal indications, on responses.
    pub iin: Option<Iin>,
    /// The object headers and values that follow.
    pub objects: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Walks the object headers.
    pub fn objects(&self) -> Objects<'a> {
        Objects { cursor: Cursor::new(self.objects), headers_only: self.function.headers_only(), done: false }
    }
}

/// Reads the fragment header: control and function, and IIN on responses
/// (§4.2.2).
pub fn parse_fragment(data: &[u8]) -> Result<Fragment<'_>, AppError> {
    let mut c = Cursor::new(data);
    let (Some(control), Some(function)) = (c.u8(), c.u8()) else {
        return Err(AppError::Truncated(data.len(), 2));
    };
    let function = FunctionCode(function);
    let iin = if function.is_response() {
        let Some([a, b]) = c.array::<2>() else { return Err(AppError::Truncated(data.len(), 4)) };
        Some(Iin(u16::from_le_bytes([a, b])))
    } else {
        None
    };
    Ok(Fragment { control: AppControl(control), function, iin, objects: c.rest() })
}

/// An object header's qualifier (§4.2.2.8.2); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Qualifier(pub u8);

impl Qualifier {
    /// 0x00: 1-octet start and stop indices.
    pub const START_STOP_8: Qualifier = Qualifier(0x00);
    /// 0x01: 2-octet start and stop indices.
    pub const START_STOP_16: Qualifier = Qualifier(0x01);
    /// 0x06: all objects, no range.
    pub const ALL: Qualifier = Qualifier(0x06);
    /// 0x07: 1-octet count.
    pub const COUNT_8: Qualifier = Qualifier(0x07);
    /// 0x08: 2-octet count.
    pub const COUNT_16: Qualifier = Qualifier(0x08);
    /// 0x17: 1-octet count of objects with 1-octet index prefixes.
    pub const COUNT_8_INDEX_8: Qualifier = Qualifier(0x17);
    /// 0x28: 2-octet count of objects with 2-octet index prefixes.
    pub const COUNT_16_INDEX_16: Qualifier = Qualifier(0x28);
    /// 0x5B: free format, 1-octet count of objects with 2-octet size prefixes.
    pub const FREE_FORMAT: Qualifier = Qualifier(0x5b);

    /// The object prefix code, bits 6..4.
    pub fn prefix(self) -> u8 {
        (self.0 >> 4) & 0x07
    }
    /// The range specifier code, bits 3..0.
    pub fn range(self) -> u8 {
        self.0 & 0x0f
    }
}

/// How big one object of a group and variation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectSize {
    /// A fixed number of octets.
    Octets(usize),
    /// Packed bits: this many bits per object, the whole padded to an octet.
    Bits(usize),
    /// Group 0 device attribute: data type, length, value.
    Attribute,
}

/// The size of one object (IEEE 1815-2012 Annex A); `None` when it is not
/// fixed or not known.
///
/// Three rules come first: every group 0 variation is a device attribute;
/// class data objects (group 60) carry no values; octet strings and virtual
/// terminal blocks (groups 110 to 113) are as long as their variation. The
/// rest comes from the generated table in [`objects`](super::objects), packed
/// binaries as [`ObjectSize::Bits`].
pub fn object_size(group: u8, variation: u8) -> Option<ObjectSize> {
    match (group, variation) {
        (0, _) => Some(ObjectSize::Attribute),
        (60, 1..=4) => Some(ObjectSize::Octets(0)),
        (110..=113, v) => Some(ObjectSize::Octets(usize::from(v))),
        _ => objects::fixed_size(group, variation),
    }
}

/// One object header and the octets of its objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectHeader<'a> {
    /// Object group.
    pub group: u8,
    /// Object variation.
    pub variation: u8,
    /// Qualifier.
    pub qualifier: Qualifier,
    /// Start index, for start-stop ranges.
    pub start: Option<u32>,
    /// Number of objects (0 for "all").
    pub count: u32,
    /// Prefixes and values of the objects (empty in headers-only requests
    /// without index prefixes).
    pub data: &'a [u8],
}

impl ObjectHeader<'_> {
    /// `g12v1 q0x28 count 1`.
    pub fn summary(&self) -> String {
        format!("g{}v{} q{:#04x} count {}", self.group, self.variation, self.qualifier.0, self.count)
    }

    /// The group 0 device attributes of this header, in order.
    pub fn attributes(&self) -> Attributes<'_> {
        let n = if self.group == 0 && self.qualifier.prefix() == 0 { self.count } else { 0 };
        Attributes { cursor: Cursor::new(self.data), variation: self.variation, left: n }
    }
}

/// Why the walk over object headers stopped early.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectError {
    /// The fragment ends inside an object header or its objects (malformed).
    Truncated,
    /// A range whose stop is below its start (malformed; carries both).
    BadRange(u32, u32),
    /// A qualifier this walker cannot size (anomalous; carries it).
    UnknownQualifier(u8),
    /// An object whose size is not known (anomalous; carries group and
    /// variation). The walk stops rather than guess.
    UnknownSize(u8, u8),
}

impl ObjectError {
    /// The short reason counted with the fragment.
    pub fn what(self) -> &'static str {
        match self {
            ObjectError::Truncated => "truncated_objects",
            ObjectError::BadRange(..) => "bad_range",
            ObjectError::UnknownQualifier(_) => "unknown_qualifier",
            ObjectError::UnknownSize(..) => "unknown_object_size",
        }
    }

    /// True for errors that mean the bytes are wrong; false for those that
    /// only mean this walker cannot go further.
    pub fn is_malformed(self) -> bool {
        matches!(self, ObjectError::Truncated | ObjectError::BadRange(..))
    }
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ObjectError::Truncated => write!(f, "DNP3 objects run past the fragment"),
            ObjectError::BadRange(a, b) => write!(f, "DNP3 range start {a} above stop {b}"),
            ObjectError::UnknownQualifier(q) => write!(f, "DNP3 qualifier {q:#04x} not handled"),
            ObjectError::UnknownSize(g, v) => write!(f, "DNP3 object g{g}v{v} of unknown size"),
        }
    }
}

impl std::error::Error for ObjectError {}

/// Walks the object headers of a fragment; stops after the first error.
#[derive(Clone, Debug)]
pub struct Objects<'a> {
    cursor: Cursor<'a>,
    headers_only: bool,
    done: bool,
}

impl<'a> Iterator for Objects<'a> {
    type Item = Result<ObjectHeader<'a>, ObjectError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.cursor.remaining() == 0 {
            return None;
        }
        let r = self.header();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

impl<'a> Objects<'a> {
    fn header(&mut self) -> Result<ObjectHeader<'a>, ObjectError> {
        let c = &mut self.cursor;
        let (Some(group), Some(variation), Some(q)) = (c.u8(), c.u8(), c.u8()) else {
            return Err(ObjectError::Truncated);
        };
        let qualifier = Qualifier(q);
        let le = |c: &mut Cursor<'a>, n: usize| -> Result<u32, ObjectError> {
            let b = c.take(n).ok_or(ObjectError::Truncated)?;
            Ok(b.iter().rev().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)))
        };
        // §4.2.2.8.2.2, Table 4-5: range specifier codes.
        let (start, count) = match qualifier.range() {
            r @ 0..=5 => {
                let width = 1 << (r % 3);
                let (a, b) = (le(c, width)?, le(c, width)?);
                if b < a {
                    return Err(ObjectError::BadRange(a, b));
                }
                (Some(a), (b - a).saturating_add(1))
            }
            6 => (None, 0),
            7 => (None, le(c, 1)?),
            8 => (None, le(c, 2)?),
            9 => (None, le(c, 4)?),
            0x0b => (None, le(c, 1)?),
            _ => return Err(ObjectError::UnknownQualifier(q)),
        };
        let before = c.rest();
        let n = usize::try_from(count).map_err(|_| ObjectError::Truncated)?;
        // Table 4-4: object prefix codes. 1..=3 index, 4..=6 size.
        let prefix = match qualifier.prefix() {
            0 => 0,
            p @ 1..=3 => 1 << (p - 1),
            p @ 4..=6 => 1 << (p - 4),
            _ => return Err(ObjectError::UnknownQualifier(q)),
        };
        let sized = qualifier.prefix() >= 4;
        if qualifier.range() == 0x0b && !sized {
            return Err(ObjectError::UnknownQualifier(q));
        }
        if self.headers_only && !sized {
            // Requests that only name points: index prefixes, no values.
            let len = n.checked_mul(prefix).ok_or(ObjectError::Truncated)?;
            let data = c.take(len).ok_or(ObjectError::Truncated)?;
            return Ok(ObjectHeader { group, variation, qualifier, start, count, data });
        }
        if sized {
            // Each object carries its own size: walk them without a table.
            for _ in 0..n {
                let size = le(c, prefix)?;
                c.take(usize::try_from(size).map_err(|_| ObjectError::Truncated)?).ok_or(ObjectError::Truncated)?;
            }
        } else {
            match object_size(group, variation) {
                Some(ObjectSize::Octets(size)) => {
                    let len = n.checked_mul(size + prefix).ok_or(ObjectError::Truncated)?;
                    c.take(len).ok_or(ObjectError::Truncated)?;
                }
                Some(ObjectSize::Bits(bits)) if prefix == 0 => {
                    let len = n.checked_mul(bits).ok_or(ObjectError::Truncated)?.div_ceil(8);
                    c.take(len).ok_or(ObjectError::Truncated)?;
                }
                Some(ObjectSize::Attribute) => {
                    for _ in 0..n {
                        c.take(prefix).ok_or(ObjectError::Truncated)?;
                        let (_, len) = (c.u8().ok_or(ObjectError::Truncated)?, c.u8().ok_or(ObjectError::Truncated)?);
                        c.take(usize::from(len)).ok_or(ObjectError::Truncated)?;
                    }
                }
                // Packed bits with index prefixes, or an unknown object.
                Some(ObjectSize::Bits(_)) | None if n == 0 => {}
                Some(ObjectSize::Bits(_)) | None => return Err(ObjectError::UnknownSize(group, variation)),
            }
        }
        let used = before.len() - c.remaining();
        let data = before.get(..used).unwrap_or_default();
        Ok(ObjectHeader { group, variation, qualifier, start, count, data })
    }
}

/// One group 0 device attribute (§A.1): its variation names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The variation: which attribute.
    pub variation: u8,
    /// Data type code: 1 visible string, 2 unsigned integer, 3 signed
    /// integer, 4 float, 5 octet string, 6 bit string, 254 attribute list.
    pub data_type: u8,
    /// The value as sent.
    pub value: &'a [u8],
}

impl Attribute<'_> {
    /// The identity attribute name of a variation; `attribute_N` for others.
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.variation {
            242 => "software_version",
            243 => "hardware_version",
            245 => "location",
            246 => "device_id",
            247 => "device_name",
            248 => "serial",
            249 => "dnp_subset",
            250 => "model",
            252 => "manufacturer",
            n => return Cow::Owned(format!("attribute_{n}")),
        })
    }

    /// The value as text: strings as lossy UTF-8 with NULs trimmed, unsigned
    /// integers (little-endian, up to 8 octets) in decimal, the rest in hex.
    pub fn text(&self) -> String {
        match self.data_type {
            1 => String::from_utf8_lossy(self.value).trim_end_matches('\0').trim().to_string(),
            2 if self.value.len() <= 8 => {
                self.value.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)).to_string()
            }
            _ => self.value.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// The attributes of one group 0 header.
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    cursor: Cursor<'a>,
    variation: u8,
    left: u32,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (data_type, len) = (self.cursor.u8()?, self.cursor.u8()?);
        let value = self.cursor.take(usize::from(len))?;
        Some(Attribute { variation: self.variation, data_type, value })
    }
}

/// What a fragment does to the device: the function's class, refined by its
/// objects.
///
/// - a read of group 0 only asks for the device's identity: `Discovery`;
/// - a read or write of file objects (group 70) moves files: `Program`;
/// - a write of time (group 50), of device attributes (group 0) or of IIN
///   (group 80, clearing device restart) is `Configuration`;
/// - any other write is `Write`.
pub fn classify(function: FunctionCode, groups: &[u8]) -> OperationClass {
    let any = |g: u8| groups.contains(&g);
    match function {
        FunctionCode::READ if !groups.is_empty() && groups.iter().all(|&g| g == 0) => OperationClass::Discovery,
        FunctionCode::READ | FunctionCode::WRITE if any(70) => OperationClass::Program,
        FunctionCode::WRITE if !groups.is_empty() && groups.iter().all(|g| matches!(g, 0 | 50 | 80)) => {
            OperationClass::Configuration
        }
        f => f.class(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn headers(fragment: &[u8]) -> Vec<Result<ObjectHeader<'_>, ObjectError>> {
        parse_fragment(fragment).unwrap().objects().collect()
    }

    /// The hand-typed table [`object_size`] had before the generated one,
    /// kept as the expected values: every size it knew must be unchanged.
    fn old_object_size(group: u8, variation: u8) -> Option<ObjectSize> {
        use ObjectSize::{Attribute, Bits, Octets};
        Some(match (group, variation) {
            (0, _) => Attribute,
            // Binary input, double-bit input, binary output: packed or with flags.
            (1 | 10, 1) => Bits(1),
            (3, 1) => Bits(2),
            (1 | 3 | 10, 2) => Octets(1),
            // Their events: flags, flags + 48-bit time, flags + 16-bit relative time.
            (2 | 4 | 11 | 13, 1) => Octets(1),
            (2 | 4 | 11 | 13, 2) => Octets(7),
            (2 | 4, 3) => Octets(3),
            // CROB and pattern control block; pattern mask.
            (12, 1 | 2) => Octets(11),
            (12, 3) => Bits(1),
            // Counters and frozen counters (with flag, 32/16 bit, with time).
            (20..=23, 1 | 3) => Octets(5),
            (20..=23, 2 | 4) => Octets(3),
            (21..=23, 5 | 7) => Octets(11),
            (21..=23, 6 | 8) => Octets(9),
            (20, 5 | 7) | (21, 9 | 11) => Octets(4),
            (20, 6 | 8) | (21, 10 | 12) => Octets(2),
            // Analog input, frozen analog input, their events.
            (30, 1) => Octets(5),
            (30, 2) => Octets(3),
            (30, 3) => Octets(4),
            (30, 4) => Octets(2),
            (30, 5) => Octets(5),
            (30, 6) => Octets(9),
            (31, 1 | 7) => Octets(5),
            (31, 2) => Octets(3),
            (31, 3) => Octets(11),
            (31, 4) => Octets(9),
            (31, 5) => Octets(4),
            (31, 6) => Octets(2),
            (31, 8) => Octets(9),
            (32 | 33 | 42 | 43, 1 | 5) => Octets(5),
            (32 | 33 | 42 | 43, 2) => Octets(3),
            (32 | 33 | 42 | 43, 3 | 7) => Octets(11),
            (32 | 33 | 42 | 43, 4) => Octets(9),
            (32 | 33 | 42 | 43, 6) => Octets(9),
            (32 | 33 | 42 | 43, 8) => Octets(15),
            // Analog input deadband.
            (34, 1) => Octets(2),
            (34, 2 | 3) => Octets(4),
            // Analog output status and analog output block: value + status/flags.
            (40 | 41, 1 | 3) => Octets(5),
            (40 | 41, 2) => Octets(3),
            (40 | 41, 4) => Octets(9),
            // Time and date, CTO, time delay.
            (50, 1 | 3) => Octets(6),
            (50, 2) => Octets(10),
            (50, 4) => Octets(11),
            (51, 1 | 2) => Octets(6),
            (52, 1 | 2) => Octets(2),
            // Class data: no values.
            (60, 1..=4) => Octets(0),
            // Internal indications.
            (80, 1) => Bits(1),
            // Secure authentication: aggressive mode request (sequence, user),
            // session key status request (user).
            (120, 3) => Octets(6),
            (120, 4) => Octets(2),
            // Octet strings and virtual terminal: the variation is the length.
            (110..=113, v) => Octets(usize::from(v)),
            _ => return None,
        })
    }

    #[test]
    fn generated_sizes_agree_with_the_old_hand_typed_table() {
        let mut known = 0;
        for group in 0..=u8::MAX {
            for variation in 0..=u8::MAX {
                if let Some(old) = old_object_size(group, variation) {
                    known += 1;
                    assert_eq!(object_size(group, variation), Some(old), "g{group}v{variation}");
                }
            }
        }
        // Group 0's 256 attributes, groups 110-113's 4 x 256 lengths, 127 others.
        assert_eq!(known, 256 + 4 * 256 + 127);
    }

    #[test]
    fn generated_table_is_sorted_named_and_complete() {
        let t = objects::OBJECTS;
        assert!(t.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert!(t.iter().all(|&(_, _, _, name)| !name.is_empty()));
        assert!(t.len() >= 248, "{} rows", t.len());
        let fixed = t.iter().filter(|r| matches!(r.2, Some(ObjectSize::Octets(_) | ObjectSize::Bits(_)))).count();
        assert!(fixed >= 129, "{fixed} of fixed size");
        for &(g, v, size, name) in t {
            assert_eq!(objects::name(g, v), Some(name));
            assert_eq!(objects::fixed_size(g, v), size);
        }
    }

    #[test]
    fn sizes_and_names_beyond_the_common_groups() {
        use ObjectSize::{Bits, Octets};
        assert_eq!(object_size(31, 3), Some(Octets(11))); // frozen analog, flag + time of freeze
        assert_eq!(object_size(81, 1), Some(Octets(3))); // storage object
        assert_eq!(object_size(102, 1), Some(Octets(1))); // unsigned 8-bit integer
        assert_eq!(object_size(121, 1), Some(Octets(7))); // security statistic
        assert_eq!(object_size(122, 2), Some(Octets(13))); // ... event with time
        assert_eq!(object_size(80, 1), Some(Bits(1))); // IIN, packed
        assert_eq!(object_size(120, 1), None); // authentication challenge: size-prefixed
        assert_eq!(object_size(1, 0), None); // any variation: no values
        assert_eq!(object_size(111, 9), Some(Octets(9))); // octet string event, 9 octets
        assert_eq!(objects::name(30, 1), Some("Analog Input - 32-bit With Flag"));
        assert_eq!(objects::name(0, 252), Some("Device Attributes - Device Manufacturers Name"));
        assert_eq!(objects::name(90, 2), None);
        assert_eq!(objects::fixed_size(255, 255), None);
    }

    #[test]
    fn reads_a_class_read_request() {
        let b = [
            0xc3, // application control: FIR, FIN, seq 3
            0x01, // function: read
            0x3c, 0x02, 0x06, // g60v2 (class 1), qualifier 0x06: all
            0x3c, 0x03, 0x06, // g60v3 (class 2)
            0x3c, 0x04, 0x06, // g60v4 (class 3)
            0x3c, 0x01, 0x06, // g60v1 (class 0)
        ];
        let f = parse_fragment(&b).unwrap();
        assert_eq!(f.function, FunctionCode::READ);
        assert!(f.control.fir() && f.control.fin() && !f.control.con());
        assert_eq!(f.control.seq(), 3);
        assert_eq!(f.iin, None);
        let h: Vec<_> = f.objects().map(|h| h.unwrap().summary()).collect();
        assert_eq!(h, ["g60v2 q0x06 count 0", "g60v3 q0x06 count 0", "g60v4 q0x06 count 0", "g60v1 q0x06 count 0"]);
    }

    #[test]
    fn reads_the_iin_of_a_response_and_walks_its_objects() {
        let b = [
            0xe3, // FIR, FIN, CON, seq 3
            0x81, // response
            0x90, 0x04, // IIN1: device restart, need time; IIN2: parameter error
            0x01, 0x02, 0x00, 0x00, 0x02, // g1v2 q0x00 start 0 stop 2
            0x01, 0x01, 0x81, // three flag octets
            0x1e, 0x04, 0x01, 0x05, 0x00, 0x05, 0x00, // g30v4 q0x01 start 5 stop 5
            0x2a, 0x00, // one 16-bit analog value
            0x01, 0x01, 0x00, 0x00, 0x09, // g1v1 q0x00 0..9: ten packed bits
            0xff, 0x03, // two octets
        ];
        let f = parse_fragment(&b).unwrap();
        let iin = f.iin.unwrap();
        assert!(iin.contains(Iin::DEVICE_RESTART) && iin.contains(Iin::NEED_TIME));
        assert_eq!(iin.names(), "need_time,device_restart,parameter_error");
        assert_ne!(iin.0 & Iin::ERRORS.0, 0);
        let h: Vec<_> = headers(&b).into_iter().map(|h| h.unwrap()).collect();
        assert_eq!(h.len(), 3);
        assert_eq!((h[0].count, h[0].data.len()), (3, 3));
        assert_eq!((h[1].start, h[1].count), (Some(5), 1));
        assert_eq!(h[2].data, &[0xff, 0x03]);
    }

    #[test]
    fn walks_a_crob_with_index_prefixes() {
        let b = [
            0xc1, // FIR, FIN, seq 1
            0x03, // select
            0x0c, 0x01, 0x28, // g12v1, qualifier 0x28: 2-octet count, 2-octet index
            0x01, 0x00, // count 1
            0x07, 0x00, // index 7
            0x03, // control code: latch on... (pulse on = 1, latch on = 3)
            0x01, // count
            0x64, 0x00, 0x00, 0x00, // on time 100 ms
            0x00, 0x00, 0x00, 0x00, // off time
            0x00, // status
        ];
        let h = headers(&b);
        assert_eq!(h.len(), 1);
        let h = h[0].unwrap();
        assert_eq!(h.summary(), "g12v1 q0x28 count 1");
        assert_eq!(h.data.len(), 13);
    }

    #[test]
    fn walks_free_format_objects_by_their_size_prefix() {
        let b = [
            0xc0, 0x20, // FIR FIN seq 0, authenticate request
            0x78, 0x01, 0x5b, // g120v1 qualifier 0x5B
            0x01, // count 1
            0x03, 0x00, // size 3
            0xaa, 0xbb, 0xcc, // object
        ];
        let h = headers(&b);
        assert_eq!(h[0].unwrap().summary(), "g120v1 q0x5b count 1");
    }

    #[test]
    fn stops_at_an_object_of_unknown_size_rather_than_guess() {
        let b = [
            0xc0, 0x02, // write
            0x5a, 0x01, 0x07, 0x01, // g90v1 q0x07 count 1: no size known
            0x01, 0x02, 0x03, 0x04,
        ];
        assert_eq!(headers(&b), vec![Err(ObjectError::UnknownSize(90, 1))]);
        assert!(!ObjectError::UnknownSize(90, 1).is_malformed());
    }

    #[test]
    fn flags_objects_that_run_past_the_fragment_and_bad_ranges() {
        let b = [0xc0, 0x81, 0x00, 0x00, 0x1e, 0x01, 0x00, 0x00, 0x03, 0x01, 0x00];
        assert_eq!(headers(&b), vec![Err(ObjectError::Truncated)]);
        let b = [0xc0, 0x81, 0x00, 0x00, 0x01, 0x02, 0x00, 0x05, 0x03];
        assert_eq!(headers(&b), vec![Err(ObjectError::BadRange(5, 3))]);
        assert_eq!(parse_fragment(&[0xc0, 0x81, 0x00]), Err(AppError::Truncated(3, 4)));
        assert_eq!(parse_fragment(&[0xc0]), Err(AppError::Truncated(1, 2)));
    }

    #[test]
    fn reads_device_attributes() {
        let b = [
            0xc0, 0x81, 0x00, 0x00, // response, no IIN
            0x00, 0xfc, 0x00, 0x00, 0x00, // g0v252 (manufacturer) q0x00 0..0
            0x01, 0x04, b'A', b'c', b'm', b'e', // visible string, 4 octets
            0x00, 0xf0, 0x00, 0x00, 0x00, // g0v240 (max tx fragment) 0..0
            0x02, 0x02, 0x00, 0x08, // unsigned, 2 octets: 2048
        ];
        let h: Vec<_> = headers(&b).into_iter().map(|h| h.unwrap()).collect();
        let a: Vec<_> = h.iter().flat_map(|h| h.attributes()).map(|a| (a.name(), a.text())).collect();
        assert_eq!(a, [("manufacturer".into(), "Acme".to_string()), ("attribute_240".into(), "2048".to_string())]);
    }

    #[test]
    fn classifies_by_function_and_objects() {
        use OperationClass::*;
        assert_eq!(classify(FunctionCode::READ, &[60]), Read);
        assert_eq!(classify(FunctionCode::READ, &[0]), Discovery);
        assert_eq!(classify(FunctionCode::WRITE, &[50]), Configuration);
        assert_eq!(classify(FunctionCode::WRITE, &[80]), Configuration);
        assert_eq!(classify(FunctionCode::WRITE, &[70]), Program);
        assert_eq!(classify(FunctionCode::WRITE, &[10]), Write);
        assert_eq!(classify(FunctionCode::SELECT, &[12]), Write);
        assert_eq!(classify(FunctionCode::COLD_RESTART, &[]), Control);
        assert_eq!(classify(FunctionCode::STOP_APPLICATION, &[]), Control);
        assert_eq!(classify(FunctionCode::ENABLE_UNSOLICITED, &[60]), Configuration);
        assert_eq!(classify(FunctionCode::RECORD_CURRENT_TIME, &[]), Configuration);
        assert_eq!(classify(FunctionCode::OPEN_FILE, &[70]), Program);
        assert_eq!(classify(FunctionCode::DELETE_FILE, &[70]), Configuration);
        assert_eq!(classify(FunctionCode::AUTHENTICATE_REQUEST, &[120]), Authentication);
        assert_eq!(classify(FunctionCode(99), &[]), Unknown);
        assert_eq!(FunctionCode(99).name(), "function_99");
    }
}
