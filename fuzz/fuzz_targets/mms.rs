//! Arbitrary bytes as the two directions of an MMS stream (TPKT, COTP, ISO
//! session, presentation, ACSE, MMS), cut into arbitrary chunks with
//! occasional gaps, fed to one session, and each chunk to the probe: neither
//! may ever panic, whatever the layers say.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::mms::Mms;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Mms.new_session(), data, |direction, chunk| {
        let _ = Mms.probe(direction, chunk);
    });
});
