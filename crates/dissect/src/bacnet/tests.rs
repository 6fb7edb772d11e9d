#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{ctx, event_attr, Recorder};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn run(datagrams: &[(Direction, &str)]) -> Recorder {
    let mut s = Bacnet.new_session();
    let mut r = Recorder::default();
    for (d, h) in datagrams {
        s.datagram(&ctx(*d), *d, &hex(h), &mut r);
    }
    r
}

use Direction::{ToClient as S2C, ToServer as C2S};

// From bacnet_test.pcap: a scanner reads the identity of a Johnson Controls
// NAE, addressing it as the wildcard device 4194303, as Nmap's bacnet-info does.
//
// BVLC 81 0a (Original-Unicast-NPDU) 0011 (17 bytes); NPDU 01 (version) 04
// (expecting reply); APDU 00 (confirmed request) 05 (max 1476) 01 (invoke 1)
// 0c (ReadProperty); 0c 023fffff (context 0: device,4194303); 19 4b (context 1:
// property 75, object-identifier).
const READ_OBJECT_ID: &str = "810a001101040005010c0c023fffff194b";
// The ComplexACK: 30 01 0c, the same object and property, 3e (open 3), c4
// 020001f4 (application object identifier: device,500), 3f (close 3).
const OBJECT_ID_ACK: &str = "810a0017010030010c0c023fffff194b3ec4020001f43f";
// vendor-identifier (120): application unsigned 5.
const VENDOR_ID_ACK: &str = "810a0014010030010c0c023fffff19783e21053f";
// vendor-name (121): character string, 7 bytes, character set 4 (UCS-2) "JCI".
const VENDOR_NAME_ACK: &str = "810a001b010030010c0c023fffff19793e750704004a004300493f";
// firmware-revision (44): UCS-2 "5.1.0.4400".
const FIRMWARE_ACK: &str = "810a0029010030010c0c023fffff192c3e7515040035002e0031002e0030002e00340034003000303f";
// model-name (70): UCS-2 "MS-NAE4510-2".
const MODEL_ACK: &str = "810a002d010030010c0c023fffff19463e751904004d0053002d004e004100450034003500310030002d00323f";
// location (58): an empty UCS-2 string.
const LOCATION_ACK: &str = "810a0014010030010c0c023fffff193a3e71043f";

