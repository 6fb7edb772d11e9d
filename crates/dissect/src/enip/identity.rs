//! Device identity: the ListIdentity reply item (CIP Volume 2 §2-4.3.2) and
//! the Identity object's attributes 1..=8 (Volume 1 §5-2.2: vendor id,
//! device type, product code, revision, status, serial number, product name,
//! state) as Get_Attributes_All, Get_Attribute_Single and Get_Attribute_List
//! replies carry them; and the names of common vendors and device types.
//!
//! Text follows tshark where it has a convention: the serial number as
//! `0x` and eight hex digits, the revision as `major.minor`. Numeric ids are
//! always kept beside the names.

use super::names;
use crate::cursor::Cursor;
use otposture_model::{format_compact, ToCompactString};
use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddrV4};

/// What is known of a device's identity; every field optional, so partial
/// answers (one attribute) fit too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity<'a> {
    /// Vendor id (ODVA-assigned).
    pub vendor: Option<u16>,
    /// Device type (device profile).
    pub device_type: Option<u16>,
    /// Vendor-assigned product code.
    pub product_code: Option<u16>,
    /// Firmware revision (major, minor).
    pub revision: Option<(u8, u8)>,
    /// Device status word.
    pub status: Option<u16>,
    /// Serial number.
    pub serial: Option<u32>,
    /// Product name.
    pub product_name: Option<&'a [u8]>,
    /// Device state (0 nonexistent .. 5 major fault, 0xFF default).
    pub state: Option<u8>,
    /// The socket address a ListIdentity reply names.
    pub socket: Option<SocketAddrV4>,
}

/// Reads a SHORT_STRING: a length byte, then that many characters.
fn short_string<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    let n = c.u8()?;
    c.take(usize::from(n))
}

/// Reads attributes 1..=7 in Get_Attributes_All order, then the state if present.
fn all_attributes<'a>(c: &mut Cursor<'a>, id: &mut Identity<'a>) -> Option<()> {
    id.vendor = Some(c.le_u16()?);
    id.device_type = Some(c.le_u16()?);
    id.product_code = Some(c.le_u16()?);
    id.revision = Some((c.u8()?, c.u8()?));
    id.status = Some(c.le_u16()?);
    id.serial = Some(c.le_u32()?);
    id.product_name = Some(short_string(c)?);
    id.state = c.u8();
    Some(())
}

/// Reads a ListIdentity reply item (type 0x0C): encapsulation version, socket
/// address (network order, §2-6.3.3), then the identity attributes and state.
pub fn list_identity_item(data: &[u8]) -> Option<Identity<'_>> {
    let mut c = Cursor::new(data);
    let _version = c.le_u16()?;
    let _family = c.be_u16()?;
    let port = c.be_u16()?;
    let addr = Ipv4Addr::from(c.be_u32()?);
    c.take(8)?;
    let mut id = Identity { socket: Some(SocketAddrV4::new(addr, port)), ..Identity::default() };
    all_attributes(&mut c, &mut id)?;
    Some(id)
}

/// Reads a Get_Attributes_All reply body of the Identity object.
pub fn get_attributes_all(data: &[u8]) -> Option<Identity<'_>> {
    let mut id = Identity::default();
    all_attributes(&mut Cursor::new(data), &mut id)?;
    Some(id)
}

/// Reads one attribute value into `id`; `None` for attributes whose size is
/// not known here (the rest of a list cannot then be read).
fn attribute<'a>(c: &mut Cursor<'a>, attribute: u32, id: &mut Identity<'a>) -> Option<()> {
    match attribute {
        1 => id.vendor = Some(c.le_u16()?),
        2 => id.device_type = Some(c.le_u16()?),
        3 => id.product_code = Some(c.le_u16()?),
        4 => id.revision = Some((c.u8()?, c.u8()?)),
        5 => id.status = Some(c.le_u16()?),
        6 => id.serial = Some(c.le_u32()?),
        7 => id.product_name = Some(short_string(c)?),
        8 => id.state = Some(c.u8()?),
        _ => return None,
    }
    Some(())
}

/// Reads a Get_Attribute_Single reply body for `attr`.
pub fn get_attribute_single(data: &[u8], attr: u32) -> Option<Identity<'_>> {
    let mut id = Identity::default();
    attribute(&mut Cursor::new(data), attr, &mut id)?;
    Some(id)
}

