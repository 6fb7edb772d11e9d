use super::*;
use crate::test_support::{event_attr, Recorder};
use otposture_model::{MacAddr, Timestamp};
use proptest::prelude::*;

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if value.len() < 0x80 {
        out.push(value.len() as u8);
    } else {
        out.extend([0x82, (value.len() >> 8) as u8, value.len() as u8]);
    }
    out.extend_from_slice(value);
    out
}

/// APPID, Length (from APPID to the PDU's end), Reserved 1, Reserved 2, PDU.
fn frame(appid: u16, reserved1: u16, pdu: &[u8]) -> Vec<u8> {
    let mut out = appid.to_be_bytes().to_vec();
    out.extend(((pdu.len() + 8) as u16).to_be_bytes());
    out.extend(reserved1.to_be_bytes());
    out.extend([0, 0]);
    out.extend_from_slice(pdu);
    out
}

/// The fields of a GOOSE PDU in their ASN.1 order, as a real F650 relay sends them.
fn goose_fields(simulation: u8, entries: u8, values: usize) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(tlv(0x80, b"GEDeviceF650/LLN0$GO$gcb01")); // gocbRef
    f.extend(tlv(0x81, &[0x00, 0x9c, 0x40])); // timeAllowedtoLive 40000 ms
    f.extend(tlv(0x82, b"GEDeviceF650/LLN0$GOOSE1")); // datSet
    f.extend(tlv(0x83, b"F650_GOOSE1")); // goID
    f.extend(tlv(0x84, &[0x38, 0x6e, 0xbb, 0xf3, 0x42, 0x17, 0x28, 0x0a])); // t
    f.extend(tlv(0x85, &[0x01])); // stNum
    f.extend(tlv(0x86, &[0x0a])); // sqNum
    f.extend(tlv(0x87, &[simulation])); // simulation
    f.extend(tlv(0x88, &[0x01])); // confRev
    f.extend(tlv(0x89, &[0x00])); // ndsCom
    f.extend(tlv(0x8a, &[entries])); // numDatSetEntries
    let mut data = Vec::new();
    for _ in 0..values {
        data.extend(tlv(0x83, &[0x00])); // boolean FALSE
    }
    f.extend(tlv(0xab, &data)); // allData
    f
}

fn goose(simulation: u8) -> Vec<u8> {
    frame(0x0001, 0, &tlv(0x61, &goose_fields(simulation, 2, 2)))
}

fn ctx() -> PacketCtx<'static> {
    PacketCtx {
        src_mac: Some(MacAddr([0x00, 0xa0, 0xf4, 0x08, 0x2f, 0x77])),
        dst_mac: Some(MacAddr([0x01, 0xa0, 0xf4, 0x08, 0x2f, 0x77])),
        ..PacketCtx::at(Timestamp::from_parts(1_445_506_153, 0), 3)
    }
}

