//! Modbus/TCP from a real, independent implementation: pymodbus's server and
//! client talk on loopback (tests/peers/modbus_peer.py), tcpdump captures it,
//! and `otposture analyze` must name the device and see every write.
//! Needs python3 with pymodbus and tcpdump (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn available() -> bool {
    let py = Command::new("python3").args(["-c", "import pymodbus"]).output().is_ok_and(|o| o.status.success());
    let td = Command::new("tcpdump").arg("--version").output().is_ok_and(|o| o.status.success());
    if !(py && td) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("python3 with pymodbus and tcpdump are required in CI (scripts/setup.sh installs them)");
        }
        eprintln!("skipping: needs python3 with pymodbus and tcpdump (scripts/setup.sh)");
    }
    py && td
}

fn otposture(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_otposture")).arg("--db").arg(db).args(args).output().unwrap()
}

#[test]
fn names_a_pymodbus_server_and_sees_every_write() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("peer.pcap");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut dump = Command::new("tcpdump")
        // Immediate mode and a large buffer: without them tcpdump can lose the
        // tail of a short exchange when it is stopped.
        .args(["-i", "lo", "--immediate-mode", "-B", "8192", "-Z", "root", "-U", "-s", "0", "-w"])
        .arg(&pcap)
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/modbus_peer.py");
    let run = Command::new("python3").arg(&peer).arg(port.to_string()).output().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    Command::new("kill").args(["-INT", &dump.id().to_string()]).status().unwrap();
    dump.wait().unwrap();
    assert!(run.status.success(), "peer failed: {}", String::from_utf8_lossy(&run.stderr));

    let db = dir.path().join("peer.db");
    let out = otposture(&db, &["analyze", "--quiet", pcap.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json = |args: &[&str]| -> Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_slice(&otposture(&db, &a).stdout).unwrap()
    };

    let flows = json(&["flows", "--port", &port.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 1, "{flows:?}");
    assert_eq!(flows[0]["app_protocol"], "modbus");
    assert_eq!(flows[0]["initiator"], "handshake");

    let ids = json(&["events", "--kind", "identity", "--protocol", "modbus"]);
    let ids = ids["events"].as_array().unwrap();
    let id = ids.iter().find(|e| e["attributes"]["vendor"].is_string()).unwrap_or_else(|| panic!("{ids:?}"));
    let a = &id["attributes"];
    assert_eq!(a["vendor"], "otposture-peer");
    assert_eq!(a["product_code"], "PM-316");
    assert_eq!(a["revision"], "3.16.1");
    assert_eq!(a["product_name"], "pymodbus test server");
    assert_eq!(a["model"], "SIM-1");
    assert_eq!(id["src_ip"], "127.0.0.1");

    let ops = json(&["events", "--kind", "operation", "--protocol", "modbus"]);
    let ops = ops["events"].as_array().unwrap();
    let requests = |name: &str| {
        ops.iter().filter(|e| e["name"] == name && e["attributes"]["message"] == "request").cloned().collect::<Vec<_>>()
    };
    let w = requests("write_single_register");
    assert_eq!(w.len(), 1, "{ops:?}");
    assert_eq!(
        (w[0]["attributes"]["address"].as_str(), w[0]["attributes"]["value"].as_str()),
        (Some("101"), Some("400"))
    );
    assert_eq!(requests("write_multiple_registers").len(), 1);
    assert_eq!(requests("write_single_coil").len(), 1);
    assert!(ops.iter().all(|e| e["class"] == "write"), "only writes are notable here: {ops:?}");
}
