#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use etherparse::PacketBuilder;
use proptest::prelude::*;

const A: [u8; 6] = [0x00, 0x1b, 0x1b, 0x01, 0x02, 0x03];
const B: [u8; 6] = [0x00, 0x0c, 0x29, 0x0a, 0x0b, 0x0c];

fn tcp_frame(payload: &[u8]) -> Vec<u8> {
    let b =
        PacketBuilder::ethernet2(A, B).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(50000, 502, 1000, 8192).ack(77).psh();
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

#[test]
fn decodes_ethernet_ipv4_tcp() {
    let frame = tcp_frame(b"hello");
    let f = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(f.src_mac.get(), Some(MacAddr(A)));
    assert_eq!(f.dst_mac.get(), Some(MacAddr(B)));
    let Net::Ip(ip) = f.net else { panic!("not ip") };
    assert_eq!(ip.src, "10.0.0.1".parse::<IpAddr>().unwrap());
    let L4::Tcp(t) = ip.l4 else { panic!("not tcp") };
    assert_eq!((t.src_port, t.dst_port, t.seq, t.ack), (50000, 502, 1000, 77));
    assert!(t.has(tcp_flags::ACK | tcp_flags::PSH));
    assert!(!t.has(tcp_flags::SYN));
    assert_eq!(t.payload, b"hello");
}

#[test]
fn keeps_headers_of_a_snapped_frame() {
    let full = tcp_frame(&[0u8; 100]);
    let f = decode(LinkType::Ethernet, &full[..60]).unwrap();
    let Net::Ip(ip) = f.net else { panic!("not ip") };
    assert!(ip.truncated);
    let L4::Tcp(t) = ip.l4 else { panic!("not tcp: {:?}", ip.l4) };
    assert_eq!(t.dst_port, 502);
    assert_eq!(t.payload.len(), 60 - 14 - 20 - 20);
}

#[test]
fn reads_the_innermost_of_two_vlan_tags() {
    let b = PacketBuilder::ethernet2(A, B)
        .double_vlan(100.try_into().unwrap(), 20.try_into().unwrap())
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(5000, 20000);
    let mut out = Vec::new();
    b.write(&mut out, b"x").unwrap();
    let f = decode(LinkType::Ethernet, &out).unwrap();
    assert_eq!(f.vlan, Some(20));
    let Net::Ip(ip) = f.net else { panic!() };
    assert!(matches!(ip.l4, L4::Udp(UdpDatagram { src_port: 5000, dst_port: 20000, .. })));
}

#[test]
fn decodes_linux_cooked_v1_and_v2() {
    let eth = tcp_frame(b"abc");
    let ip = &eth[14..];
    // SLL: packet type 0 (to us), ARPHRD_ETHER 1, addr len 6, addr + 2 pad, proto 0x0800.
    let mut sll = vec![0, 0, 0, 1, 0, 6];
    sll.extend_from_slice(&A);
    sll.extend_from_slice(&[0, 0, 0x08, 0x00]);
    sll.extend_from_slice(ip);
    let f = decode(LinkType::LinuxSll, &sll).unwrap();
    assert_eq!(f.src_mac.get(), Some(MacAddr(A)));
    assert!(matches!(f.net, Net::Ip(IpPacket { l4: L4::Tcp(_), .. })));
    // SLL2: proto 0x0800, reserved, ifindex 3, ARPHRD 1, packet type 4 (outgoing), addr len 6, addr + pad.
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6];
    sll2.extend_from_slice(&A);
    sll2.extend_from_slice(&[0, 0]);
    sll2.extend_from_slice(ip);
    let f = decode(LinkType::LinuxSll2, &sll2).unwrap();
    assert_eq!(f.src_mac.get(), Some(MacAddr(A)));
    assert!(matches!(f.net, Net::Ip(IpPacket { l4: L4::Tcp(_), .. })));
}

#[test]
fn decodes_bsd_loopback_in_either_byte_order() {
    let eth = tcp_frame(b"abc");
    for hdr in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
        let mut f = hdr.to_vec();
        f.extend_from_slice(&eth[14..]);
        assert!(matches!(decode(LinkType::Null, &f).unwrap().net, Net::Ip(_)));
    }
    let mut bad = vec![7, 0, 0, 0];
    bad.extend_from_slice(&eth[14..]);
    assert_eq!(decode(LinkType::Null, &bad).unwrap_err(), DecodeError::UnknownFamily(7));
}

