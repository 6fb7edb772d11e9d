//! Arbitrary bytes as the payload after the EtherType of an LLDP frame: the
//! dissector must never panic, and the TLV iterator must stop at the first bad
//! length with every value inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::lldp::{tlvs, Lldp};
use otposture_dissect::FrameDissector;
use otposture_fuzz::Sink;
use otposture_model::Timestamp;

fuzz_target!(|data: &[u8]| {
    let ctx = otposture_dissect::PacketCtx::at(Timestamp(0), 1);
    Lldp.frame(&ctx, data, &mut Sink::default());
    let all: Vec<_> = tlvs(data).collect();
    assert!(all.iter().rev().skip(1).all(Result::is_ok), "an error ends the list");
    let inside = |s: &[u8]| s.is_empty() || data.as_ptr_range().contains(&s.as_ptr());
    assert!(all.iter().flatten().all(|(_, v)| inside(v)));
});
