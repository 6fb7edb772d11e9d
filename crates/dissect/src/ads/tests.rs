//! Session-level tests: bytes in, what the dissector emits out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::command::id;
use super::*;
use crate::test_support::{self, ctx, cut_at, event_attr, Recorder};
use otposture_model::{EventKind, OperationClass};
use proptest::prelude::*;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

const CLIENT: [u8; 6] = [192, 168, 1, 99, 1, 1];
const PLC: [u8; 6] = [5, 13, 117, 96, 1, 1];

/// An AMS/TCP message: headers (`response` sets state 0x0005, else 0x0004) and ADS data.
fn msg(command: u16, response: bool, port: u16, invoke: u32, body: &[u8]) -> Vec<u8> {
    let (target, target_port, source, source_port) =
        if response { (CLIENT, 33000, PLC, port) } else { (PLC, port, CLIENT, 33000) };
    let mut b = vec![0, 0];
    b.extend_from_slice(&(32 + body.len() as u32).to_le_bytes());
    b.extend_from_slice(&target);
    b.extend_from_slice(&u16::to_le_bytes(target_port));
    b.extend_from_slice(&source);
    b.extend_from_slice(&u16::to_le_bytes(source_port));
    b.extend_from_slice(&command.to_le_bytes());
    b.extend_from_slice(&(if response { 0x0005u16 } else { 0x0004 }).to_le_bytes());
    b.extend_from_slice(&(body.len() as u32).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&invoke.to_le_bytes());
    b.extend_from_slice(body);
    b
}

fn le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn write_req(group: u32, offset: u32, data: &[u8]) -> Vec<u8> {
    let mut b = le(&[group, offset, data.len() as u32]);
    b.extend_from_slice(data);
    b
}

fn read_write_req(group: u32, offset: u32, read: u32, data: &[u8]) -> Vec<u8> {
    let mut b = le(&[group, offset, read, data.len() as u32]);
    b.extend_from_slice(data);
    b
}

fn write_control(ads_state: u16, device_state: u16) -> Vec<u8> {
    let mut b = ads_state.to_le_bytes().to_vec();
    b.extend_from_slice(&device_state.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

fn device_info_resp(name: &str, major: u8, minor: u8, build: u16) -> Vec<u8> {
    let mut b = le(&[0]);
    b.extend_from_slice(&[major, minor]);
    b.extend_from_slice(&build.to_le_bytes());
    let mut n = name.as_bytes().to_vec();
    n.resize(16, 0);
    b.extend_from_slice(&n);
    b
}

fn ops(r: &Recorder) -> Vec<(&str, OperationClass)> {
    r.messages.iter().map(|(_, _, o, c, _)| (o.as_str(), *c)).collect()
}

fn attr<'a>(r: &'a Recorder, i: usize, k: &str) -> Option<&'a str> {
    r.messages[i].4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn run(input: &[(Direction, Vec<u8>)]) -> Recorder {
    test_support::run(&Ads, input)
}

/// A session of an engineering station with a TwinCAT 3 PLC, as pyads and
/// the TwinCAT XAE make it: identity, a variable read by name and written,
/// a stop and a start, and a file written through the system service.
fn engineering_session() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    c.extend(msg(id::READ_DEVICE_INFO, false, 851, 1, &[]));
    s.extend(msg(id::READ_DEVICE_INFO, true, 851, 1, &device_info_resp("Plc30 App", 3, 1, 4024)));
    c.extend(msg(id::READ_WRITE, false, 851, 2, &read_write_req(0xf003, 0, 4, b"MAIN.speed\0")));
    s.extend(msg(id::READ_WRITE, true, 851, 2, &[le(&[0, 4]), le(&[0x1234])].concat()));
    c.extend(msg(id::READ, false, 851, 3, &le(&[0xf005, 0x1234, 2])));
    s.extend(msg(id::READ, true, 851, 3, &[le(&[0, 2]), vec![7, 0]].concat()));
    c.extend(msg(id::WRITE, false, 851, 4, &write_req(0xf005, 0x1234, &[9, 0])));
    s.extend(msg(id::WRITE, true, 851, 4, &le(&[0])));
    c.extend(msg(id::WRITE, false, 851, 5, &write_req(0xf006, 0, &le(&[0x1234]))));
    s.extend(msg(id::WRITE, true, 851, 5, &le(&[0])));
    c.extend(msg(id::READ_STATE, false, 851, 6, &[]));
    s.extend(msg(id::READ_STATE, true, 851, 6, &[le(&[0]), vec![5, 0, 0, 0]].concat()));
    c.extend(msg(id::WRITE_CONTROL, false, 851, 7, &write_control(6, 0)));
    s.extend(msg(id::WRITE_CONTROL, true, 851, 7, &le(&[0])));
    c.extend(msg(id::WRITE_CONTROL, false, 851, 8, &write_control(5, 0)));
    s.extend(msg(id::WRITE_CONTROL, true, 851, 8, &le(&[0])));
    c.extend(msg(id::WRITE, false, 10000, 9, &write_req(123, 1, b"PROGRAM")));
    s.extend(msg(id::WRITE, true, 10000, 9, &le(&[0])));
    (c, s)
}

