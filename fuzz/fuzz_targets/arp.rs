//! Arbitrary bytes as what follows the EtherType of an ARP frame: through the
//! parser and the frame dissector. Must never panic; a packet that parses must
//! have been long enough for the Ethernet/IPv4 layout (28 bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::arp::{parse, Arp};
use otposture_dissect::FrameDissector;
use otposture_fuzz::Sink;
use otposture_model::Timestamp;

fuzz_target!(|data: &[u8]| {
    let ctx = otposture_dissect::PacketCtx::at(Timestamp(0), 1);
    Arp.frame(&ctx, data, &mut Sink::default());
    if let Ok(p) = parse(data) {
        assert!(data.len() >= 28);
        let _ = (p.is_probe(), p.is_gratuitous(), p.operation.name());
    }
});
