//! Arbitrary bytes as the two directions of an FTP control connection, cut
//! into arbitrary chunks with occasional gaps, fed to one session: it must
//! never panic, whatever the lines and replies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::ftp::Ftp;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Ftp.new_session(), data, |direction, chunk| {
        let _ = Ftp.probe(direction, chunk);
        let _ = Ftp.resync(direction, chunk);
        let _ = Ftp.sent_by_client(chunk);
    });
});