#[test]
fn names_classifies_and_pairs_an_engineering_session() {
    let (c, s) = engineering_session();
    // Each request, then its answer.
    let mut input = Vec::new();
    let (mut ci, mut si) = (0, 0);
    while ci < c.len() {
        let n = 6 + u32::from_le_bytes(c[ci + 2..ci + 6].try_into().unwrap()) as usize;
        input.push((C2S, c[ci..ci + n].to_vec()));
        ci += n;
        let m = 6 + u32::from_le_bytes(s[si + 2..si + 6].try_into().unwrap()) as usize;
        input.push((S2C, s[si..si + m].to_vec()));
        si += m;
    }
    let r = run(&input);
    use OperationClass::*;
    let want = [
        ("read_device_info", Discovery),
        ("get_handle_by_name", Read),
        ("read_variable", Read),
        ("write_variable", Write),
        ("release_handle", Session),
        ("read_state", Diagnostic),
        ("write_control_stop", Control),
        ("write_control_run", Control),
        ("file_write", Program),
    ];
    let got = ops(&r);
    let requests: Vec<_> = got.iter().step_by(2).copied().collect();
    let answers: Vec<_> = got.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(requests, want);
    assert_eq!(answers, want, "a response carries its request's name and class");
    assert_eq!(r.folded.len(), want.len(), "every successful answer folds into its request");
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert!(r.events.iter().all(|e| e.kind != EventKind::Anomaly), "{:?}", r.events);
    // The stop's record: state, addressing, invoke id.
    let stop = r.messages.iter().position(|m| m.2 == "write_control_stop").unwrap();
    assert_eq!(attr(&r, stop, "ads_state"), Some("stop"));
    assert_eq!(attr(&r, stop, "target_net_id"), Some("5.13.117.96.1.1"));
    assert_eq!(attr(&r, stop, "target_port"), Some("851"));
    assert_eq!(attr(&r, stop, "source_net_id"), Some("192.168.1.99.1.1"));
    assert_eq!(attr(&r, stop, "invoke_id"), Some("7"));
    let write = r.messages.iter().position(|m| m.2 == "write_variable").unwrap();
    assert_eq!(attr(&r, write, "index_group"), Some("0xf005"));
    assert_eq!(attr(&r, write, "index_offset"), Some("0x1234"));
    assert_eq!(attr(&r, write, "write_length"), Some("2"));
    // Identity, from the answer of the port that answered.
    let id = r.events.iter().find(|e| e.name == "ads.device_info").unwrap();
    assert_eq!(id.kind, EventKind::Identity);
    assert_eq!(event_attr(id, "device_name"), Some("Plc30 App"));
    assert_eq!(event_attr(id, "version"), Some("3.1.4024"));
    assert_eq!(event_attr(id, "ams_net_id"), Some("5.13.117.96.1.1"));
    assert_eq!(event_attr(id, "ams_port"), Some("851"));
}

