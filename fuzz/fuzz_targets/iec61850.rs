//! Arbitrary bytes as the payload after the EtherType of a GOOSE frame and of a
//! Sampled Values frame: the parsers and both frame dissectors must never
//! panic, and a parsed frame's borrowed fields must lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::iec61850::{parse_goose, parse_sv, GooseDissector, SvDissector};
use otposture_dissect::FrameDissector;
use otposture_fuzz::Sink;
use otposture_model::Timestamp;

fuzz_target!(|data: &[u8]| {
    let ctx = otposture_dissect::PacketCtx::at(Timestamp(0), 1);
    let mut sink = Sink::default();
    GooseDissector.frame(&ctx, data, &mut sink);
    SvDissector.frame(&ctx, data, &mut sink);
    let inside = |s: &[u8]| s.is_empty() || data.as_ptr_range().contains(&s.as_ptr());
    if let Ok(g) = parse_goose(data) {
        assert!(inside(g.gocb_ref) && inside(g.dat_set) && g.go_id.is_none_or(inside));
    }
    if let Ok(sv) = parse_sv(data) {
        assert!(sv.asdu_count >= sv.asdus.iter().flatten().count() as u64);
        assert!(sv.asdus.iter().flatten().all(|a| inside(a.sv_id)));
    }
});
