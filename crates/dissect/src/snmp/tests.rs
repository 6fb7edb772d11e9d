#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::message::*;
use super::*;
use crate::test_support::{ctx, event_attr, Recorder};
use proptest::prelude::*;

/// A TLV with a short or long-form length.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match value.len() {
        n @ 0..=127 => v.push(n as u8),
        n @ 128..=255 => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(value);
    v
}

fn int(n: i64) -> Vec<u8> {
    let b = n.to_be_bytes();
    let mut i = 0;
    while i < 7 && ((b[i] == 0 && b[i + 1] & 0x80 == 0) || (b[i] == 0xff && b[i + 1] & 0x80 != 0)) {
        i += 1;
    }
    tlv(0x02, &b[i..])
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut v = Vec::new();
    let mut enc = |mut n: u64| {
        let mut tmp = vec![(n & 0x7f) as u8];
        n >>= 7;
        while n > 0 {
            tmp.push(0x80 | (n & 0x7f) as u8);
            n >>= 7;
        }
        tmp.reverse();
        v.extend(tmp);
    };
    enc(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        enc(*a);
    }
    tlv(0x06, &v)
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn varbind(o: &str, value: Vec<u8>) -> Vec<u8> {
    tlv(0x30, &cat(&[oid(o), value]))
}

/// A v1/v2c message: version, community, PDU.
fn community_msg(
    version: i64,
    community: &[u8],
    pdu_tag: u8,
    id: i64,
    status: i64,
    index: i64,
    vbs: &[Vec<u8>],
) -> Vec<u8> {
    let pdu = tlv(pdu_tag, &cat(&[int(id), int(status), int(index), tlv(0x30, &vbs.concat())]));
    tlv(0x30, &cat(&[int(version), tlv(0x04, community), pdu]))
}

const SECRET: &[u8] = b"s3cr3t-rw";

#[test]
fn reads_a_v2c_get_of_sys_descr_byte_for_byte() {
    let get: &[u8] = &[
        0x30, 0x29, // SEQUENCE, 41 bytes
        0x02, 0x01, 0x01, // version 1 = v2c
        0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', // community "public"
        0xa0, 0x1c, // GetRequest-PDU, 28 bytes
        0x02, 0x04, 0x12, 0x34, 0x56, 0x78, // request-id 0x12345678
        0x02, 0x01, 0x00, // error-status 0
        0x02, 0x01, 0x00, // error-index 0
        0x30, 0x0e, // VarBindList
        0x30, 0x0c, // VarBind
        0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, // 1.3.6.1.2.1.1.1.0 sysDescr.0
        0x05, 0x00, // NULL
    ];
    assert_eq!(probe(get), Some(Version::V2C));
    let (m, r) = parse(get).unwrap();
    assert_eq!(r, Ok(()));
    assert_eq!(m.version, Version::V2C);
    assert_eq!(m.community.map(<[u8]>::len), Some(6));
    let pdu = m.pdu.unwrap();
    assert_eq!((pdu.kind, pdu.request_id, pdu.error_status), (PduType::GET, Some(0x1234_5678), ErrorStatus(0)));
    let vbs: Vec<_> = varbinds(pdu.varbinds).collect();
    assert_eq!(vbs.len(), 1);
    let (o, v) = vbs[0].unwrap();
    assert_eq!(oid_text(o).as_deref(), Some("1.3.6.1.2.1.1.1.0"));
    assert_eq!(v.tag, 0x05);
    // The debug print carries the length, never the community.
    let dbg = format!("{m:?}");
    assert!(!dbg.contains("public") && !dbg.contains("112, 117, 98"), "{dbg}");

    let mut r = Recorder::default();
    Snmp.new_session().datagram(&ctx(Direction::ToServer), Direction::ToServer, get, &mut r);
    assert_eq!(r.messages.len(), 1);
    assert_eq!((r.messages[0].2.as_str(), r.messages[0].3), ("get", OperationClass::Read));
    let weak = &r.events[0];
    assert_eq!((weak.name.as_ref(), weak.kind), ("snmp.weak_security", EventKind::Anomaly));
    assert_eq!(event_attr(weak, "version"), Some("2c"));
    assert_eq!(event_attr(weak, "community_length"), Some("6"));
}

#[test]
fn names_the_agent_from_the_system_group_in_a_response() {
    let resp = community_msg(
        1,
        b"public",
        0xa2,
        7,
        0,
        0,
        &[
            varbind("1.3.6.1.2.1.1.1.0", tlv(0x04, b"Linux rtu-7 5.10.0 armv7l")),
            varbind("1.3.6.1.2.1.1.2.0", oid("1.3.6.1.4.1.8072.3.2.10")),
            varbind("1.3.6.1.2.1.1.3.0", tlv(0x43, &[0x01, 0x02])),
            varbind("1.3.6.1.2.1.1.4.0", tlv(0x04, b"ops@example.net")),
            varbind("1.3.6.1.2.1.1.5.0", tlv(0x04, b"rtu-7")),
            varbind("1.3.6.1.2.1.1.6.0", tlv(0x04, b"substation A")),
        ],
    );
    let mut r = Recorder::default();
    let mut s = Snmp.new_session();
    s.datagram(&ctx(Direction::ToClient), Direction::ToClient, &resp, &mut r);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert_eq!((r.messages[0].2.as_str(), r.messages[0].3), ("response", OperationClass::Read));
    let id = r.events.iter().find(|e| e.name == "snmp.system").unwrap();
    assert_eq!(id.kind, EventKind::Identity);
    for (k, v) in [
        ("description", "Linux rtu-7 5.10.0 armv7l"),
        ("object_id", "1.3.6.1.4.1.8072.3.2.10"),
        ("enterprise", "8072"),
        ("contact", "ops@example.net"),
        ("name", "rtu-7"),
        ("location", "substation A"),
    ] {
        assert_eq!(event_attr(id, k), Some(v), "{k}");
    }
}

#[test]
fn keeps_a_set_with_its_oids_folds_its_success_and_keeps_a_refusal() {
    let set = |id| {
        community_msg(1, SECRET, 0xa3, id, 0, 0, &[varbind("1.3.6.1.2.1.1.6.0", tlv(0x04, b"new location value"))])
    };
    let answer = |id, status, index| {
        community_msg(1, SECRET, 0xa2, id, status, index, &[varbind("1.3.6.1.2.1.1.6.0", tlv(0x04, b"x"))])
    };
    let mut r = Recorder::default();
    let mut s = Snmp.new_session();
    s.datagram(&ctx(Direction::ToServer), Direction::ToServer, &set(-5), &mut r);
    s.datagram(&ctx(Direction::ToClient), Direction::ToClient, &answer(-5, 0, 0), &mut r);
    s.datagram(&ctx(Direction::ToServer), Direction::ToServer, &set(6), &mut r);
    s.datagram(&ctx(Direction::ToClient), Direction::ToClient, &answer(6, 17, 1), &mut r);
    let ops: Vec<_> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
    assert_eq!(ops, vec![("set", OperationClass::Configuration); 4]);
    assert_eq!(r.folded, vec![1], "only the successful answer is folded");
    let attrs = |i: usize| r.messages[i].4.clone();
    let get = |i: usize, k: &str| attrs(i).into_iter().find(|(n, _)| n == k).map(|(_, v)| v);
    assert_eq!(get(0, "request_id").as_deref(), Some("-5"));
    assert_eq!(get(0, "oids").as_deref(), Some("1.3.6.1.2.1.1.6.0"));
    assert_eq!(get(0, "community_length").as_deref(), Some("9"));
    assert_eq!(get(3, "error_status").as_deref(), Some("not_writable"));
    assert_eq!(get(3, "error_index").as_deref(), Some("1"));
    assert_eq!(get(3, "oids").as_deref(), Some("1.3.6.1.2.1.1.6.0"));
    // The answers echo the value asked for: not the agent's identity.
    assert!(r.events.iter().all(|e| e.name != "snmp.system"), "{:?}", r.events);
    // Neither the community nor the value written is anywhere in what was reported.
    let everything = format!("{r:?}");
    assert!(!everything.contains("s3cr3t") && !everything.contains("new location"), "{everything}");
}

/// A v3 message: header, USM parameters, plaintext scoped PDU or encrypted bytes.
fn v3_msg(flags: u8, engine: &[u8], boots: i64, user: &[u8], scoped: Option<Vec<u8>>) -> Vec<u8> {
    let header = tlv(0x30, &cat(&[int(0x4242), int(65507), tlv(0x04, &[flags]), int(3)]));
    let usm =
        tlv(0x30, &cat(&[tlv(0x04, engine), int(boots), int(1000), tlv(0x04, user), tlv(0x04, &[]), tlv(0x04, &[])]));
    let data = match scoped {
        Some(pdu) => tlv(0x30, &cat(&[tlv(0x04, engine), tlv(0x04, b""), pdu])),
        None => tlv(0x04, &[0xde, 0xad, 0xbe, 0xef]),
    };
    tlv(0x30, &cat(&[int(3), header, tlv(0x04, &usm), data]))
}

const ENGINE: &[u8] = &[0x80, 0x00, 0x1f, 0x88, 0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07];

#[test]
fn v3_no_auth_with_a_user_is_flagged_and_discovery_is_not() {
    let get = tlv(0xa0, &cat(&[int(1), int(0), int(0), tlv(0x30, &varbind("1.3.6.1.2.1.1.5.0", tlv(0x05, &[])))]));
    // Discovery: no engine, no user, reportable.
    let discovery = v3_msg(0x04, &[], 0, b"", Some(get.clone()));
    let noauth = v3_msg(0x04, ENGINE, 3, b"monitor", Some(get.clone()));
    let mut r = Recorder::default();
    let mut s = Snmp.new_session();
    s.datagram(&ctx(Direction::ToServer), Direction::ToServer, &discovery, &mut r);
    assert!(r.events.is_empty(), "{:?}", r.events);
    s.datagram(&ctx(Direction::ToServer), Direction::ToServer, &noauth, &mut r);
    s.datagram(&ctx(Direction::ToServer), Direction::ToServer, &noauth, &mut r);
    let weak: Vec<_> = r.events.iter().filter(|e| e.name == "snmp.weak_security").collect();
    assert_eq!(weak.len(), 1, "once per flow");
    assert_eq!(event_attr(weak[0], "user"), Some("monitor"));
    assert_eq!(event_attr(weak[0], "weakness"), Some("no_auth_no_priv"));
    assert_eq!(r.messages.iter().filter(|m| m.2 == "get").count(), 3);

    let (m, _) = parse(&noauth).unwrap();
    let v3 = m.v3.unwrap();
    assert_eq!((v3.msg_id, v3.flags, v3.security_level(), v3.user), (0x4242, 4, "no_auth_no_priv", &b"monitor"[..]));
    assert_eq!(enterprise_of_engine_id(v3.engine_id), Some(8072));
}

#[test]
fn an_encrypted_v3_answer_names_the_engine_but_not_the_pdu() {
    let enc = v3_msg(0x03, ENGINE, 12, b"admin", None);
    let mut r = Recorder::default();
    Snmp.new_session().datagram(&ctx(Direction::ToClient), Direction::ToClient, &enc, &mut r);
    assert_eq!((r.messages[0].2.as_str(), r.messages[0].3), ("encrypted_pdu", OperationClass::Unknown));
    let e = r.events.iter().find(|e| e.name == "snmp.engine").unwrap();
    assert_eq!(event_attr(e, "engine_id"), Some("80001f888001020304050607"));
    assert_eq!(event_attr(e, "enterprise"), Some("8072"));
    assert_eq!(event_attr(e, "engine_boots"), Some("12"));
    assert!(!r.events.iter().any(|e| e.name == "snmp.weak_security"));
}

#[test]
fn restart_and_authentication_failure_traps_are_kept() {
    // v1 trap: enterprise, agent 10.0.0.9, generic 0 (coldStart), specific 0, time.
    let trap = tlv(
        0x30,
        &cat(&[
            int(0),
            tlv(0x04, b"public"),
            tlv(
                0xa4,
                &cat(&[
                    oid("1.3.6.1.4.1.8072.3.2.10"),
                    tlv(0x40, &[10, 0, 0, 9]),
                    int(0),
                    int(0),
                    tlv(0x43, &[1]),
                    tlv(0x30, &[]),
                ]),
            ),
        ]),
    );
    // v2c trap with snmpTrapOID.0 = authenticationFailure.
    let trap2 = community_msg(
        1,
        b"public",
        0xa7,
        99,
        0,
        0,
        &[varbind("1.3.6.1.2.1.1.3.0", tlv(0x43, &[5])), varbind("1.3.6.1.6.3.1.1.4.1.0", oid("1.3.6.1.6.3.1.1.5.5"))],
    );
    let inform =
        community_msg(1, b"public", 0xa6, 100, 0, 0, &[varbind("1.3.6.1.6.3.1.1.4.1.0", oid("1.3.6.1.6.3.1.1.5.2"))]);
    let mut r = Recorder::default();
    let mut s = Snmp.new_session();
    for d in [&trap, &trap2, &inform] {
        s.datagram(&ctx(Direction::ToServer), Direction::ToServer, d, &mut r);
    }
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let ops: Vec<_> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
    assert_eq!(
        ops,
        vec![
            ("trap", OperationClass::Diagnostic),
            ("trap_v2", OperationClass::Diagnostic),
            ("inform", OperationClass::Diagnostic)
        ]
    );
    let kept: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.name != "snmp.weak_security")
        .map(|e| (e.name.to_string(), event_attr(e, "trap").unwrap().to_string()))
        .collect();
    assert_eq!(
        kept,
        vec![
            ("snmp.device_restarted".to_string(), "cold_start".to_string()),
            ("snmp.authentication_failure".to_string(), "authentication_failure".to_string()),
            ("snmp.device_restarted".to_string(), "warm_start".to_string()),
        ]
    );
    assert_eq!(event_attr(&r.events[1], "agent_address"), Some("10.0.0.9"));
}

