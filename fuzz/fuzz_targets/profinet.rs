//! Arbitrary bytes as the payload after the EtherType of a PROFINET real-time
//! frame: the frame dissector must never panic, and a parsed DCP PDU's blocks
//! must lie inside the input and stop at the first bad length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::profinet::{dcp, Profinet};
use otposture_dissect::FrameDissector;
use otposture_fuzz::Sink;
use otposture_model::Timestamp;

fuzz_target!(|data: &[u8]| {
    let ctx = otposture_dissect::PacketCtx::at(Timestamp(0), 1);
    let mut sink = Sink::default();
    Profinet.frame(&ctx, data, &mut sink);
    if let Ok(pdu) = dcp::parse(data) {
        let inside = |s: &[u8]| s.is_empty() || data.as_ptr_range().contains(&s.as_ptr());
        assert!(inside(pdu.data));
        let blocks: Vec<_> = pdu.blocks().collect();
        assert!(blocks.iter().filter(|b| b.is_err()).count() <= 1);
        assert!(blocks.iter().rev().skip(1).all(Result::is_ok), "an error ends the list");
        assert!(blocks.iter().flatten().all(|b| inside(b.value)));
        assert!(pdu.requested_options().count() <= data.len() / 2);
    }
});
