//! EtherNet/IP and CIP from real, independent implementations: cpppo's
//! EtherNet/IP server (a Logix simulator) and pycomm3's LogixDriver talk on
//! loopback (tests/peers/cip_peer.py), tcpdump captures it, and
//! `otposture analyze` must name the device as the client decoded it, count
//! the reads, keep every tag write with its tag and the reset, and find
//! nothing malformed.
//! Needs python3 with cpppo and pycomm3, and tcpdump (scripts/setup.sh
//! installs them); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};
use serde_json::Value;
use std::time::Instant;

/// A peer value as otposture's attributes write it: text, numbers in decimal.
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Asserts that every field of `want` (the client's decoding) is in `attrs`.
fn assert_identity(attrs: &Value, want: &Value, skip: &[&str]) {
    for (k, v) in want.as_object().unwrap() {
        if !skip.contains(&k.as_str()) {
            assert_eq!(attrs[k].as_str(), Some(text(v).as_str()), "{k}: {attrs}");
        }
    }
}

#[test]
fn names_a_cpppo_controller_as_pycomm3_saw_it_and_keeps_every_write() {
    if !loopback::available(&["import cpppo.server.enip, pycomm3"], "python3 with cpppo, pycomm3 and tcpdump") {
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("cip_peer.py", port));
    let done: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    // One TCP flow, identified as EtherNet/IP by content on a random port, whole.
    loopback::assert_one_clean_flow(&db, &summary, port, "enip", &["enip", "cip"]);

    // ListIdentity over TCP: every request and reply counted, the reply's
    // identity as pycomm3 decoded it.
    let messages = |protocol: &str, class: &str| loopback::messages(&summary, protocol, class);
    assert_eq!(messages("enip", "discovery"), 2 * done["list_identities"].as_u64().unwrap(), "{summary}");
    let ids = json(&["events", "--kind", "identity", "--protocol", "enip"]);
    let ids = ids["events"].as_array().unwrap();
    let listed = ids.iter().find(|e| e["name"] == "enip.list_identity").unwrap_or_else(|| panic!("{ids:?}"));
    assert_eq!(listed["src_ip"], "127.0.0.1");
    assert_identity(&listed["attributes"], &done["list_identity"], &["socket_ip"]);
    let socket = listed["attributes"]["socket_address"].as_str().unwrap();
    assert_eq!(socket.split(':').next(), done["list_identity"]["socket_ip"].as_str(), "{listed}");

    // The Identity object: Get_Attributes_All, and two Get_Attribute_Single
    // (vendor id, device type), each as the client decoded it.
    let ids = json(&["events", "--kind", "identity", "--protocol", "cip"]);
    let ids = ids["events"].as_array().unwrap();
    let from = |source: &str| -> Vec<&Value> {
        ids.iter().filter(|e| e["attributes"]["source"] == source).map(|e| &e["attributes"]).collect()
    };
    let all = from("get_attributes_all");
    assert_eq!(all.len(), 1, "{ids:?}");
    assert_identity(all[0], &done["identity"], &[]);
    assert_eq!(all[0]["instance"], "1");
    let single = from("get_attribute_single");
    let vendor = single.iter().find(|a| a["vendor_id"].is_string()).unwrap_or_else(|| panic!("{ids:?}"));
    assert_eq!(vendor["vendor_id"].as_str(), Some(text(&done["identity"]["vendor_id"]).as_str()));
    assert_eq!(vendor["vendor"], done["identity"]["vendor"]);
    let device = single.iter().find(|a| a["device_type_id"].is_string()).unwrap_or_else(|| panic!("{ids:?}"));
    assert_eq!(device["device_type_id"].as_str(), Some(text(&done["identity"]["device_type_id"]).as_str()));
    assert_eq!(device["device_type"], done["identity"]["device_type"]);

    // Reads are counted, not kept: each read request (tags, alone or in a
    // Multiple_Service_Packet, and the controller name) and its reply.
    assert_eq!(messages("cip", "read"), 2 * done["read_requests"].as_u64().unwrap(), "{summary}");
    let ops = json(&["events", "--kind", "operation", "--protocol", "cip"]);
    let ops = ops["events"].as_array().unwrap();
    assert!(ops.iter().all(|e| e["class"] != "read"), "reads are not kept: {ops:?}");

    // Every tag write, individually, with its tag, on the connection pycomm3
    // opened, batched ones inside a Multiple_Service_Packet.
    let requests = |name: &str| -> Vec<&Value> {
        ops.iter().filter(|e| e["name"] == name && e["attributes"]["message"] == "request").collect()
    };
    let writes = requests("write_tag");
    let wanted = done["writes"].as_array().unwrap();
    assert_eq!(writes.len(), wanted.len(), "{ops:?}");
    let key = |tag: &Value, batched: bool| (text(tag), batched);
    let mut seen: Vec<_> = writes
        .iter()
        .map(|w| key(&w["attributes"]["tag"], w["attributes"]["via"] == "multiple_service_packet"))
        .collect();
    let mut want: Vec<_> = wanted.iter().map(|w| key(&w["tag"], w["batched"].as_bool().unwrap())).collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want, "{ops:?}");
    for w in &writes {
        let a = &w["attributes"];
        assert_eq!((w["class"].as_str(), a["service"].as_str()), (Some("write"), Some("0x4d")), "{w}");
        assert_eq!(a["connection_id"], done["connection_id"], "{w}");
    }
    // A write the server refused: its reply carries the error status.
    let refused = wanted.iter().filter(|w| w["error"].is_string()).count();
    let failed = ops
        .iter()
        .filter(|e| e["name"] == "write_tag" && e["attributes"]["message"] == "response")
        .filter(|e| e["attributes"]["status"].as_str().is_some_and(|s| s != "0x00"))
        .count();
    assert_eq!(failed, refused, "{ops:?}");

    // The reset, a control operation on the Identity object, kept with its type.
    let resets = requests("reset");
    assert_eq!(resets.len() as u64, done["resets"].as_u64().unwrap(), "{ops:?}");
    for r in &resets {
        let a = &r["attributes"];
        assert_eq!((r["class"].as_str(), a["class_name"].as_str()), (Some("control"), Some("Identity")), "{r}");
        assert_eq!(a["via"], "unconnected_send", "{r}");
        assert_eq!(a["reset_type"].as_str(), Some(text(&done["reset_type"]).as_str()), "{r}");
    }
    // Nothing else is notable here.
    assert!(ops.iter().all(|e| e["name"] == "write_tag" || e["name"] == "reset"), "{ops:?}");
    eprintln!("cip peer: captured and checked in {:.1} s", started.elapsed().as_secs_f64());
}
