//! Session-level tests: bytes in, what the dissector emits out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{self, ctx, cut_at, event_attr, Recorder};
use otposture_model::{EventKind, OperationClass};
use proptest::prelude::*;

/// This module's views of what was recorded.
trait View {
    fn ops(&self) -> Vec<(&str, OperationClass)>;
    fn attr<'a>(&'a self, message: usize, k: &str) -> Option<&'a str>;
}

impl View for Recorder {
    fn ops(&self) -> Vec<(&str, OperationClass)> {
        self.messages.iter().map(|(_, _, o, c, _)| (o.as_str(), *c)).collect()
    }
    fn attr<'a>(&'a self, message: usize, k: &str) -> Option<&'a str> {
        self.messages[message].4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
}

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;
/// Master address in these tests.
const MASTER: u16 = 3;
/// Outstation address in these tests.
const OUTSTATION: u16 = 4;
/// Control octet of a master's unconfirmed user data: DIR, PRM, function 4.
const FROM_MASTER: u8 = 0xc4;
/// Control octet of an outstation's unconfirmed user data: PRM, function 4.
const FROM_OUTSTATION: u8 = 0x44;

/// A link frame: header (start, length, control, destination, source, CRC) and
/// user data in 16-octet blocks, each with its CRC.
fn frame(control: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
    let mut f = vec![0x05, 0x64, 5 + user.len() as u8, control];
    f.extend_from_slice(&dst.to_le_bytes());
    f.extend_from_slice(&src.to_le_bytes());
    f.extend_from_slice(&link::crc(&f).to_le_bytes());
    for block in user.chunks(16) {
        f.extend_from_slice(block);
        f.extend_from_slice(&link::crc(block).to_le_bytes());
    }
    f
}

/// A master-to-outstation frame carrying one whole fragment (transport FIR FIN seq 0).
fn request(app: &[u8]) -> Vec<u8> {
    let mut user = vec![0xc0]; // transport: FIN, FIR, seq 0
    user.extend_from_slice(app);
    frame(FROM_MASTER, OUTSTATION, MASTER, &user)
}

/// The outstation's answer, likewise.
fn response(app: &[u8]) -> Vec<u8> {
    let mut user = vec![0xc0];
    user.extend_from_slice(app);
    frame(FROM_OUTSTATION, MASTER, OUTSTATION, &user)
}

/// Feeds (direction, bytes) in order to a fresh TCP session and closes it.
fn run(input: &[(Direction, Vec<u8>)]) -> Recorder {
    test_support::run(&Dnp3, input)
}

/// Read class 1, 2, 3 and 0 data, application seq 5.
const READ_CLASSES: [u8; 14] = [
    0xc5, // application control: FIR, FIN, seq 5
    0x01, // read
    0x3c, 0x02, 0x06, // g60v2 class 1, all
    0x3c, 0x03, 0x06, // g60v3 class 2, all
    0x3c, 0x04, 0x06, // g60v4 class 3, all
    0x3c, 0x01, 0x06, // g60v1 class 0, all
];

/// A response to seq 5 with IIN and three binary inputs.
const BINARY_RESPONSE: [u8; 12] = [
    0xc5, // FIR, FIN, seq 5
    0x81, // response
    0x90, 0x00, // IIN1: device restart, need time
    0x01, 0x02, 0x00, 0x00, 0x02, // g1v2 q0x00 0..2
    0x81, 0x01, 0x01, // flags: online + state, online, online
];

/// A CROB: g12v1 q0x28, one object at index 7, latch on, 100 ms on time.
const CROB: [u8; 18] = [
    0x0c, 0x01, 0x28, // g12v1, 2-octet count, 2-octet index prefix
    0x01, 0x00, // count 1
    0x07, 0x00, // index 7
    0x03, // control code: latch on
    0x01, // count
    0x64, 0x00, 0x00, 0x00, // on time 100 ms
    0x00, 0x00, 0x00, 0x00, // off time
    0x00, // status: success
];

fn with_header(control: u8, function: u8, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![control, function];
    v.extend_from_slice(objects);
    v
}

