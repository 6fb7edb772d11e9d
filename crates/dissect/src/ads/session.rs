//! Per-flow ADS state over AMS/TCP: one [`Framer`] per direction, the
//! requests waiting for their responses (paired by invoke id and command,
//! the response travelling the other way), and the counters of what did not
//! pair or parse.
//!
//! Requests and responses are told apart by the AMS state flags, not by the
//! direction: a server sends Device Notifications unasked, and an
//! engineering station and a runtime may each ask the other over one
//! connection. At most [`MAX_PENDING`] requests wait; the oldest is dropped
//! and counted when more come. Counts are reported once, when the flow
//! closes, as one anomaly event.

use super::ams::{Framed, Framer, Header};
use super::command::{self, id};
use super::{Attributes, PROTOCOL};
use crate::cursor::Cursor;
use crate::text::{dec, fixed, hex};
use crate::{Emit, PacketCtx, StreamSession};
use otposture_model::{Direction, EventKind};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Requests remembered per flow while waiting for their responses.
pub(crate) const MAX_PENDING: usize = 64;

/// What a request leaves for its response.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// The direction the request went.
    direction: Direction,
    invoke_id: u32,
    command: u16,
    group: Option<u32>,
    state: Option<u16>,
    port: u16,
}

/// What did not pair or parse, reported when the flow closes.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    unanswered: u64,
    unsolicited: u64,
    command_mismatches: u64,
    evicted: u64,
    truncated_bodies: u64,
    error_responses: u64,
}

/// Everything but the framers, so a framer's callback can use it.
#[derive(Debug, Default)]
struct Pairing {
    pending: VecDeque<Pending>,
    counters: Counters,
    /// At the start and after a gap a response whose request was not seen is
    /// expected: not counted until a request is seen.
    lenient: bool,
}

/// The per-flow session.
#[derive(Debug)]
pub(crate) struct Session {
    framers: [Framer; 2],
    pairing: Pairing,
}

impl Session {
    pub(crate) fn new() -> Self {
        Session { framers: [Framer::new(), Framer::new()], pairing: Pairing { lenient: true, ..Pairing::default() } }
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { framers, pairing } = self;
        let Some(framer) = framers.get_mut(direction.index()) else { return };
        framer.push(data, &mut |f| match f {
            Framed::Frame(header, body) => pairing.message(ctx, direction, &header, body, emit),
            Framed::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.what()),
        });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if let Some(f) = self.framers.get_mut(direction.index()) {
            f.gap(len);
        }
        // Answers lost in the gap are not "unanswered", nor answers to
        // requests lost in it "unsolicited".
        self.pairing.pending.clear();
        self.pairing.lenient = true;
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let c = self.pairing.counters;
        let skipped: u64 = self.framers.iter().map(|f| f.stats.skipped_bytes).sum();
        let counts = [
            ("unanswered_requests", c.unanswered),
            ("unsolicited_responses", c.unsolicited),
            ("command_mismatches", c.command_mismatches),
            ("evicted_requests", c.evicted),
            ("truncated_bodies", c.truncated_bodies),
            ("error_responses", c.error_responses),
            ("resync_skipped_bytes", skipped),
        ];
        if let Some(e) = ctx.counts_event(PROTOCOL, "ads.session_anomalies", &counts) {
            emit.event(e);
        }
    }
}

/// The fields of a request's ADS data that name what it does.
#[derive(Clone, Copy, Debug, Default)]
struct Request {
    group: Option<u32>,
    offset: Option<u32>,
    /// Bytes to read (Read, ReadWrite, notifications).
    read_length: Option<u32>,
    /// Bytes written (Write, ReadWrite, Write Control).
    write_length: Option<u32>,
    /// The ADS and device state a Write Control asks for.
    ads_state: Option<u16>,
    device_state: Option<u16>,
    /// A notification handle (Delete Device Notification).
    handle: Option<u32>,
    /// The body is shorter than its command's fields or than the data they announce.
    truncated: bool,
}

