//! Whole capture files: pcap, pcapng or gzip of either, read to the end (or the
//! first error) and every packet run through the engine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_capture::{FileSource, PacketSource};
use otposture_dissect::Registry;
use otposture_observe::{Engine, EngineConfig, RawPacket};

fuzz_target!(|data: &[u8]| {
    let Ok(mut src) = FileSource::from_bytes("fuzz", data.to_vec()) else { return };
    let mut engine = Engine::new(EngineConfig::default(), Registry::with_defaults());
    let mut out = Vec::new();
    // Bounded: a decompression bomb must not make one input run for minutes.
    for _ in 0..100_000 {
        match src.next_packet() {
            Ok(Some(p)) => {
                engine.packet(&RawPacket { ts: p.ts, linktype: p.linktype, data: p.data, orig_len: p.orig_len, record: p.record, source: 0 });
                if let Some(c) = p.comment {
                    engine.annotate(p.ts, p.record, "comment", vec![("text".into(), c.into())]);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    let _ = src.take_warnings();
    let _ = src.take_notes();
    engine.finish(&mut out);
});
