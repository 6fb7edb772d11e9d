//! Service parameters otposture reads (ASHRAE 135 clauses 13-16): the
//! identity a device states, and what a write, file write or device control
//! asks for. Everything else is counted, not read.

use super::tags::{self, Tag};
use crate::cursor::Cursor;

/// Most properties read from one ReadPropertyMultiple answer.
const MAX_PROPERTIES: usize = 256;

/// One property value of an object: from a ReadProperty(-Multiple) answer or
/// a WriteProperty(-Multiple) request.
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyValue {
    /// Object type and instance.
    pub object: (u16, u32),
    /// Property identifier.
    pub property: u32,
    /// Array index, when one element is meant.
    pub index: Option<u32>,
    /// The first value, as text (None for an error, or a constructed value).
    pub value: Option<String>,
    /// Write priority (1-16), for writes.
    pub priority: Option<u32>,
}

/// Reads a tag and its content.
fn next<'a>(c: &mut Cursor<'a>) -> Option<(Tag, &'a [u8])> {
    let t = tags::header(c)?;
    let b = tags::content(c, t)?;
    Some((t, b))
}

/// The first primitive application value inside an opened constructed tag
/// `n`, as text, consuming through its closing tag.
fn value_in(c: &mut Cursor<'_>, n: u8) -> Option<Option<String>> {
    let mut first = None;
    let mut depth = 1u32;
    while depth > 0 {
        let (t, b) = next(c)?;
        match t {
            Tag::Open(_) => depth += 1,
            Tag::Close(m) => {
                depth -= 1;
                if depth == 0 && m != n {
                    return None;
                }
            }
            t @ Tag::Application { .. } if first.is_none() && depth == 1 => first = tags::value_text(t, b),
            _ => {}
        }
    }
    Some(first)
}

/// Context tag `n` holding an unsigned value, if it comes next; the cursor is
/// left unchanged when it does not.
fn optional_context(c: &mut Cursor<'_>, n: u8) -> Option<u32> {
    let mut probe = *c;
    match next(&mut probe)? {
        (Tag::Context { number, .. }, b) if number == n => {
            *c = probe;
            tags::unsigned(b)
        }
        _ => None,
    }
}

fn context_object(c: &mut Cursor<'_>, n: u8) -> Option<(u16, u32)> {
    match next(c)? {
        (Tag::Context { number, .. }, b) if number == n => tags::object_id(b),
        _ => None,
    }
}

fn context_unsigned(c: &mut Cursor<'_>, n: u8) -> Option<u32> {
    match next(c)? {
        (Tag::Context { number, .. }, b) if number == n => tags::unsigned(b),
        _ => None,
    }
}

fn expect_open(c: &mut Cursor<'_>, n: u8) -> Option<()> {
    matches!(tags::header(c)?, Tag::Open(m) if m == n).then_some(())
}

/// ReadProperty-ACK: object, property, index, the value.
pub fn read_property_ack(params: &[u8]) -> Option<PropertyValue> {
    let mut c = Cursor::new(params);
    let object = context_object(&mut c, 0)?;
    let property = context_unsigned(&mut c, 1)?;
    let index = optional_context(&mut c, 2);
    expect_open(&mut c, 3)?;
    let value = value_in(&mut c, 3)?;
    Some(PropertyValue { object, property, index, value, priority: None })
}

/// WriteProperty request: object, property, index, the value, priority.
pub fn write_property(params: &[u8]) -> Option<PropertyValue> {
    let mut c = Cursor::new(params);
    let object = context_object(&mut c, 0)?;
    let property = context_unsigned(&mut c, 1)?;
    let index = optional_context(&mut c, 2);
    expect_open(&mut c, 3)?;
    let value = value_in(&mut c, 3)?;
    let priority = optional_context(&mut c, 4);
    Some(PropertyValue { object, property, index, value, priority })
}

/// The context tags of one "list of objects, each with a list of
/// properties" encoding: ReadPropertyMultiple-ACK and WritePropertyMultiple
/// nest the same way, with different tag numbers.
struct MultipleLayout {
    property: u8,
    index: u8,
    value: u8,
    /// A property's error in place of its value (answers only).
    error: Option<u8>,
    /// A write priority after the value (writes only).
    priority: Option<u8>,
}

