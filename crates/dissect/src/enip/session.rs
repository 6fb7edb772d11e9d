//! Per-flow EtherNet/IP state, shared by TCP and UDP: one encapsulation
//! [`Framer`] per direction, the requests waiting for their responses, the
//! connections Forward_Open established, and reporting.
//!
//! CIP responses do not repeat the request path, so a request leaves what its
//! response needs ([`Asked`]): unconnected requests keyed by the
//! encapsulation sender context (oldest first when a client reuses one),
//! connected ones by connection id and CIP sequence count. A successful
//! Forward_Open reply records the connection's O->T and T->O ids, transport
//! class and connection path; SendUnitData on that connection is then read
//! as class-3 CIP (on TCP every connected message is, Vol. 2 §2-5), or
//! counted as `io` for classes 0 and 1.
//!
//! Bounded: at most [`MAX_PENDING`] waiting requests and [`MAX_CONNECTIONS`]
//! connections per flow (the oldest is dropped and counted), at most
//! [`MAX_EMBEDDED`] remembered services per Multiple_Service_Packet, and
//! embedded messages are followed [`MAX_DEPTH`] levels deep. Anomaly counters
//! are reported once, when the flow closes.

use super::cip::{self, Classes, Message, Request, Response, Service, Target};
use super::encap::{self, Command, Framed, Framer, Header, ItemType};
use super::{cm, identity, names, pccc, Tap, PROTOCOL_CIP, PROTOCOL_ENIP};
use crate::cursor::Cursor;
use crate::text::{dec, fixed, hex};
use crate::{Emit, PacketCtx};
use otposture_model::ToCompactString;
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Requests remembered per flow while waiting for their responses.
pub(crate) const MAX_PENDING: usize = 64;
/// Connections remembered per flow.
pub(crate) const MAX_CONNECTIONS: usize = 32;
/// Services of one Multiple_Service_Packet remembered for pairing.
pub(crate) const MAX_EMBEDDED: usize = 64;
/// Levels of embedding followed (Unconnected_Send in Multiple_Service_Packet...).
pub(crate) const MAX_DEPTH: u8 = 3;

type Attributes = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

/// How a request reached its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Direct,
    UnconnectedSend,
    MultipleServicePacket,
}

impl Via {
    fn name(self) -> Option<&'static str> {
        match self {
            Via::Direct => None,
            Via::UnconnectedSend => Some("unconnected_send"),
            Via::MultipleServicePacket => Some("multiple_service_packet"),
        }
    }
}

/// What pairs a response with its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// Unconnected messaging: the encapsulation sender context.
    Context([u8; 8]),
    /// Connected messaging: O->T connection id (or the id seen) and sequence count.
    Connected { conn: u32, seq: u16 },
}

/// A Forward_Open waiting for its reply.
#[derive(Clone, Copy, Debug)]
struct OpenAsked {
    serial: u16,
    vendor: u16,
    originator_serial: u32,
    transport_class: u8,
    path_classes: Classes,
    route: Route,
}

/// The port segments that lead a connection path (the route across
/// backplanes and networks to the target), kept inline so a connection stays
/// `Copy`; a route longer than [`Route::MAX`] bytes is not kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Route {
    bytes: [u8; Route::MAX],
    len: u8,
}

impl Route {
    const MAX: usize = 16;

    /// The leading port segments of a connection path.
    fn of(path: &[u8]) -> Self {
        let mut len = 0;
        let mut rest = path;
        // A port segment: 0x0P port/link (2 bytes), or with an extended link
        // address (0x1P, size, address, pad to even).
        while let Some(&first) = rest.first() {
            if first & 0xe0 != 0 {
                break;
            }
            let size = if first & 0x10 == 0 {
                2
            } else {
                let n = usize::from(rest.get(1).copied().unwrap_or(0));
                2 + n + n % 2
            };
            if len + size > Route::MAX || size > rest.len() {
                return Route::default();
            }
            len += size;
            rest = rest.get(size..).unwrap_or_default();
        }
        let mut bytes = [0; Route::MAX];
        if let (Some(dst), Some(src)) = (bytes.get_mut(..len), path.get(..len)) {
            dst.copy_from_slice(src);
        }
        Route { bytes, len: len as u8 }
    }

    /// `port/link[,port/link]`, or `None` for no route.
    fn text(&self) -> Option<String> {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        (!bytes.is_empty()).then(|| cm::route_text(bytes))
    }
}

/// What a request leaves for its response.
#[derive(Clone, Debug)]
struct Asked {
    service: Service,
    class: Option<u32>,
    instance: Option<u32>,
    attribute: Option<u32>,
    /// The classes the request's paths name (for the [`Tap`]).
    classes: Classes,
    name: Cow<'static, str>,
    op: OperationClass,
    via: Via,
    /// The Unconnected_Send route of an Identity request: its reply describes
    /// the module at the end of the route (a card in the rack), not the
    /// device that answered on the network. Kept for Identity requests only.
    identity_route: Option<Box<str>>,
    kind: AskedKind,
}

