//! Frames in, what the dissector emits out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{self, ctx, cut_at, event_attr, Recorder};
use otposture_model::{EventKind, OperationClass};
use proptest::prelude::*;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

fn hex(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
}

/// `other_ics/C37.118_1PMU_TCP.pcap`: the PDC's "send configuration 2"
/// (frame 4), the PMU's configuration 2 (frame 6: station "Blue PMU", id
/// 241, four phasors, 50 Hz, 50 frames a second), "turn on" (frame 8), a
/// data frame, and "turn off" (frame 413).
const SEND_CFG2: &str = "aa41001200f100000000000000000005d7d0";
const CFG2: &str = "aa31008600f14893344a0019999a00ffffff0001426c756520504d55202020202020202000f1000600040000000056314c504d202020202020202020202056414c504d202020202020202020202056424c504d202020202020202020202056434c504d202020202020202020202000000001000000010000000100000001000100590032c1e2";
const TURN_ON: &str = "aa41001200f100000000000000000002a737";
const DATA: &str =
    "aa01003600f14893344a001eb852080042f68f24c7c36623430188cbc7c36332c7a956764742fe4b47a91cdd4743d1440000000047ef";
const TURN_OFF: &str = "aa41001200f1000000000000000000019754";

/// A frame of `kind` (0-5) with `body`, its size and check filled in.
fn framed(kind: u8, idcode: u16, body: &[u8]) -> Vec<u8> {
    let mut f = vec![frame::SYNC, (kind << 4) | 1];
    f.extend_from_slice(&((frame::MIN_FRAME + body.len()) as u16).to_be_bytes());
    f.extend_from_slice(&idcode.to_be_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(body);
    let chk = frame::crc(&f);
    f.extend_from_slice(&chk.to_be_bytes());
    f
}

fn ops(r: &Recorder) -> Vec<(&str, OperationClass)> {
    r.messages.iter().map(|(_, _, o, c, _)| (o.as_str(), *c)).collect()
}

fn run(input: &[(Direction, Vec<u8>)]) -> Recorder {
    test_support::run(&C37118, input)
}

#[test]
fn a_pdc_session_of_a_real_pmu() {
    let r = run(&[
        (C2S, hex(SEND_CFG2)),
        (S2C, hex(CFG2)),
        (C2S, hex(TURN_ON)),
        (S2C, hex(DATA)),
        (S2C, hex(DATA)),
        (C2S, hex(TURN_OFF)),
    ]);
    use OperationClass::*;
    assert_eq!(
        ops(&r),
        [
            ("send_config_2", Discovery),
            ("config_2", Discovery),
            ("turn_on_transmission", Control),
            ("data", Read),
            ("data", Read),
            ("turn_off_transmission", Control)
        ]
    );
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let on = &r.messages[2].4;
    assert!(on.contains(&("stream_id".into(), "241".into())), "{on:?}");
    assert!(on.contains(&("command".into(), "2".into())), "{on:?}");
    let pmu = r.events.iter().find(|e| e.name == "c37118.pmu").unwrap();
    assert_eq!(pmu.kind, EventKind::Identity);
    assert_eq!(event_attr(pmu, "station"), Some("Blue PMU"));
    assert_eq!(event_attr(pmu, "name"), Some("Blue PMU"));
    assert_eq!(event_attr(pmu, "pmu_id"), Some("241"));
    assert_eq!(event_attr(pmu, "phasors"), Some("4"));
    assert_eq!(event_attr(pmu, "channels"), Some("V1LPM,VALPM,VBLPM,VCLPM"));
    assert_eq!(event_attr(pmu, "nominal_frequency"), Some("50 Hz"));
    assert_eq!(event_attr(pmu, "config_count"), Some("89"));
    assert_eq!(event_attr(pmu, "data_rate"), Some("50 frames/s"));
    assert!(r.events.iter().all(|e| e.kind != EventKind::Anomaly), "{:?}", r.events);
}

#[test]
fn every_split_gives_the_same_frames() {
    let c = [hex(SEND_CFG2), hex(TURN_ON), hex(TURN_OFF)].concat();
    let s = [hex(CFG2), hex(DATA), hex(DATA)].concat();
    let whole = test_support::splits_at_every_offset(&C37118, &c, &s);
    assert_eq!(whole.messages.len(), 6);
}

#[test]
fn a_frame_failing_its_check_is_malformed_and_not_read() {
    let mut cfg = hex(CFG2);
    cfg[40] ^= 0x01; // inside the station name
    let r = run(&[(S2C, cfg), (S2C, hex(DATA))]);
    assert_eq!(r.malformed, ["bad_crc"]);
    assert_eq!(ops(&r), [("data", OperationClass::Read)]);
    assert!(r.events.iter().all(|e| e.name != "c37118.pmu"));
    let counts = r.events.iter().find(|e| e.name == "c37118.session_anomalies").unwrap();
    assert_eq!(event_attr(counts, "bad_checks"), Some("1"));
}

#[test]
fn a_pdc_stream_names_each_pmu_but_not_itself() {
    // Two PMUs, one phasor and no analog or digital channel each.
    let pmu = |station: &str, id: u16| {
        let mut b = format!("{station:<16}").into_bytes();
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]); // format, phasors 1, analogs 0, digitals 0
        b.extend_from_slice(b"VA              ");
        b.extend_from_slice(&[0, 0, 0, 1]); // PHUNIT
        b.extend_from_slice(&[0, 0, 0, 7]); // FNOM 60 Hz, CFGCNT 7
        b
    };
    let mut body = vec![0, 0x0f, 0x42, 0x40, 0, 2];
    body.extend(pmu("North", 11));
    body.extend(pmu("South", 12));
    body.extend_from_slice(&(-5i16).to_be_bytes());
    let r = run(&[(S2C, framed(3, 900, &body)), (S2C, framed(3, 900, &body))]);
    let pmus: Vec<_> = r.events.iter().filter(|e| e.name == "c37118.pmu").collect();
    assert_eq!(pmus.len(), 2, "each PMU once, though the configuration came twice");
    assert_eq!(event_attr(pmus[0], "station"), Some("North"));
    assert_eq!(event_attr(pmus[1], "pmu_id"), Some("12"));
    assert_eq!(event_attr(pmus[1], "stream_id"), Some("900"));
    assert_eq!(event_attr(pmus[1], "nominal_frequency"), Some("60 Hz"));
    assert_eq!(event_attr(pmus[1], "data_rate"), Some("1 frame/5 s"));
    assert!(pmus.iter().all(|e| event_attr(e, "name").is_none()), "a PDC is not its PMUs");
    // Cut inside the second PMU's block: the first is named, the cut counted.
    let cut = &body[..body.len() - 10];
    let r = run(&[(S2C, framed(3, 900, cut))]);
    assert_eq!(r.events.iter().filter(|e| e.name == "c37118.pmu").count(), 1);
    assert_eq!(r.malformed, ["truncated_config"]);
}

