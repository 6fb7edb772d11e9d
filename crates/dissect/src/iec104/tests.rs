//! Session-level tests: bytes in, what the dissector emits out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{self, ctx, cut_at, event_attr, Recorder};
use otposture_model::OperationClass;
use proptest::prelude::*;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

/// Feeds (direction, bytes) in order to a fresh session and closes it.
fn run(input: &[(Direction, Vec<u8>)]) -> Recorder {
    test_support::run(&Iec104, input)
}

fn ops(r: &Recorder) -> Vec<(&str, OperationClass)> {
    r.messages.iter().map(|(_, _, o, c, _)| (o.as_str(), *c)).collect()
}

fn attr<'a>(attrs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// An I-format APDU: start, length, N(S) and N(R) (each shifted left one bit,
/// low octet first), then the ASDU.
fn i_frame(send: u16, receive: u16, asdu: &[u8]) -> Vec<u8> {
    let mut b = vec![0x68, (4 + asdu.len()) as u8];
    b.extend_from_slice(&(send << 1).to_le_bytes());
    b.extend_from_slice(&(receive << 1).to_le_bytes());
    b.extend_from_slice(asdu);
    b
}

/// An S-format APDU acknowledging up to `receive`.
fn s_frame(receive: u16) -> Vec<u8> {
    let mut b = vec![0x68, 0x04, 0x01, 0x00];
    b.extend_from_slice(&(receive << 1).to_le_bytes());
    b
}

/// A U-format APDU.
fn u_frame(function: u8) -> Vec<u8> {
    vec![0x68, 0x04, function, 0x00, 0x00, 0x00]
}

/// An ASDU with one object: type, cause octet, common address, IOA, element.
fn asdu(type_id: u8, cot: u8, ca: u16, ioa: u32, element: &[u8]) -> Vec<u8> {
    let mut b = vec![type_id, 0x01, cot, 0x00];
    b.extend_from_slice(&ca.to_le_bytes());
    b.extend_from_slice(&ioa.to_le_bytes()[..3]);
    b.extend_from_slice(element);
    b
}

/// Select-before-operate of a single command, as 090813_diverse.pcap frames
/// 25-35 carry it, byte for byte.
fn select_before_operate() -> Vec<(Direction, Vec<u8>)> {
    vec![
        (
            C2S,
            vec![
                0x68, 0x0e, // start, length 14
                0x2c, 0x00, 0xa2, 0x00, // I format, N(S) 22, N(R) 81
                0x2d, // type 45: C_SC_NA_1
                0x01, // SQ 0, one object
                0x06, 0x00, // cause 6: act; originator 0
                0x03, 0x00, // common address 3
                0x94, 0x11, 0x00, // IOA 4500
                0x81, // SCO: S/E select, QU 0, SCS on
            ],
        ),
        (
            S2C,
            vec![
                0x68, 0x0e, 0xa2, 0x00, 0x2e, 0x00, // I format, N(S) 81, N(R) 23
                0x2d, 0x01, // C_SC_NA_1, one object
                0x07, 0x00, // cause 7: actcon, positive
                0x03, 0x00, 0x94, 0x11, 0x00, 0x81, // CA 3, IOA 4500, select on
            ],
        ),
        (
            C2S,
            vec![
                0x68, 0x0e, 0x2e, 0x00, 0xa4, 0x00, // N(S) 23, N(R) 82
                0x2d, 0x01, 0x06, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, // C_SC_NA_1, act, CA 3, IOA 4500
                0x01, // SCO: S/E execute, SCS on
            ],
        ),
        (S2C, vec![0x68, 0x0e, 0xa4, 0x00, 0x30, 0x00, 0x2d, 0x01, 0x07, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, 0x01]), // N(S) 82, actcon
        (S2C, vec![0x68, 0x0e, 0xa6, 0x00, 0x30, 0x00, 0x2d, 0x01, 0x0a, 0x00, 0x03, 0x00, 0x94, 0x11, 0x00, 0x01]), // N(S) 83, actterm
        (C2S, vec![0x68, 0x04, 0x01, 0x00, 0xa8, 0x00]), // S format, N(R) 84
    ]
}

