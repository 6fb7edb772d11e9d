//! ARP (RFC 826) over Ethernet for IPv4: EtherType 0x0806.
//!
//! Owns parsing one ARP packet, naming its operation, and reporting the sender
//! (hardware and protocol address) as a host identity, with RFC 5227 probes and
//! gratuitous announcements told apart. It keeps no state: spotting one IP
//! claimed by two MACs, or a MAC changing IP, needs history and belongs to the
//! inventory. RARP (EtherType 0x8035) and ARP for other hardware or protocol
//! types are counted as `unsupported`, not read.
//!
//! The packet's addresses are a few fixed bytes; they are copied into a small
//! `Copy` summary rather than borrowed, which costs nothing and keeps callers
//! free of lifetimes.

use crate::cursor::Cursor;
use crate::{Emit, FrameDissector, PacketCtx};
use otposture_model::ToCompactString;
use otposture_model::{EventKind, MacAddr, OperationClass};
use std::borrow::Cow;
use std::fmt;
use std::net::Ipv4Addr;

const PROTOCOL: &str = "arp";

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// ARP hardware type of Ethernet (RFC 826; IANA "Hardware Types").
pub const HTYPE_ETHERNET: u16 = 1;
/// ARP protocol type of IPv4: the IPv4 EtherType.
pub const PTYPE_IPV4: u16 = 0x0800;
/// Length of the fixed part: htype, ptype, hlen, plen, oper.
const FIXED_LEN: usize = 8;

/// An ARP operation code (IANA "ARP Operation Codes"); open, so unknown codes
/// are reported by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operation(pub u16);

impl Operation {
    /// "Who has ... tell ...".
    pub const REQUEST: Operation = Operation(1);
    /// "... is at ...".
    pub const REPLY: Operation = Operation(2);

    /// The name used in message counts: `request`, `reply`, otherwise `opcode_N`.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            Operation::REQUEST => Cow::Borrowed("request"),
            Operation::REPLY => Cow::Borrowed("reply"),
            Operation(n) => Cow::Owned(format!("opcode_{n}")),
        }
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpPacket {
    /// Operation.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address (0.0.0.0 in an RFC 5227 probe).
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (usually zero in requests).
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpPacket {
    /// An RFC 5227 §2.1.1 probe: a request whose sender IP is 0.0.0.0.
    pub fn is_probe(&self) -> bool {
        self.operation == Operation::REQUEST && self.sender_ip.is_unspecified()
    }

    /// Gratuitous ARP (RFC 5227 §2.3 announcement, or an unsolicited reply):
    /// the sender asks for, or answers about, its own address.
    pub fn is_gratuitous(&self) -> bool {
        !self.sender_ip.is_unspecified() && self.sender_ip == self.target_ip
    }
}

/// Why bytes are not an Ethernet/IPv4 ARP packet.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpError {
    /// Fewer bytes than the header and its address fields need.
    Truncated {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    /// Ethernet/IPv4 types with address lengths other than 6 and 4.
    BadAddressLength {
        /// Hardware address length.
        hlen: u8,
        /// Protocol address length.
        plen: u8,
    },
    /// A well-formed ARP packet for another hardware or protocol type.
    Unsupported {
        /// Hardware type.
        htype: u16,
        /// Protocol type.
        ptype: u16,
    },
}

impl ArpError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            ArpError::Truncated { .. } => "truncated",
            ArpError::BadAddressLength { .. } => "bad_address_length",
            ArpError::Unsupported { .. } => "unsupported",
        }
    }
}

impl fmt::Display for ArpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ArpError::Truncated { needed, available } => {
                write!(f, "ARP packet needs {needed} bytes, only {available} present")
            }
            ArpError::BadAddressLength { hlen, plen } => {
                write!(f, "Ethernet/IPv4 ARP with address lengths {hlen}/{plen}, expected 6/4")
            }
            ArpError::Unsupported { htype, ptype } => {
                write!(f, "ARP for hardware type {htype}, protocol type {ptype:#06x} is not read")
            }
        }
    }
}

impl std::error::Error for ArpError {}

/// Parses an ARP packet from the bytes after the EtherType. Trailing bytes
/// (Ethernet padding) are ignored.
pub fn parse(data: &[u8]) -> Result<ArpPacket, ArpError> {
    let mut c = Cursor::new(data);
    let truncated = |needed| ArpError::Truncated { needed, available: data.len() };
    let (Some(htype), Some(ptype), Some(hlen), Some(plen), Some(oper)) =
        (c.be_u16(), c.be_u16(), c.u8(), c.u8(), c.be_u16())
    else {
        return Err(truncated(FIXED_LEN));
    };
    // RFC 826: sender and target each carry one hardware and one protocol address.
    let needed = FIXED_LEN + 2 * (usize::from(hlen) + usize::from(plen));
    if data.len() < needed {
        return Err(truncated(needed));
    }
    if htype != HTYPE_ETHERNET || ptype != PTYPE_IPV4 {
        return Err(ArpError::Unsupported { htype, ptype });
    }
    if hlen != 6 || plen != 4 {
        return Err(ArpError::BadAddressLength { hlen, plen });
    }
    match (c.array::<6>(), c.array::<4>(), c.array::<6>(), c.array::<4>()) {
        (Some(sha), Some(spa), Some(tha), Some(tpa)) => Ok(ArpPacket {
            operation: Operation(oper),
            sender_mac: MacAddr(sha),
            sender_ip: Ipv4Addr::from(spa),
            target_mac: MacAddr(tha),
            target_ip: Ipv4Addr::from(tpa),
        }),
        // Unreachable after the length check above, but an error, not a panic.
        _ => Err(truncated(needed)),
    }
}

