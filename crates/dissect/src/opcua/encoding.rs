//! UA Binary encoding of the built-in types (OPC 10000-6 §5.2): a decoder over
//! a borrowed message body that never panics, never reads past its input and
//! never trusts a length.
//!
//! Owns: Boolean, the integers, Float, Double, String and ByteString (Int32
//! length, -1 = null), DateTime, Guid, NodeId in all six encodings,
//! ExpandedNodeId, StatusCode, QualifiedName, LocalizedText, the
//! ExtensionObject header (its body stays bytes), Variant (scalars of every
//! built-in type and arrays, with matrix dimensions), DataValue, and skipping
//! DiagnosticInfo. Little-endian throughout (§5.2.2).
//!
//! Bounded: an array or string length larger than the bytes left is an error
//! (every element takes at least one byte), nesting (Variant in Variant,
//! DiagnosticInfo in DiagnosticInfo, DataValue in Variant) stops at
//! [`MAX_DEPTH`], and callers decode at most [`MAX_ITEMS`] elements of an
//! array into summaries and skip the rest. Not here: the structures of the
//! services ([`super::services`]).

use crate::cursor::Cursor;
use std::fmt::{self, Write as _};

/// Elements of an array that callers summarise; the rest are skipped.
pub const MAX_ITEMS: usize = 8;
/// Deepest nesting of Variants, DataValues and DiagnosticInfos decoded.
pub const MAX_DEPTH: u8 = 8;

/// Why bytes do not decode.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside a value.
    Truncated,
    /// A length below -1, or larger than the bytes left.
    BadLength(i32),
    /// A NodeId encoding byte outside 0..=5 (or with flags where none belong).
    BadNodeIdEncoding(u8),
    /// A Variant type id outside 1..=25.
    BadVariantType(u8),
    /// An ExtensionObject body encoding outside 0..=2.
    BadExtensionObjectEncoding(u8),
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A field longer than its stated limit.
    TooLong(&'static str),
}

impl DecodeError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            DecodeError::Truncated => "truncated",
            DecodeError::BadLength(_) => "bad_length",
            DecodeError::BadNodeIdEncoding(_) => "bad_node_id_encoding",
            DecodeError::BadVariantType(_) => "bad_variant_type",
            DecodeError::BadExtensionObjectEncoding(_) => "bad_extension_object_encoding",
            DecodeError::TooDeep => "too_deep",
            DecodeError::TooLong(_) => "field_too_long",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Truncated => write!(f, "UA binary value truncated"),
            DecodeError::BadLength(n) => write!(f, "UA binary length {n} is negative or beyond the input"),
            DecodeError::BadNodeIdEncoding(b) => write!(f, "NodeId encoding {b:#04x}, expected 0..=5"),
            DecodeError::BadVariantType(t) => write!(f, "Variant type {t}, expected 1..=25"),
            DecodeError::BadExtensionObjectEncoding(e) => write!(f, "ExtensionObject encoding {e}, expected 0..=2"),
            DecodeError::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH}"),
            DecodeError::TooLong(what) => write!(f, "{what} longer than its limit"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decoding result.
pub type Result<T> = std::result::Result<T, DecodeError>;

/// The identifier of a NodeId (§5.2.2.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identifier<'a> {
    /// A number (two-byte, four-byte and numeric encodings).
    Numeric(u32),
    /// A string, as sent (UTF-8 by the specification, not checked).
    String(&'a [u8]),
    /// A GUID, 16 bytes as encoded (Data1..3 little-endian).
    Guid([u8; 16]),
    /// An opaque ByteString.
    Opaque(&'a [u8]),
}

/// A NodeId: namespace index and identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeId<'a> {
    /// Namespace index (0: the OPC UA namespace).
    pub namespace: u16,
    /// Identifier.
    pub id: Identifier<'a>,
}

impl NodeId<'_> {
    /// The number of a numeric NodeId in namespace 0 (the standard nodes and
    /// encodings), else `None`.
    pub fn ns0_numeric(&self) -> Option<u32> {
        match (self.namespace, self.id) {
            (0, Identifier::Numeric(n)) => Some(n),
            _ => None,
        }
    }

    /// True for the null NodeId (ns=0;i=0).
    pub fn is_null(&self) -> bool {
        self.ns0_numeric() == Some(0)
    }
}

