//! BACnet tagged encoding (ASHRAE 135 clause 20.2): the tag header, and the
//! application-tagged primitive values otposture reads.
//!
//! A tag is one byte: tag number (bits 7-4; 15 means an extension byte
//! follows), class (bit 3: context-specific when set) and length/value/type
//! (bits 2-0: a length 0-4, 5 for an extended length in the next 1, 3 or 5
//! bytes; for context tags 6 and 7 open and close a constructed value; for the
//! application Boolean, the value itself).

use crate::cursor::Cursor;

/// Largest text copied from a character string.
pub(crate) const MAX_TEXT: usize = 128;

/// What a tag header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// An application-tagged value: tag number (the datatype) and length.
    Application {
        /// Datatype: 0 null, 1 boolean, 2 unsigned, 3 signed, 4 real, 5 double,
        /// 6 octet string, 7 character string, 8 bit string, 9 enumerated,
        /// 10 date, 11 time, 12 object identifier.
        number: u8,
        /// Content length (for a Boolean, its value).
        len: u32,
    },
    /// A context-tagged primitive value.
    Context {
        /// Context tag number.
        number: u8,
        /// Content length.
        len: u32,
    },
    /// Opening tag of a constructed value.
    Open(u8),
    /// Closing tag of a constructed value.
    Close(u8),
}

/// Reads one tag header.
pub(crate) fn header(c: &mut Cursor<'_>) -> Option<Tag> {
    let b = c.u8()?;
    let mut number = b >> 4;
    if number == 15 {
        number = c.u8()?;
    }
    let context = b & 0x08 != 0;
    let lvt = b & 0x07;
    if context && lvt == 6 {
        return Some(Tag::Open(number));
    }
    if context && lvt == 7 {
        return Some(Tag::Close(number));
    }
    let len = if lvt == 5 {
        match c.u8()? {
            254 => u32::from(c.be_u16()?),
            255 => c.be_u32()?,
            n => u32::from(n),
        }
    } else {
        u32::from(lvt)
    };
    Some(if context { Tag::Context { number, len } } else { Tag::Application { number, len } })
}

/// The content bytes of a primitive tag (none for an application Boolean,
/// whose value is its length field).
pub(crate) fn content<'a>(c: &mut Cursor<'a>, tag: Tag) -> Option<&'a [u8]> {
    match tag {
        Tag::Application { number: 1, .. } => Some(&[]),
        Tag::Application { len, .. } | Tag::Context { len, .. } => c.take(usize::try_from(len).ok()?),
        Tag::Open(_) | Tag::Close(_) => Some(&[]),
    }
}

/// An unsigned integer of 1-4 content bytes (BACnet allows up to 8; wider ones
/// are not read).
pub(crate) fn unsigned(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 {
        return None;
    }
    Some(b.iter().fold(0u32, |v, &x| (v << 8) | u32::from(x)))
}

/// An object identifier: (object type, instance).
pub(crate) fn object_id(b: &[u8]) -> Option<(u16, u32)> {
    let v = u32::from_be_bytes(b.try_into().ok()?);
    Some(((v >> 22) as u16, v & 0x003f_ffff))
}

/// The instance number that means "the device I am talking to" (an unknown
/// device instance, clause 12.11.1).
pub const WILDCARD_INSTANCE: u32 = 0x003f_ffff;

/// An object identifier as text: `device,500`, `analog-value,3`, or the type
/// number for types without a name.
pub(crate) fn object_text((kind, instance): (u16, u32)) -> String {
    match super::names::object_type(kind) {
        Some(name) => format!("{name},{instance}"),
        None => format!("object-type-{kind},{instance}"),
    }
}

/// A character string's text: the character set byte, then the bytes
/// (UTF-8 for set 0; UCS-2 big-endian for set 4; ISO 8859-1 for set 5; others
/// lossily as UTF-8), at most [`MAX_TEXT`] characters.
pub(crate) fn char_string(b: &[u8]) -> Option<String> {
    let (&set, text) = b.split_first()?;
    let s: String = match set {
        4 => {
            let units: Vec<u16> = text
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p.first().copied().unwrap_or(0), p.get(1).copied().unwrap_or(0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        5 => text.iter().map(|&c| char::from(c)).collect(),
        _ => String::from_utf8_lossy(text).into_owned(),
    };
    Some(s.trim_end_matches('\0').chars().take(MAX_TEXT).collect())
}

/// An application-tagged value as short text (`72.5`, `true`, `"AHU-1"`,
/// `device,500`, `active (enumerated 1)`...), for attributes.
pub(crate) fn value_text(tag: Tag, b: &[u8]) -> Option<String> {
    let Tag::Application { number, len } = tag else { return None };
    Some(match number {
        0 => "null".to_string(),
        1 => (len != 0).to_string(),
        2 => unsigned(b)?.to_string(),
        3 => {
            let u = unsigned(b)?;
            let bits = 8 * b.len() as u32;
            let v = if bits < 32 && u & (1 << (bits - 1)) != 0 {
                i64::from(u) - (1i64 << bits)
            } else {
                i64::from(u as i32)
            };
            v.to_string()
        }
        4 => f32::from_be_bytes(b.try_into().ok()?).to_string(),
        5 => f64::from_be_bytes(b.try_into().ok()?).to_string(),
        6 => format!("0x{}", b.iter().take(16).map(|x| format!("{x:02x}")).collect::<String>()),
        7 => char_string(b)?,
        9 => format!("enumerated {}", unsigned(b)?),
        12 => object_text(object_id(b)?),
        8 => format!("bit string ({} bytes)", b.len()),
        10 => "date".to_string(),
        11 => "time".to_string(),
        n => format!("tag {n}"),
    })
}

/// Skips a whole constructed value after its opening tag `n`, nested ones
/// included; None when it does not close.
pub(crate) fn skip_constructed(c: &mut Cursor<'_>, n: u8) -> Option<()> {
    let mut depth = 1u32;
    while depth > 0 {
        let t = header(c)?;
        match t {
            Tag::Open(_) => depth += 1,
            Tag::Close(m) => {
                depth -= 1;
                if depth == 0 && m != n {
                    return None;
                }
            }
            t => {
                content(c, t)?;
            }
        }
    }
    Some(())
}
