//! LLDP from an independent implementation: scapy's `contrib.lldp` encodes an
//! industrial switch, a PLC announcing itself as a station only, and an
//! LLDPDU without its mandatory TTL TLV (tests/peers/lldp_peer.py). LLDP is
//! layer 2 only, so the frames go straight to a capture file rather than over
//! loopback. `otposture analyze` must name both devices with their system
//! name and description, read the switch's management address and enabled
//! capabilities, take the switch for a network device by them (and the PLC
//! not), and flag the broken LLDPDU; per frame, the system name and enabled
//! capabilities must be what tshark shows. (tshark stops at the broken
//! LLDPDU's missing TTL; ours flags it too, and still keeps the name it
//! read, so that frame is compared by its flag only.)
//! Needs python3 with scapy and tshark (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::support;

use std::collections::BTreeMap;

#[test]
fn names_and_classifies_scapy_lldp_announcements_like_tshark() {
    if !loopback::available(&["import scapy.contrib.lldp"], "python3 with scapy and tcpdump")
        || !support::tshark_available()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = loopback::python_pcap(dir.path(), "lldp_peer.py", "lldp.pcap");
    let db = dir.path().join("lldp.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 1, "the LLDPDU without TTL: {summary}");
    let json = |args: &[&str]| loopback::json(&db, args);

    let ids = json(&["events", "--kind", "identity", "--protocol", "lldp"]);
    let ids = ids["events"].as_array().unwrap();
    let by_mac =
        |mac: &str| &ids.iter().find(|e| e["src_mac"] == mac).unwrap_or_else(|| panic!("no {mac}"))["attributes"];
    let switch = by_mac("02:00:00:00:cc:01");
    assert_eq!(switch["system_name"], "sw-cell3");
    assert_eq!(
        switch["system_description"],
        "SIEMENS, SIMATIC NET, SCALANCE X208, 6GK5 208-0BA10-2AA3, HW: 4, FW: V4.1.0"
    );
    assert_eq!(
        (switch["enabled_capabilities"].as_str(), switch["management_address"].as_str()),
        (Some("bridge"), Some("10.10.0.2"))
    );
    assert_eq!((switch["port_id"].as_str(), switch["ttl"].as_str()), (Some("Port 3"), Some("120")));
    let plc = by_mac("02:00:00:00:cc:02");
    assert_eq!(
        (plc["system_name"].as_str(), plc["enabled_capabilities"].as_str()),
        (Some("plc-s7-1500"), Some("station_only"))
    );

    let anomalies = json(&["events", "--kind", "anomaly", "--protocol", "lldp"]);
    let anomalies = anomalies["events"].as_array().unwrap();
    assert!(
        anomalies
            .iter()
            .any(|e| e["src_mac"] == "02:00:00:00:cc:03" && e["attributes"]["what"] == "lldp_missing_mandatory_tlv"),
        "{anomalies:?}"
    );

    // The switch is a network device by what it announces; the PLC is not.
    let assets = json(&["assets"]);
    let role = |id: &str| {
        let a = assets["assets"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap();
        (a["role"]["role"].as_str().unwrap().to_string(), a["role"]["rule"].as_str().unwrap().to_string())
    };
    assert_eq!(role("mac-02:00:00:00:cc:01"), ("network_device".into(), "lldp_capability_stated".into()));
    assert_ne!(role("mac-02:00:00:00:cc:02").0, "network_device");

    // Per frame, the system name and the enabled capabilities, ours against tshark's.
    let theirs: BTreeMap<u64, (String, String)> =
        support::tshark_fields(&pcap, &[], "lldp", &["lldp.tlv.system.name", "lldp.tlv.enable_system_cap"])
            .into_iter()
            .filter(|(_, f)| !f[0].is_empty())
            .map(|(frame, f)| {
                let caps = u16::from_str_radix(f[1].trim_start_matches("0x"), 16).unwrap();
                // IEEE 802.1AB capability bits: 0x01 other, 0x04 bridge, 0x80 station only.
                let named = match caps {
                    0x0004 => "bridge",
                    0x0080 => "station_only",
                    other => panic!("unexpected capabilities {other:#06x}"),
                };
                (frame, (f[0].clone(), named.to_string()))
            })
            .collect();
    let ours: BTreeMap<u64, (String, String)> = ids
        .iter()
        .filter(|e| e["src_mac"] != "02:00:00:00:cc:03")
        .map(|e| {
            let a = &e["attributes"];
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (e["packet"].as_u64().unwrap(), (s("system_name"), s("enabled_capabilities")))
        })
        .collect();
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    assert_eq!(ours, theirs);
}
