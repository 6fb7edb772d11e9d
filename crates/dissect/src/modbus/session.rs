//! Per-flow Modbus/TCP state: one [`Framer`] per direction, the table of open
//! transactions that pairs responses with requests, and the counters of what
//! did not pair.
//!
//! Requests are what the client (the flow's initiator) sends, responses what
//! the server sends back (Implementation Guide §3.1: the client initiates, the
//! server answers, the transaction id pairs them). The table holds at most
//! [`MAX_OPEN`] transactions; a request evicted by a full table, or replaced by
//! a new one with the same id, counts as unanswered. Counts are reported once,
//! when the flow closes, as one anomaly event; individual anomalous PDUs are
//! reported as events up to [`MAX_ANOMALY_EVENTS`] per flow, then only counted.

use super::mbap::{Adu, Framed, Framer};
use super::pdu::{self, FunctionCode, MeiType, Pdu, PduKind};
use super::{mei, umas, PROTOCOL};
use crate::text::{dec, fixed};
use crate::{Emit, PacketCtx, StreamSession};
use otposture_model::{format_compact, ToCompactString};
use otposture_model::{Direction, EventKind};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt::Write as _;

/// Open transactions kept per flow.
pub(crate) const MAX_OPEN: usize = 64;
/// Anomalous-PDU events per flow before further ones are only counted.
pub(crate) const MAX_ANOMALY_EVENTS: u32 = 32;
/// Cap, in bytes, on any value copied into an attribute.
pub(crate) const MAX_TEXT: usize = 255;

/// A request waiting for its response.
#[derive(Clone, Copy, Debug)]
struct Open {
    transaction_id: u16,
    unit_id: u8,
    function: u8,
    umas: Option<u8>,
}

/// What did not pair or parse, reported when the flow closes.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    unanswered: u64,
    unsolicited: u64,
    function_mismatch: u64,
    evicted: u64,
    anomalous_pdus: u64,
    anomaly_events: u32,
}

/// Everything but the framers, so a framer's callback can use it.
#[derive(Debug, Default)]
struct Pairing {
    open: VecDeque<Open>,
    counters: Counters,
    /// Set at the start and after a gap: a response whose request was never seen
    /// is expected there and is not counted until a request is seen.
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
            Framed::Frame(header, pdu) => pairing.adu(ctx, direction, Adu { header, pdu }, emit),
            Framed::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.what()),
        });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if let Some(f) = self.framers.get_mut(direction.index()) {
            f.gap(len);
        }
        // Requests whose answers fell into the gap are not "unanswered", and
        // answers to requests lost in it are not "unsolicited".
        self.pairing.open.clear();
        self.pairing.lenient = true;
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let c = self.pairing.counters;
        let skipped: u64 = self.framers.iter().map(|f| f.stats.skipped_bytes).sum();
        let counts = [
            ("unanswered_requests", c.unanswered),
            ("unsolicited_responses", c.unsolicited),
            ("function_mismatches", c.function_mismatch),
            ("evicted_transactions", c.evicted),
            ("anomalous_pdus", c.anomalous_pdus),
            ("open_at_close", self.pairing.open.len() as u64),
            ("resync_skipped_bytes", skipped),
        ];
        // Open requests at close are normal at the end of a capture; they are
        // listed but do not on their own make an event.
        if counts.iter().filter(|(k, _)| *k != "open_at_close").all(|(_, n)| *n == 0) {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "modbus.session_anomalies");
        for (k, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
            e.attributes.push((Cow::Borrowed(k), n.to_compact_string()));
        }
        emit.event(e);
    }
}

