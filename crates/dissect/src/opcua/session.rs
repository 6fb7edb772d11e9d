//! Per-flow OPC UA state: one [`Reader`] per direction, the channel's
//! security (policy from the `OPN` security header, mode from the
//! OpenSecureChannelRequest), which side is the UA client, the open requests
//! that pair responses by RequestHandle, and the identity facts already
//! reported.
//!
//! The UA client is the side that sends Hello; with a ReverseHello the
//! server opened the TCP connection, so the client is its responder
//! (OPC 10000-6 §7.1.2.6). Without either, the flow's initiator is taken as
//! the client. Requests and responses are told apart by their encoding id,
//! so pairing does not depend on that guess; it only decides what an
//! unknown service id is. The table holds at most [`MAX_OPEN`] requests
//! (Publish requests stay open by design); the oldest is dropped beyond.

use super::encoding::{lossy, Decoder};
use super::secure::{self, Message, Protection, Reader, Unit, Units};
use super::services::{self as svc, ids, Items, Kind, SecurityMode, ServiceId};
use super::tcp::{self, MessageType};
use super::{Tap, PROTOCOL};
use crate::{Emit, PacketCtx, StreamSession};
use otposture_model::{format_compact, ToCompactString};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::hash::BuildHasher;

/// Open requests kept per flow.
pub(crate) const MAX_OPEN: usize = 64;
/// Identity facts remembered per flow to report each once.
pub(crate) const MAX_SEEN: usize = 64;
/// Build-information nodes remembered per Read request.
const MAX_BUILD_NODES: usize = 16;

type Attributes = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

/// A request waiting for its response.
#[derive(Clone, Debug)]
struct Open {
    handle: u32,
    service: ServiceId,
    /// Read: positions and node numbers of build-information nodes read.
    build: Vec<(usize, u32)>,
}

/// What did not pair or fit, reported when the flow closes.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    evicted: u64,
    service_mismatches: u64,
    malformed_bodies: u64,
}

/// The channel's security as far as seen.
#[derive(Clone, Debug, Default)]
struct Security {
    /// From the last `OPN` security header: the policy is `None`.
    policy_none: Option<bool>,
    /// Its symmetric signature length, for standard policies.
    signature: Option<usize>,
    /// Its URI, kept for the secure channel event.
    policy_uri: String,
    /// From an OpenSecureChannelRequest that could be read.
    mode: Option<SecurityMode>,
}

impl Security {
    fn protection(&self) -> Protection {
        match (self.policy_none, self.mode) {
            (Some(true), _) => Protection::Plain,
            (Some(false), Some(SecurityMode::SIGN_AND_ENCRYPT)) => Protection::Encrypted,
            (Some(false), Some(SecurityMode::SIGN)) => Protection::Signed(self.signature.unwrap_or(0)),
            (Some(false), _) | (None, _) => Protection::Unknown(self.signature.unwrap_or(0)),
        }
    }
}

/// The optional tap, with a `Debug` that says only whether there is one.
#[derive(Default)]
struct Taps(Option<Box<dyn Tap>>);

impl std::fmt::Debug for Taps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Taps({})", self.0.is_some())
    }
}

/// Everything but the readers, so a reader's callback can use it.
#[derive(Debug, Default)]
struct State {
    tap: Taps,
    security: Security,
    client: Option<Direction>,
    open: VecDeque<Open>,
    /// Fingerprints of identity events reported.
    seen: Vec<u64>,
    counters: Counters,
}

/// The per-flow session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    readers: [Reader; 2],
    state: State,
}