#[test]
fn names_a_read_request_and_gives_its_response_the_read_class() {
    let r = run(&[(C2S, request(&READ_CLASSES)), (S2C, response(&BINARY_RESPONSE))]);
    assert_eq!(r.ops(), vec![("read", OperationClass::Read), ("read", OperationClass::Read)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert!(r.events.is_empty(), "{:?}", r.events);
}

#[test]
fn gives_a_crob_select_and_operate_their_addresses_and_objects() {
    let r = run(&[
        (C2S, request(&with_header(0xc1, 0x03, &CROB))), // select, seq 1
        (S2C, response(&with_header(0xc1, 0x81, &[&[0x00, 0x00][..], &CROB].concat()))), // echo, IIN 0
        (C2S, request(&with_header(0xc2, 0x04, &CROB))), // operate, seq 2
        (S2C, response(&with_header(0xc2, 0x81, &[&[0x00, 0x00][..], &CROB].concat()))),
    ]);
    use OperationClass::Write;
    assert_eq!(r.ops(), vec![("select", Write), ("select", Write), ("operate", Write), ("operate", Write)]);
    assert_eq!(r.attr(0, "master"), Some("3"));
    assert_eq!(r.attr(0, "outstation"), Some("4"));
    assert_eq!(r.attr(0, "objects"), Some("g12v1 q0x28 count 1"));
    assert_eq!(r.attr(0, "message"), Some("request"));
    assert_eq!(r.folded, vec![1, 3], "echoes with status success are folded into the requests' records");
    assert!(r.malformed.is_empty());
}

#[test]
fn keeps_the_answer_to_a_refused_control() {
    let mut refused = CROB;
    *refused.last_mut().unwrap() = 0x04; // status: not supported
    let r = run(&[
        (C2S, request(&with_header(0xc2, 0x04, &CROB))), // operate, seq 2
        (S2C, response(&with_header(0xc2, 0x81, &[&[0x00, 0x00][..], &refused].concat()))),
        (C2S, request(&with_header(0xc3, 0x04, &CROB))), // operate, seq 3
        (S2C, response(&with_header(0xc3, 0x81, &[&[0x00, 0x04][..], &CROB].concat()))), // IIN2.2: parameter error
    ]);
    assert!(r.folded.is_empty());
    assert_eq!(r.attr(1, "master"), Some("3"), "the outstation's frame names the same master");
    assert_eq!(r.attr(1, "request_function"), Some("operate"));
    assert_eq!(r.attr(3, "iin"), Some("parameter_error"));
}

#[test]
fn classifies_direct_operate_of_an_analog_output_as_a_write() {
    let obj = [
        0x29, 0x02, 0x17, // g41v2 (16-bit analog output), 1-octet count, 1-octet index
        0x01, // count 1
        0x00, // index 0
        0xe8, 0x03, // value 1000
        0x00, // status
    ];
    let r = run(&[(C2S, request(&with_header(0xc3, 0x05, &obj)))]);
    assert_eq!(r.ops(), vec![("direct_operate", OperationClass::Write)]);
    assert_eq!(r.attr(0, "objects"), Some("g41v2 q0x17 count 1"));
}

#[test]
fn classifies_restarts_as_control_and_its_response_too() {
    let r = run(&[
        (C2S, request(&[0xc7, 0x0d])), // seq 7, cold restart, no objects
        (S2C, response(&[0xc7, 0x81, 0x00, 0x00, 0x34, 0x02, 0x07, 0x01, 0x10, 0x27])), // g52v2 delay 10000 ms
        (C2S, request(&[0xc8, 0x0e])), // seq 8, warm restart
    ]);
    use OperationClass::Control;
    assert_eq!(r.ops(), vec![("cold_restart", Control), ("cold_restart", Control), ("warm_restart", Control)]);
    assert_eq!(r.folded, vec![1]);
}

#[test]
fn classifies_time_writes_and_unsolicited_control_as_configuration() {
    let write_time = [
        0xc1, 0x02, // seq 1, write
        0x32, 0x01, 0x07, 0x01, // g50v1 q0x07 count 1
        0x00, 0x10, 0x32, 0x4f, 0x53, 0x01, // 48-bit milliseconds since 1970
    ];
    let r = run(&[
        (C2S, request(&write_time)),
        (C2S, request(&[0xc2, 0x18])),                   // record current time
        (C2S, request(&[0xc3, 0x17])),                   // delay measure
        (C2S, request(&[0xc4, 0x14, 0x3c, 0x02, 0x06])), // enable unsolicited, class 1
        (C2S, request(&[0xc5, 0x16, 0x3c, 0x02, 0x06, 0x01, 0x00, 0x06])), // assign class 1 to g1
    ]);
    use OperationClass::Configuration;
    assert_eq!(
        r.ops(),
        vec![
            ("write", Configuration),
            ("record_current_time", Configuration),
            ("delay_measure", Configuration),
            ("enable_unsolicited", Configuration),
            ("assign_class", Configuration),
        ]
    );
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
}

#[test]
fn reports_group_0_attributes_as_an_identity_event() {
    let read = [0xc1, 0x01, 0x00, 0xfe, 0x06]; // seq 1, read g0v254 (all attributes)
    let resp = [
        0xc1, 0x81, 0x00, 0x00, // seq 1, response, IIN 0
        0x00, 0xfc, 0x00, 0x00, 0x00, // g0v252 manufacturer, q0x00 0..0
        0x01, 0x04, b'A', b'c', b'm', b'e', // visible string "Acme"
        0x00, 0xfa, 0x00, 0x00, 0x00, // g0v250 product name and model
        0x01, 0x05, b'R', b'T', b'U', b'-', b'9', // "RTU-9"
        0x00, 0xf2, 0x00, 0x00, 0x00, // g0v242 software version
        0x01, 0x03, b'2', b'.', b'1', // "2.1"
        0x00, 0xf8, 0x00, 0x00, 0x00, // g0v248 serial number
        0x01, 0x02, b'4', b'2', // "42"
        0x00, 0xef, 0x00, 0x00, 0x00, // g0v239: not named here
        0x02, 0x01, 0x07, // unsigned 7
    ];
    let r = run(&[(C2S, request(&read)), (S2C, response(&resp))]);
    assert_eq!(r.ops(), vec![("read", OperationClass::Discovery), ("read", OperationClass::Discovery)]);
    let ids: Vec<_> = r.events.iter().filter(|e| e.kind == EventKind::Identity).collect();
    assert_eq!(ids.len(), 1);
    let e = ids[0];
    assert_eq!(e.name, "dnp3.device_attributes");
    assert_eq!(event_attr(e, "outstation"), Some("4"));
    assert_eq!(event_attr(e, "master"), Some("3"));
    assert_eq!(event_attr(e, "manufacturer"), Some("Acme"));
    assert_eq!(event_attr(e, "model"), Some("RTU-9"));
    assert_eq!(event_attr(e, "software_version"), Some("2.1"));
    assert_eq!(event_attr(e, "serial"), Some("42"));
    assert_eq!(event_attr(e, "attribute_239"), Some("7"));
}

#[test]
fn counts_link_only_frames_as_session_messages() {
    let r = run(&[
        (C2S, frame(0xc9, OUTSTATION, MASTER, &[])), // DIR PRM request link status
        (S2C, frame(0x0b, MASTER, OUTSTATION, &[])), // secondary link status
        (C2S, frame(0xc0, OUTSTATION, MASTER, &[])), // reset link states
        (S2C, frame(0x00, MASTER, OUTSTATION, &[])), // ACK
    ]);
    use OperationClass::Session;
    assert_eq!(
        r.ops(),
        vec![
            ("link_request_status", Session),
            ("link_status", Session),
            ("link_reset_states", Session),
            ("link_ack", Session)
        ]
    );
}

/// A response of `n` analog inputs (g30v2, 16-bit with flag), in one fragment.
fn big_response(n: u8) -> Vec<u8> {
    let mut app = vec![0xc2, 0x81, 0x00, 0x00, 0x1e, 0x02, 0x00, 0x00, n - 1]; // seq 2, g30v2 q0x00 0..n-1
    for i in 0..n {
        app.extend_from_slice(&[0x01, i, 0x00]); // flags online, value i
    }
    app
}

/// Cuts a fragment into link frames of at most 249 octets of payload each.
fn segmented(app: &[u8], per: usize) -> Vec<u8> {
    let chunks: Vec<_> = app.chunks(per).collect();
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let mut th = (i as u8) & 0x3f; // sequence
        if i == 0 {
            th |= 0x40; // FIR
        }
        if i + 1 == chunks.len() {
            th |= 0x80; // FIN
        }
        let mut user = vec![th];
        user.extend_from_slice(c);
        out.extend(frame(FROM_OUTSTATION, MASTER, OUTSTATION, &user));
    }
    out
}

#[test]
fn reassembles_a_fragment_spread_over_several_link_frames() {
    let app = big_response(200); // 9 + 600 octets: three frames of 249
    let r = run(&[(C2S, request(&with_header(0xc2, 0x01, &[0x1e, 0x00, 0x06]))), (S2C, segmented(&app, 249))]);
    assert_eq!(r.ops(), vec![("read", OperationClass::Read), ("read", OperationClass::Read)]);
    assert!(r.malformed.is_empty() && r.events.is_empty(), "{r:?}");
}

#[test]
fn counts_a_segment_out_of_sequence_and_goes_on() {
    let app = big_response(200);
    let mut stream = segmented(&app, 249);
    let first_len = 10 + 250 + 2 * 16;
    // Drop the second frame: the third is out of sequence.
    let second: Vec<u8> = stream.drain(first_len..2 * first_len).collect();
    assert_eq!(second.len(), first_len);
    stream.extend(response(&BINARY_RESPONSE));
    let r = run(&[(S2C, stream)]);
    assert_eq!(r.ops(), vec![("response", OperationClass::Read)]);
    let e = r.events.iter().find(|e| e.name == "dnp3.session_anomalies").unwrap();
    assert_eq!(event_attr(e, "segment_out_of_sequence"), Some("1"));
}

#[test]
fn counts_a_bad_crc_as_malformed_and_resynchronises() {
    let mut bad = request(&READ_CLASSES);
    bad[12] ^= 0x01; // a user data octet: the block CRC no longer matches
    let mut stream = vec![0x00, 0x05]; // junk before the first frame
    stream.extend(bad);
    stream.extend(request(&with_header(0xc7, 0x0d, &[])));
    let r = run(&[(C2S, stream)]);
    assert_eq!(r.malformed, vec!["bad_start"]);
    assert_eq!(r.ops(), vec![("cold_restart", OperationClass::Control)]);
    let e = r.events.iter().find(|e| e.name == "dnp3.session_anomalies").unwrap();
    assert!(event_attr(e, "resync_skipped_bytes").is_some());
}

#[test]
fn stops_walking_at_an_unknown_object_and_counts_it() {
    let r = run(&[(C2S, request(&with_header(0xc1, 0x02, &[0x5a, 0x01, 0x07, 0x01, 0x00])))]);
    assert_eq!(r.ops(), vec![("write", OperationClass::Write)]);
    let e = r.events.iter().find(|e| e.name == "dnp3.session_anomalies").unwrap();
    assert_eq!(event_attr(e, "unknown_object_size"), Some("1"));
    assert!(r.malformed.is_empty());
}

#[test]
fn reports_secure_authentication_as_authentication() {
    let r = run(&[
        (C2S, request(&[0xc1, 0x20, 0x78, 0x04, 0x07, 0x01, 0x01, 0x00])), // auth request, g120v4 user 1
    ]);
    assert_eq!(r.ops(), vec![("authenticate_request", OperationClass::Authentication)]);
    assert_eq!(r.attr(0, "secure_authentication"), Some("true"));
}

/// Several exchanges, as one master stream and one outstation stream.
fn two_streams() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    c.extend(frame(0xc9, OUTSTATION, MASTER, &[]));
    s.extend(frame(0x0b, MASTER, OUTSTATION, &[]));
    c.extend(request(&READ_CLASSES));
    s.extend(response(&BINARY_RESPONSE));
    c.extend(request(&with_header(0xc1, 0x03, &CROB)));
    s.extend(segmented(&big_response(120), 100));
    c.extend(request(&with_header(0xc7, 0x0d, &[])));
    (c, s)
}

