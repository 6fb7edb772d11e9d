//! Per-flow IEC 104 state: one [`Framer`] per direction, which direction the
//! controlling station sends in, the send and receive sequence numbers of
//! each direction, the commands waiting for their confirmation and
//! termination, and the counters of what did not fit.
//!
//! Stations: IEC 60870-5-104 makes the controlled station the TCP server
//! (port 2404) and the controlling station the client. The session starts
//! from that and settles on what the first telling ASDU shows: an activation
//! of a command, interrogation, clock synchronization, reset, test or
//! parameter comes from the controlling station; monitored data (cyclic,
//! background, spontaneous, interrogated, return information) and
//! confirmations come from the controlled one. Only file transfer's class
//! depends on it.
//!
//! Sequence numbers (§5.1): every I-format APDU of a direction carries N(S),
//! one more (modulo 2^15) than the last; every I- and S-format APDU carries
//! N(R), which acknowledges the other direction's I-format APDUs below it and
//! never moves back. A jump in N(S), an N(R) ahead of what the other side sent
//! and an N(R) that moves back are counted; after a gap in the capture the
//! direction's numbers are learnt afresh.
//!
//! Pairing (IEC 60870-5-101 §7.2.3, §7.4): an activation (or deactivation) is
//! answered by a confirmation with the same type, common address and object
//! address, positive or negative (P/N), and for most commands later by an
//! activation termination. At most [`MAX_OPEN`] are remembered. Counts are
//! reported once, when the flow closes; anomalous ASDUs are reported as
//! events up to [`MAX_ANOMALY_EVENTS`] per flow, then only counted.

use super::apci::{self, Control, Framed, Framer, SEQUENCE_MODULUS};
use super::asdu::{self, Details, Header};
use super::cot::Cause;
use super::types::{Kind, Station, TypeId};
use super::PROTOCOL;
use crate::{Emit, PacketCtx, StreamSession};
use otposture_model::ToCompactString;
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Commands waiting for an answer, per flow.
pub(crate) const MAX_OPEN: usize = 64;
/// Anomalous-ASDU events per flow before further ones are only counted.
pub(crate) const MAX_ANOMALY_EVENTS: u32 = 32;
/// Operation name of an S-format APDU.
const SUPERVISORY: &str = "supervisory_ack";

/// What pairs an answer with its activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    type_id: TypeId,
    common_address: u16,
    ioa: u32,
    /// S/E of a command: a select and its execute are two activations.
    select: bool,
}

/// An activation waiting for its answers.
#[derive(Clone, Copy, Debug)]
struct Open {
    key: Key,
    deactivation: bool,
    /// A positive confirmation came; a termination may follow.
    confirmed: bool,
}

/// Valid-but-anomalous things, counted per flow.
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

/// Valid-but-anomalous flags of one ASDU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Anomalies(u8);

impl Anomalies {
    /// A cause no standard assigns (0, 17-19, 42, 43, 48-63).
    const UNDEFINED_CAUSE: u8 = 1;
    /// Cause 44-47: the station could not act on an ASDU.
    const ERROR_CAUSE: u8 = 1 << 1;
    /// Octets after the last object.
    const TRAILING_BYTES: u8 = 1 << 2;
    /// A qualifier announcing no object.
    const NO_OBJECTS: u8 = 1 << 3;
    /// A double or regulating step command with value 0 or 3.
    const NOT_PERMITTED_VALUE: u8 = 1 << 4;
    /// A type IEC 60870-5-104 §7 leaves out (CP24Time2a, C_TS_NA_1, C_CD_NA_1).
    const TYPE_NOT_IN_104: u8 = 1 << 5;

    const NAMES: [(u8, &'static str); 6] = [
        (Self::UNDEFINED_CAUSE, "undefined_cause"),
        (Self::ERROR_CAUSE, "error_cause"),
        (Self::TRAILING_BYTES, "trailing_bytes"),
        (Self::NO_OBJECTS, "no_objects"),
        (Self::NOT_PERMITTED_VALUE, "not_permitted_value"),
        (Self::TYPE_NOT_IN_104, "type_not_in_104"),
    ];

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.0 |= flag;
        }
    }

    fn names(self) -> String {
        Self::NAMES.iter().filter(|(f, _)| self.0 & f != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(",")
    }
}

/// Everything but the framers, so a framer's callback can use it.
#[derive(Debug)]
struct State {
    /// The direction the controlling station sends in.
    controlling: Direction,
    /// The stations are known from an ASDU, not assumed from TCP.
    settled: bool,
    /// Per direction: the N(S) the next I-format APDU should carry.
    next_send: [Option<u16>; 2],
    /// Per direction: the last N(R) sent.
    last_ack: [Option<u16>; 2],
    open: VecDeque<Open>,
    /// Set at the start and after a gap: an answer whose activation was never
    /// seen is expected there and is not counted until an activation is seen.
    lenient: bool,
    counters: Counters,
    anomaly_events: u32,
}

