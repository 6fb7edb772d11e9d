//! What every real-peer test does around its peer: check the tools are there
//! (skip with one line, or fail under CI=true), capture a loopback exchange with
//! tcpdump, analyse the capture with the built binary and read its JSON.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// True when tcpdump runs and every Python check passes (`python3 -c CHECK`).
/// Otherwise prints one line and returns false, or panics when CI=true:
/// CI must run every peer.
pub(crate) fn available(python_checks: &[&str], needs: &str) -> bool {
    let tcpdump = Command::new("tcpdump").arg("--version").output().is_ok_and(|o| o.status.success());
    let python = python_checks
        .iter()
        .all(|check| Command::new("python3").args(["-c", check]).output().is_ok_and(|o| o.status.success()));
    require(tcpdump && python, needs)
}

/// `found`; otherwise prints one line and returns false, or panics when
/// CI=true.
pub(crate) fn require(found: bool, needs: &str) -> bool {
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{needs} required in CI (scripts/setup.sh installs them)");
    }
    eprintln!("skipping: needs {needs} (scripts/setup.sh)");
    false
}

/// True when every path exists (a peer's programs).
pub(crate) fn files(paths: &[&str]) -> bool {
    paths.iter().all(|p| Path::new(p).exists())
}

/// A self-signed RSA key and certificate (`O=Plant 3, CN=hmi-line-2.plant`)
/// made by OpenSSL in `dir`: (key, certificate).
pub(crate) fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/O=Plant 3/CN=hmi-line-2.plant",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    (key, cert)
}

/// Waits up to 15 s for a server to listen on 127.0.0.1:`port`.
pub(crate) fn wait_for_port(port: u16, server: &str) {
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(15), "{server} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A loopback exchange captured by tcpdump.
pub(crate) struct Captured {
    /// The pcap file.
    pub(crate) pcap: PathBuf,
    /// The TCP port the peers used.
    pub(crate) port: u16,
    /// The peer's exit, stdout and stderr.
    pub(crate) peer: Output,
}

/// Picks a free TCP port, starts tcpdump on it, runs `peer` with the port,
/// stops tcpdump and returns the capture (in `dir`) and what the peer printed.
/// Panics, with the peer's stderr, when the peer fails.
pub(crate) fn capture(dir: &Path, peer: impl FnOnce(u16) -> Output) -> Captured {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    capture_filtered(dir, port, &["tcp", "port", &port.to_string()], peer)
}

/// As [`capture`], for UDP peers that use `port` and `port + 1` (a server and
/// a client that each need a fixed port, as BACnet/IP applications do).
pub(crate) fn capture_udp_pair(dir: &Path, peer: impl FnOnce(u16) -> Output) -> Captured {
    let port = loop {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if a < u16::MAX && std::net::UdpSocket::bind(("127.0.0.1", a + 1)).is_ok() {
            break a;
        }
    };
    capture_filtered(dir, port, &["udp", "portrange", &format!("{port}-{}", port + 1)], peer)
}

/// As [`capture`], for UDP peers that use the same port on 127.0.0.1 and
/// 127.0.0.2 (DNP3 from 20000 to 20000, as sites configure it).
pub(crate) fn capture_udp_same_port(dir: &Path, peer: impl FnOnce(u16) -> Output) -> Captured {
    let port = loop {
        let p = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.2", p)).is_ok() {
            break p;
        }
    };
    capture_filtered(dir, port, &["udp", "port", &port.to_string()], peer)
}

/// As [`capture`], for peers that use one port over both UDP and TCP (DNS).
pub(crate) fn capture_udp_tcp(dir: &Path, peer: impl FnOnce(u16) -> Output) -> Captured {
    let port = loop {
        let p = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            break p;
        }
    };
    capture_filtered(dir, port, &["port", &port.to_string()], peer)
}

/// As [`capture`], for layer-2 peers: frames of `ethertype` on lo (the peer
/// is given a port it does not use).
pub(crate) fn capture_ethertype(dir: &Path, ethertype: u16, peer: impl FnOnce(u16) -> Output) -> Captured {
    capture_filtered(dir, 0, &["ether", "proto", &format!("{ethertype:#06x}")], peer)
}