/// Records what a frame dissector emits (frames have no direction, so
/// messages are kept here by operation name only).
#[derive(Default)]
struct Frames {
    r: Recorder,
    messages: Vec<(&'static str, String, OperationClass)>,
}

impl Emit for Frames {
    fn message(&mut self, _: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.messages.push((p, op.into_owned(), class));
    }
    fn event(&mut self, event: otposture_model::Event) {
        self.r.events.push(event);
    }
    fn malformed(&mut self, c: &PacketCtx<'_>, p: &'static str, what: &'static str) {
        self.r.malformed(c, p, what);
    }
}

fn run(d: &dyn FrameDissector, data: &[u8]) -> Frames {
    let mut f = Frames::default();
    d.frame(&ctx(), data, &mut f);
    f
}

#[test]
fn a_goose_frame_names_its_publisher() {
    let mut bytes = goose(0);
    bytes.extend([0u8; 6]); // Ethernet padding after Length is ignored
    let g = parse_goose(&bytes).unwrap();
    assert_eq!(g.header.appid, 1);
    assert_eq!(g.gocb_ref, b"GEDeviceF650/LLN0$GO$gcb01");
    assert_eq!(g.dat_set, b"GEDeviceF650/LLN0$GOOSE1");
    assert_eq!(g.go_id, Some(&b"F650_GOOSE1"[..]));
    assert_eq!((g.time_allowed_to_live, g.st_num, g.sq_num, g.conf_rev), (Some(40_000), 1, 10, 1));
    assert_eq!((g.entries, g.values, g.simulation, g.nds_com), (2, 2, false, false));

    let f = run(&GooseDissector, &bytes);
    assert_eq!(f.messages, vec![("goose", "publish".to_string(), OperationClass::Read)]);
    assert!(f.r.malformed.is_empty());
    let [e] = &f.r.events[..] else { panic!("one identity: {:?}", f.r.events) };
    assert_eq!((e.name.as_ref(), e.kind), ("goose.publisher", EventKind::Identity));
    assert_eq!(e.src_mac, ctx().src_mac);
    let attrs: Vec<(&str, &str)> = e.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_str())).collect();
    assert_eq!(
        attrs,
        vec![
            ("appid", "0x0001"),
            ("gocb_ref", "GEDeviceF650/LLN0$GO$gcb01"),
            ("logical_device", "GEDeviceF650"),
            ("dat_set", "GEDeviceF650/LLN0$GOOSE1"),
            ("go_id", "F650_GOOSE1"),
            ("conf_rev", "1"),
            ("entries", "2"),
        ]
    );
}

#[test]
fn simulation_and_commissioning_flags_are_reported() {
    let f = run(&GooseDissector, &goose(1));
    assert_eq!(event_attr(&f.r.events[0], "simulation"), Some("true"));
    // The Ed2 simulate bit in Reserved 1 says the same.
    let f = run(&GooseDissector, &frame(0x0001, 0x8000, &tlv(0x61, &goose_fields(0, 2, 2))));
    assert_eq!(event_attr(&f.r.events[0], "simulation"), Some("true"));
    let mut fields = goose_fields(0, 3, 2);
    // ndsCom TRUE: the control block needs commissioning.
    let at = fields.windows(3).position(|w| w == [0x89, 0x01, 0x00]).unwrap();
    fields[at + 2] = 0xff;
    let f = run(&GooseDissector, &frame(0x0001, 0, &tlv(0x61, &fields)));
    let e = &f.r.events[0];
    assert_eq!(event_attr(e, "nds_com"), Some("true"));
    assert_eq!((event_attr(e, "entries"), event_attr(e, "values")), (Some("3"), Some("2")));
}

#[test]
fn unprintable_names_are_kept_and_flagged() {
    let mut fields = goose_fields(0, 2, 2);
    let at = fields.windows(4).position(|w| w == b"F650").unwrap();
    fields[at] = 0x01;
    let f = run(&GooseDissector, &frame(0x0001, 0, &tlv(0x61, &fields)));
    let e = &f.r.events[0];
    assert_eq!(event_attr(e, "gocb_ref"), Some("GEDevice\u{1}650/LLN0$GO$gcb01"));
    assert_eq!(event_attr(e, "invalid_text"), Some("gocb_ref,logical_device"));
}

#[test]
fn broken_goose_frames_are_malformed_not_panics() {
    let good = goose(0);
    // Every truncation: the Length no longer fits, or the header is short.
    for cut in 0..good.len() {
        let f = run(&GooseDissector, &good[..cut]);
        assert_eq!(f.r.malformed.len(), 1, "cut at {cut}");
        assert!(f.messages.is_empty() && f.r.events.is_empty());
    }
    let malformed = |bytes: &[u8]| run(&GooseDissector, bytes).r.malformed;
    assert_eq!(malformed(&[0, 1, 0, 4, 0, 0, 0, 0]), vec!["bad_length"]);
    assert_eq!(malformed(&frame(1, 0, &tlv(0x60, &goose_fields(0, 2, 2)))), vec!["not_pdu"]);
    // Without stNum.
    let fields = goose_fields(0, 2, 2);
    let at = fields.windows(3).position(|w| w == [0x85, 0x01, 0x01]).unwrap();
    let without: Vec<u8> = fields[..at].iter().chain(&fields[at + 3..]).copied().collect();
    assert_eq!(malformed(&frame(1, 0, &tlv(0x61, &without))), vec!["missing_field"]);
    // A length byte that runs past the PDU.
    let mut bad = goose_fields(0, 2, 2);
    bad[1] = 0x7f;
    assert_eq!(malformed(&frame(1, 0, &tlv(0x61, &bad))), vec!["ber_truncated"]);
}

