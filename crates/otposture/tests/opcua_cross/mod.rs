//! The OPC UA cross-check against tshark, shared by the shared-capture test
//! (`opcua_tshark.rs`) and the asyncua peer test (`opcua_peer.rs`).
//!
//! Per packet and per field, ours against tshark's
//! `tshark -n -r FILE -d tcp.port==PORT,opcua -Y opcua -T fields -E occurrence=a
//! -e frame.number -e opcua.transport.type -e opcua.servicenodeid.numeric
//! -e opcua.security.spu -e opcua.EndpointUrl -e opcua.ApplicationUri`:
//! - `type`: the message type of every message (HEL, ACK, OPN, MSG, ...);
//! - `service`: the encoding id of every service message (request/response type);
//! - `policy`: the SecurityPolicyUri of every `OPN`;
//! - `endpoint_url` and `application_uri`: on GetEndpoints responses, the set
//!   of endpoint URLs and of server application URIs.
//!
//! Ours: the real session, chosen by the real probe and fed by the engine,
//! reports each message through its public [`Tap`], and its `opcua.endpoint`
//! identity events give the URLs. tshark does not decode OPC UA on ports other
//! than 4840, so the ports our engine recognised are passed to it with `-d`.
//! Our endpoint events are reported once per flow: a second identical
//! GetEndpoints answer in the same flow has none (not the case in the
//! captures compared).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_dissect::opcua::services::ServiceId;
use otposture_dissect::opcua::tcp::MessageType;
use otposture_dissect::opcua::{Opcua, Tap};
use otposture_dissect::{Emit, PacketCtx, Probe, Registry, StreamDissector, StreamSession};
use otposture_model::{Direction, Event, Observation, OperationClass};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// The fields compared, in report order.
pub const FIELDS: [&str; 5] = ["type", "service", "policy", "endpoint_url", "application_uri"];

/// Per field, per packet, the values found.
pub type Keys = super::support::FieldKeys;
type Sink = Arc<Mutex<Keys>>;

const GET_ENDPOINTS_RESPONSE: &str = "431";

struct Recorder(Sink);

impl Tap for Recorder {
    fn message(&mut self, ctx: &PacketCtx<'_>, t: MessageType, service: Option<ServiceId>, policy: Option<&str>) {
        let mut k = self.0.lock().unwrap();
        let mut add =
            |field: &'static str, v: String| k.entry(field).or_default().entry(ctx.packet).or_default().push(v);
        add("type", t.as_str().to_string());
        if let Some(s) = service {
            add("service", s.0.to_string());
        }
        if let Some(p) = policy {
            add("policy", p.to_string());
        }
    }
}

/// Forwards everything to the engine and keeps the endpoint events.
struct Tee<'a> {
    inner: &'a mut dyn Emit,
    sink: &'a Sink,
}

impl Emit for Tee<'_> {
    fn message(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, c: OperationClass) {
        self.inner.message(ctx, p, op, c);
    }
    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        p: &'static str,
        op: Cow<'static, str>,
        c: OperationClass,
        a: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        self.inner.operation(ctx, p, op, c, a);
    }
    fn answer(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, c: OperationClass) {
        self.inner.answer(ctx, p, op, c);
    }
    fn event(&mut self, e: Event) {
        if e.name == "opcua.endpoint" {
            let mut k = self.sink.lock().unwrap();
            for (name, field) in [("url", "endpoint_url"), ("application_uri", "application_uri")] {
                if let Some((_, v)) = e.attributes.iter().find(|(n, _)| n == name) {
                    k.entry(field).or_default().entry(e.packet).or_default().push(v.to_string());
                }
            }
        }
        self.inner.event(e);
    }
    fn malformed(&mut self, ctx: &PacketCtx<'_>, p: &'static str, what: &'static str) {
        self.inner.malformed(ctx, p, what);
    }
}

struct Tapped(Sink);
struct TappedSession(Box<dyn StreamSession>, Sink);

impl StreamDissector for Tapped {
    fn protocol(&self) -> &'static str {
        Opcua.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        Opcua.port_hint(server_port)
    }
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        Opcua.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(TappedSession(Opcua::session_with_tap(Box::new(Recorder(self.0.clone()))), self.0.clone()))
    }
}

impl StreamSession for TappedSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.data(ctx, direction, data, &mut Tee { inner: emit, sink: &self.1 });
    }
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        self.0.gap(ctx, direction, len, emit);
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, &mut Tee { inner: emit, sink: &self.1 });
    }
}

/// Our keys, and the server ports of the flows recognised as OPC UA.
pub fn ours(path: &Path) -> (Keys, BTreeSet<u16>) {
    let sink = Sink::default();
    let mut registry = Registry::with_defaults();
    registry.streams.retain(|d| d.protocol() != "opcua");
    registry.streams.push(Box::new(Tapped(sink.clone())));
    let out = super::support::run_engine(path, registry);
    let ports = out
        .iter()
        .filter_map(|o| match o {
            Observation::Flow(f) if f.app_protocol.as_deref() == Some("opcua") => Some(f.key.server_port),
            _ => None,
        })
        .collect();
    let mut keys = sink.lock().unwrap().clone();
    only_get_endpoints(&mut keys);
    (keys, ports)
}

/// Keeps endpoint URLs and application URIs only on packets carrying a
/// GetEndpoints response (ours also come from CreateSession answers), as a
/// set per packet.
fn only_get_endpoints(keys: &mut Keys) {
    let services = keys.get("service").cloned().unwrap_or_default();
    for field in ["endpoint_url", "application_uri"] {
        if let Some(m) = keys.get_mut(field) {
            m.retain(|p, _| services.get(p).is_some_and(|s| s.iter().any(|x| x == GET_ENDPOINTS_RESPONSE)));
            for v in m.values_mut() {
                v.sort();
                v.dedup();
            }
        }
    }
}

/// tshark's keys for a capture, decoding OPC UA on `ports`.
pub fn theirs(path: &Path, ports: &BTreeSet<u16>) -> Keys {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path);
    for p in ports {
        cmd.args(["-d", &format!("tcp.port=={p},opcua")]);
    }
    cmd.args(["-Y", "opcua", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-e", "frame.number"]);
    for f in ["opcua.transport.type", "opcua.servicenodeid.numeric", "opcua.security.spu"] {
        cmd.args(["-e", f]);
    }
    cmd.args(["-e", "opcua.EndpointUrl", "-e", "opcua.ApplicationUri"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    let mut keys = Keys::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        let list = |i: usize| -> Vec<String> {
            f.get(i).map(|s| s.split('|').filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default()
        };
        let services = list(2);
        for (i, field) in ["type", "service", "policy"].into_iter().enumerate() {
            let v = list(i + 1);
            if !v.is_empty() {
                keys.entry(field).or_default().insert(frame, v);
            }
        }
        if services.iter().any(|s| s == GET_ENDPOINTS_RESPONSE) {
            for (i, field) in [(4, "endpoint_url"), (5, "application_uri")] {
                let mut v = list(i);
                v.sort();
                v.dedup();
                if !v.is_empty() {
                    keys.entry(field).or_default().insert(frame, v);
                }
            }
        }
    }
    keys
}

/// Agreement per field over the captures compared.
pub fn tally() -> super::support::FieldTally {
    super::support::FieldTally::new(&FIELDS)
}
