//! Arbitrary bytes as the two directions of a Modbus/TCP stream, cut into
//! arbitrary chunks with occasional gaps, fed to one session: it must never
//! panic, whatever the framing, the PDUs or the pairing state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::modbus::Modbus;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Modbus.new_session(), data, |_, _| {});
});