#[derive(Clone, Debug)]
enum AskedKind {
    Plain,
    UnconnectedSend(Box<Asked>),
    Multiple(Vec<Asked>),
    /// Boxed: rare, and the largest variant (every request's record is moved
    /// into and out of the queue of requests waiting for their reply).
    ForwardOpen(Box<OpenAsked>),
    ForwardClose {
        serial: u16,
        vendor: u16,
        originator_serial: u32,
    },
}

/// A connection opened by Forward_Open.
#[derive(Clone, Copy, Debug)]
struct Connection {
    o2t: u32,
    t2o: u32,
    serial: u16,
    vendor: u16,
    originator_serial: u32,
    transport_class: u8,
    path_classes: Classes,
    route: Route,
}

/// Valid-but-anomalous things, counted per flow.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    pending_overflows: u64,
    connection_overflows: u64,
    service_mismatches: u64,
    nonzero_options: u64,
}

/// Where reports go: the engine, and the optional tap.
struct Out<'a> {
    emit: &'a mut dyn Emit,
    tap: Option<&'a mut (dyn Tap + 'static)>,
    /// Consecutive plain counts of one operation, not yet reported: a
    /// Multiple Service Packet's parts repeat one request dozens of times, and
    /// one [`Emit::repeated`] call costs what one count did. Every report
    /// goes out after it (see [`Out::now`]), so the order is unchanged.
    run: Option<Run>,
}

/// See [`Out::run`].
#[derive(Debug)]
struct Run {
    name: Cow<'static, str>,
    op: OperationClass,
    answers: bool,
    n: u32,
}

impl<'a> Out<'a> {
    fn new(emit: &'a mut dyn Emit, tap: Option<&'a mut (dyn Tap + 'static)>) -> Self {
        Out { emit, tap, run: None }
    }

    /// The engine, once the waiting run is reported.
    fn now(&mut self, ctx: &PacketCtx<'_>) -> &mut dyn Emit {
        self.flush(ctx);
        &mut *self.emit
    }

    /// Reports the waiting run. Every `Out` is flushed before it is dropped,
    /// within the packet whose context the run was counted under.
    fn flush(&mut self, ctx: &PacketCtx<'_>) {
        if let Some(r) = self.run.take() {
            self.emit.repeated(ctx, PROTOCOL_CIP, r.name, r.op, r.n, r.answers);
        }
    }

    /// Counts one plain operation (not kept individually): added to the
    /// waiting run when it is the same operation, else starts a new one.
    // The name by reference, cloned only into a new run: a clone made for
    // the call was read back whole right after its narrow stores (a
    // store-forwarding stall on most CIP messages). A `&Cow`, not a `&str`:
    // the clone keeps a borrowed name unallocated.
    #[allow(clippy::ptr_arg)]
    fn count(&mut self, ctx: &PacketCtx<'_>, name: &Cow<'static, str>, op: OperationClass, answers: bool) {
        if let Some(r) = &mut self.run {
            // Names are mostly the same static string: compare addresses first.
            let same = |a: &str, b: &str| (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b;
            if r.op == op && r.answers == answers && r.n < u32::MAX && same(&r.name, name) {
                r.n += 1;
                return;
            }
        }
        self.flush(ctx);
        self.run = Some(Run { name: name.clone(), op, answers, n: 1 });
    }
}

impl Out<'_> {
    /// True when a tap watches (tests): what only it is shown is built then.
    fn tapped(&self) -> bool {
        self.tap.is_some()
    }

    fn cip(&mut self, ctx: &PacketCtx<'_>, service: Service, classes: &Classes) {
        if let Some(t) = self.tap.as_deref_mut() {
            t.cip(ctx, service, classes.as_slice());
        }
    }

    /// Counts a CIP operation; notable ones get their attributes, built only then.
    #[allow(clippy::ptr_arg)] // See `count`.
    fn record(
        &mut self,
        ctx: &PacketCtx<'_>,
        name: &Cow<'static, str>,
        op: OperationClass,
        attributes: impl FnOnce() -> Attributes,
    ) {
        if op.is_notable() {
            self.now(ctx).operation(ctx, PROTOCOL_CIP, name.clone(), op, attributes());
        } else {
            self.count(ctx, name, op, false);
        }
    }
}

impl Out<'_> {
    /// A reply to a known request: counted only when it reports success (the
    /// request's record stands for the operation), kept when it reports an error.
    #[allow(clippy::ptr_arg)] // See `count`.
    fn reply(
        &mut self,
        ctx: &PacketCtx<'_>,
        name: &Cow<'static, str>,
        op: OperationClass,
        status: u8,
        attributes: impl FnOnce() -> Attributes,
    ) {
        if status == 0 {
            self.count(ctx, name, op, true);
        } else {
            self.record(ctx, name, op, attributes);
        }
    }
}

/// Everything but the framers, so a framer's callback can use it.
#[derive(Debug, Default)]
struct State {
    pending: VecDeque<(Key, Asked)>,
    connections: VecDeque<Connection>,
    counters: Counters,
    classified: Classified,
}