impl Pairing {
    /// One whole ADU: parse, pair, classify, report.
    fn adu(&mut self, ctx: &PacketCtx<'_>, direction: Direction, adu: Adu<'_>, emit: &mut dyn Emit) {
        let h = adu.header;
        let request = direction == Direction::ToServer;
        let code = adu.pdu.first().copied().unwrap_or_default();
        let parsed = if request { pdu::parse_request(adu.pdu) } else { pdu::parse_response(adu.pdu) };
        let (umas, paired) = if request {
            let u = parsed.ok().filter(|p| p.function == FunctionCode::UMAS).and_then(|p| p.sub_function);
            let umas = u.and_then(|u| u8::try_from(u).ok());
            self.request(Open { transaction_id: h.transaction_id, unit_id: h.unit_id, function: code, umas });
            (umas, false)
        } else {
            match self.response(h.transaction_id, code) {
                Some(umas) => (umas, true),
                None => (None, false),
            }
        };
        let pdu = match parsed {
            Ok(p) => p,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                // The function is known even when its fields are not: count it.
                let f = FunctionCode(code & 0x7f);
                let name = if code & 0x80 != 0 { Cow::Owned(format!("{}_exception", f.name())) } else { f.name() };
                emit.message(ctx, PROTOCOL, name, f.class());
                return;
            }
        };
        let (operation, class) = pdu.operation(umas);
        if paired && pdu.kind == PduKind::Response && umas_accepted(&pdu) {
            // The request's record stands for the operation; an exception is kept.
            emit.answer(ctx, PROTOCOL, operation, class);
        } else if class.is_notable() {
            emit.operation(ctx, PROTOCOL, operation, class, attributes(&h, &pdu, umas));
        } else {
            emit.message(ctx, PROTOCOL, operation, class);
        }
        if !pdu.anomalies.is_empty() {
            self.counters.anomalous_pdus += 1;
            if self.counters.anomaly_events < MAX_ANOMALY_EVENTS {
                self.counters.anomaly_events += 1;
                let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "modbus.anomalous_pdu");
                e.attributes.push((Cow::Borrowed("unit_id"), h.unit_id.to_compact_string()));
                e.attributes.push((Cow::Borrowed("function"), pdu.function.name().into_owned().into()));
                e.attributes.push((Cow::Borrowed("anomalies"), pdu.anomalies.names().into()));
                emit.event(e);
            }
        }
        if pdu.kind == PduKind::Response {
            match pdu.function {
                FunctionCode::ENCAPSULATED_INTERFACE
                    if pdu.sub_function == Some(u16::from(MeiType::READ_DEVICE_IDENTIFICATION.0)) =>
                {
                    device_identification(ctx, h.unit_id, pdu.body.get(1..).unwrap_or_default(), emit);
                }
                FunctionCode::REPORT_SERVER_ID => {
                    server_id(ctx, h.unit_id, pdu.body.get(1..).unwrap_or_default(), emit)
                }
                _ => {}
            }
        }
    }

    fn request(&mut self, open: Open) {
        self.lenient = false;
        if let Some(i) = self.open.iter().position(|o| o.transaction_id == open.transaction_id) {
            // Same id again before an answer: the earlier request went unanswered
            // (or the client retried).
            self.open.remove(i);
            self.counters.unanswered += 1;
        }
        if self.open.len() >= MAX_OPEN {
            self.open.pop_front();
            self.counters.unanswered += 1;
            self.counters.evicted += 1;
        }
        self.open.push_back(open);
    }

    /// Pairs a response; returns the UMAS code of its request, or `None` when
    /// no request pairs with it (or the functions differ).
    fn response(&mut self, transaction_id: u16, code: u8) -> Option<Option<u8>> {
        let Some(i) = self.open.iter().position(|o| o.transaction_id == transaction_id) else {
            if !self.lenient {
                self.counters.unsolicited += 1;
            }
            return None;
        };
        let open = self.open.remove(i)?;
        if open.function != code & 0x7f {
            self.counters.function_mismatch += 1;
            return None;
        }
        let _ = open.unit_id;
        Some(open.umas)
    }
}

/// False for a UMAS response that reports an error (Modbus itself answers
/// normally); true for every other normal response.
fn umas_accepted(p: &Pdu<'_>) -> bool {
    p.function != FunctionCode::UMAS || umas::parse(p.body).is_none_or(|u| u.code == umas::RESPONSE_OK)
}

