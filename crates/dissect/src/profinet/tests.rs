#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{event_attr, Recorder};
use otposture_model::{Direction, MacAddr, Timestamp};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn ctx() -> PacketCtx<'static> {
    PacketCtx {
        direction: Some(Direction::ToServer),
        src_mac: Some(MacAddr([0x08, 0x00, 0x06, 0x93, 0xcf, 0x32])),
        dst_mac: Some(MacAddr([0x00, 0x0c, 0x29, 0xba, 0x09, 0xea])),
        ..PacketCtx::at(Timestamp::from_parts(1_321_868_480, 0), 2)
    }
}

fn run(frames: &[Vec<u8>]) -> Recorder {
    let mut r = Recorder::default();
    for f in frames {
        Profinet.frame(&ctx(), f, &mut r);
    }
    r
}

// The DCP frames of ChangeIPUsingDCP.pcap (a tool renames nothing but moves a
// Siemens X208 switch from 192.168.0.6 to .10), PN-RT payload from the FrameID.

/// Identify request: FrameID 0xFEFE; Identify (5), request (0); Xid 0x01000001;
/// ResponseDelay 1; DCPDataLength 4; block All/All, length 0; Ethernet padding.
const IDENTIFY_ALL: &str = "fefe05000100000100010004ffff0000000000000000000000000000";

/// Identify response: FrameID 0xFEFF; Identify, success; Xid; reserved; length 94.
/// Blocks (option/suboption, length, BlockInfo, value):
/// 2/5 DeviceOptions (28: info 0 and 13 option pairs), 2/1 type of station
/// "INC" (5, padded), 2/2 NameOfStation "X208-BORD" (11, padded), 2/3 VendorID
/// 0x002a DeviceID 0x0a01 (6), 2/4 role 0x01 IO device (4), 1/2 IP set
/// (info 1) 192.168.0.6 / 255.255.255.0 / 192.168.0.1 (14).
const IDENTIFY_OK: &str = concat!(
    "feff0501010000010000005e",
    "0205001c00000101010202010202020302040205033d0501050205030504ffff",
    "020100050000494e4300",
    "0202000b0000583230382d424f524400",
    "020300060000002a0a01",
    "0204000400000100",
    "0102000e0001c0a80006ffffff00c0a80001",
);

/// Set request: FrameID 0xFEFD; Set (4), request; length 18; block 1/2 IP,
/// length 14, qualifier 1 (permanent), 192.168.0.10 / 255.255.255.0 / 192.168.0.1.
const SET_IP: &str = "fefd040001000001000000120102000e0001c0a8000affffff00c0a80001000000000000";

/// Set response: success; length 8; block 5/4 Control/Response, length 3:
/// answered 1/2, BlockError 0 (ok); padding.
const SET_OK: &str = "fefd0401010000010000000805040003010200000000";

