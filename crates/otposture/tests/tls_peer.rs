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
use std::process::{Command, Stdio};
use std::time::Duration;

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
        let mut server = Command::new("openssl")
            .args(["s_server", "-quiet", "-accept", &port.to_string(), "-alpn", "h2"])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
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