#[test]
fn keeps_the_select_and_the_execute_of_a_command_and_folds_their_confirmations() {
    let r = run(&select_before_operate());
    use OperationClass::{Session, Write};
    assert_eq!(
        ops(&r),
        vec![
            ("single_command", Write),
            ("single_command", Write),
            ("single_command", Write),
            ("single_command", Write),
            ("single_command", Write),
            ("supervisory_ack", Session),
        ]
    );
    assert_eq!(r.folded, vec![1, 3, 4], "positive confirmations and the termination are answers");
    let select = &r.messages[0].4;
    assert_eq!(attr(select, "message"), Some("request"));
    assert_eq!(attr(select, "type"), Some("C_SC_NA_1"));
    assert_eq!(attr(select, "type_id"), Some("45"));
    assert_eq!(attr(select, "cot"), Some("act"));
    assert_eq!(attr(select, "ca"), Some("3"));
    assert_eq!(attr(select, "ioa"), Some("4500"));
    assert_eq!(attr(select, "value"), Some("on"));
    assert_eq!(attr(select, "select"), Some("true"));
    assert_eq!(attr(select, "qualifier"), Some("no_pulse_defined"));
    assert_eq!(attr(select, "objects"), None);
    assert_eq!(attr(&r.messages[2].4, "select"), Some("false"));
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert!(r.events.is_empty(), "{:?}", r.events);
}

#[test]
fn keeps_a_negative_confirmation_as_a_refusal() {
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(46, 0x06, 7, 300, &[0x02]))), // double command, execute, DCS on
        (S2C, i_frame(0, 1, &asdu(46, 0x47, 7, 300, &[0x02]))), // actcon with P/N set: refused
    ]);
    assert!(r.folded.is_empty());
    let refusal = &r.messages[1].4;
    assert_eq!(r.messages[1].2, "double_command");
    assert_eq!((attr(refusal, "message"), attr(refusal, "cot")), (Some("response"), Some("actcon")));
    assert_eq!(attr(refusal, "negative"), Some("true"));
    assert_eq!((attr(refusal, "value"), attr(refusal, "select")), (Some("on"), Some("false")));
    let e = r.events.iter().find(|e| e.name == "iec104.session_anomalies").unwrap();
    assert_eq!(event_attr(e, "negative_confirmations"), Some("1"));
}

#[test]
fn names_every_u_function_and_counts_s_frames_as_session() {
    let r = run(&[
        (C2S, u_frame(0x07)),
        (S2C, u_frame(0x0b)),
        (C2S, u_frame(0x43)),
        (S2C, u_frame(0x83)),
        (C2S, u_frame(0x13)),
        (S2C, u_frame(0x23)),
        (C2S, s_frame(0)),
    ]);
    let names: Vec<&str> = ops(&r).iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        vec!["startdt_act", "startdt_con", "testfr_act", "testfr_con", "stopdt_act", "stopdt_con", "supervisory_ack"]
    );
    assert!(ops(&r).iter().all(|(_, c)| *c == OperationClass::Session));
    assert!(r.events.is_empty() && r.malformed.is_empty());
}

