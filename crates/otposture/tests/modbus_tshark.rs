//! Cross-check of the Modbus/TCP dissector against tshark on every shared
//! capture whose INDEX `protocols` column lists `mbtcp`: per packet, the
//! transaction id, unit id and function code of every ADU, ours against
//! `tshark -Y mbtcp -T fields -e frame.number -e mbtcp.trans_id -e mbtcp.unit_id
//! -e modbus.func_code`. tshark prints the function code without the exception
//! bit, so ours is compared masked with 0x7f.
//!
//! Ours are recorded by a wrapper around the real dissector: the engine chooses
//! it by the real probe and feeds it the real reassembled streams; the wrapper
//! hands the same bytes to the real session and to a public
//! [`otposture_dissect::modbus::mbap::Framer`] per direction that records each ADU
//! with the packet that completed it.
//!
//! Every disagreement is printed. Known ones, by file (last run: 22774 of 22806
//! ADUs agree over 12 captures, 99.86%):
//! - `modbus/fuzz-72.pcap` (31 disagreements): a fuzzed capture whose TCP
//!   sequence and acknowledgement numbers are mangled. tshark dissects each
//!   segment on its own; the engine reassembles by sequence number, so the same
//!   ADUs appear in other packets, or at the flow's end flush (packet 0). The
//!   disagreement is about TCP, not Modbus.
//! - `modbus/modbus_test_data_part1.pcap` frame 113: the device answers with an
//!   MBAP length of 5 but sends 8 PDU bytes (frame 111). tshark takes the 3 extra
//!   bytes as the start of the next ADU and never decodes frame 113; we count a
//!   bad header, resynchronise, and find the ADU (transaction 1, unit 10,
//!   function 42) that frame 113 carries. tshark is wrong here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::modbus::mbap::{Framed, Framer};
use otposture_dissect::modbus::Modbus;
use otposture_dissect::{Emit, PacketCtx, Probe, Registry, StreamDissector, StreamSession};
use otposture_model::Direction;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// (transaction id, unit id, function code without the exception bit).
type Key = (u16, u8, u8);
type PerPacket = BTreeMap<u64, Vec<Key>>;

/// The real dissector, with a recorder on the side.
struct Recording {
    sink: Arc<Mutex<PerPacket>>,
}

struct RecordingSession {
    inner: Box<dyn StreamSession>,
    framers: [Framer; 2],
    sink: Arc<Mutex<PerPacket>>,
}

impl StreamDissector for Recording {
    fn protocol(&self) -> &'static str {
        Modbus.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        Modbus.port_hint(server_port)
    }
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        Modbus.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(RecordingSession {
            inner: Modbus.new_session(),
            framers: [Framer::new(), Framer::new()],
            sink: self.sink.clone(),
        })
    }
}

impl StreamSession for RecordingSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.inner.data(ctx, direction, data, emit);
        let mut sink = self.sink.lock().unwrap();
        self.framers[direction.index()].push(data, &mut |f| {
            if let Framed::Frame(header, pdu) = f {
                let fc = pdu.first().copied().unwrap_or(0) & 0x7f;
                sink.entry(ctx.packet).or_default().push((header.transaction_id, header.unit_id, fc));
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
    registry.streams = vec![Box::new(Recording { sink: sink.clone() })];
    support::run_engine(path, registry);
    let map = sink.lock().unwrap().clone();
    map
}

fn theirs(path: &Path) -> PerPacket {
    let out = Command::new("tshark")
        .args(["-n", "-Y", "mbtcp", "-T", "fields", "-e", "frame.number", "-e", "mbtcp.trans_id", "-e"])
        .args(["mbtcp.unit_id", "-e", "modbus.func_code", "-r"])
        .arg(path)
        .output()
        .unwrap();
    let mut map = PerPacket::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        let list = |i: usize| -> Vec<&str> {
            f.get(i).map(|s| s.split(',').filter(|x| !x.is_empty()).collect()).unwrap_or_default()
        };
        let (tids, units, fcs) = (list(1), list(2), list(3));
        let e = map.entry(frame).or_default();
        for (i, tid) in tids.iter().enumerate() {
            let unit = units.get(i).and_then(|u| u.parse().ok()).unwrap_or(u8::MAX);
            // An ADU whose PDU tshark could not read has no function code.
            let fc = fcs.get(i).and_then(|c| c.parse().ok()).unwrap_or(u8::MAX);
            e.push((tid.parse().unwrap_or(u16::MAX), unit, fc));
        }
    }
    map
}

#[test]
fn modbus_adus_match_tshark_per_packet_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut total = support::Agreement::default();
    for c in support::captures_with(&dir, "mbtcp") {
        let (matched, union) = support::compare(&c.dest, &ours(&c.path), &theirs(&c.path));
        println!("{}: {matched}/{union} ADUs agree ({:.2}%)", c.dest, support::percent(matched, union));
        total.add((matched, union));
    }
    total.check("modbus", "ADUs");
}
