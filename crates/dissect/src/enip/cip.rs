//! CIP messages as the message router carries them (CIP Volume 1, Edition
//! 3.x, §2-4): requests (service, request path, data) and responses (service
//! with bit 7 set, general status, additional status words, data); padded
//! EPATHs (Appendix C-1: port, logical, network, symbolic and data
//! segments); the service codes (Appendix A, and the class-specific codes of
//! the Connection Manager, File, PCCC, Logix symbol and Rockwell
//! Non-Volatile Storage objects); and the
//! operation class of every service.
//!
//! Multiple_Service_Packet bodies are walked lazily by [`multiple`]; the
//! Connection Manager's bodies are read by [`super::cm`]. Attribute values
//! are not read here (the Identity object's are, by [`super::identity`]).
//!
//! Service and class codes are open: unassigned and vendor codes parse and are
//! reported by number.

use crate::cursor::Cursor;
use otposture_model::OperationClass;
use std::borrow::Cow;
use std::fmt;

/// Identity object class.
pub const CLASS_IDENTITY: u32 = 0x01;
/// Message Router object class.
pub const CLASS_MESSAGE_ROUTER: u32 = 0x02;
/// Assembly object class: its data attribute is process I/O.
pub const CLASS_ASSEMBLY: u32 = 0x04;
/// Connection Manager object class.
pub const CLASS_CONNECTION_MANAGER: u32 = 0x06;
/// File object class (EDS files, programs).
pub const CLASS_FILE: u32 = 0x37;
/// PCCC object class (Rockwell; legacy PLC-5/SLC commands).
pub const CLASS_PCCC: u32 = 0x67;
/// Logix Symbol object class (instance-addressed tags).
pub const CLASS_SYMBOL: u32 = 0x6b;
/// Logix Template object class (structure definitions).
pub const CLASS_TEMPLATE: u32 = 0x6c;
/// Rockwell Non-Volatile Storage object class: the flash memory a module's
/// firmware is written to, by ControlFLASH among others.
pub const CLASS_NVS: u32 = 0xa1;

/// A service code without the response bit; open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Service(pub u8);

impl Service {
    /// 0x01 Get_Attributes_All.
    pub const GET_ATTRIBUTES_ALL: Service = Service(0x01);
    /// 0x03 Get_Attribute_List.
    pub const GET_ATTRIBUTE_LIST: Service = Service(0x03);
    /// 0x05 Reset.
    pub const RESET: Service = Service(0x05);
    /// 0x0A Multiple_Service_Packet.
    pub const MULTIPLE_SERVICE_PACKET: Service = Service(0x0a);
    /// 0x0E Get_Attribute_Single.
    pub const GET_ATTRIBUTE_SINGLE: Service = Service(0x0e);
    /// 0x4B Execute_PCCC (on the PCCC class).
    pub const EXECUTE_PCCC: Service = Service(0x4b);
    /// 0x4E Forward_Close (on the Connection Manager).
    pub const FORWARD_CLOSE: Service = Service(0x4e);
    /// 0x52 Unconnected_Send (on the Connection Manager).
    pub const UNCONNECTED_SEND: Service = Service(0x52);
    /// 0x54 Forward_Open (on the Connection Manager).
    pub const FORWARD_OPEN: Service = Service(0x54);
    /// 0x5B Large_Forward_Open (on the Connection Manager).
    pub const LARGE_FORWARD_OPEN: Service = Service(0x5b);
}

/// Most classes remembered from one path (a path rarely names more than two).
pub const MAX_CLASSES: usize = 4;

/// The classes a path names, in order, without allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Classes {
    len: u8,
    ids: [u32; MAX_CLASSES],
}

impl Classes {
    /// Adds a class; past [`MAX_CLASSES`] the rest are dropped.
    pub fn push(&mut self, class: u32) {
        if let Some(slot) = self.ids.get_mut(usize::from(self.len)) {
            *slot = class;
            self.len += 1;
        }
    }
    /// Adds every class of `other`.
    pub fn extend(&mut self, other: &Classes) {
        for &c in other.as_slice() {
            self.push(c);
        }
    }
    /// These classes, then `more`'s, up to [`MAX_CLASSES`].
    pub fn merged(&self, more: &Classes) -> Classes {
        let mut c = *self;
        c.extend(more);
        c
    }