/// Every property of every object in a multiple-property list, up to
/// [`MAX_PROPERTIES`]; what parsed before a fault.
fn multiple(params: &[u8], layout: &MultipleLayout) -> Vec<PropertyValue> {
    let mut out = Vec::new();
    let mut c = Cursor::new(params);
    'objects: while c.remaining() > 0 && out.len() < MAX_PROPERTIES {
        let Some(object) = context_object(&mut c, 0) else { break };
        if expect_open(&mut c, 1).is_none() {
            break;
        }
        loop {
            let Some((t, b)) = next(&mut c) else { break 'objects };
            let property = match t {
                Tag::Close(1) => break,
                Tag::Context { number, .. } if number == layout.property => match tags::unsigned(b) {
                    Some(p) => p,
                    None => break 'objects,
                },
                _ => break 'objects,
            };
            let index = optional_context(&mut c, layout.index);
            let value = match tags::header(&mut c) {
                Some(Tag::Open(n)) if n == layout.value => value_in(&mut c, n),
                Some(Tag::Open(n)) if Some(n) == layout.error => tags::skip_constructed(&mut c, n).map(|()| None),
                _ => None,
            };
            let Some(value) = value else { break 'objects };
            let priority = layout.priority.and_then(|n| optional_context(&mut c, n));
            if out.len() < MAX_PROPERTIES {
                out.push(PropertyValue { object, property, index, value, priority });
            }
        }
    }
    out
}

/// ReadPropertyMultiple-ACK: every property result (values and errors) of
/// every object, up to [`MAX_PROPERTIES`]; what parsed before a fault.
pub fn read_property_multiple_ack(params: &[u8]) -> Vec<PropertyValue> {
    multiple(params, &MultipleLayout { property: 2, index: 3, value: 4, error: Some(5), priority: None })
}

/// WritePropertyMultiple request: every property written, up to [`MAX_PROPERTIES`].
pub fn write_property_multiple(params: &[u8]) -> Vec<PropertyValue> {
    multiple(params, &MultipleLayout { property: 0, index: 1, value: 2, error: None, priority: Some(3) })
}

/// I-Am: device, max APDU length, segmentation, vendor identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IAm {
    /// The device's instance number.
    pub device: u32,
    /// Largest APDU it accepts.
    pub max_apdu: u32,
    /// Segmentation supported: 0 both, 1 transmit, 2 receive, 3 none.
    pub segmentation: u32,
    /// Its vendor identifier (ASHRAE registry).
    pub vendor_id: u32,
}

/// Reads an I-Am request.
pub fn i_am(params: &[u8]) -> Option<IAm> {
    fn app<'a>(c: &mut Cursor<'a>, want: u8) -> Option<&'a [u8]> {
        match next(c)? {
            (Tag::Application { number, .. }, b) if number == want => Some(b),
            _ => None,
        }
    }
    let mut c = Cursor::new(params);
    let (kind, device) = tags::object_id(app(&mut c, 12)?)?;
    if kind != 8 {
        return None;
    }
    let max_apdu = tags::unsigned(app(&mut c, 2)?)?;
    let segmentation = tags::unsigned(app(&mut c, 9)?)?;
    let vendor_id = tags::unsigned(app(&mut c, 2)?)?;
    Some(IAm { device, max_apdu, segmentation, vendor_id })
}

/// DeviceCommunicationControl: duration (minutes), enable/disable, password given.
pub fn device_communication_control(params: &[u8]) -> Option<(Option<u32>, u32, bool)> {
    let mut c = Cursor::new(params);
    let duration = optional_context(&mut c, 0);
    let state = context_unsigned(&mut c, 1)?;
    let password = c.remaining() > 0;
    Some((duration, state, password))
}

/// ReinitializeDevice: the state asked for, password given.
pub fn reinitialize_device(params: &[u8]) -> Option<(u32, bool)> {
    let mut c = Cursor::new(params);
    let state = context_unsigned(&mut c, 0)?;
    Some((state, c.remaining() > 0))
}

/// AtomicWriteFile: the file object, stream or record access, and the
/// bytes (stream) or records written.
pub fn atomic_write_file(params: &[u8]) -> Option<((u16, u32), &'static str, u64)> {
    let mut c = Cursor::new(params);
    let file = match next(&mut c)? {
        (Tag::Application { number: 12, .. }, b) => tags::object_id(b)?,
        _ => return None,
    };
    match tags::header(&mut c)? {
        Tag::Open(0) => {
            let _start = next(&mut c)?;
            let (_, data) = next(&mut c)?;
            Some((file, "stream", data.len() as u64))
        }
        Tag::Open(1) => {
            let _start = next(&mut c)?;
            let (_, count) = next(&mut c)?;
            Some((file, "record", u64::from(tags::unsigned(count)?)))
        }
        _ => None,
    }
}

/// The name of a DeviceCommunicationControl state.
pub fn dcc_state(s: u32) -> &'static str {
    match s {
        0 => "enable",
        1 => "disable",
        2 => "disable_initiation",
        _ => "reserved",
    }
}

/// The name of a ReinitializeDevice state.
pub fn reinitialize_state(s: u32) -> &'static str {
    match s {
        0 => "coldstart",
        1 => "warmstart",
        2 => "start_backup",
        3 => "end_backup",
        4 => "start_restore",
        5 => "end_restore",
        6 => "abort_restore",
        7 => "activate_changes",
        _ => "reserved",
    }
}

/// The name of a segmentation support value.
pub fn segmentation(s: u32) -> &'static str {
    match s {
        0 => "both",
        1 => "transmit",
        2 => "receive",
        3 => "none",
        _ => "reserved",
    }
}