#[test]
fn splitting_the_streams_at_every_offset_yields_the_same_messages() {
    let (c, s) = two_streams();
    let whole = test_support::splits_at_every_offset(&Dnp3, &c, &s);
    assert_eq!(whole.messages.len(), 4 + 3);
}

#[test]
fn resynchronises_on_the_next_frame_after_a_gap() {
    let (c, _) = two_streams();
    let mut r = Recorder::default();
    let mut session = Dnp3.new_session();
    session.data(&ctx(C2S), C2S, &c[..15], &mut r); // the first frame and a bit
    session.gap(&ctx(C2S), C2S, 300, &mut r);
    session.data(&ctx(C2S), C2S, &c[20..], &mut r); // from inside the read request
    let whole = run(&[(C2S, c.clone())]);
    assert_eq!(r.messages[0], whole.messages[0]);
    assert_eq!(r.messages[1..], whole.messages[2..]);
    assert!(r.malformed.is_empty(), "skipping after a gap is not malformed");
}

#[test]
fn frames_each_udp_datagram_on_its_own() {
    let mut r = Recorder::default();
    let mut s = Dnp3Udp.new_session();
    let req = request(&READ_CLASSES);
    s.datagram(&ctx(C2S), C2S, &req[..20], &mut r); // cut short
    s.datagram(&ctx(C2S), C2S, &req, &mut r);
    assert_eq!(r.malformed, vec!["truncated_frame"]);
    assert_eq!(r.ops(), vec![("read", OperationClass::Read)]);
}

