//! Session tests: byte-exact messages through the whole dissector, chunked
//! messages, cuts at every offset, security states, and arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{cut_at, event_attr, run, splits_at_every_offset, Recorder};
use otposture_model::{Direction::ToClient as S2C, Direction::ToServer as C2S, EventKind, OperationClass};
use proptest::prelude::*;

/// A Hello (OPC 10000-6 §7.1.2.3), byte by byte.
const HELLO: [u8; 44] = [
    b'H', b'E', b'L', b'F', // message type HEL, chunk type F
    0x2c, 0x00, 0x00, 0x00, // message size 44
    0x00, 0x00, 0x00, 0x00, // protocol version 0
    0xff, 0xff, 0x00, 0x00, // receive buffer size 65535
    0xff, 0xff, 0x00, 0x00, // send buffer size 65535
    0x00, 0x00, 0x00, 0x00, // max message size: no limit
    0x00, 0x00, 0x00, 0x00, // max chunk count: no limit
    0x0c, 0x00, 0x00, 0x00, // endpoint URL: 12 bytes
    b'o', b'p', b'c', b'.', b't', b'c', b'p', b':', b'/', b'/', b'p', b'1', // "opc.tcp://p1"
];

/// A WriteRequest (OPC 10000-4 §5.10.4) in a single MSG chunk, byte by byte:
/// one Double written to ns=2;s=Tank.Setpoint.
const WRITE: [u8; 104] = [
    b'M', b'S', b'G', b'F', // message type MSG, chunk type F
    0x68, 0x00, 0x00, 0x00, // message size 104
    0x07, 0x00, 0x00, 0x00, // secure channel id 7
    0x01, 0x00, 0x00, 0x00, // token id 1
    0x33, 0x00, 0x00, 0x00, // sequence number 51
    0x0b, 0x00, 0x00, 0x00, // request id 11
    0x01, 0x00, 0xa1, 0x02, // encoding id: four-byte NodeId, ns 0, i=673 WriteRequest
    // RequestHeader
    0x02, 0x01, 0x00, 0x10, 0x27, 0x00, 0x00, // authentication token: numeric ns=1;i=10000
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // timestamp 0
    0x2a, 0x00, 0x00, 0x00, // request handle 42
    0x00, 0x00, 0x00, 0x00, // return diagnostics 0
    0xff, 0xff, 0xff, 0xff, // audit entry id: null
    0x10, 0x27, 0x00, 0x00, // timeout hint 10000 ms
    0x00, 0x00, 0x00, // additional header: null NodeId, no body
    // NodesToWrite: 1 WriteValue
    0x01, 0x00, 0x00, 0x00, // array length 1
    0x03, 0x02, 0x00, 0x0d, 0x00, 0x00, 0x00, // NodeId: string, ns=2, 13 bytes
    b'T', b'a', b'n', b'k', b'.', b'S', b'e', b't', b'p', b'o', b'i', b'n', b't', // "Tank.Setpoint"
    0x0d, 0x00, 0x00, 0x00, // attribute id 13: Value
    0xff, 0xff, 0xff, 0xff, // index range: null
    0x01, // DataValue mask: value only
    0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x4b, 0x40, // Variant Double 55.125
];