pub(crate) fn capture_filtered(dir: &Path, port: u16, filter: &[&str], peer: impl FnOnce(u16) -> Output) -> Captured {
    let pcap = dir.join("peer.pcap");
    let mut dump = Command::new("tcpdump")
        // Immediate mode and a large buffer: without them tcpdump can lose the
        // tail of a short exchange when it is stopped.
        .args(["-i", "lo", "--immediate-mode", "-B", "8192", "-Z", "root", "-U", "-s", "0", "-w"])
        .arg(&pcap)
        .args(filter)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // tcpdump prints nothing reliable when it is ready; give it time to open the interface.
    std::thread::sleep(Duration::from_millis(1500));
    let out = peer(port);
    std::thread::sleep(Duration::from_millis(1000));
    Command::new("kill").args(["-INT", &dump.id().to_string()]).status().unwrap();
    dump.wait().unwrap();
    assert!(out.status.success(), "peer failed: {}", String::from_utf8_lossy(&out.stderr));
    Captured { pcap, port, peer: out }
}

/// Runs a Python peer script from tests/peers with the port as its argument.
pub(crate) fn python_peer(script: &str, port: u16) -> Output {
    python_peer_with(script, &[port])
}

/// As [`python_peer`], with more ports after the first (a client's own port).
pub(crate) fn python_peer_with(script: &str, ports: &[u16]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers").join(script);
    Command::new("python3").arg(&path).args(ports.iter().map(u16::to_string)).output().unwrap()
}

/// Runs a Python peer script from tests/peers that writes its frames straight
/// to a capture file (layer-2 protocols no loopback socket carries), and
/// returns that file, `name` in `dir`. Panics, with the script's stderr, when
/// it fails.
pub(crate) fn python_pcap(dir: &Path, script: &str, name: &str) -> PathBuf {
    let pcap = dir.join(name);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers").join(script);
    let out = Command::new("python3").arg(&path).arg(&pcap).output().unwrap();
    assert!(out.status.success(), "{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    pcap
}

/// Runs the built `otposture` on database `db`.
pub(crate) fn otposture(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otposture")).arg("--db").arg(db).args(args).output().unwrap()
}

/// `otposture analyze --summary json` of `pcap` into `db`: the summary.
pub(crate) fn analyze(db: &Path, pcap: &Path) -> Value {
    let out = otposture(db, &["analyze", "--quiet", "--summary", "json", pcap.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A query command's JSON (`--format json` is added).
pub(crate) fn json(db: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let out = otposture(db, &a);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Messages the summary counts for `protocol` in operation class `class`.
pub(crate) fn messages(summary: &Value, protocol: &str, class: &str) -> u64 {
    summary["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["protocol"] == protocol && p["class"] == class)
        .map_or(0, |p| p["messages"].as_u64().unwrap())
}

/// The one flow on `port` (the peers' whole exchange), once `analyze`
/// (whose `summary` this is) found no malformed message.
pub(crate) fn the_one_flow(db: &Path, summary: &Value, port: u16) -> Value {
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let flows = json(db, &["flows", "--port", &port.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 1, "{flows:?}");
    flows[0].clone()
}

/// Flow `f` (JSON) is `app_protocol`, runs from `client` to `server` port, and
/// its protocol's messages decided which end is which.
pub(crate) fn assert_ends_by_protocol(f: &Value, app_protocol: &str, client: u16, server: u16) {
    assert_eq!(f["app_protocol"], app_protocol, "{f}");
    assert_eq!(
        (f["client_port"].as_u64(), f["server_port"].as_u64()),
        (Some(client.into()), Some(server.into())),
        "{f}"
    );
    assert_eq!(f["initiator"], "protocol", "{f}");
}

/// The peers' exchange is one TCP flow on `port`, recognised as `app_protocol`
/// by content (the port is random), seen from the handshake, whole, with
/// nothing malformed and no anomaly event of `protocols`.
pub(crate) fn assert_one_clean_flow(db: &Path, summary: &Value, port: u16, app_protocol: &str, protocols: &[&str]) {
    let f = the_one_flow(db, summary, port);
    assert_eq!((f["app_protocol"].as_str(), f["initiator"].as_str()), (Some(app_protocol), Some("handshake")), "{f}");
    assert_eq!((f["malformed"].as_u64(), f["gaps"].as_u64()), (Some(0), Some(0)), "{f}");
    for protocol in protocols {
        let anomalies = json(db, &["events", "--kind", "anomaly", "--protocol", protocol]);
        assert_eq!(anomalies["events"].as_array().unwrap().len(), 0, "{anomalies}");
    }
}
