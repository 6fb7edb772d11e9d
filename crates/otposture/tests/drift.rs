//! `otposture baseline accept|show|diff` end to end, on two Modbus/TCP
//! captures of one small cell that the test builds itself.
//!
//! Capture A (2024-03-01): the HMI polls the PLC (read holding registers) and
//! asks it to identify itself (43/14: Schneider Electric, BMX P34 2020,
//! firmware V2.10); the historian polls the PLC too.
//!
//! Capture B (a day later): the HMI polls, writes a register (function 6) and
//! gets the identification again, now firmware V2.20 (the PLC was updated);
//! the historian polls; an engineering laptop nobody had seen reads from the
//! PLC.
//!
//! After A is analysed and accepted, B analysed into the same database gives
//! exactly four deviations: the laptop (new asset), its conversation with the
//! PLC (new conversation), the write on the HMI's conversation (new
//! operation) and the firmware (identity change). Nothing vanishes: the
//! inventory is built from everything the database holds, A included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, json, otposture};
use otposture_fixtures::{Endpoint, Frame, LinkType, PcapOptions, PcapWriter, Side, TcpConversation};
use otposture_model::Timestamp;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

const DAY: i64 = 86_400 * 1_000_000_000;
const A_START: Timestamp = Timestamp(1_709_280_000 * 1_000_000_000);
const B_START: Timestamp = Timestamp(A_START.0 + DAY);

const PLC: ([u8; 6], [u8; 4]) = ([0x00, 0x80, 0xf4, 0x0a, 0x00, 0x14], [10, 0, 0, 20]);
const HMI: ([u8; 6], [u8; 4]) = ([0x00, 0xd0, 0xc9, 0x0a, 0x00, 0x1e], [10, 0, 0, 30]);
const HISTORIAN: ([u8; 6], [u8; 4]) = ([0x00, 0x14, 0x22, 0x0a, 0x00, 0x28], [10, 0, 0, 40]);
const LAPTOP: ([u8; 6], [u8; 4]) = ([0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32], [10, 0, 0, 50]);

const PLC_ID: &str = "mac-00:80:f4:0a:00:14";
const HMI_ID: &str = "mac-00:d0:c9:0a:00:1e";
const LAPTOP_ID: &str = "mac-3c:52:82:0a:00:32";

/// MBAP header (transaction, protocol 0, length, unit 1) before a PDU.
fn adu(tid: u16, pdu: &[u8]) -> Vec<u8> {
    let mut b = tid.to_be_bytes().to_vec();
    b.extend_from_slice(&[0, 0]); // protocol id: Modbus
    b.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes()); // length: unit id + PDU
    b.push(1); // unit id
    b.extend_from_slice(pdu);
    b
}

/// Read holding registers 0..4 (function 3) and its answer.
fn read(c: &mut TcpConversation, tid: u16) {
    c.client_sends(&adu(tid, &[0x03, 0x00, 0x00, 0x00, 0x04]));
    c.server_sends(&adu(tid, &[0x03, 0x08, 0, 1, 0, 2, 0, 3, 0, 4]));
}

/// Read Device Identification (43/14, basic) and an answer with vendor,
/// product code and revision `firmware`.
fn identify(c: &mut TcpConversation, tid: u16, firmware: &str) {
    c.client_sends(&adu(tid, &[0x2b, 0x0e, 0x01, 0x00])); // fc 43, MEI 14, basic, from object 0
    let mut pdu = vec![0x2b, 0x0e, 0x01, 0x01, 0x00, 0x00, 0x03]; // code 1, conformity 1, no more, next 0, 3 objects
    for (id, value) in [(0u8, "Schneider Electric"), (1, "BMXP342020"), (2, firmware)] {
        pdu.push(id);
        pdu.push(value.len() as u8);
        pdu.extend_from_slice(value.as_bytes());
    }
    c.server_sends(&adu(tid, &pdu));
}

fn session(
    client: ([u8; 6], [u8; 4]),
    port: u16,
    start: Timestamp,
    body: impl FnOnce(&mut TcpConversation),
) -> Vec<Frame> {
    let mut c = TcpConversation::new(Endpoint::new(client.0, client.1, port), Endpoint::new(PLC.0, PLC.1, 502), start);
    c.handshake();
    body(&mut c);
    c.close_by(Side::Client);
    c.into_frames()
}

fn write_pcap(path: &Path, mut frames: Vec<Frame>) {
    frames.sort_by_key(|f| f.ts);
    let opts = PcapOptions { link_type: LinkType::ETHERNET, snaplen: 65_535, ..PcapOptions::default() };
    let mut w = PcapWriter::with_options(Vec::new(), opts).unwrap();
    w.write_frames(&frames).unwrap();
    std::fs::write(path, w.into_inner().unwrap()).unwrap();
}

fn at(start: Timestamp, secs: i64) -> Timestamp {
    Timestamp(start.0 + secs * 1_000_000_000)
}