/// Paths up to this many bytes are remembered by [`Classified`].
const REMEMBERED_PATH: usize = 8;
/// Entries of [`Classified`].
const REMEMBERED: usize = 8;

/// A request's target and classification, by its service and path bytes.
#[derive(Clone, Debug)]
struct Known {
    service: Service,
    /// The path's bytes packed in order, with its length: compared as two
    /// integers (a slice comparison called `memcmp` for four bytes).
    path: u64,
    len: u8,
    target: Target<'static>,
    name: Cow<'static, str>,
    op: OperationClass,
}

/// The classifications most recently made on this flow, direct-mapped. A
/// Multiple Service Packet repeats the same few requests dozens of times
/// (thirty reads of one object in one message, every cycle), and
/// [`Target::of`] with [`cip::classify`] is a pure function of the service
/// and path: a repeat is answered here. Only paths without a symbol are kept
/// (a symbol borrows the packet).
#[derive(Debug, Default)]
struct Classified([Option<Known>; REMEMBERED]);

impl Classified {
    fn slot(service: Service, packed: u64) -> usize {
        let h = (packed ^ u64::from(service.0) << 56).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 61) as usize % REMEMBERED
    }

    /// The target of `path` and the name and class of `service` on it.
    fn of<'a>(&mut self, service: Service, path: &'a [u8]) -> (Target<'a>, Cow<'static, str>, OperationClass) {
        if path.len() > REMEMBERED_PATH {
            let t = Target::of(path);
            let (name, op) = cip::classify(service, &t);
            return (t, name, op);
        }
        let packed = path.iter().fold(0u64, |p, &b| p << 8 | u64::from(b));
        let len = path.len() as u8;
        let slot = Self::slot(service, packed);
        if let Some(Some(k)) = self.0.get(slot) {
            if k.service == service && k.path == packed && k.len == len {
                return (k.target, k.name.clone(), k.op);
            }
        }
        let t = Target::of(path);
        let (name, op) = cip::classify(service, &t);
        if t.symbol.is_none() {
            let target = Target { symbol: None, ..t };
            if let Some(e) = self.0.get_mut(slot) {
                *e = Some(Known { service, path: packed, len, target, name: name.clone(), op });
            }
        }
        (t, name, op)
    }
}

/// The per-flow session.
#[derive(Default)]
pub(crate) struct Session {
    framers: [Framer; 2],
    state: State,
    tap: Option<Box<dyn Tap>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("framers", &self.framers).field("state", &self.state).finish()
    }
}

impl Session {
    pub(crate) fn new(tap: Option<Box<dyn Tap>>) -> Self {
        Session { tap, ..Session::default() }
    }

    /// In-order bytes of one direction of a TCP stream.
    pub(crate) fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { framers, state, tap } = self;
        let Some(framer) = framers.get_mut(direction.index()) else { return };
        let mut out = Out::new(emit, tap.as_deref_mut());
        framer.push(data, &mut |f| match f {
            Framed::Frame(h, body) => state.message(ctx, &h, body, &mut out),
            Framed::Malformed(e) => out.now(ctx).malformed(ctx, PROTOCOL_ENIP, e.what()),
        });
        out.flush(ctx);
    }

    /// One UDP datagram: encapsulation messages (port 44818), or a bare CPF
    /// list of implicit I/O (port 2222), counted as `io` and not read further.
    pub(crate) fn datagram(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        if super::is_io_datagram(data) {
            emit.message(ctx, PROTOCOL_ENIP, Cow::Borrowed("io"), OperationClass::Read);
            return;
        }
        self.data(ctx, direction, data, emit);
        if let Some(f) = self.framers.get_mut(direction.index()) {
            if f.buffered() > 0 {
                emit.malformed(ctx, PROTOCOL_ENIP, "truncated_message");
            }
            f.reset();
        }
    }

    /// Bytes of one direction are missing: drop the partial message and what
    /// was waiting for a response.
    pub(crate) fn gap(&mut self, direction: Direction, len: u64) {
        if let Some(f) = self.framers.get_mut(direction.index()) {
            f.gap(len);
        }
        self.state.pending.clear();
    }

    /// Reports what was counted, once, when the flow ends.
    pub(crate) fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let c = self.state.counters;
        let skipped: u64 = self.framers.iter().map(|f| f.stats.skipped_bytes).sum();
        let counts = [
            ("resync_skipped_bytes", skipped),
            ("pending_overflows", c.pending_overflows),
            ("connection_overflows", c.connection_overflows),
            ("service_mismatches", c.service_mismatches),
            ("nonzero_options", c.nonzero_options),
        ];
        if counts.iter().all(|(_, n)| *n == 0) {
            return;
        }
        let mut e = ctx.event(PROTOCOL_ENIP, EventKind::Anomaly, "enip.session_anomalies");
        for (k, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
            e.attributes.push((Cow::Borrowed(k), n.to_compact_string()));
        }
        emit.event(e);
    }
}