fn sv_asdu(id: &[u8], count: u16) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend(tlv(0x80, id)); // svID
    a.extend(tlv(0x81, b"MU01LD0/LLN0$PhsMeas1")); // datSet
    a.extend(tlv(0x82, &count.to_be_bytes())); // smpCnt
    a.extend(tlv(0x83, &1u32.to_be_bytes())); // confRev
    a.extend(tlv(0x85, &[2])); // smpSynch: global
    a.extend(tlv(0x86, &4000u16.to_be_bytes())); // smpRate
    a.extend(tlv(0x87, &[0u8; 64])); // sample: 8 x (value, quality)
    tlv(0x30, &a)
}

#[test]
fn a_sampled_values_frame_names_each_stream() {
    let mut seq = sv_asdu(b"MU01", 10);
    seq.extend(sv_asdu(b"MU02", 11));
    let mut pdu = tlv(0x80, &[2]); // noASDU
    pdu.extend(tlv(0xa2, &seq));
    let bytes = frame(0x4000, 0, &tlv(0x60, &pdu));
    let sv = parse_sv(&bytes).unwrap();
    assert_eq!((sv.no_asdu, sv.asdu_count), (2, 2));
    let a = sv.asdus[1].unwrap();
    assert_eq!((a.sv_id, a.smp_cnt, a.conf_rev, a.smp_synch, a.smp_rate), (&b"MU02"[..], 11, 1, Some(2), Some(4000)));

    let f = run(&SvDissector, &bytes);
    assert_eq!(f.messages, vec![("sv", "publish".to_string(), OperationClass::Read)]);
    let ids: Vec<&str> = f.r.events.iter().map(|e| event_attr(e, "sv_id").unwrap()).collect();
    assert_eq!(ids, ["MU01", "MU02"]);
    let e = &f.r.events[0];
    assert_eq!(event_attr(e, "logical_device"), Some("MU01LD0"));
    assert_eq!((event_attr(e, "smp_rate"), event_attr(e, "smp_synch")), (Some("4000"), Some("2")));
    assert_eq!(event_attr(e, "asdus"), None);

    // An ASDU without smpCnt, and a stated count that disagrees.
    let mut pdu = tlv(0x80, &[3]);
    pdu.extend(tlv(0xa2, &sv_asdu(b"MU01", 1)));
    let f = run(&SvDissector, &frame(0x4000, 0, &tlv(0x60, &pdu)));
    assert_eq!(event_attr(&f.r.events[0], "asdus"), Some("1 of 3 stated"));
    let mut pdu = tlv(0x80, &[1]);
    pdu.extend(tlv(0xa2, &tlv(0x30, &tlv(0x80, b"MU01"))));
    assert_eq!(run(&SvDissector, &frame(0x4000, 0, &tlv(0x60, &pdu))).r.malformed, vec!["missing_field"]);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = run(&GooseDissector, &data);
        let _ = run(&SvDissector, &data);
    }

    #[test]
    fn mutated_frames_never_panic(at in 0usize..200, byte in any::<u8>()) {
        let mut g = goose(0);
        if let Some(b) = g.get_mut(at) {
            *b = byte;
        }
        let _ = run(&GooseDissector, &g);
    }
}
