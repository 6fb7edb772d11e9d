//! The Telnet cross-check against tshark, shared by the shared-capture test
//! and the peer capture (`telnet_tshark.rs`).
//!
//! Per packet and per field, ours against tshark's
//! `tshark -n -r FILE -d tcp.port==PORT,telnet -Y telnet -T fields -E occurrence=a
//! -e frame.number -e telnet.cmd -e telnet.subcmd -e telnet.string_subopt.value
//! -e telnet.auth.cmd`:
//! - `command`: every command code after IAC (WILL 251 ... SB 250, SE 240, GA 249);
//! - `option`: the option of every negotiation and subnegotiation — tshark's
//!   `telnet.subcmd`, which for the string suboptions (TERMINAL-TYPE,
//!   TERMINAL-SPEED, X-DISPLAY-LOCATION) also lists the IS (0) / SEND (1) code,
//!   so ours does too;
//! - `terminal_type`: the name in a TERMINAL-TYPE IS;
//! - `auth_cmd`: the first byte of an AUTHENTICATION subnegotiation (IS, SEND,
//!   REPLY, NAME).
//!
//! Ours: a public [`Decoder`] per direction fed the bytes the engine gives the
//! real session (chosen by the real probe), recording each item with the
//! packet that completed it. tshark decodes Telnet on port 23 only; the ports
//! our engine recognised it on are passed with `-d`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_dissect::telnet::wire::{Command, Decoder, Item, TelnetOption};
use otposture_dissect::telnet::Telnet;
use otposture_dissect::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::Direction;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command as Process;
use std::sync::{Arc, Mutex};

/// The fields compared, in report order.
pub const FIELDS: [&str; 4] = ["command", "option", "terminal_type", "auth_cmd"];

/// Per field, per packet, the values found.
pub type Keys = super::support::FieldKeys;
type Sink = Arc<Mutex<Keys>>;

struct Tapped(Sink);
struct TappedSession(Box<dyn StreamSession>, [Decoder; 2], Sink);

impl StreamDissector for Tapped {
    fn protocol(&self) -> &'static str {
        Telnet.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        Telnet.port_hint(server_port)
    }
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        Telnet.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(TappedSession(Telnet.new_session(), [Decoder::new(), Decoder::new()], self.0.clone()))
    }
}

/// Options whose subnegotiation tshark reads as IS/SEND and a string.
const STRING_SUBOPTIONS: [TelnetOption; 3] =
    [TelnetOption::TERMINAL_TYPE, TelnetOption::TERMINAL_SPEED, TelnetOption::X_DISPLAY_LOCATION];

impl StreamSession for TappedSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.data(ctx, direction, data, emit);
        let mut k = self.2.lock().unwrap();
        self.1[direction.index()].push(data, &mut |item| {
            let mut add =
                |field: &'static str, v: String| k.entry(field).or_default().entry(ctx.packet).or_default().push(v);
            match item {
                Item::Command(c, o) => {
                    add("command", c.0.to_string());
                    if let Some(o) = o {
                        add("option", o.0.to_string());
                    }
                }
                Item::Sub(o, p) => {
                    add("command", Command::SB.0.to_string());
                    add("command", Command::SE.0.to_string());
                    add("option", o.0.to_string());
                    if STRING_SUBOPTIONS.contains(&o) {
                        if let Some(first) = p.first() {
                            add("option", first.to_string());
                        }
                        if let [0, name @ ..] = p {
                            if o == TelnetOption::TERMINAL_TYPE && !name.is_empty() {
                                add("terminal_type", String::from_utf8_lossy(name).into_owned());
                            }
                        }
                    }
                    if o == TelnetOption::AUTHENTICATION {
                        if let Some(first) = p.first() {
                            add("auth_cmd", first.to_string());
                        }
                    }
                }
                Item::Data(_) | Item::Malformed(_) => {}
            }
        });
    }
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        self.0.gap(ctx, direction, len, emit);
        self.1[direction.index()].gap();
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, emit);
    }
}

/// Our keys, and the server ports of the flows recognised as Telnet.
pub fn ours(path: &Path) -> (Keys, BTreeSet<u16>) {
    let sink = Sink::default();
    let ports = super::support::run_tapped(path, "telnet", Box::new(Tapped(sink.clone())));
    let keys = sink.lock().unwrap().clone();
    (keys, ports)
}

/// tshark's keys for a capture, decoding Telnet on `ports` too.
pub fn theirs(path: &Path, ports: &BTreeSet<u16>) -> Keys {
    let mut cmd = Process::new("tshark");
    cmd.args(["-n", "-r"]).arg(path);
    for p in ports {
        cmd.args(["-d", &format!("tcp.port=={p},telnet")]);
    }
    cmd.args(["-Y", "telnet", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1e}", "-e", "frame.number"]);
    for f in ["telnet.cmd", "telnet.subcmd", "telnet.string_subopt.value", "telnet.auth.cmd"] {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    let mut keys = Keys::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        for (i, field) in FIELDS.into_iter().enumerate() {
            let v: Vec<String> = f
                .get(i + 1)
                .map(|s| s.split('\u{1e}').filter(|x| !x.is_empty()).map(str::to_string).collect())
                .unwrap_or_default();
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
