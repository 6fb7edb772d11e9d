//! Arbitrary bytes as the two directions of an EtherNet/IP stream
//! (encapsulation, CPF items, CIP, Connection Manager bodies, PCCC, Identity
//! replies), cut into arbitrary chunks with occasional gaps, fed to one TCP
//! session; each chunk is also one UDP datagram to a datagram session, and
//! goes to both probes: none may ever panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::enip::{Enip, EnipUdp};
use otposture_dissect::{DatagramDissector, StreamDissector};
use otposture_fuzz::{ctx, drive_stream, Sink};
use otposture_model::Direction;

fuzz_target!(|data: &[u8]| {
    let mut udp = EnipUdp.new_session();
    let mut sink = Sink::default();
    drive_stream(&mut *Enip.new_session(), data, |direction, chunk| {
        let _ = Enip.probe(direction, chunk);
        let _ = Enip.sent_by_client(chunk);
        let _ = EnipUdp.probe(chunk);
        let _ = EnipUdp.sent_by_client(chunk);
        udp.datagram(&ctx(direction), direction, chunk, &mut sink);
    });
    udp.close(&ctx(Direction::ToServer), &mut sink);
});