#[test]
fn header_text_and_the_other_commands() {
    let r = run(&[
        (C2S, framed(4, 7, &[0, 3])),
        (S2C, framed(1, 7, b"Substation North, feeder 4 PMU\0")),
        (C2S, framed(4, 7, &[0, 8, 1, 2])),
        (C2S, framed(4, 7, &[0x02, 0x00])),
        (C2S, framed(4, 7, &[0x20, 0x00])),
        (S2C, framed(5, 7, &[0, 1, 2, 3])),
    ]);
    use OperationClass::*;
    assert_eq!(
        ops(&r),
        [
            ("send_header", Discovery),
            ("header", Discovery),
            ("extended_frame", Unknown),
            ("user_command", Unknown),
            ("reserved_command", Unknown),
            ("config_3", Discovery)
        ]
    );
    let h = r.events.iter().find(|e| e.name == "c37118.header").unwrap();
    assert_eq!(event_attr(h, "description"), Some("Substation North, feeder 4 PMU"));
}

#[test]
fn probe_direction_and_datagrams() {
    assert_eq!(C37118.probe(C2S, &hex(SEND_CFG2)), Probe::Match);
    assert_eq!(C37118.probe(S2C, &hex(CFG2)[..40]), Probe::NeedMore);
    let mut bad = hex(TURN_ON);
    bad[17] ^= 1;
    assert_eq!(C37118.probe(C2S, &bad), Probe::NoMatch, "a bad check is not C37.118");
    assert_eq!(C37118.probe(C2S, b"\xaa\x71 reserved type"), Probe::NoMatch);
    assert_eq!(C37118.sent_by_client(&hex(TURN_ON)), Some(true));
    assert_eq!(C37118.sent_by_client(&hex(DATA)), Some(false));
    // UDP: one frame per datagram; a datagram cut short is malformed.
    assert_eq!(C37118Udp.probe(&hex(DATA)), Probe::Match);
    assert_eq!(C37118Udp.probe(&hex(DATA)[..30]), Probe::NoMatch);
    let mut r = Recorder::default();
    let mut s = C37118Udp.new_session();
    s.datagram(&ctx(S2C), S2C, &hex(DATA), &mut r);
    s.datagram(&ctx(S2C), S2C, &hex(DATA)[..30], &mut r);
    assert_eq!(ops(&r), [("data", OperationClass::Read)]);
    assert_eq!(r.malformed, ["truncated_frame"]);
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
        let mut d = C37118Udp.new_session();
        d.datagram(&ctx(C2S), C2S, &c, &mut r);
        let _ = frame::parse_config(&s);
    }

    #[test]
    fn frames_after_noise_are_found(noise in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut s = noise;
        s.extend(hex(CFG2));
        s.extend(hex(DATA));
        let r = run(&[(S2C, s)]);
        prop_assert!(ops(&r).contains(&("data", OperationClass::Read)), "{:?}", ops(&r));
    }
}

