//! Session-level tests: bytes in, what the dissector emits out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{self, ctx, cut_at, Recorder};
use otposture_model::{EventKind, OperationClass};
use proptest::prelude::*;
use std::borrow::Cow;

/// This module's views of what was recorded.
trait View {
    fn ops(&self) -> Vec<(&str, OperationClass)>;
    fn attr<'a>(attrs: &'a [(Cow<'static, str>, otposture_model::AttrValue)], k: &str) -> Option<&'a str>;
}

impl View for Recorder {
    fn ops(&self) -> Vec<(&str, OperationClass)> {
        self.messages.iter().map(|(_, _, o, c, _)| (o.as_str(), *c)).collect()
    }
    fn attr<'a>(attrs: &'a [(Cow<'static, str>, otposture_model::AttrValue)], k: &str) -> Option<&'a str> {
        attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
}

/// An ADU: MBAP header (transaction id, protocol 0, length, unit id) + PDU.
fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut b = tid.to_be_bytes().to_vec(); // transaction id
    b.extend_from_slice(&[0x00, 0x00]); // protocol id 0
    b.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes()); // length: unit id + PDU
    b.push(unit); // unit id
    b.extend_from_slice(pdu);
    b
}

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

/// Feeds (direction, bytes) in order to a fresh session and closes it.
fn run(input: &[(Direction, Vec<u8>)]) -> Recorder {
    test_support::run(&Modbus, input)
}

/// One request and its response, each in its own ADU with transaction id 1.
fn exchange(unit: u8, req: &[u8], resp: &[u8]) -> Recorder {
    run(&[(C2S, adu(1, unit, req)), (S2C, adu(1, unit, resp))])
}

#[rustfmt::skip]
fn every_public_function() -> Vec<(&'static str, OperationClass, Vec<u8>, Vec<u8>)> {
    use OperationClass::*;
    vec![
        ("read_coils", Read,
            vec![0x01, 0x00, 0x13, 0x00, 0x13], // fc 1, start 19, quantity 19
            vec![0x01, 0x03, 0xcd, 0x6b, 0x05]), // fc 1, byte count 3, coil status
        ("read_discrete_inputs", Read,
            vec![0x02, 0x00, 0xc4, 0x00, 0x16], // fc 2, start 196, quantity 22
            vec![0x02, 0x03, 0xac, 0xdb, 0x35]), // fc 2, byte count 3, inputs
        ("read_holding_registers", Read,
            vec![0x03, 0x00, 0x6b, 0x00, 0x03], // fc 3, start 107, quantity 3
            vec![0x03, 0x06, 0x02, 0x2b, 0x00, 0x00, 0x00, 0x64]), // fc 3, byte count 6, 3 registers
        ("read_input_registers", Read,
            vec![0x04, 0x00, 0x08, 0x00, 0x01], // fc 4, start 8, quantity 1
            vec![0x04, 0x02, 0x00, 0x0a]), // fc 4, byte count 2, register 10
        ("write_single_coil", Write,
            vec![0x05, 0x00, 0xac, 0xff, 0x00], // fc 5, address 172, ON
            vec![0x05, 0x00, 0xac, 0xff, 0x00]), // echo
        ("write_single_register", Write,
            vec![0x06, 0x00, 0x01, 0x00, 0x03], // fc 6, address 1, value 3
            vec![0x06, 0x00, 0x01, 0x00, 0x03]), // echo
        ("read_exception_status", Diagnostic,
            vec![0x07], // fc 7, no fields
            vec![0x07, 0x6d]), // fc 7, output data
        ("diagnostics_return_query_data", Diagnostic,
            vec![0x08, 0x00, 0x00, 0xa5, 0x37], // fc 8, sub 0, data
            vec![0x08, 0x00, 0x00, 0xa5, 0x37]), // echo
        ("get_comm_event_counter", Diagnostic,
            vec![0x0b], // fc 11
            vec![0x0b, 0xff, 0xff, 0x01, 0x08]), // fc 11, status busy, event count 264
        ("get_comm_event_log", Diagnostic,
            vec![0x0c], // fc 12
            vec![0x0c, 0x08, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21, 0x20, 0x00]), // byte count 8, status, events 264, messages 289, 2 events
        ("write_multiple_coils", Write,
            vec![0x0f, 0x00, 0x13, 0x00, 0x0a, 0x02, 0xcd, 0x01], // fc 15, start 19, 10 coils, 2 bytes
            vec![0x0f, 0x00, 0x13, 0x00, 0x0a]), // fc 15, start 19, 10 coils
        ("write_multiple_registers", Write,
            vec![0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0a, 0x01, 0x02], // fc 16, start 1, 2 regs, 4 bytes
            vec![0x10, 0x00, 0x01, 0x00, 0x02]), // fc 16, start 1, 2 regs
        ("report_server_id", Discovery,
            vec![0x11], // fc 17
            vec![0x11, 0x04, b'P', b'L', b'C', 0xff]), // byte count 4, server id "PLC", run indicator ON
        ("read_file_record", Read,
            vec![0x14, 0x07, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02], // fc 20, byte count 7, ref 6, file 4, record 1, length 2
            vec![0x14, 0x06, 0x05, 0x06, 0x0d, 0xfe, 0x00, 0x20]), // fc 20, length 6, sub-response
        ("write_file_record", Write,
            vec![0x15, 0x09, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x01, 0x06, 0xaf], // fc 21, byte count 9, ref 6, file 4, record 7, length 1, data
            vec![0x15, 0x09, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x01, 0x06, 0xaf]), // echo
        ("mask_write_register", Write,
            vec![0x16, 0x00, 0x04, 0x00, 0xf2, 0x00, 0x25], // fc 22, address 4, AND 0xf2, OR 0x25
            vec![0x16, 0x00, 0x04, 0x00, 0xf2, 0x00, 0x25]), // echo
        ("read_write_multiple_registers", Write,
            vec![0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0e, 0x00, 0x03, 0x06, 0, 0xff, 0, 0xff, 0, 0xff], // read 3 x6, write 14 x3, 6 bytes
            vec![0x17, 0x0c, 0, 0xfe, 0x0a, 0xcd, 0, 1, 0, 3, 0, 0x0d, 0, 0xff]), // byte count 12, 6 registers
        ("read_fifo_queue", Read,
            vec![0x18, 0x04, 0xde], // fc 24, FIFO pointer 1246
            vec![0x18, 0x00, 0x06, 0x00, 0x02, 0x01, 0xb8, 0x12, 0x84]), // byte count 6, FIFO count 2, values
        ("read_device_identification", Discovery,
            vec![0x2b, 0x0e, 0x01, 0x00], // fc 43, MEI 14, basic, object 0
            vec![0x2b, 0x0e, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x03, b'A', b'B', b'C']), // code 1, conformity 1, no more, next 0, 1 object: vendor "ABC"
    ]
}

#[test]
fn names_and_classifies_every_public_function_in_both_directions() {
    for (name, class, req, resp) in every_public_function() {
        let r = exchange(1, &req, &resp);
        assert_eq!(r.ops(), vec![(name, class), (name, class)], "{name}");
        assert!(r.malformed.is_empty(), "{name}: {:?}", r.malformed);
        let anomalies: Vec<_> = r.events.iter().filter(|e| e.kind == EventKind::Anomaly).collect();
        assert!(anomalies.is_empty(), "{name}: {anomalies:?}");
    }
}

#[test]
fn gives_notable_operations_their_unit_address_and_quantity() {
    let r = exchange(
        0x11,
        &[0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0a, 0x01, 0x02], // fc 16, start 1, 2 regs, 4 bytes
        &[0x10, 0x00, 0x01, 0x00, 0x02],                               // fc 16, start 1, 2 regs
    );
    let (_, _, op, class, attrs) = &r.messages[0];
    assert_eq!((op.as_str(), *class), ("write_multiple_registers", OperationClass::Write));
    let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("unit_id"), Some("17"));
    assert_eq!(get("address"), Some("1"));
    assert_eq!(get("quantity"), Some("2"));
    assert_eq!(get("message"), Some("request"));
    assert_eq!(r.folded, vec![1], "the normal response is folded into the request's record");
}

#[test]
fn reports_exceptions_as_the_function_with_an_exception_suffix() {
    let r = exchange(
        1,
        &[0x06, 0x00, 0x01, 0x00, 0x03], // fc 6, address 1, value 3
        &[0x86, 0x02],                   // fc 6 | 0x80, exception 2: illegal data address
    );
    assert_eq!(
        r.ops(),
        vec![
            ("write_single_register", OperationClass::Write),
            ("write_single_register_exception", OperationClass::Write)
        ]
    );
    let (_, _, _, _, attrs) = &r.messages[1];
    assert!(attrs.contains(&("exception".to_string(), "illegal_data_address".to_string())));
    // A read exception is counted under the read's class.
    let r = exchange(1, &[0x03, 0x00, 0x00, 0x00, 0x01], &[0x83, 0x04]);
    assert_eq!(r.ops()[1], ("read_holding_registers_exception", OperationClass::Read));
    assert!(r.malformed.is_empty());
}

#[test]
fn flags_an_unknown_exception_code_as_anomalous() {
    let r = exchange(1, &[0x03, 0x00, 0x00, 0x00, 0x01], &[0x83, 0x42]);
    let e = r.events.iter().find(|e| e.name == "modbus.anomalous_pdu").unwrap();
    assert_eq!(Recorder::attr(&e.attributes, "anomalies"), Some("unknown_exception_code"));
}

#[test]
fn classifies_diagnostics_that_silence_or_restart_the_device_as_control() {
    let r = exchange(
        1,
        &[0x08, 0x00, 0x04, 0x00, 0x00], // fc 8, sub 4: force listen only mode, data 0
        &[0x08, 0x00, 0x04, 0x00, 0x00], // (a device in listen-only mode does not answer; an echo is read anyway)
    );
    assert_eq!(r.ops()[0], ("diagnostics_force_listen_only_mode", OperationClass::Control));
    let r = run(&[(C2S, adu(1, 1, &[0x08, 0x00, 0x01, 0xff, 0x00]))]); // sub 1: restart, clear log
    assert_eq!(r.ops()[0], ("diagnostics_restart_communications_option", OperationClass::Control));
    let r = run(&[(C2S, adu(1, 1, &[0x08, 0x12, 0x34, 0x00, 0x00]))]); // sub 0x1234: unassigned
    assert_eq!(r.ops()[0], ("diagnostics_0x1234", OperationClass::Unknown));
}

#[test]
fn reports_a_device_identification_answer_as_identity() {
    let r = exchange(
        0xff,
        &[0x2b, 0x0e, 0x01, 0x00], // fc 43, MEI 14, read code 1 (basic), object 0
        &[
            0x2b, 0x0e, // fc 43, MEI 14
            0x01, // read device id code: basic
            0x81, // conformity level: basic, individual access
            0x00, // more follows: no
            0x00, // next object id
            0x03, // number of objects
            0x00, 0x09, b'S', b'c', b'h', b'n', b'e', b'i', b'd', b'e', b'r', // vendor name
            0x01, 0x0a, b'B', b'M', b'X', b'N', b'O', b'E', b'0', b'1', b'0', b'0', // product code
            0x02, 0x04, b'v', b'3', b'.', b'1', // revision
        ],
    );
    assert_eq!(r.ops()[1], ("read_device_identification", OperationClass::Discovery));
    let ids: Vec<_> = r.events.iter().filter(|e| e.kind == EventKind::Identity).collect();
    assert_eq!(ids.len(), 1);
    let a = &ids[0].attributes;
    assert_eq!(ids[0].name, "modbus.device_identification");
    assert_eq!(Recorder::attr(a, "unit_id"), Some("255"));
    assert_eq!(Recorder::attr(a, "vendor"), Some("Schneider"));
    assert_eq!(Recorder::attr(a, "product_code"), Some("BMXNOE0100"));
    assert_eq!(Recorder::attr(a, "revision"), Some("v3.1"));
    assert_eq!(Recorder::attr(a, "more_follows"), None);
}

#[test]
fn reports_every_part_of_a_multi_part_identification() {
    let part1 = [
        0x2b, 0x0e, // fc 43, MEI 14
        0x03, // read device id code: extended
        0x83, // conformity level: extended, individual access
        0xff, // more follows: yes
        0x04, // next object id: 4
        0x02, // number of objects
        0x00, 0x03, b'A', b'C', b'M', // vendor name
        0x03, 0x05, b'h', b't', b't', b'p', b':', // vendor URL
    ];
    let part2 = [
        0x2b, 0x0e, 0x03, 0x83, // fc 43, MEI 14, extended, conformity
        0x00, // more follows: no
        0x00, // next object id
        0x02, // number of objects
        0x04, 0x03, b'P', b'L', b'C', // product name
        0x81, 0x02, 0xc3, 0x28, // private object 0x81: two bytes, not UTF-8
    ];
    let r = run(&[
        (C2S, adu(1, 1, &[0x2b, 0x0e, 0x03, 0x00])), // extended, from object 0
        (S2C, adu(1, 1, &part1)),
        (C2S, adu(2, 1, &[0x2b, 0x0e, 0x03, 0x04])), // extended, from object 4
        (S2C, adu(2, 1, &part2)),
    ]);
    let ids: Vec<_> = r.events.iter().filter(|e| e.kind == EventKind::Identity).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(Recorder::attr(&ids[0].attributes, "more_follows"), Some("true"));
    assert_eq!(Recorder::attr(&ids[0].attributes, "next_object_id"), Some("0x04"));
    assert_eq!(Recorder::attr(&ids[0].attributes, "vendor_url"), Some("http:"));
    assert_eq!(Recorder::attr(&ids[1].attributes, "product_name"), Some("PLC"));
    assert_eq!(Recorder::attr(&ids[1].attributes, "object_0x81_hex"), Some("c328"));
    assert!(Recorder::attr(&ids[1].attributes, "object_0x81").is_some());
    assert!(r.malformed.is_empty());
}

#[test]
fn counts_an_identification_object_that_overruns_as_malformed() {
    let r = exchange(
        1,
        &[0x2b, 0x0e, 0x01, 0x00],
        &[
            0x2b, 0x0e, 0x01, 0x01, 0x00, 0x00, // fc, MEI, code, conformity, more, next
            0x02, // two objects
            0x00, 0x02, b'A', b'B', // vendor "AB"
            0x01, 0x08, b'X', // product code claims 8 bytes, 1 present
        ],
    );
    assert_eq!(r.malformed, vec!["truncated_pdu"]);
    let id = r.events.iter().find(|e| e.kind == EventKind::Identity).unwrap();
    assert_eq!(Recorder::attr(&id.attributes, "vendor"), Some("AB"));
}

#[test]
fn names_umas_requests_and_their_responses_by_umas_code() {
    let r = run(&[
        (C2S, adu(5, 0, &[0x5a, 0x00, 0x10, 0x00, 0x0b, b'E', b'W', b'S'])), // UMAS, session 0, TAKE_PLC_RESERVATION, data
        (S2C, adu(5, 0, &[0x5a, 0x00, 0xfe, 0x4f])),                         // UMAS, session 0, OK, session key 0x4f
        (C2S, adu(6, 0, &[0x5a, 0x4f, 0x41, 0xff, 0x00])),                   // UMAS, session 0x4f, STOP_PLC
        (S2C, adu(6, 0, &[0x5a, 0x4f, 0xfe])),                               // OK
        (C2S, adu(7, 0, &[0x5a, 0x4f, 0x21, 0x00])),                         // UMAS code 0x21: not named here
        (C2S, adu(8, 0, &[0x5a, 0x00, 0x02])),                               // READ_ID
    ]);
    assert_eq!(
        r.ops(),
        vec![
            ("umas_take_plc_reservation", OperationClass::Authentication),
            ("umas_take_plc_reservation", OperationClass::Authentication),
            ("umas_stop_plc", OperationClass::Control),
            ("umas_stop_plc", OperationClass::Control),
            ("umas_0x21", OperationClass::Unknown),
            ("umas_read_id", OperationClass::Discovery),
        ]
    );
    assert_eq!(r.folded, vec![1, 3], "answers with UMAS status OK are folded");
    let stop = &r.messages[2].4;
    let get = |k: &str| stop.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("umas_session"), Some("79"));
    assert_eq!(get("umas_code"), Some("0x41"));
}

#[test]
fn keeps_a_umas_error_answer_as_its_own_record() {
    let r = run(&[
        (C2S, adu(6, 0, &[0x5a, 0x4f, 0x41, 0xff, 0x00])), // UMAS, session 0x4f, STOP_PLC
        (S2C, adu(6, 0, &[0x5a, 0x4f, 0xfd, 0x01])),       // error
    ]);
    assert!(r.folded.is_empty());
    let get = |k: &str| r.messages[1].4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!((get("message"), get("umas_status")), (Some("response"), Some("error")));
}

#[test]
fn reports_user_defined_and_unassigned_codes_without_rejecting_them() {
    let r = run(&[
        (C2S, adu(1, 1, &[0x41, 0x01, 0x02])), // fc 65: user defined
        (C2S, adu(2, 1, &[0x64])),             // fc 100: user defined, no data
        (C2S, adu(3, 1, &[0x2a, 0x00])),       // fc 42: unassigned
        (C2S, adu(4, 1, &[0x2b, 0x0d, 0x00])), // fc 43 MEI 13: CANopen general reference
    ]);
    assert_eq!(
        r.ops(),
        vec![
            ("user_defined_65", OperationClass::Unknown),
            ("user_defined_100", OperationClass::Unknown),
            ("function_42", OperationClass::Unknown),
            ("canopen_general_reference", OperationClass::Unknown),
        ]
    );
    assert!(r.malformed.is_empty());
}

#[test]
fn keeps_an_oversized_umas_reply_and_flags_it() {
    let mut pdu = vec![0x5a, 0x00, 0x0a]; // UMAS, session 0, REPEAT
    pdu.extend((0..251u8).collect::<Vec<_>>()); // data: PDU of 254 bytes, length 255
    let r = run(&[(C2S, adu(7, 0, &pdu))]);
    assert_eq!(r.ops(), vec![("umas_repeat", OperationClass::Read)]);
    let e = r.events.iter().find(|e| e.name == "modbus.anomalous_pdu").unwrap();
    assert_eq!(Recorder::attr(&e.attributes, "anomalies"), Some("oversized_pdu"));
}

#[test]
fn counts_a_truncated_pdu_as_malformed_and_still_counts_the_message() {
    let r = run(&[(C2S, adu(1, 1, &[0x03, 0x00]))]); // fc 3 with one byte of its four
    assert_eq!(r.malformed, vec!["truncated_pdu"]);
    assert_eq!(r.ops(), vec![("read_holding_registers", OperationClass::Read)]);
}

#[test]
fn flags_quantities_and_byte_counts_that_break_the_spec() {
    let r = run(&[
        (C2S, adu(1, 1, &[0x03, 0x00, 0x00, 0x00, 0x7e])), // fc 3, quantity 126 > 125
        (C2S, adu(2, 1, &[0x10, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x01])), // fc 16, 2 regs but 2 bytes
        (C2S, adu(3, 1, &[0x05, 0x00, 0x00, 0x12, 0x34])), // fc 5, value 0x1234
    ]);
    let flags: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.name == "modbus.anomalous_pdu")
        .map(|e| Recorder::attr(&e.attributes, "anomalies").unwrap().to_string())
        .collect();
    assert_eq!(flags, vec!["quantity_out_of_range", "byte_count_mismatch", "bad_coil_value"]);
    assert!(r.malformed.is_empty());
}

