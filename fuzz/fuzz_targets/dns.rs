//! DNS, mDNS and LLMNR. The first input byte picks the mode: bit 0 set, the
//! rest is a DNS-over-TCP stream in the shared chunk scheme (two directions,
//! arbitrary chunks, gaps); clear, the rest is datagrams, each a 2-byte
//! big-endian length and its bytes, handed to one session of the flavour in
//! bits 1-2 and to the probe and the message parser. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::dns::{wire, Dns, DnsTcp, Llmnr, Mdns};
use otposture_dissect::{DatagramDissector, StreamDissector};
use otposture_fuzz::{ctx, drive_stream, Sink};
use otposture_model::Direction;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 1 {
        drive_stream(&mut *DnsTcp.new_session(), rest, |d, b| {
            let _ = DnsTcp.probe(d, b);
        });
        return;
    }
    let dissector: &dyn DatagramDissector = match (mode >> 1) & 3 {
        0 => &Dns,
        1 => &Mdns,
        _ => &Llmnr,
    };
    let mut session = dissector.new_session();
    let mut sink = Sink::default();
    let mut rest = rest;
    let mut n = 0usize;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (gram, after) = tail.split_at(len);
        let _ = dissector.probe(gram);
        let _ = dissector.sent_by_client(gram);
        if let Ok((h, _)) = wire::check(gram) {
            for item in wire::items(gram, &h).flatten() {
                let _ = wire::rdata_name(gram, &item);
            }
        }
        let direction = if n % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
        session.datagram(&ctx(direction), direction, gram, &mut sink);
        rest = after;
        n += 1;
    }
    session.close(&ctx(Direction::ToServer), &mut sink);
});
