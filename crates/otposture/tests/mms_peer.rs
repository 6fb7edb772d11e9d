//! IEC 61850 MMS from a real, independent implementation: libIEC61850's
//! server and client (PyPI pyiec61850-ng) on loopback
//! (tests/peers/mms_peer.py), captured by tcpdump on a random port (so the
//! probe, not port 102, must find MMS). `otposture analyze` must name the
//! server from its Identify answer, keep the control operate with the object
//! it operates and the refused write with its failure, name the reader of
//! ICCP (TASE.2) objects an ICCP client but not the IED that refuses them an
//! ICCP server, and count the services tshark sees.
//! Needs python3 with pyiec61850-ng and tcpdump (scripts/setup.sh installs
//! both); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};
use otposture_dissect::mms;
use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn keeps_controls_refusals_and_identity_of_a_libiec61850_session() {
    if !loopback::available(&["import pyiec61850.pyiec61850"], "python3 with pyiec61850-ng and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("mms_peer.py", port));
    let out = String::from_utf8_lossy(&run.peer.stdout);
    assert!(out.contains("operate: True") && out.contains("identify: otposture peer"), "{out}");
    let db = dir.path().join("peer.db");
    let summary = analyze(&db, &run.pcap);
    loopback::assert_one_clean_flow(&db, &summary, run.port, "mms", &["mms"]);
    let json = |args: &[&str]| loopback::json(&db, args);

    let id = json(&["events", "--kind", "identity", "--protocol", "mms"]);
    let a = &id["events"][0]["attributes"];
    assert_eq!(
        (a["vendor"].as_str(), a["model"].as_str(), a["revision"].as_str()),
        (Some("otposture peer"), Some("PEER-IED-1"), Some("7.4.2")),
        "{id}"
    );
    let domains = &id["events"][1]["attributes"];
    assert_eq!(domains["domains"], "PEERIEDLD0", "the IED's logical devices, from its GetNameList answer: {id}");
    // The reads of ICCP (TASE.2) objects name the reader an ICCP client; the
    // IED refuses them (it has none), so nothing names it an ICCP server.
    assert!(out.contains("tase2 read: TASE2_Version access-error"), "{out}");
    let tase2: Vec<&serde_json::Value> = id["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"].as_str().unwrap().starts_with("mms.tase2"))
        .collect();
    assert_eq!(tase2.len(), 1, "{id}");
    assert_eq!(tase2[0]["name"], "mms.tase2_client");
    assert_eq!(tase2[0]["attributes"]["objects"], "TASE2_Version");
    let assets = json(&["assets"]);
    let asset = &assets["assets"][0];
    let field =
        |f: &str| asset["attributes"].as_array().unwrap().iter().find(|a| a["field"] == f).map(|a| a["value"].clone());
    assert_eq!((field("model"), field("firmware")), (Some("PEER-IED-1".into()), Some("7.4.2".into())), "{asset}");
    // Client and server share 127.0.0.1: the server's side is an IED.
    let rules: Vec<&str> =
        asset["candidates"].as_array().unwrap().iter().map(|c| c["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"serves_mms_as_ied"), "{rules:?}");

    let ops = json(&["events", "--kind", "operation", "--protocol", "mms"]);
    let ops = ops["events"].as_array().unwrap();
    let got: Vec<(&str, &str, &str)> = ops
        .iter()
        .map(|e| {
            let a = &e["attributes"];
            (
                e["name"].as_str().unwrap(),
                e["class"].as_str().unwrap(),
                a["variables"].as_str().or(a["failed"].as_str()).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("control_operate", "control", "PEERIEDLD0/GGIO1$CO$SPCSO1$Oper"),
            ("write", "write", "PEERIEDLD0/GGIO1$ST$SPCSO1$stVal"),
            ("write", "write", "1 of 1"),
        ],
        "{ops:?}"
    );

    // tshark reads the same services, request by request.
    let t = Command::new("tshark")
        .arg("-r")
        .arg(&run.pcap)
        .args(["-d", &format!("tcp.port=={},tpkt", run.port), "-Y", "mms", "-T", "fields"])
        .args(["-e", "mms.confirmedServiceRequest"])
        .output();
    let Ok(t) = t else {
        eprintln!("skipping: the tshark comparison needs tshark");
        return;
    };
    let mut theirs: BTreeMap<String, u64> = BTreeMap::new();
    for n in String::from_utf8_lossy(&t.stdout).lines().flat_map(|l| l.split(',')).filter_map(|x| x.parse().ok()) {
        *theirs.entry(mms::confirmed_service_name(n).unwrap().to_string()).or_default() += 1;
    }
    let mut ours: BTreeMap<String, u64> = BTreeMap::new();
    for o in json(&["operations", "--protocol", "mms"])["operations"].as_array().unwrap() {
        let name = o["operation"].as_str().unwrap();
        let name = if name.starts_with("control_") { "write" } else { name };
        if mms::confirmed_service_name((0..80).find(|&n| mms::confirmed_service_name(n) == Some(name)).unwrap_or(99))
            .is_some()
        {
            *ours.entry(name.to_string()).or_default() += o["to_server"].as_u64().unwrap();
        }
    }
    assert!(theirs.contains_key("identify") && theirs.contains_key("get_name_list"), "{theirs:?}");
    assert_eq!(ours, theirs);
}
