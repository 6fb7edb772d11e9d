//! Arbitrary bytes as one DHCP/BOOTP datagram: through the probe, a session and
//! the option iterator. Must never panic; the options must lie inside the
//! datagram, an overrun must end the list, and the probe must agree with the
//! parser (a datagram is DHCP exactly when its header and cookie read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::dhcp::{parse, Dhcp};
use otposture_dissect::{DatagramDissector, Probe};
use otposture_fuzz::{ctx, Sink};
use otposture_model::Direction;

fuzz_target!(|data: &[u8]| {
    let parsed = parse(data);
    assert_eq!(Dhcp.probe(data) == Probe::Match, parsed.is_ok());
    // Only a parsed message tells who sent it.
    assert!(Dhcp.sent_by_client(data).is_none() || parsed.is_ok());
    let mut session = Dhcp.new_session();
    session.datagram(&ctx(Direction::ToServer), Direction::ToServer, data, &mut Sink::default());
    if let Ok(msg) = parsed {
        let inside = |s: &[u8]| s.is_empty() || data.as_ptr_range().contains(&s.as_ptr());
        assert!(inside(msg.chaddr) && inside(msg.options) && inside(msg.client_hw_addr()));
        let all: Vec<_> = msg.option_iter().collect();
        assert!(all.iter().rev().skip(1).all(Result::is_ok), "an error ends the list");
        assert!(all.iter().flatten().all(|o| inside(o.value) && o.value.len() <= 255));
    }
});
