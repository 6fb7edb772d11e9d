//! DNS from real, independent implementations on loopback: Debian's dnsmasq
//! serving a hosts file, queried by BIND's dig over UDP and TCP, and
//! dnspython sending a dynamic UPDATE and an AXFR (tests/peers/dns_peer.py),
//! captured by tcpdump. `otposture analyze` must name the hosts the answers
//! give (A over UDP, AAAA over TCP, the reverse PTR), count the queries and
//! answers (NXDOMAIN as a normal answer), keep the UPDATE with its zone and
//! record and dnsmasq's refusal, keep the zone transfer request, and see as
//! many DNS messages as tshark does.
//! Needs dnsmasq, dig, python3 with dnspython and tcpdump (scripts/setup.sh
//! installs them); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture_udp_tcp, python_peer};
use std::process::Command;

fn installed(tool: &str, arg: &str) -> bool {
    Command::new(tool).arg(arg).output().is_ok_and(|o| o.status.success())
}

#[test]
fn names_hosts_and_keeps_updates_and_transfers_of_a_dnsmasq_session() {
    let tools = installed("dnsmasq", "--version") && installed("dig", "-v");
    if !tools && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("skipping: needs dnsmasq and dig (scripts/setup.sh)");
        return;
    }
    assert!(tools, "dnsmasq and dig required in CI (scripts/setup.sh installs them)");
    if !loopback::available(&["import dns.update"], "python3 with dnspython and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture_udp_tcp(dir.path(), |port| python_peer("dns_peer.py", port));
    let said = String::from_utf8_lossy(&run.peer.stdout).to_string();
    assert!(said.contains("update REFUSED"), "{said}");
    let db = dir.path().join("peer.db");
    let summary = analyze(&db, &run.pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let json = |args: &[&str]| loopback::json(&db, args);

    let flows = json(&["flows", "--port", &run.port.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert!(flows.iter().all(|f| f["app_protocol"] == "dns"), "{flows:?}");
    assert!(flows.iter().any(|f| f["transport"] == "tcp") && flows.iter().any(|f| f["transport"] == "udp"));

    // The names answers give, for the hosts that own the addresses.
    let ids = json(&["events", "--kind", "identity", "--protocol", "dns"]);
    let mut names: Vec<(String, String, String)> = ids["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let a = |k: &str| e["attributes"][k].as_str().unwrap_or_default().to_string();
            assert_eq!(a("answered_by"), "127.0.0.1");
            (a("host_name"), a("address"), a("record"))
        })
        .collect();
    names.sort();
    let want =
        [("hmi-1.plant", "fd00::8", "aaaa"), ("plc-7.plant", "10.20.0.7", "a"), ("plc-7.plant", "10.20.0.7", "ptr")];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(names, want);

    // Kept: the update, its refusal, the zone transfer request.
    let ops = json(&["events", "--kind", "operation", "--protocol", "dns"]);
    let ops = ops["events"].as_array().unwrap();
    let find = |name: &str| ops.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("no {name}: {ops:?}"));
    let update = find("update");
    assert_eq!(update["class"], "configuration");
    assert_eq!(update["attributes"]["zone"], "plant");
    assert_eq!(update["attributes"]["records"], "new-hmi.plant a");
    let refused = find("update_response");
    assert_eq!(refused["attributes"]["rcode"], "refused");
    let axfr = find("zone_transfer");
    assert_eq!((axfr["class"].as_str(), axfr["attributes"]["zone"].as_str()), (Some("read"), Some("plant")));
    assert_eq!(axfr["attributes"]["type"], "axfr");

    // Counted: every query and answer, NXDOMAIN among the answers. Directions
    // are not compared: the engine takes the lower of two ephemeral ports for
    // a datagram flow's server, and the peer's ports are both ephemeral.
    let counted = json(&["operations", "--protocol", "dns"]);
    let count = |op: &str| -> u64 {
        counted["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["operation"] == op)
            .map(|o| o["messages"].as_u64().unwrap())
            .sum()
    };
    // Five answers at least: to the first ready.plant dnsmasq was up for, and
    // to the four digs (readiness queries sent before it listened get none).
    assert!(count("response") >= 5 && count("query") >= count("response"), "{counted}");
    assert_eq!((count("update"), count("update_response")), (1, 1));
    assert_eq!((count("zone_transfer"), count("zone_transfer_response")), (1, 1));
    let total: u64 = counted["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["to_server"].as_u64().unwrap() + o["to_client"].as_u64().unwrap())
        .sum();

    // tshark sees as many DNS messages.
    if let Ok(t) = Command::new("tshark")
        .arg("-r")
        .arg(&run.pcap)
        .args(["-d", &format!("udp.port=={},dns", run.port), "-d", &format!("tcp.port=={},dns", run.port)])
        .args(["-Y", "dns", "-T", "fields", "-e", "dns.id"])
        .output()
    {
        let theirs = String::from_utf8_lossy(&t.stdout).lines().count() as u64;
        assert_eq!(total, theirs, "{counted}");
    } else {
        eprintln!("skipping: the tshark comparison needs tshark");
    }
}