    /// The classes held.
    pub fn as_slice(&self) -> &[u32] {
        self.ids.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// One EPATH segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// A port and link address (routing through a backplane or network).
    Port {
        /// Port number (1 = backplane on Logix chassis).
        port: u16,
        /// Link address (slot number or IP address text).
        link: &'a [u8],
    },
    /// Logical class id.
    Class(u32),
    /// Logical instance id.
    Instance(u32),
    /// Logical member id.
    Member(u32),
    /// Logical connection point.
    ConnectionPoint(u32),
    /// Logical attribute id.
    Attribute(u32),
    /// Another logical segment (electronic key, service id, extended): its type.
    OtherLogical(u8),
    /// A symbol name (symbolic segment, or ANSI extended symbol 0x91).
    Symbol(&'a [u8]),
    /// Network or simple data segment contents (timing, data words).
    Data(&'a [u8]),
}

/// Why an EPATH does not parse.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// A segment runs past the path (its first byte).
    Truncated(u8),
    /// A segment type this walk does not know (its first byte).
    Unsupported(u8),
}

/// The segments of a padded EPATH, walked lazily.
#[derive(Clone, Copy, Debug)]
pub struct Segments<'a> {
    cursor: Cursor<'a>,
    done: bool,
}

/// The segments of `path`.
pub fn segments(path: &[u8]) -> Segments<'_> {
    Segments { cursor: Cursor::new(path), done: false }
}