#[test]
fn decodes_raw_ipv6_with_udp() {
    let b = PacketBuilder::ipv6(
        [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        1,
    )
    .udp(546, 547);
    let mut out = Vec::new();
    b.write(&mut out, b"dhcpv6").unwrap();
    let f = decode(LinkType::RawIp, &out).unwrap();
    let Net::Ip(ip) = f.net else { panic!() };
    assert!(ip.src.is_ipv6());
    assert!(matches!(ip.l4, L4::Udp(UdpDatagram { dst_port: 547, payload: b"dhcpv6", .. })));
}

#[test]
fn reports_ipv4_fragments_without_a_transport_view() {
    let mut frame = tcp_frame(&[0u8; 40]);
    // Set MF (flags byte at IP offset 6) on the first fragment.
    frame[14 + 6] = 0x20;
    let f = decode(LinkType::Ethernet, &frame).unwrap();
    let Net::Ip(ip) = f.net else { panic!() };
    assert_eq!(ip.fragment, Some(Fragment { id: 0, offset: 0, more: true, ipv6: false }));
    assert!(matches!(ip.l4, L4::Other));
    assert_eq!(ip.payload.len(), 60);
}

#[test]
fn hands_arp_and_other_ethertypes_to_layer_two() {
    let mut f = A.to_vec();
    f.extend_from_slice(&B);
    f.extend_from_slice(&[0x88, 0x92, 0xfe, 0xfe]); // Profinet DCP
    let d = decode(LinkType::Ethernet, &f).unwrap();
    assert!(matches!(d.net, Net::L2 { ethertype: 0x8892, payload: [0xfe, 0xfe] }));
}

#[test]
fn rejects_frames_shorter_than_their_link_header() {
    assert!(matches!(decode(LinkType::Ethernet, &[0; 13]), Err(DecodeError::LinkTruncated { .. })));
    assert!(matches!(decode(LinkType::LinuxSll, &[0; 15]), Err(DecodeError::LinkTruncated { .. })));
    assert!(matches!(decode(LinkType::LinuxSll2, &[0; 19]), Err(DecodeError::LinkTruncated { .. })));
    assert!(matches!(decode(LinkType::Null, &[0; 3]), Err(DecodeError::LinkTruncated { .. })));
    assert!(decode(LinkType::RawIp, &[0x45]).is_err());
}

#[test]
fn maps_link_type_numbers() {
    assert_eq!(LinkType::from_linktype(1), Some(LinkType::Ethernet));
    assert_eq!(LinkType::from_linktype(276), Some(LinkType::LinuxSll2));
    assert_eq!(LinkType::from_linktype(147), None);
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_frames(data in proptest::collection::vec(any::<u8>(), 0..200), lt in 0usize..8) {
        let link = [LinkType::Null, LinkType::Ethernet, LinkType::RawIp, LinkType::Loop,
            LinkType::LinuxSll, LinkType::RawIpv4, LinkType::RawIpv6, LinkType::LinuxSll2][lt];
        let _ = decode(link, &data);
    }

    #[test]
    fn never_panics_on_mutated_tcp_frames(pos in 0usize..80, val in any::<u8>(), cut in 0usize..80) {
        let mut f = tcp_frame(b"0123456789abcdef");
        let p = pos % f.len();
        f[p] = val;
        f.truncate(f.len() - cut.min(f.len()));
        let _ = decode(LinkType::Ethernet, &f);
    }
}

/// The fields both decode paths must agree on.
fn summary(f: &Frame<'_>) -> String {
    let net = match &f.net {
        Net::Ip(ip) => {
            let l4 = match &ip.l4 {
                L4::Tcp(t) => {
                    format!("tcp {} {} {} {} {:#x} {:?}", t.src_port, t.dst_port, t.seq, t.ack, t.flags, t.payload)
                }
                L4::Udp(u) => format!("udp {} {} {:?}", u.src_port, u.dst_port, u.payload),
                other => format!("{other:?}"),
            };
            format!(
                "{} > {} p{} {:?} {:?} trunc={} {}",
                ip.src, ip.dst, ip.proto, ip.fragment, ip.payload, ip.truncated, l4
            )
        }
        other => format!("{other:?}"),
    };
    format!("{:?} {:?} {:?} {}", f.src_mac, f.dst_mac, f.vlan, net)
}

fn assert_paths_agree(frame: &[u8]) -> Result<(), TestCaseError> {
    if let Some(fast) = fast::ethernet(frame) {
        let slow = decode_ethernet_slow(frame);
        prop_assert!(slow.is_ok(), "slow path failed where fast succeeded: {:02x?}", frame);
        if let Ok(slow) = slow {
            prop_assert_eq!(summary(&fast), summary(&slow), "frame {:02x?}", frame);
        }
    }
    Ok(())
}

fn base_frames() -> Vec<Vec<u8>> {
    let mut out = vec![tcp_frame(b"0123456789abcdef")];
    let mut v = Vec::new();
    PacketBuilder::ethernet2(A, B)
        .single_vlan(7.try_into().unwrap())
        .ipv4([192, 168, 1, 1], [192, 168, 1, 2], 9)
        .udp(20000, 20000)
        .write(&mut v, b"dnp3-ish payload")
        .unwrap();
    out.push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(A, B)
        .ipv6([1; 16], [2; 16], 4)
        .tcp(44818, 50000, 7, 100)
        .syn()
        .write(&mut v, b"")
        .unwrap();
    out.push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(A, B)
        .ipv4([10, 1, 1, 1], [10, 1, 1, 2], 1)
        .icmpv4_echo_request(1, 2)
        .write(&mut v, b"ping")
        .unwrap();
    out.push(v);
    out
}

proptest! {
    #[test]
    fn the_direct_and_etherparse_paths_agree_on_mutated_frames(
        which in 0usize..4,
        edits in proptest::collection::vec((0usize..80, any::<u8>()), 0..4),
        cut in 0usize..40,
        pad in 0usize..8,
    ) {
        let mut f = base_frames()[which].clone();
        for (pos, val) in edits {
            let n = f.len();
            f[pos % n] = val;
        }
        f.extend(std::iter::repeat_n(0u8, pad));
        f.truncate(f.len().saturating_sub(cut));
        assert_paths_agree(&f)?;
    }
}

#[test]
fn the_direct_path_takes_the_common_frames() {
    for f in base_frames() {
        assert!(fast::ethernet(&f).is_some());
    }
}

/// An 802.3 frame: MACs, the length field, then `llc_and_payload`, padded to
/// Ethernet's 60-byte minimum as a switch sends it.
fn frame_8023(llc_and_payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc]; // CDP multicast
    f.extend_from_slice(&A);
    f.extend_from_slice(&(llc_and_payload.len() as u16).to_be_bytes());
    f.extend_from_slice(llc_and_payload);
    f.resize(f.len().max(60), 0);
    f
}

