//! Read Device Identification (function 43, MEI type 14; Modbus Application
//! Protocol Specification V1.1b3 §6.21).
//!
//! Owns reading the response header — Read Device ID code, conformity level,
//! More Follows, next object id, number of objects — and the object list, and
//! naming the objects. A device that needs several transactions to send all its
//! objects answers with More Follows = 0xFF; each part is read on its own, and
//! the caller reports each part's objects. The request (device id code and
//! object id) is read by [`super::pdu::parse_request`].

use super::pdu::PduError;
use crate::cursor::Cursor;
use std::borrow::Cow;

/// The object ids of Spec §6.21 table "Object Id".
pub mod object {
    /// 0x00, basic.
    pub const VENDOR_NAME: u8 = 0x00;
    /// 0x01, basic.
    pub const PRODUCT_CODE: u8 = 0x01;
    /// 0x02, basic.
    pub const MAJOR_MINOR_REVISION: u8 = 0x02;
    /// 0x03, regular.
    pub const VENDOR_URL: u8 = 0x03;
    /// 0x04, regular.
    pub const PRODUCT_NAME: u8 = 0x04;
    /// 0x05, regular.
    pub const MODEL_NAME: u8 = 0x05;
    /// 0x06, regular.
    pub const USER_APPLICATION_NAME: u8 = 0x06;
    /// 0x80..=0xFF are extended, device dependent.
    pub const FIRST_PRIVATE: u8 = 0x80;
}

/// The attribute name an object is reported under: `vendor`, `product_code`,
/// `revision`, `vendor_url`, `product_name`, `model`, `user_application_name`,
/// and `object_0xNN` for reserved (0x07..=0x7F) and private (0x80..) ids.
pub fn object_name(id: u8) -> Cow<'static, str> {
    Cow::Borrowed(match id {
        object::VENDOR_NAME => "vendor",
        object::PRODUCT_CODE => "product_code",
        object::MAJOR_MINOR_REVISION => "revision",
        object::VENDOR_URL => "vendor_url",
        object::PRODUCT_NAME => "product_name",
        object::MODEL_NAME => "model",
        object::USER_APPLICATION_NAME => "user_application_name",
        n => return Cow::Owned(format!("object_{n:#04x}")),
    })
}

/// One part of a Read Device Identification response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdResponse<'a> {
    /// Read Device ID code of the request (1 basic, 2 regular, 3 extended, 4 one object).
    pub read_code: u8,
    /// Conformity level (0x01..=0x03, 0x81..=0x83 with individual access).
    pub conformity_level: u8,
    /// 0xFF when further parts follow, 0x00 otherwise.
    pub more_follows: u8,
    /// Where the next part starts, when more follow.
    pub next_object_id: u8,
    /// Number of objects in this part, as announced.
    pub number_of_objects: u8,
    /// The object list, parsed when iterated.
    pub objects: &'a [u8],
}

impl<'a> DeviceIdResponse<'a> {
    /// True when the device announced further parts.
    pub fn more(&self) -> bool {
        self.more_follows == 0xff
    }

    /// The objects of this part.
    pub fn object_iter(&self) -> Objects<'a> {
        Objects { c: Cursor::new(self.objects), left: self.number_of_objects, len: self.objects.len() }
    }
}

/// Reads the body of a 43/14 response, after the function code and MEI type.
pub fn parse_response(body: &[u8]) -> Result<DeviceIdResponse<'_>, PduError> {
    let mut c = Cursor::new(body);
    let truncated = PduError::Truncated { function: 43, len: body.len().saturating_add(1), need: 7 };
    let (Some(read_code), Some(conformity_level), Some(more_follows), Some(next_object_id), Some(number_of_objects)) =
        (c.u8(), c.u8(), c.u8(), c.u8(), c.u8())
    else {
        return Err(truncated);
    };
    Ok(DeviceIdResponse {
        read_code,
        conformity_level,
        more_follows,
        next_object_id,
        number_of_objects,
        objects: c.rest(),
    })
}

/// One identification object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceObject<'a> {
    /// Object id.
    pub id: u8,
    /// Value as sent (ASCII by the spec, anything in practice).
    pub value: &'a [u8],
}

/// Iterates the announced number of objects; one that overruns the PDU yields
/// an error and ends the iteration.
#[derive(Clone, Debug)]
pub struct Objects<'a> {
    c: Cursor<'a>,
    left: u8,
    len: usize,
}

impl<'a> Iterator for Objects<'a> {
    type Item = Result<DeviceObject<'a>, PduError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = (|| {
            let id = self.c.u8()?;
            let len = self.c.u8()?;
            let value = self.c.take(usize::from(len))?;
            Some(DeviceObject { id, value })
        })();
        if item.is_none() {
            self.left = 0;
            let need = self.len.saturating_add(1);
            return Some(Err(PduError::Truncated {
                function: 43,
                len: self.len.saturating_sub(self.c.remaining()),
                need,
            }));
        }
        item.map(Ok)
    }
}

impl Objects<'_> {
    /// Bytes after the announced objects.
    pub fn trailing(&self) -> usize {
        self.c.remaining()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_standard_and_private_objects() {
        assert_eq!(object_name(0), "vendor");
        assert_eq!(object_name(2), "revision");
        assert_eq!(object_name(6), "user_application_name");
        assert_eq!(object_name(0x07), "object_0x07");
        assert_eq!(object_name(0x81), "object_0x81");
    }

    #[test]
    fn reads_a_basic_identification_part() {
        let body = [
            0x01, // read device id code: basic
            0x01, // conformity level: basic, stream access only
            0x00, // more follows: no
            0x00, // next object id
            0x02, // number of objects
            0x00, 0x03, b'A', b'B', b'B', // object 0 vendor name, 3 bytes
            0x01, 0x02, b'P', b'1', // object 1 product code, 2 bytes
        ];
        let r = parse_response(&body).unwrap();
        assert!(!r.more());
        let objs: Vec<_> = r.object_iter().map(Result::unwrap).collect();
        assert_eq!(objs, vec![DeviceObject { id: 0, value: b"ABB" }, DeviceObject { id: 1, value: b"P1" }]);
    }

    #[test]
    fn reports_an_object_that_overruns_the_pdu() {
        let body = [
            0x01, 0x01, 0x00, 0x00, // code, conformity, more follows, next id
            0x02, // two objects announced
            0x00, 0x09, b'A', // object 0 claims 9 bytes, 1 present
        ];
        let r = parse_response(&body).unwrap();
        let items: Vec<_> = r.object_iter().collect();
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
    }
}