impl State {
    /// One encapsulation message.
    fn message(&mut self, ctx: &PacketCtx<'_>, h: &Header, body: &[u8], out: &mut Out<'_>) {
        if let Some(t) = out.tap.as_deref_mut() {
            t.command(ctx, h.command);
        }
        if h.options != 0 {
            self.counters.nonzero_options += 1;
        }
        use OperationClass::*;
        let class = match h.command {
            Command::SEND_RR_DATA | Command::SEND_UNIT_DATA => return self.send_data(ctx, h, body, out),
            Command::LIST_IDENTITY => {
                list_identity(ctx, body, out);
                Discovery
            }
            Command::LIST_SERVICES | Command::LIST_INTERFACES => Discovery,
            Command::NOP | Command::REGISTER_SESSION | Command::UNREGISTER_SESSION => Session,
            Command::INDICATE_STATUS | Command::CANCEL => Session,
            _ => Unknown,
        };
        out.now(ctx).message(ctx, PROTOCOL_ENIP, h.command.name(), class);
    }

    /// SendRRData / SendUnitData: the CPF items, then the CIP message.
    fn send_data(&mut self, ctx: &PacketCtx<'_>, h: &Header, body: &[u8], out: &mut Out<'_>) {
        // A reply with a nonzero status says the command failed and need carry
        // no command-specific data (Vol. 2 §2-3.3): cpppo answers a request it
        // cannot parse so, and tshark reads it as a whole message.
        if body.is_empty() && h.status != 0 {
            out.now(ctx).message(ctx, PROTOCOL_ENIP, h.command.name(), OperationClass::Session);
            return;
        }
        let items = match encap::rr_items(body) {
            Ok((_interface, items)) => items,
            Err(e) => {
                out.now(ctx).malformed(ctx, PROTOCOL_ENIP, e.what());
                return;
            }
        };
        let mut conn = None;
        let mut payload = None;
        let mut sequenced = false;
        for item in items {
            match item {
                Err(e) => {
                    out.now(ctx).malformed(ctx, PROTOCOL_ENIP, e.what());
                    return;
                }
                Ok(i) => match i.kind {
                    ItemType::CONNECTED_ADDRESS => conn = Cursor::new(i.data).le_u32(),
                    ItemType::SEQUENCED_ADDRESS => {
                        conn = Cursor::new(i.data).le_u32();
                        sequenced = true;
                    }
                    ItemType::UNCONNECTED_DATA | ItemType::CONNECTED_DATA if payload.is_none() => {
                        payload = Some((i.kind, i.data));
                    }
                    _ => {}
                },
            }
        }
        match payload {
            Some((ItemType::UNCONNECTED_DATA, data)) => {
                self.cip(ctx, out, Key::Context(h.context), &Classes::default(), None, data, 0);
            }
            Some((_, data)) => {
                let known = conn.and_then(|id| self.connections.iter().find(|c| c.o2t == id || c.t2o == id).copied());
                if sequenced || known.is_some_and(|c| c.transport_class < 2) {
                    out.now(ctx).message(ctx, PROTOCOL_ENIP, Cow::Borrowed("io"), OperationClass::Read);
                    return;
                }
                let mut c = Cursor::new(data);
                let Some(seq) = c.le_u16() else {
                    out.now(ctx).malformed(ctx, PROTOCOL_ENIP, "connected_data_truncated");
                    return;
                };
                let id = known.map(|k| k.o2t).or(conn).unwrap_or(0);
                let classes = known.map(|k| k.path_classes).unwrap_or_default();
                self.cip(ctx, out, Key::Connected { conn: id, seq }, &classes, conn, c.rest(), 0);
            }
            None => out.now(ctx).message(ctx, PROTOCOL_ENIP, h.command.name(), OperationClass::Session),
        }
    }

    /// One CIP message arriving by `key`; `extra` are the classes of the
    /// connection it travels on.
    #[allow(clippy::too_many_arguments)]
    fn cip(
        &mut self,
        ctx: &PacketCtx<'_>,
        out: &mut Out<'_>,
        key: Key,
        extra: &Classes,
        conn: Option<u32>,
        data: &[u8],
        depth: u8,
    ) {
        match cip::parse(data) {
            Err(e) => out.now(ctx).malformed(ctx, PROTOCOL_CIP, e.what()),
            Ok(Message::Request(r)) => {
                let mut asked = self.request(ctx, out, &r, extra, conn, (Via::Direct, &[]), depth);
                if asked.class == Some(cip::CLASS_IDENTITY) && asked.identity_route.is_none() {
                    // On a connection whose path crosses the backplane, the
                    // Identity object answering is the module at its end.
                    let on = conn.and_then(|id| self.connections.iter().find(|c| c.o2t == id || c.t2o == id));
                    asked.identity_route = on.and_then(|c| c.route.text()).map(String::into_boxed_str);
                }
                self.remember(key, asked);
            }
            Ok(Message::Response(r)) => match self.waiting(key) {
                Some(at) => {
                    // Answered where it waits, then dropped: the record (over
                    // a hundred bytes, with a Multiple Service Packet's list)
                    // is not moved out first. `answer` never uses the queue.
                    let mut pending = std::mem::take(&mut self.pending);
                    if let Some((_, asked)) = pending.get(at) {
                        self.answer(ctx, out, asked, &r, extra, conn);
                    }
                    drop(pending.remove(at));
                    self.pending = pending;
                }
                None => self.unpaired(ctx, out, &r, extra, conn),
            },
        }
    }