#[test]
fn decodes_the_snap_header_of_a_cdp_frame() {
    let f = frame_8023(&[
        0xaa, 0xaa, 0x03, // DSAP SNAP, SSAP SNAP, control UI
        0x00, 0x00, 0x0c, 0x20, 0x00, // OUI Cisco, PID CDP
        0x02, 0xb4, 0x12, 0x34, // CDP version 2, TTL 180, checksum
    ]);
    let d = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(d.src_mac.get(), Some(MacAddr(A)));
    let Net::Llc(l) = d.net else { panic!("not llc: {:?}", d.net) };
    assert_eq!((l.dsap, l.ssap, l.control), (0xaa, 0xaa, 0x03));
    assert_eq!(l.snap, Some(Snap { oui: OUI_CISCO, pid: PID_CDP }));
    assert_eq!(l.payload, &[0x02, 0xb4, 0x12, 0x34], "the padding after the 802.3 length is not payload");
    assert_eq!(l.kind(), "cdp");
}

#[test]
fn recognises_spanning_tree_and_two_byte_controls() {
    // STP configuration BPDU: SAP 0x42/0x42, UI; protocol id 0, version 0, type 0.
    let f = frame_8023(&[0x42, 0x42, 0x03, 0, 0, 0, 0]);
    let d = decode(LinkType::Ethernet, &f).unwrap();
    let Net::Llc(l) = d.net else { panic!() };
    assert_eq!((l.kind(), l.snap, l.payload), ("stp", None, &[0u8, 0, 0, 0][..]));
    // An I-format control (low bit 0) is two bytes.
    let f = frame_8023(&[0xf0, 0xf0, 0x00, 0x02, 0x99]);
    let d = decode(LinkType::Ethernet, &f).unwrap();
    let Net::Llc(l) = d.net else { panic!() };
    assert_eq!((l.control, l.payload, l.kind()), (0x0002, &[0x99u8][..], "llc"));
    // VTP, DTP and PVST+ are SNAP under Cisco's OUI.
    for (pid, kind) in [(PID_VTP, "vtp"), (PID_DTP, "dtp"), (PID_PVST, "pvst"), (0x1234, "snap")] {
        let [p0, p1] = pid.to_be_bytes();
        let f = frame_8023(&[0xaa, 0xaa, 0x03, 0, 0, 0x0c, p0, p1, 1]);
        let d = decode(LinkType::Ethernet, &f).unwrap();
        let Net::Llc(l) = d.net else { panic!() };
        assert_eq!(l.kind(), kind);
    }
}