#[test]
fn a_pmu_losing_and_regaining_its_time_source_is_reported_as_it_happens() {
    // The real configuration 2 (one PMU, four float phasors, 16-bit FREQ and
    // DFREQ, no analog or digital channel): a data block of 2 + 4 * 8 + 4 bytes.
    let block = |stat: u16| {
        let mut b = stat.to_be_bytes().to_vec();
        b.extend_from_slice(&[0; 36]);
        b
    };
    let data = |stat: u16| framed(0, 241, &block(stat));
    let r = run(&[
        (S2C, hex(CFG2)),
        (S2C, data(0x0800)),
        (S2C, data(0x2000)),
        (S2C, data(0x2000)),
        (S2C, data(0x0000)),
        (S2C, data(0xc000)),
        // Not what the configuration says: counted, not read.
        (S2C, framed(0, 241, &[0x20, 0, 1, 2])),
    ]);
    let status: Vec<_> = r.events.iter().filter(|e| e.name == "c37118.pmu_status").collect();
    let seen: Vec<_> =
        status.iter().map(|e| (event_attr(e, "synchronised").unwrap(), event_attr(e, "data_error").unwrap())).collect();
    assert_eq!(seen, [("false", "none"), ("true", "none"), ("true", "pmu_error")], "{status:?}");
    assert!(status.iter().all(|e| e.kind == EventKind::Anomaly && event_attr(e, "station") == Some("Blue PMU")));
    assert_eq!(event_attr(status[0], "stat"), Some("0x2000"));
    let counts = r.events.iter().find(|e| e.name == "c37118.session_anomalies").unwrap();
    assert_eq!(event_attr(counts, "pmu_status_reports"), Some("2"));
    assert_eq!(event_attr(counts, "data_size_mismatches"), Some("1"));
    assert_eq!(ops(&r).iter().filter(|(n, _)| *n == "data").count(), 6);
}
