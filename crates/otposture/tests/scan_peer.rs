//! A port scan from a real scanner: nmap's connect scan of 300 ports of
//! 127.0.0.1, captured by tcpdump. `otposture assess` must report the scanner
//! once (`traffic.scan`, ATT&CK for ICS T0846) with what it tried, and the
//! flows must hold every attempt. Needs nmap and tcpdump (scripts/setup.sh
//! installs both); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture_filtered, json, otposture};
use std::process::Command;

/// Runs nmap with `scan` (`-sT`, `-sU`) over ports 1-300 of 127.0.0.1 while
/// tcpdump captures `filter`, analyses the capture and assesses it. Returns
/// the analysis summary and the scan findings; `None` when nmap or tcpdump is
/// missing (the test then skips). At most 300 probes a second: unthrottled,
/// nmap outran tcpdump's ring on lo (1,056 of 1,200 dropped).
fn nmap_scan(scan: &str, filter: &[&str]) -> Option<(serde_json::Value, Vec<serde_json::Value>)> {
    let nmap = Command::new("nmap").arg("--version").output().is_ok_and(|o| o.status.success());
    if !loopback::require(nmap && loopback::available(&[], "tcpdump"), "nmap and tcpdump") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture_filtered(dir.path(), 0, filter, |_| {
        Command::new("nmap")
            .args([scan, "-Pn", "-n", "--max-retries", "0", "--max-rate", "300", "-p", "1-300", "127.0.0.1"])
            .output()
            .unwrap()
    });
    let db = dir.path().join("scan.db");
    let summary = analyze(&db, &run.pcap);
    let out = otposture(&db, &["assess"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let findings = json(&db, &["findings"]);
    let scans =
        findings["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "traffic.scan").cloned().collect();
    Some((summary, scans))
}

#[test]
fn an_nmap_connect_scan_is_one_scan_finding() {
    // Ports 1-300, where no other test's peer listens: each is refused, or
    // accepted and closed by nmap without a byte.
    let Some((summary, scans)) = nmap_scan("-sT", &["tcp", "portrange", "1-300"]) else { return };
    assert!(summary["flows"].as_u64().unwrap() >= 300, "{summary}");
    assert_eq!(scans.len(), 1, "{scans:?}");
    let s = &scans[0];
    // The scanner's asset (on lo, the all-zero MAC holds 127.0.0.1).
    assert!(s["title"].as_str().unwrap().starts_with("127.0.0.1 scanned the network"), "{s}");
    assert_eq!(s["severity"], "high");
    assert_eq!(s["assets"], serde_json::json!([s["key"]]));
    assert_eq!(s["attack"], serde_json::json!(["T0846"]));
    let what = s["evidence"][0]["what"].as_str().unwrap();
    // A port that answers with a banner is a session, not an empty attempt.
    let tried = s["evidence"][0]["count"].as_u64().unwrap();
    assert!((290..=330).contains(&tried), "{what}");
    assert!(what.contains("ports of 127.0.0.1: ports 1, 2, 3, 4, 5, 6, 7, 8, ..."), "{what}");
}

/// nmap's UDP scan of 300 ports of 127.0.0.1: every closed port answers with
/// an ICMP port unreachable, which is no UDP answer, so each probe is a UDP
/// flow nothing answered, from a client seen receiving (the unreachables).
/// One scan finding, its evidence UDP.
#[test]
fn an_nmap_udp_scan_is_one_scan_finding() {
    let Some((_, scans)) = nmap_scan("-sU", &["udp", "portrange", "1-300", "or", "icmp"]) else { return };
    assert_eq!(scans.len(), 1, "{scans:?}");
    let evidence = &scans[0]["evidence"][0];
    let what = evidence["what"].as_str().unwrap();
    assert_eq!(evidence["protocol"], "udp", "{evidence}");
    // A port something listens on may answer; the rest are closed.
    let tried = evidence["count"].as_u64().unwrap();
    assert!((280..=300).contains(&tried), "{what}");
    assert!(what.contains("UDP datagrams nothing answered"), "{what}");
    assert!(what.contains("ports of 127.0.0.1: ports 1, 2, 3, 4, 5, 6, 7, 8, ..."), "{what}");
}
