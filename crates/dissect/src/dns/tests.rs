#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{ctx, event_attr, splits_at_every_offset, Recorder};
use otposture_model::Event;
use proptest::prelude::*;

/// A query for `ews.plant` type A, id 0xbeef, RD.
const QUERY: &[u8] = &[
    0xbe, 0xef, // id
    0x01, 0x00, // flags: query, opcode 0, RD
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 1 question
    3, b'e', b'w', b's', 5, b'p', b'l', b'a', b'n', b't', 0, // ews.plant
    0x00, 0x01, 0x00, 0x01, // type A, class IN
];

/// Its answer: ews.plant A 10.0.0.5, and an AAAA in the additional section.
const ANSWER: &[u8] = &[
    0xbe, 0xef, // id
    0x81, 0x80, // flags: response, opcode 0, RD, RA, rcode 0
    0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // 1 question, 1 answer, 1 additional
    3, b'e', b'w', b's', 5, b'p', b'l', b'a', b'n', b't', 0, // ews.plant (offset 12)
    0x00, 0x01, 0x00, 0x01, // type A, class IN
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, // ews.plant A IN
    0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 10, 0, 0, 5, // TTL 60, 10.0.0.5
    0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, // ews.plant AAAA IN
    0x00, 0x00, 0x00, 0x3c, 0x00, 0x10, // TTL 60, 16 bytes
    0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, // fd00::5
];

fn udp(flavor: Flavor, grams: &[&[u8]]) -> Recorder {
    let mut r = Recorder::default();
    let mut h = Handler::new(flavor);
    for g in grams {
        let mut c = ctx(Direction::ToClient);
        c.src_ip = Some("10.0.0.53".parse().unwrap());
        h.message(&c, g, &mut r);
    }
    r
}

fn ops(r: &Recorder) -> Vec<(String, OperationClass)> {
    r.messages.iter().map(|m| (m.2.clone(), m.3)).collect()
}

fn answers(r: &Recorder) -> Vec<(String, String, String)> {
    r.events
        .iter()
        .filter(|e| e.kind == EventKind::Identity)
        .map(|e| {
            let a = |k| event_attr(e, k).unwrap_or_default().to_string();
            (a("host_name"), a("address"), a("record"))
        })
        .collect()
}

#[test]
fn counts_a_query_and_learns_the_names_in_its_answer() {
    let r = udp(Flavor::Dns, &[QUERY, ANSWER]);
    assert_eq!(ops(&r), [("query".into(), OperationClass::Discovery), ("response".into(), OperationClass::Discovery)]);
    assert_eq!(
        answers(&r),
        [("ews.plant".into(), "10.0.0.5".into(), "a".into()), ("ews.plant".into(), "fd00::5".into(), "aaaa".into())]
    );
    let e = &r.events[0];
    assert_eq!((e.name.as_ref(), e.protocol.as_ref()), ("dns.answer", "dns"));
    assert_eq!(event_attr(e, "answered_by"), Some("10.0.0.53"));
    assert!(r.malformed.is_empty());
}

#[test]
fn reports_a_name_and_address_once_per_flow() {
    let r = udp(Flavor::Dns, &[ANSWER, ANSWER, ANSWER]);
    assert_eq!(r.messages.len(), 3);
    assert_eq!(answers(&r).len(), 2);
    let mut upper = ANSWER.to_vec();
    upper[13] = b'E'; // "Ews.plant": the same name
    assert_eq!(answers(&udp(Flavor::Dns, &[ANSWER, &upper])).len(), 2);
}

#[test]
fn bounds_what_one_flow_reports() {
    let mut l = Learnt::default();
    for i in 0..MAX_LEARNT as u32 + 10 {
        let fresh = l.first(0, b"h", Some(IpAddr::V4(Ipv4Addr::from(i))));
        assert_eq!(fresh, (i as usize) < MAX_LEARNT);
    }
}