#[test]
fn counts_an_interrogation_and_its_data_as_reads() {
    let r = run(&[
        // 090813_diverse.pcap frame 73: station interrogation of CA 3.
        (C2S, vec![0x68, 0x0e, 0x3c, 0x00, 0xbc, 0x00, 0x64, 0x01, 0x06, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x14]),
        (S2C, i_frame(94, 31, &asdu(100, 0x07, 3, 0, &[0x14]))), // actcon
        (
            S2C,
            i_frame(
                95,
                31,
                &[
                    0x01, 0x82, // M_SP_NA_1, SQ 1, two elements
                    0x14, 0x00, 0x03, 0x00, // cause 20: inrogen; CA 3
                    0x01, 0x00, 0x00, // IOA 1
                    0x01, 0x00, // SIQ on, SIQ off
                ],
            ),
        ),
        (S2C, i_frame(96, 31, &asdu(100, 0x0a, 3, 0, &[0x14]))), // actterm
    ]);
    use OperationClass::Read;
    assert_eq!(
        ops(&r),
        vec![("interrogation", Read), ("interrogation", Read), ("single_point", Read), ("interrogation", Read)]
    );
    assert_eq!(r.folded, vec![1, 3]);
    assert!(r.messages.iter().all(|m| m.4.is_empty()), "reads keep no attributes");
    assert!(r.events.is_empty() && r.malformed.is_empty());
}

#[test]
fn classifies_clock_sync_reset_test_and_parameters() {
    let time = [0x39, 0x30, 0x07, 0x0e, 0x6d, 0x08, 0x09]; // 2009-08-13 14:07:12.345
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(103, 0x06, 1, 0, &time))),
        (C2S, i_frame(1, 0, &asdu(105, 0x06, 1, 0, &[0x01]))), // QRP 1: general reset
        (C2S, i_frame(2, 0, &asdu(107, 0x06, 1, 0, &[[0x34, 0x12].as_slice(), &time].concat()))), // TSC, time
        (C2S, i_frame(3, 0, &asdu(112, 0x06, 1, 700, &[0x00, 0x00, 0x20, 0x41, 0x01]))), // 10.0, QPM threshold
        (C2S, i_frame(4, 0, &asdu(101, 0x06, 1, 0, &[0x05]))), // QCC: general counter request
        (C2S, i_frame(5, 0, &asdu(102, 0x05, 1, 300, &[]))),   // read IOA 300, cause req
    ]);
    use OperationClass::*;
    assert_eq!(
        ops(&r),
        vec![
            ("clock_sync", Configuration),
            ("reset_process", Control),
            ("test_command_with_time", Diagnostic),
            ("parameter_float", Configuration),
            ("counter_interrogation", Read),
            ("read", Read),
        ]
    );
    assert_eq!(attr(&r.messages[0].4, "time"), Some("2009-08-13 14:07:12.345"));
    assert_eq!(attr(&r.messages[1].4, "qualifier"), Some("general_reset"));
    let p = &r.messages[3].4;
    assert_eq!((attr(p, "ioa"), attr(p, "value"), attr(p, "qualifier")), (Some("700"), Some("10"), Some("threshold")));
    assert!(r.malformed.is_empty());
}

#[test]
fn gives_set_points_their_value_qualifier_and_time() {
    // 090813_diverse.pcap frame 39: C_SE_TC_1 select 123.0 to CA 3, IOA 5021.
    let frame = vec![
        0x68, 0x19, 0x30, 0x00, 0xaa, 0x00, // length 25, N(S) 24, N(R) 85
        0x3f, 0x01, 0x06, 0x00, 0x03, 0x00, // type 63, one object, act, CA 3
        0x9d, 0x13, 0x00, // IOA 5021
        0x00, 0x00, 0xf6, 0x42, // 123.0
        0x80, // QOS: select, QL 0
        0x08, 0x00, 0x18, 0x13, 0x0d, 0x08, 0x6d, // CP56Time2a: 8 ms, 19:24, day 13, month 8, year 109
    ];
    let r = run(&[(C2S, frame)]);
    let (_, _, op, class, a) = &r.messages[0];
    assert_eq!((op.as_str(), *class), ("set_point_float_with_time", OperationClass::Write));
    assert_eq!((attr(a, "value"), attr(a, "select"), attr(a, "qualifier")), (Some("123"), Some("true"), Some("0")));
    // The device counts years from 1900: the 7-bit field says 109.
    assert_eq!(attr(a, "time"), Some("2009-08-13 19:24:00.008"));
    let r = run(&[(C2S, i_frame(0, 0, &asdu(49, 0x06, 1, 9, &[0x18, 0xfc, 0x00])))]); // scaled -1000, execute
    assert_eq!(attr(&r.messages[0].4, "value"), Some("-1000"));
    let r = run(&[(C2S, i_frame(0, 0, &asdu(51, 0x06, 1, 9, &[0xef, 0xbe, 0xad, 0xde])))]); // bitstring
    assert_eq!(attr(&r.messages[0].4, "value"), Some("0xdeadbeef"));
}

