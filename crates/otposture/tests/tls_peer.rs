//! TLS from a real, independent implementation: OpenSSL's `s_server` and
//! `s_client` on loopback, once with TLS 1.2 (the server's certificate goes in
//! clear) and once with TLS 1.3, captured by tcpdump. `otposture analyze` must
//! read the server name and ALPN the client asks for, the version and cipher
//! the server picks, the certificate's subject, issuer and validity, and agree
//! with tshark on each of them.
//! Needs openssl and tcpdump (scripts/setup.sh installs tcpdump; openssl is in
//! every Debian); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// OpenSSL's test server on `port` with the certificate and key, quiet, its
/// output discarded.
fn s_server(port: u16, cert: &Path, key: &Path, extra: &[&str], stdin: Stdio) -> Child {
    Command::new("openssl")
        .args(["s_server", "-quiet", "-accept", &port.to_string()])
        .args(extra)
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn reads_openssl_handshakes_as_tshark_does() {
    if Command::new("openssl").arg("version").output().is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("openssl required in CI");
        }
        eprintln!("skipping: needs openssl");
        return;
    }
    if !loopback::available(&[], "tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = loopback::self_signed(dir.path());
    let run = capture(dir.path(), |port| {
        let mut server = s_server(port, &cert, &key, &["-alpn", "h2"], Stdio::null());
        std::thread::sleep(Duration::from_millis(800));
        for version in ["-tls1_2", "-tls1_3"] {
            let mut client = Command::new("openssl")
                .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "hmi-line-2.plant"])
                .args(["-alpn", "h2", version])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            client.stdin.take().unwrap().write_all(b"Q\n").unwrap();
            std::thread::sleep(Duration::from_millis(500));
            client.kill().ok();
            client.wait().ok();
        }
        server.kill().ok();
        server.wait().ok();
        Command::new("true").output().unwrap()
    });
    let db = dir.path().join("peer.db");
    analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);
    let ids = json(&["events", "--kind", "identity", "--protocol", "tls"]);
    let ids = ids["events"].as_array().unwrap();
    let named = |n: &str| ids.iter().filter(|e| e["name"] == n).map(|e| e["attributes"].clone()).collect::<Vec<_>>();

    let hellos = named("tls.client_hello");
    assert_eq!(hellos.len(), 2, "{ids:?}");
    assert!(hellos.iter().all(|h| h["sni"] == "hmi-line-2.plant" && h["alpn"] == "h2"));
    assert!(hellos.iter().all(|h| h["ja4"].as_str().unwrap().starts_with("t1")), "{hellos:?}");
    let servers = named("tls.server_hello");
    let versions: Vec<&str> = servers.iter().map(|s| s["version"].as_str().unwrap()).collect();
    assert_eq!(versions, vec!["TLS 1.2", "TLS 1.3"]);
    let certs = named("tls.certificate");
    assert_eq!(certs.len(), 1, "only TLS 1.2 shows the certificate: {certs:?}");
    assert_eq!(certs[0]["subject"], "O=Plant 3, CN=hmi-line-2.plant");
    assert_eq!(certs[0]["self_signed"], "true");

    // tshark on the same frames: SNI per ClientHello, cipher per ServerHello, the certificate's CN.
    let t = Command::new("tshark")
        .arg("-r")
        .arg(&run.pcap)
        .args(["-d", &format!("tcp.port=={},tls", run.port)])
        .args(["-Y", "tls.handshake.type==1 || tls.handshake.type==2", "-T", "fields", "-E", "occurrence=f"])
        .args(["-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ciphersuite"])
        .output();
    let Ok(t) = t else {
        eprintln!("skipping: the tshark comparison needs tshark");
        return;
    };
    let theirs = String::from_utf8_lossy(&t.stdout);
    let snis: Vec<&str> = theirs.lines().filter_map(|l| l.split('\t').next()).filter(|s| !s.is_empty()).collect();
    // ServerHello lines have no server name; a ClientHello's ciphersuite field is its first offer.
    let ciphers: Vec<String> = theirs.lines().filter_map(|l| l.strip_prefix('\t')).map(str::to_string).collect();
    assert_eq!(snis, vec!["hmi-line-2.plant"; 2], "{theirs}");
    let ours: Vec<String> = servers.iter().map(|s| s["cipher"].as_str().unwrap().to_string()).collect();
    assert_eq!(ours, ciphers, "{theirs}");
}