/// Reads a request's ADS data (Beckhoff InfoSys, "ADS commands").
fn parse_request(command: u16, body: &[u8]) -> Request {
    let mut c = Cursor::new(body);
    let mut r = Request::default();
    let complete = match command {
        id::READ => (|| {
            r.group = Some(c.le_u32()?);
            r.offset = Some(c.le_u32()?);
            r.read_length = Some(c.le_u32()?);
            Some(())
        })()
        .is_some(),
        id::WRITE => (|| {
            r.group = Some(c.le_u32()?);
            r.offset = Some(c.le_u32()?);
            let n = c.le_u32()?;
            r.write_length = Some(n);
            c.take(usize::try_from(n).ok()?)?;
            Some(())
        })()
        .is_some(),
        id::READ_WRITE => (|| {
            r.group = Some(c.le_u32()?);
            r.offset = Some(c.le_u32()?);
            r.read_length = Some(c.le_u32()?);
            let n = c.le_u32()?;
            r.write_length = Some(n);
            c.take(usize::try_from(n).ok()?)?;
            Some(())
        })()
        .is_some(),
        id::WRITE_CONTROL => (|| {
            r.ads_state = Some(c.le_u16()?);
            r.device_state = Some(c.le_u16()?);
            let n = c.le_u32()?;
            r.write_length = Some(n);
            c.take(usize::try_from(n).ok()?)?;
            Some(())
        })()
        .is_some(),
        id::ADD_DEVICE_NOTIFICATION => (|| {
            r.group = Some(c.le_u32()?);
            r.offset = Some(c.le_u32()?);
            r.read_length = Some(c.le_u32()?);
            // Transmission mode, maximum delay, cycle time and 16 reserved bytes.
            c.skip(12 + 16)?;
            Some(())
        })()
        .is_some(),
        id::DELETE_DEVICE_NOTIFICATION => (|| {
            r.handle = Some(c.le_u32()?);
            Some(())
        })()
        .is_some(),
        _ => true,
    };
    r.truncated = !complete;
    r
}

/// The result code at the start of a response's ADS data (every response
/// but a Device Notification's, which has none), or `None` when cut short.
fn result_code(body: &[u8]) -> Option<u32> {
    Cursor::new(body).le_u32()
}

impl Pairing {
    fn message(&mut self, ctx: &PacketCtx<'_>, direction: Direction, h: &Header, body: &[u8], emit: &mut dyn Emit) {
        // A Device Notification is sent as a request and never answered.
        if h.is_response() && h.command != id::DEVICE_NOTIFICATION {
            self.response(ctx, direction, h, body, emit);
        } else {
            self.request(ctx, direction, h, body, emit);
        }
    }

    fn request(&mut self, ctx: &PacketCtx<'_>, direction: Direction, h: &Header, body: &[u8], emit: &mut dyn Emit) {
        let r = parse_request(h.command, body);
        if r.truncated {
            self.counters.truncated_bodies += 1;
            emit.malformed(ctx, PROTOCOL, "truncated_request");
        }
        if h.command != id::DEVICE_NOTIFICATION {
            self.lenient = false;
            if let Some(i) = self.pending.iter().position(|p| p.invoke_id == h.invoke_id && p.direction == direction) {
                // The same id again before an answer: the earlier went unanswered.
                self.pending.remove(i);
                self.counters.unanswered += 1;
            }
            if self.pending.len() >= MAX_PENDING {
                self.pending.pop_front();
                self.counters.unanswered += 1;
                self.counters.evicted += 1;
            }
            self.pending.push_back(Pending {
                direction,
                invoke_id: h.invoke_id,
                command: h.command,
                group: r.group,
                state: r.ads_state,
                port: h.target_port,
            });
        }
        let (name, class) = command::operation(h.command, r.group, r.ads_state, h.target_port);
        if class.is_notable() {
            emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, request_attributes(h, &r));
        } else {
            emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
        }
    }

    fn response(&mut self, ctx: &PacketCtx<'_>, direction: Direction, h: &Header, body: &[u8], emit: &mut dyn Emit) {
        let asked = match self.pending.iter().position(|p| p.invoke_id == h.invoke_id && p.direction != direction) {
            Some(i) => {
                let p = self.pending.remove(i);
                match p {
                    Some(p) if p.command == h.command => Some(p),
                    _ => {
                        self.counters.command_mismatches += 1;
                        None
                    }
                }
            }
            None => {
                if !self.lenient {
                    self.counters.unsolicited += 1;
                }
                None
            }
        };
        let result = result_code(body);
        if result.is_none() && h.error == 0 {
            self.counters.truncated_bodies += 1;
            emit.malformed(ctx, PROTOCOL, "truncated_response");
        }
        // The AMS error (the router could not deliver) or the ADS result.
        let failed = if h.error != 0 { Some(h.error) } else { result.filter(|&r| r != 0) };
        // The response's own source port is the device that answered.
        let (name, class) = match asked {
            Some(p) => command::operation(p.command, p.group, p.state, p.port),
            None => command::operation(h.command, None, None, h.source_port),
        };
        match failed {
            None if asked.is_some() => emit.answer(ctx, PROTOCOL, Cow::Borrowed(name), class),
            None if class.is_notable() => {
                emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, response_attributes(h, None))
            }
            None => emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class),
            Some(code) => {
                self.counters.error_responses += 1;
                let name = Cow::Owned(format!("{name}_error"));
                if class.is_notable() {
                    emit.operation(ctx, PROTOCOL, name, class, response_attributes(h, Some(code)));
                } else {
                    emit.message(ctx, PROTOCOL, name, class);
                }
            }
        }
        if failed.is_none() && h.command == id::READ_DEVICE_INFO {
            device_info(ctx, h, body, emit);
        }
    }
}