    fn remember(&mut self, key: Key, asked: Asked) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            self.counters.pending_overflows += 1;
        }
        self.pending.push_back((key, asked));
    }

    /// Where the oldest request waiting under `key` is; for connected
    /// messaging on a connection not seen opening, the oldest with the same
    /// sequence count.
    fn waiting(&self, key: Key) -> Option<usize> {
        self.pending.iter().position(|(k, _)| *k == key).or_else(|| match key {
            Key::Connected { seq, .. } => {
                self.pending.iter().position(|(k, _)| matches!(k, Key::Connected { seq: s, .. } if *s == seq))
            }
            Key::Context(_) => None,
        })
    }

    /// A request: classify, report, and return what its response needs.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        ctx: &PacketCtx<'_>,
        out: &mut Out<'_>,
        r: &Request<'_>,
        extra: &Classes,
        conn: Option<u32>,
        (via, route): (Via, &[u8]),
        depth: u8,
    ) -> Asked {
        let (t, name, op) = self.classified.of(r.service, r.path);
        // What the tap is shown, built only for a tap: read from the caller
        // and merged on every request, it was work for nothing otherwise.
        let mut classes = if out.tapped() { extra.merged(&t.classes) } else { Classes::default() };
        let mut asked = Asked {
            service: r.service,
            class: t.class,
            instance: t.instance,
            attribute: t.attribute,
            classes: t.classes,
            name,
            op,
            via,
            identity_route: (t.class == Some(cip::CLASS_IDENTITY) && !route.is_empty())
                .then(|| cm::route_text(route).into_boxed_str()),
            kind: AskedKind::Plain,
        };
        let cm = t.class == Some(cip::CLASS_CONNECTION_MANAGER);
        match r.service {
            Service::UNCONNECTED_SEND if cm && depth < MAX_DEPTH => {
                out.cip(ctx, r.service, &classes);
                let embedded = cm::unconnected_send(r.data).and_then(|u| match cip::parse(u.message) {
                    Ok(Message::Request(e)) => Some((u, e)),
                    _ => None,
                });
                let Some((u, e)) = embedded else {
                    out.now(ctx).malformed(ctx, PROTOCOL_CIP, "unconnected_send_unreadable");
                    return asked;
                };
                let inner =
                    self.request(ctx, out, &e, &Classes::default(), conn, (Via::UnconnectedSend, u.route), depth + 1);
                asked.kind = AskedKind::UnconnectedSend(Box::new(inner));
                return asked;
            }
            Service::MULTIPLE_SERVICE_PACKET if depth < MAX_DEPTH => {
                out.cip(ctx, r.service, &classes);
                let mut list = Vec::new();
                match cip::multiple(r.data) {
                    None => out.now(ctx).malformed(ctx, PROTOCOL_CIP, "multiple_service_truncated"),
                    Some(parts) => {
                        // Sized once: growing it a part at a time reallocated
                        // on most Multiple Service Packets.
                        list.reserve_exact(parts.size_hint().0.min(MAX_EMBEDDED));
                        for part in parts {
                            match part.map(cip::parse) {
                                Some(Ok(Message::Request(e))) => {
                                    let a = self.request(
                                        ctx,
                                        out,
                                        &e,
                                        &Classes::default(),
                                        conn,
                                        (Via::MultipleServicePacket, &[]),
                                        depth + 1,
                                    );
                                    if list.len() < MAX_EMBEDDED {
                                        list.push(a);
                                    }
                                }
                                _ => out.now(ctx).malformed(ctx, PROTOCOL_CIP, "multiple_service_unreadable"),
                            }
                        }
                    }
                }
                if list.is_empty() {
                    out.record(ctx, &asked.name, asked.op, Vec::new);
                }
                asked.kind = AskedKind::Multiple(list);
                return asked;
            }
            Service::FORWARD_OPEN | Service::LARGE_FORWARD_OPEN if cm => {
                match cm::forward_open(r.data, r.service == Service::LARGE_FORWARD_OPEN) {
                    Some(f) => {
                        let path_classes = Target::of(f.path).classes;
                        classes.extend(&path_classes);
                        asked.classes.extend(&path_classes);
                        asked.kind = AskedKind::ForwardOpen(Box::new(OpenAsked {
                            serial: f.serial,
                            vendor: f.vendor,
                            originator_serial: f.originator_serial,
                            transport_class: f.transport_class(),
                            path_classes,
                            route: Route::of(f.path),
                        }));
                    }
                    None => out.now(ctx).malformed(ctx, PROTOCOL_CIP, "forward_open_truncated"),
                }
            }
            Service::FORWARD_CLOSE if cm => match cm::forward_close(r.data) {
                Some(f) => {
                    let path_classes = Target::of(f.path).classes;
                    classes.extend(&path_classes);
                    asked.classes.extend(&path_classes);
                    asked.kind = AskedKind::ForwardClose {
                        serial: f.serial,
                        vendor: f.vendor,
                        originator_serial: f.originator_serial,
                    };
                }
                None => out.now(ctx).malformed(ctx, PROTOCOL_CIP, "forward_close_truncated"),
            },
            Service::EXECUTE_PCCC if t.class == Some(cip::CLASS_PCCC) => {
                out.cip(ctx, r.service, &classes);
                match pccc::parse(r.data, false) {
                    Some(p) => {
                        let (name, op) = pccc::classify(p.cmd, p.fnc);
                        asked.name = name;
                        asked.op = op;
                        out.record(ctx, &asked.name, op, || {
                            let mut a = request_attributes(&t, r.service, via, route, conn);
                            a.push((Cow::Borrowed("pccc_command"), hex(u64::from(p.cmd), 2)));
                            if let Some(f) = p.fnc {
                                a.push((Cow::Borrowed("pccc_function"), hex(u64::from(f), 2)));
                            }
                            if let Some(m) = pccc::cpu_mode(&p) {
                                a.push((Cow::Borrowed("cpu_mode"), fixed(m)));
                            }
                            a
                        });
                    }
                    None => {
                        out.now(ctx).malformed(ctx, PROTOCOL_CIP, "pccc_truncated");
                        out.record(ctx, &asked.name, asked.op, Vec::new);
                    }
                }
                return asked;
            }
            _ => {}
        }
        out.cip(ctx, r.service, &classes);
        out.record(ctx, &asked.name, asked.op, || {
            let mut a = request_attributes(&t, r.service, via, route, conn);
            if r.service == Service::RESET {
                if let Some(&kind) = r.data.first() {
                    // Identity Reset (Vol. 1 §5-2.3.1): 0 = power cycle, 1 =
                    // factory defaults, 2 = defaults except communication.
                    a.push((Cow::Borrowed("reset_type"), dec(kind)));
                }
            }
            a
        });
        asked
    }

    /// A response whose request is known.
    fn answer(
        &mut self,
        ctx: &PacketCtx<'_>,
        out: &mut Out<'_>,
        asked: &Asked,
        r: &Response<'_>,
        extra: &Classes,
        conn: Option<u32>,
    ) {
        // As in `request`: only for a tap.
        let classes = if out.tapped() { extra.merged(&asked.classes) } else { Classes::default() };
        match &asked.kind {
            // A routed request's reply is the target's own reply, unless
            // routing failed (the Unconnected_Send reply itself).
            AskedKind::UnconnectedSend(inner) if r.service != Service::UNCONNECTED_SEND => {
                return self.answer(ctx, out, inner, r, &classes, conn);
            }
            AskedKind::UnconnectedSend(inner) => {
                out.cip(ctx, r.service, &classes);
                out.record(ctx, &inner.name, inner.op, || response_attributes(inner, r, conn));
                return;
            }
            AskedKind::Multiple(list) if r.service == Service::MULTIPLE_SERVICE_PACKET => {
                out.cip(ctx, r.service, &classes);
                let mut any = false;
                if let Some(parts) = cip::multiple(r.data) {
                    for (i, part) in parts.enumerate() {
                        match part.map(cip::parse) {
                            Some(Ok(Message::Response(e))) => {
                                any = true;
                                match list.get(i) {
                                    Some(a) if a.service == e.service => {
                                        self.answer(ctx, out, a, &e, &Classes::default(), conn);
                                    }
                                    _ => self.unpaired(ctx, out, &e, &Classes::default(), conn),
                                }
                            }
                            _ => out.now(ctx).malformed(ctx, PROTOCOL_CIP, "multiple_service_unreadable"),
                        }
                    }
                }
                if !any {
                    out.record(ctx, &asked.name, asked.op, || response_attributes(asked, r, conn));
                }
                return;
            }
            _ if r.service != asked.service => {
                self.counters.service_mismatches += 1;
                return self.unpaired(ctx, out, r, extra, conn);
            }
            AskedKind::ForwardOpen(o) if r.status == 0 => {
                if let Some(reply) = cm::forward_open_reply(r.data) {
                    self.open(Connection {
                        o2t: reply.o2t_id,
                        t2o: reply.t2o_id,
                        serial: o.serial,
                        vendor: o.vendor,
                        originator_serial: o.originator_serial,
                        transport_class: o.transport_class,
                        path_classes: o.path_classes,
                        route: o.route,
                    });
                }
            }
            AskedKind::ForwardClose { serial, vendor, originator_serial } if r.status == 0 => {
                self.connections
                    .retain(|c| (c.serial, c.vendor, c.originator_serial) != (*serial, *vendor, *originator_serial));
            }
            _ => {}
        }
        out.cip(ctx, r.service, &classes);
        if asked.class == Some(cip::CLASS_IDENTITY) && r.status == 0 {
            identity_reply(ctx, asked, r, out);
        }
        out.reply(ctx, &asked.name, asked.op, r.status, || response_attributes(asked, r, conn));
    }

    /// A response whose request was not seen (before the capture, or lost):
    /// named by its service alone.
    fn unpaired(
        &mut self,
        ctx: &PacketCtx<'_>,
        out: &mut Out<'_>,
        r: &Response<'_>,
        extra: &Classes,
        conn: Option<u32>,
    ) {
        out.cip(ctx, r.service, extra);
        if r.service == Service::MULTIPLE_SERVICE_PACKET {
            if let Some(parts) = cip::multiple(r.data) {
                let mut any = false;
                for part in parts {
                    if let Some(Ok(Message::Response(e))) = part.map(cip::parse) {
                        any = true;
                        // Embedded replies name no path either.
                        out.cip(ctx, e.service, &Classes::default());
                        let (name, op) = unpaired_class(e.service);
                        out.record(ctx, &name, op, || unpaired_attributes(&e, conn));
                    }
                }
                if any {
                    return;
                }
            }
        }
        let (name, op) = unpaired_class(r.service);
        out.record(ctx, &name, op, || unpaired_attributes(r, conn));
    }

    /// Records a connection, dropping the oldest past the cap.
    fn open(&mut self, c: Connection) {
        self.connections.retain(|k| k.o2t != c.o2t && k.t2o != c.t2o);
        if self.connections.len() >= MAX_CONNECTIONS {
            self.connections.pop_front();
            self.counters.connection_overflows += 1;
        }
        self.connections.push_back(c);
    }
}

