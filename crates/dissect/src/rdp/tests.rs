//! Byte-exact RDP connection sequences, built field by field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{event_attr, run, splits_at_every_offset};
use proptest::prelude::*;
use Direction::{ToClient as S2C, ToServer as C2S};

/// A TPKT packet (version 3, reserved 0, length including the header) around `body`.
fn tpkt(body: &[u8]) -> Vec<u8> {
    let mut p = vec![3, 0];
    p.extend(((body.len() + 4) as u16).to_be_bytes());
    p.extend(body);
    p
}

/// An X.224 CR or CC TPDU with RDP user data: the length indicator counts it.
fn x224(code: u8, user_data: &[u8]) -> Vec<u8> {
    let mut t = vec![
        (6 + user_data.len()) as u8, // length indicator
        code,                        // 0xE0 CR, 0xD0 CC
        0x00,
        0x00, // DST-REF
        0x12,
        0x34, // SRC-REF
        0x00, // class 0
    ];
    t.extend(user_data);
    tpkt(&t)
}

/// The client's CR: cookie `mstshash=ENG-WS01\adm` truncated to 9 characters
/// as mstsc does, then an RDP_NEG_REQ asking for TLS and CredSSP.
fn request(requested: u32) -> Vec<u8> {
    let mut u = b"Cookie: mstshash=ENG\\opera\r\n".to_vec();
    u.extend([
        0x01, // TYPE_RDP_NEG_REQ
        0x00, // flags
        0x08, 0x00, // length 8
    ]);
    u.extend(requested.to_le_bytes()); // requestedProtocols
    x224(0xe0, &u)
}

/// The server's CC with an RDP_NEG_RSP selecting `selected`.
fn confirm(selected: u32) -> Vec<u8> {
    let mut u = vec![
        0x02, // TYPE_RDP_NEG_RSP
        0x1f, // flags: extended client data, GFX, reserved, restricted admin, redirected auth
        0x08, 0x00, // length 8
    ];
    u.extend(selected.to_le_bytes());
    x224(0xd0, &u)
}

/// An X.224 DT TPDU carrying `data`.
fn dt(data: &[u8]) -> Vec<u8> {
    let mut t = vec![0x02, 0xf0, 0x80]; // LI 2, DT, EOT
    t.extend(data);
    tpkt(&t)
}

/// A BER TLV with a long-form two-byte length.
fn ber(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut t = tag.to_vec();
    t.push(0x82);
    t.extend((value.len() as u16).to_be_bytes());
    t.extend(value);
    t
}

/// A TS_UD_HEADER block.
fn block(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut b = kind.to_le_bytes().to_vec();
    b.extend(((body.len() + 4) as u16).to_le_bytes());
    b.extend(body);
    b
}

/// The GCC Conference Create Request/Response prefix (T.124 PER) up to the
/// H.221 key, then the key and a two-byte PER length of the blocks.
fn gcc(key: &[u8; 4], blocks: &[u8]) -> Vec<u8> {
    let mut g =
        vec![0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01, 0x81, 0x2a, 0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x00];
    g.extend(key);
    g.push(0x80 | (blocks.len() >> 8) as u8);
    g.push(blocks.len() as u8);
    g.extend(blocks);
    g
}

