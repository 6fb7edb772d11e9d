//! Cross-check of the IEC 60870-5-104 dissector against tshark on every shared
//! capture whose INDEX `protocols` column lists `iec60870_104`, per packet and
//! per field of every APDU:
//! - `format`: I, S or U (`iec60870_104.type`: 0, 1, 3);
//! - `u_function`: the U function bits (`iec60870_104.utype`);
//! - `send_seq`, `receive_seq`: N(S) and N(R) (`iec60870_104.tx`, `.rx`);
//! - `type_id`, `cause`, `negative`, `common_address`: the ASDU's type, cause
//!   of transmission, P/N bit and common address (`iec60870_asdu.typeid`,
//!   `.causetx`, `.nega`, `.addr`);
//! - `ioa`: every information object address, the ones a sequence (SQ = 1)
//!   implies included (`iec60870_asdu.ioa`).
//!
//! `tshark -n -r FILE -Y iec60870_104 -T fields -e frame.number -e ...`. Each
//! field is compared on its own as the multiset of its values in a packet
//! (tshark lists a field's occurrences without saying which APDU of the
//! packet they belong to), and must agree for 99% of the values.
//!
//! Ours are recorded by a wrapper around the real dissector: the engine
//! chooses it by the real probe and feeds it the real reassembled streams; the
//! wrapper hands the same bytes to the real session and to the public
//! [`apci::Framer`], [`Control`] and [`asdu`] readers per direction, recording
//! each APDU with the packet that completed it.
//!
//! The abbreviation of every type id is also checked against tshark's value
//! strings (`tshark -G values`, `iec60870_asdu.typeid`).
//!
//! Every disagreement is printed. Last run (tshark 4.0.17): 321 APDUs over the
//! 2 captures, every field 100%: format 321/321, U function 66/66, N(S)
//! 200/200, N(R) 255/255, type id, cause, P/N and common address 200/200
//! each, IOA 394/394. There is no disagreement to explain; both captures are
//! clean (one starts mid-connection, which both dissectors pick up on the
//! first whole APDU).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::iec104::apci::{self, Control, Framed};
use otposture_dissect::iec104::asdu;
use otposture_dissect::iec104::types::TypeId;
use otposture_dissect::iec104::Iec104;
use otposture_dissect::{Emit, PacketCtx, Probe, Registry, StreamDissector, StreamSession};
use otposture_model::Direction;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// The fields compared, in the order of tshark's columns after the frame number.
const FIELDS: [(&str, &str); 9] = [
    ("format", "iec60870_104.type"),
    ("u_function", "iec60870_104.utype"),
    ("send_seq", "iec60870_104.tx"),
    ("receive_seq", "iec60870_104.rx"),
    ("type_id", "iec60870_asdu.typeid"),
    ("cause", "iec60870_asdu.causetx"),
    ("negative", "iec60870_asdu.nega"),
    ("common_address", "iec60870_asdu.addr"),
    ("ioa", "iec60870_asdu.ioa"),
];

/// Per packet, per field (index into [`FIELDS`]): the values found.
type PerPacket = BTreeMap<u64, [Vec<u64>; 9]>;

/// The values of one APDU, per field.
fn apdu_values(body: &[u8]) -> [Vec<u64>; 9] {
    let mut v: [Vec<u64>; 9] = Default::default();
    let Some((&control, rest)) = body.split_first_chunk::<4>() else { return v };
    let c = Control::parse(control);
    v[0].push(u64::from(c.format_code()));
    match c {
        Control::U(f) => v[1].push(u64::from(f.bits())),
        Control::S { receive } => v[3].push(u64::from(receive)),
        Control::I { send, receive } => {
            v[2].push(u64::from(send));
            v[3].push(u64::from(receive));
            let Ok(a) = asdu::parse(rest) else { return v };
            let h = a.header;
            v[4].push(u64::from(h.type_id.0));
            v[5].push(u64::from(h.cot.cause.0));
            v[6].push(u64::from(h.cot.negative));
            v[7].push(u64::from(h.common_address));
            match a.objects() {
                Some(Ok(checked)) => v[8].extend(checked.objects.each().map(|o| u64::from(o.ioa))),
                _ => v[8].extend(a.first_ioa().map(u64::from)),
            }
        }
    }
    v
}