/// The per-flow session.
#[derive(Debug)]
pub(crate) struct Session {
    framers: [Framer; 2],
    state: State,
}

impl Session {
    pub(crate) fn new() -> Self {
        Session {
            framers: [Framer::new(), Framer::new()],
            state: State {
                controlling: Direction::ToServer,
                settled: false,
                next_send: [None; 2],
                last_ack: [None; 2],
                open: VecDeque::new(),
                lenient: true,
                counters: Counters::default(),
                anomaly_events: 0,
            },
        }
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { framers, state } = self;
        let Some(framer) = framers.get_mut(direction.index()) else { return };
        framer.push(data, &mut |f| match f {
            Framed::Frame(_, body) => state.apdu(ctx, direction, body, emit),
            Framed::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.what()),
        });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if let Some(f) = self.framers.get_mut(direction.index()) {
            f.gap(len);
        }
        let s = &mut self.state;
        // The direction's numbers moved on unseen; answers to activations lost
        // in the gap, and activations of answers lost in it, are not anomalies.
        if let (Some(n), Some(a)) = (s.next_send.get_mut(direction.index()), s.last_ack.get_mut(direction.index())) {
            *n = None;
            *a = None;
        }
        s.open.clear();
        s.lenient = true;
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let s = &self.state;
        let mut counts = s.counters.counts.clone();
        let skipped: u64 = self.framers.iter().map(|f| f.stats.skipped_bytes).sum();
        if skipped > 0 {
            counts.push(("resync_skipped_bytes", skipped));
        }
        // Activations still waiting at close are normal at the end of a
        // capture: listed, but not on their own an event.
        if counts.is_empty() {
            return;
        }
        let unconfirmed = s.open.iter().filter(|o| !o.confirmed).count() as u64;
        if unconfirmed > 0 {
            counts.push(("unconfirmed_at_close", unconfirmed));
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "iec104.session_anomalies");
        for (k, n) in counts {
            e.attributes.push((Cow::Borrowed(k), n.to_compact_string()));
        }
        emit.event(e);
    }
}

impl State {
    /// Which station sends in `direction`.
    fn sender(&self, direction: Direction) -> Station {
        if direction == self.controlling {
            Station::Controlling
        } else {
            Station::Controlled
        }
    }

    /// One whole APDU: its body is the control field and the ASDU.
    fn apdu(&mut self, ctx: &PacketCtx<'_>, direction: Direction, body: &[u8], emit: &mut dyn Emit) {
        // The framer hands out bodies of at least MIN_LENGTH (4) octets.
        let Some((&control, asdu)) = body.split_first_chunk::<{ apci::CONTROL_LEN }>() else { return };
        if !Control::well_formed(control) {
            self.counters.add("malformed_control_fields");
        }
        match Control::parse(control) {
            Control::U(f) => {
                if !asdu.is_empty() {
                    emit.malformed(ctx, PROTOCOL, "apdu_length_mismatch");
                }
                let class = if f.is_known() { OperationClass::Session } else { OperationClass::Unknown };
                emit.message(ctx, PROTOCOL, f.name(), class);
            }
            Control::S { receive } => {
                if !asdu.is_empty() {
                    emit.malformed(ctx, PROTOCOL, "apdu_length_mismatch");
                }
                self.acknowledged(direction, receive);
                emit.message(ctx, PROTOCOL, Cow::Borrowed(SUPERVISORY), OperationClass::Session);
            }
            Control::I { send, receive } => {
                self.sent(direction, send);
                self.acknowledged(direction, receive);
                self.asdu(ctx, direction, asdu, emit);
            }
        }
    }

    /// Checks an I-format APDU's N(S) against the last one of its direction.
    fn sent(&mut self, direction: Direction, send: u16) {
        let Some(next) = self.next_send.get_mut(direction.index()) else { return };
        if next.is_some_and(|n| n != send) {
            self.counters.add("send_sequence_jumps");
        }
        *next = Some((send + 1) % SEQUENCE_MODULUS);
    }

