//! DNP3 from a real, independent implementation: stepfunc's `dnp3` crate runs
//! an outstation and a master on loopback (`crates/peer-dnp3`), tcpdump
//! captures it, and `otposture analyze` must see the addresses, the reads,
//! every control as its own event, the restart, the time synchronisation and
//! the device attributes, with nothing malformed.
//! Needs tcpdump (scripts/setup.sh installs it); without it the test skips
//! with one line, unless CI=true.
//!
//! The peer is its own workspace crate, so its dependencies (dnp3, tokio)
//! stay out of the product's build graph. `CARGO_BIN_EXE_*` names only the
//! binaries of this package, so the test asks cargo for the peer: `$CARGO
//! build -p otposture-peer-dnp3 --message-format json` (cargo sets `CARGO` for
//! the tests it runs and releases its build lock before running them) and
//! takes the executable path from the artifact message. That respects
//! `CARGO_TARGET_DIR` and profiles, and is a no-op when the peer is current.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Builds the peer (a no-op when it is current) and returns its executable.
fn peer_binary() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let out = Command::new(cargo)
        .args(["build", "--quiet", "--message-format", "json", "-p", "otposture-peer-dnp3", "--manifest-path"])
        .arg(&manifest)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "building otposture-peer-dnp3 failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "otposture-peer-dnp3")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo named no otposture-peer-dnp3 executable")
}