#[test]
fn counts_unanswered_and_unsolicited_transactions_once_at_close() {
    let r = run(&[
        (C2S, adu(1, 1, &[0x03, 0x00, 0x00, 0x00, 0x01])),
        (S2C, adu(1, 1, &[0x03, 0x02, 0x00, 0x00])),       // answers 1
        (C2S, adu(2, 1, &[0x03, 0x00, 0x00, 0x00, 0x01])), // never answered: replaced below
        (C2S, adu(2, 1, &[0x03, 0x00, 0x00, 0x00, 0x01])),
        (S2C, adu(9, 1, &[0x03, 0x02, 0x00, 0x00])), // answers nothing
        (S2C, adu(2, 1, &[0x04, 0x02, 0x00, 0x00])), // answers 2 with another function
    ]);
    let e = r.events.iter().find(|e| e.name == "modbus.session_anomalies").unwrap();
    assert_eq!(Recorder::attr(&e.attributes, "unanswered_requests"), Some("1"));
    assert_eq!(Recorder::attr(&e.attributes, "unsolicited_responses"), Some("1"));
    assert_eq!(Recorder::attr(&e.attributes, "function_mismatches"), Some("1"));
}

#[test]
fn keeps_at_most_64_open_transactions() {
    let input: Vec<_> = (0..100u16).map(|t| (C2S, adu(t, 1, &[0x03, 0x00, 0x00, 0x00, 0x01]))).collect();
    let r = run(&input);
    let e = r.events.iter().find(|e| e.name == "modbus.session_anomalies").unwrap();
    assert_eq!(Recorder::attr(&e.attributes, "evicted_transactions"), Some("36"));
    assert_eq!(Recorder::attr(&e.attributes, "open_at_close"), Some("64"));
}

