//! Arbitrary bytes as the two directions of an SSH stream, cut into
//! arbitrary chunks with occasional gaps, fed to one session: it must never
//! panic, whatever the handshake state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::ssh::Ssh;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Ssh.new_session(), data, |_, _| {});
});
