//! Arbitrary bytes as the SNMP datagrams of one flow: the input is cut at each
//! 0xA5 0x5A marker, and each piece goes to one session in turns of direction
//! (so sets meet their answers and per-flow state is exercised). Must never
//! panic; varbinds must lie inside their datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::snmp::{message, Snmp};
use otposture_dissect::DatagramDissector;
use otposture_fuzz::{ctx, Sink};
use otposture_model::Direction;

fuzz_target!(|data: &[u8]| {
    let mut session = Snmp.new_session();
    let mut sink = Sink::default();
    let mut pieces = Vec::new();
    let mut start = 0;
    for i in 1..data.len() {
        if data[i - 1] == 0xa5 && data[i] == 0x5a {
            pieces.push(&data[start..i - 1]);
            start = i + 1;
        }
    }
    pieces.push(&data[start.min(data.len())..]);
    for (n, piece) in pieces.iter().enumerate() {
        let direction = if n % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
        let _ = Snmp.probe(piece);
        let _ = Snmp.sent_by_client(piece);
        session.datagram(&ctx(direction), direction, piece, &mut sink);
        if let Ok((m, _)) = message::parse(piece) {
            if let Some(p) = m.pdu {
                let inside = |s: &[u8]| s.is_empty() || piece.as_ptr_range().contains(&s.as_ptr());
                for (oid, v) in message::varbinds(p.varbinds).flatten() {
                    assert!(inside(oid) && inside(v.value));
                    let _ = message::oid_text(oid);
                }
            }
        }
    }
});