#[test]
fn sees_every_control_and_the_device_attributes_of_a_stepfunc_outstation() {
    if !loopback::available(&[], "tcpdump") {
        return;
    }
    let peer = peer_binary();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| Command::new(&peer).arg(port.to_string()).output().unwrap());
    let done: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    // One TCP flow, identified as DNP3 by content on a random port, whole.
    // No anomaly: no CRC, framing or IIN error.
    loopback::assert_one_clean_flow(&db, &summary, port, "dnp3", &["dnp3"]);

    // Reads are counted, not kept: the integrity poll (request and response)
    // as read, the attribute read (g0) as discovery.
    let messages = |class: &str| loopback::messages(&summary, "dnp3", class);
    assert!(messages("read") >= 2 * done["integrity_polls"].as_u64().unwrap(), "{summary}");
    assert_eq!(messages("discovery"), 2 * done["attribute_reads"].as_u64().unwrap(), "{summary}");

    let ops = json(&["events", "--kind", "operation", "--protocol", "dnp3"]);
    let ops = ops["events"].as_array().unwrap();
    let (master, outstation) = (done["master"].to_string(), done["outstation"].to_string());
    for e in ops {
        let a = &e["attributes"];
        assert_eq!((a["master"].as_str(), a["outstation"].as_str()), (Some(&*master), Some(&*outstation)), "{e}");
    }
    let requests = |name: &str| -> Vec<&Value> {
        ops.iter().filter(|e| e["name"] == name && e["attributes"]["message"] == "request").collect()
    };
    // Each request is answered and accepted: an answer is counted in its
    // request's class and folded into the request's record, so no response
    // is kept on its own (a refused one would be, with its IIN or status).
    assert!(ops.iter().all(|e| e["attributes"]["message"] == "request"), "{ops:?}");
    let count = |key: &str| done[key].as_array().map_or_else(|| done[key].as_u64().unwrap(), |a| a.len() as u64);
    let controls = count("selects") + count("operates") + count("direct_operates");
    assert_eq!(messages("write"), 2 * controls, "{summary}");
    assert_eq!(messages("control"), 2 * count("cold_restarts"), "{summary}");
    // Each answer is counted under its request's function, towards the
    // master: one `response` row would merge reads, controls and restarts
    // into one count of one class.
    let totals = json(&["operations", "--protocol", "dnp3"]);
    let totals = totals["operations"].as_array().unwrap();
    let row =
        |name: &str| totals.iter().find(|o| o["operation"] == name).unwrap_or_else(|| panic!("{name}: {totals:?}"));
    assert!(totals.iter().all(|o| o["operation"] != "response"), "{totals:?}");
    for (name, key) in [
        ("select", "selects"),
        ("operate", "operates"),
        ("direct_operate", "direct_operates"),
        ("cold_restart", "cold_restarts"),
    ] {
        let (r, n) = (row(name), count(key));
        assert_eq!((r["to_server"].as_u64(), r["to_client"].as_u64()), (Some(n), Some(n)), "{r}");
    }
    // One flow reads the device attributes (group 0: discovery) and polls the
    // points (read): a row each, not one merged count of one class.
    let reads = |class: &str| {
        let r = totals.iter().find(|o| o["operation"] == "read" && o["class"] == class);
        r.map(|r| (r["to_server"].as_u64().unwrap(), r["to_client"].as_u64().unwrap()))
    };
    let attribute_reads = count("attribute_reads");
    assert_eq!(reads("discovery"), Some((attribute_reads, attribute_reads)), "{totals:?}");
    let polls = reads("read").unwrap_or_else(|| panic!("{totals:?}"));
    assert!(polls.0 >= count("integrity_polls") && polls.1 >= count("integrity_polls"), "{totals:?}");
    // Every control, individually, with its object group: CROB select and
    // operate, CROB and analog output direct operate. DNP3 controls set
    // outputs: class write.
    for (name, key) in [("select", "selects"), ("operate", "operates"), ("direct_operate", "direct_operates")] {
        let got = requests(name);
        let want = done[key].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}: {got:?}");
        for (e, w) in got.iter().zip(want) {
            assert_eq!(e["class"], "write", "{e}");
            let objects = e["attributes"]["objects"].as_str().unwrap();
            assert!(objects.starts_with(&format!("g{}v", w["group"])), "{name} {w}: {objects}");
        }
    }
    // The restart is a control operation.
    let restarts = requests("cold_restart");
    assert_eq!(restarts.len() as u64, done["cold_restarts"].as_u64().unwrap(), "{ops:?}");
    assert_eq!(restarts[0]["class"], "control");
    // LAN time synchronisation: record current time, then a write of g50v3.
    assert_eq!(done["time_syncs"][0], "lan");
    let record = requests("record_current_time");
    assert_eq!(record.len(), 1, "{ops:?}");
    assert_eq!(record[0]["class"], "configuration");
    let time_writes: Vec<_> = requests("write")
        .into_iter()
        .filter(|e| e["attributes"]["objects"].as_str().is_some_and(|o| o.starts_with("g50v3")))
        .collect();
    assert_eq!(time_writes.len(), 1, "{ops:?}");
    assert_eq!(time_writes[0]["class"], "configuration");

    // The group 0 attributes the master received, as one identity event of
    // the outstation, each under the name of its group 0 variation.
    let ids = json(&["events", "--kind", "identity", "--protocol", "dnp3"]);
    let ids = ids["events"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];
    assert_eq!(id["name"], "dnp3.device_attributes");
    assert_eq!(id["src_ip"], "127.0.0.1");
    assert_eq!(
        (id["attributes"]["outstation"].as_str(), id["attributes"]["master"].as_str()),
        (Some(&*outstation), Some(&*master))
    );
    let received = done["attributes"].as_array().unwrap();
    assert!(!received.is_empty());
    for a in received {
        let name = match a["variation"].as_u64().unwrap() {
            242 => "software_version",
            245 => "location",
            248 => "serial",
            250 => "model",
            252 => "manufacturer",
            v => panic!("the peer publishes no variation {v}"),
        };
        assert_eq!(id["attributes"][name], a["value"], "{name}: {id}");
    }
    eprintln!("dnp3 peer: captured and checked in {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn a_dnp3_udp_capture_that_opens_on_the_outstations_unsolicited_response_names_the_master_the_client() {
    if !loopback::available(&[], "tcpdump") {
        return;
    }
    let peer = peer_binary();
    let dir = tempfile::tempdir().unwrap();
    // The same port at both ends: the first datagram's sender, the
    // outstation, is the guess; its frame's DIR bit says it is not the master.
    let run = loopback::capture_udp_same_port(dir.path(), |port| {
        Command::new(&peer).args([&port.to_string(), "udp"]).output().unwrap()
    });
    let done: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let f = loopback::the_one_flow(&db, &analyze(&db, &run.pcap), port);
    let json = |args: &[&str]| loopback::json(&db, args);
    assert_eq!((f["transport"].as_str(), f["app_protocol"].as_str()), (Some("udp"), Some("dnp3")), "{f}");
    assert_eq!((f["client_ip"].as_str(), f["server_ip"].as_str()), (Some("127.0.0.2"), Some("127.0.0.1")), "{f}");
    assert_eq!(f["initiator"], "protocol", "{f}");

    // The controls run from the master to the outstation, each kept once.
    let ops = json(&["events", "--kind", "operation", "--protocol", "dnp3"]);
    let ops = ops["events"].as_array().unwrap();
    let requests = |name: &str| -> Vec<&Value> {
        ops.iter().filter(|e| e["name"] == name && e["attributes"]["message"] == "request").collect()
    };
    assert_eq!(requests("direct_operate").len(), done["direct_operates"].as_array().unwrap().len(), "{ops:?}");
    assert_eq!(requests("warm_restart").len() as u64, done["warm_restarts"].as_u64().unwrap(), "{ops:?}");
    for e in requests("direct_operate").into_iter().chain(requests("warm_restart")) {
        assert_eq!((e["src_ip"].as_str(), e["dst_ip"].as_str()), (Some("127.0.0.2"), Some("127.0.0.1")), "{e}");
    }
}