#[test]
fn reads_a_device_identity_from_read_property_answers() {
    let r = run(&[
        (C2S, READ_OBJECT_ID),
        (S2C, OBJECT_ID_ACK),
        (S2C, VENDOR_ID_ACK),
        (S2C, VENDOR_NAME_ACK),
        (S2C, FIRMWARE_ACK),
        (S2C, MODEL_ACK),
        (S2C, LOCATION_ACK),
    ]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert!(r.messages.iter().all(|m| m.2 == "read_property" && m.3 == OperationClass::Read));
    let ids: Vec<_> = r.events.iter().filter(|e| e.name == "bacnet.device").collect();
    assert_eq!(ids.len(), 4, "one per answer that states something: {:?}", r.events);
    // Every answer names the device learned from object-identifier.
    assert!(ids.iter().all(|e| event_attr(e, "device_instance") == Some("500")));
    assert_eq!(event_attr(ids[0], "vendor_id"), Some("5"));
    assert_eq!(event_attr(ids[0], "vendor"), Some("Johnson Controls, Inc."));
    assert_eq!(event_attr(ids[1], "vendor_name"), Some("JCI"));
    assert_eq!(event_attr(ids[2], "firmware_revision"), Some("5.1.0.4400"));
    assert_eq!(event_attr(ids[3], "model_name"), Some("MS-NAE4510-2"));
}

#[test]
fn counts_bbmd_functions_and_keeps_foreign_device_registration() {
    let r = run(&[
        (C2S, "81020004"),     // Read-Broadcast-Distribution-Table
        (S2C, "810000060020"), // BVLC-Result: Read-BDT NAK
        (C2S, "810500060010"), // Register-Foreign-Device, TTL 16 s
        (S2C, "810000060030"), // BVLC-Result: Register-Foreign-Device NAK
    ]);
    let got: Vec<_> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
    use OperationClass::*;
    assert_eq!(
        got,
        vec![
            ("read_broadcast_distribution_table", Discovery),
            ("bvlc_result", Configuration),
            ("register_foreign_device", Configuration),
            ("bvlc_result", Configuration),
        ]
    );
    assert_eq!(r.messages[2].4, vec![("ttl".to_string(), "16".to_string())]);
    assert_eq!(r.messages[3].4, vec![("result".to_string(), "register_foreign_device_nak".to_string())]);
}

#[test]
fn reads_an_i_am() {
    // Original-Broadcast-NPDU, NPDU 01 20 (destination present) ffff 00 ff (global
    // broadcast, hop count 255); APDU 10 00 (unconfirmed I-Am): c4 02000065
    // (device,101), 22 0400 (max APDU 1024), 91 03 (no segmentation), 22 0104
    // (vendor 260: BACnet Stack at SourceForge).
    let r = run(&[(S2C, "810b0019 0120ffff00ff 1000 c402000065 220400 9103 220104".replace(' ', "").as_str())]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert_eq!(r.messages[0].2, "i_am");
    let e = &r.events[0];
    assert_eq!(e.name, "bacnet.i_am");
    for (k, v) in [
        ("device_instance", "101"),
        ("max_apdu", "1024"),
        ("segmentation", "none"),
        ("vendor_id", "260"),
        ("vendor", "BACnet Stack at SourceForge"),
    ] {
        assert_eq!(event_attr(e, k), Some(v), "{k}");
    }
}

/// A confirmed request datagram: BVLC unicast, NPDU expecting a reply, APDU
/// header with the invoke id, then the service and its parameters.
fn confirmed(invoke: u8, service: u8, params: &str) -> String {
    let apdu = format!("0005{invoke:02x}{service:02x}{params}").replace(' ', "");
    let body = format!("0104{apdu}");
    format!("810a{:04x}{body}", 4 + body.len() / 2)
}

#[test]
fn keeps_writes_controls_and_their_refusals() {
    // WriteProperty analog-value,3 (0x00800003) present-value (85) = real 72.5, priority 8.
    let write = confirmed(7, 15, "0c00800003 1955 3e 4442910000 3f 4908");
    // SimpleACK for it: 20 07 0f.
    let ack = "810a0009010020070f";
    // DeviceCommunicationControl: duration 60 min, disable, password "pw".
    let dcc = confirmed(8, 17, "093c 1901 2d03007077");
    // ReinitializeDevice warmstart, no password; refused with Error: class services (5), code 26 (password failure).
    let reinit = confirmed(9, 20, "0901");
    let error = "810a000d01005009149105911a";
    // Abort of the DCC (invoke id 8) by the server, reason 4 (segmentation not supported).
    let abort = "810a00090100710804";
    let r = run(&[(C2S, &write), (S2C, ack), (C2S, &dcc), (C2S, &reinit), (S2C, error), (S2C, abort)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let got: Vec<_> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
    use OperationClass::*;
    assert_eq!(
        got,
        vec![
            ("write_property", Write),
            ("write_property", Write),
            ("device_communication_control", Control),
            ("reinitialize_device", Control),
            ("reinitialize_device", Control),
            ("device_communication_control", Control),
        ]
    );
    assert_eq!(r.folded, vec![1], "the SimpleACK folds into the write");
    let attr = |i: usize, k: &str| r.messages[i].4.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(attr(0, "object").as_deref(), Some("analog-value,3"));
    assert_eq!(attr(0, "property").as_deref(), Some("present-value"));
    assert_eq!(attr(0, "value").as_deref(), Some("72.5"));
    assert_eq!(attr(0, "priority").as_deref(), Some("8"));
    assert_eq!(attr(2, "state").as_deref(), Some("disable"));
    assert_eq!(attr(2, "duration_minutes").as_deref(), Some("60"));
    assert_eq!(attr(2, "password").as_deref(), Some("true"));
    assert_eq!(attr(3, "state").as_deref(), Some("warmstart"));
    assert_eq!(attr(4, "error").as_deref(), Some("services 26"));
    assert_eq!(attr(5, "reason").as_deref(), Some("abort: segmentation_not_supported"));
    // An Abort whose request was not seen names no service: counted, not kept.
    let r = run(&[(S2C, "810a00090100710904")]);
    assert_eq!((r.messages[0].2.as_str(), r.messages[0].3), ("abort", OperationClass::Session));
}

#[test]
fn bad_headers_are_malformed() {
    let r = run(&[
        (C2S, "810a00"),       // cut inside the BVLC header
        (C2S, "810a0009"),     // BVLC length 9, datagram 4
        (C2S, "820a0004"),     // BACnet/IPv6 BVLC type
        (C2S, "810a00060204"), // NPDU version 2
        (C2S, "810a00060104"), // NPDU without APDU
    ]);
    assert_eq!(
        r.malformed,
        vec!["bvlc_truncated", "bvlc_bad_length", "bvlc_bad_type", "npdu_bad_version", "apdu_truncated"]
    );
}

#[test]
fn reads_a_read_property_multiple_answer() {
    // ComplexACK RPM (14): device,500 (0c 020001f4), 1e (open 1),
    // 29 4d (property 77) 4e 75 06 00 41 48 55 2d 31 4f (value "AHU-1"),
    // 29 79 (property 121) 5e 91 02 91 20 5f (error: property, unknown-property),
    // 1f (close 1).
    let ack = "810a0024010030020e0c020001f41e294d4e750600 4148552d314f29795e910291205f1f".replace(' ', "");
    let r = run(&[(S2C, &ack)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let e = r.events.iter().find(|e| e.name == "bacnet.device").unwrap();
    assert_eq!(event_attr(e, "device_instance"), Some("500"));
    assert_eq!(event_attr(e, "object_name"), Some("AHU-1"));
    assert_eq!(event_attr(e, "vendor_name"), None, "an error is not a value");
}

#[test]
fn reads_every_property_a_write_property_multiple_sets() {
    // analog-value,3 (0c 00800003), 1e (open 1):
    //   09 55 (property 85) 2e 44 42910000 2f (value 72.5) 39 08 (priority 8),
    //   09 51 (property 81, out-of-service) 2e 11 2f (true),
    // 1f (close 1).
    let params = hex("0c008000031e09552e44429100002f390809512e112f1f");
    let all = params::write_property_multiple(&params);
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].property, all[0].value.as_deref(), all[0].priority), (85, Some("72.5"), Some(8)));
    assert_eq!((all[1].property, all[1].value.as_deref(), all[1].priority), (81, Some("true"), None));
    // Cut inside the second value: the first still stands.
    assert_eq!(params::write_property_multiple(&params[..18]).len(), 1);
}

proptest! {
    #[test]
    fn never_panics_on_any_datagram(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut s = Bacnet.new_session();
        let mut r = Recorder::default();
        s.datagram(&ctx(C2S), C2S, &data, &mut r);
        // With a valid BVLC/NPDU header in front, the APDU layers are reached.
        let mut framed = vec![0x81, 0x0a, 0, 0, 0x01, 0x04];
        framed.extend(&data);
        let len = framed.len() as u16;
        framed[2..4].copy_from_slice(&len.to_be_bytes());
        s.datagram(&ctx(S2C), S2C, &framed, &mut r);
        let _ = params::read_property_multiple_ack(&data);
        let _ = params::write_property_multiple(&data);
    }
}

#[test]
fn tells_who_sent_a_datagram_for_a_flow_between_two_bacnet_ports() {
    let by_client = |h: &str| Bacnet.sent_by_client(&hex(h));
    // Requests and their answers, from the captures above.
    assert_eq!(by_client(READ_OBJECT_ID), Some(true));
    assert_eq!(by_client(OBJECT_ID_ACK), Some(false));
    // SimpleACK, Error, Reject; an Abort says which side sent it.
    assert_eq!(by_client("810a0009010020010f"), Some(false));
    assert_eq!(by_client("810a000d010050011191029102"), Some(false));
    assert_eq!(by_client("810a0009010060010a"), Some(false));
    assert_eq!(by_client("810a0009010071010a"), Some(false));
    assert_eq!(by_client("810a0009010070010a"), Some(true));
    // Who-Is and I-Am, Who-Has, a COV notification, time synchronisation.
    assert_eq!(by_client("810a000801001008"), Some(true));
    assert_eq!(by_client("810a0014010010000c020004b12204009100210f"), Some(false));
    assert_eq!(by_client("810a000801001007"), Some(true));
    assert_eq!(by_client("810a000801001002"), Some(false));
    assert_eq!(by_client("810a000801001006"), Some(true));
    // A foreign device registers with its BBMD, which answers.
    assert_eq!(by_client("81050006003c"), Some(true));
    assert_eq!(by_client("810000060000"), Some(false));
    assert_eq!(by_client("8109000801001008"), Some(true));
    // Cannot tell: a Forwarded-NPDU, a segment acknowledgement, a network
    // message, a private transfer, a datagram that is not BACnet/IP.
    for h in ["8104000ec0a80a14bac001001008", "810a000a010040010203", "810a0007018000", "810a000801001004"] {
        assert_eq!(Bacnet.probe(&hex(h)), Probe::Match, "{h} is BACnet/IP");
        assert_eq!(by_client(h), None, "{h}");
    }
    assert_eq!(by_client("82"), None);
}