fn capture_a(path: &Path) {
    let mut frames = session(HMI, 50_001, at(A_START, 1), |c| {
        read(c, 1);
        identify(c, 2, "V2.10");
        read(c, 3);
    });
    frames.extend(session(HISTORIAN, 50_002, at(A_START, 5), |c| read(c, 1)));
    write_pcap(path, frames);
}

fn capture_b(path: &Path) {
    let mut frames = session(HMI, 50_011, at(B_START, 1), |c| {
        read(c, 1);
        c.client_sends(&adu(2, &[0x06, 0x00, 0x07, 0x00, 0x2a])); // write single register 7 := 42
        c.server_sends(&adu(2, &[0x06, 0x00, 0x07, 0x00, 0x2a])); // echoed: accepted
        identify(c, 3, "V2.20");
    });
    frames.extend(session(HISTORIAN, 50_012, at(B_START, 5), |c| read(c, 1)));
    frames.extend(session(LAPTOP, 50_013, at(B_START, 9), |c| read(c, 1)));
    write_pcap(path, frames);
}

fn run_as(db: &Path, user: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_otposture"))
        .env("USER", user)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (kind, asset, client, server, field or operation, before, after) of each deviation.
fn summary(report: &Value) -> Vec<(String, String, String, String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    report["deviations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let what = if d["operation"].is_null() { &d["field"] } else { &d["operation"] };
            (
                s(&d["kind"]),
                s(&d["asset"]),
                s(&d["conversation"]["client"]),
                s(&d["conversation"]["server"]),
                s(what),
                s(&d["before"]),
                s(&d["after"]),
            )
        })
        .collect()
}

fn row(
    k: &str,
    asset: &str,
    client: &str,
    server: &str,
    what: &str,
    before: &str,
    after: &str,
) -> (String, String, String, String, String, String, String) {
    (k.into(), asset.into(), client.into(), server.into(), what.into(), before.into(), after.into())
}

