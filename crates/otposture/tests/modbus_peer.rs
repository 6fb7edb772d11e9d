//! Modbus/TCP from a real, independent implementation: pymodbus's server and
//! client talk on loopback (tests/peers/modbus_peer.py), tcpdump captures it,
//! and `otposture analyze` must name the device and see every write.
//! Needs python3 with pymodbus and tcpdump (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};

#[test]
fn names_a_pymodbus_server_and_sees_every_write() {
    if !loopback::available(&["import pymodbus"], "python3 with pymodbus and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("modbus_peer.py", port));
    let (port, db) = (run.port, dir.path().join("peer.db"));
    analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

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
    // Report Server ID: the server id and the run indicator given apart.
    let sid = ids.iter().find(|e| e["name"] == "modbus.server_id").unwrap_or_else(|| panic!("{ids:?}"));
    let a = &sid["attributes"];
    assert_eq!(
        (a["server_id"].as_str(), a["run_indicator"].as_str()),
        (Some("otposture-peer-PM-316-3.16.1"), Some("on")),
        "{sid}"
    );
    assert_eq!(a["server_id_hex"].as_str().map(|h| h.ends_with("ff")), Some(true), "{sid}");

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

/// A connection picked up mid-stream (the capture holds no SYN), whose
/// client port (1500-1999) is below the server's (one the kernel hands out,
/// 32768 and up): neither is a registered port, so the port guess takes the
/// client for the server. The Modbus requests tell, and the flow is stored
/// the right way round, with every request seen as one.
#[test]
fn a_modbus_connection_picked_up_mid_stream_is_turned_by_its_requests() {
    if !loopback::available(&["import pymodbus"], "python3 with pymodbus and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = (1500..2000).find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()).unwrap();
    assert!(client < server);
    let no_syn = ["tcp", "port", &server.to_string(), "and", "(tcp[tcpflags] & tcp-syn) == 0"];
    let run = loopback::capture_filtered(dir.path(), server, &no_syn, |port| {
        loopback::python_peer_with("modbus_peer.py", &[port, client])
    });
    let db = dir.path().join("peer.db");
    analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    let flows = json(&["flows", "--port", &server.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 1, "{flows:?}");
    loopback::assert_ends_by_protocol(&flows[0], "modbus", client, server);

    // The dissector saw the requests as requests: each write once, paired.
    let ops = json(&["events", "--kind", "operation", "--protocol", "modbus"]);
    let ops = ops["events"].as_array().unwrap();
    let writes =
        |name: &str| ops.iter().filter(|e| e["name"] == name && e["attributes"]["message"] == "request").count();
    assert_eq!(writes("write_single_register"), 1, "{ops:?}");
    assert_eq!(writes("write_multiple_registers"), 1, "{ops:?}");
    assert_eq!(writes("write_single_coil"), 1, "{ops:?}");
    let ids = json(&["events", "--kind", "identity", "--protocol", "modbus"]);
    let ids = ids["events"].as_array().unwrap();
    assert!(ids.iter().any(|e| e["attributes"]["vendor"] == "otposture-peer"), "{ids:?}");
}