/// The name and class of a response whose request is unknown: common
/// services by their name (a reply to a stop still tells a stop happened),
/// class-specific ones by number, class Unknown (the class is not known).
fn unpaired_class(service: Service) -> (Cow<'static, str>, OperationClass) {
    cip::classify(service, &Target::default())
}

/// The class code, and its object's name where the CIP class table has one.
fn push_class(a: &mut Attributes, class: u32) {
    a.push((Cow::Borrowed("class"), hex(u64::from(class), 2)));
    if let Some(name) = names::class(class) {
        a.push((Cow::Borrowed("class_name"), fixed(name)));
    }
}

/// The general status, and its meaning where CIP defines one.
fn push_status(a: &mut Attributes, status: u8) {
    a.push((Cow::Borrowed("status"), hex(u64::from(status), 2)));
    if let Some(text) = names::general_status(status) {
        a.push((Cow::Borrowed("status_text"), fixed(text)));
    }
}

/// The attributes of a notable request's record.
fn request_attributes(t: &Target<'_>, service: Service, via: Via, route: &[u8], conn: Option<u32>) -> Attributes {
    // Room for a PCCC command's too (nine on a connected one): at eight, the
    // list was reallocated on every one of them.
    let mut a: Attributes = Vec::with_capacity(12);
    a.push((Cow::Borrowed("message"), fixed("request")));
    a.push((Cow::Borrowed("service"), hex(u64::from(service.0), 2)));
    if let Some(c) = t.class {
        push_class(&mut a, c);
    }
    if let Some(i) = t.instance {
        a.push((Cow::Borrowed("instance"), dec(i)));
    }
    if let Some(x) = t.attribute {
        a.push((Cow::Borrowed("attribute"), dec(x)));
    }
    if let Some(m) = t.member {
        a.push((Cow::Borrowed("member"), dec(m)));
    }
    if let Some(s) = t.symbol {
        a.push((Cow::Borrowed("tag"), cip::symbol_text(s).into()));
    }
    if let Some(v) = via.name() {
        a.push((Cow::Borrowed("via"), fixed(v)));
    }
    if !route.is_empty() {
        a.push((Cow::Borrowed("route"), cm::route_text(route).into()));
    }
    if let Some(c) = conn {
        a.push((Cow::Borrowed("connection_id"), hex(u64::from(c), 8)));
    }
    a
}

