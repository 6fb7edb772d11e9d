//! Packet bytes: the first byte picks a link type and how the input is cut into
//! frames; the frames go through the decoder and the whole engine (flows,
//! fragments, TCP reassembly, dissectors) with advancing timestamps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::Registry;
use otposture_model::Timestamp;
use otposture_observe::{Engine, EngineConfig, RawPacket};

const LINKS: [u32; 8] = [1, 0, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let link = LINKS[usize::from(sel & 7)];
    let mut engine = Engine::new(EngineConfig::default(), Registry::with_defaults());
    // Frames are separated by the two-byte marker 0xA5 0x5A, so the fuzzer can
    // build conversations of several packets.
    let mut ts = 1_700_000_000_000_000_000i64;
    for (i, frame) in rest.split(|b| *b == 0xA5).enumerate() {
        let _ = otposture_wire::decode(otposture_wire::LinkType::from_linktype(link).unwrap_or(otposture_wire::LinkType::Ethernet), frame);
        let _ = (otposture_wire::tunnel::gre(frame), otposture_wire::tunnel::vxlan(frame), otposture_wire::tunnel::mpls(frame));
        ts += i64::from(sel >> 3) * 1_000_000_000;
        engine.packet(&RawPacket { ts: Timestamp(ts), linktype: link, data: frame, orig_len: frame.len() as u32, record: i as u64 + 1, source: 0 });
    }
    let mut out = Vec::new();
    engine.checkpoint(&mut out);
    engine.finish(&mut out);
});
