//! Per-flow DNP3 state, shared by the TCP and UDP dissectors: one link
//! framer and one transport reassembler per direction, request/response
//! pairing by application sequence number, and reporting.
//!
//! Bounded: each direction buffers at most one link frame
//! ([`link::MAX_FRAME`]) and one fragment ([`transport::MAX_FRAGMENT`]); one
//! request per flow is remembered for pairing; anomaly counters are summed
//! and reported once, when the flow closes.

use super::app::{self, Fragment, FunctionCode, Iin};
use super::link::{self, Framed, Framer, Header};
use super::transport::{Reassembler, Segment};
use super::PROTOCOL;
use crate::{Emit, PacketCtx};
use otposture_model::ToCompactString;
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;

/// Object headers listed in a notable record's `objects` attribute.
pub(crate) const MAX_SUMMARY_HEADERS: usize = 8;
/// Device attributes copied into one identity event.
pub(crate) const MAX_ATTRIBUTES: usize = 32;
/// Cap, in characters, on an attribute value copied out.
pub(crate) const MAX_TEXT: usize = 255;

/// The last request seen, for naming the class of its response.
#[derive(Clone, Copy, Debug)]
struct Request {
    seq: u8,
    function: FunctionCode,
    class: OperationClass,
}

/// Valid-but-anomalous and malformed things, counted per flow.
#[derive(Clone, Debug, Default)]
struct Counters {
    /// (name, count), in first-seen order; the names are a small fixed set.
    counts: Vec<(&'static str, u64)>,
}

impl Counters {
    fn add(&mut self, what: &'static str) {
        match self.counts.iter_mut().find(|(k, _)| *k == what) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((what, 1)),
        }
    }
}

/// Everything but the framers, so a framer's callback can use it.
#[derive(Debug, Default)]
struct State {
    reassemblers: [Reassembler; 2],
    last_request: Option<Request>,
    counters: Counters,
}

/// The per-flow session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    framers: [Framer; 2],
    state: State,
}

impl Session {
    pub(crate) fn new() -> Self {
        Session::default()
    }

    /// In-order bytes of one direction (a stream chunk or a whole datagram).
    pub(crate) fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { framers, state } = self;
        let Some(framer) = framers.get_mut(direction.index()) else { return };
        framer.push(data, &mut |f| match f {
            Framed::Frame(frame) => state.frame(ctx, direction, frame, emit),
            Framed::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.what()),
        });
    }

    /// A datagram is whole: a partial frame left at its end is malformed and
    /// is not joined with the next datagram.
    pub(crate) fn datagram(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.data(ctx, direction, data, emit);
        if let Some(f) = self.framers.get_mut(direction.index()) {
            if f.buffered() > 0 {
                emit.malformed(ctx, PROTOCOL, "truncated_frame");
            }
            f.reset();
        }
    }

    /// Bytes of one direction are missing: drop the partial frame and fragment.
    pub(crate) fn gap(&mut self, direction: Direction) {
        if let Some(f) = self.framers.get_mut(direction.index()) {
            f.reset();
        }
        if let Some(r) = self.state.reassemblers.get_mut(direction.index()) {
            r.reset();
        }
        self.state.last_request = None;
    }

    /// Reports what was counted, once, when the flow ends.
    pub(crate) fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let skipped: u64 = self.framers.iter().map(|f| f.stats.skipped_bytes).sum();
        let mut counts = self.state.counters.counts.clone();
        if skipped > 0 {
            counts.push(("resync_skipped_bytes", skipped));
        }
        if counts.is_empty() {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "dnp3.session_anomalies");
        for (k, n) in counts {
            e.attributes.push((Cow::Borrowed(k), n.to_compact_string()));
        }
        emit.event(e);
    }
}

impl State {
    /// One checked link frame.
    fn frame(&mut self, ctx: &PacketCtx<'_>, direction: Direction, frame: link::Frame<'_>, emit: &mut dyn Emit) {
        let h = frame.header;
        let mut user = [0u8; link::MAX_USER_DATA];
        let n = frame.user_data(&mut user);
        let user = user.get(..n).unwrap_or_default();
        if !h.control.carries_user_data() || user.is_empty() {
            // Link-only frames (reset, test, link status, ACK/NACK) move no
            // process meaning.
            let name = format!("link_{}", h.control.function().name(h.control.primary()));
            emit.message(ctx, PROTOCOL, Cow::Owned(name), OperationClass::Session);
            return;
        }
        let Some(r) = self.reassemblers.get_mut(direction.index()) else { return };
        // The fragment is copied out of the reassembler so the rest of the
        // state can be updated while it is read; it is at most MAX_FRAGMENT.
        let (fragment, anomaly) = match r.segment(user) {
            Segment::Fragment(f) => (Some(f.to_vec()), None),
            Segment::Partial => (None, None),
            Segment::Anomalous(a) => (None, Some(a)),
        };
        if let Some(a) = r.take_pending() {
            self.counters.add(a.what());
        }
        if let Some(a) = anomaly {
            self.counters.add(a.what());
        }
        if let Some(f) = fragment {
            self.fragment(ctx, &h, &f, emit);
        }
    }

