//! Golden test: the flows the engine finds in every real capture of
//! `../shared/pcaps`, compared with tshark's conversation statistics
//! (`tshark -q -z conv,tcp -z conv,udp`): the same conversations, the same frame
//! counts each way, and the same bytes (exactly where tshark prints bytes, within
//! its rounding where it prints kB or MB).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_capture::{FileSource, PacketSource};
use otposture_dissect::Registry;
use otposture_model::{Observation, Transport};
use otposture_observe::{Engine, EngineConfig, RawPacket};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared_pcaps() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pcaps");
    if dir.join("INDEX.tsv").exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/pcaps is missing and CI=true: the shared captures are required in CI");
    }
    eprintln!("skipping: ../shared/pcaps not found (set CI=true to make this a failure)");
    None
}

fn tshark_available() -> bool {
    let ok = Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("tshark is missing and CI=true: .ci/run installs it");
    }
    ok
}

type Pair = (Transport, (IpAddr, u16), (IpAddr, u16));

/// Frames and bytes from the first endpoint to the second, and back.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Counts {
    frames_ab: u64,
    bytes_ab: u64,
    frames_ba: u64,
    bytes_ba: u64,
}

fn ordered(t: Transport, x: (IpAddr, u16), y: (IpAddr, u16)) -> (Pair, bool) {
    if x <= y {
        ((t, x, y), false)
    } else {
        ((t, y, x), true)
    }
}

fn ours(path: &Path) -> BTreeMap<Pair, Counts> {
    let mut src = FileSource::open(path, 0).unwrap();
    let mut engine = Engine::new(EngineConfig::default(), Registry::with_defaults());
    let mut out = Vec::new();
    while let Ok(Some(p)) = src.next_packet() {
        engine.packet(&RawPacket {
            ts: p.ts,
            linktype: p.linktype,
            data: p.data,
            orig_len: p.orig_len,
            record: p.record,
        });
    }
    engine.finish(&mut out);
    let mut map: BTreeMap<Pair, Counts> = BTreeMap::new();
    for o in out {
        let Observation::Flow(f) = o else { continue };
        if !matches!(f.key.transport, Transport::Tcp | Transport::Udp) {
            continue;
        }
        let c = (f.key.client_ip, f.key.client_port);
        let s = (f.key.server_ip, f.key.server_port);
        let (pair, swapped) = ordered(f.key.transport, c, s);
        let e = map.entry(pair).or_default();
        let (fa, ba, fb, bb) = (f.packets_to_server, f.bytes_to_server, f.packets_to_client, f.bytes_to_client);
        if swapped {
            e.frames_ab += fb;
            e.bytes_ab += bb;
            e.frames_ba += fa;
            e.bytes_ba += ba;
        } else {
            e.frames_ab += fa;
            e.bytes_ab += ba;
            e.frames_ba += fb;
            e.bytes_ba += bb;
        }
    }
    map
}

/// A byte count as tshark prints it, with the slack its rounding leaves.
fn parse_bytes(n: &str, unit: &str) -> (u64, u64) {
    let v: f64 = n.replace(',', "").parse().unwrap();
    match unit {
        "bytes" => (v as u64, 0),
        "kB" => ((v * 1e3) as u64, 1_000),
        "MB" => ((v * 1e6) as u64, 1_000_000),
        other => panic!("unknown unit {other}"),
    }
}

fn endpoint(s: &str) -> (IpAddr, u16) {
    let (a, p) = s.rsplit_once(':').unwrap();
    (a.trim_start_matches('[').trim_end_matches(']').parse().unwrap(), p.parse().unwrap())
}

/// tshark's conversations with the slack of each byte count.
fn theirs(path: &Path) -> BTreeMap<Pair, (Counts, u64, u64)> {
    let out =
        Command::new("tshark").args(["-n", "-q", "-z", "conv,tcp", "-z", "conv,udp", "-r"]).arg(path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut map: BTreeMap<Pair, (Counts, u64, u64)> = BTreeMap::new();
    let mut transport = Transport::Tcp;
    for line in text.lines() {
        if line.starts_with("TCP Conversations") {
            transport = Transport::Tcp;
        } else if line.starts_with("UDP Conversations") {
            transport = Transport::Udp;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 11 || f[1] != "<->" {
            continue;
        }
        let (a, b) = (endpoint(f[0]), endpoint(f[2]));
        // "<-" is b -> a, "->" is a -> b.
        let (fr_ba, (by_ba, sl_ba)) = (f[3].replace(',', "").parse::<u64>().unwrap(), parse_bytes(f[4], f[5]));
        let (fr_ab, (by_ab, sl_ab)) = (f[6].replace(',', "").parse::<u64>().unwrap(), parse_bytes(f[7], f[8]));
        let (pair, swapped) = ordered(transport, a, b);
        let e = map.entry(pair).or_default();
        if swapped {
            e.0.frames_ab += fr_ba;
            e.0.bytes_ab += by_ba;
            e.0.frames_ba += fr_ab;
            e.0.bytes_ba += by_ab;
            e.1 += sl_ba;
            e.2 += sl_ab;
        } else {
            e.0.frames_ab += fr_ab;
            e.0.bytes_ab += by_ab;
            e.0.frames_ba += fr_ba;
            e.0.bytes_ba += by_ba;
            e.1 += sl_ab;
            e.2 += sl_ba;
        }
    }
    map
}

#[test]
fn flows_match_tshark_conversations_on_every_shared_capture() {
    let Some(dir) = shared_pcaps() else { return };
    if !tshark_available() {
        eprintln!("skipping: tshark not installed (scripts/setup.sh installs it)");
        return;
    }
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let (mut total, mut agree) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    for line in index.lines().skip(1) {
        let dest = line.split('\t').next().unwrap();
        let path = dir.join(dest);
        let mine = ours(&path);
        let reference = theirs(&path);
        for (pair, (t, slack_ab, slack_ba)) in &reference {
            total += 1;
            let m = mine.get(pair).copied().unwrap_or_default();
            let ok = m.frames_ab == t.frames_ab
                && m.frames_ba == t.frames_ba
                && m.bytes_ab.abs_diff(t.bytes_ab) <= *slack_ab
                && m.bytes_ba.abs_diff(t.bytes_ba) <= *slack_ba;
            if ok {
                agree += 1;
            } else {
                disagreements.push(format!("{dest}: {pair:?}: otposture {m:?}, tshark {t:?}"));
            }
        }
        for pair in mine.keys().filter(|p| !reference.contains_key(p)) {
            total += 1;
            disagreements
                .push(format!("{dest}: {pair:?}: otposture {:?}, tshark has no such conversation", mine[pair]));
        }
    }
    for d in &disagreements {
        eprintln!("disagreement: {d}");
    }
    eprintln!("{agree} of {total} conversations agree with tshark");
    assert!(total > 500, "too few conversations compared: {total}");
    assert!(disagreements.is_empty(), "{} disagreements (listed above)", disagreements.len());
}
