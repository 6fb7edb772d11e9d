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
use otposture_dissect::{DatagramDissector, StreamDissector};
use otposture_fuzz::{chunks, ctx, Layout, Sink};
use otposture_model::Direction;

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
    let mut sink = Sink::default();
    let mut stream = Dnp3.new_session();
    let mut udp = Dnp3Udp.new_session();
    // Chunks of up to 248 bytes; bit 5 of the control byte wraps the chunk in
    // a good frame.
    for c in chunks(data, Layout::WIDE) {
        let direction = c.direction;
        if let Some(len) = c.gap {
            stream.gap(&ctx(direction), direction, len, &mut sink);
        }
        let bytes =
            if c.control & 0x20 != 0 { framed(c.bytes, direction == Direction::ToServer) } else { c.bytes.to_vec() };
        stream.data(&ctx(direction), direction, &bytes, &mut sink);
        let _ = Dnp3.sent_by_client(&bytes);
        let _ = Dnp3Udp.sent_by_client(&bytes);
        udp.datagram(&ctx(direction), direction, &bytes, &mut sink);
    }
    stream.close(&ctx(Direction::ToServer), &mut sink);
});