impl<'a> Segments<'a> {
    fn segment(c: &mut Cursor<'a>, first: u8) -> Option<Result<Segment<'a>, PathError>> {
        let truncated = || Some(Err(PathError::Truncated(first)));
        match first >> 5 {
            // Port segment (C-1.4.1): bit 4 = extended link address; port 15
            // = a 16-bit port follows; padded to an even length.
            0 => {
                let extended = first & 0x10 != 0;
                let size = if extended {
                    match c.u8() {
                        Some(n) => usize::from(n),
                        None => return truncated(),
                    }
                } else {
                    1
                };
                let port = match first & 0x0f {
                    15 => match c.le_u16() {
                        Some(p) => p,
                        None => return truncated(),
                    },
                    p => u16::from(p),
                };
                let Some(link) = c.take(size) else { return truncated() };
                let used = 1 + usize::from(extended) + if first & 0x0f == 15 { 2 } else { 0 } + size;
                if used % 2 == 1 {
                    let _pad = c.u8();
                }
                Some(Ok(Segment::Port { port, link }))
            }
            // Logical segment (C-1.4.2): type in bits 4..2, format in bits 1..0.
            1 => {
                let kind = (first >> 2) & 0x07;
                if kind == 5 {
                    // Special: the electronic key, format 4, 8 bytes.
                    let Some(_format) = c.u8() else { return truncated() };
                    if c.take(8).is_none() {
                        return truncated();
                    }
                    return Some(Ok(Segment::OtherLogical(kind)));
                }
                let value = match first & 0x03 {
                    0 => c.u8().map(u32::from),
                    // 16- and 32-bit values follow a pad byte.
                    1 => c.u8().and_then(|_| c.le_u16()).map(u32::from),
                    2 => c.u8().and_then(|_| c.le_u32()),
                    _ => return Some(Err(PathError::Unsupported(first))),
                };
                let Some(value) = value else { return truncated() };
                Some(Ok(match kind {
                    0 => Segment::Class(value),
                    1 => Segment::Instance(value),
                    2 => Segment::Member(value),
                    3 => Segment::ConnectionPoint(value),
                    4 => Segment::Attribute(value),
                    k => Segment::OtherLogical(k),
                }))
            }
            // Network segment (C-1.4.3): one data byte, or a word count first
            // for the extended (0x5F) form.
            2 => {
                let data = if first & 0x10 != 0 {
                    match c.u8().and_then(|n| c.take(usize::from(n) * 2)) {
                        Some(d) => d,
                        None => return truncated(),
                    }
                } else {
                    match c.take(1) {
                        Some(d) => d,
                        None => return truncated(),
                    }
                };
                Some(Ok(Segment::Data(data)))
            }
            // Symbolic segment (C-1.4.4): the size in the low 5 bits; padded.
            3 => {
                let size = usize::from(first & 0x1f);
                if size == 0 {
                    return Some(Err(PathError::Unsupported(first)));
                }
                let Some(name) = c.take(size) else { return truncated() };
                if size % 2 == 0 {
                    let _pad = c.u8();
                }
                Some(Ok(Segment::Symbol(name)))
            }
            // Data segment (C-1.4.5): 0x80 simple data (word count), 0x91
            // ANSI extended symbol (byte count, padded to even).
            4 => match first {
                0x80 => match c.u8().and_then(|n| c.take(usize::from(n) * 2)) {
                    Some(d) => Some(Ok(Segment::Data(d))),
                    None => truncated(),
                },
                0x91 => {
                    let Some(n) = c.u8() else { return truncated() };
                    let Some(name) = c.take(usize::from(n)) else { return truncated() };
                    if n % 2 == 1 {
                        let _pad = c.u8();
                    }
                    Some(Ok(Segment::Symbol(name)))
                }
                _ => Some(Err(PathError::Unsupported(first))),
            },
            _ => Some(Err(PathError::Unsupported(first))),
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, PathError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let first = self.cursor.u8()?;
        let r = Self::segment(&mut self.cursor, first);
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }
}

/// What a request path addresses: the first class, the instance, attribute
/// and member after it, every class named, and the tag name of a symbolic
/// path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// First class named.
    pub class: Option<u32>,
    /// Instance.
    pub instance: Option<u32>,
    /// Attribute.
    pub attribute: Option<u32>,
    /// Member (array element).
    pub member: Option<u32>,
    /// Every class named, in order.
    pub classes: Classes,
    /// First symbol (Logix tag name) named.
    pub symbol: Option<&'a [u8]>,
    /// Port segments met (routing).
    pub ports: u8,
    /// The walk stopped at a bad segment.
    pub error: Option<PathError>,
}

impl<'a> Target<'a> {
    /// Reads a whole path.
    pub fn of(path: &'a [u8]) -> Self {
        let mut t = Target::default();
        // 8-bit class, instance, member and attribute segments (two bytes:
        // the type, the value) make up nearly every path on the wire; they
        // are read in place, and the general walk takes over at the first
        // other segment. Same result, a quarter of the instructions.
        let mut rest = path;
        while let [kind @ (0x20 | 0x24 | 0x28 | 0x30), value, tail @ ..] = rest {
            t.add(match kind {
                0x20 => Segment::Class(u32::from(*value)),
                0x24 => Segment::Instance(u32::from(*value)),
                0x28 => Segment::Member(u32::from(*value)),
                _ => Segment::Attribute(u32::from(*value)),
            });
            rest = tail;
        }
        for s in segments(rest) {
            match s {
                Ok(segment) => t.add(segment),
                Err(e) => t.error = Some(e),
            }
        }
        t
    }

    fn add(&mut self, segment: Segment<'a>) {
        match segment {
            Segment::Class(c) => {
                if self.class.is_none() {
                    self.class = Some(c);
                }
                self.classes.push(c);
            }
            Segment::Instance(i) => {
                self.instance.get_or_insert(i);
            }
            Segment::Attribute(a) => {
                self.attribute.get_or_insert(a);
            }
            Segment::Member(m) => {
                self.member.get_or_insert(m);
            }
            Segment::Symbol(s) => {
                self.symbol.get_or_insert(s);
            }
            Segment::Port { .. } => self.ports = self.ports.saturating_add(1),
            _ => {}
        }
    }