/// The attributes of a notable response's record.
fn response_attributes(asked: &Asked, r: &Response<'_>, conn: Option<u32>) -> Attributes {
    let mut a: Attributes = Vec::with_capacity(8);
    a.push((Cow::Borrowed("message"), fixed("response")));
    a.push((Cow::Borrowed("service"), hex(u64::from(asked.service.0), 2)));
    if let Some(c) = asked.class {
        push_class(&mut a, c);
    }
    if let Some(i) = asked.instance {
        a.push((Cow::Borrowed("instance"), dec(i)));
    }
    if let Some(x) = asked.attribute {
        a.push((Cow::Borrowed("attribute"), dec(x)));
    }
    if let Some(v) = asked.via.name() {
        a.push((Cow::Borrowed("via"), fixed(v)));
    }
    push_status(&mut a, r.status);
    if let Some(x) = r.extended {
        a.push((Cow::Borrowed("extended_status"), hex(u64::from(x), 4)));
    }
    if let Some(c) = conn {
        a.push((Cow::Borrowed("connection_id"), hex(u64::from(c), 8)));
    }
    a
}

/// The attributes of a notable response without its request.
fn unpaired_attributes(r: &Response<'_>, conn: Option<u32>) -> Attributes {
    let mut a: Attributes = Vec::with_capacity(4);
    a.push((Cow::Borrowed("message"), fixed("response")));
    a.push((Cow::Borrowed("service"), hex(u64::from(r.service.0), 2)));
    push_status(&mut a, r.status);
    if let Some(c) = conn {
        a.push((Cow::Borrowed("connection_id"), hex(u64::from(c), 8)));
    }
    a
}

