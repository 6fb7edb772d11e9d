//! PROFINET DCP from an independent implementation: scapy's `pnio_dcp` encodes
//! an engineering tool's Identify, Set (rename, readdress) and a device's Hello
//! (tests/peers/dcp_peer.py). DCP is layer 2 only, so the frames go straight to a
//! capture file rather than over loopback. `otposture analyze` must name both
//! stations, take the IO controller for a controller, keep both Sets and the
//! refusal, and agree with tshark where it is installed.
//! Needs python3 with scapy (scripts/setup.sh installs it); without it the test
//! skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use serde_json::Value;
use std::process::Command;

#[test]
fn names_stations_and_keeps_every_set_from_scapy_frames() {
    if !loopback::available(&["import scapy.contrib.pnio_dcp"], "python3 with scapy and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = loopback::python_pcap(dir.path(), "dcp_peer.py", "dcp.pcap");
    let db = dir.path().join("dcp.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let json = |args: &[&str]| loopback::json(&db, args);

    let ids = json(&["events", "--kind", "identity", "--protocol", "pn_dcp"]);
    let ids = ids["events"].as_array().unwrap();
    let station = |mac: &str| ids.iter().find(|e| e["src_mac"] == mac).unwrap_or_else(|| panic!("{ids:?}"));
    let plc = &station("02:00:00:00:00:02")["attributes"];
    assert_eq!(
        (plc["name_of_station"].as_str(), plc["type_of_station"].as_str(), plc["device_role"].as_str()),
        (Some("plc-line-3"), Some("S7-1500"), Some("PROFINET IO controller"))
    );
    assert_eq!((plc["vendor_id"].as_str(), plc["device_id"].as_str()), (Some("0x002a"), Some("0x0e0f")));
    assert_eq!((plc["ip"].as_str(), plc["ip_state"].as_str()), (Some("10.0.0.7"), Some("set")));
    let io = &station("02:00:00:00:00:03")["attributes"];
    assert_eq!((io["service"].as_str(), io["name_of_station"].as_str()), (Some("hello"), Some("io-rack-7")));

    let sets = json(&["events", "--kind", "operation", "--protocol", "pn_dcp"]);
    let sets = sets["events"].as_array().unwrap();
    let attr = |i: usize, k: &str| sets[i]["attributes"][k].as_str().map(str::to_string);
    assert_eq!(sets.len(), 3, "two Sets and the refusal: {sets:?}");
    assert!(sets.iter().all(|e| e["class"] == "configuration"));
    assert_eq!(attr(0, "name_of_station").as_deref(), Some("plc-line-4"));
    assert_eq!(attr(0, "qualifier").as_deref(), Some("permanent"));
    assert_eq!(attr(1, "ip").as_deref(), Some("10.0.0.8"));
    assert_eq!(attr(1, "qualifier").as_deref(), Some("temporary"));
    assert_eq!(attr(2, "error").as_deref(), Some("1/2: in_operation"));

    let assets = json(&["assets"]);
    let plc = assets["assets"].as_array().unwrap().iter().find(|a| a["macs"][0] == "02:00:00:00:00:02").unwrap();
    assert_eq!(
        (plc["role"]["role"].as_str(), plc["role"]["rule"].as_str()),
        (Some("controller"), Some("device_type_stated"))
    );
    let name = plc["attributes"].as_array().unwrap().iter().find(|x| x["field"] == "name").map(|x| &x["value"]);
    assert_eq!(name.and_then(Value::as_str), Some("plc-line-3"));

    // tshark reads the same stations and addresses from the same frames.
    if Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let t = Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args(["-Y", "pn_dcp.suboption_device_nameofstation", "-T", "fields"])
            .args(["-e", "pn_dcp.suboption_device_nameofstation", "-e", "pn_dcp.suboption_ip_ip"])
            .output()
            .unwrap();
        let theirs = String::from_utf8_lossy(&t.stdout);
        let lines: Vec<&str> = theirs.lines().collect();
        assert_eq!(lines, vec!["plc-line-3\t10.0.0.7", "plc-line-4\t", "io-rack-7\t10.0.0.21"], "{theirs}");
    } else {
        eprintln!("skipping: the tshark comparison of the scapy frames needs tshark");
    }
}