/// The real dissector, with a recorder on the side.
struct Recording {
    sink: Arc<Mutex<PerPacket>>,
}

struct RecordingSession {
    inner: Box<dyn StreamSession>,
    framers: [apci::Framer; 2],
    sink: Arc<Mutex<PerPacket>>,
}

impl StreamDissector for Recording {
    fn protocol(&self) -> &'static str {
        Iec104.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        Iec104.port_hint(server_port)
    }
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        Iec104.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(RecordingSession {
            inner: Iec104.new_session(),
            framers: [apci::Framer::new(), apci::Framer::new()],
            sink: self.sink.clone(),
        })
    }
}

impl StreamSession for RecordingSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.inner.data(ctx, direction, data, emit);
        let mut sink = self.sink.lock().unwrap();
        self.framers[direction.index()].push(data, &mut |f| {
            if let Framed::Frame(_, body) = f {
                let e = sink.entry(ctx.packet).or_default();
                for (all, one) in e.iter_mut().zip(apdu_values(body)) {
                    all.extend(one);
                }
            }
        });
    }
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        self.inner.gap(ctx, direction, len, emit);
        self.framers[direction.index()].gap(len);
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.inner.close(ctx, emit);
    }
}

fn ours(path: &Path) -> PerPacket {
    let sink = Arc::new(Mutex::new(PerPacket::new()));
    let mut registry = Registry::with_defaults();
    registry.streams.retain(|d| d.protocol() != "iec104");
    registry.streams.push(Box::new(Recording { sink: sink.clone() }));
    support::run_engine(path, registry);
    let map = sink.lock().unwrap().clone();
    map
}

/// A tshark value: decimal, or hex with `0x`.
fn number(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap_or(u64::MAX),
        None => s.parse().unwrap_or(u64::MAX),
    }
}

fn theirs(path: &Path) -> PerPacket {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-Y", "iec60870_104", "-T", "fields", "-e", "frame.number"]);
    for (_, field) in FIELDS {
        cmd.args(["-e", field]);
    }
    let out = cmd.arg("-r").arg(path).output().unwrap();
    let mut map = PerPacket::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        let e = map.entry(frame).or_default();
        for (i, values) in e.iter_mut().enumerate() {
            let column = f.get(i + 1).copied().unwrap_or_default();
            values.extend(column.split(',').filter(|x| !x.is_empty()).map(number));
        }
    }
    map
}

/// One field's values per packet.
fn field(map: &PerPacket, i: usize) -> BTreeMap<u64, Vec<u64>> {
    map.iter().map(|(frame, v)| (*frame, v[i].clone())).filter(|(_, v)| !v.is_empty()).collect()
}

#[test]
fn iec104_apdus_match_tshark_per_packet_and_field_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut totals: Vec<support::Agreement> = vec![support::Agreement::default(); FIELDS.len()];
    let mut apdus = 0;
    for c in support::captures_with(&dir, "iec60870_104") {
        let (ours, theirs) = (ours(&c.path), theirs(&c.path));
        apdus += ours.values().map(|v| v[0].len()).sum::<usize>();
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            let label = format!("{} [{name}]", c.dest);
            let (matched, union) = support::compare(&label, &field(&ours, i), &field(&theirs, i));
            println!("{label}: {matched}/{union} values agree ({:.2}%)", support::percent(matched, union));
            totals[i].add((matched, union));
        }
    }
    println!("iec104: {apdus} APDUs compared");
    for (i, (name, _)) in FIELDS.iter().enumerate() {
        totals[i].check(&format!("iec104 {name}"), "values");
    }
}

#[test]
fn type_abbreviations_match_tshark_value_strings() {
    if !support::tshark_available() {
        return;
    }
    let out = Command::new("tshark").args(["-G", "values"]).output().unwrap();
    let mut checked = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let ["V", "iec60870_asdu.typeid", value, name] = f[..] {
            let id: u8 = value.parse().unwrap();
            assert_eq!(TypeId(id).abbreviation(), name, "type {id}");
            checked += 1;
        }
    }
    // tshark names 76 types; the five IEC 60870-5-101 only types (17-19,
    // 104, 106) it leaves out are ours alone.
    assert!(checked >= 76, "tshark named only {checked} types");
}
