//! Connection Manager service bodies (CIP Volume 1, Edition 3.x, §3-5.5):
//! Forward_Open and Large_Forward_Open requests and replies, Forward_Close
//! requests, and Unconnected_Send requests with their embedded message and
//! route path.
//!
//! Only what the session needs is read: connection ids, serial triple, RPIs,
//! transport class and the paths. Safety and redundant-owner variants are
//! not distinguished.

use crate::cursor::Cursor;

/// A Forward_Open (0x54) or Large_Forward_Open (0x5B) request (§3-5.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpen<'a> {
    /// O->T network connection id proposed by the originator (the target
    /// usually assigns its own in the reply).
    pub o2t_id: u32,
    /// T->O network connection id chosen by the originator.
    pub t2o_id: u32,
    /// Connection serial number.
    pub serial: u16,
    /// Originator vendor id.
    pub vendor: u16,
    /// Originator serial number.
    pub originator_serial: u32,
    /// O->T requested packet interval, microseconds.
    pub o2t_rpi: u32,
    /// T->O requested packet interval, microseconds.
    pub t2o_rpi: u32,
    /// Transport class and trigger: class in the low nibble.
    pub transport: u8,
    /// The connection path (padded EPATH).
    pub path: &'a [u8],
}

impl ForwardOpen<'_> {
    /// Transport class 0..=3 (0 and 1 carry cyclic I/O, 3 explicit messages).
    pub fn transport_class(&self) -> u8 {
        self.transport & 0x0f
    }
}

/// Reads a Forward_Open body; `large` for Large_Forward_Open (32-bit network
/// connection parameters).
pub fn forward_open(data: &[u8], large: bool) -> Option<ForwardOpen<'_>> {
    let mut c = Cursor::new(data);
    let _tick = c.u8()?;
    let _timeout_ticks = c.u8()?;
    let o2t_id = c.le_u32()?;
    let t2o_id = c.le_u32()?;
    let serial = c.le_u16()?;
    let vendor = c.le_u16()?;
    let originator_serial = c.le_u32()?;
    let _multiplier = c.u8()?;
    c.take(3)?;
    let o2t_rpi = c.le_u32()?;
    if large {
        c.le_u32()?
    } else {
        u32::from(c.le_u16()?)
    };
    let t2o_rpi = c.le_u32()?;
    if large {
        c.le_u32()?
    } else {
        u32::from(c.le_u16()?)
    };
    let transport = c.u8()?;
    let words = c.u8()?;
    let path = c.take(usize::from(words) * 2)?;
    Some(ForwardOpen { o2t_id, t2o_id, serial, vendor, originator_serial, o2t_rpi, t2o_rpi, transport, path })
}

/// A successful Forward_Open reply (§3-5.5.2.2): the ids in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpenReply {
    /// O->T network connection id (chosen by the target).
    pub o2t_id: u32,
    /// T->O network connection id.
    pub t2o_id: u32,
    /// Connection serial number.
    pub serial: u16,
    /// Originator vendor id.
    pub vendor: u16,
    /// Originator serial number.
    pub originator_serial: u32,
}

/// Reads a successful Forward_Open reply body.
pub fn forward_open_reply(data: &[u8]) -> Option<ForwardOpenReply> {
    let mut c = Cursor::new(data);
    Some(ForwardOpenReply {
        o2t_id: c.le_u32()?,
        t2o_id: c.le_u32()?,
        serial: c.le_u16()?,
        vendor: c.le_u16()?,
        originator_serial: c.le_u32()?,
    })
}

/// A Forward_Close request (§3-5.5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardClose<'a> {
    /// Connection serial number.
    pub serial: u16,
    /// Originator vendor id.
    pub vendor: u16,
    /// Originator serial number.
    pub originator_serial: u32,
    /// The connection path.
    pub path: &'a [u8],
}

