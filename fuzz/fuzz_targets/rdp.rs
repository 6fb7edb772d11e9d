//! Arbitrary bytes as the two directions of an RDP stream, cut into
//! arbitrary chunks with occasional gaps, fed to one session: it must never
//! panic, whatever the state, and stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::rdp::Rdp;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Rdp.new_session(), data, |_, _| {});
});