/// CS_CORE: RDP 5+, 1280x1024, 16 bpp, SAS, layout 0x409 (US), build 19041,
/// name "HMI-LINE2", keyboard type 4, then the optional fields.
fn client_core() -> Vec<u8> {
    let mut c = Vec::new();
    c.extend(0x0008_0004u32.to_le_bytes()); // version
    c.extend(1280u16.to_le_bytes()); // desktopWidth
    c.extend(1024u16.to_le_bytes()); // desktopHeight
    c.extend(0xca01u16.to_le_bytes()); // colorDepth RNS_UD_COLOR_8BPP
    c.extend(0xaa03u16.to_le_bytes()); // SASSequence
    c.extend(0x0409u32.to_le_bytes()); // keyboardLayout
    c.extend(19041u32.to_le_bytes()); // clientBuild
    let mut name = [0u8; 32]; // clientName, UTF-16LE, NUL-padded
    for (i, u) in "HMI-LINE2".encode_utf16().enumerate() {
        name[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
    }
    c.extend(name);
    c.extend(4u32.to_le_bytes()); // keyboardType (IBM enhanced)
    c.extend(0u32.to_le_bytes()); // keyboardSubType
    c.extend(12u32.to_le_bytes()); // keyboardFunctionKey
    c.extend([0u8; 64]); // imeFileName
    c.extend(0xca01u16.to_le_bytes()); // postBeta2ColorDepth
    c.extend(1u16.to_le_bytes()); // clientProductId
    c.extend(0u32.to_le_bytes()); // serialNumber
    c.extend(24u16.to_le_bytes()); // highColorDepth
    c.extend(0x000fu16.to_le_bytes()); // supportedColorDepths
    c.extend(0x0001u16.to_le_bytes()); // earlyCapabilityFlags: RNS_UD_CS_SUPPORT_ERRINFO_PDU
    c
}

/// An MCS Connect Initial with client core, security (40/128-bit), network
/// (rdpdr, cliprdr, rdpsnd) and cluster data.
fn connect_initial() -> Vec<u8> {
    let mut blocks = block(0xc001, &client_core());
    blocks.extend(block(0xc002, &[0x03, 0, 0, 0, 0, 0, 0, 0])); // encryptionMethods 40|128, ext 0
    let mut net = 3u32.to_le_bytes().to_vec(); // channelCount
    for name in [b"rdpdr\0\0\0", b"cliprdr\0", b"rdpsnd\0\0"] {
        net.extend(name); // name, 8 bytes
        net.extend(0x8080_0000u32.to_le_bytes()); // options
    }
    blocks.extend(block(0xc003, &net));
    blocks.extend(block(0xc004, &[0x0d, 0, 0, 0, 0, 0, 0, 0])); // cluster flags, session id
    let params = ber(&[0x30], &[0x02, 0x01, 0x22]); // a domain parameter set (maxChannelIds 34)
    let mut body = ber(&[0x04], &[0x01]); // callingDomainSelector
    body.extend(ber(&[0x04], &[0x01])); // calledDomainSelector
    body.extend([0x01, 0x01, 0xff]); // upwardFlag TRUE
    for _ in 0..3 {
        body.extend(&params); // target, minimum, maximum parameters
    }
    body.extend(ber(&[0x04], &gcc(b"Duca", &blocks))); // userData
    dt(&ber(&[0x7f, 0x65], &body))
}

/// An MCS Connect Response with server core and security data (128-bit,
/// client compatible, proprietary certificate).
fn connect_response() -> Vec<u8> {
    let mut blocks = block(0x0c01, &[0x04, 0x00, 0x08, 0x00]); // version 0x00080004
    let mut sec = Vec::new();
    sec.extend(2u32.to_le_bytes()); // encryptionMethod 128-bit
    sec.extend(2u32.to_le_bytes()); // encryptionLevel client compatible
    sec.extend(32u32.to_le_bytes()); // serverRandomLen
    sec.extend(8u32.to_le_bytes()); // serverCertLen
    sec.extend([0x55; 32]); // serverRandom
    sec.extend(1u32.to_le_bytes()); // dwVersion: CERT_CHAIN_VERSION_1 (proprietary)
    sec.extend([0, 0, 0, 0]); // rest of a (cut) proprietary certificate
    blocks.extend(block(0x0c02, &sec));
    let mut body = vec![0x0a, 0x01, 0x00]; // result rt-successful
    body.extend([0x02, 0x01, 0x00]); // calledConnectId 0
    body.extend(ber(&[0x30], &[0x02, 0x01, 0x22])); // domainParameters
    body.extend(ber(&[0x04], &gcc(b"McDn", &blocks))); // userData
    dt(&ber(&[0x7f, 0x66], &body))
}

fn op<'a>(r: &'a crate::test_support::Recorder, name: &str) -> &'a Vec<(String, String)> {
    &r.messages.iter().find(|m| m.2 == name).unwrap_or_else(|| panic!("{:?}", r.messages)).4
}