/// The ARP frame dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Arp;

impl FrameDissector for Arp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn ethertype(&self) -> u16 {
        ETHERTYPE_ARP
    }

    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        let arp = match parse(data) {
            Ok(arp) => arp,
            // Valid ARP we do not read: counted, not an error.
            Err(ArpError::Unsupported { .. }) => {
                emit.message(ctx, PROTOCOL, Cow::Borrowed("unsupported"), OperationClass::Unknown);
                return;
            }
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        let operation = if arp.is_probe() { Cow::Borrowed("probe") } else { arp.operation.name() };
        emit.message(ctx, PROTOCOL, operation, OperationClass::Discovery);

        // A probe's sender has no address yet, and other operations do not claim one.
        let claims_address = matches!(arp.operation, Operation::REQUEST | Operation::REPLY);
        if claims_address && !arp.sender_ip.is_unspecified() {
            let mut ev = ctx.event(PROTOCOL, EventKind::Identity, "arp.sender");
            ev.attributes.push((Cow::Borrowed("mac"), arp.sender_mac.to_compact_string()));
            ev.attributes.push((Cow::Borrowed("ip"), arp.sender_ip.to_compact_string()));
            if arp.is_gratuitous() {
                ev.attributes.push((Cow::Borrowed("gratuitous"), "true".to_owned().into()));
            }
            emit.event(ev);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use otposture_model::{Event, Timestamp};
    use proptest::prelude::*;

    /// Records what a dissector emits.
    #[derive(Default)]
    struct Recorder {
        messages: Vec<(&'static str, String, OperationClass)>,
        events: Vec<Event>,
        malformed: Vec<(&'static str, &'static str)>,
    }

    impl Emit for Recorder {
        fn message(&mut self, _: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
            self.messages.push((p, op.into_owned(), class));
        }
        fn event(&mut self, event: Event) {
            self.events.push(event);
        }
        fn malformed(&mut self, _: &PacketCtx<'_>, p: &'static str, what: &'static str) {
            self.malformed.push((p, what));
        }
    }

    fn ctx() -> PacketCtx<'static> {
        PacketCtx {
            source: 0,
            ts: Timestamp::from_parts(1_709_280_010, 0),
            packet: 7,
            flow: None,
            direction: None,
            src_mac: Some(MacAddr([0x00, 0xd0, 0xc9, 0x0a, 0x00, 0x1e])),
            dst_mac: Some(MacAddr([0xff; 6])),
            vlan: Some(10),
            src_ip: None,
            dst_ip: None,
        }
    }

    fn run(data: &[u8]) -> Recorder {
        let mut r = Recorder::default();
        Arp.frame(&ctx(), data, &mut r);
        r
    }

    fn attrs(ev: &Event) -> Vec<(&str, &str)> {
        ev.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_str())).collect()
    }

    /// Who has 192.168.10.20? Tell 192.168.10.30 (as the sample's HMI asks).
    const REQUEST: [u8; 28] = [
        0x00, 0x01, // htype: Ethernet
        0x08, 0x00, // ptype: IPv4
        0x06, // hlen
        0x04, // plen
        0x00, 0x01, // oper: request
        0x00, 0xd0, 0xc9, 0x0a, 0x00, 0x1e, // sender MAC
        192, 168, 10, 30, // sender IP
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: unknown
        192, 168, 10, 20, // target IP
    ];

    #[test]
    fn reports_a_request_and_its_sender() {
        let r = run(&REQUEST);
        assert_eq!(r.messages, [("arp", "request".to_owned(), OperationClass::Discovery)]);
        assert!(r.malformed.is_empty());
        assert_eq!(r.events.len(), 1);
        let ev = &r.events[0];
        assert_eq!(ev.kind, EventKind::Identity);
        assert_eq!(ev.name, "arp.sender");
        assert_eq!(ev.protocol, "arp");
        assert_eq!(ev.packet, 7);
        assert_eq!(attrs(ev), [("mac", "00:d0:c9:0a:00:1e"), ("ip", "192.168.10.30")]);
    }

    #[test]
    fn reports_a_reply_and_ignores_ethernet_padding() {
        let mut frame = vec![
            0x00, 0x01, // htype: Ethernet
            0x08, 0x00, // ptype: IPv4
            0x06, 0x04, // hlen, plen
            0x00, 0x02, // oper: reply
            0x00, 0x1b, 0x1b, 0x0a, 0x00, 0x14, // sender MAC (Siemens)
            192, 168, 10, 20, // sender IP
            0x00, 0xd0, 0xc9, 0x0a, 0x00, 0x1e, // target MAC
            192, 168, 10, 30, // target IP
        ];
        frame.extend_from_slice(&[0; 18]); // padding to the 46-byte Ethernet minimum
        let r = run(&frame);
        assert_eq!(r.messages[0].1, "reply");
        assert_eq!(attrs(&r.events[0]), [("mac", "00:1b:1b:0a:00:14"), ("ip", "192.168.10.20")]);
    }

    #[test]
    fn names_a_probe_and_reports_no_identity_for_it() {
        let probe = [
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet/IPv4, 6/4
            0x00, 0x01, // oper: request
            0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32, // sender MAC
            0, 0, 0, 0, // sender IP: 0.0.0.0, not yet configured
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC
            192, 168, 10, 50, // the address being probed
        ];
        let r = run(&probe);
        assert_eq!(r.messages, [("arp", "probe".to_owned(), OperationClass::Discovery)]);
        assert!(r.events.is_empty());
    }

    #[test]
    fn flags_a_gratuitous_announcement() {
        let announcement = [
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet/IPv4, 6/4
            0x00, 0x01, // oper: request
            0x00, 0x80, 0x63, 0x0a, 0x00, 0x01, // sender MAC
            192, 168, 10, 1, // sender IP
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC
            192, 168, 10, 1, // target IP: the sender's own
        ];
        let r = run(&announcement);
        assert_eq!(r.messages[0].1, "request");
        assert_eq!(attrs(&r.events[0]), [("mac", "00:80:63:0a:00:01"), ("ip", "192.168.10.1"), ("gratuitous", "true")]);
    }

    #[test]
    fn names_unknown_opcodes_by_number_without_identity() {
        let mut inarp = REQUEST;
        inarp[7] = 8; // oper: 8, InARP request (RFC 2390)
        let r = run(&inarp);
        assert_eq!(r.messages, [("arp", "opcode_8".to_owned(), OperationClass::Discovery)]);
        assert!(r.events.is_empty());
    }

    #[test]
    fn reports_truncated_packets_as_malformed() {
        for len in [0, 1, 7, 8, 27] {
            let r = run(&REQUEST[..len]);
            assert_eq!(r.malformed, [("arp", "truncated")], "length {len}");
            assert!(r.messages.is_empty() && r.events.is_empty());
        }
        assert_eq!(parse(&REQUEST[..20]), Err(ArpError::Truncated { needed: 28, available: 20 }));
        assert_eq!(parse(&REQUEST[..5]), Err(ArpError::Truncated { needed: 8, available: 5 }));
    }

    #[test]
    fn rejects_ethernet_ipv4_with_wrong_address_lengths() {
        let bad = [
            0x00, 0x01, 0x08, 0x00, // Ethernet/IPv4
            0x04, 0x04, // hlen 4: contradicts Ethernet
            0x00, 0x01, // request
            1, 2, 3, 4, 10, 0, 0, 1, // sender
            0, 0, 0, 0, 10, 0, 0, 2, // target
        ];
        assert_eq!(parse(&bad), Err(ArpError::BadAddressLength { hlen: 4, plen: 4 }));
        assert_eq!(run(&bad).malformed, [("arp", "bad_address_length")]);
    }

    #[test]
    fn counts_other_address_types_as_unsupported() {
        let ieee802_ipv6 = {
            let mut v = vec![
                0x00, 0x06, // htype: IEEE 802
                0x86, 0xdd, // ptype: IPv6
                0x06, 0x10, // hlen 6, plen 16
                0x00, 0x01, // request
            ];
            v.extend_from_slice(&[0; 2 * (6 + 16)]);
            v
        };
        assert_eq!(parse(&ieee802_ipv6), Err(ArpError::Unsupported { htype: 6, ptype: 0x86dd }));
        let r = run(&ieee802_ipv6);
        assert_eq!(r.messages, [("arp", "unsupported".to_owned(), OperationClass::Unknown)]);
        assert!(r.malformed.is_empty() && r.events.is_empty());
    }

    #[test]
    fn says_what_was_wrong_with_the_offending_values() {
        assert_eq!(
            ArpError::BadAddressLength { hlen: 4, plen: 4 }.to_string(),
            "Ethernet/IPv4 ARP with address lengths 4/4, expected 6/4"
        );
        assert_eq!(
            ArpError::Truncated { needed: 28, available: 3 }.to_string(),
            "ARP packet needs 28 bytes, only 3 present"
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..96)) {
            let r = run(&data);
            // Exactly one outcome per frame: a count or a malformed report.
            prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
            prop_assert!(r.events.len() <= 1);
        }

        #[test]
        fn never_panics_on_arbitrary_ethernet_ipv4_bodies(
            oper in any::<u16>(),
            body in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut data = vec![0x00, 0x01, 0x08, 0x00, 0x06, 0x04];
            data.extend_from_slice(&oper.to_be_bytes());
            data.extend_from_slice(&body);
            let r = run(&data);
            prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
            prop_assert_eq!(r.malformed.is_empty(), body.len() >= 20);
        }
    }
}