#[test]
fn every_split_of_the_streams_gives_the_same_messages() {
    let (c, s) = engineering_session();
    let whole = test_support::splits_at_every_offset(&Ads, &c, &s);
    assert_eq!(whole.messages.len(), 18);
}

#[test]
fn system_service_groups_count_only_on_its_port() {
    use OperationClass::*;
    // Group 500 on the system service starts a process; on a PLC runtime it is its own.
    let cases: [(u16, u16, Vec<u8>, &str, OperationClass); 8] = [
        (id::WRITE, 10000, write_req(500, 0, b"cmd.exe"), "start_process", Control),
        (id::WRITE, 851, write_req(500, 0, b"cmd.exe"), "write", Write),
        (id::WRITE, 10000, write_req(600, 0, &PLC), "change_net_id", Configuration),
        (id::WRITE, 10000, write_req(200, 0, b"key"), "registry_write", Configuration),
        (id::WRITE, 851, write_req(0x4020, 0, &[1]), "write_plc_memory", Write),
        (id::WRITE, 851, write_req(0xf030, 0, &[1]), "write_outputs", Write),
        (id::READ_WRITE, 851, read_write_req(0xf081, 2, 8, &[0; 24]), "sum_write", Write),
        (id::READ_WRITE, 851, read_write_req(0x1234, 0, 4, &[1]), "read_write", Write),
    ];
    for (command, port, body, name, class) in cases {
        let r = run(&[(C2S, msg(command, false, port, 1, &body))]);
        assert_eq!(ops(&r), [(name, class)], "{command} to {port}");
    }
}

#[test]
fn an_error_answer_is_kept_with_its_code() {
    let r = run(&[
        (C2S, msg(id::WRITE, false, 851, 4, &write_req(0xf005, 0x99, &[1, 0]))),
        (S2C, msg(id::WRITE, true, 851, 4, &le(&[0x0710]))),
    ]);
    assert_eq!(ops(&r), [("write_variable", OperationClass::Write), ("write_variable_error", OperationClass::Write)]);
    assert!(r.folded.is_empty());
    assert_eq!(attr(&r, 1, "result"), Some("0x0710"));
    assert_eq!(attr(&r, 1, "error"), Some("symbol_not_found"));
    let counts = r.events.iter().find(|e| e.name == "ads.session_anomalies").unwrap();
    assert_eq!(event_attr(counts, "error_responses"), Some("1"));
}

#[test]
fn notifications_and_unpaired_answers_are_counted_not_paired() {
    let mut note = le(&[20, 1]);
    note.extend_from_slice(&[0; 8]); // timestamp
    note.extend(le(&[1, 7, 4, 42])); // one sample: handle 7, 4 bytes
    let r = run(&[
        (C2S, msg(id::READ, false, 851, 1, &le(&[0xf005, 1, 2]))),
        (S2C, msg(id::READ, true, 851, 1, &[le(&[0, 2]), vec![1, 0]].concat())),
        // Sent by the server as a request; never answered.
        (S2C, msg(id::DEVICE_NOTIFICATION, false, 33000, 2, &note)),
        // An answer to nothing.
        (S2C, msg(id::READ, true, 851, 99, &[le(&[0, 2]), vec![1, 0]].concat())),
    ]);
    assert_eq!(ops(&r)[2], ("device_notification", OperationClass::Read));
    assert_eq!(ops(&r)[3], ("read", OperationClass::Read));
    let counts = r.events.iter().find(|e| e.name == "ads.session_anomalies").unwrap();
    assert_eq!(event_attr(counts, "unsolicited_responses"), Some("1"));
    assert_eq!(event_attr(counts, "unanswered_requests"), None);
}

#[test]
fn a_bad_header_is_reported_and_the_next_message_is_found() {
    let mut c = vec![0x12, 0x34, 0, 0, 0, 0]; // reserved bytes not zero
    c.extend(msg(id::WRITE_CONTROL, false, 851, 3, &write_control(6, 0)));
    let r = run(&[(C2S, c)]);
    assert_eq!(r.malformed, ["bad_reserved"]);
    assert_eq!(ops(&r), [("write_control_stop", OperationClass::Control)]);
}

