//! Session-level tests: bytes in, what the dissector emits out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{self, ctx, event_attr, Recorder};
use otposture_model::{Event, OperationClass};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use OperationClass::*;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

/// This module's views of what was recorded.
trait View {
    fn ops(&self) -> Vec<(&str, &str, OperationClass)>;
    fn attr(&self, i: usize, k: &str) -> Option<&str>;
    fn event(&self, name: &str) -> &Event;
}

impl View for Recorder {
    /// (protocol, operation, class) of every message.
    fn ops(&self) -> Vec<(&str, &str, OperationClass)> {
        self.messages.iter().map(|(p, _, o, c, _)| (*p, o.as_str(), *c)).collect()
    }
    fn attr(&self, i: usize, k: &str) -> Option<&str> {
        let m = self.messages.get(i)?;
        m.4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn event(&self, name: &str) -> &Event {
        self.events.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no {name} event in {:?}", self.events))
    }
}

/// An encapsulation message: header (command, length, session 0x11223344,
/// status 0, sender context, options 0), then `body`.
fn encap(command: u16, context: u8, body: &[u8]) -> Vec<u8> {
    let mut b = command.to_le_bytes().to_vec(); // command
    b.extend_from_slice(&(body.len() as u16).to_le_bytes()); // length
    b.extend_from_slice(&0x1122_3344u32.to_le_bytes()); // session handle
    b.extend_from_slice(&[0, 0, 0, 0]); // status
    b.extend_from_slice(&[context, 0, 0, 0, 0, 0, 0, 0]); // sender context
    b.extend_from_slice(&[0, 0, 0, 0]); // options
    b.extend_from_slice(body);
    b
}

/// A CPF item: type, length, data.
fn item(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut b = kind.to_le_bytes().to_vec();
    b.extend_from_slice(&(data.len() as u16).to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// SendRRData/SendUnitData body: interface handle 0, timeout, CPF items.
fn rr_body(items: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0, 0x0a, 0x00]; // interface handle 0 (CIP), timeout 10
    b.extend_from_slice(&(items.len() as u16).to_le_bytes()); // item count
    for i in items {
        b.extend_from_slice(i);
    }
    b
}

/// SendRRData carrying an unconnected CIP message.
fn rr(context: u8, cip: &[u8]) -> Vec<u8> {
    encap(0x6f, context, &rr_body(&[item(0x0000, &[]), item(0x00b2, cip)]))
}

/// SendUnitData carrying a connected CIP message on `conn` with sequence `seq`.
fn unit(conn: u32, seq: u16, cip: &[u8]) -> Vec<u8> {
    let mut data = seq.to_le_bytes().to_vec(); // CIP sequence count
    data.extend_from_slice(cip);
    encap(0x70, 0, &rr_body(&[item(0x00a1, &conn.to_le_bytes()), item(0x00b1, &data)]))
}

/// A CIP request: service, path size in words, path, data.
fn req(service: u8, path: &[u8], data: &[u8]) -> Vec<u8> {
    let mut b = vec![service, (path.len() / 2) as u8];
    b.extend_from_slice(path);
    b.extend_from_slice(data);
    b
}

/// A CIP response: service | 0x80, reserved, general status, no additional status, data.
fn resp(service: u8, status: u8, data: &[u8]) -> Vec<u8> {
    let mut b = vec![service | 0x80, 0x00, status, 0x00];
    b.extend_from_slice(data);
    b
}

/// Feeds (direction, bytes) in order to a fresh TCP session and closes it.
fn run(input: &[(Direction, Vec<u8>)]) -> Recorder {
    test_support::run(&Enip, input)
}

const IDENTITY_PATH: [u8; 4] = [0x20, 0x01, 0x24, 0x01]; // class 0x01, instance 1

/// ListIdentity reply of a 1756-ENBT/A (values from enip_test.pcap).
fn list_identity_reply() -> Vec<u8> {
    let mut id = vec![
        0x01, 0x00, // encapsulation protocol version 1
        0x00, 0x02, // sin_family 2 (network order)
        0xaf, 0x12, // sin_port 44818
        0xc0, 0xa8, 0x01, 0x0a, // sin_addr 192.168.1.10
        0, 0, 0, 0, 0, 0, 0, 0, // sin_zero
        0x01, 0x00, // vendor 1
        0x0c, 0x00, // device type 12: communications adapter
        0x3a, 0x00, // product code 58
        0x03, 0x04, // revision 3.4
        0x30, 0x00, // status
        0x8e, 0x4d, 0x52, 0x00, // serial 0x00524d8e
        0x0b, // name length 11
    ];
    id.extend_from_slice(b"1756-ENBT/A");
    id.push(0x03); // state 3
    let mut body = vec![0x01, 0x00]; // item count 1
    body.extend_from_slice(&item(0x000c, &id));
    encap(0x63, 0, &body)
}

#[test]
fn reports_list_identity_and_its_reply_as_an_identity_event() {
    let r = run(&[(C2S, encap(0x63, 0, &[])), (S2C, list_identity_reply())]);
    assert_eq!(r.ops(), vec![("enip", "list_identity", Discovery), ("enip", "list_identity", Discovery)]);
    let e = r.event("enip.list_identity");
    assert_eq!(e.kind, otposture_model::EventKind::Identity);
    assert_eq!(event_attr(e, "vendor_id"), Some("1"));
    assert_eq!(event_attr(e, "vendor"), Some("Rockwell Automation/Allen-Bradley"));
    assert_eq!(event_attr(e, "device_type"), Some("Communications Adapter"));
    assert_eq!(event_attr(e, "product_code"), Some("58"));
    assert_eq!(event_attr(e, "revision"), Some("3.4"));
    assert_eq!(event_attr(e, "serial"), Some("0x00524d8e"));
    assert_eq!(event_attr(e, "product_name"), Some("1756-ENBT/A"));
    assert_eq!(event_attr(e, "state"), Some("3"));
    assert_eq!(event_attr(e, "socket_address"), Some("192.168.1.10:44818"));
    assert!(r.malformed.is_empty());
}

#[test]
fn counts_register_session_as_session() {
    let body = [0x01, 0x00, 0x00, 0x00]; // protocol version 1, options 0
    let r = run(&[(C2S, encap(0x65, 0, &body)), (S2C, encap(0x65, 0, &body)), (C2S, encap(0x66, 0, &[]))]);
    assert_eq!(
        r.ops(),
        vec![
            ("enip", "register_session", Session),
            ("enip", "register_session", Session),
            ("enip", "unregister_session", Session)
        ]
    );
}

#[test]
fn pairs_an_identity_get_attributes_all_with_its_reply() {
    let r =
        run(&[(C2S, rr(7, &req(0x01, &IDENTITY_PATH, &[]))), (S2C, rr(7, &resp(0x01, 0x00, &identity::tests_l61())))]);
    assert_eq!(r.ops(), vec![("cip", "get_attributes_all", Discovery), ("cip", "get_attributes_all", Discovery)]);
    let e = r.event("cip.identity");
    assert_eq!(event_attr(e, "product_name"), Some("1756-L61/B LOGIX5561"));
    assert_eq!(event_attr(e, "revision"), Some("16.20"));
    assert_eq!(event_attr(e, "serial"), Some("0x0051823f"));
    assert_eq!(event_attr(e, "source"), Some("get_attributes_all"));
    assert!(r.malformed.is_empty());
}

#[test]
fn names_the_route_of_an_identity_read_through_the_backplane() {
    let routed = unconnected_send(&req(0x01, &IDENTITY_PATH, &[]));
    let r = run(&[(C2S, rr(7, &routed)), (S2C, rr(7, &resp(0x01, 0x00, &identity::tests_l61())))]);
    let e = r.event("cip.identity");
    assert_eq!(event_attr(e, "product_name"), Some("1756-L61/B LOGIX5561"));
    assert_eq!(event_attr(e, "route"), Some("1/0"), "the module at backplane slot 0 answered, not the adapter");
    let direct =
        run(&[(C2S, rr(7, &req(0x01, &IDENTITY_PATH, &[]))), (S2C, rr(7, &resp(0x01, 0x00, &identity::tests_l61())))]);
    assert_eq!(event_attr(direct.event("cip.identity"), "route"), None);
}

#[test]
fn takes_no_identity_from_a_reply_to_another_class() {
    let r = run(&[
        (C2S, rr(7, &req(0x01, &[0x20, 0x02, 0x24, 0x01], &[]))), // Message Router
        (S2C, rr(7, &resp(0x01, 0x00, &identity::tests_l61()))),
    ]);
    assert!(r.events.is_empty(), "{:?}", r.events);
    assert_eq!(r.ops(), vec![("cip", "get_attributes_all", Read), ("cip", "get_attributes_all", Read)]);
}

/// Unconnected_Send to the Connection Manager carrying `embedded`, routed to
/// backplane slot 0.
fn unconnected_send(embedded: &[u8]) -> Vec<u8> {
    let mut data = vec![0x0a, 0xf0]; // priority/tick, timeout ticks
    data.extend_from_slice(&(embedded.len() as u16).to_le_bytes()); // message size
    data.extend_from_slice(embedded);
    if embedded.len() % 2 == 1 {
        data.push(0); // pad
    }
    data.extend_from_slice(&[0x01, 0x00, 0x01, 0x00]); // route: 1 word, reserved, port 1 link 0
    req(0x52, &[0x20, 0x06, 0x24, 0x01], &data)
}

/// ANSI extended symbol path for `name` (padded).
fn symbol(name: &[u8]) -> Vec<u8> {
    let mut p = vec![0x91, name.len() as u8];
    p.extend_from_slice(name);
    if name.len() % 2 == 1 {
        p.push(0);
    }
    p
}

#[test]
fn reads_a_read_tag_inside_unconnected_send_and_pairs_its_reply() {
    let read = req(0x4c, &symbol(b"Counter"), &[0x01, 0x00]); // Read_Tag, 1 element
    let r = run(&[
        (C2S, rr(1, &unconnected_send(&read))),
        (S2C, rr(1, &resp(0x4c, 0x00, &[0xc4, 0x00, 0x2a, 0x00, 0x00, 0x00]))), // DINT 42
    ]);
    assert_eq!(r.ops(), vec![("cip", "read_tag", Read), ("cip", "read_tag", Read)]);
}

#[test]
fn keeps_a_routed_write_tag_with_its_tag_and_route() {
    let write = req(0x4d, &symbol(b"Setpoint"), &[0xc4, 0x00, 0x01, 0x00, 0x2a, 0, 0, 0]);
    let r = run(&[(C2S, rr(1, &unconnected_send(&write))), (S2C, rr(1, &resp(0x4d, 0x00, &[])))]);
    assert_eq!(r.ops(), vec![("cip", "write_tag", Write), ("cip", "write_tag", Write)]);
    assert_eq!(r.attr(0, "tag"), Some("Setpoint"));
    assert_eq!(r.attr(0, "via"), Some("unconnected_send"));
    assert_eq!(r.attr(0, "route"), Some("1/0"));
    assert_eq!(r.folded, vec![1], "the successful reply is folded into the request's record");
}

#[test]
fn keeps_the_reply_that_refuses_a_write() {
    let write = req(0x4d, &symbol(b"Setpoint"), &[0xc4, 0x00, 0x01, 0x00, 0x2a, 0, 0, 0]);
    let r = run(&[(C2S, rr(1, &unconnected_send(&write))), (S2C, rr(1, &resp(0x4d, 0x05, &[])))]);
    assert!(r.folded.is_empty());
    assert_eq!(r.attr(1, "message"), Some("response"));
    assert_eq!(r.attr(1, "status"), Some("0x05"));
}

/// A Forward_Open to the Message Router with transport `class`, and its reply
/// assigning O->T id 0x11111111 (T->O 0x22222222).
fn forward_open(class: u8) -> (Vec<u8>, Vec<u8>) {
    let mut data = vec![
        0x0a, 0x0e, // priority/tick, timeout ticks
        0x00, 0x00, 0x00, 0x00, // O->T id (the target chooses)
        0x22, 0x22, 0x22, 0x22, // T->O id
        0x05, 0x00, // connection serial 5
        0x01, 0x00, // originator vendor 1
        0x78, 0x56, 0x34, 0x12, // originator serial
        0x01, 0x00, 0x00, 0x00, // timeout multiplier, reserved
        0x40, 0x42, 0x0f, 0x00, // O->T RPI
        0xf4, 0x43, // O->T parameters
        0x40, 0x42, 0x0f, 0x00, // T->O RPI
        0xf4, 0x43, // T->O parameters
    ];
    data.push(0xa0 | class); // transport class and trigger
    data.extend_from_slice(&[0x02, 0x20, 0x02, 0x24, 0x01]); // path 2 words: Message Router instance 1
    let reply = [
        0x11, 0x11, 0x11, 0x11, // O->T id
        0x22, 0x22, 0x22, 0x22, // T->O id
        0x05, 0x00, 0x01, 0x00, 0x78, 0x56, 0x34, 0x12, // serial, vendor, originator serial
        0x40, 0x42, 0x0f, 0x00, 0x40, 0x42, 0x0f, 0x00, // APIs
        0x00, 0x00, // application reply size, reserved
    ];
    (rr(3, &req(0x54, &[0x20, 0x06, 0x24, 0x01], &data)), rr(3, &resp(0x54, 0x00, &reply)))
}

/// Records what a session decodes through the tap.
#[derive(Clone, Default)]
struct TapLog(Arc<Mutex<Vec<String>>>);

impl Tap for TapLog {
    fn command(&mut self, _: &PacketCtx<'_>, command: encap::Command) {
        self.0.lock().unwrap().push(format!("command {:#06x}", command.0));
    }
    fn cip(&mut self, _: &PacketCtx<'_>, service: cip::Service, classes: &[u32]) {
        self.0.lock().unwrap().push(format!("cip {:#04x} {classes:x?}", service.0));
    }
}

#[test]
fn reads_connected_messages_on_a_connection_forward_open_made() {
    let (open, opened) = forward_open(3);
    let stop = req(0x07, &[0x20, 0x8e, 0x24, 0x01], &[]); // Stop, class 0x8E instance 1
    let log = TapLog::default();
    let mut s = Enip::session_with_tap(Box::new(log.clone()));
    let mut r = Recorder::default();
    for (d, b) in [
        (C2S, open),
        (S2C, opened),
        (C2S, unit(0x1111_1111, 9, &stop)),
        (S2C, unit(0x2222_2222, 9, &resp(0x07, 0x00, &[]))),
    ] {
        s.data(&ctx(d), d, &b, &mut r);
    }
    assert_eq!(
        r.ops(),
        vec![
            ("cip", "forward_open", Session),
            ("cip", "forward_open", Session),
            ("cip", "stop", Control),
            ("cip", "stop", Control)
        ]
    );
    assert_eq!(r.attr(2, "class"), Some("0x8e"));
    assert_eq!(r.attr(2, "connection_id"), Some("0x11111111"));
    assert_eq!(r.folded, vec![1, 3], "the replies are paired (by connection and sequence for the stop)");
    let log = log.0.lock().unwrap().clone();
    assert_eq!(
        log,
        vec![
            "command 0x006f",
            "cip 0x54 [6, 2]",
            "command 0x006f",
            "cip 0x54 [6, 2]",
            "command 0x0070",
            "cip 0x07 [2, 8e]",
            "command 0x0070",
            "cip 0x07 [2, 8e]",
        ]
    );
}

#[test]
fn counts_connected_data_on_an_io_connection_as_io() {
    let (open, opened) = forward_open(1);
    let r = run(&[(C2S, open), (S2C, opened), (C2S, unit(0x1111_1111, 1, &[0xde, 0xad]))]);
    assert_eq!(r.ops().last(), Some(&("enip", "io", Read)));
}

#[test]
fn reads_every_service_of_a_multiple_service_packet() {
    let a = req(0x0e, &[0x20, 0x01, 0x24, 0x01, 0x30, 0x07], &[]); // Get_Attribute_Single: product name
    let b = req(0x4d, &symbol(b"X"), &[0xc1, 0x00, 0x01, 0x00, 0x01, 0x00]); // Write_Tag BOOL
    let mut body = vec![0x02, 0x00]; // two services
    body.extend_from_slice(&6u16.to_le_bytes()); // first at offset 6
    body.extend_from_slice(&(6 + a.len() as u16).to_le_bytes()); // second after it
    body.extend_from_slice(&a);
    body.extend_from_slice(&b);
    let ra = resp(0x0e, 0x00, b"\x0b1756-ENBT/A");
    let rb = resp(0x4d, 0x00, &[]);
    let mut rbody = vec![0x02, 0x00];
    rbody.extend_from_slice(&6u16.to_le_bytes());
    rbody.extend_from_slice(&(6 + ra.len() as u16).to_le_bytes());
    rbody.extend_from_slice(&ra);
    rbody.extend_from_slice(&rb);
    let r = run(&[(C2S, rr(5, &req(0x0a, &[0x20, 0x02, 0x24, 0x01], &body))), (S2C, rr(5, &resp(0x0a, 0x00, &rbody)))]);
    assert_eq!(
        r.ops(),
        vec![
            ("cip", "get_attribute_single", Discovery),
            ("cip", "write_tag", Write),
            ("cip", "get_attribute_single", Discovery),
            ("cip", "write_tag", Write),
        ]
    );
    assert_eq!(r.attr(1, "via"), Some("multiple_service_packet"));
    assert_eq!(event_attr(r.event("cip.identity"), "product_name"), Some("1756-ENBT/A"));
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
}

/// Execute_PCCC to the PCCC object with requester id and `pccc`.
fn execute_pccc(pccc: &[u8]) -> Vec<u8> {
    let mut data = vec![0x07, 0x01, 0x00, 0x78, 0x56, 0x34, 0x12]; // requester id: length 7, vendor 1, serial
    data.extend_from_slice(pccc);
    req(0x4b, &[0x20, 0x67, 0x24, 0x01], &data)
}

#[test]
fn classifies_pccc_reads_and_mode_changes() {
    let read = execute_pccc(&[0x0f, 0x00, 0x01, 0x00, 0xa2, 0x02, 0x07, 0x89, 0x00, 0x00]); // typed read 3 addr
    let mode = execute_pccc(&[0x0f, 0x00, 0x02, 0x00, 0x80, 0x01]); // change CPU mode: remote program
    let reply = resp(0x4b, 0x00, &[0x07, 0x01, 0x00, 0x78, 0x56, 0x34, 0x12, 0x4f, 0x00, 0x01, 0x00]);
    let r = run(&[(C2S, rr(1, &read)), (S2C, rr(1, &reply)), (C2S, rr(2, &mode))]);
    assert_eq!(
        r.ops(),
        vec![
            ("cip", "pccc_protected_typed_logical_read_3", Read),
            ("cip", "pccc_protected_typed_logical_read_3", Read),
            ("cip", "pccc_change_cpu_mode", Control),
        ]
    );
    assert_eq!(r.attr(2, "cpu_mode"), Some("remote_program"));
    assert_eq!(r.attr(2, "pccc_function"), Some("0x80"));
}

#[test]
fn classifies_stop_start_and_reset_as_control() {
    let r = run(&[
        (C2S, rr(1, &req(0x07, &[0x20, 0x8e, 0x24, 0x01], &[]))),
        (C2S, rr(2, &req(0x06, &[0x20, 0x8e, 0x24, 0x01], &[]))),
        (C2S, rr(3, &req(0x05, &IDENTITY_PATH, &[0x01]))), // reset to factory defaults
    ]);
    assert_eq!(r.ops(), vec![("cip", "stop", Control), ("cip", "start", Control), ("cip", "reset", Control)]);
    assert_eq!(r.attr(2, "reset_type"), Some("1"));
    assert_eq!(r.attr(2, "class"), Some("0x01"));
    assert_eq!(r.attr(2, "class_name"), Some("Identity"), "named from the generated CIP class table");
    assert_eq!(r.attr(0, "class_name"), None, "class 0x8e is not in the table");
}

#[test]
fn generated_tables_name_vendors_profiles_and_statuses() {
    use super::names;
    assert_eq!(names::vendor(1), Some("Rockwell Automation/Allen-Bradley"));
    assert_eq!(names::vendor(47), Some("Omron Corporation"));
    assert_eq!(names::device_type(14), Some("Programmable Logic Controller"));
    assert_eq!(names::class(0x06), Some("Connection Manager"));
    assert_eq!(names::general_status(0x08), Some("Service not supported"));
    assert_eq!(names::vendor(u16::MAX), None);
}

#[test]
fn classifies_file_object_downloads_as_program() {
    let r = run(&[(C2S, rr(1, &req(0x4c, &[0x20, 0x37, 0x24, 0xc8], &[0x00, 0x10, 0x00, 0x00])))]);
    assert_eq!(r.ops(), vec![("cip", "initiate_download", Program)]);
}

#[test]
fn reports_unknown_services_and_commands_as_unknown() {
    let r = run(&[
        (C2S, rr(1, &req(0x4b, &[0x20, 0x8e, 0x24, 0x01, 0x20, 0x74, 0x24, 0x01], &[0x01]))),
        (C2S, rr(2, &req(0x33, &[], &[]))),
        (C2S, encap(0x0001, 0, &[])),
    ]);
    assert_eq!(
        r.ops(),
        vec![
            ("cip", "class_0x8e_service_0x4b", Unknown),
            ("cip", "service_0x33", Unknown),
            ("enip", "command_0x0001", Unknown)
        ]
    );
}

#[test]
fn names_a_reply_without_its_request_by_its_service() {
    let r = run(&[(S2C, rr(9, &resp(0x07, 0x00, &[]))), (S2C, rr(9, &resp(0x4c, 0x00, &[])))]);
    assert_eq!(r.ops(), vec![("cip", "stop", Control), ("cip", "service_0x4c", Unknown)]);
}

#[test]
fn reports_bad_lengths_as_malformed_without_panicking() {
    // An item length past the message.
    let mut bad_item = rr_body(&[item(0x00b2, &[0x01, 0x00])]);
    bad_item[10] = 0x40; // unconnected data length 64
                         // A request path longer than the message.
    let long_path = rr(1, &[0x0e, 0x09, 0x20, 0x01]);
    // A Get_Attributes_All reply cut short.
    let r = run(&[
        (C2S, encap(0x6f, 0, &bad_item)),
        (C2S, long_path),
        (C2S, rr(4, &req(0x01, &IDENTITY_PATH, &[]))),
        (S2C, rr(4, &resp(0x01, 0x00, &[0x01, 0x00, 0x0e]))),
        (C2S, encap(0x6f, 0, &[0x00, 0x00])),
        (C2S, rr(5, &unconnected_send(&[0x4c]))),
    ]);
    assert_eq!(
        r.malformed,
        vec![
            "cpf_item_too_long",
            "cip_path_too_long",
            "identity_truncated",
            "cpf_truncated",
            "unconnected_send_unreadable"
        ]
    );
    assert!(r.events.is_empty());
}

#[test]
fn takes_an_error_reply_without_data_as_a_failed_command_not_malformed() {
    // cpppo refuses a request it cannot parse (here a Reset in
    // Unconnected_Send) with SendRRData, status 0x08 and no data.
    let mut refused = encap(0x6f, 6, &[]);
    refused[8] = 0x08; // status 0x00000008
    let r = run(&[(C2S, rr(6, &unconnected_send(&req(0x05, &IDENTITY_PATH, &[0x00])))), (S2C, refused)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert_eq!(r.ops(), vec![("cip", "reset", Control), ("enip", "send_rr_data", Session)]);
    // The same reply with status 0 is truncated.
    let r = run(&[(S2C, encap(0x6f, 6, &[]))]);
    assert_eq!(r.malformed, vec!["cpf_truncated"]);
}

#[test]
fn resynchronises_after_a_gap_and_forgets_waiting_requests() {
    let mut s = Enip.new_session();
    let mut r = Recorder::default();
    let get = rr(1, &req(0x01, &IDENTITY_PATH, &[]));
    s.data(&ctx(C2S), C2S, &get[..10], &mut r);
    s.gap(&ctx(C2S), C2S, 500, &mut r);
    let mut after = vec![0x33, 0x44, 0x55]; // tail of something lost
    after.extend_from_slice(&get);
    s.data(&ctx(C2S), C2S, &after, &mut r);
    s.close(&ctx(C2S), &mut r);
    assert_eq!(r.ops(), vec![("cip", "get_attributes_all", Discovery)]);
    assert_eq!(event_attr(r.event("enip.session_anomalies"), "resync_skipped_bytes"), Some("3"));
}

/// A conversation in both directions, each direction one byte stream.
fn conversation() -> (Vec<u8>, Vec<u8>) {
    let (open, opened) = forward_open(3);
    let mut c = encap(0x65, 0, &[0x01, 0x00, 0x00, 0x00]);
    c.extend_from_slice(&rr(7, &req(0x01, &IDENTITY_PATH, &[])));
    c.extend_from_slice(&open);
    c.extend_from_slice(&unit(0x1111_1111, 2, &req(0x4d, &symbol(b"Valve"), &[0xc1, 0x00, 0x01, 0x00, 0x01, 0x00])));
    c.extend_from_slice(&encap(0x63, 0, &[]));
    let mut s = encap(0x65, 0, &[0x01, 0x00, 0x00, 0x00]);
    s.extend_from_slice(&rr(7, &resp(0x01, 0x00, &identity::tests_l61())));
    s.extend_from_slice(&opened);
    s.extend_from_slice(&unit(0x2222_2222, 2, &resp(0x4d, 0x00, &[])));
    s.extend_from_slice(&list_identity_reply());
    (c, s)
}

/// Everything recorded, as comparable text.
fn summary(r: &Recorder) -> (Vec<String>, Vec<String>, Vec<&'static str>) {
    let m = r.messages.iter().map(|m| format!("{m:?}")).collect();
    let e = r.events.iter().map(|e| format!("{} {:?}", e.name, e.attributes)).collect();
    (m, e, r.malformed.clone())
}

#[test]
fn splitting_the_streams_at_every_offset_yields_the_same_output() {
    let (c, s) = conversation();
    // Each exchange whole, in order: client message k then server message k.
    let whole = run(&[(C2S, c.clone()), (S2C, s.clone())]);
    assert_eq!(whole.messages.len(), 10, "{:?}", whole.ops());
    assert!(whole.malformed.is_empty());
    let want = summary(&whole);
    for i in 0..=c.len() {
        let j = i * s.len() / c.len();
        let got =
            run(&[(C2S, c[..i].to_vec()), (C2S, c[i..].to_vec()), (S2C, s[..j].to_vec()), (S2C, s[j..].to_vec())]);
        assert_eq!(summary(&got), want, "split at {i} / {j}");
    }
}

#[test]
fn probes_for_a_plausible_header_at_the_start_of_a_stream() {
    let get = rr(7, &req(0x01, &IDENTITY_PATH, &[]));
    assert_eq!(Enip.probe(C2S, &get), Probe::Match);
    assert_eq!(Enip.probe(C2S, &get[..20]), Probe::NeedMore);
    assert_eq!(Enip.probe(C2S, &[0u8; 40]), Probe::NoMatch, "zeros are not a NOP stream");
    assert_eq!(Enip.probe(C2S, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Probe::NoMatch);
    assert_eq!(Enip.probe(C2S, &encap(0x65, 0, &[0x01, 0x00, 0x00, 0x00])), Probe::Match);
}

#[test]
fn reads_list_identity_and_io_over_udp() {
    let io = [
        0x02, 0x00, // item count 2
        0x02, 0x80, 0x08, 0x00, // sequenced address, length 8
        0x11, 0x11, 0x11, 0x11, 0x01, 0x00, 0x00, 0x00, // connection id, sequence
        0xb1, 0x00, 0x04, 0x00, // connected data, length 4
        0x01, 0x00, 0xaa, 0xbb, // sequence count, I/O data
    ];
    assert_eq!(EnipUdp.probe(&io), Probe::Match);
    assert_eq!(EnipUdp.probe(&list_identity_reply()), Probe::Match);
    assert_eq!(EnipUdp.probe(&list_identity_reply()[..30]), Probe::NoMatch);
    assert_eq!(EnipUdp.probe(&io[..20]), Probe::NoMatch);
    let mut s = EnipUdp.new_session();
    let mut r = Recorder::default();
    s.datagram(&ctx(C2S), C2S, &encap(0x63, 0, &[]), &mut r);
    s.datagram(&ctx(S2C), S2C, &list_identity_reply(), &mut r);
    s.datagram(&ctx(C2S), C2S, &io, &mut r);
    s.datagram(&ctx(S2C), S2C, &list_identity_reply()[..40], &mut r);
    s.close(&ctx(C2S), &mut r);
    assert_eq!(
        r.ops(),
        vec![("enip", "list_identity", Discovery), ("enip", "list_identity", Discovery), ("enip", "io", Read)]
    );
    assert_eq!(r.malformed, vec!["truncated_message"]);
    assert_eq!(event_attr(r.event("enip.list_identity"), "product_name"), Some("1756-ENBT/A"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(
        (any::<bool>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200)), 0..12)
    ) {
        let mut s = Enip.new_session();
        let mut u = EnipUdp.new_session();
        let mut r = Recorder::default();
        for (to_server, gap, bytes) in &chunks {
            let d = if *to_server { C2S } else { S2C };
            if *gap {
                s.gap(&ctx(d), d, bytes.len() as u64, &mut r);
            }
            let _ = Enip.probe(d, bytes);
            let _ = EnipUdp.probe(bytes);
            s.data(&ctx(d), d, bytes, &mut r);
            u.datagram(&ctx(d), d, bytes, &mut r);
        }
        s.close(&ctx(C2S), &mut r);
        u.close(&ctx(C2S), &mut r);
    }

    #[test]
    fn mutated_messages_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let (mut c, mut s) = conversation();
        for (i, v) in &flips {
            let k = i.index(c.len() + s.len());
            if k < c.len() { c[k] = *v } else { s[k - c.len()] = *v }
        }
        let _ = run(&[(C2S, c), (S2C, s)]);
    }
}

#[test]
fn probes_a_first_chunk_that_is_one_message_with_an_unassigned_command() {
    let probe = encap(0x0001, 0, &[]); // what a tool sends first (EIP-FirmwareChange.pcap)
    assert_eq!(Enip.probe(C2S, &probe), Probe::Match);
    let mut longer = probe.clone();
    longer.push(0);
    assert_eq!(Enip.probe(C2S, &longer), Probe::NoMatch);
}

#[test]
fn tells_the_originator_of_a_connection_picked_up_mid_stream() {
    let get = req(0x0e, &[0x20, 0x01, 0x24, 0x01, 0x30, 0x07], &[]);
    assert_eq!(sent_by_client(&rr(1, &get)), Some(true));
    assert_eq!(sent_by_client(&rr(1, &[0x8e, 0, 0, 0, 1, 2])), Some(false));
    assert_eq!(sent_by_client(&unit(7, 1, &get)), Some(true));
    assert_eq!(sent_by_client(&unit(7, 1, &[0x8e, 0, 0, 0, 1, 2])), Some(false));
    assert_eq!(sent_by_client(&encap(0x63, 0, &[])), Some(true), "ListIdentity request");
    assert_eq!(sent_by_client(&encap(0x63, 0, &[1, 0])), Some(false), "its reply");
    assert_eq!(sent_by_client(&encap(0x65, 0, &[1, 0, 0, 0])), None, "RegisterSession looks the same both ways");
    let mut failed = encap(0x65, 0, &[1, 0, 0, 0]);
    failed[8] = 0x69; // status: unsupported protocol revision
    assert_eq!(sent_by_client(&failed), Some(false));
}

#[test]
fn tells_who_sent_a_datagram_unless_it_is_implicit_io() {
    assert_eq!(EnipUdp.sent_by_client(&encap(0x63, 0, &[])), Some(true), "ListIdentity request");
    assert_eq!(EnipUdp.sent_by_client(&list_identity_reply()), Some(false));
    // Class 1 I/O: a sequenced address and connected data, either way.
    let mut io = vec![2, 0];
    io.extend_from_slice(&item(0x8002, &[1, 0, 0, 0, 5, 0, 0, 0]));
    io.extend_from_slice(&item(0x00b1, &[5, 0, 1, 2, 3, 4]));
    assert_eq!(EnipUdp.probe(&io), Probe::Match);
    assert_eq!(EnipUdp.sent_by_client(&io), None);
}