/// Reads a Get_Attribute_List reply body (count, then id, status and value
/// per attribute), up to the first attribute of unknown size.
pub fn get_attribute_list(data: &[u8]) -> Option<Identity<'_>> {
    let mut c = Cursor::new(data);
    let count = c.le_u16()?;
    let mut id = Identity::default();
    for _ in 0..count {
        let (Some(a), Some(status)) = (c.le_u16(), c.le_u16()) else { break };
        if status != 0 {
            continue;
        }
        if attribute(&mut c, u32::from(a), &mut id).is_none() {
            break;
        }
    }
    (id != Identity::default()).then_some(id)
}

impl Identity<'_> {
    /// The attributes of an identity event, in a fixed order; names are
    /// given beside the numeric ids.
    pub fn attributes(&self) -> Vec<(Cow<'static, str>, otposture_model::AttrValue)> {
        let mut a: Vec<(Cow<'static, str>, otposture_model::AttrValue)> = Vec::with_capacity(12);
        if let Some(v) = self.vendor {
            a.push((Cow::Borrowed("vendor_id"), v.to_compact_string()));
            if let Some(name) = names::vendor(v) {
                a.push((Cow::Borrowed("vendor"), name.to_compact_string()));
            }
        }
        if let Some(t) = self.device_type {
            a.push((Cow::Borrowed("device_type_id"), t.to_compact_string()));
            if let Some(name) = names::device_type(t) {
                a.push((Cow::Borrowed("device_type"), name.to_compact_string()));
            }
        }
        if let Some(p) = self.product_code {
            a.push((Cow::Borrowed("product_code"), p.to_compact_string()));
        }
        if let Some((major, minor)) = self.revision {
            a.push((Cow::Borrowed("revision"), format!("{major}.{minor}").into()));
        }
        if let Some(s) = self.serial {
            a.push((Cow::Borrowed("serial"), format_compact!("{s:#010x}")));
        }
        if let Some(n) = self.product_name {
            a.push((Cow::Borrowed("product_name"), super::cip::symbol_text(n).trim().to_compact_string()));
        }
        if let Some(s) = self.status {
            a.push((Cow::Borrowed("status"), format_compact!("{s:#06x}")));
        }
        if let Some(s) = self.state {
            a.push((Cow::Borrowed("state"), s.to_compact_string()));
        }
        if let Some(s) = self.socket {
            a.push((Cow::Borrowed("socket_address"), s.to_compact_string()));
        }
        a
    }
}

/// A Get_Attributes_All reply body for session tests.
#[cfg(test)]
pub(crate) fn tests_l61() -> Vec<u8> {
    tests::L61.to_vec()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// Get_Attributes_All reply of a 1756-L61 (values from EIP-RebootorRestart.pcap).
    pub(crate) const L61: [u8; 35] = [
        0x01, 0x00, // vendor 1
        0x0e, 0x00, // device type 14: PLC
        0x36, 0x00, // product code 54
        0x10, 0x14, // revision 16.20
        0x60, 0x30, // status
        0x3f, 0x82, 0x51, 0x00, // serial 0x0051823f
        0x14, // name length 20
        b'1', b'7', b'5', b'6', b'-', b'L', b'6', b'1', b'/', b'B', b' ', b'L', b'O', b'G', b'I', b'X', b'5', b'5',
        b'6', b'1', // "1756-L61/B LOGIX5561"
    ];

    #[test]
    fn reads_get_attributes_all_into_named_attributes() {
        let id = get_attributes_all(&L61).unwrap();
        let a = id.attributes();
        let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("vendor_id"), Some("1"));
        assert_eq!(get("vendor"), Some("Rockwell Automation/Allen-Bradley"));
        assert_eq!(get("device_type"), Some("Programmable Logic Controller"));
        assert_eq!(get("product_code"), Some("54"));
        assert_eq!(get("revision"), Some("16.20"));
        assert_eq!(get("serial"), Some("0x0051823f"));
        assert_eq!(get("product_name"), Some("1756-L61/B LOGIX5561"));
        assert_eq!(get("state"), None);
        assert_eq!(get_attributes_all(&L61[..20]), None);
    }

    #[test]
    fn reads_single_and_list_replies() {
        assert_eq!(get_attribute_single(&[0x3f, 0x82, 0x51, 0x00], 6).unwrap().serial, Some(0x0051_823f));
        assert_eq!(get_attribute_single(&[0x01], 99), None);
        let list = [
            0x02, 0x00, // two attributes
            0x01, 0x00, 0x00, 0x00, 0x01, 0x00, // attribute 1, status 0, vendor 1
            0x08, 0x00, 0x00, 0x00, 0x03, // attribute 8, status 0, state 3
        ];
        let id = get_attribute_list(&list).unwrap();
        assert_eq!((id.vendor, id.state), (Some(1), Some(3)));
    }
}
