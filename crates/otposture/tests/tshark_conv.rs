//! Golden test: the flows the engine finds in every real capture of
//! `../shared/pcaps`, compared with tshark's conversation statistics
//! (`tshark -q -z conv,tcp -z conv,udp`): the same conversations, the same frame
//! counts each way, and the same bytes (exactly where tshark prints bytes, within
//! its rounding where it prints kB or MB).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::Registry;
use otposture_model::{Observation, Transport};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

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

fn ours(path: &Path) -> (BTreeMap<Pair, Counts>, std::collections::BTreeSet<IpAddr>) {
    let out = support::run_engine(path, Registry::with_defaults());
    let mut map: BTreeMap<Pair, Counts> = BTreeMap::new();
    let mut hosts = std::collections::BTreeSet::new();
    for o in out {
        if let Observation::Host(h) = &o {
            hosts.extend(h.ip);
        }
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
    (map, hosts)
}

/// Addresses tshark saw sending IP packets (`-z endpoints,ip`, `endpoints,ipv6`),
/// less those that cannot name a host (unspecified, multicast, broadcast).
fn their_senders(text: &str) -> std::collections::BTreeSet<IpAddr> {
    let mut set = std::collections::BTreeSet::new();
    let mut in_endpoints = false;
    for line in text.lines() {
        if line.contains("Endpoints") || line.contains("Conversations") {
            in_endpoints = line.contains("Endpoints");
        }
        if !in_endpoints {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some(ip) = f.first().and_then(|a| a.parse::<IpAddr>().ok()) else { continue };
        let tx: u64 = f.get(3).and_then(|t| t.replace(',', "").parse().ok()).unwrap_or(0);
        let host = match ip {
            IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()),
            IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
        };
        if tx > 0 && host {
            set.insert(ip);
        }
    }
    set
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
/// One tshark run for both statistics.
fn tshark_stats(path: &Path) -> String {
    let out = Command::new("tshark")
        .args(["-n", "-q", "-z", "conv,tcp", "-z", "conv,udp", "-z", "endpoints,ip", "-z", "endpoints,ipv6", "-r"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn theirs(text: &str) -> BTreeMap<Pair, (Counts, u64, u64)> {
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
fn flows_and_hosts_match_tshark_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let (mut total, mut agree) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    let mut host_misses = Vec::new();
    let mut hosts_checked = 0;
    for line in index.lines().skip(1) {
        let dest = line.split('\t').next().unwrap();
        let path = dir.join(dest);
        let (mine, hosts) = ours(&path);
        let stats = tshark_stats(&path);
        let reference = theirs(&stats);
        for ip in their_senders(&stats).difference(&hosts) {
            host_misses.push(format!("{dest}: tshark saw {ip} sending; otposture has no host for it"));
        }
        hosts_checked += hosts.len();
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
    for m in &host_misses {
        eprintln!("host missing: {m}");
    }
    eprintln!(
        "{agree} of {total} conversations agree with tshark; {hosts_checked} host addresses, {} missed",
        host_misses.len()
    );
    assert!(host_misses.is_empty(), "{} sending addresses missing from hosts (listed above)", host_misses.len());
    assert!(total > 500, "too few conversations compared: {total}");
    assert!(disagreements.is_empty(), "{} disagreements (listed above)", disagreements.len());
}