#[test]
fn a_baseline_then_a_second_capture_lists_exactly_the_drift() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drift.db");
    let (a, b) = (dir.path().join("a.pcap"), dir.path().join("b.pcap"));
    capture_a(&a);
    capture_b(&b);

    analyze(&db, &a);
    // Nothing accepted yet: diff says so and fails.
    let none = otposture(&db, &["baseline", "diff"]);
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    assert!(stderr(&none).contains("no baseline has been accepted"), "{}", stderr(&none));

    let accepted = run_as(&db, "drift-tester", &["baseline", "accept", "--note", "after commissioning"]);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    let line = String::from_utf8_lossy(&accepted.stdout);
    assert_eq!(line.trim(), "baseline 1 accepted: 3 assets, 2 conversations, by drift-tester (logged)");

    // The same inventory: no drift.
    let same = json(&db, &["baseline", "diff"]);
    assert_eq!(same["schema"], "otposture.drift/1");
    assert_eq!(same["deviations"], serde_json::json!([]), "{same:#}");

    analyze(&db, &b);
    let report = json(&db, &["baseline", "diff"]);
    assert_eq!(report["baseline"]["id"], 1);
    assert_eq!(report["baseline"]["actor"], "drift-tester");
    assert_eq!(report["baseline"]["note"], "after commissioning");
    assert_eq!(report["current"]["assets"], 4);
    assert_eq!(
        summary(&report),
        [
            row("new_asset", LAPTOP_ID, "-", "-", "-", "-", "-"),
            row("identity_change", PLC_ID, "-", "-", "firmware", "V2.10", "V2.20"),
            row("new_conversation", "-", LAPTOP_ID, PLC_ID, "-", "-", "read"),
            row("new_operation", "-", HMI_ID, PLC_ID, "write", "discovery read", "discovery read write"),
        ],
        "{report:#}"
    );
    let firmware = &report["deviations"][1];
    assert_eq!(firmware["first_seen"].as_str().unwrap().get(..10), Some("2024-03-02"), "{firmware}");
    assert!(firmware["explanation"].as_str().unwrap().contains("changed from \"V2.10\" to \"V2.20\""), "{firmware}");
    let write = &report["deviations"][3];
    assert_eq!(write["conversation"]["protocol"], "modbus");
    assert_eq!(
        (&write["first_seen"], write["last_seen"].as_str().unwrap().get(..10)),
        (&Value::Null, Some("2024-03-02"))
    );

    // --kind picks kinds; CSV flattens the conversation into columns.
    let only = json(&db, &["baseline", "diff", "--kind", "new_operation,identity_change"]);
    assert_eq!(only["deviations"].as_array().unwrap().len(), 2, "{only:#}");
    let csv = otposture(&db, &["baseline", "diff", "--format", "csv", "--kind", "new_operation"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.starts_with("kind,asset,client,server,protocol,module,field,operation,before,after,"), "{csv}");
    assert!(csv.contains(&format!("new_operation,,{HMI_ID},{PLC_ID},modbus,,,write,")), "{csv}");
    let bad = otposture(&db, &["baseline", "diff", "--kind", "teleported"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let table = otposture(&db, &["baseline", "diff"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("baseline 1, accepted ") && table.contains("(4 deviations)"), "{table}");

    // The baseline as listed and as accepted.
    let listed = json(&db, &["baseline", "show"]);
    assert_eq!(listed["schema"], "otposture.baseline/1");
    assert_eq!(listed["assets"].as_array().unwrap().len(), 3);
    let table = otposture(&db, &["baseline", "show"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("drift-tester") && table.contains("after commissioning") && table.contains("(1 baselines)"),
        "{table}"
    );

    // Accepting is logged with who did it.
    let audit = json(&db, &["audit"]);
    let entry = &audit["audit"][0];
    assert_eq!((entry["action"].as_str(), entry["actor"].as_str()), (Some("accept_baseline"), Some("drift-tester")));
    assert!(entry["detail"].as_str().unwrap().contains("after commissioning"), "{entry}");

    // A new baseline takes it all in: no drift left.
    assert!(run_as(&db, "drift-tester", &["baseline", "accept"]).status.success());
    assert_eq!(json(&db, &["baseline", "diff"])["deviations"], serde_json::json!([]));
    assert_eq!(json(&db, &["baseline", "show", "--id", "1"])["assets"].as_array().unwrap().len(), 3);
}

/// Three real captures of one S7-300 cell (`../shared/pcaps/s7comm`), all
/// with the CPU 315-2 PN/DP at MAC 00:0e:8c:d0:f9:cb. What each holds, from
/// tshark 4.0.17 (`-z conv,ip`, `eth.src`/`ip.src`, `s7comm.param.func` of jobs,
/// `s7comm.param.userdata.funcgroup`/`subfunc`/`szl_id` of userdata):
/// - `tia_s300_goOnline`: TIA Portal at 134.217.61.131 (VMware MAC
///   00:0c:29:c1:49:92) goes online with the CPU at 134.217.61.211: setup
///   communication (job 0xf0) and SZL reads, 0x0011 and 0x001c among them (the
///   CPU states model, order number 6ES7 315-2EH14-0AB0, firmware V3.2.7 and
///   serial). Nothing is written or downloaded.
/// - `tia_s300_downloadOb1`: the same station and CPU, same addresses:
///   request download (0x1a), download block (0x1b) twice, download ended
///   (0x1c) and the PI service that inserts the block (0x28): a program
///   transfer on a conversation that only read diagnostics before. No SZL
///   identity read, so no identity is stated.
/// - `step7_s300_readVarTab`: a STEP 7 station at 134.249.62.202 (another
///   VMware MAC, 00:0c:29:6e:5d:01) reads a variable table (userdata group 1,
///   programmer commands) from the same CPU MAC, now at 134.249.61.182: the
///   CPU was re-addressed, and a station the baseline never saw talks to it.
#[test]
fn a_baseline_of_a_real_s7_cell_reports_the_download_the_readdressing_and_the_new_station() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let s7 = pcaps.join("s7comm");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s7.db");
    const CPU: &str = "mac-00:0e:8c:d0:f9:cb";
    const TIA: &str = "mac-00:0c:29:c1:49:92";
    const STEP7: &str = "mac-00:0c:29:6e:5d:01";

    analyze(&db, &s7.join("tia_s300_goOnline.pcapng"));
    let accepted = otposture(&db, &["baseline", "accept", "--note", "TIA online, CPU identified"]);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    let baseline = json(&db, &["baseline", "show"]);
    let cpu = baseline["assets"].as_array().unwrap().iter().find(|a| a["id"] == CPU).unwrap();
    assert_eq!(cpu["identity"]["firmware"]["value"], "V3.2.7", "{cpu:#}");
    assert_eq!(cpu["identity"]["order_number"]["value"], "6ES7 315-2EH14-0AB0", "{cpu:#}");

    // The download: one new operation class, program; the CPU did not state
    // its identity this time, which is no change. (Going online, TIA read the
    // module identification SZL, discovery, besides diagnostic SZLs: counted
    // apart since message counts are kept per class.)
    analyze(&db, &s7.join("tia_s300_downloadOb1.pcapng"));
    let report = json(&db, &["baseline", "diff"]);
    let download = || {
        row(
            "new_operation",
            "-",
            TIA,
            CPU,
            "program",
            "diagnostic discovery session",
            "diagnostic discovery program session",
        )
    };
    assert_eq!(summary(&report), [download()], "{report:#}");

    // The STEP 7 session: the same CPU MAC at another address (one address
    // change under its id, not a new device), a new station and its conversation.
    analyze(&db, &s7.join("step7_s300_readVarTab.pcapng"));
    let report = json(&db, &["baseline", "diff"]);
    assert_eq!(
        summary(&report),
        [
            row("new_asset", STEP7, "-", "-", "-", "-", "-"),
            row("address_change", CPU, "-", "-", "ips", "134.217.61.211", "134.217.61.211 134.249.61.182"),
            row("new_conversation", "-", STEP7, CPU, "-", "-", "diagnostic"),
            download(),
        ],
        "{report:#}"
    );
}