    /// One whole application fragment: parse, classify, report.
    fn fragment(&mut self, ctx: &PacketCtx<'_>, h: &Header, data: &[u8], emit: &mut dyn Emit) {
        let f = match app::parse_fragment(data) {
            Ok(f) => f,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        let mut groups = Vec::new();
        let mut summary = Vec::new();
        let mut identity: Vec<(Cow<'static, str>, otposture_model::AttrValue)> = Vec::new();
        let mut stopped = None;
        let mut control_refused = false;
        for o in f.objects() {
            let o = match o {
                Ok(o) => o,
                Err(e) => {
                    stopped = Some(e);
                    break;
                }
            };
            if !groups.contains(&o.group) {
                groups.push(o.group);
            }
            control_refused |= f.function.is_response() && refuses_control(&o);
            if summary.len() < MAX_SUMMARY_HEADERS {
                summary.push(o.summary());
            }
            if f.function.is_response() && o.group == 0 {
                for a in o.attributes().take(MAX_ATTRIBUTES.saturating_sub(identity.len())) {
                    let text: String = a.text().chars().take(MAX_TEXT).collect();
                    identity.push((a.name(), text.into()));
                }
            }
        }
        if let Some(e) = stopped {
            if e.is_malformed() {
                emit.malformed(ctx, PROTOCOL, e.what());
            } else {
                self.counters.add(e.what());
            }
        }
        // Secure authentication (IEEE 1815-2012 §7): its functions, or its
        // objects (group 120) inside any other fragment (aggressive mode).
        let secure_authentication = groups.contains(&120) || matches!(f.function.0, 32 | 33 | 131);
        let (class, request) = self.pair(&f, &groups);
        // A solicited response is counted under its request's function, as
        // the other dissectors count an answer (`to_client`): one name for
        // every response merged a flow's reads and operates into one count of
        // one class. Unpaired responses keep `response`.
        let name = request.map_or_else(|| f.function.name(), FunctionCode::name);
        let refused = control_refused || f.iin.is_some_and(|iin| iin.0 & Iin::ERRORS.0 != 0);
        if request.is_some() && !refused {
            // The request's record stands for the operation; a refusal is kept.
            emit.answer(ctx, PROTOCOL, name, class);
        } else if class.is_notable() {
            let attrs = attributes(h, &f, request, &summary, secure_authentication);
            emit.operation(ctx, PROTOCOL, name, class, attrs);
        } else {
            emit.message(ctx, PROTOCOL, name, class);
        }
        if let Some(iin) = f.iin {
            if iin.0 & Iin::ERRORS.0 != 0 {
                self.counters.add("iin_request_errors");
            }
        }
        if !identity.is_empty() {
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "dnp3.device_attributes");
            e.attributes.push((Cow::Borrowed("outstation"), h.outstation().to_compact_string()));
            e.attributes.push((Cow::Borrowed("master"), h.master().to_compact_string()));
            e.attributes.extend(identity);
            emit.event(e);
        }
    }

    /// The class of a fragment; a solicited response takes its request's
    /// class (paired by application sequence number), and is returned with it.
    fn pair(&mut self, f: &Fragment<'_>, groups: &[u8]) -> (OperationClass, Option<FunctionCode>) {
        match f.function {
            FunctionCode::RESPONSE => match self.last_request.take() {
                Some(r) if r.seq == f.control.seq() => (r.class, Some(r.function)),
                // Responses without a known request report process data.
                _ => (OperationClass::Read, None),
            },
            FunctionCode::UNSOLICITED_RESPONSE | FunctionCode::AUTHENTICATE_RESPONSE | FunctionCode::CONFIRM => {
                (app::classify(f.function, groups), None)
            }
            function => {
                let class = app::classify(function, groups);
                self.last_request = Some(Request { seq: f.control.seq(), function, class });
                (class, None)
            }
        }
    }
}

/// True when an echoed control (CROB, group 12 variation 1) or analog output
/// (group 41) reports a status other than success (IEEE 1815-2012 §11.9.2: the
/// status is each object's last octet).
fn refuses_control(o: &app::ObjectHeader<'_>) -> bool {
    let Some(app::ObjectSize::Octets(size)) = app::object_size(o.group, o.variation) else { return false };
    if !matches!((o.group, o.variation), (12, 1) | (41, 1..=4)) {
        return false;
    }
    let prefix = match o.qualifier.prefix() {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 4,
        _ => return false,
    };
    o.data.chunks_exact(prefix + size).any(|point| point.last().is_some_and(|&status| status != 0))
}

/// The attributes of a notable operation's record.
fn attributes(
    h: &Header,
    f: &Fragment<'_>,
    request: Option<FunctionCode>,
    summary: &[String],
    secure_authentication: bool,
) -> Vec<(Cow<'static, str>, otposture_model::AttrValue)> {
    let mut a: Vec<(Cow<'static, str>, otposture_model::AttrValue)> = Vec::with_capacity(8);
    let kind = if f.function.is_response() { "response" } else { "request" };
    a.push((Cow::Borrowed("message"), kind.to_compact_string()));
    a.push((Cow::Borrowed("master"), h.master().to_compact_string()));
    a.push((Cow::Borrowed("outstation"), h.outstation().to_compact_string()));
    a.push((Cow::Borrowed("function"), f.function.0.to_compact_string()));
    a.push((Cow::Borrowed("seq"), f.control.seq().to_compact_string()));
    if let Some(r) = request {
        a.push((Cow::Borrowed("request_function"), r.name().into_owned().into()));
    }
    if !summary.is_empty() {
        a.push((Cow::Borrowed("objects"), (summary.join("; ")).into()));
    }
    if let Some(iin) = f.iin.filter(|i| i.0 != 0) {
        a.push((Cow::Borrowed("iin"), iin.names().into()));
    }
    if secure_authentication {
        a.push((Cow::Borrowed("secure_authentication"), "true".to_compact_string()));
    }
    a
}
