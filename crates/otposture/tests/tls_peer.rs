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

/// JA4 against an independent implementation: ja4plus 1.4.0 (PyPI), on the
/// ClientHellos of OpenSSL's `s_client` (TLS 1.2 and 1.3, two ALPN lists),
/// curl by address (no SNI), CPython's `ssl` (no ALPN), and five hellos no
/// library here writes (tests/peers/tls_hellos.py: GREASE everywhere a
/// browser puts it, 120 ciphers, no signature algorithms, no extensions,
/// ALPN values that are not letters and digits). Every fingerprint must be
/// ja4plus's, except the two characters of an ALPN value whose first or last
/// byte is not an ASCII letter or digit: there ja4plus writes the bytes
/// themselves (or `9`), where FoxIO's specification, which we follow, writes
/// the first and last hex digits of the value.
#[test]
fn ja4_is_the_one_an_independent_implementation_computes() {
    let tools = ["openssl", "curl"].iter().all(|t| Command::new(t).arg("--version").output().is_ok());
    if !loopback::require(tools, "openssl and curl")
        || !loopback::available(&["import ja4plus"], "tcpdump and ja4plus (PyPI)")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = loopback::self_signed(dir.path());
    let run = capture(dir.path(), |port| {
        let mut server = s_server(port, &cert, &key, &[], Stdio::null());
        loopback::wait_for_port(port, "openssl s_server");
        let at = format!("127.0.0.1:{port}");
        let quiet = |mut c: Command| {
            c.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
            let mut child = c.spawn().unwrap();
            child.stdin.take().unwrap().write_all(b"Q\n").ok();
            std::thread::sleep(Duration::from_millis(400));
            child.kill().ok();
            child.wait().ok();
        };
        for args in [["-tls1_2", "-alpn", "h2"], ["-tls1_3", "-alpn", "http/1.1,h2"]] {
            let mut c = Command::new("openssl");
            c.args(["s_client", "-connect", &at, "-servername", "historian.plant"]).args(args);
            quiet(c);
        }
        let mut c = Command::new("curl");
        c.args(["-sk", "--max-time", "2", &format!("https://{at}/")]);
        quiet(c);
        let mut c = Command::new("python3");
        c.args([
            "-c",
            "import socket, ssl, sys\n\
             c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n\
             c.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='hmi.plant').close()",
            &port.to_string(),
        ]);
        quiet(c);
        let out = loopback::python_peer("tls_hellos.py", port);
        server.kill().ok();
        server.wait().ok();
        out
    });
    let db = dir.path().join("ja4.db");
    analyze(&db, &run.pcap);
    let ids = loopback::json(&db, &["events", "--kind", "identity", "--protocol", "tls"]);
    let ours: Vec<(String, String)> = ids["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "tls.client_hello")
        .map(|e| (e["ts"].as_str().unwrap().to_string(), e["attributes"]["ja4"].as_str().unwrap().to_string()))
        .collect();

    let out = Command::new("python3")
        .args(["-m", "ja4plus.cli", "analyze", "--types", "ja4", "--format", "json"])
        .arg(&run.pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "ja4plus: {}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["timestamp"].as_str().unwrap().to_string(), v["fingerprint"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(ours.len(), 9, "four clients and five written hellos: {ours:?}");
    assert_eq!(ours.iter().map(|o| &o.0).collect::<Vec<_>>(), theirs.iter().map(|t| &t.0).collect::<Vec<_>>());

    let mut alpn_rule = Vec::new();
    for ((ts, mine), (_, reference)) in ours.iter().zip(&theirs) {
        if mine == reference {
            continue;
        }
        // Only the ALPN characters (the last two of part a) may differ, and
        // only where the specification's hex rule applies.
        let (a, rest) = mine.split_once('_').unwrap();
        assert!(reference.ends_with(rest), "{ts}: ours {mine}, ja4plus {reference}");
        let code = &a[a.len() - 2..];
        assert!(code.chars().all(|c| c.is_ascii_hexdigit()), "{ts}: ours {mine}, ja4plus {reference}");
        alpn_rule.push(code.to_string());
    }
    // `_x!` (5f 78 21) and `ab cd 01`: the first and last hex digits.
    assert_eq!(alpn_rule, ["51", "a1"], "ours {ours:?}\nja4plus {theirs:?}");
    // The browser-shaped hello: GREASE left out of every count and list.
    assert!(ours.iter().any(|o| o.1 == "t13d1214h2_4f4da23df665_bc9a4605e104"), "{ours:?}");
    // More than 99 ciphers count 99.
    assert!(ours.iter().any(|o| o.1.starts_with("t12i990351_")), "{ours:?}");
}