#[test]
fn probes_for_a_good_link_header_on_any_port() {
    let req = request(&READ_CLASSES);
    assert_eq!(Dnp3.probe(C2S, &req), Probe::Match);
    assert_eq!(Dnp3.probe(C2S, &req[..6]), Probe::NeedMore);
    let mut bad = req.clone();
    bad[8] ^= 1;
    assert_eq!(Dnp3.probe(C2S, &bad), Probe::NoMatch);
    assert_eq!(Dnp3.probe(C2S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(Dnp3Udp.probe(&req), Probe::Match);
    assert_eq!(Dnp3Udp.probe(&req[..6]), Probe::NoMatch);
    assert!(Dnp3.port_hint(20000) && !Dnp3.port_hint(502));
    assert!(Dnp3Udp.port_hint(20000, 1234));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes_and_chunks(
        input in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..400)), 0..12),
        gaps in proptest::collection::vec(any::<u16>(), 0..3),
    ) {
        let mut r = Recorder::default();
        let mut s = Dnp3.new_session();
        let mut u = Dnp3Udp.new_session();
        for (i, (to_server, bytes)) in input.iter().enumerate() {
            let d = if *to_server { C2S } else { S2C };
            s.data(&ctx(d), d, bytes, &mut r);
            u.datagram(&ctx(d), d, bytes, &mut r);
            if let Some(g) = gaps.get(i) {
                s.gap(&ctx(d), d, u64::from(*g), &mut r);
            }
        }
        s.close(&ctx(C2S), &mut r);
    }

    #[test]
    fn never_panics_on_arbitrary_fragments_in_good_frames(
        fragments in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..6),
        per in 1usize..250,
    ) {
        let mut r = Recorder::default();
        let mut s = Dnp3.new_session();
        for f in &fragments {
            s.data(&ctx(S2C), S2C, &segmented(f, per), &mut r);
        }
        s.close(&ctx(C2S), &mut r);
    }

    #[test]
    fn valid_streams_frame_the_same_whatever_the_chunking(
        cuts in proptest::collection::vec(0usize..2000, 0..20),
    ) {
        let (_, s) = two_streams();
        let whole = run(&[(S2C, s.clone())]);
        prop_assert_eq!(run(&cut_at(S2C, &s, cuts)).messages, whole.messages);
    }
}

