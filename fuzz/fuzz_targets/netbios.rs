//! The NetBIOS name service (first input byte even) or datagram service
//! (odd): the rest is datagrams, each a 2-byte big-endian length and its
//! bytes, handed to one session, to the probe and to the public parsers
//! (name service summary; datagram, mailslot and browser announcement).
//! Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::netbios::{dgm, ns};
use otposture_dissect::DatagramDissector;
use otposture_fuzz::{ctx, Sink};
use otposture_model::Direction;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let dissector: &dyn DatagramDissector = if mode & 1 == 0 { &ns::Nbns } else { &dgm::Nbdgm };
    let mut session = dissector.new_session();
    let mut sink = Sink::default();
    let mut rest = rest;
    let mut n = 0usize;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (gram, after) = tail.split_at(len);
        let _ = dissector.probe(gram);
        let _ = dissector.sent_by_client(gram);
        let _ = ns::summary(gram);
        if let Ok(d) = dgm::parse(gram) {
            if let Ok(Some(slot)) = dgm::mailslot(d.user_data) {
                let _ = dgm::announcement(slot.data);
            }
        }
        let direction = if n % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
        session.datagram(&ctx(direction), direction, gram, &mut sink);
        rest = after;
        n += 1;
    }
    session.close(&ctx(Direction::ToServer), &mut sink);
});
