//! Arbitrary bytes as what follows the length field of an IEEE 802.3 frame:
//! the wire decode reads the 802.2 LLC and SNAP headers and, when they name
//! CDP, the dissector takes the rest, as the engine does. Must never panic;
//! the LLC payload and every TLV value must lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::cdp::{header, tlvs, Cdp, SNAP};
use otposture_dissect::{FrameDissector, FrameSelector};
use otposture_fuzz::Sink;
use otposture_model::Timestamp;
use otposture_wire::{decode, LinkType, Net};

fuzz_target!(|data: &[u8]| {
    // CDP multicast, a sender MAC, the 802.3 length (the input's, capped at
    // 1500 so it stays a length), then the input.
    let mut frame = vec![0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc, 0x02, 0, 0, 0, 0, 1];
    frame.extend_from_slice(&(data.len().min(1500) as u16).to_be_bytes());
    frame.extend_from_slice(data);
    let Ok(f) = decode(LinkType::Ethernet, &frame) else { return };
    let Net::Llc(llc) = f.net else { return };
    let inside = |s: &[u8]| s.is_empty() || frame.as_ptr_range().contains(&s.as_ptr());
    assert!(inside(llc.payload));
    let selector = match llc.snap {
        Some(s) => FrameSelector::Snap { oui: s.oui, pid: s.pid },
        None => FrameSelector::Llc { dsap: llc.dsap, ssap: llc.ssap },
    };
    if selector == SNAP {
        let ctx = otposture_dissect::PacketCtx::at(Timestamp(0), 1);
        Cdp.frame(&ctx, llc.payload, &mut Sink::default());
        if let Ok((_, rest)) = header(llc.payload) {
            let all: Vec<_> = tlvs(rest).collect();
            assert!(all.iter().rev().skip(1).all(Result::is_ok), "an error ends the list");
            assert!(all.iter().flatten().all(|(_, v)| inside(v)));
        }
    }
});
