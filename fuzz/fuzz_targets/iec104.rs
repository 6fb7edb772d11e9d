//! Arbitrary bytes as the two directions of an IEC 60870-5-104 stream, cut
//! into arbitrary chunks with occasional gaps, fed to one session, and each
//! chunk also to the probe: it must never panic, whatever the framing, the
//! control fields, the ASDUs, the sequence numbers or the pairing state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::iec104::Iec104;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Iec104.new_session(), data, |direction, bytes| {
        let _ = Iec104.probe(direction, bytes);
        let _ = Iec104.sent_by_client(bytes);
    });
});