#[test]
fn other_ber_over_udp_is_not_snmp_and_cut_messages_are_malformed() {
    // CLDAP searchRequest: SEQUENCE, messageID 1, then [APPLICATION 3].
    let cldap = tlv(0x30, &cat(&[int(1), tlv(0x63, &[0x04, 0x00])]));
    assert_eq!(Snmp.probe(&cldap), Probe::NoMatch);
    assert_eq!(Snmp.probe(&[0x30, 0x03, 0x02, 0x01, 0x02]), Probe::NoMatch, "version 2 is not SNMP");
    assert_eq!(Snmp.probe(b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    let get = community_msg(0, b"public", 0xa0, 1, 0, 0, &[varbind("1.3.6.1.2.1.1.5.0", tlv(0x05, &[]))]);
    assert_eq!(Snmp.probe(&get), Probe::Match);
    let mut r = Recorder::default();
    Snmp.new_session().datagram(&ctx(Direction::ToServer), Direction::ToServer, &get[..get.len() - 3], &mut r);
    assert_eq!(r.malformed, vec!["snmp_truncated"]);
    assert!(r.messages.is_empty());
    // An unknown PDU tag is counted under its number.
    let odd = community_msg(1, b"public", 0xaf, 1, 0, 0, &[]);
    let mut r = Recorder::default();
    Snmp.new_session().datagram(&ctx(Direction::ToServer), Direction::ToServer, &odd, &mut r);
    assert_eq!((r.messages[0].2.as_str(), r.messages[0].3), ("unknown_0xaf", OperationClass::Unknown));
    // Every tag the PDU reader lets through has its name in the table.
    for tag in 0xa0..=0xbfu8 {
        assert_eq!(unknown_pdu_name(tag), format!("unknown_0x{tag:02x}"));
    }
}

#[test]
fn oids_and_integers_decode_like_x690_says() {
    assert_eq!(oid_text(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0xbf, 0x08]).as_deref(), Some("1.3.6.1.4.1.8072"));
    assert_eq!(enterprise_of_oid(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0xbf, 0x08, 0x03]), Some(8072));
    assert_eq!(oid_text(&[0x2b, 0x86]), None, "cut sub-identifier");
    assert_eq!(oid_text(&[]), None);
    assert_eq!(oid_text(&[0x88, 0x37]).as_deref(), Some("2.999"));
    assert_eq!(signed(&[0xff]), Some(-1));
    assert_eq!(signed(&[0x00, 0xff]), Some(255));
    assert_eq!(signed(&[0x80, 0, 0, 0]), Some(-2_147_483_648));
    assert_eq!(signed(&[]), None);
}

