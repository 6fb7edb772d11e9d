//! The HTTP cross-check against tshark, shared by the shared-capture test
//! (`http_tshark.rs`, which also runs it over the curl / http.server peer
//! capture).
//!
//! Per packet and per field, ours against tshark's
//! `tshark -n -r FILE -o http.desegment_body:FALSE -d tcp.port==PORT,http -Y http
//! -T fields -E occurrence=a -e frame.number -e http.request.method -e http.host
//! -e http.user_agent -e http.server -e http.response.code -e http.authorization`:
//! `method`, `host`, `user_agent` and `authorization` (the scheme only: its
//! first word) of every request, `server` and `status` of every response.
//! Body reassembly is off so tshark reports a message on the packet that
//! completes its head, as ours does.
//!
//! Ours: the real session, chosen by the real probe and fed by the engine,
//! with a public [`Conversation`] fed the same bytes beside it that records
//! each head with the packet that completed it. tshark decodes HTTP on its
//! own port list; the other ports our engine recognised are passed with `-d`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_dissect::http::wire::{Conversation, Message, Start};
use otposture_dissect::http::Http;
use otposture_dissect::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::Direction;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// The fields compared, in report order.
pub const FIELDS: [&str; 6] = ["method", "host", "user_agent", "authorization", "server", "status"];

/// Per field, per packet, the values found.
pub type Keys = super::support::FieldKeys;
type Sink = Arc<Mutex<Keys>>;

struct Tapped(Sink);
struct TappedSession(Box<dyn StreamSession>, Conversation, Sink);

impl StreamDissector for Tapped {
    fn protocol(&self) -> &'static str {
        Http.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        Http.port_hint(server_port)
    }
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        Http.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(TappedSession(Http.new_session(), Conversation::new(), self.0.clone()))
    }
}

impl StreamSession for TappedSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.data(ctx, direction, data, emit);
        let mut k = self.2.lock().unwrap();
        self.1.push(direction == Direction::ToServer, data, &mut |m| {
            let Message::Head(h) = m else { return };
            let mut add =
                |field: &'static str, v: String| k.entry(field).or_default().entry(ctx.packet).or_default().push(v);
            let text = |name: &str| h.header(name).map(|v| String::from_utf8_lossy(v).trim().to_string());
            match h.start {
                Start::Request { method, .. } => {
                    add("method", method.to_string());
                    if let Some(v) = text("host") {
                        add("host", v);
                    }
                    if let Some(v) = text("user-agent") {
                        add("user_agent", v);
                    }
                    if let Some(v) = text("authorization") {
                        add("authorization", v.split_whitespace().next().unwrap_or_default().to_string());
                    }
                }
                Start::Response { code, .. } => {
                    add("status", code.to_string());
                    if let Some(v) = text("server") {
                        add("server", v);
                    }
                }
            }
        });
    }
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        self.0.gap(ctx, direction, len, emit);
        self.1.gap(direction == Direction::ToServer, len);
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, emit);
    }
}

/// Our keys, and the server ports of the flows recognised as HTTP.
pub fn ours(path: &Path) -> (Keys, BTreeSet<u16>) {
    let sink = Sink::default();
    let ports = super::support::run_tapped(path, "http", Box::new(Tapped(sink.clone())));
    let keys = sink.lock().unwrap().clone();
    (keys, ports)
}

/// tshark's keys for a capture, decoding HTTP on `ports` too.
pub fn theirs(path: &Path, ports: &BTreeSet<u16>) -> Keys {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path).args(["-o", "http.desegment_body:FALSE"]);
    for p in ports {
        cmd.args(["-d", &format!("tcp.port=={p},http")]);
    }
    // Values may hold commas (User-Agent): aggregate with a record separator.
    cmd.args(["-Y", "http", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1e}", "-e", "frame.number"]);
    let tshark_fields = [
        "http.request.method",
        "http.host",
        "http.user_agent",
        "http.authorization",
        "http.server",
        "http.response.code",
    ];
    for f in tshark_fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    let mut keys = Keys::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        for (i, field) in FIELDS.into_iter().enumerate() {
            let mut v: Vec<String> = f
                .get(i + 1)
                .map(|s| s.split('\u{1e}').filter(|x| !x.is_empty()).map(|x| x.trim().to_string()).collect())
                .unwrap_or_default();
            if field == "authorization" {
                v = v.iter().map(|a| a.split_whitespace().next().unwrap_or_default().to_string()).collect();
            }
            if !v.is_empty() {
                keys.entry(field).or_default().insert(frame, v);
            }
        }
    }
    keys
}

/// Agreement per field over the captures compared.
pub fn tally() -> super::support::FieldTally {
    super::support::FieldTally::new(&FIELDS)
}
