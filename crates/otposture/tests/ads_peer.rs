//! ADS from a real, independent implementation: pyads (its client is
//! Beckhoff's ADS library, AdsLib, built into the wheel; its test server is
//! pure Python) on loopback (tests/peers/ads_peer.py). The client reads the
//! server's device info, reads a variable by name, writes it, reads it again,
//! reads the ADS state, then stops and starts the PLC. tcpdump captures it,
//! and `otposture analyze` must recognise the flow by content, name and
//! class every message, keep the write and both Write Controls with their
//! addressing, and name the device as the client itself read it.
//! AdsLib connects to port 48898 only, so the test server listens there.
//! Needs python3 with pyads and tcpdump (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture_filtered, python_peer};
use serde_json::Value;

#[test]
fn names_every_pyads_message_and_keeps_the_write_and_the_stop_and_start() {
    if !loopback::available(&["import pyads"], "python3 with pyads and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture_filtered(dir.path(), 48898, &["tcp", "port", "48898"], |port| python_peer("ads_peer.py", port));
    let done: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    assert_eq!((done["before"].as_i64(), done["after"].as_i64()), (Some(7), Some(42)), "{done}");
    let db = dir.path().join("peer.db");
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    // One TCP flow to 48898, recognised as ADS by content, whole; nothing malformed.
    loopback::assert_one_clean_flow(&db, &summary, 48898, "ads", &["ads"]);

    // Every message counted under its name: (class, to server, to client).
    let ops = json(&["operations", "--protocol", "ads"]);
    let ops = ops["operations"].as_array().unwrap();
    let counted = |name: &str| {
        let o = ops.iter().find(|o| o["operation"] == name).unwrap_or_else(|| panic!("no {name}: {ops:?}"));
        (o["class"].as_str().unwrap(), o["to_server"].as_u64().unwrap(), o["to_client"].as_u64().unwrap())
    };
    assert_eq!(counted("read_device_info"), ("discovery", 1, 1));
    // Two reads and a write by name: each asks for a handle, uses it, releases it.
    assert_eq!(counted("get_handle_by_name"), ("read", 3, 3));
    assert_eq!(counted("read_variable"), ("read", 2, 2));
    assert_eq!(counted("write_variable"), ("write", 1, 1));
    assert_eq!(counted("release_handle"), ("session", 3, 3));
    assert_eq!(counted("read_state"), ("diagnostic", 1, 1));
    assert_eq!(counted("write_control_stop"), ("control", 1, 1));
    assert_eq!(counted("write_control_run"), ("control", 1, 1));
    assert_eq!(ops.len(), 8, "{ops:?}");

    // Kept individually: the write and the two Write Controls, as requests
    // (their answers fold into them), with the AMS addressing.
    let events = json(&["events", "--kind", "operation", "--protocol", "ads"]);
    let events = events["events"].as_array().unwrap();
    let names: Vec<&str> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["write_variable", "write_control_stop", "write_control_run"], "{events:?}");
    for e in events {
        let a = &e["attributes"];
        assert_eq!(a["message"], "request");
        assert_eq!(a["target_net_id"], "127.0.0.1.1.1");
        assert_eq!(a["target_port"], "851");
        assert_eq!(a["source_net_id"], "127.0.0.2.1.1");
    }
    assert_eq!(events[0]["attributes"]["index_group"], "0xf005");
    assert_eq!(events[0]["attributes"]["write_length"], "2");
    assert_eq!(events[1]["attributes"]["ads_state"], "stop");
    assert_eq!(events[2]["attributes"]["ads_state"], "run");

    // The device's name and version, as the client read them.
    let ids = json(&["events", "--kind", "identity", "--protocol", "ads"]);
    let ids = ids["events"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0]["name"], "ads.device_info");
    assert_eq!(ids[0]["attributes"]["device_name"], done["name"]);
    assert_eq!(ids[0]["attributes"]["version"], done["version"]);
    assert_eq!(ids[0]["attributes"]["ams_port"], "851");
}
