//! The TwinCAT router's UDP service (port 48899): discovery, and adding a
//! route. Not the AMS/UDP transport of ADS commands: a header of its own.
//!
//! Every datagram starts with a magic number (0x71146603), an invoke id, a
//! service id (1: discovery, 6: add route; the answer sets the high bit),
//! the sender's AMS Net Id and port, and a count of tags, each an id, a
//! length and that many bytes (all little-endian). The tags read here
//! (from the traffic of TwinCAT 2 and 3 routers, as Beckhoff publishes no
//! specification of this service): 1 status (an answer's result), 2
//! password, 3 TwinCAT version (major, minor, build), 4 operating system
//! (an OSVERSIONINFO: size, major, minor, build, platform), 5 host name
//! (an address in an add-route request), 7 AMS Net Id, 12 route name,
//! 13 user name.
//!
//! An add-route request carries a Windows user name and password of the
//! controller, in clear, and creates a route by which that host may then
//! send the controller any ADS command: it is kept as an `authentication`
//! operation with the user name and `password: given`, never the password.
//! A discovery answer names the controller (host name, operating system,
//! TwinCAT version) as an identity event.

use super::ams::NetId;
use super::{Attributes, PROTOCOL};
use crate::cursor::Cursor;
use crate::text::{dec, fixed, hex};
use crate::{DatagramSession, Emit, PacketCtx};
use otposture_model::{format_compact, Direction, EventKind, OperationClass};
use std::borrow::Cow;

/// The router service's UDP port.
pub const PORT: u16 = 48899;
/// What every datagram starts with.
pub const MAGIC: u32 = 0x7114_6603;
/// Service ids; an answer sets [`RESPONSE`].
pub const SERVICE_DISCOVERY: u32 = 1;
/// Add a route.
pub const SERVICE_ADD_ROUTE: u32 = 6;
/// The answer bit of a service id.
pub const RESPONSE: u32 = 0x8000_0000;
/// Tags read at most per datagram.
const MAX_TAGS: u32 = 64;
/// Longest text kept from a tag.
const MAX_TEXT: usize = 255;

/// A datagram's header and tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Pairs an answer with its request.
    pub invoke_id: u32,
    /// Service id, with [`RESPONSE`] in an answer.
    pub service: u32,
    /// The sender's AMS Net Id.
    pub net_id: NetId,
    /// The sender's AMS port.
    pub port: u16,
    /// Tags: id and bytes, in order.
    pub tags: Vec<(u16, &'a [u8])>,
    /// The tags ran past the datagram's end (those before it are kept).
    pub truncated: bool,
}

/// Reads a datagram; `None` when it does not start with the magic number
/// and a whole header.
pub fn parse(data: &[u8]) -> Option<Datagram<'_>> {
    let mut c = Cursor::new(data);
    if c.le_u32()? != MAGIC {
        return None;
    }
    let invoke_id = c.le_u32()?;
    let service = c.le_u32()?;
    let net_id = NetId(c.array()?);
    let port = c.le_u16()?;
    let count = c.le_u32()?;
    let mut tags = Vec::new();
    let mut truncated = false;
    for _ in 0..count.min(MAX_TAGS) {
        let tag = (|| {
            let id = c.le_u16()?;
            let len = c.le_u16()?;
            Some((id, c.take(usize::from(len))?))
        })();
        match tag {
            Some(t) => tags.push(t),
            None => {
                truncated = true;
                break;
            }
        }
    }
    Some(Datagram { invoke_id, service, net_id, port, tags, truncated })
}

impl<'a> Datagram<'a> {
    fn tag(&self, id: u16) -> Option<&'a [u8]> {
        self.tags.iter().find(|(t, _)| *t == id).map(|(_, b)| *b)
    }

    /// A tag's text, NULs and spaces trimmed, at most [`MAX_TEXT`] bytes.
    fn text(&self, id: u16) -> Option<otposture_model::AttrValue> {
        let b = self.tag(id)?;
        let b = b.split(|&x| x == 0).next().unwrap_or_default();
        let b = b.get(..MAX_TEXT.min(b.len())).unwrap_or_default();
        let t = String::from_utf8_lossy(b);
        let t = t.trim();
        (!t.is_empty()).then(|| t.into())
    }
}

/// Whether `data` is a datagram of this service: the magic number and a
/// whole header.
pub fn is_router_datagram(data: &[u8]) -> bool {
    parse(data).is_some()
}

/// A flow's session.
#[derive(Debug, Default)]
pub(crate) struct Session;

