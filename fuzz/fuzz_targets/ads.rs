//! Arbitrary bytes as the two directions of an ADS (AMS/TCP) stream, cut
//! into arbitrary chunks with occasional gaps, fed to one session, and each
//! chunk also to the probe and to the TwinCAT router service's datagram
//! session: it must never panic, whatever the headers, the lengths, the
//! commands, the index groups or the pairing state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::ads::{Ads, AdsRouter};
use otposture_dissect::{DatagramDissector, StreamDissector};
use otposture_fuzz::{ctx, drive_stream, Sink};

fuzz_target!(|data: &[u8]| {
    let mut router = AdsRouter.new_session();
    let mut sink = Sink::default();
    drive_stream(&mut *Ads.new_session(), data, |direction, bytes| {
        let _ = Ads.probe(direction, bytes);
        let _ = Ads.sent_by_client(bytes);
        let _ = AdsRouter.probe(bytes);
        let _ = AdsRouter.sent_by_client(bytes);
        router.datagram(&ctx(direction), direction, bytes, &mut sink);
    });
});