#[test]
fn names_flavors_by_protocol() {
    let r = udp(Flavor::Llmnr, &[ANSWER]);
    assert_eq!(r.events[0].name, "llmnr.answer");
    assert_eq!(r.events[0].protocol, "llmnr");
    assert!(Llmnr.port_hint(5355, 50000) && Mdns.port_hint(5353, 5353) && Dns.port_hint(40000, 53));
    assert!(!Dns.port_hint(5353, 5353));
}

#[test]
fn calls_nxdomain_a_response_and_other_codes_errors() {
    let mut nx = ANSWER[..ANSWER.len()].to_vec();
    nx[3] = 0x83; // RA, rcode 3
    let mut refused = nx.clone();
    refused[3] = 0x85; // rcode 5
    let mut odd = nx.clone();
    odd[3] = 0x8c; // rcode 12
    let r = udp(Flavor::Dns, &[&nx, &refused, &odd]);
    let names: Vec<String> = r.messages.iter().map(|m| m.2.clone()).collect();
    assert_eq!(names, ["response", "error_refused", "error_rcode_12"]);
    assert!(r.events.is_empty(), "names are learnt from successful answers only");
}

#[test]
fn learns_reverse_lookups_and_mdns_services() {
    // mDNS response: 5.0.0.10.in-addr.arpa PTR hmi.local, and an SRV
    // instance "hmi._http._tcp.local" on port 80 targeting hmi.local.
    let mut m = vec![
        0x00, 0x00, // id 0
        0x84, 0x00, // response, AA
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // 2 answers
        1, b'5', 1, b'0', 1, b'0', 2, b'1', b'0', 7, b'i', b'n', b'-', b'a', b'd', b'd', b'r', 4, b'a', b'r', b'p',
        b'a', 0, // 5.0.0.10.in-addr.arpa (offset 12, 23 bytes)
        0x00, 0x0c, 0x80, 0x01, // PTR, cache flush + IN
        0x00, 0x00, 0x00, 0x78, 0x00, 0x0b, // TTL 120, 11 bytes
        3, b'h', b'm', b'i', 5, b'l', b'o', b'c', b'a', b'l', 0, // hmi.local (offset 45; local at 49)
    ];
    m.extend_from_slice(&[
        3, b'h', b'm', b'i', 5, b'_', b'h', b't', b't', b'p', 4, b'_', b't', b'c', b'p', 0xc0,
        49, // hmi._http._tcp.local
        0x00, 0x21, 0x80, 0x01, // SRV, cache flush + IN
        0x00, 0x00, 0x00, 0x78, 0x00, 0x08, // TTL 120, 8 bytes
        0x00, 0x00, 0x00, 0x00, 0x00, 0x50, // priority 0, weight 0, port 80
        0xc0, 45, // target hmi.local
    ]);
    assert_eq!(probe_message(&m), Probe::Match);
    let r = udp(Flavor::Mdns, &[&m]);
    assert_eq!(answers(&r)[0], ("hmi.local".into(), "10.0.0.5".into(), "ptr".into()));
    let svc = r.events.iter().find(|e| e.name == "mdns.service").unwrap();
    assert_eq!(event_attr(svc, "instance"), Some("hmi._http._tcp.local"));
    assert_eq!(event_attr(svc, "target"), Some("hmi.local"));
    assert_eq!(event_attr(svc, "port"), Some("80"));
}

#[test]
fn reads_reverse_names_of_both_families() {
    let name = |s: &str| {
        let mut w = Vec::new();
        for l in s.split('.') {
            w.push(l.len() as u8);
            w.extend_from_slice(l.as_bytes());
        }
        w.push(0);
        wire::name_at(&w, 0).unwrap().0
    };
    assert_eq!(reverse_address(&name("4.3.2.1.in-addr.arpa")), Some("1.2.3.4".parse().unwrap()));
    let v6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";
    assert_eq!(reverse_address(&name(v6)), Some("4321:0:1:2:3:4:567:89ab".parse().unwrap()));
    assert_eq!(reverse_address(&name("300.3.2.1.in-addr.arpa")), None);
    assert_eq!(reverse_address(&name("_http._tcp.local")), None);
}

