//! Arbitrary bytes as the two directions of an HTTP/1.x connection, cut into
//! arbitrary chunks with occasional gaps, fed to one session: it must never
//! panic, whatever the framing, login or negotiation state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::http::Http;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Http.new_session(), data, |direction, chunk| {
        let _ = Http.probe(direction, chunk);
        let _ = Http.sent_by_client(chunk);
    });
});
