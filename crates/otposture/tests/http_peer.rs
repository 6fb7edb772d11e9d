//! HTTP from real, independent implementations: CPython's http.server (a
//! device's web server with its own `Server` header and one path behind Basic
//! auth) and curl on loopback (tests/peers/http_peer.py), captured by tcpdump.
//! `otposture analyze` must keep the server's identity and realm, the write
//! requests (a form POST, a chunked PUT), the refused and the accepted Basic
//! logins with the user name — never the password, anywhere in its output or
//! database — and count the reads of kept-alive and pipelined connections.
//! Needs python3, curl and tcpdump (scripts/setup.sh installs them); without
//! them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};
use std::process::Command;

const PASSWORD: &str = "plant-secret-42";

/// True when python3, curl and tcpdump are here; else skips with one line
/// (fails under CI=true).
fn peers_available() -> bool {
    let curl = Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    if !loopback::available(&["import http.server"], "python3, curl and tcpdump") {
        return false;
    }
    if !curl {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "curl required in CI (scripts/setup.sh)");
        eprintln!("skipping: needs curl (scripts/setup.sh)");
        return false;
    }
    true
}

#[test]
fn keeps_logins_writes_and_the_server_identity_of_a_curl_session() {
    if !peers_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("http_peer.py", port));
    let db = dir.path().join("peer.db");
    let flows = check_the_session(&db, &run.pcap, run.port);
    assert!(flows.iter().all(|f| f["initiator"] == "handshake"), "{flows:?}");
}

#[test]
fn a_web_server_above_its_clients_ports_picked_up_mid_stream_is_named_and_turned() {
    if !peers_available() {
        return;
    }
    // The clients connect from ports below the server's, and the capture
    // holds no SYN: the port guess takes each client for the server, and
    // HTTP's probe takes a request line only from a client. Offered the
    // other way round, the requests name the flows and turn them.
    let dir = tempfile::tempdir().unwrap();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = (1500..1940).step_by(60).find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()).unwrap();
    assert!(client + 60 < server);
    let no_syn = ["tcp", "port", &server.to_string(), "and", "(tcp[tcpflags] & tcp-syn) == 0"];
    let run = loopback::capture_filtered(dir.path(), server, &no_syn, |port| {
        loopback::python_peer_with("http_peer.py", &[port, client])
    });
    let db = dir.path().join("peer.db");
    let flows = check_the_session(&db, &run.pcap, server);
    for f in &flows {
        let port = f["client_port"].as_u64().unwrap();
        assert!((u64::from(client)..u64::from(client) + 60).contains(&port), "{f}");
        assert_eq!(
            (f["server_port"].as_u64(), f["initiator"].as_str()),
            (Some(server.into()), Some("protocol")),
            "{f}"
        );
    }
}

/// What both tests check of the peer's session on `port`; returns its flows.
fn check_the_session(db: &std::path::Path, pcap: &std::path::Path, port: u16) -> Vec<serde_json::Value> {
    let summary = analyze(db, pcap);
    let json = |args: &[&str]| loopback::json(db, args);

    let flows = json(&["flows", "--port", &port.to_string()]);
    let flows = flows["flows"].as_array().unwrap().clone();
    assert_eq!(flows.len(), 8, "seven curl connections and one pipelined: {flows:?}");
    for f in &flows {
        assert_eq!((f["app_protocol"].as_str(), f["malformed"].as_u64()), (Some("http"), Some(0)), "{f}");
    }
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");

    let ids = json(&["events", "--kind", "identity", "--protocol", "http"]);
    let ids = ids["events"].as_array().unwrap();
    let server = ids.iter().find(|e| e["name"] == "http.server").unwrap();
    let a = &server["attributes"];
    assert_eq!((a["product"].as_str(), a["version"].as_str()), (Some("PLC-Web"), Some("2.1.7")), "{server}");
    assert_eq!(a["description"], "PLC-Web/2.1.7 (PLC-3 CPU 1214C)");
    assert_eq!(a["powered_by"], "PLC-3 runtime");
    assert!(ids.iter().any(|e| e["name"] == "http.server" && e["attributes"]["realm"] == "PLC-3 Controller"));
    assert!(ids.iter().any(|e| e["name"] == "http.client" && e["attributes"]["software"] == "EngTool/3.2 (PLC-3)"));

    let ops = json(&["events", "--kind", "operation", "--protocol", "http"]);
    let ops = ops["events"].as_array().unwrap();
    let got: Vec<(String, String, String)> = ops
        .iter()
        .map(|e| {
            let a = &e["attributes"];
            (
                e["name"].as_str().unwrap().to_string(),
                a["path"].as_str().unwrap_or("").to_string(),
                a["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("post", "/plc/setpoint.cgi", ""),
        ("put", "/files/prog.bin", ""),
        ("authenticate", "/secure/config.htm", ""),
        ("authenticate", "/secure/config.htm", "401"),
        ("authenticate", "/secure/config.htm", ""),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want, "{ops:?}");
    let post = &ops[0]["attributes"];
    assert_eq!((post["content_length"].as_str(), ops[0]["class"].as_str()), (Some("17"), Some("write")));
    assert_eq!(ops[1]["attributes"]["transfer"], "chunked");
    for login in &ops[2..] {
        assert_eq!(login["class"], "authentication");
        assert_eq!(
            (login["attributes"]["scheme"].as_str(), login["attributes"]["user"].as_str()),
            (Some("basic"), Some("operator"))
        );
    }
    assert_eq!(ops[3]["attributes"]["realm"], "PLC-3 Controller");

    // Reads: two GETs on one kept-alive connection, one unauthenticated, two pipelined; one HEAD.
    let counted = json(&["operations", "--protocol", "http"]);
    let count = |op: &str| {
        counted["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["operation"] == op)
            .map(|o| o["to_server"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((count("get"), count("head"), count("authenticate")), (5, 1, 2), "{counted}");

    // The password never leaves the capture: not in any output, not in the database.
    let basic = "b3BlcmF0b3I6cGxhbnQtc2VjcmV0LTQy"; // base64 of operator:plant-secret-42
    for args in [&["events"][..], &["operations"], &["flows"], &["assets"], &["hosts"]] {
        let out = json(args).to_string();
        assert!(!out.contains(PASSWORD) && !out.contains(basic), "{args:?} holds the password");
    }
    let stored = std::fs::read(db).unwrap();
    for secret in [PASSWORD.as_bytes(), basic.as_bytes(), b"wrong-guess"] {
        assert!(!stored.windows(secret.len()).any(|w| w == secret), "the database holds a credential");
    }
    flows
}