/// An UPDATE of zone `plant` adding `hmi.plant A 10.0.0.9` and deleting
/// every record of `old.plant`.
const UPDATE: &[u8] = &[
    0x00, 0x07, // id
    0x28, 0x00, // opcode 5 (UPDATE)
    0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, // 1 zone, 0 prerequisites, 2 updates
    5, b'p', b'l', b'a', b'n', b't', 0, // zone "plant" (offset 12)
    0x00, 0x06, 0x00, 0x01, // SOA IN
    3, b'h', b'm', b'i', 0xc0, 0x0c, // hmi.plant
    0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 10, 0, 0, 9, // A IN 3600 10.0.0.9
    3, b'o', b'l', b'd', 0xc0, 0x0c, // old.plant
    0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ANY ANY 0: delete all
];

#[test]
fn keeps_updates_with_their_zone_and_records_and_refusals() {
    let mut refused = UPDATE[..4].to_vec();
    refused[2] = 0xa8; // response, opcode 5
    refused[3] = 0x05; // REFUSED
    refused.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    refused.extend_from_slice(&UPDATE[12..23]); // the zone section
    let mut ok = refused.clone();
    ok[3] = 0x00;
    let r = udp(Flavor::Dns, &[UPDATE, &refused, &ok]);
    assert_eq!(r.messages.len(), 3);
    let (_, _, op, class, attrs) = &r.messages[0];
    assert_eq!((op.as_str(), *class), ("update", OperationClass::Configuration));
    assert_eq!(
        attrs,
        &[
            ("zone".into(), "plant".into()),
            ("records".into(), "hmi.plant a,old.plant any delete".into()),
            ("record_count".into(), "2".into())
        ]
    );
    assert_eq!(r.messages[1].2, "update_response");
    assert_eq!(r.messages[1].4, [("zone".into(), "plant".into()), ("rcode".into(), "refused".into())]);
    assert_eq!(r.folded, [2], "a successful answer is folded into the update");
}

#[test]
fn keeps_zone_transfers_and_their_refusal() {
    let mut axfr = QUERY.to_vec();
    axfr[24] = 252; // type AXFR
    let mut refused = axfr.clone();
    refused[2] = 0x81; // response
    refused[3] = 0x05; // REFUSED
    let r = udp(Flavor::Dns, &[&axfr, &refused]);
    assert_eq!(
        ops(&r),
        [("zone_transfer".into(), OperationClass::Read), ("zone_transfer_response".into(), OperationClass::Read)]
    );
    let kept: Vec<&Event> = r.events.iter().filter(|e| e.kind == EventKind::Operation).collect();
    assert_eq!(kept.len(), 2);
    assert_eq!((event_attr(kept[0], "zone"), event_attr(kept[0], "type")), (Some("ews.plant"), Some("axfr")));
    assert_eq!(event_attr(kept[1], "rcode"), Some("refused"));
    assert_eq!(kept[1].class, Some(OperationClass::Read));
}

#[test]
fn names_other_opcodes_and_unknown_ones() {
    let mut status = QUERY.to_vec();
    status[2] = 0x10; // opcode 2
    let mut unknown = QUERY.to_vec();
    unknown[2] = 0x78; // opcode 15
    let mut unknown_resp = unknown.clone();
    unknown_resp[2] |= 0x80;
    let r = udp(Flavor::Dns, &[&status, &unknown, &unknown_resp]);
    assert_eq!(
        ops(&r),
        [
            ("status".into(), OperationClass::Diagnostic),
            ("opcode_15".into(), OperationClass::Unknown),
            ("opcode_15_response".into(), OperationClass::Unknown)
        ]
    );
}

#[test]
fn counts_malformed_messages_and_learns_nothing_from_them() {
    let r = udp(Flavor::Dns, &[&ANSWER[..ANSWER.len() - 3], &[0u8; 5]]);
    assert_eq!(r.malformed, ["truncated", "short_header"]);
    assert!(r.messages.is_empty() && r.events.is_empty());
}

