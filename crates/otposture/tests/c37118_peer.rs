//! IEEE C37.118 from a real, independent implementation: pypmu (PyPI
//! `synchrophasor`) runs a PMU and a PDC on loopback
//! (tests/peers/c37118_peer.py). The PDC asks for the header and
//! configuration 2, turns transmission on, receives five data frames and
//! turns it off. tcpdump captures it, and `otposture analyze` must recognise
//! the flow by content (the port is random), count every frame under its
//! name, keep both transmission commands, and name the PMU as the PDC read
//! it from the configuration.
//! Needs python3 with synchrophasor and tcpdump (scripts/setup.sh installs
//! both); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};
use serde_json::Value;

#[test]
fn counts_every_frame_of_a_pypmu_session_and_names_the_pmu() {
    if !loopback::available(&["import synchrophasor"], "python3 with synchrophasor (pypmu) and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("c37118_peer.py", port));
    let done: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    assert_eq!(done["data"], 5, "{done}");
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    loopback::assert_one_clean_flow(&db, &summary, port, "c37118", &["c37118"]);

    let ops = json(&["operations", "--protocol", "c37118"]);
    let ops = ops["operations"].as_array().unwrap();
    let counted = |name: &str| {
        let o = ops.iter().find(|o| o["operation"] == name).unwrap_or_else(|| panic!("no {name}: {ops:?}"));
        (o["class"].as_str().unwrap(), o["to_server"].as_u64().unwrap(), o["to_client"].as_u64().unwrap())
    };
    assert_eq!(counted("send_header"), ("discovery", 1, 0));
    assert_eq!(counted("header"), ("discovery", 0, 1));
    assert_eq!(counted("send_config_2"), ("discovery", 1, 0));
    assert_eq!(counted("config_2"), ("discovery", 0, 1));
    assert_eq!(counted("turn_on_transmission"), ("control", 1, 0));
    assert_eq!(counted("data"), ("read", 0, 5));
    assert_eq!(counted("turn_off_transmission"), ("control", 1, 0));
    assert_eq!(ops.len(), 7, "{ops:?}");

    // Kept: both transmission commands, with the stream they address.
    let kept = json(&["events", "--kind", "operation", "--protocol", "c37118"]);
    let kept = kept["events"].as_array().unwrap();
    let names: Vec<&str> = kept.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["turn_on_transmission", "turn_off_transmission"], "{kept:?}");
    let stream = |v: &Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
    assert!(kept.iter().all(|e| stream(&e["attributes"]["stream_id"]) == done["stream_id"].as_u64()), "{kept:?}");

    // The PMU as the PDC read it, and the header's text.
    let ids = json(&["events", "--kind", "identity", "--protocol", "c37118"]);
    let ids = ids["events"].as_array().unwrap();
    let pmu = ids.iter().find(|e| e["name"] == "c37118.pmu").unwrap();
    assert_eq!(pmu["attributes"]["station"], done["station"]);
    assert_eq!(pmu["attributes"]["name"], done["station"]);
    assert_eq!(stream(&pmu["attributes"]["stream_id"]), done["stream_id"].as_u64());
    assert_eq!(pmu["attributes"]["phasors"], "4");
    assert_eq!(pmu["attributes"]["data_rate"], "30 frames/s");
    let header = ids.iter().find(|e| e["name"] == "c37118.header").unwrap();
    assert_eq!(header["attributes"]["description"], "Substation North, feeder 4 PMU");
}