/// The text notation of OPC 10000-6 §5.3.1.10: `i=2256`, `ns=2;s=Pump.Speed`,
/// `ns=1;g=...`, `ns=1;b=<hex>` (hex rather than base64; capped at 64 bytes).
impl fmt::Display for NodeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace != 0 {
            write!(f, "ns={};", self.namespace)?;
        }
        match self.id {
            Identifier::Numeric(n) => write!(f, "i={n}"),
            Identifier::String(s) => write!(f, "s={}", lossy(s, 200)),
            Identifier::Guid(g) => write!(f, "g={}", guid_text(&g)),
            Identifier::Opaque(b) => {
                f.write_str("b=")?;
                b.iter().take(64).try_for_each(|x| write!(f, "{x:02x}"))
            }
        }
    }
}

/// A GUID as 8-4-4-4-12 hex digits (§5.1.3: Data1..3 little-endian on the wire).
pub fn guid_text(g: &[u8; 16]) -> String {
    let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = *g;
    let mut s = String::with_capacity(36);
    let _ = write!(s, "{:08x}-{:04x}-{:04x}-", u32::from_le_bytes([a0, a1, a2, a3]), u16::from_le_bytes([b0, b1]), {
        u16::from_le_bytes([c0, c1])
    });
    for (i, b) in rest.iter().enumerate() {
        if i == 2 {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Text of at most `max` bytes of `b`: lossy UTF-8, control characters
/// replaced, cut on a character boundary.
pub fn lossy(b: &[u8], max: usize) -> String {
    let b = b.get(..max.min(b.len())).unwrap_or_default();
    String::from_utf8_lossy(b).chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// An ExpandedNodeId (§5.2.2.10): a NodeId, optionally with a namespace URI
/// and a server index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpandedNodeId<'a> {
    /// The NodeId (its namespace index is meaningless when a URI is given).
    pub node: NodeId<'a>,
    /// NamespaceUri, when the 0x80 flag is set.
    pub namespace_uri: Option<&'a [u8]>,
    /// ServerIndex, when the 0x40 flag is set.
    pub server_index: Option<u32>,
}

/// A LocalizedText (§5.2.2.14).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalizedText<'a> {
    /// Locale (`en-US`), when present.
    pub locale: Option<&'a [u8]>,
    /// Text, when present.
    pub text: Option<&'a [u8]>,
}

/// An ExtensionObject (§5.2.2.15): the type of the structure and its encoded
/// body, left for the caller to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionObject<'a> {
    /// The DataTypeEncoding NodeId (`i=864`: ServerStatusDataType, binary).
    pub type_id: NodeId<'a>,
    /// 0: no body, 1: UA binary ByteString, 2: XmlElement.
    pub encoding: u8,
    /// The body bytes (empty without one).
    pub body: &'a [u8],
}

impl ExtensionObject<'_> {
    /// The binary encoding id in namespace 0, when the body is UA binary.
    pub fn binary_ns0(&self) -> Option<u32> {
        (self.encoding == 1).then(|| self.type_id.ns0_numeric()).flatten()
    }
}

/// A built-in type id (§5.1.2, Table 1). Open: values outside 1..=25 are
/// refused by the Variant decoder but named here by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinType(pub u8);

impl BuiltinType {
    /// Boolean.
    pub const BOOLEAN: BuiltinType = BuiltinType(1);
    /// String.
    pub const STRING: BuiltinType = BuiltinType(12);
    /// ExtensionObject.
    pub const EXTENSION_OBJECT: BuiltinType = BuiltinType(22);

    /// The type's name (`Double`), or `type_N`.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 26] = [
            "Null",
            "Boolean",
            "SByte",
            "Byte",
            "Int16",
            "UInt16",
            "Int32",
            "UInt32",
            "Int64",
            "UInt64",
            "Float",
            "Double",
            "String",
            "DateTime",
            "Guid",
            "ByteString",
            "XmlElement",
            "NodeId",
            "ExpandedNodeId",
            "StatusCode",
            "QualifiedName",
            "LocalizedText",
            "ExtensionObject",
            "DataValue",
            "Variant",
            "DiagnosticInfo",
        ];
        NAMES.get(usize::from(self.0)).copied().unwrap_or("unknown")
    }
}

