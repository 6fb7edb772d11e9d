//! VNC from real, independent implementations: TigerVNC's Xvnc (a headless X
//! server with a VNC front end, Debian package tigervnc-standalone-server) and
//! vncdotool's client (PyPI) on loopback, captured by tcpdump. One client logs
//! in with the right password and types, another with a wrong one.
//! `otposture analyze` must name the desktop, see VNC authentication offered,
//! keep both logins with their results, and count the key presses.
//! Needs Xvnc, vncpasswd, vncdo and tcpdump (scripts/setup.sh installs them);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn tools() -> bool {
    let runs = |cmd: &str, arg: &str| Command::new(cmd).arg(arg).output().is_ok();
    let found = runs("Xvnc", "-version") && runs("vncpasswd", "-help") && runs("vncdo", "--version");
    loopback::require(found, "Xvnc, vncpasswd and vncdo") && loopback::available(&[], "tcpdump")
}

#[test]
fn follows_tigervnc_logins_and_counts_key_presses() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("passwd");
    let mut enc = Command::new("vncpasswd").arg("-f").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    enc.stdin.take().unwrap().write_all(b"plant-pw\n").unwrap();
    let out = enc.wait_with_output().unwrap();
    std::fs::write(&pw, out.stdout).unwrap();
    let run = capture(dir.path(), |port| {
        let display = format!(":{}", 100 + port % 500);
        let mut xvnc = Command::new("Xvnc")
            .args([&display, "-rfbport", &port.to_string(), "-localhost", "-SecurityTypes", "VncAuth"])
            .arg("-rfbauth")
            .arg(&pw)
            .args(["-desktop", "HMI-LINE-2", "-geometry", "800x600"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let server = format!("127.0.0.1::{port}");
        let good = Command::new("vncdo")
            .args(["-s", &server, "-p", "plant-pw", "key", "enter", "type", "ok"])
            .output()
            .unwrap();
        let bad = Command::new("vncdo").args(["-s", &server, "-p", "wrong-pw", "key", "a"]).output().unwrap();
        xvnc.kill().ok();
        xvnc.wait().ok();
        assert!(good.status.success(), "{good:?}");
        let _ = bad;
        Command::new("true").output().unwrap()
    });
    let db = dir.path().join("peer.db");
    analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);
    let flows = json(&["flows", "--port", &run.port.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert!(flows.iter().all(|f| f["app_protocol"] == "rfb"), "{flows:?}");

    let ids = json(&["events", "--kind", "identity", "--protocol", "rfb"]);
    let ids = ids["events"].as_array().unwrap();
    assert!(ids.iter().all(|e| e["attributes"]["security_types"] == "vnc_auth"), "{ids:?}");
    assert!(ids.iter().any(|e| e["attributes"]["desktop_name"] == "HMI-LINE-2"), "{ids:?}");

    let auth = json(&["events", "--kind", "operation", "--protocol", "rfb"]);
    let auth = auth["events"].as_array().unwrap();
    let results: Vec<&str> = auth.iter().map(|e| e["attributes"]["result"].as_str().unwrap()).collect();
    assert_eq!(results, vec!["ok", "failed"], "{auth:?}");
    assert!(auth.iter().all(|e| e["attributes"]["security_type"] == "vnc_auth" && e["class"] == "authentication"));

    let ops = json(&["operations", "--protocol", "rfb"]);
    let keys: u64 = ops["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["operation"] == "key_event")
        .map(|o| o["messages"].as_u64().unwrap())
        .sum();
    // Enter, o, k: each a press and a release.
    assert_eq!(keys, 6, "{ops}");
}
