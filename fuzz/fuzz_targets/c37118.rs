//! Arbitrary bytes as the two directions of an IEEE C37.118 stream, cut into
//! arbitrary chunks with occasional gaps, fed to one session, and each chunk
//! also to the probe, the UDP session (one frame per datagram) and the
//! configuration reader: it must never panic, whatever the SYNC bytes,
//! lengths, checks, PMU blocks and channel counts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::c37118::{frame, C37118Udp, C37118};
use otposture_dissect::{DatagramDissector, StreamDissector};
use otposture_fuzz::{ctx, drive_stream, Sink};

fuzz_target!(|data: &[u8]| {
    let mut datagrams = C37118Udp.new_session();
    let mut sink = Sink::default();
    drive_stream(&mut *C37118.new_session(), data, |direction, bytes| {
        let _ = C37118.probe(direction, bytes);
        let _ = C37118.sent_by_client(bytes);
        let _ = C37118Udp.probe(bytes);
        datagrams.datagram(&ctx(direction), direction, bytes, &mut sink);
        let _ = frame::parse_config(bytes);
    });
});
