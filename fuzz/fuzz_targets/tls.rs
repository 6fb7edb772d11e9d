//! Arbitrary bytes as the two directions of a TLS stream, cut into arbitrary
//! chunks with occasional gaps, fed to one session: records, handshake
//! messages across records, hellos and certificates must never panic. Each
//! chunk is also offered to `resync`, as the engine offers a stream no probe
//! took, and a session it returns is fed the chunks from there on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::tls::Tls;
use otposture_dissect::{StreamDissector, StreamSession};
use otposture_fuzz::{ctx, drive_stream, Sink};

fuzz_target!(|data: &[u8]| {
    let mut midway: Option<Box<dyn StreamSession>> = None;
    let mut sink = Sink::default();
    drive_stream(&mut *Tls.new_session(), data, |direction, bytes| {
        if midway.is_none() {
            midway = Tls.resync(direction, bytes);
        }
        if let Some(s) = midway.as_mut() {
            s.data(&ctx(direction), direction, bytes, &mut sink);
        }
    });
});