impl Session {
    pub(crate) fn new(tap: Option<Box<dyn Tap>>) -> Self {
        Session { state: State { tap: Taps(tap), ..State::default() }, ..Session::default() }
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { readers, state } = self;
        let Some(reader) = readers.get_mut(direction.index()) else { return };
        reader.push(data, &mut Out { state, ctx, direction, emit });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if let Some(r) = self.readers.get_mut(direction.index()) {
            r.gap(len);
        }
        // Answers to requests lost in the gap would pair wrongly.
        self.state.open.clear();
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let c = self.state.counters;
        let skipped: u64 = self.readers.iter().map(Reader::skipped_bytes).sum();
        let orphans: u64 = self.readers.iter().map(|r| r.stats.orphan_chunks).sum();
        let truncated: u64 = self.readers.iter().map(|r| r.stats.truncated_messages).sum();
        let counts = [
            ("resync_skipped_bytes", skipped),
            ("orphan_chunks", orphans),
            ("truncated_messages", truncated),
            ("evicted_requests", c.evicted),
            ("service_mismatches", c.service_mismatches),
        ];
        if counts.iter().all(|(_, n)| *n == 0) {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "opcua.session_anomalies");
        for (k, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
            e.attributes.push((Cow::Borrowed(k), n.to_compact_string()));
        }
        emit.event(e);
    }
}

/// What a reader's units go to: the flow's state, with the packet's context.
struct Out<'s, 'c, 'e> {
    state: &'s mut State,
    ctx: &'s PacketCtx<'c>,
    direction: Direction,
    emit: &'e mut dyn Emit,
}

impl Units for Out<'_, '_, '_> {
    fn protection(&self) -> Protection {
        self.state.security.protection()
    }
    fn unit(&mut self, u: Unit<'_>) {
        self.state.unit(self.ctx, self.direction, u, self.emit);
    }
}

/// Text of an optional UA string, lossy and capped.
fn text(s: Option<&[u8]>) -> String {
    s.map(|b| lossy(b, svc::MAX_TEXT)).unwrap_or_default()
}

fn push(a: &mut Attributes, k: &'static str, v: String) {
    a.push((Cow::Borrowed(k), v.into()));
}

/// Pushes `v` under `k` when it is not empty.
fn push_some(a: &mut Attributes, k: &'static str, v: String) {
    if !v.is_empty() {
        a.push((Cow::Borrowed(k), v.into()));
    }
}

impl State {
    /// Tells the tap about a message; an `OPN` carries its policy.
    fn tap(&mut self, ctx: &PacketCtx<'_>, t: MessageType, service: Option<ServiceId>) {
        if let Some(tap) = self.tap.0.as_deref_mut() {
            let policy = (t == MessageType::OPEN).then_some(self.security.policy_uri.as_str());
            tap.message(ctx, t, service, policy);
        }
    }

    /// The direction the UA client sends in.
    fn client(&self) -> Direction {
        self.client.unwrap_or(Direction::ToServer)
    }

    fn unit(&mut self, ctx: &PacketCtx<'_>, direction: Direction, u: Unit<'_>, emit: &mut dyn Emit) {
        match u {
            Unit::Malformed(what) => emit.malformed(ctx, PROTOCOL, what),
            Unit::Transport(t, body) => self.transport(ctx, direction, t, body, emit),
            Unit::OpenHeader { header, .. } => {
                self.security.policy_none = Some(header.is_policy_none());
                self.security.signature = header.policy_uri.and_then(secure::signature_len);
                self.security.policy_uri = text(header.policy_uri);
                if !header.is_policy_none() {
                    // The mode of this channel is inside the encrypted body.
                    self.security.mode = None;
                }
            }
            Unit::Encrypted { message_type, .. } => self.encrypted(ctx, direction, message_type, emit),
            Unit::Abort { message_type, .. } => {
                self.tap(ctx, message_type, None);
                emit.message(ctx, PROTOCOL, Cow::Borrowed("abort"), OperationClass::Session);
            }
            Unit::Message(m) => self.message(ctx, direction, m, emit),
        }
    }