/// A ListIdentity reply's identity items, as `enip.list_identity` events.
fn list_identity(ctx: &PacketCtx<'_>, body: &[u8], out: &mut Out<'_>) {
    // The request has no data; the reply is a CPF list.
    if body.is_empty() {
        return;
    }
    let Ok(items) = encap::Items::parse(body) else {
        out.now(ctx).malformed(ctx, PROTOCOL_ENIP, "cpf_truncated");
        return;
    };
    for item in items {
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                out.now(ctx).malformed(ctx, PROTOCOL_ENIP, e.what());
                return;
            }
        };
        if item.kind != ItemType::LIST_IDENTITY {
            continue;
        }
        match identity::list_identity_item(item.data) {
            Some(id) => {
                let mut e = ctx.event(PROTOCOL_ENIP, EventKind::Identity, "enip.list_identity");
                e.attributes = id.attributes();
                out.now(ctx).event(e);
            }
            None => out.now(ctx).malformed(ctx, PROTOCOL_ENIP, "list_identity_item_truncated"),
        }
    }
}

/// An Identity object reply (Get_Attributes_All, Get_Attribute_Single,
/// Get_Attribute_List) as a `cip.identity` event.
fn identity_reply(ctx: &PacketCtx<'_>, asked: &Asked, r: &Response<'_>, out: &mut Out<'_>) {
    let (id, source) = match asked.service {
        Service::GET_ATTRIBUTES_ALL => (identity::get_attributes_all(r.data), "get_attributes_all"),
        Service::GET_ATTRIBUTE_SINGLE => match asked.attribute {
            Some(a) => (identity::get_attribute_single(r.data, a), "get_attribute_single"),
            None => return,
        },
        Service::GET_ATTRIBUTE_LIST => (identity::get_attribute_list(r.data), "get_attribute_list"),
        _ => return,
    };
    let Some(id) = id else {
        if asked.service == Service::GET_ATTRIBUTES_ALL {
            out.now(ctx).malformed(ctx, PROTOCOL_CIP, "identity_truncated");
        }
        return;
    };
    let mut e = ctx.event(PROTOCOL_CIP, EventKind::Identity, "cip.identity");
    e.attributes = id.attributes();
    e.attributes.push((Cow::Borrowed("source"), source.to_compact_string()));
    if let Some(i) = asked.instance {
        e.attributes.push((Cow::Borrowed("instance"), dec(i)));
    }
    if let Some(route) = &asked.identity_route {
        e.attributes.push((Cow::Borrowed("route"), route.to_compact_string()));
    }
    out.now(ctx).event(e);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{Classified, Route};
    use crate::enip::cip::{self, Service, Target};
    use proptest::prelude::*;

    proptest! {
        /// Remembered classifications answer exactly as classifying afresh,
        /// whatever mix of repeated and colliding requests a flow sends.
        #[test]
        fn remembered_classifications_are_the_ones_made_afresh(
            requests in proptest::collection::vec(
                (
                    prop_oneof![Just(0x4cu8), Just(0x4d), Just(0x0e), Just(0x01), Just(0x10), any::<u8>()],
                    prop_oneof![
                        Just(vec![0x20, 0x72, 0x24, 0x00]),
                        Just(vec![0x20, 0x01, 0x24, 0x01, 0x30, 0x07]),
                        Just(vec![0x20, 0xa1, 0x24, 0x01]),
                        Just(vec![0x91, 0x03, b'T', b'a', b'g', 0x00]),
                        proptest::collection::vec(any::<u8>(), 0..12),
                    ],
                ),
                1..200,
            )
        ) {
            let mut memo = Classified::default();
            for (service, path) in &requests {
                let service = Service(service & 0x7f);
                let fresh = Target::of(path);
                let (t, name, op) = memo.of(service, path);
                prop_assert_eq!(t, fresh);
                prop_assert_eq!((name, op), cip::classify(service, &fresh));
            }
        }
    }

    #[test]
    fn a_connection_route_is_the_port_segments_leading_its_path() {
        // Backplane port 1 slot 0, then Message Router class 2 instance 1.
        assert_eq!(Route::of(&[0x01, 0x00, 0x20, 0x02, 0x24, 0x01]).text().as_deref(), Some("1/0"));
        // Two hops: backplane slot 2, then port 2 to an extended (IP) link address "10.0.0.9" padded.
        let mut path = vec![0x01, 0x02, 0x12, 0x08];
        path.extend_from_slice(b"10.0.0.9");
        path.extend_from_slice(&[0x20, 0x02, 0x24, 0x01]);
        assert_eq!(Route::of(&path).text().as_deref(), Some("1/2,2/10.0.0.9"));
        // No port segment: no route; a truncated one: none either.
        assert_eq!(Route::of(&[0x20, 0x02, 0x24, 0x01]).text(), None);
        assert_eq!(Route::of(&[0x12, 0x20, 0x31]).text(), None);
    }
}