proptest! {
    #[test]
    fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut r = Recorder::default();
        let mut s = Snmp.new_session();
        s.datagram(&ctx(Direction::ToServer), Direction::ToServer, &data, &mut r);
        let _ = Snmp.probe(&data);
        let _ = oid_text(&data);
    }

    #[test]
    fn never_panics_on_mutated_messages(pos in 0usize..200, val in any::<u8>(), cut in 0usize..100) {
        let mut m = community_msg(1, b"public", 0xa2, 7, 0, 0, &[
            varbind("1.3.6.1.2.1.1.1.0", tlv(0x04, b"Linux")),
            varbind("1.3.6.1.2.1.1.2.0", oid("1.3.6.1.4.1.8072.3.2.10")),
        ]);
        let n = m.len();
        m[pos % n] = val;
        m.truncate(n.saturating_sub(cut));
        let mut r = Recorder::default();
        Snmp.new_session().datagram(&ctx(Direction::ToClient), Direction::ToClient, &m, &mut r);
        if let Ok((msg, _)) = parse(&m) {
            if let Some(p) = msg.pdu {
                for (o, v) in varbinds(p.varbinds).flatten() {
                    prop_assert!(o.is_empty() || m.as_ptr_range().contains(&o.as_ptr()));
                    prop_assert!(v.value.is_empty() || m.as_ptr_range().contains(&v.value.as_ptr()));
                }
            }
        }
    }
}

#[test]
fn requests_and_traps_come_from_the_client_and_responses_from_the_agent() {
    let vb = varbind("1.3.6.1.2.1.1.1.0", tlv(0x05, &[]));
    let msg = |tag: u8| community_msg(1, b"public", tag, 7, 0, 0, std::slice::from_ref(&vb));
    for tag in [0xa0, 0xa1, 0xa3, 0xa5, 0xa6, 0xa7] {
        assert_eq!(Snmp.sent_by_client(&msg(tag)), Some(true), "{tag:#x}");
    }
    // A trap from port 161 to a manager's 162: the agent sends it, so it is
    // the flow's client.
    assert_eq!(Snmp.sent_by_client(&msg(0xa2)), Some(false));
    assert_eq!(Snmp.sent_by_client(&msg(0xa8)), Some(false));
    // Encrypted v3 and a tag SNMP does not define cannot tell.
    assert_eq!(Snmp.sent_by_client(&v3_msg(0x03, ENGINE, 12, b"admin", None)), None);
    assert_eq!(Snmp.sent_by_client(&msg(0xaf)), None);
}