impl DatagramSession for Session {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Some(d) = parse(data) else {
            emit.malformed(ctx, PROTOCOL, "bad_router_datagram");
            return;
        };
        if d.truncated {
            emit.malformed(ctx, PROTOCOL, "truncated_tags");
        }
        let answer = d.service & RESPONSE != 0;
        match (d.service & !RESPONSE, answer) {
            (SERVICE_DISCOVERY, false) => {
                emit.message(ctx, PROTOCOL, Cow::Borrowed("router_discovery"), OperationClass::Discovery)
            }
            (SERVICE_DISCOVERY, true) => {
                emit.message(ctx, PROTOCOL, Cow::Borrowed("router_discovery"), OperationClass::Discovery);
                discovered(ctx, &d, emit);
            }
            (SERVICE_ADD_ROUTE, false) => {
                let mut a: Attributes = Vec::with_capacity(8);
                a.push((Cow::Borrowed("message"), fixed("request")));
                a.push((Cow::Borrowed("source_net_id"), d.net_id.text()));
                a.push((Cow::Borrowed("invoke_id"), dec(d.invoke_id)));
                if let Some(user) = d.text(13) {
                    a.push((Cow::Borrowed("user"), user));
                }
                // Never the password itself.
                if d.tag(2).is_some() {
                    a.push((Cow::Borrowed("password"), fixed("given")));
                }
                if let Some(name) = d.text(12) {
                    a.push((Cow::Borrowed("route_name"), name));
                }
                if let Some(id) = d.tag(7).and_then(|b| b.first_chunk::<6>()) {
                    a.push((Cow::Borrowed("route_net_id"), NetId(*id).text()));
                }
                if let Some(host) = d.text(5) {
                    a.push((Cow::Borrowed("route_address"), host));
                }
                emit.operation(ctx, PROTOCOL, Cow::Borrowed("add_route"), OperationClass::Authentication, a);
            }
            (SERVICE_ADD_ROUTE, true) => {
                let status = d.tag(1).and_then(|b| b.first_chunk::<4>()).map(|b| u32::from_le_bytes(*b));
                match status {
                    Some(0) => emit.answer(ctx, PROTOCOL, Cow::Borrowed("add_route"), OperationClass::Authentication),
                    _ => {
                        let mut a: Attributes = Vec::with_capacity(4);
                        a.push((Cow::Borrowed("message"), fixed("response")));
                        a.push((Cow::Borrowed("source_net_id"), d.net_id.text()));
                        if let Some(s) = status {
                            a.push((Cow::Borrowed("result"), hex(u64::from(s), 4)));
                        }
                        emit.operation(
                            ctx,
                            PROTOCOL,
                            Cow::Borrowed("add_route_refused"),
                            OperationClass::Authentication,
                            a,
                        );
                    }
                }
            }
            _ => emit.message(ctx, PROTOCOL, Cow::Borrowed("router_unknown_service"), OperationClass::Unknown),
        }
    }
}

/// The operating system an OSVERSIONINFO names (platform 2: Windows NT, 3:
/// Windows CE), with its version.
fn os_text(b: &[u8]) -> Option<otposture_model::AttrValue> {
    let mut c = Cursor::new(b);
    let _size = c.le_u32()?;
    let major = c.le_u32()?;
    let minor = c.le_u32()?;
    let build = c.le_u32()?;
    let platform = c.le_u32()?;
    let family = match platform {
        2 => "Windows NT",
        3 => "Windows CE",
        // TwinCAT/BSD and TwinCAT on Linux answer with other values.
        _ => return Some(format_compact!("platform {platform} {major}.{minor}.{build}")),
    };
    Some(format_compact!("{family} {major}.{minor}.{build}"))
}

/// A discovery answer: the controller's identity.
fn discovered(ctx: &PacketCtx<'_>, d: &Datagram<'_>, emit: &mut dyn Emit) {
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "ads.router");
    e.attributes.push((Cow::Borrowed("ams_net_id"), d.net_id.text()));
    if let Some(name) = d.text(5) {
        e.attributes.push((Cow::Borrowed("host_name"), name));
    }
    if let Some(os) = d.tag(4).and_then(os_text) {
        e.attributes.push((Cow::Borrowed("os"), os));
    }
    if let Some(v) = d.tag(3).and_then(|b| b.first_chunk::<4>()) {
        let [major, minor, lo, hi] = *v;
        let build = u16::from_le_bytes([lo, hi]);
        e.attributes.push((Cow::Borrowed("twincat_version"), format_compact!("{major}.{minor}.{build}")));
    }
    emit.event(e);
}