    /// True when Logix tag services apply: a symbolic path, or the Symbol or
    /// Template class.
    pub fn is_logix(&self) -> bool {
        self.symbol.is_some() || matches!(self.class, Some(CLASS_SYMBOL | CLASS_TEMPLATE))
    }
}

/// A message router request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// Service code (bit 7 clear).
    pub service: Service,
    /// The request path (padded EPATH).
    pub path: &'a [u8],
    /// Service data.
    pub data: &'a [u8],
}

/// A message router response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// Service code of the request (bit 7 removed).
    pub service: Service,
    /// General status (0 = success; Appendix B).
    pub status: u8,
    /// First additional status word, when any.
    pub extended: Option<u16>,
    /// Service data.
    pub data: &'a [u8],
}

/// A request or a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A request.
    Request(Request<'a>),
    /// A response.
    Response(Response<'a>),
}

impl Message<'_> {
    /// The service code without the response bit.
    pub fn service(&self) -> Service {
        match self {
            Message::Request(r) => r.service,
            Message::Response(r) => r.service,
        }
    }
}

/// Why bytes are not a CIP message.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CipError {
    /// No bytes at all.
    Empty,
    /// A request path longer than the message (words, bytes left).
    PathTooLong(u8, usize),
    /// A response shorter than its 4-byte header.
    ShortResponse(usize),
    /// Additional status words past the end (words, bytes left).
    StatusTooLong(u8, usize),
}

impl CipError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            CipError::Empty => "cip_empty",
            CipError::PathTooLong(..) => "cip_path_too_long",
            CipError::ShortResponse(_) => "cip_short_response",
            CipError::StatusTooLong(..) => "cip_status_too_long",
        }
    }
}

impl fmt::Display for CipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CipError::Empty => write!(f, "empty CIP message"),
            CipError::PathTooLong(w, n) => write!(f, "request path of {w} words with {n} bytes left"),
            CipError::ShortResponse(n) => write!(f, "CIP response of {n} bytes, expected at least 4"),
            CipError::StatusTooLong(w, n) => write!(f, "{w} additional status words with {n} bytes left"),
        }
    }
}

impl std::error::Error for CipError {}

/// Parses one message router request or response (Vol. 1 §2-4.1, §2-4.2).
pub fn parse(data: &[u8]) -> Result<Message<'_>, CipError> {
    let mut c = Cursor::new(data);
    let code = c.u8().ok_or(CipError::Empty)?;
    let service = Service(code & 0x7f);
    if code & 0x80 == 0 {
        let words = c.u8().ok_or(CipError::PathTooLong(0, 0))?;
        let left = c.remaining();
        let path = c.take(usize::from(words) * 2).ok_or(CipError::PathTooLong(words, left))?;
        return Ok(Message::Request(Request { service, path, data: c.rest() }));
    }
    let (Some(_reserved), Some(status), Some(words)) = (c.u8(), c.u8(), c.u8()) else {
        return Err(CipError::ShortResponse(data.len()));
    };
    let left = c.remaining();
    let extra = c.take(usize::from(words) * 2).ok_or(CipError::StatusTooLong(words, left))?;
    let extended = Cursor::new(extra).le_u16();
    Ok(Message::Response(Response { service, status, extended, data: c.rest() }))
}

/// The embedded messages of a Multiple_Service_Packet body (Vol. 1 ):
/// a count, that many offsets from the start of the body, the messages. Each
/// message runs to the next offset (the last to the end); a bad offset ends
/// the walk with `None` in its place.
pub fn multiple(body: &[u8]) -> Option<impl Iterator<Item = Option<&[u8]>> + '_> {
    let mut c = Cursor::new(body);
    let count = c.le_u16()?;
    let offsets = c.take(usize::from(count) * 2)?;
    let offset = |i: usize| {
        let pair = offsets.get(i * 2..i * 2 + 2)?;
        Some(usize::from(u16::from_le_bytes([*pair.first()?, *pair.get(1)?])))
    };
    Some((0..usize::from(count)).map(move |i| {
        let start = offset(i)?;
        let end = if i + 1 < usize::from(count) { offset(i + 1)? } else { body.len() };
        body.get(start..end)
    }))
}

