//! IEC 61850 GOOSE from a real, independent implementation: libIEC61850's
//! publisher (PyPI pyiec61850-ng) sending on lo (tests/peers/goose_peer.py), a
//! trip control block with a state change and a second one in simulation with
//! needs-commissioning set, captured by tcpdump by EtherType. `otposture
//! analyze` must count every frame, name each control block (APPID, gocbRef,
//! its logical device, data set, goID, confRev, entries) with the simulation
//! and commissioning flags where set, and make the publisher an IED; what it
//! names must be what tshark shows.
//! Needs python3 with pyiec61850-ng, tcpdump and tshark (scripts/setup.sh
//! installs them); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::support;

use loopback::{analyze, capture_ethertype, python_peer};
use std::collections::BTreeSet;

#[test]
fn names_libiec61850_goose_control_blocks_like_tshark() {
    if !loopback::available(&["import pyiec61850.pyiec61850"], "python3 with pyiec61850-ng and tcpdump")
        || !support::tshark_available()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture_ethertype(dir.path(), 0x88b8, |port| python_peer("goose_peer.py", port));
    assert!(String::from_utf8_lossy(&run.peer.stdout).contains("published 6"));
    let db = dir.path().join("peer.db");
    let summary = analyze(&db, &run.pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    assert_eq!(loopback::messages(&summary, "goose", "read"), 6, "every frame counted: {summary}");

    let ids = loopback::json(&db, &["events", "--kind", "identity", "--protocol", "goose"]);
    let events = ids["events"].as_array().unwrap();
    let block = |gocb: &str| {
        events
            .iter()
            .find(|e| e["attributes"]["gocb_ref"] == gocb)
            .map(|e| e["attributes"].clone())
            .unwrap_or_else(|| panic!("no {gocb}: {ids}"))
    };
    let trip = block("PEERIEDPROT/LLN0$GO$gcbTrip");
    let got = |a: &serde_json::Value, k: &str| a[k].as_str().map(str::to_string);
    assert_eq!(
        ["appid", "logical_device", "dat_set", "go_id", "conf_rev", "entries"].map(|k| got(&trip, k)),
        [
            Some("0x3001".into()),
            Some("PEERIEDPROT".into()),
            Some("PEERIEDPROT/LLN0$dsTrip".into()),
            Some("TRIP1".into()),
            Some("7".into()),
            Some("2".into())
        ],
        "{trip}"
    );
    assert!(trip.get("simulation").is_none() && trip.get("nds_com").is_none(), "{trip}");
    let test = block("PEERIEDCTRL/LLN0$GO$gcbTest");
    assert_eq!((got(&test, "simulation"), got(&test, "nds_com")), (Some("true".into()), Some("true".into())), "{test}");

    // What tshark shows of each control block, against ours.
    let fields = ["goose.appid", "goose.gocbRef", "goose.datSet", "goose.goID", "goose.confRev"];
    let theirs: BTreeSet<Vec<String>> = support::tshark_fields(&run.pcap, &[], "goose", &fields)
        .into_iter()
        .map(|(_, mut f)| {
            f[0] = format!("{:#06x}", u16::from_str_radix(f[0].trim_start_matches("0x"), 16).unwrap());
            f
        })
        .collect();
    let ours: BTreeSet<Vec<String>> = events
        .iter()
        .map(|e| {
            ["appid", "gocb_ref", "dat_set", "go_id", "conf_rev"]
                .iter()
                .map(|k| e["attributes"][*k].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect();
    assert_eq!(ours, theirs);
    let frames = support::tshark_fields(&run.pcap, &[], "goose", &["goose.appid"]).len();
    assert_eq!(frames, 6, "tshark sees every frame");

    // The publisher is an IED, by what it publishes.
    let assets = loopback::json(&db, &["assets"]);
    let ied = assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"]["rule"] == "publishes_iec61850")
        .unwrap_or_else(|| panic!("no publisher of GOOSE among {assets}"));
    assert_eq!(ied["role"]["role"], "ied", "{ied}");
}