#[test]
fn a_truncated_body_is_malformed_and_still_counted() {
    // A Write announcing 8 bytes with 2 there (the AMS lengths agree).
    let mut body = le(&[0xf005, 1, 8]);
    body.extend_from_slice(&[1, 2]);
    let r = run(&[(C2S, msg(id::WRITE, false, 851, 1, &body))]);
    assert_eq!(r.malformed, ["truncated_request"]);
    assert_eq!(ops(&r), [("write_variable", OperationClass::Write)]);
}

#[test]
fn probe_and_direction() {
    let req = msg(id::READ_STATE, false, 851, 1, &[]);
    let resp = msg(id::READ_STATE, true, 851, 1, &[le(&[0]), vec![5, 0, 0, 0]].concat());
    assert_eq!(Ads.probe(C2S, &req), Probe::Match);
    assert_eq!(Ads.probe(C2S, &req[..20]), Probe::NeedMore);
    assert_eq!(Ads.probe(C2S, b"GET / HTTP/1.1\r\n\r\n and some more bytes to fill it up"), Probe::NoMatch);
    assert_eq!(Ads.sent_by_client(&req), Some(true));
    assert_eq!(Ads.sent_by_client(&resp), Some(false));
    assert_eq!(Ads.sent_by_client(&msg(id::DEVICE_NOTIFICATION, false, 33000, 1, &le(&[0, 0]))), Some(false));
    // An unknown command is not ADS.
    assert_eq!(Ads.probe(C2S, &msg(42, false, 851, 1, &[])), Probe::NoMatch);
}

/// The add-route request and answer of `other_ics/addroute.pcapng`
/// (frames 187 and 188), and the discovery answer of frame 128.
const ADD_ROUTE: &str = "036614710000000006000000c0a801c701011027050000000c000d005348454e4855414a362d50430007000600c0a801c701010d000e0041646d696e6973747261746f720002000200310005000d003139322e3136382e312e393900";
const ADD_ROUTE_OK: &str = "036614710000000006000080050d756001011027010000000100040000000000";

fn discovery_answer() -> Vec<u8> {
    let mut b = hex_bytes("036614710000000001000080050d7560010110270300000005000a0043585f30443735363000");
    b.extend_from_slice(&[4, 0, 0x14, 1]);
    let mut os = le(&[0x114, 6, 0, 0, 3]);
    os.resize(276, 0);
    b.extend(os);
    b.extend(hex_bytes("03000400020bb408"));
    b
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
}

fn datagrams(input: &[(Direction, Vec<u8>)]) -> Recorder {
    let mut r = Recorder::default();
    let mut s = AdsRouter.new_session();
    for (d, b) in input {
        assert_eq!(AdsRouter.probe(b), Probe::Match);
        s.datagram(&ctx(*d), *d, b, &mut r);
    }
    r
}

#[test]
fn an_added_route_is_an_authentication_with_its_user_never_the_password() {
    let r = datagrams(&[(C2S, hex_bytes(ADD_ROUTE)), (S2C, hex_bytes(ADD_ROUTE_OK))]);
    assert_eq!(ops(&r), [("add_route", OperationClass::Authentication); 2]);
    assert_eq!(r.folded, [1], "an accepted route is the request's record");
    assert_eq!(attr(&r, 0, "user"), Some("Administrator"));
    assert_eq!(attr(&r, 0, "password"), Some("given"));
    assert_eq!(attr(&r, 0, "route_name"), Some("SHENHUAJ6-PC"));
    assert_eq!(attr(&r, 0, "route_net_id"), Some("192.168.1.199.1.1"));
    assert_eq!(attr(&r, 0, "route_address"), Some("192.168.1.99"));
    assert!(r.messages[0].4.iter().all(|(_, v)| v != "1"), "never the password: {:?}", r.messages[0].4);
    assert_eq!(AdsRouter.sent_by_client(&hex_bytes(ADD_ROUTE)), Some(true));
    assert_eq!(AdsRouter.sent_by_client(&hex_bytes(ADD_ROUTE_OK)), Some(false));
    // Refused: kept with its code.
    let mut refused = hex_bytes(ADD_ROUTE_OK);
    let at = refused.len() - 4;
    refused[at..].copy_from_slice(&0x0704u32.to_le_bytes());
    let r = datagrams(&[(S2C, refused)]);
    assert_eq!(ops(&r), [("add_route_refused", OperationClass::Authentication)]);
    assert_eq!(attr(&r, 0, "result"), Some("0x0704"));
}

