//! FTP from real, independent implementations: pyftpdlib's server and
//! CPython's ftplib client on loopback (tests/peers/ftp_peer.py), captured by
//! tcpdump. `otposture analyze` must read the banner, keep the failed and the
//! good login (never the password), the file written to the server and the
//! refused delete, and count the reads; tshark must see the same commands.
//! Needs python3 with pyftpdlib and tcpdump (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};
use std::process::Command;

#[test]
fn keeps_logins_and_file_writes_of_a_pyftpdlib_session() {
    if !loopback::available(&["import pyftpdlib"], "python3 with pyftpdlib and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("ftp_peer.py", port));
    let db = dir.path().join("peer.db");
    analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);
    let flows = json(&["flows", "--port", &run.port.to_string()]);
    assert_eq!(flows["flows"][0]["app_protocol"], "ftp", "{flows}");

    let banner = json(&["events", "--kind", "identity", "--protocol", "ftp"]);
    assert_eq!(banner["events"][0]["attributes"]["banner"], "PLC-3 FTP service ready");

    let ops = json(&["events", "--kind", "operation", "--protocol", "ftp"]);
    let ops = ops["events"].as_array().unwrap();
    let got: Vec<(String, String)> = ops
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["attributes"]["code"].as_str().unwrap_or("").to_string()))
        .collect();
    let want: Vec<(String, String)> = [
        ("user", ""),
        ("pass", ""),
        ("pass", "530"),
        ("user", ""),
        ("pass", ""),
        ("stor", ""),
        ("dele", ""),
        ("dele", "550"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{ops:?}");
    assert!(
        ops.iter().all(|e| !e.to_string().contains("plant-pw") && !e.to_string().contains("wrong")),
        "no password kept"
    );
    let stor = ops.iter().find(|e| e["name"] == "stor").unwrap();
    assert_eq!((stor["class"].as_str(), stor["attributes"]["path"].as_str()), (Some("program"), Some("firmware.bin")));

    // tshark reads the same client commands.
    if let Ok(t) = Command::new("tshark")
        .arg("-r")
        .arg(&run.pcap)
        .args(["-d", &format!("tcp.port=={},ftp", run.port), "-Y", "ftp.request.command", "-T", "fields"])
        .args(["-e", "ftp.request.command"])
        .output()
    {
        let theirs: Vec<String> = String::from_utf8_lossy(&t.stdout).lines().map(str::to_lowercase).collect();
        let ours = json(&["operations", "--protocol", "ftp"]);
        for cmd in ["user", "pass", "stor", "retr", "dele", "quit"] {
            let n = ours["operations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["operation"] == cmd)
                .map(|o| o["to_server"].as_u64().unwrap())
                .sum::<u64>();
            assert_eq!(n, theirs.iter().filter(|c| *c == cmd).count() as u64, "{cmd}: {theirs:?}");
        }
    } else {
        eprintln!("skipping: the tshark comparison needs tshark");
    }
}