#[test]
fn a_short_llc_header_is_no_network_layer() {
    // Length 2: not even DSAP, SSAP and control fit.
    let mut f = frame_8023(&[0x42, 0x42]);
    f[12..14].copy_from_slice(&[0, 2]);
    assert!(matches!(decode(LinkType::Ethernet, &f).unwrap().net, Net::None));
    // SNAP announced but cut before the PID.
    let mut f = frame_8023(&[0xaa, 0xaa, 0x03, 0, 0]);
    f[12..14].copy_from_slice(&[0, 5]);
    assert!(matches!(decode(LinkType::Ethernet, &f).unwrap().net, Net::None));
}

#[test]
fn decodes_llc_inside_a_vlan_tag_and_in_linux_cooked_captures() {
    // PVST+ goes tagged on trunks: 802.1Q VLAN 20, then the 802.3 length.
    let mut f = vec![0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcd];
    f.extend_from_slice(&A);
    f.extend_from_slice(&[0x81, 0x00, 0x00, 0x14, 0x00, 0x09]);
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x0b, 0x00]);
    let d = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(d.vlan, Some(20));
    let Net::Llc(l) = d.net else { panic!() };
    assert_eq!(l.kind(), "pvst");
    assert!(matches!(decode_ethernet_slow(&f).unwrap().net, Net::Llc(x) if x == l), "both paths agree");
    // SLL with protocol 0x0004 (802.2).
    let mut sll = vec![0, 0, 0, 1, 0, 6];
    sll.extend_from_slice(&A);
    sll.extend_from_slice(&[0, 0, 0x00, 0x04]);
    sll.extend_from_slice(&[0x42, 0x42, 0x03, 0, 0]);
    let Net::Llc(l) = decode(LinkType::LinuxSll, &sll).unwrap().net else { panic!() };
    assert_eq!(l.kind(), "stp");
}

proptest! {
    #[test]
    fn the_llc_reader_stays_inside_its_length(data in proptest::collection::vec(any::<u8>(), 0..40), len in 0usize..64) {
        if let Some(l) = llc(&data, len) {
            let end = len.min(data.len());
            let inside = l.payload.is_empty() || data[..end].as_ptr_range().contains(&l.payload.as_ptr());
            prop_assert!(inside);
            prop_assert!(l.payload.len() <= end.saturating_sub(3));
        }
    }

    #[test]
    fn the_direct_and_etherparse_paths_agree_on_8023_frames(
        body in proptest::collection::vec(any::<u8>(), 0..40),
        len in 0u16..64,
    ) {
        let mut f = frame_8023(&body);
        f[12..14].copy_from_slice(&len.to_be_bytes());
        assert_paths_agree(&f)?;
    }
}