#[test]
fn reports_unknown_types_by_number_without_rejecting_them() {
    let r = run(&[(C2S, i_frame(0, 0, &asdu(42, 0x06, 1, 1, &[0x01, 0x02])))]);
    assert_eq!(ops(&r), vec![("unknown_type_42", OperationClass::Unknown)]);
    assert!(r.malformed.is_empty(), "an unknown type's objects are not walked");
}

#[test]
fn keeps_error_causes_from_the_station_as_anomalies_and_refusals() {
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(45, 0x06, 1, 99, &[0x01]))), // single command to IOA 99
        (S2C, i_frame(0, 1, &asdu(45, 0x6f, 1, 99, &[0x01]))), // P/N, cause 47: unknown IOA
        (C2S, i_frame(1, 1, &asdu(100, 0x06, 9, 0, &[0x14]))), // interrogation of CA 9
        (S2C, i_frame(1, 2, &asdu(100, 0x6e, 9, 0, &[0x14]))), // P/N, cause 46: unknown CA
    ]);
    assert!(r.folded.is_empty());
    assert_eq!(attr(&r.messages[1].4, "cot"), Some("unknown_object_address"));
    assert!(r.messages[3].4.is_empty(), "a read refused is counted, not kept as an operation");
    let flagged: Vec<(Option<&str>, Option<&str>)> = r
        .events
        .iter()
        .filter(|e| e.name == "iec104.anomalous_asdu")
        .map(|e| (event_attr(e, "cot"), event_attr(e, "anomalies")))
        .collect();
    assert_eq!(
        flagged,
        vec![
            (Some("unknown_object_address"), Some("error_cause")),
            (Some("unknown_common_address"), Some("error_cause"))
        ]
    );
}

#[test]
fn flags_values_and_types_the_standard_does_not_permit() {
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(46, 0x06, 1, 1, &[0x03]))), // DCS 3: not permitted
        (S2C, i_frame(0, 1, &asdu(2, 0x03, 1, 1, &[0x01, 0x00, 0x00, 0x00]))), // M_SP_TA_1: CP24 time, 101 only
        (S2C, i_frame(1, 1, &asdu(1, 0x12, 1, 1, &[0x01]))),  // cause 18: undefined
        (S2C, i_frame(2, 1, &[0x01, 0x00, 0x03, 0x00, 0x01, 0x00])), // no objects
        (S2C, i_frame(3, 1, &[asdu(1, 0x03, 1, 1, &[0x01]), vec![0xff]].concat())), // a stray octet
    ]);
    let flags: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e.name == "iec104.anomalous_asdu")
        .map(|e| event_attr(e, "anomalies").unwrap())
        .collect();
    assert_eq!(
        flags,
        vec!["not_permitted_value", "type_not_in_104", "undefined_cause", "no_objects", "trailing_bytes"]
    );
    assert!(r.malformed.is_empty());
}

#[test]
fn counts_a_truncated_asdu_as_malformed_and_still_counts_the_message() {
    let frame = asdu(50, 0x06, 1, 5020, &[0x00, 0x00, 0x40]); // set point float, 3 of its 5 octets
    let r = run(&[(C2S, i_frame(0, 0, &frame))]);
    assert_eq!(r.malformed, vec!["truncated_asdu"]);
    assert_eq!(ops(&r), vec![("set_point_float", OperationClass::Write)]);
    assert_eq!(attr(&r.messages[0].4, "ioa"), Some("5020"));
    let r = run(&[(C2S, vec![0x68, 0x08, 0x00, 0x00, 0x00, 0x00, 0x32, 0x01, 0x06, 0x00])]); // identifier cut short
    assert_eq!(r.malformed, vec!["short_asdu_header"]);
    assert_eq!(ops(&r), vec![("set_point_float", OperationClass::Write)]);
}