    fn transport(
        &mut self,
        ctx: &PacketCtx<'_>,
        direction: Direction,
        t: MessageType,
        body: &[u8],
        emit: &mut dyn Emit,
    ) {
        self.tap(ctx, t, None);
        let op = match t {
            MessageType::HELLO => {
                self.client = Some(direction);
                if tcp::parse_hello(body).is_err() {
                    emit.malformed(ctx, PROTOCOL, "bad_hello");
                }
                "hello"
            }
            MessageType::ACKNOWLEDGE => {
                if tcp::parse_acknowledge(body).is_err() {
                    emit.malformed(ctx, PROTOCOL, "bad_acknowledge");
                }
                "acknowledge"
            }
            MessageType::REVERSE_HELLO => {
                self.client = Some(direction.reverse());
                if tcp::parse_reverse_hello(body).is_err() {
                    emit.malformed(ctx, PROTOCOL, "bad_reverse_hello");
                }
                "reverse_hello"
            }
            _ => {
                match tcp::parse_error(body) {
                    Ok(err) => {
                        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "opcua.error");
                        e.attributes.push((Cow::Borrowed("error"), format_compact!("{:#010x}", err.error)));
                        e.attributes.push((Cow::Borrowed("reason"), text(err.reason).into()));
                        emit.event(e);
                    }
                    Err(_) => emit.malformed(ctx, PROTOCOL, "bad_error_message"),
                }
                "error"
            }
        };
        emit.message(ctx, PROTOCOL, Cow::Borrowed(op), OperationClass::Session);
    }

    fn encrypted(&mut self, ctx: &PacketCtx<'_>, direction: Direction, t: MessageType, emit: &mut dyn Emit) {
        self.tap(ctx, t, None);
        let op = match t {
            MessageType::OPEN => {
                if direction == self.client() {
                    self.secure_channel(ctx, None, None, emit);
                }
                "open_secure_channel"
            }
            MessageType::CLOSE => "close_secure_channel",
            _ => {
                // Documented choice: an encrypted message could be any
                // service, so it is counted as class Unknown.
                emit.message(ctx, PROTOCOL, Cow::Borrowed("encrypted"), OperationClass::Unknown);
                return;
            }
        };
        emit.message(ctx, PROTOCOL, Cow::Borrowed(op), OperationClass::Session);
    }

    /// Reports the channel's security once per distinct policy and mode.
    fn secure_channel(
        &mut self,
        ctx: &PacketCtx<'_>,
        mode: Option<SecurityMode>,
        request_type: Option<i32>,
        emit: &mut dyn Emit,
    ) {
        let policy_none = self.security.policy_none.unwrap_or(true);
        let mode_name = mode.map_or(Cow::Borrowed("unknown"), SecurityMode::name);
        let insecure = policy_none || mode == Some(SecurityMode::NONE);
        let mut a = Attributes::new();
        push(&mut a, "security_policy", self.security.policy_uri.clone());
        push(&mut a, "security_mode", mode_name.into_owned());
        push(&mut a, "insecure", insecure.to_string());
        if !self.first_time("opcua.secure_channel", &a) {
            return;
        }
        if let Some(t) = request_type {
            let t = match t {
                0 => "issue".to_string(),
                1 => "renew".to_string(),
                n => n.to_string(),
            };
            push(&mut a, "request_type", t);
        }
        self.identity(ctx, "opcua.secure_channel", a, emit);
    }

    /// True the first time an event of `name` with `a` is asked about
    /// (within [`MAX_SEEN`] remembered).
    fn first_time(&mut self, name: &str, a: &Attributes) -> bool {
        let h = foldhash::fast::FixedState::with_seed(0x0bc0_a000).hash_one((name, a));
        if self.seen.contains(&h) {
            return false;
        }
        if self.seen.len() >= MAX_SEEN {
            self.seen.remove(0);
        }
        self.seen.push(h);
        true
    }

    fn identity(&mut self, ctx: &PacketCtx<'_>, name: &'static str, attributes: Attributes, emit: &mut dyn Emit) {
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, name);
        e.attributes = attributes;
        emit.event(e);
    }

    fn message(&mut self, ctx: &PacketCtx<'_>, direction: Direction, m: Message<'_>, emit: &mut dyn Emit) {
        let mut d = Decoder::new(m.body);
        let service = svc::encoding_id(&mut d).map(|n| ServiceId::of(&n));
        if m.maybe_encrypted && service.as_ref().map_or(true, |s| s.kind() == Kind::Unknown) {
            // Under a policy whose mode was not seen, a body that does not
            // start with a known service is taken as ciphertext.
            self.encrypted(ctx, direction, m.message_type, emit);
            return;
        }
        self.tap(ctx, m.message_type, service.as_ref().ok().copied());
        let Ok(service) = service else {
            emit.malformed(ctx, PROTOCOL, "bad_service_node_id");
            let op = if m.message_type == MessageType::MESSAGE { "unknown_service" } else { "open_secure_channel" };
            emit.message(ctx, PROTOCOL, Cow::Borrowed(op), OperationClass::Unknown);
            return;
        };
        let kind = match service.kind() {
            Kind::Unknown if direction == self.client() => Kind::Request,
            Kind::Unknown => Kind::Response,
            k => k,
        };
        let result = match kind {
            Kind::Request => self.request(ctx, service, &mut d, emit),
            _ => self.response(ctx, service, kind, &mut d, emit),
        };
        if let Err(e) = result {
            self.counters.malformed_bodies += 1;
            emit.malformed(ctx, PROTOCOL, e.what());
        }
    }

    fn request(
        &mut self,
        ctx: &PacketCtx<'_>,
        service: ServiceId,
        d: &mut Decoder<'_>,
        emit: &mut dyn Emit,
    ) -> Result<(), super::encoding::DecodeError> {
        let (op, class) = (service.operation(), service.class());
        let header = match svc::request_header(d) {
            Ok(h) => h,
            Err(e) => {
                emit.message(ctx, PROTOCOL, op, class);
                return Err(e);
            }
        };
        let mut open = Open { handle: header.handle, service, build: Vec::new() };
        // Attributes only for the record of a notable request: the packet
        // path of reads and browses allocates nothing here.
        let mut a = Attributes::new();
        if class.is_notable() {
            push(&mut a, "message", "request".to_string());
            push(&mut a, "request_handle", header.handle.to_string());
        }
        let parsed = match service.0 {
            ids::OPEN_SECURE_CHANNEL_REQUEST => svc::open_secure_channel_request(d).map(|o| {
                self.security.mode = Some(o.mode);
                self.secure_channel(ctx, Some(o.mode), Some(o.request_type), emit);
            }),
            ids::CREATE_SESSION_REQUEST => svc::create_session_request(d).map(|c| {
                let mut a = application_attributes(&c.client);
                push_some(&mut a, "endpoint_url", text(c.endpoint_url));
                push_some(&mut a, "session_name", text(c.session_name));
                if self.first_time("opcua.client", &a) {
                    self.identity(ctx, "opcua.client", a, emit);
                }
            }),
            ids::ACTIVATE_SESSION_REQUEST => svc::activate_session_request(d).map(|t| {
                push(&mut a, "token_type", t.type_name().to_string());
                push_some(&mut a, "policy_id", text(t.policy_id));
                if t.user_name.is_some() {
                    push(&mut a, "user_name", text(t.user_name));
                }
                if let Some(enc) = t.encrypted {
                    push(&mut a, "password_encrypted", enc.to_string());
                }
            }),
            ids::READ_REQUEST => svc::read_request(d, &mut |i, t| {
                if let Some(n) = svc::build_info_field(&t.node, t.attribute) {
                    if open.build.len() < MAX_BUILD_NODES {
                        open.build.push((i, n));
                    }
                }
            })
            .map(|_| ()),
            ids::WRITE_REQUEST => svc::write_request(d).map(|it| write_attributes(&mut a, &it)),
            ids::CALL_REQUEST => svc::call_request(d).map(|it| call_attributes(&mut a, &it)),
            ids::HISTORY_UPDATE_REQUEST => svc::history_update_request(d).map(|it| {
                push(&mut a, "count", it.count.to_string());
                push_some(&mut a, "details_types", it.types.join(", "));
            }),
            ids::ADD_NODES_REQUEST
            | ids::ADD_REFERENCES_REQUEST
            | ids::DELETE_NODES_REQUEST
            | ids::DELETE_REFERENCES_REQUEST => svc::node_management_request(d, service.0).map(|it| {
                push(&mut a, "count", it.count.to_string());
                push_some(&mut a, "node_ids", it.nodes.join(", "));
                push_some(&mut a, "targets", it.targets.join(", "));
            }),
            _ => Ok(()),
        };
        if class.is_notable() {
            emit.operation(ctx, PROTOCOL, op, class, a);
        } else {
            emit.message(ctx, PROTOCOL, op, class);
        }
        self.remember(open);
        parsed
    }

    fn remember(&mut self, open: Open) {
        if let Some(i) = self.open.iter().position(|o| o.handle == open.handle) {
            self.open.remove(i);
        }
        if self.open.len() >= MAX_OPEN {
            self.open.pop_front();
            self.counters.evicted += 1;
        }
        self.open.push_back(open);
    }

    fn response(
        &mut self,
        ctx: &PacketCtx<'_>,
        service: ServiceId,
        kind: Kind,
        d: &mut Decoder<'_>,
        emit: &mut dyn Emit,
    ) -> Result<(), super::encoding::DecodeError> {
        let header = match svc::response_header(d) {
            Ok(h) => h,
            Err(e) => {
                emit.message(ctx, PROTOCOL, service.operation(), service.class());
                return Err(e);
            }
        };
        let request = self.open.iter().position(|o| o.handle == header.handle).and_then(|i| self.open.remove(i));
        let request = request.filter(|r| {
            let same = kind == Kind::Fault || r.service.operation() == service.operation();
            if !same {
                self.counters.service_mismatches += 1;
            }
            same
        });
        // The operation: a fault takes its request's name with `_fault`.
        let (op, class) = match (kind, &request) {
            (Kind::Fault, Some(r)) => (Cow::Borrowed(r.service.fault_operation()), r.service.class()),
            (Kind::Fault, None) => (service.operation(), OperationClass::Session),
            _ => (service.operation(), service.class()),
        };
        let mut bad_items = 0;
        let mut items = 0;
        let mut parsed = Ok(());
        if kind != Kind::Fault {
            parsed = match service.0 {
                ids::GET_ENDPOINTS_RESPONSE => svc::endpoints(d).map(|e| self.endpoints(ctx, &e, emit)),
                ids::CREATE_SESSION_RESPONSE => svc::create_session_response(d).map(|e| self.endpoints(ctx, &e, emit)),
                ids::FIND_SERVERS_RESPONSE => svc::servers(d).map(|s| self.servers(ctx, &s, emit)),
                ids::READ_RESPONSE => match request.as_ref().filter(|r| !r.build.is_empty()) {
                    Some(r) => self.build_info(ctx, &r.build, d, emit),
                    None => Ok(()),
                },
                _ if class.is_notable() && class != OperationClass::Authentication => svc::change_results(d, service.0)
                    .map(|(n, bad)| {
                        items = n;
                        bad_items = bad;
                    }),
                _ => Ok(()),
            };
        }
        let failed = super::encoding::is_bad(header.service_result) || bad_items > 0 || kind == Kind::Fault;
        if request.is_some() && !failed && class.is_notable() {
            emit.answer(ctx, PROTOCOL, op, class);
        } else if class.is_notable() {
            let mut a = Attributes::new();
            push(&mut a, "message", if kind == Kind::Fault { "fault" } else { "response" }.to_string());
            push(&mut a, "request_handle", header.handle.to_string());
            push(&mut a, "status", format!("{:#010x}", header.service_result));
            if items > 0 {
                push(&mut a, "results", items.to_string());
                push(&mut a, "bad_results", bad_items.to_string());
            }
            emit.operation(ctx, PROTOCOL, op, class, a);
        } else {
            emit.message(ctx, PROTOCOL, op, class);
        }
        parsed
    }

    fn endpoints(&mut self, ctx: &PacketCtx<'_>, endpoints: &[svc::Endpoint<'_>], emit: &mut dyn Emit) {
        for e in endpoints {
            let a = application_attributes(&e.server);
            if self.first_time("opcua.server", &a) {
                self.identity(ctx, "opcua.server", a, emit);
            }
            let mut a = Attributes::new();
            push(&mut a, "url", text(e.url));
            push(&mut a, "security_mode", e.mode.name().into_owned());
            push(&mut a, "security_policy", text(e.policy_uri));
            push(&mut a, "token_types", svc::token_types_text(e.token_types));
            let insecure = e.mode == SecurityMode::NONE || e.policy_uri.is_none_or(|p| p == secure::POLICY_NONE);
            push(&mut a, "insecure", insecure.to_string());
            push(&mut a, "security_level", e.security_level.to_string());
            push_some(&mut a, "application_uri", text(e.server.application_uri));
            if self.first_time("opcua.endpoint", &a) {
                self.identity(ctx, "opcua.endpoint", a, emit);
            }
        }
    }

    /// FindServers: a server answering for itself lists one application; a
    /// discovery server lists those registered with it, which are not the
    /// sender, so they are reported as `opcua.registered_server`.
    fn servers(&mut self, ctx: &PacketCtx<'_>, servers: &[svc::Application<'_>], emit: &mut dyn Emit) {
        let name = if servers.len() == 1 { "opcua.server" } else { "opcua.registered_server" };
        for s in servers {
            let a = application_attributes(s);
            if self.first_time(name, &a) {
                self.identity(ctx, name, a, emit);
            }
        }
    }

    fn build_info(
        &mut self,
        ctx: &PacketCtx<'_>,
        build: &[(usize, u32)],
        d: &mut Decoder<'_>,
        emit: &mut dyn Emit,
    ) -> Result<(), super::encoding::DecodeError> {
        let mut info = svc::BuildInfo::default();
        let last = build.iter().map(|(i, _)| *i).max().unwrap_or(0);
        svc::read_response(d, &mut |i, dv| {
            if let Some((_, node)) = build.iter().find(|(p, _)| *p == i) {
                let bad = dv.status.is_some_and(super::encoding::is_bad);
                if let (false, Some(Some(v))) = (bad, dv.value.map(|v| v.scalar)) {
                    svc::fold_build_info(&mut info, *node, &v);
                }
            }
            i < last
        })?;
        if info.is_empty() {
            return Ok(());
        }
        let mut a = Attributes::new();
        push_some(&mut a, "vendor", text(info.manufacturer));
        push_some(&mut a, "product_name", text(info.product_name));
        push_some(&mut a, "product_uri", text(info.product_uri));
        push_some(&mut a, "software_version", text(info.software_version));
        push_some(&mut a, "build_number", text(info.build_number));
        if !a.is_empty() && self.first_time("opcua.build_info", &a) {
            self.identity(ctx, "opcua.build_info", a, emit);
        }
        Ok(())
    }
}

