//! SSH from real, independent implementations: Debian's OpenSSH server and
//! client on loopback (the client offers no credentials and is refused after the
//! key exchange), captured by tcpdump. `otposture analyze` must find SSH by
//! content on a random port, read both identification strings and both
//! KEXINITs, and stop reading at NEWKEYS (the rest is encrypted).
//! Needs sshd (Debian package openssh-server), ssh and tcpdump
//! (scripts/setup.sh installs them); without them the test skips with one
//! line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture};
use std::process::{Command, Stdio};
use std::time::Duration;

fn tools() -> bool {
    let found = loopback::files(&["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"]);
    loopback::require(found, "sshd, ssh and ssh-keygen") && loopback::available(&[], "tcpdump")
}

#[test]
fn reads_openssh_banners_and_key_exchange_offers() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("host_ed25519");
    let made = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", ""]).arg("-f").arg(&key).status().unwrap();
    assert!(made.success());
    std::fs::create_dir_all("/run/sshd").ok();
    let run = capture(dir.path(), |port| {
        let mut sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-p", &port.to_string(), "-o", "ListenAddress=127.0.0.1", "-o", "UsePAM=no"])
            .arg("-h")
            .arg(&key)
            .arg("-o")
            .arg(format!("PidFile={}", dir.path().join("sshd.pid").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let out = Command::new("ssh")
            .args(["-p", &port.to_string(), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=none"])
            .args(["nobody@127.0.0.1", "true"])
            .output()
            .unwrap();
        sshd.kill().ok();
        sshd.wait().ok();
        // Refused, as it should be: the exchange before the refusal is what is tested.
        assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"), "{out:?}");
        Command::new("true").output().unwrap()
    });
    let db = dir.path().join("peer.db");
    let summary = analyze(&db, &run.pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let json = |args: &[&str]| loopback::json(&db, args);
    let flows = json(&["flows", "--port", &run.port.to_string()]);
    assert_eq!(flows["flows"][0]["app_protocol"], "ssh", "{flows}");

    let ids = json(&["events", "--kind", "identity", "--protocol", "ssh"]);
    let ids = ids["events"].as_array().unwrap();
    let of = |name: &str, role: &str| {
        ids.iter().find(|e| e["name"] == name && e["attributes"]["role"] == role).unwrap_or_else(|| panic!("{ids:?}"))
    };
    for role in ["client", "server"] {
        let b = &of("ssh.banner", role)["attributes"];
        assert_eq!(b["protocol_version"], "2.0");
        assert!(b["software"].as_str().unwrap().starts_with("OpenSSH_"), "{b}");
        let k = &of("ssh.kexinit", role)["attributes"];
        assert!(k["kex_algorithms"].as_str().unwrap().contains("curve25519-sha256"), "{k}");
        assert!(k["host_key_algorithms"].as_str().unwrap().contains("ssh-ed25519"), "{k}");
        assert!(k["weak"].is_null(), "a current OpenSSH offers nothing weak: {k}");
    }
    let ops = json(&["operations", "--protocol", "ssh"]);
    let count = |name: &str| {
        ops["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["operation"] == name)
            .map(|o| o["messages"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((count("banner"), count("kexinit"), count("newkeys")), (2, 2, 2));
}