/// Reads a Forward_Close body.
pub fn forward_close(data: &[u8]) -> Option<ForwardClose<'_>> {
    let mut c = Cursor::new(data);
    let _tick = c.u8()?;
    let _timeout_ticks = c.u8()?;
    let serial = c.le_u16()?;
    let vendor = c.le_u16()?;
    let originator_serial = c.le_u32()?;
    let words = c.u8()?;
    let _reserved = c.u8()?;
    let path = c.take(usize::from(words) * 2)?;
    Some(ForwardClose { serial, vendor, originator_serial, path })
}

/// An Unconnected_Send request (§3-5.5.4): a message for another node and
/// the route to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnconnectedSend<'a> {
    /// The embedded message router request.
    pub message: &'a [u8],
    /// The route path (port segments).
    pub route: &'a [u8],
}

/// Reads an Unconnected_Send body. The route path is optional in practice
/// (some originators end the body after the message); it is then empty.
pub fn unconnected_send(data: &[u8]) -> Option<UnconnectedSend<'_>> {
    let mut c = Cursor::new(data);
    let _tick = c.u8()?;
    let _timeout_ticks = c.u8()?;
    let size = c.le_u16()?;
    let message = c.take(usize::from(size))?;
    // The message is padded to an even length.
    if size % 2 == 1 {
        let _pad = c.u8();
    }
    let route = match (c.u8(), c.u8()) {
        (Some(words), Some(_reserved)) => c.take(usize::from(words) * 2).unwrap_or_else(|| c.rest()),
        _ => &[],
    };
    Some(UnconnectedSend { message, route })
}

/// A route path as text: `port/link` pairs (`1/0` = backplane slot 0).
pub fn route_text(route: &[u8]) -> String {
    let mut out = String::new();
    for s in super::cip::segments(route) {
        let Ok(super::cip::Segment::Port { port, link }) = s else { break };
        if !out.is_empty() {
            out.push(',');
        }
        let link = match link {
            [one] => one.to_string(),
            many => super::cip::symbol_text(many),
        };
        out.push_str(&format!("{port}/{link}"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_unconnected_send_with_its_route() {
        let body = [
            0x0a, 0xf0, // priority/tick, timeout ticks
            0x06, 0x00, // message size 6
            0x01, 0x02, 0x20, 0x01, 0x24, 0x01, // Get_Attributes_All, Identity instance 1
            0x01, 0x00, // route path size 1 word, reserved
            0x01, 0x00, // port 1, link 0
        ];
        let u = unconnected_send(&body).unwrap();
        assert_eq!(u.message, &body[4..10]);
        assert_eq!(route_text(u.route), "1/0");
    }

    #[test]
    fn reads_a_forward_open_and_its_reply() {
        let mut body = vec![
            0x0a, 0x0e, // priority/tick, timeout ticks
            0x00, 0x00, 0x00, 0x00, // O->T id 0
            0x11, 0x22, 0x33, 0x44, // T->O id 0x44332211
            0x05, 0x00, // connection serial 5
            0x01, 0x00, // vendor 1
            0x78, 0x56, 0x34, 0x12, // originator serial
            0x01, 0x00, 0x00, 0x00, // timeout multiplier, reserved
            0x40, 0x42, 0x0f, 0x00, // O->T RPI 1 s
            0xf4, 0x43, // O->T parameters
            0x40, 0x42, 0x0f, 0x00, // T->O RPI 1 s
            0xf4, 0x43, // T->O parameters
            0xa3, // transport: server, class 3
            0x02, // path 2 words
            0x20, 0x02, 0x24, 0x01, // Message Router instance 1
        ];
        let f = forward_open(&body, false).unwrap();
        assert_eq!((f.t2o_id, f.serial, f.transport_class()), (0x4433_2211, 5, 3));
        assert_eq!(f.path, &[0x20, 0x02, 0x24, 0x01]);
        body.truncate(20);
        assert_eq!(forward_open(&body, false), None);
        let reply = [0xaa, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x05, 0x00, 0x01, 0x00, 0x78, 0x56, 0x34, 0x12];
        assert_eq!(forward_open_reply(&reply).unwrap().o2t_id, 0xaa);
    }
}
