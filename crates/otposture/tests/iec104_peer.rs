//! IEC 60870-5-104 from a real, independent implementation: c104 (Fraunhofer
//! FIT's Python binding of lib60870) runs a controlled station and a
//! controlling station on loopback (tests/peers/iec104_peer.py), tcpdump
//! captures it, and `otposture analyze` must recognise the flow by content,
//! keep every command with its object address, value and select/execute,
//! count the interrogation, the read and the monitored data, and make the
//! station an RTU, with nothing malformed and no anomaly.
//! Needs python3 with c104 and tcpdump (scripts/setup.sh installs both);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};
use serde_json::Value;

#[test]
fn keeps_every_command_of_a_c104_controlling_station_and_makes_the_station_an_rtu() {
    if !loopback::available(&["import c104"], "python3 with c104 and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("iec104_peer.py", port));
    let done: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    // The station executed both commands. (What c104's client says of each
    // step is not asserted: it can miss a confirmation that comes before it
    // waits, see the peer; the peer then selects again, and says how often.)
    assert_eq!(done["executed"], serde_json::json!([2001, 2002]), "{done}");
    let selects = done["selects"].as_u64().unwrap();
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    // One TCP flow on a random port, recognised as IEC 104 by content, whole;
    // no sequence, pairing or cause anomaly.
    loopback::assert_one_clean_flow(&db, &summary, port, "iec104", &["iec104"]);

    // Every APDU counted under its name: (operation, class, to server, to client).
    let ops = json(&["operations", "--protocol", "iec104"]);
    let ops = ops["operations"].as_array().unwrap();
    let counted = |name: &str| {
        let o = ops.iter().find(|o| o["operation"] == name).unwrap_or_else(|| panic!("no {name}: {ops:?}"));
        (o["class"].as_str().unwrap(), o["to_server"].as_u64().unwrap(), o["to_client"].as_u64().unwrap())
    };
    assert_eq!(counted("startdt_act"), ("session", 1, 0));
    assert_eq!(counted("startdt_con"), ("session", 0, 1));
    // Interrogation: activation, confirmation, termination.
    assert_eq!(counted("interrogation"), ("read", 1, 2));
    // The data it returned, and the read of the measured value (c104
    // confirms the read, then sends the value).
    assert_eq!(counted("single_point"), ("read", 0, 1));
    assert_eq!(counted("measured_float"), ("read", 0, 2));
    assert_eq!(counted("read"), ("read", 1, 1));
    assert_eq!(counted("clock_sync"), ("configuration", 1, 1));
    // Select(s) and execute, their confirmations and the termination.
    assert_eq!(counted("single_command"), ("write", selects + 1, selects + 2));
    assert_eq!(counted("set_point_float"), ("write", 1, 1));

    // Kept individually: each activation of a notable class, never its
    // positive answers (folded into the activation's record).
    let events = json(&["events", "--kind", "operation", "--protocol", "iec104"]);
    let events = events["events"].as_array().unwrap();
    assert!(events.iter().all(|e| e["attributes"]["message"] == "request"), "{events:?}");
    assert!(events.iter().all(|e| e["attributes"]["ca"] == "47"), "{events:?}");
    let named = |name: &str| events.iter().filter(|e| e["name"] == name).collect::<Vec<_>>();
    let commands = named("single_command");
    assert_eq!(commands.len() as u64, selects + 1, "{events:?}");
    for (i, e) in commands.iter().enumerate() {
        let cmd = &e["attributes"];
        assert_eq!(cmd["type"], "C_SC_NA_1");
        assert_eq!(cmd["cot"], "act");
        assert_eq!(cmd["ioa"], "2001");
        assert_eq!(cmd["value"], "on");
        assert_eq!(cmd["qualifier"], "short_pulse");
        // Select before operate: the select(s), then the execute.
        let select = if (i as u64) < selects { "true" } else { "false" };
        assert_eq!(cmd["select"], select, "{cmd}");
    }
    let set_points = named("set_point_float");
    assert_eq!(set_points.len(), 1, "{events:?}");
    let sp = &set_points[0]["attributes"];
    assert_eq!(
        (sp["type"].as_str(), sp["ioa"].as_str(), sp["value"].as_str(), sp["select"].as_str()),
        (Some("C_SE_NC_1"), Some("2002"), Some("42.5"), Some("false"))
    );
    let syncs = named("clock_sync");
    assert_eq!(syncs.len(), 1, "{events:?}");
    assert_eq!(syncs[0]["class"], "configuration");
    assert!(syncs[0]["attributes"]["time"].as_str().is_some_and(|t| t.starts_with("20")), "{}", syncs[0]);
    assert_eq!(events.len() as u64, selects + 3, "only commands and the clock sync are notable here: {events:?}");

    // The inventory: loopback makes client and server one asset; it answers
    // IEC 104 (and its clock synchronization is routine, not engineering), so
    // it is an RTU.
    let assets = json(&["assets"]);
    let assets = assets["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 1, "{assets:?}");
    let a = &assets[0];
    assert_eq!(a["serves"], serde_json::json!(["iec104"]), "{a}");
    assert_eq!(
        (a["role"]["role"].as_str(), a["role"]["rule"].as_str()),
        (Some("rtu"), Some("serves_telecontrol_as_outstation")),
        "{a}"
    );
}