/// Name and class of a common service (Vol. 1 Table ), on `target`.
fn common(service: Service, target: &Target<'_>) -> Option<(&'static str, OperationClass)> {
    use OperationClass::*;
    let identity = target.class == Some(CLASS_IDENTITY);
    // Reading the Identity object is identification; elsewhere it reads values.
    let get = if identity { Discovery } else { Read };
    // Setting an Assembly's data writes process outputs; elsewhere attributes
    // are settings.
    let set = if target.class == Some(CLASS_ASSEMBLY) { Write } else { Configuration };
    Some(match service.0 {
        0x01 => ("get_attributes_all", get),
        0x02 => ("set_attributes_all", set),
        0x03 => ("get_attribute_list", get),
        0x04 => ("set_attribute_list", set),
        0x05 => ("reset", Control),
        0x06 => ("start", Control),
        0x07 => ("stop", Control),
        0x08 => ("create", Configuration),
        0x09 => ("delete", Configuration),
        0x0a => ("multiple_service_packet", Session),
        0x0d => ("apply_attributes", Configuration),
        0x0e => ("get_attribute_single", get),
        0x10 => ("set_attribute_single", set),
        0x11 => ("find_next_object_instance", Discovery),
        0x14 => ("error_response", Diagnostic),
        0x15 => ("restore", Configuration),
        0x16 => ("save", Configuration),
        0x17 => ("nop", Session),
        0x18 => ("get_member", Read),
        0x19 => ("set_member", Write),
        0x1a => ("insert_member", Write),
        0x1b => ("remove_member", Write),
        0x1c => ("group_sync", Session),
        _ => return None,
    })
}

/// Name and class of a class-specific service (0x4B and up) on a class whose
/// services are public.
fn specific(service: Service, target: &Target<'_>) -> Option<(&'static str, OperationClass)> {
    use OperationClass::*;
    Some(match (target.class, service.0) {
        // Connection Manager (Vol. 1 §3-5.5).
        (Some(CLASS_CONNECTION_MANAGER), 0x4e) => ("forward_close", Session),
        (Some(CLASS_CONNECTION_MANAGER), 0x52) => ("unconnected_send", Session),
        (Some(CLASS_CONNECTION_MANAGER), 0x54) => ("forward_open", Session),
        (Some(CLASS_CONNECTION_MANAGER), 0x56) => ("get_connection_data", Diagnostic),
        (Some(CLASS_CONNECTION_MANAGER), 0x57) => ("search_connection_data", Diagnostic),
        (Some(CLASS_CONNECTION_MANAGER), 0x5a) => ("get_connection_owner", Diagnostic),
        (Some(CLASS_CONNECTION_MANAGER), 0x5b) => ("large_forward_open", Session),
        // File object (Vol. 1 §5-42): transfers of program and device files.
        (Some(CLASS_FILE), 0x4b) => ("initiate_upload", Program),
        (Some(CLASS_FILE), 0x4c) => ("initiate_download", Program),
        (Some(CLASS_FILE), 0x4d) => ("initiate_partial_read", Program),
        (Some(CLASS_FILE), 0x4e) => ("initiate_partial_write", Program),
        (Some(CLASS_FILE), 0x4f) => ("upload_transfer", Program),
        (Some(CLASS_FILE), 0x50) => ("download_transfer", Program),
        (Some(CLASS_FILE), 0x51) => ("clear_file", Program),
        // PCCC object: refined by the PCCC command it carries.
        (Some(CLASS_PCCC), 0x4b) => ("execute_pccc", Unknown),
        (Some(CLASS_PCCC), 0x4c) => ("execute_dh_plus", Unknown),
        (Some(CLASS_PCCC), 0x4d) => ("execute_local_pccc", Unknown),
        // Logix tag services (Rockwell 1756-PM020): on symbolic paths and the
        // Symbol and Template classes only; elsewhere these codes are the
        // class's own, unpublished services.
        (Some(CLASS_TEMPLATE), 0x4c) => ("read_template", Read),
        (_, 0x4c) if target.is_logix() => ("read_tag", Read),
        (_, 0x4d) if target.is_logix() => ("write_tag", Write),
        (_, 0x4e) if target.is_logix() => ("read_modify_write_tag", Write),
        (_, 0x52) if target.is_logix() => ("read_tag_fragmented", Read),
        (_, 0x53) if target.is_logix() => ("write_tag_fragmented", Write),
        (Some(CLASS_SYMBOL), 0x55) => ("get_instance_attribute_list", Read),
        // Rockwell Non-Volatile Storage object, a vendor class that module
        // manuals document (1203-CN1 appendix D, 1444-UM001 appendix A):
        // Update starts writing a firmware image to an instance (boot code,
        // application code...), Transfer carries it piece by piece.
        (Some(CLASS_NVS), 0x4b) => ("nvs_update", Firmware),
        (Some(CLASS_NVS), 0x4d) => ("nvs_transfer", Firmware),
        _ => return None,
    })
}