/// Encodes UA binary values for building test messages.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i32(self, v: i32) -> Self {
        self.u32(v as u32)
    }
    fn f64(mut self, v: f64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(self, s: &str) -> Self {
        let mut e = self.i32(s.len() as i32);
        e.0.extend_from_slice(s.as_bytes());
        e
    }
    fn null(self) -> Self {
        self.i32(-1)
    }
    /// A four-byte NodeId in namespace 0.
    fn id(self, n: u16) -> Self {
        let mut e = self.u8(0x01).u8(0);
        e.0.extend_from_slice(&n.to_le_bytes());
        e
    }
    /// A string NodeId.
    fn sid(self, ns: u16, s: &str) -> Self {
        let mut e = self.u8(0x03);
        e.0.extend_from_slice(&ns.to_le_bytes());
        e.str(s)
    }
    fn request_header(self, handle: u32) -> Self {
        self.u8(0).u8(0).i64(0).u32(handle).u32(0).null().u32(0).u8(0).u8(0).u8(0)
    }
    fn response_header(self, handle: u32, result: u32) -> Self {
        // Timestamp, handle, service result, no diagnostics, no string table,
        // no additional header.
        self.i64(0).u32(handle).u32(result).u8(0).i32(-1).u8(0).u8(0).u8(0)
    }
    /// An ApplicationDescription.
    fn application(self, uri: &str, product: &str, name: &str, kind: i32) -> Self {
        self.str(uri).str(product).u8(0x02).str(name).i32(kind).null().null().i32(0)
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
}

/// A chunk of `kind` (`MSG`, `CLO`) with `chunk` type around `body`.
fn chunk(kind: &[u8; 3], chunk: u8, request_id: u32, body: &[u8]) -> Vec<u8> {
    let e = Enc(kind.to_vec()).u8(chunk).u32(24 + body.len() as u32).u32(7).u32(1).u32(request_id).u32(request_id);
    e.bytes(body).0
}

/// An OPN chunk under `policy` around `body` (plain or not).
fn opn(policy: &str, body: &[u8]) -> Vec<u8> {
    let inner = Enc::default().u32(0).str(policy).null().null().u32(1).u32(1).bytes(body).0;
    Enc(b"OPNF".to_vec()).u32(8 + inner.len() as u32).bytes(&inner).0
}

const NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";

fn open_request(mode: i32) -> Vec<u8> {
    let body = Enc::default().id(446).request_header(1).u32(0).i32(0).i32(mode).null().u32(600_000).0;
    opn(NONE, &body)
}

fn open_response() -> Vec<u8> {
    let body = Enc::default().id(449).response_header(1, 0).u32(0).u32(7).u32(1).i64(0).u32(600_000).null().0;
    opn(NONE, &body)
}

const ACK: [u8; 28] = [
    b'A', b'C', b'K', b'F', 0x1c, 0, 0, 0, // ACK, F, size 28
    0, 0, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // version, buffers, limits
];

/// Operations as (direction, name, class).
fn ops(r: &Recorder) -> Vec<(Direction, &str, OperationClass)> {
    r.messages.iter().map(|m| (m.1, m.2.as_str(), m.3)).collect()
}

fn attr<'a>(r: &'a Recorder, op: &str, k: &str) -> Option<&'a str> {
    let m = r.messages.iter().find(|m| m.2 == op && !m.4.is_empty())?;
    m.4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn reads_a_hello_an_open_and_a_write_byte_by_byte() {
    let c = [HELLO.to_vec(), open_request(1), WRITE.to_vec()].concat();
    let r = run(&Opcua, &[(C2S, c)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert_eq!(
        ops(&r),
        vec![
            (C2S, "hello", OperationClass::Session),
            (C2S, "open_secure_channel", OperationClass::Session),
            (C2S, "write", OperationClass::Write),
        ]
    );
    assert_eq!(attr(&r, "write", "request_handle"), Some("42"));
    assert_eq!(attr(&r, "write", "node_ids"), Some("ns=2;s=Tank.Setpoint"));
    assert_eq!(attr(&r, "write", "attribute_ids"), Some("13"));
    assert_eq!(attr(&r, "write", "value_types"), Some("Double"));
    assert_eq!(attr(&r, "write", "values"), Some("55.125"));
    let ch = r.events.iter().find(|e| e.name == "opcua.secure_channel").unwrap();
    assert_eq!(ch.kind, EventKind::Identity);
    assert_eq!(event_attr(ch, "security_policy"), Some(NONE));
    assert_eq!(event_attr(ch, "security_mode"), Some("none"));
    assert_eq!(event_attr(ch, "insecure"), Some("true"));
}

#[test]
fn joins_a_write_sent_in_two_chunks() {
    let body = &WRITE[24..];
    let (a, b) = body.split_at(30);
    let c = [HELLO.to_vec(), open_request(1), chunk(b"MSG", b'C', 11, a), chunk(b"MSG", b'F', 11, b)].concat();
    let r = run(&Opcua, &[(C2S, c)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert_eq!(ops(&r).last(), Some(&(C2S, "write", OperationClass::Write)));
    assert_eq!(attr(&r, "write", "values"), Some("55.125"));
}

/// A client stream and a server stream: hello, open, a Read of the
/// ServerStatus and a BuildInfo child, a GetEndpoints, a write and its answer.
fn exchange() -> (Vec<u8>, Vec<u8>) {
    let read = Enc::default()
        .id(631)
        .request_header(5)
        .f64(0.0)
        .i32(2)
        .i32(2) // 2 nodes
        .u8(0x01)
        .u8(0)
        .bytes(&2256u16.to_le_bytes())
        .u32(13)
        .null()
        .u16_qn() // ServerStatus, Value
        .u8(0x01)
        .u8(0)
        .bytes(&2264u16.to_le_bytes())
        .u32(13)
        .null()
        .u16_qn() // SoftwareVersion, Value
        .0;
    let status = Enc::default()
        .i64(1)
        .i64(2)
        .i32(0) // StartTime, CurrentTime, State Running
        .str("urn:acme:ua")
        .str("ACME")
        .str("ACME UA Server")
        .str("1.2.3")
        .str("77")
        .i64(0) // BuildInfo
        .u32(0)
        .u8(0)
        .0; // SecondsTillShutdown, ShutdownReason
    let read_resp = Enc::default()
        .id(634)
        .response_header(5, 0)
        .i32(2)
        .u8(0x01)
        .u8(22)
        .id(864)
        .u8(1)
        .i32(status.len() as i32)
        .bytes(&status) // DataValue: ExtensionObject ServerStatusDataType
        .u8(0x01)
        .u8(12)
        .str("1.2.3") // DataValue: String
        .i32(-1)
        .0;
    let get_endpoints = Enc::default().id(428).request_header(6).str("opc.tcp://p1").i32(0).i32(0).0;
    let endpoint = |mode: i32, policy: &str| {
        Enc::default()
            .str("opc.tcp://p1:4840")
            .application("urn:acme:ua:server", "urn:acme:ua", "ACME Server", 0)
            .null()
            .i32(mode)
            .str(policy)
            .i32(2)
            .str("anon")
            .i32(0)
            .null()
            .null()
            .null()
            .str("user")
            .i32(1)
            .null()
            .null()
            .null()
            .str("http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary")
            .u8(if mode == 1 { 0 } else { 10 })
            .0
    };
    let endpoints = Enc::default()
        .id(431)
        .response_header(6, 0)
        .i32(3)
        .bytes(&endpoint(1, NONE))
        .bytes(&endpoint(3, "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"))
        .bytes(&endpoint(1, NONE)) // the same again: reported once
        .0;
    let write_resp = Enc::default().id(676).response_header(42, 0).i32(1).u32(0).i32(-1).0;
    let c = [
        HELLO.to_vec(),
        open_request(1),
        chunk(b"MSG", b'F', 5, &read),
        chunk(b"MSG", b'F', 6, &get_endpoints),
        WRITE.to_vec(),
    ]
    .concat();
    let s = [
        ACK.to_vec(),
        open_response(),
        chunk(b"MSG", b'F', 5, &read_resp),
        chunk(b"MSG", b'F', 6, &endpoints),
        chunk(b"MSG", b'F', 11, &write_resp),
    ]
    .concat();
    (c, s)
}

impl Enc {
    /// A null DataEncoding QualifiedName (namespace 0, null name).
    fn u16_qn(self) -> Self {
        self.u8(0).u8(0).null()
    }
}

#[test]
fn splitting_an_exchange_at_every_offset_yields_the_same_messages_and_events() {
    let (c, s) = exchange();
    let r = splits_at_every_offset(&Opcua, &c, &s);
    let build = r.events.iter().find(|e| e.name == "opcua.build_info").unwrap();
    assert_eq!(event_attr(build, "vendor"), Some("ACME"));
    assert_eq!(event_attr(build, "product_name"), Some("ACME UA Server"));
    assert_eq!(event_attr(build, "software_version"), Some("1.2.3"));
    assert_eq!(event_attr(build, "build_number"), Some("77"));
    assert_eq!(event_attr(build, "product_uri"), Some("urn:acme:ua"));
    let servers: Vec<_> = r.events.iter().filter(|e| e.name == "opcua.server").collect();
    assert_eq!(servers.len(), 1);
    assert_eq!(event_attr(servers[0], "application_type"), Some("server"));
    let endpoints: Vec<_> = r.events.iter().filter(|e| e.name == "opcua.endpoint").collect();
    assert_eq!(endpoints.len(), 2, "one event per distinct endpoint");
    assert_eq!(event_attr(endpoints[0], "insecure"), Some("true"));
    assert_eq!(event_attr(endpoints[0], "token_types"), Some("anonymous,username"));
    assert_eq!(event_attr(endpoints[1], "security_mode"), Some("sign_and_encrypt"));
    assert_eq!(event_attr(endpoints[1], "insecure"), Some("false"));
    // The accepted write is folded into its request.
    let last = r.messages.len() - 1;
    assert_eq!(ops(&r)[last], (S2C, "write", OperationClass::Write));
    assert_eq!(r.folded, vec![last]);
    assert!(ops(&r).contains(&(S2C, "read", OperationClass::Read)));
    assert!(ops(&r).contains(&(C2S, "get_endpoints", OperationClass::Discovery)));
}

#[test]
fn keeps_a_refused_write_and_a_fault_answering_a_call() {
    let call = Enc::default().id(712).request_header(8).i32(1).sid(2, "Plant").sid(2, "Reset").i32(1).u8(6).i32(21).0;
    let c = [HELLO.to_vec(), open_request(1), WRITE.to_vec(), chunk(b"MSG", b'F', 12, &call)].concat();
    let bad_write = Enc::default().id(676).response_header(42, 0).i32(1).u32(0x803b_0000).i32(-1).0;
    let fault = Enc::default().id(397).response_header(8, 0x8074_0000).0;
    let s =
        [ACK.to_vec(), open_response(), chunk(b"MSG", b'F', 11, &bad_write), chunk(b"MSG", b'F', 12, &fault)].concat();
    let r = run(&Opcua, &[(C2S, c), (S2C, s)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert!(r.folded.is_empty());
    let kept: Vec<_> = r.messages.iter().filter(|m| !m.4.is_empty()).map(|m| (m.2.as_str(), m.3)).collect();
    assert_eq!(
        kept,
        vec![
            ("write", OperationClass::Write),
            ("call", OperationClass::Write),
            ("write", OperationClass::Write),
            ("call_fault", OperationClass::Write),
        ]
    );
    let refused = &r.messages[r.messages.len() - 2].4;
    assert!(refused.contains(&("bad_results".into(), "1".into())), "{refused:?}");
    let fault = &r.messages[r.messages.len() - 1].4;
    assert!(fault.contains(&("status".into(), "0x80740000".into())), "{fault:?}");
    assert_eq!(attr(&r, "call", "object_ids"), Some("ns=2;s=Plant"));
    assert_eq!(attr(&r, "call", "method_ids"), Some("ns=2;s=Reset"));
    assert_eq!(attr(&r, "call", "input_types"), Some("Int32"));
}

#[test]
fn keeps_a_user_name_login_with_its_name_but_never_its_password() {
    let token = Enc::default().str("user").str("operator").str("hunter2").null().0;
    let activate = Enc::default()
        .id(467)
        .request_header(3)
        .null()
        .null() // client signature
        .i32(0)
        .i32(0) // software certificates, locale ids
        .id(324)
        .u8(1)
        .i32(token.len() as i32)
        .bytes(&token)
        .null()
        .null()
        .0;
    let c = [HELLO.to_vec(), open_request(1), chunk(b"MSG", b'F', 3, &activate)].concat();
    let r = run(&Opcua, &[(C2S, c)]);
    assert_eq!(ops(&r).last(), Some(&(C2S, "activate_session", OperationClass::Authentication)));
    assert_eq!(attr(&r, "activate_session", "token_type"), Some("username"));
    assert_eq!(attr(&r, "activate_session", "user_name"), Some("operator"));
    assert_eq!(attr(&r, "activate_session", "password_encrypted"), Some("false"));
    assert!(!format!("{r:?}").contains("hunter2"));
}

#[test]
fn counts_messages_it_cannot_read_as_encrypted() {
    let policy = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    // The OPN body under Basic256Sha256 is ciphertext; so is the MSG's.
    let c = [HELLO.to_vec(), opn(policy, &[0x5a; 40]), chunk(b"MSG", b'F', 2, &[0xa5; 48])].concat();
    let r = run(&Opcua, &[(C2S, c)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert_eq!(
        ops(&r),
        vec![
            (C2S, "hello", OperationClass::Session),
            (C2S, "open_secure_channel", OperationClass::Session),
            (C2S, "encrypted", OperationClass::Unknown),
        ]
    );
    let ch = r.events.iter().find(|e| e.name == "opcua.secure_channel").unwrap();
    assert_eq!((event_attr(ch, "security_mode"), event_attr(ch, "insecure")), (Some("unknown"), Some("false")));
    assert_eq!(event_attr(ch, "security_policy"), Some(policy));
    // Signed but not encrypted: the same policy, a readable body.
    let c = [HELLO.to_vec(), opn(policy, &[0x5a; 40]), WRITE.to_vec()].concat();
    let r = run(&Opcua, &[(C2S, c)]);
    assert_eq!(ops(&r).last(), Some(&(C2S, "write", OperationClass::Write)));
}

#[test]
fn names_unknown_services_by_number_and_reports_transport_errors() {
    let odd = Enc::default().id(9999).request_header(1).0;
    let err = Enc(b"ERRF".to_vec()).u32(19).u32(0x8007_0000).str("bye").0;
    let c = [HELLO.to_vec(), open_request(1), chunk(b"MSG", b'F', 4, &odd)].concat();
    let r = run(&Opcua, &[(C2S, c), (S2C, err)]);
    assert!(ops(&r).contains(&(C2S, "unknown_service_9999", OperationClass::Unknown)), "{:?}", ops(&r));
    assert_eq!(ops(&r).last(), Some(&(S2C, "error", OperationClass::Session)));
    let e = r.events.iter().find(|e| e.name == "opcua.error").unwrap();
    assert_eq!(
        (e.kind, event_attr(e, "error"), event_attr(e, "reason")),
        (EventKind::Anomaly, Some("0x80070000"), Some("bye"))
    );
}

#[test]
fn counts_a_truncated_body_as_malformed_but_still_names_its_service() {
    let mut w = WRITE.to_vec();
    w.truncate(70);
    w[4] = 70; // message size
    let r = run(&Opcua, &[(C2S, [HELLO.to_vec(), w].concat())]);
    assert_eq!(r.malformed, vec!["bad_length"]);
    assert_eq!(ops(&r).last().map(|o| o.1), Some("write"));
}

#[test]
fn probes_by_content() {
    assert_eq!(Opcua.probe(C2S, &HELLO), Probe::Match);
    assert_eq!(Opcua.probe(C2S, &WRITE), Probe::Match);
    assert_eq!(Opcua.probe(C2S, b"HE"), Probe::NeedMore);
    assert_eq!(Opcua.probe(C2S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(Opcua.probe(C2S, b"HELC\x2c\0\0\0"), Probe::NoMatch);
    assert_eq!(Opcua.probe(C2S, b"MSGF\x04\0\0\0"), Probe::NoMatch);
    assert!(Opcua.port_hint(4840) && Opcua.port_hint(4843) && !Opcua.port_hint(502));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_chunks_and_gaps(
        input in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200), proptest::option::of(0u16..2000)), 0..12),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut r = Recorder::default();
        let mut s = Opcua.new_session();
        for (to_client, bytes, gap) in &input {
            let d = if *to_client { S2C } else { C2S };
            if let Some(g) = gap {
                s.gap(&crate::test_support::ctx(d), d, u64::from(*g), &mut r);
            }
            s.data(&crate::test_support::ctx(d), d, bytes, &mut r);
        }
        // A real exchange cut anywhere, after the noise.
        let (c, _) = exchange();
        for (d, b) in cut_at(C2S, &c, cuts) {
            s.data(&crate::test_support::ctx(d), d, &b, &mut r);
        }
        s.close(&crate::test_support::ctx(C2S), &mut r);
    }

    #[test]
    fn never_panics_on_mutated_exchanges(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let (mut c, mut s) = exchange();
        for (i, b) in &flips {
            let n = c.len();
            c[i % n] = *b;
            let n = s.len();
            s[i % n] ^= *b;
        }
        let _ = run(&Opcua, &[(C2S, c), (S2C, s)]);
    }
}

#[test]
fn tells_which_side_sent_a_chunk_picked_up_mid_stream() {
    assert_eq!(sent_by_client(&HELLO), Some(true));
    let ack = Enc(b"ACKF".to_vec()).u32(28).u32(0).u32(65535).u32(65535).u32(0).u32(0).0;
    assert_eq!(sent_by_client(&ack), Some(false));
    assert_eq!(sent_by_client(&WRITE), Some(true));
    let read_response = chunk(b"MSG", b'F', 3, &Enc::default().id(634).response_header(1, 0).0);
    assert_eq!(sent_by_client(&read_response), Some(false));
    let fault = chunk(b"MSG", b'F', 3, &Enc::default().id(397).response_header(1, 0x8000_0000).0);
    assert_eq!(sent_by_client(&fault), Some(false));
    assert_eq!(sent_by_client(&open_request(1)), Some(true));
    assert_eq!(sent_by_client(&open_response()), Some(false));
    // Encrypted or continuing bytes name no service.
    assert_eq!(sent_by_client(&chunk(b"MSG", b'C', 3, &[0x5a; 40])), None);
}
