//! S7comm from a real, independent implementation: snap7's server and client
//! (libsnap7, bundled by python-snap7) talk on loopback
//! (tests/peers/s7_peer.py), tcpdump captures it, and `otposture analyze` must
//! name the CPU as the client saw it, see every write and every stop and
//! start, and find nothing malformed.
//! Needs python3 with python-snap7 and tcpdump (scripts/setup.sh installs
//! both); without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};
use serde_json::Value;
use std::time::Instant;

/// The CPU mode SZL 0x0424 reports, as snap7's client names it.
fn snap7_mode(mode: &str) -> &str {
    match mode {
        "run" => "S7CpuStatusRun",
        "stop" => "S7CpuStatusStop",
        other => other,
    }
}

#[test]
fn names_a_snap7_cpu_and_sees_every_write_stop_and_start() {
    // python-snap7 2.x: the bundled C++ libsnap7 (3.x is a pure-Python rewrite).
    let snap7 = "import importlib.metadata as m, snap7.server; assert m.version('python-snap7').startswith('2.')";
    if !loopback::available(&[snap7], "python3 with python-snap7 2.x and tcpdump") {
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("s7_peer.py", port));
    let done: Value = serde_json::from_slice(&run.peer.stdout).unwrap();
    let (port, db) = (run.port, dir.path().join("peer.db"));
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    // One TCP flow, identified as S7comm by content on a random port, whole.
    loopback::assert_one_clean_flow(&db, &summary, port, "s7comm", &["s7comm"]);

    // Reads are counted, not kept: each read_var job and its ack_data.
    let messages = |class: &str| loopback::messages(&summary, "s7comm", class);
    assert_eq!(messages("read"), 2 * done["reads"].as_u64().unwrap(), "{summary}");

    // The COTP connection names rack 0, slot 1, as the client asked.
    let notes = json(&["events", "--kind", "annotation", "--protocol", "s7comm"]);
    let cr = notes["events"].as_array().unwrap().iter().find(|e| e["attributes"]["tpdu"] == "connection_request");
    let cr = cr.unwrap_or_else(|| panic!("{notes}"));
    assert_eq!((cr["attributes"]["rack"].as_str(), cr["attributes"]["slot"].as_str()), (Some("0"), Some("1")));

    // Identity: what the client got from get_cpu_info (SZL 0x001C) and the
    // module identification records it read (SZL 0x0011).
    let ids = json(&["events", "--kind", "identity", "--protocol", "s7comm"]);
    let ids = ids["events"].as_array().unwrap();
    let szl = |id: &str| -> Vec<&Value> {
        ids.iter().filter(|e| e["name"] == "s7comm.szl_identity" && e["attributes"]["szl_id"] == id).collect()
    };
    let components = szl("0x001c");
    assert_eq!(components.len(), 1, "{ids:?}");
    let c = &components[0]["attributes"];
    for (k, v) in done["cpu_info"].as_object().unwrap() {
        assert_eq!(&c[k], v, "SZL 0x001C {k}: {c}");
    }
    assert_eq!(components[0]["src_ip"], "127.0.0.1");
    let modules = szl("0x0011");
    assert!(!modules.is_empty(), "{ids:?}");
    for m in &modules {
        let m = &m["attributes"];
        assert_eq!(m["order_number"], done["order_code"], "{m}");
        for r in done["szl_0011"].as_array().unwrap() {
            let (g, e) = (&r["ausbg"], &r["ausbe"]);
            match r["index"].as_u64().unwrap() {
                1 => assert_eq!(m["order_number"], r["mlfb"], "{m}"),
                6 => assert_eq!(m["hardware_order_number"], r["mlfb"], "{m}"),
                7 if g[0] == u64::from(b'V') => {
                    assert_eq!(m["firmware_version"], format!("V{}.{}.{}", g[1], e[0], e[1]), "{m}");
                }
                _ => {}
            }
        }
    }
    // Every CPU state the client read (SZL 0x0424), in order; a state read
    // again unchanged is one identity event (counted, not kept again).
    let modes: Vec<&str> = ids
        .iter()
        .filter(|e| e["name"] == "s7comm.szl_cpu_mode")
        .map(|e| snap7_mode(e["attributes"]["cpu_mode"].as_str().unwrap()))
        .collect();
    let mut states: Vec<&str> = done["cpu_states"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    states.dedup();
    assert_eq!(modes, states);

    let ops = json(&["events", "--kind", "operation", "--protocol", "s7comm"]);
    let ops = ops["events"].as_array().unwrap();
    let named = |name: &str, message: &str| -> Vec<&Value> {
        ops.iter().filter(|e| e["name"] == name && e["attributes"]["message"] == message).collect()
    };
    // Answers accepted are counted (`operations`, to the client) and folded
    // into the job's record; none of these was refused, so none is kept.
    let totals = json(&["operations", "--protocol", "s7comm"]);
    let answers = |name: &str| -> u64 {
        let rows = totals["operations"].as_array().unwrap();
        rows.iter().filter(|r| r["operation"] == name).map(|r| r["to_client"].as_u64().unwrap()).sum()
    };
    // Every write, individually, and each answered.
    let writes = named("write_var", "job");
    assert_eq!(writes.len(), done["writes"].as_array().unwrap().len(), "{ops:?}");
    for w in &writes {
        assert_eq!((w["class"].as_str(), w["attributes"]["item_count"].as_str()), (Some("write"), Some("1")), "{w}");
    }
    assert!(named("write_var", "ack_data").is_empty(), "{ops:?}");
    assert_eq!(answers("write_var"), writes.len() as u64, "{totals}");
    // Stop, hot start and cold start: control operations (a start is PLC
    // control with PI service P_PROGRAM), each acknowledged.
    let stops = named("plc_stop", "job");
    assert_eq!(stops.len() as u64, done["stops"].as_u64().unwrap(), "{ops:?}");
    let starts = named("plc_control", "job");
    let want = done["hot_starts"].as_u64().unwrap() + done["cold_starts"].as_u64().unwrap();
    assert_eq!(starts.len() as u64, want, "{ops:?}");
    for j in stops.iter().chain(&starts) {
        assert_eq!((j["class"].as_str(), j["attributes"]["pi_service"].as_str()), (Some("control"), Some("P_PROGRAM")));
    }
    assert_eq!(answers("plc_stop"), stops.len() as u64, "{totals}");
    assert_eq!(answers("plc_control"), starts.len() as u64, "{totals}");
    assert!(named("plc_stop", "ack_data").is_empty() && named("plc_control", "ack_data").is_empty(), "{ops:?}");
    // Setting the clock is configuration.
    assert_eq!(named("set_clock", "userdata").len() as u64, 2 * done["clock_sets"].as_u64().unwrap(), "{ops:?}");
    // The upload snap7's server refuses: the job (a program transfer) and the
    // bare ack that refuses it, under the job's name with its error.
    let uploads = named("start_upload", "job");
    assert_eq!(uploads.len(), 1, "{ops:?}");
    assert_eq!(
        (uploads[0]["class"].as_str(), uploads[0]["attributes"]["block"].as_str()),
        (Some("program"), Some("DB1"))
    );
    if done["uploads"] == 0 {
        let refused = named("start_upload", "ack");
        assert_eq!(refused.len(), 1, "{ops:?}");
        assert_eq!(refused[0]["attributes"]["pdu_ref"], uploads[0]["attributes"]["pdu_ref"]);
        assert!(refused[0]["attributes"]["error"].is_string(), "{}", refused[0]);
    }
    // The inventory: client and server share loopback's address and zero MAC,
    // so they are one asset; it serves S7comm and stated its module
    // identification, which makes it a Siemens controller with the order
    // number the client read.
    let assets = json(&["assets"]);
    let assets = assets["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 1, "{assets:?}");
    let a = &assets[0];
    assert_eq!(a["serves"], serde_json::json!(["s7comm"]), "{a}");
    assert_eq!(
        (a["role"]["role"].as_str(), a["role"]["rule"].as_str()),
        (Some("controller"), Some("s7_module_identification"))
    );
    let field = |name: &str| a["attributes"].as_array().unwrap().iter().find(|x| x["field"] == name).cloned();
    assert_eq!(field("vendor").unwrap()["value"], "Siemens", "{a}");
    let order = field("order_number").unwrap();
    assert_eq!(order["value"], done["order_code"], "{a}");
    let provenance = &order["values"][0]["first"];
    assert_eq!(
        (provenance["source"].as_str(), provenance["event"].as_str()),
        (Some("s7comm"), Some("s7comm.szl_identity"))
    );
    assert!(provenance["packet"].as_u64().unwrap() > 0);
    let shown = json(&["assets", "show", a["id"].as_str().unwrap()]);
    assert_eq!(shown["schema"], "otposture.asset/1");
    assert_eq!(shown["asset"], *a);
    eprintln!("s7 peer: captured and checked in {:.1} s", started.elapsed().as_secs_f64());
}