#[test]
fn probes_only_whole_sane_messages() {
    assert_eq!(Dns.probe(QUERY), Probe::Match);
    assert_eq!(Dns.probe(ANSWER), Probe::Match);
    assert_eq!(Dns.probe(&[0u8; 12]), Probe::NoMatch, "an empty message says nothing");
    let mut trailing = QUERY.to_vec();
    trailing.push(0);
    assert_eq!(Dns.probe(&trailing), Probe::NoMatch);
    assert_eq!(Dns.probe(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n"), Probe::NoMatch);
}

fn tcp(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

#[test]
fn splitting_a_tcp_exchange_at_every_offset_gives_the_same_records() {
    let mut c = tcp(QUERY);
    c.extend(tcp(UPDATE));
    let mut s = tcp(ANSWER);
    s.extend(tcp(ANSWER));
    let r = splits_at_every_offset(&DnsTcp, &c, &s);
    let names: Vec<&str> = r.messages.iter().map(|m| m.2.as_str()).collect();
    assert_eq!(names, ["query", "update", "response", "response"]);
    assert_eq!(answers(&r).len(), 2);
}

#[test]
fn tcp_probe_needs_the_whole_first_message_and_refuses_other_protocols() {
    let q = tcp(QUERY);
    assert_eq!(DnsTcp.probe(Direction::ToServer, &q), Probe::Match);
    assert_eq!(DnsTcp.probe(Direction::ToServer, &q[..10]), Probe::NeedMore);
    assert_eq!(DnsTcp.probe(Direction::ToServer, &q[..1]), Probe::NeedMore);
    assert_eq!(DnsTcp.probe(Direction::ToServer, b"\x00\x05hello"), Probe::NoMatch);
    assert_eq!(DnsTcp.probe(Direction::ToServer, b"SSH-2.0-OpenSSH_9.2\r\n"), Probe::NoMatch);
    assert_eq!(
        DnsTcp.probe(Direction::ToServer, &[0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0, 0, 0, 1, 0, 0xc1, 2, 1]),
        Probe::NoMatch
    );
    // A modbus request: length field 0x0000 is too short for DNS.
    assert_eq!(DnsTcp.probe(Direction::ToServer, &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10]), Probe::NoMatch);
}

#[test]
fn a_tcp_length_below_a_header_is_malformed_and_the_framer_resyncs() {
    let mut c = vec![0x00, 0x03, 1, 2, 3]; // length 3
    c.extend(tcp(QUERY));
    let r = crate::test_support::run(&DnsTcp, &[(Direction::ToServer, c)]);
    assert_eq!(r.malformed, ["short_message"]);
    assert_eq!(r.messages.len(), 1);
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_datagrams(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Dns.probe(&data);
        let r = udp(Flavor::Mdns, &[&data]);
        prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
    }

    #[test]
    fn never_panics_on_mutated_answers(i in 0..ANSWER.len(), b in any::<u8>(), cut in 0..ANSWER.len()) {
        let mut m = ANSWER.to_vec();
        m[i] = b;
        m.truncate(cut.max(i + 1));
        let r = udp(Flavor::Dns, &[&m]);
        prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
    }

    #[test]
    fn never_panics_on_arbitrary_tcp_chunks(chunks in proptest::collection::vec(
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..80)), 0..8)
    ) {
        let input: Vec<_> = chunks
            .into_iter()
            .map(|(d, b)| (if d { Direction::ToClient } else { Direction::ToServer }, b))
            .collect();
        let _ = crate::test_support::run(&DnsTcp, &input);
    }
}

#[test]
fn a_query_comes_from_the_client_and_its_answer_from_the_server() {
    // Servers forwarding to servers use port 53 at both ends.
    assert_eq!(Dns.sent_by_client(QUERY), Some(true));
    assert_eq!(Dns.sent_by_client(ANSWER), Some(false));
    assert_eq!(Dns.sent_by_client(&ANSWER[..20]), None);
}
