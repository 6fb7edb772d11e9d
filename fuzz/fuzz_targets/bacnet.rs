//! Arbitrary bytes as BACnet/IP datagrams of one flow: the input is cut at
//! each 0x81 byte following a zero (a cheap way to give libFuzzer datagram
//! boundaries that still mutate), each piece goes to the session in turns of
//! direction, and with its BVLC length corrected half the time so that the
//! NPDU, APDU and parameter layers are reached. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::bacnet::{params, Bacnet};
use otposture_dissect::DatagramDissector;
use otposture_fuzz::{ctx, Sink};
use otposture_model::Direction;

fuzz_target!(|data: &[u8]| {
    let mut session = Bacnet.new_session();
    let mut sink = Sink::default();
    let mut start = 0;
    let mut pieces = Vec::new();
    for i in 1..data.len() {
        if data[i] == 0x81 && data[i - 1] == 0 {
            pieces.push(&data[start..i]);
            start = i;
        }
    }
    pieces.push(&data[start..]);
    for (n, piece) in pieces.iter().enumerate() {
        let direction = if n % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
        let mut datagram = piece.to_vec();
        if n % 4 < 2 && datagram.len() >= 4 && datagram.len() <= usize::from(u16::MAX) {
            let len = datagram.len() as u16;
            datagram[2..4].copy_from_slice(&len.to_be_bytes());
        }
        let _ = Bacnet.sent_by_client(&datagram);
        session.datagram(&ctx(direction), direction, &datagram, &mut sink);
        let _ = params::read_property_multiple_ack(piece);
        let _ = params::write_property_multiple(piece);
        let _ = params::i_am(piece);
    }
});