#[test]
fn a_udp_session_reports_its_anomalies_when_the_flow_ends() {
    use crate::DatagramDissector;
    let mut s = Dnp3Udp.new_session();
    let mut r = Recorder::default();
    // Three stray bytes, then a read request: the framer skips the strays.
    let mut datagram = vec![0x01, 0x02, 0x03];
    datagram.extend(request(&READ_CLASSES));
    s.datagram(&ctx(C2S), C2S, &datagram, &mut r);
    assert_eq!(r.ops(), vec![("read", OperationClass::Read)]);
    assert!(r.events.iter().all(|e| e.name != "dnp3.session_anomalies"), "reported only at the end");
    s.close(&ctx(C2S), &mut r);
    let e = r.events.iter().find(|e| e.name == "dnp3.session_anomalies").expect("the engine's close reports them");
    assert_eq!(event_attr(e, "resync_skipped_bytes"), Some("3"));
}

#[test]
fn tells_the_master_of_a_connection_picked_up_mid_stream() {
    // Request link status from master 3 to outstation 4, and the answer.
    assert_eq!(Dnp3.sent_by_client(&frame(0xc9, 4, 3, &[])), Some(true));
    assert_eq!(Dnp3.sent_by_client(&frame(0x0b, 3, 4, &[])), Some(false));
    assert_eq!(Dnp3.sent_by_client(&[0x05, 0x64, 0x05]), None);
    // Over UDP likewise: an outstation's unsolicited response is not the client's.
    assert_eq!(Dnp3Udp.sent_by_client(&response(&[0xf0, 0x82, 0x00, 0x00])), Some(false));
    assert_eq!(Dnp3Udp.sent_by_client(&request(&READ_CLASSES)), Some(true));
}