#[test]
fn counts_a_bad_header_as_malformed_and_finds_the_next_apdu() {
    let mut stream = vec![0x68, 0x02, 0x07, 0x00]; // length 2: too short for a control field
    stream.extend(u_frame(0x07));
    let r = run(&[(C2S, stream)]);
    assert_eq!(r.malformed, vec!["bad_length"]);
    assert_eq!(ops(&r), vec![("startdt_act", OperationClass::Session)]);
    let r = run(&[(C2S, [vec![0x16], u_frame(0x43)].concat())]);
    assert_eq!(r.malformed, vec!["bad_start"]);
    assert_eq!(ops(&r), vec![("testfr_act", OperationClass::Session)]);
    // A U frame that carries octets after its control field.
    let r = run(&[(C2S, vec![0x68, 0x05, 0x07, 0x00, 0x00, 0x00, 0x00])]);
    assert_eq!(r.malformed, vec!["apdu_length_mismatch"]);
}

#[test]
fn counts_sequence_jumps_and_acknowledgements_of_unsent_apdus() {
    let data = |ns: u16, nr: u16| i_frame(ns, nr, &asdu(3, 0x03, 1, 1, &[0x01]));
    let r = run(&[
        (S2C, data(10, 0)),
        (S2C, data(11, 0)),
        (S2C, data(13, 0)), // 12 is missing
        (C2S, s_frame(14)), // acknowledges 10, 11, 13
        (C2S, s_frame(16)), // 14 and 15 were never sent
        (C2S, s_frame(12)), // moves back
    ]);
    let e = r.events.iter().find(|e| e.name == "iec104.session_anomalies").unwrap();
    assert_eq!(event_attr(e, "send_sequence_jumps"), Some("1"));
    assert_eq!(event_attr(e, "acks_of_unsent"), Some("1"));
    assert_eq!(event_attr(e, "acks_moving_back"), Some("1"));
}

#[test]
fn sequence_numbers_wrap_at_2_to_the_15() {
    let data = |ns: u16, nr: u16| i_frame(ns, nr, &asdu(3, 0x03, 1, 1, &[0x01]));
    let r = run(&[(S2C, data(32766, 0)), (S2C, data(32767, 0)), (S2C, data(0, 0)), (C2S, s_frame(1))]);
    assert!(r.events.is_empty(), "{:?}", r.events);
}

#[test]
fn learns_the_sequence_afresh_after_a_gap() {
    let data = |ns: u16| i_frame(ns, 0, &asdu(3, 0x03, 1, 1, &[0x01]));
    let mut r = Recorder::default();
    let mut s = Iec104.new_session();
    s.data(&ctx(S2C), S2C, &data(5), &mut r);
    s.gap(&ctx(S2C), S2C, 32, &mut r);
    s.data(&ctx(S2C), S2C, &[data(40), data(41)].concat(), &mut r);
    s.close(&ctx(C2S), &mut r);
    assert_eq!(r.messages.len(), 3);
    assert!(r.events.is_empty() && r.malformed.is_empty(), "{:?}", r.events);
}

