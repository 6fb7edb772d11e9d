//! Networks end to end: two plants that reuse one address space
//! (10.0.0.0/24), analysed into one database with `analyze --network`.
//!
//! Each plant's capture, built here: an HMI on the local segment polls four
//! devices reached through the plant's router (10.0.0.5 to 10.0.0.8, all
//! answering from the router's MAC) over Modbus/TCP. Plant B is captured a day
//! after plant A, with its own router and HMI. With a network each, the
//! 10.0.0.5 of plant A and the one of plant B are two assets; without, they
//! are one, as before networks existed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{json, otposture};
use otposture_fixtures::{Endpoint, Frame, LinkType, PcapOptions, PcapWriter, Side, TcpConversation};
use otposture_model::Timestamp;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const DAY: i64 = 86_400 * 1_000_000_000;
const START: i64 = 1_709_280_000 * 1_000_000_000;

/// One plant: its router's and HMI's MACs, and when its capture starts.
struct Plant {
    router: [u8; 6],
    hmi: [u8; 6],
    start: Timestamp,
}

const A: Plant = Plant {
    router: [0x00, 0x1a, 0xa1, 0x00, 0x00, 0x01],
    hmi: [0x00, 0xd0, 0xc9, 0x0a, 0x00, 0x1e],
    start: Timestamp(START),
};
const B: Plant = Plant {
    router: [0x00, 0x1a, 0xb1, 0x00, 0x00, 0x01],
    hmi: [0x00, 0xd0, 0xc9, 0x0b, 0x00, 0x1e],
    start: Timestamp(START + DAY),
};

/// A read of holding registers and its answer, in MBAP framing (unit 1).
fn poll(c: &mut TcpConversation) {
    c.client_sends(&[0, 1, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 2]);
    c.server_sends(&[0, 1, 0, 0, 0, 7, 1, 0x03, 4, 0, 1, 0, 2]);
}

fn capture(dir: &Path, name: &str, plant: &Plant) -> PathBuf {
    let hmi = |port| Endpoint::new(plant.hmi, [10, 0, 1, 30], port);
    let mut frames: Vec<Frame> = Vec::new();
    for (i, last) in (5u8..=8).enumerate() {
        let start = Timestamp(plant.start.0 + i as i64 * 1_000_000_000);
        let mut c = TcpConversation::new(
            hmi(50_000 + u16::from(last)),
            Endpoint::new(plant.router, [10, 0, 0, last], 502),
            start,
        );
        c.handshake();
        poll(&mut c);
        c.close_by(Side::Client);
        frames.extend(c.into_frames());
    }
    frames.sort_by_key(|f| f.ts);
    let opts = PcapOptions { link_type: LinkType::ETHERNET, snaplen: 65_535, ..PcapOptions::default() };
    let mut w = PcapWriter::with_options(Vec::new(), opts).unwrap();
    w.write_frames(&frames).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, w.into_inner().unwrap()).unwrap();
    path
}