/// A scalar value, as far as a summary needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// Boolean.
    Bool(bool),
    /// SByte, Int16, Int32, Int64.
    Int(i64),
    /// Byte, UInt16, UInt32, UInt64.
    UInt(u64),
    /// Float, Double.
    Float(f64),
    /// String, XmlElement (`None`: null).
    String(Option<&'a [u8]>),
    /// ByteString (`None`: null).
    Bytes(Option<&'a [u8]>),
    /// DateTime: 100 ns ticks since 1601-01-01 UTC.
    DateTime(i64),
    /// Guid.
    Guid([u8; 16]),
    /// NodeId.
    NodeId(NodeId<'a>),
    /// ExpandedNodeId.
    ExpandedNodeId(ExpandedNodeId<'a>),
    /// StatusCode.
    StatusCode(u32),
    /// QualifiedName: namespace index and name.
    QualifiedName(u16, Option<&'a [u8]>),
    /// LocalizedText.
    LocalizedText(LocalizedText<'a>),
    /// ExtensionObject.
    ExtensionObject(ExtensionObject<'a>),
    /// A DataValue, Variant or DiagnosticInfo inside a Variant: skipped.
    Nested,
}

impl Scalar<'_> {
    /// A short text of the value: numbers, booleans, strings and node ids;
    /// `None` for values without a short text (bytes, structures).
    pub fn text(&self, max: usize) -> Option<String> {
        Some(match *self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(x) => x.to_string(),
            Scalar::String(Some(s)) if s.len() <= max => lossy(s, max),
            Scalar::String(None) => "null".to_string(),
            Scalar::StatusCode(c) => format!("{c:#010x}"),
            Scalar::NodeId(n) => n.to_string(),
            Scalar::LocalizedText(LocalizedText { text: Some(t), .. }) if t.len() <= max => lossy(t, max),
            _ => return None,
        })
    }
}

/// A Variant (§5.2.2.16): its type, and the value when scalar or the element
/// count when an array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Variant<'a> {
    /// The built-in type (0: null).
    pub type_id: BuiltinType,
    /// Elements, for an array (`Some(0)` for an empty or null one).
    pub array_len: Option<usize>,
    /// The value of a scalar.
    pub scalar: Option<Scalar<'a>>,
}

/// A DataValue (§5.2.2.17): the parts a summary uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataValue<'a> {
    /// The value, when present.
    pub value: Option<Variant<'a>>,
    /// The status, when present (absent means Good).
    pub status: Option<u32>,
}

/// True for a StatusCode of severity Bad (§7.34 of OPC 10000-4: the two top
/// bits 10; 11 is reserved and taken as bad too).
pub fn is_bad(status: u32) -> bool {
    status >> 31 == 1
}

/// Reads UA binary values forward through a borrowed body.
#[derive(Clone, Copy, Debug)]
pub struct Decoder<'a> {
    c: Cursor<'a>,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Decoder { c: Cursor::new(data) }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.c.remaining()
    }

    /// Everything not yet read.
    pub fn rest(self) -> &'a [u8] {
        self.c.rest()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        self.c.take(n).ok_or(DecodeError::Truncated)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.c.array::<N>().ok_or(DecodeError::Truncated)
    }

    /// Byte.
    pub fn u8(&mut self) -> Result<u8> {
        self.c.u8().ok_or(DecodeError::Truncated)
    }

    /// Boolean: any non-zero byte is true (§5.2.2.1).
    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.u8()? != 0)
    }

    /// UInt16.
    pub fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// UInt32.
    pub fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// Int32 (also enumerations, §5.2.4).
    pub fn i32(&mut self) -> Result<i32> {
        self.array().map(i32::from_le_bytes)
    }

    /// UInt64.
    pub fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// Int64 (also DateTime).
    pub fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_le_bytes)
    }

    /// Double.
    pub fn f64(&mut self) -> Result<f64> {
        self.array().map(f64::from_le_bytes)
    }

    /// A length prefix (Int32): `None` for -1 (null), an error below -1 or
    /// when `min_each` bytes per element would not fit in what is left.
    fn length(&mut self, min_each: usize) -> Result<Option<usize>> {
        let n = self.i32()?;
        if n == -1 {
            return Ok(None);
        }
        let len = usize::try_from(n).map_err(|_| DecodeError::BadLength(n))?;
        if len.saturating_mul(min_each) > self.remaining() {
            return Err(DecodeError::BadLength(n));
        }
        Ok(Some(len))
    }

    /// String (§5.2.2.4): `None` when null. The bytes are UTF-8 by the
    /// specification; they are not checked here.
    pub fn string(&mut self) -> Result<Option<&'a [u8]>> {
        match self.length(1)? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    /// ByteString (§5.2.2.7): encoded like a String.
    pub fn byte_string(&mut self) -> Result<Option<&'a [u8]>> {
        self.string()
    }

    /// An array length (§5.2.5): 0 for null, an error when the elements
    /// could not fit (each takes at least `min_each` bytes).
    pub fn array_len(&mut self, min_each: usize) -> Result<usize> {
        Ok(self.length(min_each.max(1))?.unwrap_or(0))
    }

    /// DateTime: 100 ns ticks since 1601-01-01 (§5.2.2.5).
    pub fn date_time(&mut self) -> Result<i64> {
        self.i64()
    }

    /// Guid (§5.2.2.6).
    pub fn guid(&mut self) -> Result<[u8; 16]> {
        self.array()
    }

    /// StatusCode (§5.2.2.11).
    pub fn status_code(&mut self) -> Result<u32> {
        self.u32()
    }

    /// NodeId (§5.2.2.9), all six encodings.
    pub fn node_id(&mut self) -> Result<NodeId<'a>> {
        let encoding = self.u8()?;
        if encoding & 0xc0 != 0 {
            return Err(DecodeError::BadNodeIdEncoding(encoding));
        }
        self.node_id_body(encoding)
    }

    fn node_id_body(&mut self, encoding: u8) -> Result<NodeId<'a>> {
        Ok(match encoding & 0x3f {
            // Two-byte: namespace 0, identifier 0..=255.
            0x00 => NodeId { namespace: 0, id: Identifier::Numeric(u32::from(self.u8()?)) },
            // Four-byte: namespace 0..=255, identifier 0..=65535.
            0x01 => {
                let namespace = u16::from(self.u8()?);
                NodeId { namespace, id: Identifier::Numeric(u32::from(self.u16()?)) }
            }
            0x02 => {
                let namespace = self.u16()?;
                NodeId { namespace, id: Identifier::Numeric(self.u32()?) }
            }
            0x03 => {
                let namespace = self.u16()?;
                NodeId { namespace, id: Identifier::String(self.string()?.unwrap_or_default()) }
            }
            0x04 => {
                let namespace = self.u16()?;
                NodeId { namespace, id: Identifier::Guid(self.guid()?) }
            }
            0x05 => {
                let namespace = self.u16()?;
                NodeId { namespace, id: Identifier::Opaque(self.byte_string()?.unwrap_or_default()) }
            }
            _ => return Err(DecodeError::BadNodeIdEncoding(encoding)),
        })
    }

    /// ExpandedNodeId (§5.2.2.10): flag 0x80 adds a NamespaceUri, 0x40 a
    /// ServerIndex.
    pub fn expanded_node_id(&mut self) -> Result<ExpandedNodeId<'a>> {
        let encoding = self.u8()?;
        let node = self.node_id_body(encoding)?;
        let namespace_uri = if encoding & 0x80 != 0 { self.string()? } else { None };
        let server_index = if encoding & 0x40 != 0 { Some(self.u32()?) } else { None };
        Ok(ExpandedNodeId { node, namespace_uri, server_index })
    }

    /// QualifiedName (§5.2.2.13): namespace index and name.
    pub fn qualified_name(&mut self) -> Result<(u16, Option<&'a [u8]>)> {
        Ok((self.u16()?, self.string()?))
    }

    /// LocalizedText (§5.2.2.14): mask 0x01 locale, 0x02 text.
    pub fn localized_text(&mut self) -> Result<LocalizedText<'a>> {
        let mask = self.u8()?;
        let locale = if mask & 0x01 != 0 { self.string()? } else { None };
        let text = if mask & 0x02 != 0 { self.string()? } else { None };
        Ok(LocalizedText { locale, text })
    }

    /// ExtensionObject (§5.2.2.15): type id, encoding, body.
    pub fn extension_object(&mut self) -> Result<ExtensionObject<'a>> {
        let type_id = self.node_id()?;
        let encoding = self.u8()?;
        let body = match encoding {
            0 => &[][..],
            1 | 2 => self.byte_string()?.unwrap_or_default(),
            e => return Err(DecodeError::BadExtensionObjectEncoding(e)),
        };
        Ok(ExtensionObject { type_id, encoding, body })
    }

    /// DiagnosticInfo (§5.2.2.12), skipped.
    pub fn skip_diagnostic_info(&mut self) -> Result<()> {
        self.diagnostic_info(0)
    }

    fn diagnostic_info(&mut self, depth: u8) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mask = self.u8()?;
        // SymbolicId 0x01, NamespaceUri 0x02, LocalizedText 0x04, Locale 0x08:
        // Int32 indexes into the string table.
        for bit in [0x01u8, 0x02, 0x08, 0x04] {
            if mask & bit != 0 {
                self.i32()?;
            }
        }
        if mask & 0x10 != 0 {
            self.string()?; // AdditionalInfo
        }
        if mask & 0x20 != 0 {
            self.status_code()?; // InnerStatusCode
        }
        if mask & 0x40 != 0 {
            self.diagnostic_info(depth + 1)?; // InnerDiagnosticInfo
        }
        Ok(())
    }

    /// An array of DiagnosticInfo, skipped.
    pub fn skip_diagnostic_infos(&mut self) -> Result<()> {
        for _ in 0..self.array_len(1)? {
            self.skip_diagnostic_info()?;
        }
        Ok(())
    }

    /// An array of String, skipped.
    pub fn skip_strings(&mut self) -> Result<()> {
        for _ in 0..self.array_len(4)? {
            self.string()?;
        }
        Ok(())
    }

    /// Variant (§5.2.2.16).
    pub fn variant(&mut self) -> Result<Variant<'a>> {
        self.variant_at(0)
    }

    fn variant_at(&mut self, depth: u8) -> Result<Variant<'a>> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mask = self.u8()?;
        let type_id = BuiltinType(mask & 0x3f);
        if type_id.0 > 25 {
            return Err(DecodeError::BadVariantType(type_id.0));
        }
        if type_id.0 == 0 {
            // Null: nothing follows (§5.2.2.16), whatever the array bits say.
            return Ok(Variant { type_id, array_len: None, scalar: None });
        }
        if mask & 0x80 == 0 {
            let scalar = self.scalar(type_id, depth)?;
            return Ok(Variant { type_id, array_len: None, scalar: Some(scalar) });
        }
        let n = self.array_len(1)?;
        for _ in 0..n {
            self.scalar(type_id, depth)?;
        }
        if mask & 0x40 != 0 {
            // ArrayDimensions: an array of Int32.
            for _ in 0..self.array_len(4)? {
                self.i32()?;
            }
        }
        Ok(Variant { type_id, array_len: Some(n), scalar: None })
    }

    fn scalar(&mut self, t: BuiltinType, depth: u8) -> Result<Scalar<'a>> {
        Ok(match t.0 {
            1 => Scalar::Bool(self.bool()?),
            2 => Scalar::Int(i64::from(self.u8()? as i8)),
            3 => Scalar::UInt(u64::from(self.u8()?)),
            4 => Scalar::Int(i64::from(self.u16()? as i16)),
            5 => Scalar::UInt(u64::from(self.u16()?)),
            6 => Scalar::Int(i64::from(self.i32()?)),
            7 => Scalar::UInt(u64::from(self.u32()?)),
            8 => Scalar::Int(self.i64()?),
            9 => Scalar::UInt(self.u64()?),
            10 => Scalar::Float(f64::from(f32::from_le_bytes(self.array()?))),
            11 => Scalar::Float(self.f64()?),
            12 | 16 => Scalar::String(self.string()?),
            13 => Scalar::DateTime(self.date_time()?),
            14 => Scalar::Guid(self.guid()?),
            15 => Scalar::Bytes(self.byte_string()?),
            17 => Scalar::NodeId(self.node_id()?),
            18 => Scalar::ExpandedNodeId(self.expanded_node_id()?),
            19 => Scalar::StatusCode(self.status_code()?),
            20 => {
                let (ns, name) = self.qualified_name()?;
                Scalar::QualifiedName(ns, name)
            }
            21 => Scalar::LocalizedText(self.localized_text()?),
            22 => Scalar::ExtensionObject(self.extension_object()?),
            23 => {
                self.data_value_at(depth + 1)?;
                Scalar::Nested
            }
            24 => {
                self.variant_at(depth + 1)?;
                Scalar::Nested
            }
            25 => {
                self.diagnostic_info(depth + 1)?;
                Scalar::Nested
            }
            other => return Err(DecodeError::BadVariantType(other)),
        })
    }

    /// DataValue (§5.2.2.17): mask 0x01 value, 0x02 status, 0x04 source
    /// timestamp, 0x08 server timestamp, 0x10 source picoseconds, 0x20 server
    /// picoseconds.
    pub fn data_value(&mut self) -> Result<DataValue<'a>> {
        self.data_value_at(0)
    }

    fn data_value_at(&mut self, depth: u8) -> Result<DataValue<'a>> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mask = self.u8()?;
        let value = if mask & 0x01 != 0 { Some(self.variant_at(depth + 1)?) } else { None };
        let status = if mask & 0x02 != 0 { Some(self.status_code()?) } else { None };
        if mask & 0x04 != 0 {
            self.date_time()?;
        }
        if mask & 0x10 != 0 {
            self.u16()?;
        }
        if mask & 0x08 != 0 {
            self.date_time()?;
        }
        if mask & 0x20 != 0 {
            self.u16()?;
        }
        Ok(DataValue { value, status })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_node_ids_in_all_six_encodings() {
        let mut d = Decoder::new(&[
            0x00, 0x55, // two-byte: i=85
            0x01, 0x02, 0x77, 0x02, // four-byte: ns=2;i=631
            0x02, 0x03, 0x00, 0xc0, 0x8d, 0x01, 0x00, // numeric: ns=3;i=101824
            0x03, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, b'a', b'b', // string: ns=1;s=ab
            0x04, 0x00, 0x00, // guid, ns=0
            0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 1, 2, 3, 4, 5, 6, 7, 8, // data1..4
            0x05, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0xfe, // opaque: ns=4;b=fe
        ]);
        assert_eq!(d.node_id().unwrap().to_string(), "i=85");
        assert_eq!(d.node_id().unwrap().to_string(), "ns=2;i=631");
        assert_eq!(d.node_id().unwrap().to_string(), "ns=3;i=101824");
        assert_eq!(d.node_id().unwrap().to_string(), "ns=1;s=ab");
        assert_eq!(d.node_id().unwrap().to_string(), "g=12345678-1234-5678-0102-030405060708");
        assert_eq!(d.node_id().unwrap().to_string(), "ns=4;b=fe");
        assert_eq!(d.remaining(), 0);
        assert_eq!(Decoder::new(&[0x06, 0x00]).node_id(), Err(DecodeError::BadNodeIdEncoding(6)));
        assert_eq!(Decoder::new(&[0x01, 0x00]).node_id(), Err(DecodeError::Truncated));
    }

    #[test]
    fn decodes_an_expanded_node_id_with_uri_and_server_index() {
        let mut d = Decoder::new(&[
            0xc0, 0x07, // two-byte i=7, flags: namespace URI and server index
            0x01, 0x00, 0x00, 0x00, b'u', // NamespaceUri "u"
            0x02, 0x00, 0x00, 0x00, // ServerIndex 2
        ]);
        let e = d.expanded_node_id().unwrap();
        assert_eq!((e.node.ns0_numeric(), e.namespace_uri, e.server_index), (Some(7), Some(&b"u"[..]), Some(2)));
    }

    #[test]
    fn strings_are_null_empty_or_bounded_by_the_input() {
        assert_eq!(Decoder::new(&[0xff, 0xff, 0xff, 0xff]).string(), Ok(None));
        assert_eq!(Decoder::new(&[0, 0, 0, 0]).string(), Ok(Some(&b""[..])));
        assert_eq!(Decoder::new(&[5, 0, 0, 0, b'a']).string(), Err(DecodeError::BadLength(5)));
        assert_eq!(Decoder::new(&[0xfe, 0xff, 0xff, 0xff]).string(), Err(DecodeError::BadLength(-2)));
        // An array of a billion elements is refused before any is read.
        assert_eq!(Decoder::new(&[0, 0xca, 0x9a, 0x3b, 0]).array_len(1), Err(DecodeError::BadLength(1_000_000_000)));
    }

    #[test]
    fn decodes_variants_and_data_values() {
        let mut d = Decoder::new(&[
            0x0b, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // Double 1.5
            0x86, 0x02, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0x02, 0, 0, 0, // Int32[2] {1, 2}
            0xc6, 0x01, 0, 0, 0, 0x07, 0, 0, 0, // Int32[1] {7}, with dimensions
            0x01, 0, 0, 0, 0x01, 0, 0, 0,    // dimensions [1]
            0x00, // null
            0x03, // DataValue: value and status
            0x0c, 0x02, 0, 0, 0, b'o', b'k', // String "ok"
            0x00, 0x00, 0x34, 0x80, // status BadNodeIdUnknown
        ]);
        let v = d.variant().unwrap();
        assert_eq!((v.type_id.name(), v.scalar), ("Double", Some(Scalar::Float(1.5))));
        let v = d.variant().unwrap();
        assert_eq!((v.type_id.name(), v.array_len), ("Int32", Some(2)));
        assert_eq!(d.variant().unwrap().array_len, Some(1));
        assert_eq!(d.variant().unwrap().type_id.0, 0);
        let dv = d.data_value().unwrap();
        assert_eq!(dv.value.unwrap().scalar.unwrap().text(16).as_deref(), Some("ok"));
        assert!(is_bad(dv.status.unwrap()));
        assert_eq!(d.remaining(), 0);
        assert_eq!(Decoder::new(&[0x1a]).variant(), Err(DecodeError::BadVariantType(26)));
    }

    #[test]
    fn refuses_nesting_beyond_the_limit() {
        // Variant of Variant of Variant ...
        let deep = vec![0x18u8; 64];
        assert_eq!(Decoder::new(&deep).variant(), Err(DecodeError::TooDeep));
        let diag = vec![0x40u8; 64];
        assert_eq!(Decoder::new(&diag).skip_diagnostic_info(), Err(DecodeError::TooDeep));
    }

    #[test]
    fn decodes_localized_text_and_extension_objects() {
        let mut d = Decoder::new(&[
            0x03, 0x02, 0, 0, 0, b'e', b'n', 0x01, 0, 0, 0, b'x', // locale "en", text "x"
            0x01, 0x00, 0x60, 0x03, // type id i=864
            0x01, 0x02, 0, 0, 0, 0xaa, 0xbb, // binary body of 2 bytes
        ]);
        assert_eq!(d.localized_text().unwrap(), LocalizedText { locale: Some(b"en"), text: Some(b"x") });
        let e = d.extension_object().unwrap();
        assert_eq!((e.binary_ns0(), e.body), (Some(864), &[0xaa, 0xbb][..]));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut d = Decoder::new(&data);
            let _ = d.variant();
            let mut d = Decoder::new(&data);
            let _ = d.data_value();
            let mut d = Decoder::new(&data);
            let _ = d.expanded_node_id();
            let _ = d.skip_diagnostic_info();
            let _ = d.extension_object();
            prop_assert!(d.remaining() <= data.len());
        }
    }
}