/// OpenSSL sessions (TLS 1.2 and 1.3) carrying 200 KB each, with each
/// connection's packets up to and including its first application data cut
/// from the capture (editcap), as when a capture starts on a long-running
/// connection: each flow must still be named `tls` from the first segment
/// that starts a record, count application data, and find nothing malformed;
/// tshark, told the port is TLS, finds records on the same flows.
#[test]
fn takes_up_openssl_sessions_picked_up_after_their_handshake() {
    if Command::new("openssl").arg("version").output().is_err() || Command::new("editcap").arg("-h").output().is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("openssl and editcap required in CI");
        }
        eprintln!("skipping: needs openssl and editcap");
        return;
    }
    if !loopback::available(&[], "tcpdump") || !crate::support::tshark_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = loopback::self_signed(dir.path());
    let bulk: Vec<u8> = (0..200_000u32).map(|i| b"0123456789abcdef\n"[(i % 17) as usize]).collect();
    let run = capture(dir.path(), |port| {
        // Input held open: at the end of its input s_server drops the connection.
        let mut server = s_server(port, &cert, &key, &[], Stdio::piped());
        loopback::wait_for_port(port, "openssl s_server");
        for version in ["-tls1_2", "-tls1_3"] {
            let mut client = Command::new("openssl")
                .args(["s_client", "-quiet", "-connect", &format!("127.0.0.1:{port}"), version])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            client.stdin.take().unwrap().write_all(&bulk).unwrap();
            std::thread::sleep(Duration::from_millis(700));
            client.kill().ok();
            client.wait().ok();
        }
        server.kill().ok();
        server.wait().ok();
        Command::new("true").output().unwrap()
    });
    // Per connection (tshark's stream index), the frames up to the client's
    // first application data record.
    let port = run.port.to_string();
    let decode = format!("tcp.port=={port},tls");
    let frames = crate::support::tshark_fields(
        &run.pcap,
        &["-d", &decode],
        "",
        // TLS 1.3 records' outer type is `opaque_type` to tshark.
        &["tcp.stream", "tcp.dstport", "tls.record.content_type", "tls.record.opaque_type"],
    );
    let mut first_data: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut first_frame: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (frame, f) in &frames {
        first_frame.entry(f[0].clone()).or_insert(*frame);
        if f[1] == port && (f[2] == "23" || f[3] == "23") {
            first_data.entry(f[0].clone()).or_insert(*frame);
        }
    }
    assert_eq!(first_data.len(), 2, "two sessions sent application data: {frames:?}");
    let cut: Vec<String> = first_data.iter().map(|(s, last)| format!("{}-{last}", first_frame[s])).collect();
    let midway = dir.path().join("midway.pcap");
    let out = Command::new("editcap").arg(&run.pcap).arg(&midway).args(&cut).output().unwrap();
    assert!(out.status.success(), "{out:?}");

    let db = dir.path().join("midway.db");
    analyze(&db, &midway);
    let flows = loopback::json(&db, &["flows", "--port", &port]);
    let flows = flows["flows"].as_array().unwrap();
    // Both ports are ephemeral: the port heuristic may name either side the
    // server, so the bulk may count either way.
    let bulk_of =
        |f: &&serde_json::Value| f["payload_to_server"].as_u64().unwrap() + f["payload_to_client"].as_u64().unwrap();
    let taken: Vec<_> = flows.iter().filter(|f| bulk_of(f) > 100_000).collect();
    assert_eq!(taken.len(), 2, "{flows:?}");
    for f in taken {
        assert_eq!(f["app_protocol"], "tls", "{f}");
        assert_eq!(f["initiator"], "port_heuristic", "the handshake is not in the capture: {f}");
        assert_eq!(f["malformed"], 0, "{f}");
    }
    let ops = loopback::json(&db, &["operations", "--protocol", "tls"]);
    let data = ops["operations"].as_array().unwrap().iter().find(|o| o["operation"] == "application_data");
    let data = data.unwrap_or_else(|| panic!("{ops}"));
    assert_eq!(data["flows"].as_u64(), Some(2), "{ops}");

    // tshark finds records in the cut capture's same two connections.
    let theirs =
        crate::support::tshark_fields(&midway, &["-d", &decode], "tls.record", &["tcp.srcport", "tcp.dstport"]);
    let client_ports: std::collections::BTreeSet<String> =
        theirs.iter().filter(|(_, f)| f[1] == port).map(|(_, f)| f[0].clone()).collect();
    assert_eq!(client_ports.len(), 2, "{theirs:?}");
}
