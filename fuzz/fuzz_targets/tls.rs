//! Arbitrary bytes as the two directions of a TLS stream, cut into arbitrary
//! chunks with occasional gaps, fed to one session: records, handshake
//! messages across records, hellos and certificates must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::tls::Tls;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Tls.new_session(), data, |_, _| {});
});