#[test]
fn a_clean_session_reports_no_anomaly() {
    let r = exchange(1, &[0x03, 0x00, 0x00, 0x00, 0x01], &[0x03, 0x02, 0x00, 0x2a]);
    assert!(r.events.is_empty());
}

/// Requests and responses of several functions, as one client stream and one
/// server stream.
fn two_streams() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    for (i, (_, _, req, resp)) in every_public_function().into_iter().enumerate() {
        c.extend(adu(i as u16, 1, &req));
        s.extend(adu(i as u16, 1, &resp));
    }
    (c, s)
}

#[test]
fn splitting_the_streams_at_every_offset_yields_the_same_messages() {
    let (c, s) = two_streams();
    let whole = test_support::splits_at_every_offset(&Modbus, &c, &s);
    assert_eq!(whole.messages.len(), 2 * every_public_function().len());
}

#[test]
fn resynchronises_on_the_next_header_after_a_gap() {
    let (c, _) = two_streams();
    let mut r = Recorder::default();
    let mut session = Modbus.new_session();
    let first = adu(100, 1, &[0x03, 0x00, 0x00, 0x00, 0x01]);
    session.data(&ctx(C2S), C2S, &first[..9], &mut r); // a partial ADU, then a hole
    session.gap(&ctx(C2S), C2S, 500, &mut r);
    // The bytes after the hole start in the middle of some ADU.
    session.data(&ctx(C2S), C2S, &c[3..], &mut r);
    let whole = run(&[(C2S, c.clone())]);
    // Every ADU after the first (cut) one is found again.
    assert_eq!(r.messages[..], whole.messages[1..]);
    assert!(r.malformed.is_empty(), "skipping after a gap is not malformed");
}

