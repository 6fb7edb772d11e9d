//! Arbitrary bytes as the two directions of an EtherNet/IP stream
//! (encapsulation, CPF items, CIP, Connection Manager bodies, PCCC, Identity
//! replies), cut into arbitrary chunks with occasional gaps, fed to one TCP
//! session; each chunk is also one UDP datagram to a datagram session, and
//! goes to both probes: none may ever panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::enip::{Enip, EnipUdp};
use otposture_dissect::{DatagramDissector, Emit, PacketCtx, StreamDissector};
use otposture_model::{Direction, Event, OperationClass, Timestamp};
use std::borrow::Cow;

/// Discards everything; touches what it is given so nothing is optimised away.
struct Sink(usize);

impl Emit for Sink {
    fn message(&mut self, _: &PacketCtx<'_>, _: &'static str, op: Cow<'static, str>, _: OperationClass) {
        self.0 = self.0.wrapping_add(op.len());
    }
    fn event(&mut self, e: Event) {
        self.0 = self.0.wrapping_add(e.attributes.len());
    }
    fn malformed(&mut self, _: &PacketCtx<'_>, _: &'static str, what: &'static str) {
        self.0 = self.0.wrapping_add(what.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let ctx = |direction| PacketCtx { direction: Some(direction), ..PacketCtx::at(Timestamp(0), 1) };
    let mut sink = Sink(0);
    let mut session = Enip.new_session();
    let mut udp = EnipUdp.new_session();
    // Each control byte picks a direction (bit 7), whether a gap comes first
    // (bit 6) and the chunk length (low 6 bits); the chunk follows it.
    let mut rest = data;
    while let Some((&control, tail)) = rest.split_first() {
        let direction = if control & 0x80 == 0 { Direction::ToServer } else { Direction::ToClient };
        if control & 0x40 != 0 {
            session.gap(&ctx(direction), direction, u64::from(control & 0x3f), &mut sink);
        }
        let n = usize::from(control & 0x3f).min(tail.len());
        let (chunk, after) = tail.split_at(n);
        let _ = Enip.probe(direction, chunk);
        let _ = EnipUdp.probe(chunk);
        session.data(&ctx(direction), direction, chunk, &mut sink);
        udp.datagram(&ctx(direction), direction, chunk, &mut sink);
        rest = after;
    }
    session.close(&ctx(Direction::ToServer), &mut sink);
    udp.close(&ctx(Direction::ToServer), &mut sink);
});