    /// Checks an N(R): not ahead of what the other direction sent, not back.
    fn acknowledged(&mut self, direction: Direction, receive: u16) {
        // Distances modulo 2^15; "ahead" is less than half the space ahead.
        let ahead = |a: u16, b: u16| {
            let d = a.wrapping_sub(b) % SEQUENCE_MODULUS;
            d != 0 && d < SEQUENCE_MODULUS / 2
        };
        let other = self.next_send.get(direction.reverse().index()).copied().flatten();
        if other.is_some_and(|next| ahead(receive, next)) {
            self.counters.add("acks_of_unsent");
        }
        let Some(last) = self.last_ack.get_mut(direction.index()) else { return };
        if last.is_some_and(|l| ahead(l, receive)) {
            self.counters.add("acks_moving_back");
        }
        *last = Some(receive);
    }

    /// Settles which direction the controlling station sends in, from the
    /// first ASDU that shows it.
    fn learn_stations(&mut self, direction: Direction, h: &Header) {
        let Some(kind) = h.type_id.info().map(|i| i.kind) else { return };
        if self.settled || kind == Kind::File || kind == Kind::Security {
            return;
        }
        let cause = h.cot.cause;
        let commands = !matches!(kind, Kind::Monitor) && cause.is_request();
        // Cyclic, background, spontaneous, initialized, interrogated, return information.
        let reports = kind == Kind::Monitor && matches!(cause.0, 1..=4 | 11 | 12 | 20..=41);
        let answers = !matches!(kind, Kind::Monitor) && (cause.is_answer() || cause.is_error());
        if commands {
            self.controlling = direction;
        } else if reports || answers {
            self.controlling = direction.reverse();
        } else {
            return;
        }
        self.settled = true;
    }

    /// One ASDU: parse, pair, classify, report.
    fn asdu(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let a = match asdu::parse(data) {
            Ok(a) => a,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                // The type is known even when the rest is not: count it.
                if let Some(&t) = data.first() {
                    let t = TypeId(t);
                    emit.message(ctx, PROTOCOL, t.name(), t.class(self.sender(direction), None));
                }
                return;
            }
        };
        let h = a.header;
        self.learn_stations(direction, &h);
        let mut anomalies = Anomalies::default();
        let (first, count) = match a.objects() {
            Some(Ok(checked)) => {
                anomalies.set(Anomalies::TRAILING_BYTES, checked.trailing > 0);
                (checked.objects.first(), checked.objects.count())
            }
            Some(Err(e)) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                (None, h.count)
            }
            None => (None, h.count),
        };
        let element = first.map(|o| o.element);
        let ioa = first.map(|o| o.ioa).or_else(|| a.first_ioa());
        let details = element.and_then(|e| asdu::details(h.type_id, e));
        let class = h.type_id.class(self.sender(direction), element);
        let name = h.type_id.operation(element);
        let cause = h.cot.cause;
        anomalies.set(Anomalies::UNDEFINED_CAUSE, !cause.is_defined());
        anomalies.set(Anomalies::ERROR_CAUSE, cause.is_error());
        anomalies.set(Anomalies::NO_OBJECTS, h.count == 0);
        anomalies.set(Anomalies::NOT_PERMITTED_VALUE, details.as_ref().is_some_and(|d| d.not_permitted));
        anomalies.set(Anomalies::TYPE_NOT_IN_104, h.type_id.info().is_some_and(|i| !i.in_104));

        let key = Key {
            type_id: h.type_id,
            common_address: h.common_address,
            ioa: ioa.unwrap_or(0),
            select: details.as_ref().and_then(|d| d.select).unwrap_or(false),
        };
        let refused = h.cot.negative || cause.is_error();
        // A read asks with cause "request" (IEC 60870-5-101), and is
        // refused with an error cause (or, by some stations, confirmed).
        let read = h.type_id == TypeId::C_RD_NA_1 && cause == Cause::REQUEST;
        let paired = if cause.is_request() || read {
            self.activation(key, cause == Cause::DEACTIVATION);
            false
        } else if cause.is_answer() || cause.is_error() {
            if h.cot.negative {
                self.counters.add("negative_confirmations");
            }
            self.answer(key, cause, refused)
        } else {
            false
        };
        if paired && !refused {
            // The activation's record stands for the operation; a refusal is kept.
            emit.answer(ctx, PROTOCOL, name, class);
        } else if class.is_notable() {
            emit.operation(ctx, PROTOCOL, name, class, attributes(&h, ioa, count, details.as_ref()));
        } else {
            emit.message(ctx, PROTOCOL, name, class);
        }
        if anomalies != Anomalies::default() {
            self.counters.add("anomalous_asdus");
            if self.anomaly_events < MAX_ANOMALY_EVENTS {
                self.anomaly_events += 1;
                let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "iec104.anomalous_asdu");
                e.attributes.push((Cow::Borrowed("type"), h.type_id.abbreviation().into_owned().into()));
                e.attributes.push((Cow::Borrowed("cot"), cause.name().into_owned().into()));
                e.attributes.push((Cow::Borrowed("ca"), h.common_address.to_compact_string()));
                if let Some(ioa) = ioa {
                    e.attributes.push((Cow::Borrowed("ioa"), ioa.to_compact_string()));
                }
                e.attributes.push((Cow::Borrowed("anomalies"), anomalies.names().into()));
                emit.event(e);
            }
        }
    }

    /// Remembers an activation (or deactivation) until it is answered.
    fn activation(&mut self, key: Key, deactivation: bool) {
        self.lenient = false;
        if let Some(i) = self.open.iter().position(|o| o.key == key) {
            self.open.remove(i);
        }
        if self.open.len() >= MAX_OPEN && self.open.pop_front().is_some_and(|o| !o.confirmed) {
            self.counters.add("evicted_activations");
        }
        self.open.push_back(Open { key, deactivation, confirmed: false });
    }

    /// Pairs a confirmation, termination or error answer with its
    /// activation; true when one was waiting.
    fn answer(&mut self, key: Key, cause: Cause, refused: bool) -> bool {
        let wants_deactivation = match cause {
            Cause::DEACTIVATION_CON => Some(true),
            Cause::ACTIVATION_CON | Cause::ACTIVATION_TERM => Some(false),
            // An error cause replaces whatever cause the activation had.
            _ => None,
        };
        let fits = |o: &Open| wants_deactivation.is_none_or(|d| d == o.deactivation);
        // The answer should echo the S/E bit of its activation; some stations
        // (lib60870 behind c104 2.2.1) set it in the termination of an
        // executed command, so the same command with the other bit pairs too.
        let same_point = |o: &Open| Key { select: key.select, ..o.key } == key;
        let found = self
            .open
            .iter()
            .position(|o| o.key == key && fits(o))
            .or_else(|| self.open.iter().position(|o| same_point(o) && fits(o)));
        let Some(i) = found else {
            if !self.lenient {
                self.counters.add("unsolicited_answers");
            }
            return false;
        };
        // A positive confirmation of an activation that is not a select may be
        // followed by its termination; everything else ends the exchange.
        let terminates_later = cause == Cause::ACTIVATION_CON && !refused && !key.select;
        match self.open.get_mut(i) {
            Some(o) if terminates_later => o.confirmed = true,
            _ => {
                self.open.remove(i);
            }
        }
        true
    }
}

