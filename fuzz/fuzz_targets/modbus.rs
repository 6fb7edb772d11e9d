//! Arbitrary bytes as the two directions of a Modbus/TCP stream, cut into
//! arbitrary chunks with occasional gaps, fed to one session, each chunk also
//! to the probe and to `sent_by_client`: none may ever panic, whatever the
//! framing, the PDUs or the pairing state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::modbus::Modbus;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Modbus.new_session(), data, |direction, chunk| {
        let _ = Modbus.probe(direction, chunk);
        let _ = Modbus.sent_by_client(chunk);
    });
});