#[test]
fn pairs_a_termination_that_sets_the_select_bit_and_a_confirmed_read() {
    // As c104 2.2.1 (lib60870) answers: the termination of an executed command
    // echoes S/E set, and a read is confirmed before its data.
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(45, 0x06, 47, 2001, &[0x85]))), // select, short pulse, on
        (S2C, i_frame(0, 1, &asdu(45, 0x07, 47, 2001, &[0x85]))),
        (C2S, i_frame(1, 1, &asdu(45, 0x06, 47, 2001, &[0x05]))), // execute
        (S2C, i_frame(1, 2, &asdu(45, 0x07, 47, 2001, &[0x05]))),
        (S2C, i_frame(2, 2, &asdu(45, 0x0a, 47, 2001, &[0x85]))), // actterm, S/E set
        (C2S, i_frame(2, 3, &asdu(102, 0x05, 47, 1002, &[]))),    // read, cause req
        (S2C, i_frame(3, 3, &asdu(102, 0x07, 47, 1002, &[]))),    // actcon
        (S2C, i_frame(4, 3, &asdu(13, 0x05, 47, 1002, &[0x00, 0x40, 0x66, 0x43, 0x00]))), // the value, cause req
    ]);
    assert_eq!(r.folded, vec![1, 3, 4, 6]);
    assert_eq!(attr(&r.messages[0].4, "qualifier"), Some("short_pulse"));
    assert!(r.events.is_empty(), "{:?}", r.events);
}

#[test]
fn counts_answers_whose_activation_was_not_seen_after_one_was() {
    let r = run(&[
        (S2C, i_frame(0, 0, &asdu(45, 0x07, 1, 5, &[0x01]))), // actcon before any activation: the capture began late
        (C2S, i_frame(0, 1, &asdu(45, 0x06, 1, 6, &[0x01]))),
        (S2C, i_frame(1, 1, &asdu(45, 0x07, 1, 6, &[0x01]))),
        (S2C, i_frame(2, 1, &asdu(45, 0x07, 1, 7, &[0x01]))), // confirms nothing
    ]);
    // The first and last are kept: the only record of those operations.
    assert_eq!(r.folded, vec![2]);
    let e = r.events.iter().find(|e| e.name == "iec104.session_anomalies").unwrap();
    assert_eq!(event_attr(e, "unsolicited_answers"), Some("1"));
}

#[test]
fn classifies_file_transfer_by_which_station_sends_the_file() {
    let segment = |ns: u16| i_frame(ns, 0, &asdu(125, 0x0d, 1, 0, &[0x02, 0x00, 0x01, 0x02, 0xaa, 0xbb]));
    // Disturbance record from the controlled station: reads.
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(122, 0x0d, 1, 0, &[0x02, 0x00, 0x01, 0x02]))), // request file 2
        (S2C, segment(0)),
        (C2S, i_frame(1, 1, &asdu(124, 0x0d, 1, 0, &[0x02, 0x00, 0x01, 0x03]))), // section ack
    ]);
    use OperationClass::{Read, Write};
    assert_eq!(ops(&r), vec![("request_file", Read), ("segment", Read), ("ack_file", Read)]);
    // A file sent to the controlled station, and a delete: writes.
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(45, 0x06, 1, 1, &[0x01]))), // a command settles which side controls
        (C2S, segment(1)),
        (C2S, i_frame(2, 0, &asdu(122, 0x0d, 1, 0, &[0x07, 0x00, 0x00, 0x04]))), // delete file 7
    ]);
    assert_eq!(ops(&r)[1..], [("segment", Write), ("delete_file", Write)]);
    assert_eq!(attr(&r.messages[2].4, "file"), Some("7"));
}

#[test]
fn learns_the_controlling_station_from_what_it_sends() {
    // The TCP server sends the commands here (a reversed connection): a file
    // segment it sends is then written to the client, the controlled station.
    let r = run(&[
        (S2C, i_frame(0, 0, &asdu(100, 0x06, 1, 0, &[0x14]))),
        (S2C, i_frame(1, 0, &asdu(125, 0x0d, 1, 0, &[0x02, 0x00, 0x01, 0x00]))),
    ]);
    assert_eq!(ops(&r)[1], ("segment", OperationClass::Write));
    // Monitored data from the client says the same.
    let r = run(&[
        (C2S, i_frame(0, 0, &asdu(1, 0x03, 1, 1, &[0x01]))),
        (S2C, i_frame(0, 1, &asdu(125, 0x0d, 1, 0, &[0x02, 0x00, 0x01, 0x00]))),
    ]);
    assert_eq!(ops(&r)[1], ("segment", OperationClass::Write));
}