/// The attributes of a notable operation's record.
fn attributes(
    h: &Header,
    ioa: Option<u32>,
    count: u8,
    d: Option<&Details>,
) -> Vec<(Cow<'static, str>, otposture_model::AttrValue)> {
    let mut a: Vec<(Cow<'static, str>, otposture_model::AttrValue)> = Vec::with_capacity(12);
    let cause = h.cot.cause;
    let message = if cause.is_request() {
        "request"
    } else if cause.is_answer() || cause.is_error() {
        "response"
    } else {
        "report"
    };
    a.push((Cow::Borrowed("message"), message.to_compact_string()));
    a.push((Cow::Borrowed("type"), h.type_id.abbreviation().into_owned().into()));
    a.push((Cow::Borrowed("type_id"), h.type_id.0.to_compact_string()));
    a.push((Cow::Borrowed("cot"), cause.name().into_owned().into()));
    if h.cot.negative {
        a.push((Cow::Borrowed("negative"), "true".to_compact_string()));
    }
    if h.cot.test {
        a.push((Cow::Borrowed("test"), "true".to_compact_string()));
    }
    if h.originator != 0 {
        a.push((Cow::Borrowed("originator"), h.originator.to_compact_string()));
    }
    a.push((Cow::Borrowed("ca"), h.common_address.to_compact_string()));
    if let Some(ioa) = ioa {
        a.push((Cow::Borrowed("ioa"), ioa.to_compact_string()));
    }
    if count != 1 {
        a.push((Cow::Borrowed("objects"), count.to_compact_string()));
    }
    let Some(d) = d else { return a };
    if let Some(v) = &d.value {
        a.push((Cow::Borrowed("value"), v.clone().into()));
    }
    if let Some(s) = d.select {
        a.push((Cow::Borrowed("select"), s.to_compact_string()));
    }
    if let Some(q) = &d.qualifier {
        a.push((Cow::Borrowed("qualifier"), q.clone().into()));
    }
    if let Some(t) = d.time {
        a.push((Cow::Borrowed("time"), t.to_compact_string()));
    }
    if let Some(f) = d.file {
        a.push((Cow::Borrowed("file"), f.to_compact_string()));
    }
    if let Some(s) = d.section {
        a.push((Cow::Borrowed("section"), s.to_compact_string()));
    }
    a
}
