//! Arbitrary bytes as the two directions of an S7comm stream (TPKT, COTP,
//! S7comm or S7comm-plus), cut into arbitrary chunks with occasional gaps, fed
//! to one session, and each chunk to the probe: neither may ever panic,
//! whatever the framing, the reassembly or the PDUs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::s7comm::S7comm;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *S7comm.new_session(), data, |direction, chunk| {
        let _ = S7comm.probe(direction, chunk);
        let _ = S7comm.sent_by_client(chunk);
    });
});
