//! OPC UA from a real, independent implementation: asyncua's server and
//! client talk on loopback (tests/peers/opcua_peer.py), tcpdump captures it,
//! and `otposture analyze` must recognise OPC UA by content on a random port,
//! name the server from its build information, flag its endpoints and channels
//! as insecure (security policy None), keep the write, the method call and
//! both session activations (anonymous and user name) individually, and
//! classify the server as an OPC server. The same capture is cross-checked
//! against tshark field by field (`opcua_cross`); last run: type 58/58,
//! service 52/52, policy 6/6, endpoint_url 1/1, application_uri 1/1 agree.
//! Needs python3 with asyncua, tcpdump and tshark (scripts/setup.sh installs
//! them); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::opcua_cross;
// Shared with the capture cross-checks; this test reads no shared capture.
#[allow(unused_imports)]
use crate::support;

use loopback::{analyze, capture, python_peer};
use serde_json::Value;
use std::collections::BTreeSet;

#[test]
fn names_an_asyncua_server_flags_its_insecure_endpoints_and_keeps_writes_calls_and_logins() {
    if !loopback::available(&["import asyncua"], "python3 with asyncua and tcpdump") || !support::tshark_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("opcua_peer.py", port));
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let ids: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    // Three connections (endpoints, anonymous session, user-name session),
    // all recognised as OPC UA by content, whole and clean.
    let flows = json(&["flows", "--port", &port.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 3, "{flows:?}");
    for f in flows {
        assert_eq!((f["app_protocol"].as_str(), f["initiator"].as_str()), (Some("opcua"), Some("handshake")), "{f}");
        assert_eq!((f["malformed"].as_u64(), f["gaps"].as_u64()), (Some(0), Some(0)), "{f}");
    }
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let anomalies = json(&["events", "--kind", "anomaly", "--protocol", "opcua"]);
    assert_eq!(anomalies["events"].as_array().unwrap().len(), 0, "{anomalies}");

    let events = json(&["events", "--kind", "identity", "--protocol", "opcua"]);
    let events = events["events"].as_array().unwrap();
    let named = |name: &str| events.iter().filter(|e| e["name"] == name).collect::<Vec<_>>();
    // Build information: the whole ServerStatus read gives every field.
    let build = named("opcua.build_info");
    let whole =
        build.iter().find(|e| e["attributes"]["build_number"].is_string()).unwrap_or_else(|| panic!("{build:?}"));
    let a = &whole["attributes"];
    assert_eq!(a["vendor"], "otposture-peer");
    assert_eq!(a["product_name"], "asyncua test server");
    assert_eq!(a["software_version"], "2.1.0-peer");
    assert_eq!(a["build_number"], "4242");
    assert_eq!(a["product_uri"], "urn:otposture:peer:product");
    assert_eq!(whole["src_ip"], "127.0.0.1");
    let servers = named("opcua.server");
    assert!(servers.iter().all(|e| e["attributes"]["application_uri"] == "urn:otposture:peer:server"), "{servers:?}");
    assert!(!servers.is_empty());
    // Endpoints and channels under policy None are flagged insecure.
    let endpoints = named("opcua.endpoint");
    assert!(!endpoints.is_empty());
    for e in &endpoints {
        let a = &e["attributes"];
        assert_eq!((a["security_mode"].as_str(), a["insecure"].as_str()), (Some("none"), Some("true")), "{e}");
        assert_eq!(a["security_policy"], "http://opcfoundation.org/UA/SecurityPolicy#None");
        assert_eq!(a["token_types"], "anonymous,username");
        assert!(a["url"].as_str().unwrap().ends_with(&format!(":{port}/otposture/peer/")), "{e}");
    }
    let channels = named("opcua.secure_channel");
    assert_eq!(channels.len(), 3, "{channels:?}");
    assert!(channels
        .iter()
        .all(|e| e["attributes"]["insecure"] == "true" && e["attributes"]["security_mode"] == "none"));
    assert_eq!(named("opcua.client").len(), 2);

    // The write and the call, each kept once with its node ids; the
    // activations with their token types; nothing else is notable here.
    let ops = json(&["events", "--kind", "operation", "--protocol", "opcua"]);
    let ops = ops["events"].as_array().unwrap();
    let requests = |name: &str| {
        ops.iter().filter(|e| e["name"] == name && e["attributes"]["message"] == "request").cloned().collect::<Vec<_>>()
    };
    let w = requests("write");
    assert_eq!(w.len(), 1, "{ops:?}");
    let a = &w[0]["attributes"];
    assert_eq!(a["node_ids"], ids["written"]);
    assert_eq!((a["value_types"].as_str(), a["values"].as_str()), (Some("Double"), Some("55.25")));
    assert_eq!(w[0]["class"], "write");
    let c = requests("call");
    assert_eq!(c.len(), 1, "{ops:?}");
    assert_eq!(
        (&c[0]["attributes"]["object_ids"], &c[0]["attributes"]["method_ids"]),
        (&ids["object"], &ids["method"])
    );
    assert_eq!(c[0]["class"], "write");
    let logins = requests("activate_session");
    let tokens: BTreeSet<&str> = logins.iter().map(|e| e["attributes"]["token_type"].as_str().unwrap()).collect();
    assert_eq!(tokens, BTreeSet::from(["anonymous", "username"]), "{logins:?}");
    let user = logins.iter().find(|e| e["attributes"]["token_type"] == "username").unwrap();
    assert_eq!(user["attributes"]["user_name"], "operator");
    assert_eq!(user["attributes"]["password_encrypted"], "false");
    assert!(!user["attributes"].to_string().contains("peer-secret"), "the password is never kept");
    assert!(logins.iter().all(|e| e["class"] == "authentication"));
    assert_eq!(ops.len(), 4, "answers that accept are not kept again: {ops:?}");

    // The server asset: an OPC server, named by its build information.
    let assets = json(&["assets"]);
    let server = assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["serves"].as_array().unwrap().iter().any(|p| p == "opcua"))
        .unwrap_or_else(|| panic!("{assets}"));
    assert_eq!(
        (server["role"]["role"].as_str(), server["role"]["rule"].as_str()),
        (Some("opc_server"), Some("serves_opc_ua"))
    );
    let field =
        |f: &str| server["attributes"].as_array().unwrap().iter().find(|a| a["field"] == f).map(|a| a["value"].clone());
    assert_eq!(field("model"), Some(Value::from("asyncua test server")), "{server}");
    assert_eq!(field("firmware"), Some(Value::from("2.1.0-peer")), "{server}");

    // The same capture against tshark.
    let (ours, ports) = opcua_cross::ours(&run.pcap);
    assert_eq!(ports, BTreeSet::from([port]));
    let mut tally = opcua_cross::tally();
    tally.add("peer.pcap", &ours, &opcua_cross::theirs(&run.pcap, &ports));
    tally.check("opcua peer", true);
}