/// The attributes of a notable operation's record.
fn attributes(
    h: &super::mbap::Header,
    p: &Pdu<'_>,
    umas: Option<u8>,
) -> Vec<(Cow<'static, str>, otposture_model::AttrValue)> {
    let mut a: Vec<(Cow<'static, str>, otposture_model::AttrValue)> = Vec::with_capacity(8);
    let kind = match p.kind {
        PduKind::Request => "request",
        PduKind::Response => "response",
        PduKind::Exception(_) => "exception",
    };
    a.push((Cow::Borrowed("message"), fixed(kind)));
    a.push((Cow::Borrowed("unit_id"), dec(h.unit_id)));
    a.push((Cow::Borrowed("transaction_id"), dec(h.transaction_id)));
    a.push((Cow::Borrowed("function"), dec(p.function.0)));
    if let Some(s) = p.sub_function {
        a.push((Cow::Borrowed("sub_function"), dec(s)));
    }
    if let Some((addr, qty)) = p.read {
        a.push((Cow::Borrowed("read_address"), dec(addr)));
        a.push((Cow::Borrowed("read_quantity"), dec(qty)));
    }
    if let Some(x) = p.address {
        a.push((Cow::Borrowed("address"), dec(x)));
    }
    if let Some(x) = p.quantity {
        a.push((Cow::Borrowed("quantity"), dec(x)));
    }
    if let Some(x) = p.value {
        a.push((Cow::Borrowed("value"), dec(x)));
    }
    if let PduKind::Exception(e) = p.kind {
        a.push((Cow::Borrowed("exception"), e.name().into_owned().into()));
    }
    if p.function == FunctionCode::UMAS {
        if let Some(u) = umas::parse(p.body) {
            a.push((Cow::Borrowed("umas_session"), dec(u.session)));
            if p.kind == PduKind::Response {
                let status = match u.code {
                    umas::RESPONSE_OK => "ok",
                    umas::RESPONSE_ERROR => "error",
                    _ => "unknown",
                };
                a.push((Cow::Borrowed("umas_status"), status.to_compact_string()));
            }
        }
        if let Some(code) = umas {
            a.push((Cow::Borrowed("umas_code"), crate::text::hex(u64::from(code), 2)));
        }
    }
    a
}

/// Text of an identification value: lossy UTF-8, NULs trimmed, at most
/// [`MAX_TEXT`] bytes read.
fn text(value: &[u8]) -> String {
    let v = value.get(..MAX_TEXT.min(value.len())).unwrap_or_default();
    String::from_utf8_lossy(v).trim_end_matches('\0').to_string()
}

/// Lower-case hex of at most [`MAX_TEXT`] bytes.
fn hex(value: &[u8]) -> String {
    let mut s = String::with_capacity(2 * MAX_TEXT.min(value.len()));
    for b in value.iter().take(MAX_TEXT) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One identity event per response part, carrying every object of the part.
fn device_identification(ctx: &PacketCtx<'_>, unit_id: u8, body: &[u8], emit: &mut dyn Emit) {
    let r = match mei::parse_response(body) {
        Ok(r) => r,
        Err(e) => {
            emit.malformed(ctx, PROTOCOL, e.what());
            return;
        }
    };
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "modbus.device_identification");
    e.attributes.push((Cow::Borrowed("unit_id"), unit_id.to_compact_string()));
    e.attributes.push((Cow::Borrowed("conformity_level"), format_compact!("{:#04x}", r.conformity_level)));
    if r.more() {
        e.attributes.push((Cow::Borrowed("more_follows"), fixed("true")));
        e.attributes.push((Cow::Borrowed("next_object_id"), format_compact!("{:#04x}", r.next_object_id)));
    }
    let mut objects = 0;
    for o in r.object_iter() {
        let o = match o {
            Ok(o) => o,
            Err(err) => {
                emit.malformed(ctx, PROTOCOL, err.what());
                break;
            }
        };
        objects += 1;
        let name = mei::object_name(o.id);
        if std::str::from_utf8(o.value).is_err() {
            e.attributes.push((Cow::Owned(format!("{name}_hex")), hex(o.value).into()));
        }
        e.attributes.push((name, text(o.value).into()));
    }
    if objects > 0 {
        emit.event(e);
    }
}

/// Report Server ID (§6.13): the server id (of a device-specific length), the
/// run indicator (0x00 off, 0xFF on), then additional data, often the vendor
/// or product in ASCII. The whole data is kept in hex; the parts are given
/// apart where [`split_server_id`] finds them, the server id as text when it
/// is printable and in hex when not.
fn server_id(ctx: &PacketCtx<'_>, unit_id: u8, data: &[u8], emit: &mut dyn Emit) {
    if data.is_empty() {
        return;
    }
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "modbus.server_id");
    e.attributes.push((Cow::Borrowed("unit_id"), unit_id.to_compact_string()));
    match split_server_id(data) {
        Some(ServerId { id, run, additional }) => {
            let id = if id.iter().all(|b| (0x20..0x7f).contains(b)) { text(id) } else { hex(id) };
            e.attributes.push((Cow::Borrowed("server_id"), id.into()));
            e.attributes.push((Cow::Borrowed("run_indicator"), if run { "on" } else { "off" }.into()));
            if let Some(additional) = additional {
                e.attributes.push((Cow::Borrowed("additional_data"), text(additional).into()));
            }
        }
        None => e.attributes.push((Cow::Borrowed("server_id"), text(data).into())),
    }
    e.attributes.push((Cow::Borrowed("server_id_hex"), hex(data).into()));
    emit.event(e);
}

/// The parts of a Report Server ID answer.
#[derive(Debug, PartialEq)]
pub(crate) struct ServerId<'a> {
    pub(crate) id: &'a [u8],
    /// The run indicator: on (0xFF) or off (0x00).
    pub(crate) run: bool,
    pub(crate) additional: Option<&'a [u8]>,
}

/// Splits a Report Server ID answer where its shape shows the parts: additional
/// data of printable ASCII (at least three characters, a trailing NUL dropped)
/// after the first run indicator byte that follows a server id of at least one
/// byte; or, with no additional data, a printable server id and the run
/// indicator as the last byte (pymodbus answers so). `None` when neither fits.
/// tshark leaves the data whole.
pub(crate) fn split_server_id(data: &[u8]) -> Option<ServerId<'_>> {
    let printable = |b: &u8| (0x20..0x7f).contains(b);
    let run_byte = |b: u8| matches!(b, 0x00 | 0xff);
    let with_text = (1..data.len()).find_map(|i| {
        let (id, rest) = data.split_at(i);
        let (&run, additional) = rest.split_first()?;
        let text = additional.strip_suffix(&[0]).unwrap_or(additional);
        (run_byte(run) && text.len() >= 3 && text.iter().all(printable)).then_some(ServerId {
            id,
            run: run == 0xff,
            additional: Some(text),
        })
    });
    with_text.or_else(|| {
        let (&run, id) = data.split_last()?;
        (run_byte(run) && !id.is_empty() && id.iter().all(printable)).then_some(ServerId {
            id,
            run: run == 0xff,
            additional: None,
        })
    })
}