/// The addressing every kept record carries.
fn addressing(h: &Header, a: &mut Attributes) {
    a.push((Cow::Borrowed("target_net_id"), h.target.text()));
    a.push((Cow::Borrowed("target_port"), dec(h.target_port)));
    a.push((Cow::Borrowed("source_net_id"), h.source.text()));
    a.push((Cow::Borrowed("source_port"), dec(h.source_port)));
    a.push((Cow::Borrowed("invoke_id"), dec(h.invoke_id)));
}

/// The attributes of a notable request's record.
fn request_attributes(h: &Header, r: &Request) -> Attributes {
    let mut a: Attributes = Vec::with_capacity(10);
    a.push((Cow::Borrowed("message"), fixed("request")));
    addressing(h, &mut a);
    if let Some(g) = r.group {
        a.push((Cow::Borrowed("index_group"), hex(u64::from(g), 4)));
    }
    if let Some(o) = r.offset {
        a.push((Cow::Borrowed("index_offset"), hex(u64::from(o), 4)));
    }
    if let Some(n) = r.write_length {
        a.push((Cow::Borrowed("write_length"), dec(n)));
    }
    if let Some(s) = r.ads_state {
        a.push((Cow::Borrowed("ads_state"), command::state_name(s).map_or_else(|| dec(s), fixed)));
    }
    if let Some(s) = r.device_state {
        a.push((Cow::Borrowed("device_state"), dec(s)));
    }
    a
}

/// The attributes of a kept response: one whose request was not seen, or
/// that failed (`result`: the AMS error or the ADS result code).
fn response_attributes(h: &Header, result: Option<u32>) -> Attributes {
    let mut a: Attributes = Vec::with_capacity(8);
    a.push((Cow::Borrowed("message"), fixed("response")));
    addressing(h, &mut a);
    if let Some(code) = result {
        a.push((Cow::Borrowed("result"), hex(u64::from(code), 4)));
        if let Some(text) = super::error_name(code) {
            a.push((Cow::Borrowed("error"), fixed(text)));
        }
    }
    a
}

/// Longest device name a Read Device Info response carries.
const DEVICE_NAME_LEN: usize = 16;

/// A Read Device Info response: result, version (major, minor, build) and
/// the device's name, 16 bytes padded with NULs (or shorter, NUL-ended). One identity event naming
/// the AMS Net Id and port that answered.
fn device_info(ctx: &PacketCtx<'_>, h: &Header, body: &[u8], emit: &mut dyn Emit) {
    let mut c = Cursor::new(body);
    let fields = (|| {
        c.le_u32()?;
        let major = c.u8()?;
        let minor = c.u8()?;
        let build = c.le_u16()?;
        // Sixteen bytes from TwinCAT; other servers (pyads' test server)
        // send the name with one NUL only: read what there is.
        let rest = c.rest();
        Some((major, minor, build, rest.get(..DEVICE_NAME_LEN).unwrap_or(rest)))
    })();
    let Some((major, minor, build, name)) = fields else {
        emit.malformed(ctx, PROTOCOL, "truncated_device_info");
        return;
    };
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "ads.device_info");
    e.attributes.push((Cow::Borrowed("ams_net_id"), h.source.text()));
    e.attributes.push((Cow::Borrowed("ams_port"), dec(h.source_port)));
    e.attributes.push((Cow::Borrowed("device_name"), String::from_utf8_lossy(name).trim().into()));
    let version = otposture_model::format_compact!("{major}.{minor}.{build}");
    // The system service's version is TwinCAT's own, the one advisories
    // name; a runtime's (PLC, I/O) is its component's.
    if h.source_port == command::SYSTEM_SERVICE_PORT {
        e.attributes.push((Cow::Borrowed("twincat_version"), version.clone()));
    }
    e.attributes.push((Cow::Borrowed("version"), version));
    emit.event(e);
}
