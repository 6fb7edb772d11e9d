//! NetBIOS name service and browser announcements from an independent
//! implementation: scapy's `netbios` and `smb` layers encode an HMI's name
//! registrations, a WINS answer naming the domain controllers, a node status
//! answer, and host and local master announcements (tests/peers/netbios_peer.py).
//! nmbd serves NetBIOS only on broadcast interfaces, not loopback, so the
//! packets go straight to a capture file. `otposture analyze` must report the
//! names with their suffixes' meaning, attribute the WINS answer to the domain
//! controller's address (not the WINS server), and put the names, workgroup,
//! OS version and services in the inventory; tshark must count the same
//! packets where it is installed.
//! Needs python3 with scapy (scripts/setup.sh installs it); without it the
//! test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use serde_json::Value;
use std::process::Command;

fn attr<'a>(e: &'a Value, k: &str) -> &'a str {
    e["attributes"][k].as_str().unwrap_or_default()
}

#[test]
fn names_windows_hosts_from_scapy_netbios_packets() {
    if !loopback::available(&["import scapy.layers.netbios, scapy.layers.smb"], "python3 with scapy and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = loopback::python_pcap(dir.path(), "netbios_peer.py", "netbios.pcap");
    let db = dir.path().join("netbios.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let json = |args: &[&str]| loopback::json(&db, args);

    let ids = json(&["events", "--kind", "identity", "--protocol", "nbns"]);
    let ids = ids["events"].as_array().unwrap();
    let named = |n: &str| ids.iter().filter(|e| e["name"] == n).collect::<Vec<_>>();
    let regs: Vec<(&str, &str, &str, &str, &str)> = named("nbns.registration")
        .iter()
        .map(|e| {
            (attr(e, "netbios_name"), attr(e, "host_name"), attr(e, "workgroup"), attr(e, "role"), attr(e, "address"))
        })
        .collect();
    assert_eq!(
        regs,
        [
            ("EWS-3<00>", "EWS-3", "", "", "10.30.0.21"),
            ("EWS-3<20>", "EWS-3", "", "file_server", "10.30.0.21"),
            ("PLANT<00>", "", "PLANT", "", "10.30.0.21"),
        ]
    );
    let answer = named("nbns.answer");
    let answer = answer[0];
    assert_eq!(
        (attr(answer, "netbios_name"), attr(answer, "role"), attr(answer, "address"), attr(answer, "answered_by")),
        ("PLANT<1C>", "domain_controller", "10.30.0.5", "10.30.0.2")
    );
    let status = named("nbns.node_status");
    let status = status[0];
    assert_eq!(attr(status, "names"), "EWS-3<00>,PLANT<00>(group),EWS-3<20>");
    assert_eq!((attr(status, "host_name"), attr(status, "mac")), ("EWS-3", "02:00:00:00:30:21"));

    let ann = json(&["events", "--kind", "identity", "--protocol", "browser"]);
    let ann = ann["events"].as_array().unwrap();
    let hmi = ann.iter().find(|e| attr(e, "host_name") == "EWS-3").unwrap();
    assert_eq!(
        (attr(hmi, "workgroup"), attr(hmi, "os"), attr(hmi, "description"), attr(hmi, "roles")),
        ("PLANT", "Windows 10.0", "line 3 HMI", "workstation,server,nt_workstation,potential_browser")
    );
    let master = ann.iter().find(|e| attr(e, "host_name") == "FS-1").unwrap();
    assert_eq!(attr(master, "command"), "local_master_announcement");
    assert!(attr(master, "roles").contains("print_server") && attr(master, "roles").contains("master_browser"));

    // Counted by operation.
    let ops = json(&["operations"]);
    let count = |p: &str, op: &str| -> u64 {
        ops["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["protocol"] == p && o["operation"] == op)
            .map(|o| o["to_server"].as_u64().unwrap() + o["to_client"].as_u64().unwrap())
            .sum()
    };
    let counts = [
        count("nbns", "registration"),
        count("nbns", "query"),
        count("nbns", "query_response"),
        count("nbns", "node_status"),
        count("nbns", "node_status_response"),
        count("nbdgm", "host_announcement"),
        count("nbdgm", "local_master_announcement"),
    ];
    assert_eq!(counts, [3, 1, 1, 1, 1, 2, 1], "{ops}");

    // The inventory: the HMI named by itself, the DC also by the WINS answer.
    let assets = json(&["assets"]);
    let assets = assets["assets"].as_array().unwrap();
    let holding = |ip: &str| assets.iter().find(|a| a["ips"].as_array().unwrap().iter().any(|i| i == ip)).unwrap();
    let values = |a: &Value, f: &str| -> Vec<String> {
        a["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["field"] == f)
            .flat_map(|x| x["values"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap().to_string()))
            .collect()
    };
    let hmi = holding("10.30.0.21");
    assert_eq!(values(hmi, "host_name"), ["EWS-3"]);
    assert_eq!(values(hmi, "domain"), ["PLANT"]);
    assert_eq!(values(hmi, "os"), ["Windows 10.0"]);
    assert!(values(hmi, "services").contains(&"file_server".to_string()));
    let dc = holding("10.30.0.5");
    assert_eq!(values(dc, "host_name"), ["DC-1"]);
    let dc_services = dc["attributes"].as_array().unwrap().iter().find(|x| x["field"] == "services").unwrap();
    let from_wins =
        dc_services["values"].as_array().unwrap().iter().find(|v| v["value"] == "domain_controller").unwrap();
    let sources: Vec<&str> =
        [&from_wins["first"], &from_wins["last"]].iter().map(|p| p["source"].as_str().unwrap()).collect();
    assert!(sources.contains(&"nbns") && sources.contains(&"browser"), "{from_wins}");
    let wins = holding("10.30.0.2");
    assert!(values(wins, "host_name").is_empty(), "the WINS server is not named by its answer");

    if let Ok(t) = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-Y", "nbns or browser", "-T", "fields", "-e", "frame.number"])
        .output()
    {
        let theirs = String::from_utf8_lossy(&t.stdout).lines().count() as u64;
        assert_eq!(counts.iter().sum::<u64>(), theirs);
    } else {
        eprintln!("skipping: the tshark comparison needs tshark");
    }
}