fn attr<'a>(a: &'a [(String, String)], k: &str) -> Option<&'a str> {
    a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn probes_rdp_requests_and_leaves_s7_requests_alone() {
    assert_eq!(Rdp.probe(C2S, &request(3)), Probe::Match);
    assert_eq!(Rdp.probe(S2C, &confirm(2)), Probe::Match);
    assert_eq!(Rdp.probe(C2S, &request(3)[..20]), Probe::NeedMore);
    // An S7 CR: TSAP parameters after the fixed part, no cookie.
    let s7 = x224(0xe0, &[0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02]);
    assert_eq!(Rdp.probe(C2S, &s7), Probe::NoMatch);
    assert_eq!(crate::s7comm::S7comm.probe(C2S, &s7), Probe::Match);
    assert_eq!(crate::s7comm::S7comm.probe(C2S, &request(3)), Probe::NoMatch);
    assert_eq!(Rdp.probe(C2S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
}

#[test]
fn keeps_the_request_with_cookie_protocols_and_the_servers_choice() {
    let r = splits_at_every_offset(&Rdp, &request(0x3), &confirm(Protocols::HYBRID));
    let a = op(&r, "connection_request");
    assert_eq!(attr(a, "cookie"), Some("ENG\\opera"));
    assert_eq!(attr(a, "requested_protocols"), Some("ssl,hybrid"));
    assert_eq!(attr(a, "selected_protocol"), Some("hybrid"));
    assert_eq!(attr(a, "nla"), Some("true"));
    let m = r.messages.iter().find(|m| m.2 == "connection_request").unwrap();
    assert_eq!((m.1, m.3), (C2S, OperationClass::Authentication));
    let answer = r.messages.iter().position(|m| m.2 == "connection_confirm").unwrap();
    assert!(r.folded.contains(&answer));
    let s = r.events.iter().find(|e| e.name == "rdp.server").unwrap();
    assert_eq!(event_attr(s, "selected_protocol"), Some("hybrid"));
    assert!(r.events.iter().all(|e| e.name != "rdp.no_nla"));
}

#[test]
fn a_negotiation_failure_is_kept_as_a_refusal() {
    let mut u = vec![0x03, 0x00, 0x08, 0x00]; // TYPE_RDP_NEG_FAILURE, flags, length 8
    u.extend(2u32.to_le_bytes()); // SSL_NOT_ALLOWED_BY_SERVER
    let r = run(&Rdp, &[(C2S, request(1)), (S2C, x224(0xd0, &u))]);
    assert_eq!(attr(op(&r, "negotiation_failure"), "failure"), Some("ssl_not_allowed_by_server"));
    assert_eq!(attr(op(&r, "connection_request"), "failure"), Some("ssl_not_allowed_by_server"));
    assert!(r.folded.is_empty());
}

#[test]
fn reads_client_and_server_data_of_standard_rdp_security() {
    let mut c = request(0);
    c.extend(connect_initial());
    c.extend([0x44, 0x55, 0x66]); // fast-path or encrypted bytes: not read
    let mut s = confirm(Protocols::RDP);
    s.extend(connect_response());
    s.extend([0x03, 0x00, 0x00]); // whatever follows: not read
    let r = splits_at_every_offset(&Rdp, &c, &s);
    let e = r.events.iter().find(|e| e.name == "rdp.client").unwrap();
    let expect = [
        ("name", "HMI-LINE2"),
        ("client_build", "19041"),
        ("rdp_version", "0x00080004"),
        ("desktop", "1280x1024"),
        ("keyboard_layout", "0x00000409"),
        ("keyboard_type", "4"),
        ("product_id", "1"),
        ("high_color_depth", "24"),
        ("early_capability_flags", "0x0001"),
        ("encryption_methods", "40bit,128bit"),
        ("channels", "rdpdr,cliprdr,rdpsnd"),
        ("drive_redirection", "true"),
        ("clipboard", "true"),
        ("cluster_flags", "0x0000000d"),
    ];
    for (k, v) in expect {
        assert_eq!(event_attr(e, k), Some(v), "{k}");
    }
    let s = r.events.iter().filter(|e| e.name == "rdp.server").nth(1).unwrap();
    for (k, v) in [
        ("server_version", "0x00080004"),
        ("encryption_method", "128bit"),
        ("encryption_level", "client_compatible"),
        ("certificate_type", "proprietary"),
        ("proprietary_encryption", "true"),
    ] {
        assert_eq!(event_attr(s, k), Some(v), "{k}");
    }
    let cc = r.events.iter().find(|e| e.name == "rdp.server").unwrap();
    assert_eq!((event_attr(cc, "selected_protocol"), event_attr(cc, "nla")), (Some("rdp"), Some("false")));
    let names: Vec<&str> = r.events.iter().map(|e| e.name.as_ref()).collect();
    assert!(names.contains(&"rdp.no_nla") && names.contains(&"rdp.proprietary_encryption"), "{names:?}");
    assert_eq!(attr(op(&r, "connection_request"), "nla"), Some("false"));
    assert!(r.messages.iter().any(|m| m.2 == "mcs_connect_initial"));
    assert!(r.messages.iter().any(|m| m.2 == "mcs_connect_response"));
}

#[test]
fn hands_the_stream_to_tls_once_tls_is_selected() {
    // A TLS record (handshake, ClientHello) that is cut short: the TLS
    // session reads it, not the TPKT framer.
    let hello = vec![0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00];
    let r = run(&Rdp, &[(C2S, request(1)), (S2C, confirm(Protocols::SSL)), (C2S, hello)]);
    assert_eq!(r.malformed, vec!["tls_bad_client_hello"]);
    assert!(r.messages.iter().any(|m| m.0 == "tls" && m.2 == "client_hello"), "{:?}", r.messages);
    assert!(r.events.iter().any(|e| e.name == "rdp.no_nla"));
}

#[test]
fn a_tls_alert_after_tls_is_chosen_is_tls_not_tpkt() {
    // The server's alert when the client hangs up instead of starting TLS.
    let alert = vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32];
    let r = run(&Rdp, &[(C2S, request(3)), (S2C, confirm(Protocols::SSL)), (S2C, alert)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert!(r.events.iter().any(|e| e.name == "tls.alert"), "{:?}", r.events);
}

#[test]
fn a_gap_ends_the_reading_of_that_direction() {
    let mut s = Rdp.new_session();
    let mut r = crate::test_support::Recorder::default();
    let ctx = crate::test_support::ctx(C2S);
    s.gap(&ctx, C2S, 10, &mut r);
    s.data(&ctx, C2S, &request(0), &mut r);
    assert!(r.messages.is_empty());
}

proptest! {
    #[test]
    fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..400), b in proptest::collection::vec(any::<u8>(), 0..400), cut in 0usize..400) {
        let mut c = request(0);
        c.extend(tpkt(&a));
        let mut s = confirm(0);
        s.extend(dt(&b));
        let _ = run(&Rdp, &[(C2S, c[..cut.min(c.len())].to_vec()), (S2C, s), (C2S, c[cut.min(c.len())..].to_vec())]);
        let _ = connect_initial_blocks(&a);
        let _ = connect_response_blocks(&b);
        let mut e = PacketCtx::at(otposture_model::Timestamp::from_parts(0, 0), 1).event(PROTOCOL, EventKind::Identity, "x");
        server_certificate(&mut e.attributes, &a);
        let _ = ConnectionRequest::parse(&b);
    }
}

#[test]
fn an_unanswered_request_is_recorded_at_the_flows_end() {
    // A routing token (a load balancer's `msts=` cookie) and no RDP_NEG_REQ.
    let r = run(&Rdp, &[(C2S, x224(0xe0, b"Cookie: msts=3640205228.15629.0000\r\n"))]);
    let a = op(&r, "connection_request");
    assert_eq!(attr(a, "routing_token"), Some("msts=3640205228.15629.0000"));
    assert_eq!(attr(a, "requested_protocols"), Some("rdp"));
    assert_eq!(attr(a, "selected_protocol"), None);
}