#[test]
fn a_discovery_answer_names_the_controller() {
    let r = datagrams(&[(S2C, discovery_answer())]);
    assert_eq!(ops(&r), [("router_discovery", OperationClass::Discovery)]);
    let e = r.events.iter().find(|e| e.name == "ads.router").unwrap();
    assert_eq!(e.kind, EventKind::Identity);
    assert_eq!(event_attr(e, "host_name"), Some("CX_0D7560"));
    assert_eq!(event_attr(e, "os"), Some("Windows CE 6.0.0"));
    assert_eq!(event_attr(e, "twincat_version"), Some("2.11.2228"));
    assert_eq!(event_attr(e, "ams_net_id"), Some("5.13.117.96.1.1"));
}

#[test]
fn router_datagrams_cut_short_are_malformed_not_lost() {
    let full = discovery_answer();
    for n in 0..full.len() {
        let cut = &full[..n];
        let mut r = Recorder::default();
        let mut s = AdsRouter.new_session();
        s.datagram(&ctx(S2C), S2C, cut, &mut r);
        if n < 24 {
            assert_eq!(r.malformed, ["bad_router_datagram"], "{n}");
        } else {
            assert_eq!(r.messages.len(), 1, "{n}");
        }
    }
}

proptest! {
    #[test]
    fn any_bytes_any_cuts_no_panic(
        c in proptest::collection::vec(any::<u8>(), 0..400),
        s in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut input = cut_at(C2S, &c, cuts.clone());
        input.extend(cut_at(S2C, &s, cuts));
        let _ = run(&input);
        let mut r = Recorder::default();
        let mut d = AdsRouter.new_session();
        d.datagram(&ctx(C2S), C2S, &c, &mut r);
    }

    #[test]
    fn real_messages_among_noise_are_found(noise in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Noise, then a real message: after the resynchronisation the stop is seen.
        let mut c = noise;
        c.extend(msg(id::WRITE_CONTROL, false, 851, 3, &write_control(6, 0)));
        let r = run(&[(C2S, c)]);
        prop_assert!(ops(&r).contains(&("write_control_stop", OperationClass::Control)), "{:?}", ops(&r));
    }
}

#[test]
fn a_device_name_shorter_than_sixteen_bytes_is_read() {
    // pyads' test server: the name and one NUL (19 bytes of ADS data).
    let mut body = le(&[0]);
    body.extend_from_slice(&[1, 2, 3, 0]);
    body.extend_from_slice(b"TestServer\0");
    let r = run(&[
        (C2S, msg(id::READ_DEVICE_INFO, false, 851, 1, &[])),
        (S2C, msg(id::READ_DEVICE_INFO, true, 851, 1, &body)),
    ]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let id = r.events.iter().find(|e| e.name == "ads.device_info").unwrap();
    assert_eq!(event_attr(id, "device_name"), Some("TestServer"));
    assert_eq!(event_attr(id, "version"), Some("1.2.3"));
    // Cut inside the version: malformed, no identity.
    let r = run(&[
        (C2S, msg(id::READ_DEVICE_INFO, false, 851, 1, &[])),
        (S2C, msg(id::READ_DEVICE_INFO, true, 851, 1, &body[..6])),
    ]);
    assert_eq!(r.malformed, ["truncated_device_info"]);
    assert!(r.events.iter().all(|e| e.name != "ads.device_info"));
}