/// The operation name and class of `service` on `target`. Unassigned and
/// unpublished services are reported by number, class Unknown.
pub fn classify(service: Service, target: &Target<'_>) -> (Cow<'static, str>, OperationClass) {
    if let Some((name, class)) = common(service, target).or_else(|| specific(service, target)) {
        return (Cow::Borrowed(name), class);
    }
    let s = service.0;
    let name = match target.class {
        Some(class) => crate::intern::name("cip_class_service", (u64::from(class) << 8) | u64::from(s), || {
            format!("class_{class:#04x}_service_{s:#04x}")
        }),
        None => crate::intern::name("cip_service", u64::from(s), || format!("service_{s:#04x}")),
    };
    (name, OperationClass::Unknown)
}

/// A symbol name as text, capped, non-printable bytes replaced.
pub fn symbol_text(name: &[u8]) -> String {
    name.iter()
        .take(super::MAX_TEXT)
        .map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '.' })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_8_16_and_32_bit_logical_segments() {
        let path = [
            0x20, 0x01, // class 0x01 (8-bit)
            0x25, 0x00, 0x34, 0x12, // instance 0x1234 (16-bit, pad)
            0x32, 0x00, 0x78, 0x56, 0x34, 0x12, // attribute 0x12345678 (32-bit, pad)
        ];
        let segs: Vec<_> = segments(&path).collect();
        assert_eq!(segs[0], Ok(Segment::Class(1)));
        assert_eq!(segs[1], Ok(Segment::Instance(0x1234)));
        assert_eq!(segs[2], Ok(Segment::Attribute(0x1234_5678)));
    }

    #[test]
    fn reads_port_and_ansi_symbol_segments() {
        let path = [
            0x01, 0x00, // port 1, link address 0 (backplane slot 0)
            0x91, 0x03, b'T', b'a', b'g', 0x00, // ANSI symbol "Tag", padded
            0x28, 0x05, // member 5
        ];
        let t = Target::of(&path);
        assert_eq!(t.ports, 1);
        assert_eq!(t.symbol, Some(&b"Tag"[..]));
        assert_eq!(t.member, Some(5));
        assert!(t.is_logix());
        assert_eq!(t.error, None);
    }

    /// The path read by the general walk alone, as before the in-place
    /// reading of 8-bit logical segments.
    fn walked(path: &[u8]) -> Target<'_> {
        let mut t = Target::default();
        for s in segments(path) {
            match s {
                Ok(segment) => t.add(segment),
                Err(e) => t.error = Some(e),
            }
        }
        t
    }

    proptest::proptest! {
        #[test]
        fn reading_8_bit_segments_in_place_changes_nothing(
            head in proptest::collection::vec(
                (proptest::sample::select(vec![0x20u8, 0x24, 0x28, 0x30, 0x21, 0x25, 0x91, 0x01]), 0u8..=255),
                0..5,
            ),
            tail in proptest::collection::vec(0u8..=255, 0..12),
        ) {
            let mut path: Vec<u8> = head.into_iter().flat_map(|(k, v)| [k, v]).collect();
            path.extend(tail);
            proptest::prop_assert_eq!(Target::of(&path), walked(&path));
        }
    }

    #[test]
    fn stops_at_a_truncated_segment() {
        let t = Target::of(&[0x21, 0x00, 0x01]); // 16-bit class, one byte short
        assert_eq!(t.error, Some(PathError::Truncated(0x21)));
        assert_eq!(t.class, None);
    }

    #[test]
    fn parses_requests_and_responses() {
        let req = [0x0e, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07];
        let Message::Request(r) = parse(&req).unwrap() else { panic!() };
        assert_eq!(r.service, Service::GET_ATTRIBUTE_SINGLE);
        assert_eq!(Target::of(r.path).attribute, Some(7));
        let resp = [0x8e, 0x00, 0x00, 0x00, 0xaa];
        let Message::Response(r) = parse(&resp).unwrap() else { panic!() };
        assert_eq!((r.service, r.status, r.data), (Service::GET_ATTRIBUTE_SINGLE, 0, &[0xaa][..]));
        assert_eq!(parse(&[0x0e, 0x05, 0x20]), Err(CipError::PathTooLong(5, 1)));
        assert_eq!(parse(&[0x8e, 0x00]), Err(CipError::ShortResponse(2)));
        assert_eq!(parse(&[0x8e, 0x00, 0x01, 0x02, 0x00]), Err(CipError::StatusTooLong(2, 1)));
    }

    #[test]
    fn classifies_logix_services_only_on_symbolic_paths() {
        let tag = Target::of(&[0x91, 0x01, b'X', 0x00]);
        assert_eq!(classify(Service(0x4d), &tag), (Cow::Borrowed("write_tag"), OperationClass::Write));
        assert_eq!(classify(Service(0x52), &tag).0, "read_tag_fragmented");
        let cm = Target::of(&[0x20, 0x06, 0x24, 0x01]);
        assert_eq!(classify(Service(0x52), &cm).0, "unconnected_send");
        let vendor = Target::of(&[0x20, 0x8e, 0x24, 0x01]);
        assert_eq!(
            classify(Service(0x4c), &vendor),
            (Cow::Borrowed("class_0x8e_service_0x4c"), OperationClass::Unknown)
        );
    }

    #[test]
    fn classifies_firmware_written_to_rockwell_non_volatile_storage() {
        let nvs = Target::of(&[0x20, 0xa1, 0x24, 0x01]);
        assert_eq!(classify(Service(0x4b), &nvs), (Cow::Borrowed("nvs_update"), OperationClass::Firmware));
        assert_eq!(classify(Service(0x4d), &nvs), (Cow::Borrowed("nvs_transfer"), OperationClass::Firmware));
        // Reading it is reading; its other codes stay unknown, by number.
        assert_eq!(classify(Service::GET_ATTRIBUTE_SINGLE, &nvs).1, OperationClass::Read);
        assert_eq!(classify(Service(0x51), &nvs), (Cow::Borrowed("class_0xa1_service_0x51"), OperationClass::Unknown));
        // The same codes elsewhere are that class's own.
        let other = Target::of(&[0x20, 0xa2, 0x24, 0x01]);
        assert_eq!(classify(Service(0x4d), &other).1, OperationClass::Unknown);
    }

    #[test]
    fn walks_a_multiple_service_packet_body() {
        let body = [
            0x02, 0x00, // two services
            0x06, 0x00, // at offset 6
            0x08, 0x00, // at offset 8
            0x01, 0x00, // service 1: Get_Attributes_All, empty path
            0x07, 0x00, // service 2: Stop, empty path
        ];
        let parts: Vec<_> = multiple(&body).unwrap().collect();
        assert_eq!(parts, vec![Some(&[0x01, 0x00][..]), Some(&[0x07, 0x00][..])]);
        let bad = [0x01, 0x00, 0x40, 0x00];
        assert_eq!(multiple(&bad).unwrap().collect::<Vec<_>>(), vec![None]);
    }
}