#[test]
fn keeps_at_most_64_activations_waiting() {
    // 100 commands to distinct objects, none confirmed.
    let input: Vec<_> = (0..100u16).map(|i| (C2S, i_frame(i, 0, &asdu(45, 0x06, 1, u32::from(i), &[0x01])))).collect();
    let r = run(&input);
    let e = r.events.iter().find(|e| e.name == "iec104.session_anomalies").unwrap();
    assert_eq!(event_attr(e, "evicted_activations"), Some("36"));
    assert_eq!(event_attr(e, "unconfirmed_at_close"), Some("64"));
    assert_eq!(r.messages.len(), 100, "every command is still kept");
}

#[test]
fn reports_at_most_32_anomalous_asdus_as_events_and_counts_the_rest() {
    let input: Vec<_> = (0..40u16).map(|i| (S2C, i_frame(i, 0, &asdu(1, 0x12, 1, 1, &[0x01])))).collect(); // cause 18
    let r = run(&input);
    assert_eq!(r.events.iter().filter(|e| e.name == "iec104.anomalous_asdu").count(), 32);
    let e = r.events.iter().find(|e| e.name == "iec104.session_anomalies").unwrap();
    assert_eq!(event_attr(e, "anomalous_asdus"), Some("40"));
}

#[test]
fn a_clean_session_reports_no_anomaly() {
    let mut input = vec![(C2S, u_frame(0x07)), (S2C, u_frame(0x0b))];
    input.extend(select_before_operate());
    let r = run(&input);
    assert!(r.events.is_empty(), "{:?}", r.events);
}

/// A client stream and a server stream with every kind of APDU.
fn two_streams() -> (Vec<u8>, Vec<u8>) {
    let (mut c, mut s) = (u_frame(0x07), u_frame(0x0b));
    for (d, b) in select_before_operate() {
        if d == C2S {
            c.extend(b);
        } else {
            s.extend(b);
        }
    }
    c.extend(i_frame(24, 84, &asdu(100, 0x06, 3, 0, &[0x14])));
    s.extend(i_frame(84, 25, &asdu(100, 0x07, 3, 0, &[0x14])));
    s.extend(i_frame(85, 25, &asdu(13, 0x14, 3, 1300, &[0x00, 0x00, 0xf0, 0x41, 0x00])));
    s.extend(i_frame(86, 25, &asdu(125, 0x0d, 3, 0, &[0x02, 0x00, 0x01, 0x02, 0xaa, 0xbb])));
    c.extend(u_frame(0x43));
    s.extend(u_frame(0x83));
    (c, s)
}

#[test]
fn splitting_the_streams_at_every_offset_yields_the_same_messages() {
    let (c, s) = two_streams();
    let whole = test_support::splits_at_every_offset(&Iec104, &c, &s);
    assert_eq!(whole.messages.len(), 14);
}

#[test]
fn resynchronises_on_the_next_apdu_after_a_gap() {
    let (c, _) = two_streams();
    let mut r = Recorder::default();
    let mut session = Iec104.new_session();
    session.data(&ctx(C2S), C2S, &c[..9], &mut r); // STARTDT act and the start of the next APDU
    session.gap(&ctx(C2S), C2S, 500, &mut r);
    session.data(&ctx(C2S), C2S, &c[9..], &mut r); // the rest of that APDU, then whole ones
    let whole = run(&[(C2S, c.clone())]);
    // Every APDU after the one cut is found again.
    assert_eq!(r.messages[1..], whole.messages[2..]);
    assert!(r.malformed.is_empty(), "skipping after a gap is not malformed");
}