#[test]
fn reads_the_identity_of_an_identify_response() {
    let r = run(&[hex(IDENTIFY_ALL), hex(IDENTIFY_OK)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let ops: Vec<_> = r.messages.iter().map(|m| (m.0, m.2.as_str(), m.3)).collect();
    use OperationClass::Discovery;
    assert_eq!(ops, vec![("pn_dcp", "identify", Discovery), ("pn_dcp", "identify", Discovery)]);
    assert_eq!(r.events.len(), 1, "the request describes nothing");
    let e = &r.events[0];
    assert_eq!((e.name.as_ref(), e.kind), ("pn_dcp.identity", EventKind::Identity));
    let want = [
        ("service", "identify"),
        ("type_of_station", "INC"),
        ("name_of_station", "X208-BORD"),
        ("vendor_id", "0x002a"),
        ("device_id", "0x0a01"),
        ("device_role", "PROFINET IO device"),
        ("ip", "192.168.0.6"),
        ("subnet_mask", "255.255.255.0"),
        ("gateway", "192.168.0.1"),
        ("ip_state", "set"),
    ];
    for (k, v) in want {
        assert_eq!(event_attr(e, k), Some(v), "{k}");
    }
    assert_eq!(event_attr(e, "ip_conflict"), None);
}

#[test]
fn keeps_a_set_that_readdresses_a_device_and_folds_its_success() {
    let r = run(&[hex(SET_IP), hex(SET_OK)]);
    assert_eq!(r.messages.len(), 2);
    let (p, _, op, class, a) = &r.messages[0];
    assert_eq!((*p, op.as_str(), *class), ("pn_dcp", "set", OperationClass::Configuration));
    let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("ip"), Some("192.168.0.10"));
    assert_eq!(get("subnet_mask"), Some("255.255.255.0"));
    assert_eq!(get("qualifier"), Some("permanent"));
    assert_eq!(get("target_mac"), Some("00:0c:29:ba:09:ea"));
    assert_eq!(get("xid"), Some("0x01000001"));
    assert_eq!(r.folded, vec![1], "the ok response is an answer, not a second record");
}

#[test]
fn keeps_a_refused_set_with_its_error() {
    // The same response with BlockError 6: "in operation, SET not possible".
    let refused = hex("fefd0401010000010000000805040003010206000000");
    let r = run(&[refused]);
    assert!(r.folded.is_empty());
    let a = &r.messages[0].4;
    assert_eq!(a.iter().find(|(k, _)| k == "error").map(|(_, v)| v.as_str()), Some("1/2: in_operation"));
}

#[test]
fn renames_and_resets_are_configuration_and_a_flash_is_diagnostic() {
    // Set NameOfStation "%n%n%n " (qualifier 1, 9 bytes, padded), then end of transaction:
    // the frame of profinet-wireshark-bug.pcap that once crashed Wireshark.
    let rename = hex("fefd04000100000100000014020200090001256e256e256e2000050200020000");
    // Reset to factory, qualifier 0x0010: mode 8, the whole device.
    let reset = hex("fefd0400000000070000000605060002001000");
    // Signal: flash once (qualifier 0, value 0x0100).
    let flash = hex("fefd040000000008000000080503000400000100");
    let r = run(&[rename, reset, flash]);
    let got: Vec<_> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
    use OperationClass::*;
    assert_eq!(got, vec![("set", Configuration), ("set", Configuration), ("signal", Diagnostic)]);
    let attr = |i: usize, k: &str| r.messages[i].4.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(attr(0, "name_of_station").as_deref(), Some("%n%n%n "));
    assert_eq!(attr(1, "reset").as_deref(), Some("device_to_factory"));
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
}

#[test]
fn counts_other_real_time_frames_by_frame_id() {
    let r = run(&[hex("8001aabbccdd"), hex("fc01000000"), hex("ff000000"), hex("fd00"), hex("80")]);
    let got: Vec<_> = r.messages.iter().map(|m| (m.0, m.2.as_str())).collect();
    assert_eq!(
        got,
        vec![("pn_rt", "cyclic_data"), ("pn_rt", "alarm_high"), ("pn_rt", "sync"), ("pn_rt", "reserved_frame_id")]
    );
    assert_eq!(r.malformed, vec!["pn_rt_truncated"]);
}

#[test]
fn bad_lengths_are_malformed_not_misread() {
    // DCPDataLength 94 with 20 bytes present.
    let short = hex(&IDENTIFY_OK[..64]);
    // A block whose length runs past the data: the blocks before it still count.
    let cut = hex("feff0501010000010000000f020200100000583230382d424f5244");
    let r = run(&[short, cut, hex("fefe0500")]);
    assert_eq!(r.malformed, vec!["dcp_bad_data_length", "dcp_bad_block_length", "dcp_truncated"]);
    assert!(r.events.is_empty(), "{:?}", r.events);
}

#[test]
fn a_get_request_lists_what_it_reads() {
    let get = hex("fefd0300000000090000000402020203");
    let pdu = dcp::parse(&get).unwrap();
    assert_eq!(pdu.requested_options().collect::<Vec<_>>(), vec![(2, 2), (2, 3)]);
    assert_eq!(pdu.blocks().count(), 0);
}

proptest! {
    #[test]
    fn never_panics_and_borrows_inside_the_input(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut r = Recorder::default();
        Profinet.frame(&ctx(), &data, &mut r);
        if let Ok(pdu) = dcp::parse(&data) {
            let range = data.as_ptr_range();
            for b in pdu.blocks().flatten() {
                prop_assert!(b.value.is_empty() || range.contains(&b.value.as_ptr()));
            }
        }
    }

    #[test]
    fn dcp_frames_with_any_body_never_panic(service in 0u8..8, stype in 0u8..6, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut f = vec![0xfe, 0xfd, service, stype, 0, 0, 0, 1, 0, 0];
        f.extend((body.len() as u16).to_be_bytes());
        f.extend(&body);
        let mut r = Recorder::default();
        Profinet.frame(&ctx(), &f, &mut r);
    }
}