fn analyze(db: &Path, capture: &Path, network: Option<&str>) -> Output {
    let mut args = vec!["analyze", "--quiet"];
    if let Some(n) = network {
        args.extend(["--network", n]);
    }
    args.push(capture.to_str().unwrap());
    otposture(db, &args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The assets holding `ip`: (id, networks as listed, `null` when left out).
fn holders(assets: &Value, ip: &str) -> Vec<(String, Value)> {
    assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ips"].as_array().unwrap().iter().any(|x| x == ip))
        .map(|a| (a["id"].as_str().unwrap().to_string(), a["networks"].clone()))
        .collect()
}

fn ids(doc: &Value, list: &str) -> Vec<String> {
    doc[list].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn two_plants_on_one_address_space_stay_apart_under_their_network_names() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (capture(dir.path(), "a.pcap", &A), capture(dir.path(), "b.pcap", &B));
    let db = dir.path().join("plants.db");
    for (capture, network) in [(&a, "plant-a"), (&b, "plant-b")] {
        let out = analyze(&db, capture, Some(network));
        assert!(out.status.success(), "{}", stderr(&out));
    }

    let assets = json(&db, &["assets"]);
    assert_eq!(
        holders(&assets, "10.0.0.5"),
        [
            ("ip-10.0.0.5@plant-a".to_string(), serde_json::json!(["plant-a"])),
            ("ip-10.0.0.5@plant-b".to_string(), serde_json::json!(["plant-b"]))
        ]
    );
    let plc = json(&db, &["assets", "show", "ip-10.0.0.5@plant-b"]);
    assert_eq!(plc["asset"]["serves"], serde_json::json!(["modbus"]));
    assert_eq!(plc["asset"]["first_seen_ns"].as_i64().unwrap() / DAY, B.start.0 / DAY, "plant B's device");

    // Each network's part of the inventory and of the map.
    let a_assets = ids(&json(&db, &["assets", "--network", "plant-a"]), "assets");
    assert_eq!(a_assets.len(), 6, "{a_assets:?}");
    assert!(a_assets
        .iter()
        .all(|id| id.ends_with("@plant-a") || id.starts_with("mac-00:1a:a1") || id.starts_with("mac-00:d0:c9:0a")));
    let map = json(&db, &["map", "--network", "plant-b"]);
    let edges: Vec<(String, String)> = map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["client"]["id"].as_str().unwrap().to_string(), e["server"]["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(edges.len(), 4);
    assert!(edges.iter().all(|(c, s)| c == "mac-00:d0:c9:0b:00:1e" && s.ends_with("@plant-b")), "{edges:?}");
    assert!(ids(&map, "assets").iter().all(|id| !id.contains("plant-a")));
    let table = otposture(&db, &["map", "--network", "plant-a", "--format", "csv"]);
    assert_eq!(String::from_utf8_lossy(&table.stdout).lines().count(), 1 + 4, "a header and plant A's four edges");

    // The host sightings of one network: plant B's 10.0.0.5, not plant A's.
    let hosts = json(&db, &["hosts", "--network", "plant-b", "--ip", "10.0.0.5"]);
    let hosts = hosts["hosts"].as_array().unwrap();
    assert!(!hosts.is_empty() && hosts.iter().all(|h| h["network"] == "plant-b"), "{hosts:?}");
    let all = json(&db, &["hosts", "--ip", "10.0.0.5"]);
    assert!(all["hosts"].as_array().unwrap().len() > hosts.len(), "{all}");

    // The table names the networks; the captures say theirs.
    let table = String::from_utf8_lossy(&otposture(&db, &["assets"]).stdout).into_owned();
    assert!(table.lines().next().unwrap().contains("NETWORK"), "{table}");
    let captures = json(&db, &["captures"]);
    let networks: Vec<&str> =
        captures["captures"].as_array().unwrap().iter().map(|c| c["network"].as_str().unwrap()).collect();
    assert_eq!(networks, ["plant-a", "plant-b"]);

    // A site file's zones of one network each hold that plant's assets only.
    let site = dir.path().join("site.toml");
    let zone = |name: &str, level: u8| {
        format!("[[zone]]\nname = '{name}'\nlevel = {level}\nnetwork = '{name}'\ncidrs = ['10.0.0.0/16']\n")
    };
    std::fs::write(&site, format!("[site]\nname = 'two plants'\n{}{}", zone("plant-a", 1), zone("plant-b", 2)))
        .unwrap();
    let out = otposture(&db, &["site", "check", site.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", stderr(&out));
    for (zone, level) in [("plant-a", 1), ("plant-b", 2)] {
        let line = text.lines().find(|l| l.trim_start().starts_with(zone)).unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains(&format!("level {level}")) && line.ends_with(" 5 assets"), "{text}");
    }

    // A capture keeps its network: under another one it is refused, and nothing changes.
    let out = analyze(&db, &a, Some("plant-b"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --network plant-a"), "{}", stderr(&out));
    let out = analyze(&db, &a, None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&db, &["captures"]), captures, "the refused runs touched no capture");
    assert!(analyze(&db, &a, Some("plant-a")).status.success(), "its own network again is a re-analysis");
    assert_eq!(json(&db, &["assets"])["assets"], assets["assets"]);

    // A register row naming plant B's network matches plant B's 10.0.0.5; the
    // reconcile table shows the network it names.
    let register = dir.path().join("register.csv");
    std::fs::write(&register, "name,ip,network\nplc-b,10.0.0.5,plant-b\n").unwrap();
    assert!(otposture(&db, &["cmdb", "import", register.to_str().unwrap()]).status.success());
    let table = String::from_utf8_lossy(&otposture(&db, &["cmdb", "reconcile"]).stdout).into_owned();
    let header = table.lines().next().unwrap();
    assert!(header.contains("NETWORK"), "{table}");
    let row = table.lines().find(|l| l.contains("plc-b")).unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("ip-10.0.0.5@plant-b") && row.contains("plant-b"), "{table}");

    // The run's summary names its network.
    let out = otposture(&db, &["analyze", "--quiet", "--network", "plant-b", "--summary", "json", b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["network"], "plant-b");
    let unnamed = dir.path().join("unnamed.db");
    let out = otposture(&unnamed, &["analyze", "--quiet", "--summary", "json", a.to_str().unwrap()]);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary.get("network").is_none(), "the unnamed network's summary is as before");

    // Names are checked before anything runs.
    let out = analyze(&db, &a, Some("plant a"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("letters, digits"), "{}", stderr(&out));
    let out = otposture(&db, &["assets", "--network", "a@b"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_networks_the_same_addresses_merge_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (capture(dir.path(), "a.pcap", &A), capture(dir.path(), "b.pcap", &B));
    let db = dir.path().join("merged.db");
    for capture in [&a, &b] {
        let out = analyze(&db, capture, None);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let assets = json(&db, &["assets"]);
    assert_eq!(holders(&assets, "10.0.0.5"), [("ip-10.0.0.5".to_string(), Value::Null)]);
    let table = String::from_utf8_lossy(&otposture(&db, &["assets"]).stdout).into_owned();
    assert!(!table.lines().next().unwrap().contains("NETWORK"), "{table}");
    assert!(json(&db, &["captures"])["captures"].as_array().unwrap().iter().all(|c| c.get("network").is_none()));
    // A named network that no capture has holds nothing.
    assert_eq!(ids(&json(&db, &["assets", "--network", "plant-a"]), "assets"), Vec::<String>::new());
}
