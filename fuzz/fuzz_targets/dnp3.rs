//! Arbitrary bytes as the two directions of a DNP3-over-TCP stream, cut into
//! arbitrary chunks with occasional gaps, fed to one session, and each chunk
//! also as a UDP datagram: it must never panic, whatever the framing, CRCs,
//! transport segments or objects.
//!
//! Random bytes rarely carry good CRCs, so every other chunk (bit 5 of its
//! control byte) is wrapped in a link frame with correct CRCs first: the
//! transport and application layers get fuzzed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::dnp3::link::{crc, BLOCK_LEN, MAX_USER_DATA};
use otposture_dissect::dnp3::{Dnp3, Dnp3Udp};
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

/// `user` as the user data of a frame with good CRCs (control: unconfirmed
/// user data, from the master when `master`).
fn framed(user: &[u8], master: bool) -> Vec<u8> {
    let user = &user[..user.len().min(MAX_USER_DATA)];
    let control = if master { 0xc4 } else { 0x44 };
    let mut f = vec![0x05, 0x64, 5 + user.len() as u8, control, 4, 0, 3, 0];
    let c = crc(&f);
    f.extend_from_slice(&c.to_le_bytes());
    for block in user.chunks(BLOCK_LEN) {
        f.extend_from_slice(block);
        f.extend_from_slice(&crc(block).to_le_bytes());
    }
    f
}

fuzz_target!(|data: &[u8]| {
    let ctx = |direction| PacketCtx { direction: Some(direction), ..PacketCtx::at(Timestamp(0), 1) };
    let mut sink = Sink(0);
    let mut stream = Dnp3.new_session();
    let mut udp = Dnp3Udp.new_session();
    // Each control byte picks a direction (bit 7), whether a gap comes first
    // (bit 6), whether the chunk is wrapped in a good frame (bit 5) and the
    // chunk length (low 5 bits, times 8); the chunk follows it.
    let mut rest = data;
    while let Some((&control, tail)) = rest.split_first() {
        let direction = if control & 0x80 == 0 { Direction::ToServer } else { Direction::ToClient };
        if control & 0x40 != 0 {
            stream.gap(&ctx(direction), direction, u64::from(control & 0x1f), &mut sink);
        }
        let n = (usize::from(control & 0x1f) * 8).min(tail.len());
        let (chunk, after) = tail.split_at(n);
        let bytes = if control & 0x20 != 0 { framed(chunk, direction == Direction::ToServer) } else { chunk.to_vec() };
        stream.data(&ctx(direction), direction, &bytes, &mut sink);
        udp.datagram(&ctx(direction), direction, &bytes, &mut sink);
        rest = after;
    }
    stream.close(&ctx(Direction::ToServer), &mut sink);
});
