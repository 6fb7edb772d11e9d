//! CDP from an independent implementation: scapy's `contrib.cdp` encodes an
//! industrial router, an IP phone, a switch with a wrong checksum and a
//! spanning tree BPDU (tests/peers/cdp_peer.py). CDP is layer 2 only, so the
//! frames go straight to a capture file rather than over loopback.
//! `otposture analyze` must read every announcement through the 802.2
//! LLC/SNAP decode, name the router with its model and firmware, take it for
//! a network device by the capabilities it announces (and the phone not),
//! flag the wrong checksum, count the BPDU as spanning tree; and per frame,
//! what it reports must be what tshark shows.
//! Needs python3 with scapy and tshark (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
#[allow(unused_imports)]
use crate::support;

use otposture_dissect::cdp;
use serde_json::Value;
use std::collections::BTreeMap;

#[test]
fn names_and_classifies_scapy_cdp_announcements_like_tshark() {
    if !loopback::available(&["import scapy.contrib.cdp"], "python3 with scapy and tcpdump")
        || !support::tshark_available()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = loopback::python_pcap(dir.path(), "cdp_peer.py", "cdp.pcap");
    let db = dir.path().join("cdp.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    assert_eq!(summary["transport"]["llc"]["cdp"], 3, "{summary}");
    assert_eq!(summary["transport"]["llc"]["stp"], 1, "{summary}");
    let json = |args: &[&str]| loopback::json(&db, args);

    let ids = json(&["events", "--kind", "identity", "--protocol", "cdp"]);
    let ids = ids["events"].as_array().unwrap();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let router = &ids.iter().find(|e| e["src_mac"] == "02:00:00:00:0c:01").unwrap()["attributes"];
    let attr = |k: &str| router[k].as_str().unwrap_or_default().to_string();
    assert_eq!(attr("name"), "rtr-substation-1.example.net");
    assert_eq!(attr("model"), "cisco IR1101-K9");
    assert_eq!(attr("version"), "17.06.04");
    assert_eq!(attr("description").lines().count(), 4, "the banner is kept whole: {router}");
    assert_eq!(attr("addresses"), "10.20.0.1,fd00:20::1");
    assert_eq!(attr("management_address"), "10.20.0.254");
    assert_eq!(attr("capabilities"), "router,switch,igmp");
    assert_eq!(
        (attr("vtp_domain"), attr("native_vlan"), attr("duplex")),
        ("OT-SUBSTATION".into(), "20".into(), "full".into())
    );
    assert_eq!(attr("port_id"), "GigabitEthernet0/0/0");

    let anomalies = json(&["events", "--kind", "anomaly", "--protocol", "cdp"]);
    let anomalies = anomalies["events"].as_array().unwrap();
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    assert_eq!(
        (anomalies[0]["name"].as_str(), anomalies[0]["src_mac"].as_str()),
        (Some("cdp.bad_checksum"), Some("02:00:00:00:0c:03"))
    );

    let assets = json(&["assets"]);
    let assets = assets["assets"].as_array().unwrap();
    let asset = |mac: &str| assets.iter().find(|a| a["macs"].as_array().unwrap().iter().any(|m| m == mac)).unwrap();
    let field = |a: &Value, f: &str| {
        a["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["field"] == f)
            .and_then(|x| x["value"].as_str())
            .map(str::to_string)
    };
    let r = asset("02:00:00:00:0c:01");
    assert_eq!(
        (r["role"]["role"].as_str(), r["role"]["rule"].as_str()),
        (Some("network_device"), Some("cdp_capability_stated"))
    );
    assert_eq!(field(r, "firmware").as_deref(), Some("17.06.04"));
    assert_eq!(field(r, "model").as_deref(), Some("cisco IR1101-K9"));
    let phone = asset("02:00:00:00:0c:02");
    assert_ne!(phone["role"]["role"], "network_device", "{phone}");
    assert_eq!(field(phone, "name").as_deref(), Some("SEP001122334455"));

    // Per frame: device ID, platform, port ID, first line of the software
    // version, capabilities and checksum status, ours from the events.
    let mut ours = BTreeMap::new();
    for e in ids {
        let a = &e["attributes"];
        let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
        let good = !anomalies.iter().any(|x| x["packet"] == e["packet"]);
        let first_line = s("description").lines().next().unwrap_or_default().to_string();
        let key =
            [s("name"), s("model"), s("port_id"), first_line, s("capabilities"), if good { "1" } else { "0" }.into()];
        ours.insert(e["packet"].as_u64().unwrap(), vec![key]);
    }
    let fields = [
        "cdp.deviceid",
        "cdp.platform",
        "cdp.portid",
        "cdp.software_version",
        "cdp.capabilities",
        "cdp.checksum.status",
    ];
    let mut theirs = BTreeMap::new();
    for (frame, mut f) in support::tshark_fields(&pcap, &[], "cdp", &fields) {
        let caps = u32::from_str_radix(f[4].trim_start_matches("0x"), 16).unwrap();
        f[4] = cdp::capabilities(caps).join(",");
        theirs.insert(frame, vec![<[String; 6]>::try_from(f).unwrap()]);
    }
    let mut total = support::Agreement::default();
    total.add(support::compare("cdp peer", &ours, &theirs));
    assert_eq!((total.matched, total.union), (3, 3), "every frame agrees with tshark");
}