#[test]
fn probes_for_plausible_apdus_on_any_port() {
    let (c, s) = two_streams();
    assert_eq!(Iec104.probe(C2S, &c), Probe::Match);
    assert_eq!(Iec104.probe(S2C, &s), Probe::Match);
    assert_eq!(Iec104.probe(C2S, &c[..3]), Probe::NeedMore);
    assert_eq!(Iec104.probe(C2S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(Iec104.probe(C2S, b"hello world"), Probe::NoMatch);
    // A good first APDU followed by something that is not one.
    let mut two = u_frame(0x07);
    two.extend_from_slice(&[0x68, 0x04, 0x07, 0x00, 0x00, 0x01]);
    assert_eq!(Iec104.probe(C2S, &two), Probe::NoMatch);
    // Modbus/TCP and a TPKT are not IEC 104.
    assert_eq!(
        Iec104.probe(C2S, &[0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6b, 0x00, 0x03]),
        Probe::NoMatch
    );
    assert_eq!(Iec104.probe(C2S, &[0x03, 0x00, 0x00, 0x16, 0x11, 0xe0]), Probe::NoMatch);
    assert!(Iec104.port_hint(2404));
    assert!(!Iec104.port_hint(2405));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes_and_chunks(
        input in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
        gaps in proptest::collection::vec(any::<u16>(), 0..3),
    ) {
        let mut r = Recorder::default();
        let mut s = Iec104.new_session();
        for (i, (to_server, bytes)) in input.iter().enumerate() {
            let d = if *to_server { C2S } else { S2C };
            s.data(&ctx(d), d, bytes, &mut r);
            if let Some(g) = gaps.get(i) {
                s.gap(&ctx(d), d, u64::from(*g), &mut r);
            }
        }
        s.close(&ctx(C2S), &mut r);
    }

    #[test]
    fn never_panics_on_apdus_with_arbitrary_asdus(
        asdus in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..249), 1..8),
    ) {
        // Well-framed APDUs whose ASDUs are arbitrary: every type, cause and length.
        let stream: Vec<u8> = asdus.iter().enumerate().flat_map(|(i, a)| i_frame(i as u16, 0, a)).collect();
        let r = run(&[(C2S, stream)]);
        // Each is counted once, malformed or not; an empty ASDU names no type.
        prop_assert_eq!(r.messages.len(), asdus.iter().filter(|a| !a.is_empty()).count());
    }

    #[test]
    fn valid_streams_frame_the_same_whatever_the_chunking(
        cuts in proptest::collection::vec(0usize..400, 0..20),
    ) {
        let (c, _) = two_streams();
        let whole = run(&[(C2S, c.clone())]);
        prop_assert_eq!(run(&cut_at(C2S, &c, cuts)).messages, whole.messages);
    }
}

#[test]
fn tells_the_controlling_station_of_a_connection_picked_up_mid_stream() {
    assert_eq!(sent_by_client(&u_frame(0x07)), Some(true), "STARTDT act");
    assert_eq!(sent_by_client(&u_frame(0x0b)), Some(false), "STARTDT con");
    assert_eq!(sent_by_client(&u_frame(0x43)), None, "TESTFR runs both ways");
    assert_eq!(sent_by_client(&s_frame(4)), None);
    // A measured value, spontaneous; a single command, activation and its confirmation.
    assert_eq!(sent_by_client(&i_frame(0, 0, &asdu(13, 3, 1, 100, &[0, 0, 0x80, 0x3f, 0]))), Some(false));
    assert_eq!(sent_by_client(&i_frame(0, 0, &asdu(45, 6, 1, 200, &[1]))), Some(true));
    assert_eq!(sent_by_client(&i_frame(0, 0, &asdu(45, 7, 1, 200, &[1]))), Some(false));
    assert_eq!(sent_by_client(&i_frame(0, 0, &asdu(100, 6, 1, 0, &[20]))), Some(true), "interrogation");
    assert_eq!(sent_by_client(&i_frame(0, 0, &asdu(100, 10, 1, 0, &[20]))), Some(false), "its termination");
}
