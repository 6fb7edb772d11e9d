//! DHCP from a real, independent server: Debian's dnsmasq leasing addresses
//! on lo, its ports moved to a random pair (so the probe, not port 67, must
//! find DHCP), asked by a client speaking as a relay agent whose messages
//! scapy encodes (tests/peers/dhcp_peer.py): DISCOVER, REQUEST of the offered
//! address, RELEASE. tcpdump captures it, and then:
//! - `otposture analyze` must name every message by its type, read the
//!   client's host name, vendor class, client id and parameter request list,
//!   and the address dnsmasq assigned, and make of them a host with that
//!   name and address for the client's MAC;
//! - per datagram, the message type and host name must agree with tshark
//!   (told the ports are DHCP): every datagram counted, every identity kept
//!   matching tshark's datagram (one repeated unchanged on its flow is kept
//!   once, by design), and together saying all tshark shows.
//!
//! Needs dnsmasq, python3 with scapy, tcpdump and tshark (scripts/setup.sh
//! installs them); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::support;

use loopback::{analyze, capture_udp_pair, python_peer};
use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn names_a_dnsmasq_lease_and_its_client_like_tshark() {
    let dnsmasq = Command::new("dnsmasq").arg("--version").output().is_ok_and(|o| o.status.success());
    if !loopback::require(dnsmasq, "dnsmasq (scripts/setup.sh)")
        || !loopback::available(&["import scapy.all"], "python3 with scapy and tcpdump")
        || !support::tshark_available()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture_udp_pair(dir.path(), |port| python_peer("dhcp_peer.py", port));
    let said = String::from_utf8_lossy(&run.peer.stdout).to_string();
    let assigned = said
        .lines()
        .find_map(|l| l.strip_prefix("ack: 5 "))
        .unwrap_or_else(|| panic!("dnsmasq did not ack: {said}"))
        .to_string();
    let db = dir.path().join("peer.db");
    let summary = analyze(&db, &run.pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let json = |args: &[&str]| loopback::json(&db, args);

    let flows = json(&["flows", "--port", &run.port.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert!(!flows.is_empty() && flows.iter().all(|f| f["app_protocol"] == "dhcp"), "{flows:?}");

    let ids = json(&["events", "--kind", "identity", "--protocol", "dhcp"]);
    let events = ids["events"].as_array().unwrap();
    let find = |name: &str| events.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("no {name}: {ids}"));
    for name in ["dhcp.discover", "dhcp.request", "dhcp.release"] {
        let a = &find(name)["attributes"];
        assert_eq!(a["client_mac"], "02:00:00:aa:bb:cc", "{name}: {a}");
        assert_eq!(a["host_name"], "plc-eng-01", "{name}: {a}");
        assert_eq!(a["vendor_class"], "MSFT 5.0", "{name}: {a}");
        assert_eq!(a["parameter_list"], "1,3,6,15", "{name}: {a}");
    }
    let offer = &find("dhcp.offer")["attributes"];
    assert_eq!(
        (offer["server_id"].as_str(), offer["assigned_ip"].as_str()),
        (Some("127.0.0.1"), Some(assigned.as_str()))
    );
    let ack = &find("dhcp.ack")["attributes"];
    assert_eq!(ack["assigned_ip"], assigned.as_str(), "{ack}");

    // The client is a host with the name it gave and the address it was given.
    let assets = json(&["assets"]);
    let client = assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "mac-02:00:00:aa:bb:cc")
        .unwrap_or_else(|| panic!("no asset for the client's MAC: {assets}"));
    assert!(client["ips"].as_array().unwrap().iter().any(|ip| ip == assigned.as_str()), "{client}");
    let field =
        |f: &str| client["attributes"].as_array().unwrap().iter().find(|a| a["field"] == f).map(|a| a["value"].clone());
    assert_eq!(field("host_name"), Some("plc-eng-01".into()), "{client}");

    // Per datagram: message type and host name, ours against tshark's.
    let ours: BTreeSet<(u64, String, String)> = events
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().trim_start_matches("dhcp.").to_string();
            (e["packet"].as_u64().unwrap(), name, e["attributes"]["host_name"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    let decode = format!("udp.port=={},dhcp", run.port);
    let theirs: BTreeSet<(u64, String, String)> =
        support::tshark_fields(&run.pcap, &["-d", &decode], "dhcp", &["dhcp.option.dhcp", "dhcp.option.hostname"])
            .into_iter()
            .map(|(frame, f)| {
                let kind = match f[0].as_str() {
                    "1" => "discover",
                    "2" => "offer",
                    "3" => "request",
                    "5" => "ack",
                    "7" => "release",
                    other => panic!("unexpected DHCP message type {other} in frame {frame}"),
                };
                (frame, kind.to_string(), f[1].clone())
            })
            .collect();
    assert!(theirs.len() >= 5, "tshark saw too few DHCP messages: {theirs:?}");
    // Every datagram is counted; an identity repeated unchanged on its flow
    // (a DISCOVER sent again while dnsmasq started) is kept once, so every
    // kept one must match tshark's datagram, and together they must say
    // everything tshark shows.
    assert_eq!(loopback::messages(&summary, "dhcp", "discovery"), theirs.len() as u64, "{summary}");
    assert!(ours.is_subset(&theirs), "ours {ours:?} against tshark's {theirs:?}");
    let said =
        |s: &BTreeSet<(u64, String, String)>| s.iter().map(|(_, k, h)| (k.clone(), h.clone())).collect::<BTreeSet<_>>();
    assert_eq!(said(&ours), said(&theirs));
}
