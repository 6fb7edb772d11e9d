//! BACnet/IP from a real, independent implementation: two bacpypes3
//! applications, a controller and a workstation, talk on loopback
//! (tests/peers/bacnet_peer.py), tcpdump captures it, and `otposture analyze`
//! must find the controller by content on unusual ports, name it from its
//! device object, keep the set-point write with its value and priority, and
//! keep both device controls with their refusals. tshark, told the ports are
//! BACnet, must agree on every datagram's function and service.
//! Needs python3 with bacpypes3 and tcpdump (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture_udp_pair, python_peer, python_peer_with};
use serde_json::Value;
use std::process::Command;

#[test]
fn names_a_bacpypes3_controller_and_keeps_its_writes_and_controls() {
    if !loopback::available(&["import bacpypes3"], "python3 with bacpypes3 and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture_udp_pair(dir.path(), |port| python_peer("bacnet_peer.py", port));
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let f = loopback::the_one_flow(&db, &analyze(&db, &run.pcap), port);
    let json = |args: &[&str]| loopback::json(&db, args);
    // Found by content on its port. The workstation's port is the higher:
    // the guess was right, and its Who-Is says so.
    loopback::assert_ends_by_protocol(&f, "bacnet", port + 1, port);

    let ids = json(&["events", "--kind", "identity", "--protocol", "bacnet"]);
    let ids = ids["events"].as_array().unwrap();
    let i_am = ids.iter().find(|e| e["name"] == "bacnet.i_am").unwrap_or_else(|| panic!("{ids:?}"));
    assert_eq!(i_am["attributes"]["device_instance"], "1201");
    assert_eq!(i_am["attributes"]["vendor_id"], "15");
    let stated = |key: &str| {
        ids.iter()
            .filter(|e| e["name"] == "bacnet.device")
            .find_map(|e| e["attributes"][key].as_str().map(str::to_string))
    };
    assert_eq!(stated("object_name").as_deref(), Some("AHU-3 controller"));
    assert_eq!(stated("vendor_name").as_deref(), Some("otposture-peer"));
    assert_eq!(stated("model_name").as_deref(), Some("bacpypes3 sim"));
    assert_eq!(stated("firmware_revision").as_deref(), Some("0.0.110"));
    assert_eq!(stated("application_software_version").as_deref(), Some("ahu-logic 2.4"));
    assert_eq!(stated("location").as_deref(), Some("roof plant"));
    assert!(ids.iter().filter(|e| e["name"] == "bacnet.device").all(|e| e["attributes"]["device_instance"] == "1201"));

    let ops = json(&["events", "--kind", "operation", "--protocol", "bacnet"]);
    let ops = ops["events"].as_array().unwrap();
    let named = |n: &str| ops.iter().filter(|e| e["name"] == n).cloned().collect::<Vec<Value>>();
    let writes = named("write_property");
    assert_eq!(writes.len(), 1, "the write, its SimpleACK folded: {ops:?}");
    let w = &writes[0]["attributes"];
    assert_eq!(
        (w["object"].as_str(), w["property"].as_str(), w["value"].as_str(), w["priority"].as_str()),
        (Some("analog-value,3"), Some("present-value"), Some("23"), Some("8"))
    );
    let dcc = named("device_communication_control");
    assert_eq!(dcc.len(), 2, "request and its reject: {ops:?}");
    assert_eq!(dcc[0]["attributes"]["state"], "disable");
    assert_eq!(dcc[0]["attributes"]["duration_minutes"], "5");
    assert_eq!(dcc[1]["attributes"]["reason"], "reject: unrecognized_service");
    let reinit = named("reinitialize_device");
    assert_eq!(reinit.len(), 2, "{ops:?}");
    assert_eq!(reinit[0]["attributes"]["state"], "warmstart");
    assert!(dcc.iter().chain(&reinit).all(|e| e["class"] == "control"));

    // tshark decodes BACnet on 47808 only: told the peers' ports, it must see
    // the same services in the same datagrams.
    if Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let t = Command::new("tshark")
            .arg("-r")
            .arg(&run.pcap)
            .args(["-d", &format!("udp.port=={port},bvlc"), "-d", &format!("udp.port=={},bvlc", port + 1)])
            .args([
                "-Y",
                "bacapp",
                "-T",
                "fields",
                "-e",
                "bacapp.confirmed_service",
                "-e",
                "bacapp.unconfirmed_service",
            ])
            .output()
            .unwrap();
        let services: Vec<String> = String::from_utf8_lossy(&t.stdout).lines().map(|l| l.replace('\t', "")).collect();
        let ours = json(&["operations", "--protocol", "bacnet"]);
        let count = |name: &str| {
            ours["operations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["operation"] == name)
                .map(|o| o["messages"].as_u64().unwrap())
                .sum::<u64>()
        };
        // Reject PDUs name no service for tshark; ours are paired with their request.
        assert_eq!(services.iter().filter(|s| *s == "12").count() as u64, count("read_property"), "{services:?}");
        assert_eq!(services.iter().filter(|s| *s == "15").count() as u64, count("write_property"), "{services:?}");
        assert_eq!(services.iter().filter(|s| *s == "8").count() as u64, count("who_is"), "{services:?}");
        assert_eq!(services.iter().filter(|s| *s == "0").count() as u64, count("i_am"), "{services:?}");
    } else {
        eprintln!("skipping: the tshark comparison of the bacpypes3 exchange needs tshark");
    }
}

#[test]
fn a_workstation_on_a_lower_port_than_its_controller_is_the_client_by_what_it_sends() {
    if !loopback::available(&["import bacpypes3"], "python3 with bacpypes3 and tcpdump") {
        return;
    }
    // The controller on the higher port: the lower-port guess takes the
    // workstation for the server, and its Who-Is and requests turn the flow.
    let dir = tempfile::tempdir().unwrap();
    let run = capture_udp_pair(dir.path(), |port| python_peer_with("bacnet_peer.py", &[port + 1, port]));
    let (workstation, controller, db) = (run.port, run.port + 1, dir.path().join("peer.db"));
    let f = loopback::the_one_flow(&db, &analyze(&db, &run.pcap), controller);
    let json = |args: &[&str]| loopback::json(&db, args);
    loopback::assert_ends_by_protocol(&f, "bacnet", workstation, controller);
    // Requests one way, their answers the other: the workstation sent the
    // Who-Is, seven reads, a write, a read and two controls; the controller
    // the I-Am and the answers.
    assert_eq!((f["packets_to_server"].as_u64(), f["packets_to_client"].as_u64()), (Some(12), Some(12)), "{f}");
    let ops = json(&["events", "--kind", "operation", "--protocol", "bacnet"]);
    let writes: Vec<&Value> =
        ops["events"].as_array().unwrap().iter().filter(|e| e["name"] == "write_property").collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0]["attributes"]["value"], "23");
}
