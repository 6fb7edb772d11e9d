//! Arbitrary bytes as the two directions of a Telnet connection, cut into
//! arbitrary chunks with occasional gaps, fed to one session: it must never
//! panic, whatever the framing, login or negotiation state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::telnet::Telnet;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Telnet.new_session(), data, |_, _| {});
});