/// The attributes of an ApplicationDescription.
fn application_attributes(app: &svc::Application<'_>) -> Attributes {
    let mut a = Attributes::new();
    push_some(&mut a, "application_uri", text(app.application_uri));
    push_some(&mut a, "product_uri", text(app.product_uri));
    push_some(&mut a, "name", text(app.name));
    push(&mut a, "application_type", svc::application_type_name(app.application_type).into_owned());
    a
}

fn write_attributes(a: &mut Attributes, it: &Items) {
    push(a, "count", it.count.to_string());
    push_some(a, "node_ids", it.nodes.join(", "));
    let attrs: Vec<String> = it.attributes.iter().map(u32::to_string).collect();
    push_some(a, "attribute_ids", attrs.join(", "));
    push_some(a, "value_types", it.types.join(", "));
    if it.values.iter().any(|v| !v.is_empty()) {
        push(a, "values", it.values.join(", "));
    }
}

fn call_attributes(a: &mut Attributes, it: &Items) {
    push(a, "count", it.count.to_string());
    push_some(a, "object_ids", it.nodes.join(", "));
    push_some(a, "method_ids", it.targets.join(", "));
    if it.types.iter().any(|t| !t.is_empty()) {
        push(a, "input_types", it.types.join(", "));
    }
}