#[test]
fn counts_a_bad_header_as_malformed_and_finds_the_next_adu() {
    let mut bad = adu(1, 1, &[0x03, 0x00, 0x00, 0x00, 0x01]);
    bad[3] = 0x07; // protocol id 7
    bad.extend(adu(2, 1, &[0x06, 0x00, 0x01, 0x00, 0x03]));
    let r = run(&[(C2S, bad)]);
    assert_eq!(r.malformed, vec!["bad_protocol_id"]);
    assert_eq!(r.ops(), vec![("write_single_register", OperationClass::Write)]);
}

#[test]
fn probes_for_a_plausible_header_on_any_port() {
    let req = adu(1, 1, &[0x03, 0x00, 0x00, 0x00, 0x01]);
    assert_eq!(Modbus.probe(C2S, &req), Probe::Match);
    assert_eq!(Modbus.probe(C2S, &req[..4]), Probe::NeedMore);
    assert_eq!(Modbus.probe(C2S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(Modbus.probe(C2S, &[0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00]), Probe::NoMatch);
    // A good first header followed by garbage is not Modbus.
    let mut two = req.clone();
    two.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00]);
    assert_eq!(Modbus.probe(C2S, &two), Probe::NoMatch);
    // Function 0, as a scanner sends it, in a segment that is exactly one ADU.
    let zero = adu(0, 1, &[0x00, 0x00, 0x00, 0x00, 0x01]);
    assert_eq!(Modbus.probe(C2S, &zero), Probe::Match);
    let mut zero_and_junk = zero.clone();
    zero_and_junk.extend_from_slice(&[0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42]);
    assert_eq!(Modbus.probe(C2S, &zero_and_junk), Probe::NoMatch);
    assert!(Modbus.port_hint(502));
    assert!(!Modbus.port_hint(503));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes_and_chunks(
        input in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
        gaps in proptest::collection::vec(any::<u16>(), 0..3),
    ) {
        let mut r = Recorder::default();
        let mut s = Modbus.new_session();
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
    fn valid_streams_frame_the_same_whatever_the_chunking(
        cuts in proptest::collection::vec(0usize..2000, 0..20),
    ) {
        let (c, _) = two_streams();
        let whole = run(&[(C2S, c.clone())]);
        prop_assert_eq!(run(&cut_at(C2S, &c, cuts)).messages, whole.messages);
    }
}

#[test]
fn tells_requests_from_responses_of_a_connection_picked_up_mid_stream() {
    let adu = |pdu: &[u8]| {
        let mut a = vec![0, 1, 0, 0, 0, (pdu.len() + 1) as u8, 1];
        a.extend_from_slice(pdu);
        a
    };
    assert_eq!(sent_by_client(&adu(&[3, 0, 10, 0, 5])), Some(true), "read holding registers");
    assert_eq!(sent_by_client(&adu(&[3, 10, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5])), Some(false), "its response");
    assert_eq!(sent_by_client(&adu(&[0x83, 2])), Some(false), "an exception");
    assert_eq!(sent_by_client(&adu(&[16, 0, 120, 0, 3, 6, 0, 1, 0, 2, 0, 3])), Some(true));
    assert_eq!(sent_by_client(&adu(&[16, 0, 120, 0, 3])), Some(false));
    assert_eq!(sent_by_client(&adu(&[43, 14, 1, 0])), Some(true), "read device identification");
    assert_eq!(sent_by_client(&adu(&[0x5a, 0, 0x02])), Some(true), "UMAS request");
    assert_eq!(sent_by_client(&adu(&[0x5a, 0, 0xfe, 0x4f])), Some(false), "UMAS answer");
    assert_eq!(sent_by_client(&adu(&[6, 0, 101, 1, 144])), None, "a single write is echoed");
    assert_eq!(sent_by_client(&adu(&[1, 3, 0xff, 0xff, 0x0f])), None, "3 bytes of coils have a request's length");
}

#[test]
fn report_server_id_is_split_where_its_shape_shows_the_parts() {
    use super::session::{split_server_id, ServerId};
    let parts = |id: &'static [u8], run, additional: Option<&'static [u8]>| Some(ServerId { id, run, additional });
    // Wingpath's Modbus simulator: server id 0x00, run indicator on, its name.
    assert_eq!(split_server_id(b"\x00\xffWingpath Limited"), parts(b"\x00", true, Some(b"Wingpath Limited")));
    // A longer id, run indicator off, a trailing NUL.
    assert_eq!(split_server_id(b"\x01\x02\x00M340\x00"), parts(b"\x01\x02", false, Some(b"M340")));
    // pymodbus: a printable id, then the run indicator, nothing after.
    assert_eq!(split_server_id(b"PLC\xff"), parts(b"PLC", true, None));
    // Neither shape: left whole.
    assert_eq!(split_server_id(b"\xff"), None);
    assert_eq!(split_server_id(b""), None);
    assert_eq!(split_server_id(b"\x00\xffA\x01B"), None);
    assert_eq!(split_server_id(b"\x01\x02\x03"), None);
}
