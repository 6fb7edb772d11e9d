//! Posture findings on real captures (`../shared/pcaps`), each expected
//! finding with the reason the capture gives for it.
//!
//! What the captures hold (tshark 4.0.17, `-z conv,ip` and the protocol fields
//! named):
//! - `it_remote/rdp-proprietary-encryption.pcap`: 172.21.128.16 opens RDP to
//!   10.226.24.52; the server selects standard RDP security (`rdp.selectedProtocol`
//!   0: no NLA) with 128-bit proprietary encryption.
//! - `it_remote/vncmac.pcap`: 192.168.2.115 opens VNC (RFB 3.889, Apple Remote
//!   Desktop) to 192.168.2.16.
//! - `it_remote/single-conn.pcap`: 192.150.186.169 opens SSH to 131.159.14.23
//!   (both global addresses; the client is on no zone, so the internet).
//! - `s7comm/snap7_s300_everything.pcapng`: 134.217.61.131 uploads blocks from
//!   the CPU at 134.217.61.211 (`s7comm.param.func` 0x1d/0x1e/0x1f), sets its
//!   clock and stops it (PLC stop 0x29) and sends PI services (0x28).
//! - `s7comm/s7comm_downloading_block_db1.pcap`: 192.168.1.10 downloads DB1 to
//!   192.168.1.40 (0x1a/0x1b/0x1c, then PI 0x28); the PLC also sends two
//!   unanswered SYNs to the station's port 102 (frames 1 and 93).
//! - `dnp3/cold_restart_and_response.pcap`, `warm_restart_and_response.pcap`:
//!   192.168.60.1 sends COLD_RESTART (13) and WARM_RESTART (14) to the
//!   outstation 192.168.60.130; `select_operate_and_responses.pcap` and
//!   `directoperate_and_response.pcap`: SELECT (3), OPERATE (4) and
//!   DIRECT_OPERATE (5) on the same pair; none carries secure authentication
//!   (no group 120 objects).
//!
//! The site file (`tests/data/shared-captures.site.toml`) puts the RDP and VNC
//! servers in an HMI zone (level 2) and their clients in a corporate zone
//! (level 4), the SSH server in a level 3 zone, the S7 CPUs in a level 1 cell
//! with a conduit from engineering that allows reads, writes and configuration
//! but no program transfer or run-state change, and the DNP3 outstation in a
//! level 1 zone with a conduit from the control center that allows reads only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{json, otposture};
use std::path::Path;

const CAPTURES: &[&str] = &[
    "it_remote/rdp-proprietary-encryption.pcap",
    "it_remote/vncmac.pcap",
    "it_remote/single-conn.pcap",
    "s7comm/snap7_s300_everything.pcapng",
    "s7comm/s7comm_downloading_block_db1.pcap",
    "dnp3/cold_restart_and_response.pcap",
    "dnp3/warm_restart_and_response.pcap",
    "dnp3/select_operate_and_responses.pcap",
    "dnp3/directoperate_and_response.pcap",
];

// Asset ids (the sending MACs of the captures).
const RDP_SERVER: &str = "mac-00:1b:2f:06:fa:62"; // 10.226.24.52
const RDP_CLIENT: &str = "mac-00:05:9a:3c:78:00"; // 172.21.128.16
const VNC_SERVER: &str = "mac-7c:d1:c3:d8:b4:db"; // 192.168.2.16
const VNC_CLIENT: &str = "mac-98:5a:eb:8c:69:fa"; // 192.168.2.115
const SSH_SERVER: &str = "mac-00:12:7f:eb:3b:c0"; // 131.159.14.23
const SNAP7_STATION: &str = "mac-00:0c:29:c1:49:92"; // 134.217.61.131
const SNAP7_CPU: &str = "mac-00:0e:8c:d0:f9:cb"; // 134.217.61.211
const DB1_STATION: &str = "mac-90:e6:ba:84:5e:41"; // 192.168.1.10
const DB1_CPU: &str = "mac-00:1b:1b:23:eb:3b"; // 192.168.1.40
const MASTER: &str = "mac-00:50:56:c0:00:08"; // 192.168.60.1
const OUTSTATION: &str = "mac-00:0c:29:24:3a:0a"; // 192.168.60.130

#[test]
fn the_shared_captures_produce_the_expected_findings() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let mut args = vec!["analyze".to_string(), "--quiet".to_string()];
    args.extend(CAPTURES.iter().map(|c| pcaps.join(c).display().to_string()));
    let out = otposture(&db, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shared-captures.site.toml");
    let out = otposture(&db, &["assess", "--site", site.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let findings = json(&db, &["findings"]);
    let mut got: Vec<(String, String, String)> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().into(),
                f["key"].as_str().unwrap().into(),
                f["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    got.sort();
    let f = |check: &str, key: String, severity: &str| (check.to_string(), key, severity.to_string());
    let mut want = vec![
        // Remote access into OT: RDP and VNC from the corporate zone (level 4),
        // SSH from the internet into a level 3 zone.
        f("exposure.remote_access", format!("{RDP_SERVER}:RDP"), "high"),
        f("exposure.remote_access", format!("{VNC_SERVER}:VNC"), "high"),
        f("exposure.remote_access", format!("{SSH_SERVER}:SSH"), "critical"),
        // The RDP server selected standard RDP security: no NLA.
        f("insecure.rdp_without_nla", format!("{RDP_SERVER}:rdp"), "medium"),
        // Level 4 straight to level 2, both remote sessions.
        f("segmentation.it_to_control", RDP_CLIENT.to_string(), "high"),
        f("segmentation.it_to_control", VNC_CLIENT.to_string(), "high"),
        // No conduit carries RDP or VNC from corporate to the HMI zone.
        f("segmentation.no_conduit", "corporate>hmi:rdp".into(), "medium"),
        f("segmentation.no_conduit", "corporate>hmi:rfb".into(), "medium"),
        // The internet reaches the level 3 SSH server in one hop.
        f("segmentation.dmz_bypass", "internet>remote-ops".into(), "high"),
        // The DB1 CPU's unanswered SYNs to the station: the cell opens to engineering.
        f("segmentation.no_conduit", "s7-cell>engineering:tcp".into(), "high"),
        // Both S7 stations transfer programs (upload, download) and snap7 stops the
        // CPU: the engineering conduit allows neither.
        f("segmentation.operation_not_allowed", "engineering>s7-cell:s7comm:program".into(), "high"),
        f("segmentation.operation_not_allowed", "engineering>s7-cell:s7comm:control".into(), "high"),
        f("operations.program_transfer", format!("{SNAP7_STATION}>{SNAP7_CPU}:s7comm"), "medium"),
        f("operations.program_transfer", format!("{DB1_STATION}>{DB1_CPU}:s7comm"), "medium"),
        f("operations.run_state_change", format!("{SNAP7_STATION}>{SNAP7_CPU}:s7comm"), "medium"),
        // DNP3: restarts and operates over a read-only conduit, without secure
        // authentication, from the control center's zone into the outstation's.
        f("operations.run_state_change", format!("{MASTER}>{OUTSTATION}:dnp3"), "medium"),
        f("segmentation.operation_not_allowed", "control-center>outstations:dnp3:control".into(), "high"),
        f("segmentation.operation_not_allowed", "control-center>outstations:dnp3:write".into(), "medium"),
        f("insecure.dnp3_unauthenticated_control", format!("{OUTSTATION}:dnp3"), "high"),
    ];
    want.sort();
    assert_eq!(got, want);

    // The snap7 station only uploaded: Program Upload, not Download; its stop is T0858.
    let by_key = |check: &str, key: String| {
        findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["check"] == check && x["key"] == key.as_str())
            .unwrap()
            .clone()
    };
    let upload = by_key("operations.program_transfer", format!("{SNAP7_STATION}>{SNAP7_CPU}:s7comm"));
    assert_eq!(upload["attack"], serde_json::json!(["T0845"]), "{upload:#}");
    assert!(upload["title"].as_str().unwrap().contains("uploaded a program from 134.217.61.211"));
    let ssh = by_key("exposure.remote_access", format!("{SSH_SERVER}:SSH"));
    assert!(
        ssh["evidence"][0]["what"].as_str().unwrap().starts_with("used by 192.150.186.169 (the internet)"),
        "{ssh:#}"
    );
}

/// A baseline taken on one capture of an S7-300 cell, then two more captures
/// of the same plant analysed (see tests/drift.rs for their contents):
/// `tia_s300_downloadOb1` downloads OB1 on the conversation the baseline saw
/// only read diagnostics on; `step7_s300_stop` is a STEP 7 station the
/// baseline never saw stopping a CPU it never saw either (tshark: PLC stop,
/// `s7comm.param.func` 0x29, from 134.249.62.199 to 134.249.61.163).
#[test]
fn a_baseline_then_new_captures_give_drift_and_new_control_source_findings() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let s7 = pcaps.join("s7comm");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let analyze = |name: &str| {
        let out = otposture(&db, &["analyze", "--quiet", s7.join(name).to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    analyze("tia_s300_goOnline.pcapng");
    assert!(otposture(&db, &["baseline", "accept", "--note", "cell online"]).status.success());
    assert!(otposture(&db, &["assess"]).status.success());
    assert!(json(&db, &["findings"])["findings"].as_array().unwrap().is_empty(), "nothing risky when going online");
    analyze("tia_s300_downloadOb1.pcapng");
    analyze("step7_s300_stop.pcapng");
    assert!(otposture(&db, &["assess"]).status.success());
    let mut got: Vec<(String, String)> = json(&db, &["findings"])["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["check"].as_str().unwrap().into(), f["severity"].as_str().unwrap().into()))
        .collect();
    got.sort();
    let pair = |c: &str, s: &str| (c.to_string(), s.to_string());
    assert_eq!(
        got,
        [
            // The STEP 7 station and the CPU it stops are new to the baseline.
            pair("drift.new_asset", "medium"),
            pair("drift.new_asset", "medium"),
            // Program requests on the known conversation; a stop from a new station.
            pair("operations.new_control_source", "high"),
            pair("operations.new_control_source", "high"),
            // The download and the stop are risky operations in their own right.
            pair("operations.program_transfer", "medium"),
            pair("operations.run_state_change", "medium"),
        ]
    );
}

/// Every capture of `it_remote/` with a remote session into a host the site
/// file puts at level 2, opened from a level 4 zone: each is an exposure
/// finding naming the server (tshark `-z conv,tcp` gives the pairs):
/// - RDP (TCP 3389): `rdp-proprietary-encryption` 172.21.128.16 -> 10.226.24.52,
///   `rdp-no-cookie-mstshash` 10.128.36.245 -> 10.132.153.76, `rdp-unknown-keyboard`
///   and `rdp-x509` 192.168.1.1 -> 192.168.1.2;
/// - SSH: `single-conn` is the internet case of the other test; `ssh_kex_curve25519`
///   192.168.1.100 -> 192.168.1.32, `sshguess` 192.168.56.1 -> 192.168.56.103 (eleven
///   password-guessing connections), `ssh-on-port-80` 172.16.238.1 -> 172.16.238.131
///   (SSH on port 80: found by content, not port);
/// - Telnet: `telnet-auth-missing-name` 10.0.0.1 -> 10.0.0.2 (on port 21);
/// - VNC (TCP 5900): `vncmac` 192.168.2.115 -> 192.168.2.16, `vnc-scanner`
///   192.168.0.11 -> 10.0.0.149.
///
/// Not findings: `reverse-ssh` goes out from 10.0.0.1 to 13.13.13.37 on the
/// internet (not into OT); `ssh1-ssh2-fingerprints` and
/// `rdpeudp-handshake-success` run on loopback (no zone, no level).
#[test]
fn every_remote_access_capture_into_ot_is_an_exposure_finding() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let mut args = vec!["analyze".to_string(), "--quiet".to_string()];
    let mut names: Vec<_> = std::fs::read_dir(pcaps.join("it_remote")).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert_eq!(names.len(), 14, "{names:?}");
    args.extend(names.iter().filter(|p| !p.ends_with("single-conn.pcap")).map(|p| p.display().to_string()));
    let out = otposture(&db, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.code() == Some(0) || out.status.code() == Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/remote-access.site.toml");
    let out = otposture(&db, &["assess", "--site", site.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let findings = json(&db, &["findings", "--check", "exposure.remote_access"]);
    let mut got: Vec<(String, String)> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["title"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    let into = |kind: &str, ip: &str| (format!("{kind} into {ip} (zone hmi (level 2))"), "high".to_string());
    let mut want = vec![
        into("RDP", "10.226.24.52"),
        into("RDP", "10.132.153.76"),
        into("RDP", "192.168.1.2"),
        into("SSH", "192.168.1.32"),
        into("SSH", "192.168.56.103"),
        into("SSH", "172.16.238.131"),
        into("Telnet", "10.0.0.2"),
        into("VNC", "192.168.2.16"),
        into("VNC", "10.0.0.149"),
    ];
    want.sort();
    assert_eq!(got, want);
    // sshguess: the eleven connections are one finding, its flows counted.
    let guess = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"].as_str().unwrap().contains("192.168.56.103"))
        .unwrap();
    assert_eq!(guess["evidence"][0]["count"], 11, "{guess:#}");
}

/// `modbus/modbus-and-non-modbus-p502.pcap`: one Modbus/TCP poll (10.0.0.9 to
/// 10.0.0.3), and internet scanners sending other things to port 502 of
/// 192.168.10.111 and .113. tshark 4.0.17 names them by content (its `Protocol`
/// column of the first client segment): DCERPC (87.236.176.106), NFS over ONC
/// RPC (87.236.176.96), TLSv1 (66.175.213.4), HTTP (198.74.56.135); it shows
/// two as plain TCP: `MGLNDD_160.97.70.36_502` (159.203.208.13, a scanner's
/// banner) and an X.224 connection request with `Cookie: mstshash=admin`
/// (62.122.184.123: an RDP scanner). otposture has no DCE/RPC or ONC RPC
/// dissector: those two and the banner are `unidentified`.
#[test]
fn other_protocols_on_the_modbus_port_are_reported_and_assessed() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let capture = pcaps.join("modbus/modbus-and-non-modbus-p502.pcap");
    let summary = loopback::analyze(&db, &capture);
    assert_eq!(summary["anomalies"]["unexpected_protocols"], 6, "{summary:#}");
    let events = json(&db, &["events", "--protocol", "tcp"]);
    let mut got: Vec<(String, String, String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "port.unexpected_protocol")
        .map(|e| {
            let a = &e["attributes"];
            assert_eq!((a["port"].as_str(), a["expected"].as_str()), (Some("502"), Some("modbus")), "{e:#}");
            let s = |v: &serde_json::Value| v.as_str().unwrap().to_string();
            (s(&e["src_ip"]), s(&e["dst_ip"]), s(&a["found"]), s(&e["kind"]))
        })
        .collect();
    got.sort();
    let e = |src: &str, dst: &str, found: &str| {
        (src.to_string(), format!("192.168.10.{dst}"), found.to_string(), "anomaly".to_string())
    };
    let mut want = vec![
        e("87.236.176.106", "111", "unidentified"),
        e("87.236.176.96", "111", "unidentified"),
        e("66.175.213.4", "111", "tls"),
        e("198.74.56.135", "111", "http"),
        e("159.203.208.13", "113", "unidentified"),
        e("62.122.184.123", "111", "rdp"),
    ];
    want.sort();
    assert_eq!(got, want, "{events:#}");

    let out = otposture(&db, &["assess"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let findings = json(&db, &["findings", "--check", "traffic.unexpected_protocol"]);
    let mut got: Vec<(String, String, u64)> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let title = f["title"].as_str().unwrap();
            assert!(title.contains(" on TCP port 502 (modbus) of "), "{title}");
            let key = f["key"].as_str().unwrap();
            let found = key.rsplit(':').next().unwrap().to_string();
            (found, f["severity"].as_str().unwrap().to_string(), f["evidence_total"].as_u64().unwrap())
        })
        .collect();
    got.sort();
    // One per server, port and what was found: .111 and .113 answer from one
    // MAC (00:00:00:00:00:01), one asset. Every client is on the internet.
    let f = |found: &str, n: u64| (found.to_string(), "high".to_string(), n);
    assert_eq!(got, vec![f("http", 1), f("rdp", 1), f("tls", 1), f("unidentified", 3)], "{findings:#}");
}

/// ControlFLASH writing firmware to a ControlLogix rack through Rockwell's
/// Non-Volatile Storage object (CIP class 0xA1): `EIP-FirmwareChange.pcap`
/// succeeds, `EIP-FirmwareChangeFailure.pcap` ends with six Transfers answered
/// "Connection failure". tshark 4.0.17 (`cip.class == 0xa1 && cip.rr == 0`,
/// by `cip.sc`) counts one Update (0x4B) and 5,243 Transfers (0x4D) in the
/// first, one and 5,248 in the second, each after one request for service
/// 0x51 that the module does not support; both end with an Identity Reset.
/// Every one is a firmware operation from 192.168.10.105 to 192.168.10.120,
/// and the pair is a firmware-update finding (T0857).
#[test]
fn firmware_written_to_non_volatile_storage_is_seen_and_found() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let files = ["EIP-FirmwareChange.pcap", "EIP-FirmwareChangeFailure.pcap"].map(|f| pcaps.join("enip_cip").join(f));
    let out = otposture(&db, &["analyze", "--quiet", files[0].to_str().unwrap(), files[1].to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let captures = json(&db, &["captures"]);
    let id_of = |file: &Path| {
        captures["captures"].as_array().unwrap().iter().find(|c| c["path"] == file.to_str().unwrap()).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let events = json(&db, &["events", "--class", "firmware"]);
    let events = events["events"].as_array().unwrap();
    let count = |file: &Path, name: &str, message: &str| {
        events
            .iter()
            .filter(|e| e["capture_id"] == id_of(file) && e["name"] == name && e["attributes"]["message"] == message)
            .count()
    };
    assert_eq!(count(&files[0], "nvs_update", "request"), 1);
    assert_eq!(count(&files[0], "nvs_transfer", "request"), 5_243);
    assert_eq!(count(&files[1], "nvs_update", "request"), 1);
    assert_eq!(count(&files[1], "nvs_transfer", "request"), 5_248);
    // Answers that succeed are counted, not kept; the failed ones are kept.
    assert_eq!(count(&files[0], "nvs_transfer", "response"), 0);
    let failed: Vec<_> = events.iter().filter(|e| e["attributes"]["message"] == "response").collect();
    assert_eq!(failed.len(), 6, "{failed:#?}");
    assert!(failed
        .iter()
        .all(|e| e["capture_id"] == id_of(&files[1]) && e["attributes"]["status_text"] == "Connection failure"));
    assert!(events.iter().all(|e| e["src_ip"] == "192.168.10.105" || e["attributes"]["message"] == "response"));

    // The conversation map says who may write firmware to whom.
    let map = json(&db, &["map"]);
    let edge = map["edges"].as_array().unwrap().iter().find(|e| e["protocol"] == "enip").unwrap();
    assert!(edge["trust"].as_array().unwrap().contains(&serde_json::json!("updates_firmware")), "{edge:#}");
    assert_eq!(edge["operations"]["firmware"], 5_244 + 5_249, "{edge:#}");

    let out = otposture(&db, &["assess"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let findings = json(&db, &["findings", "--check", "operations.firmware_update"]);
    let findings = findings["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["severity"], "high");
    assert_eq!(findings[0]["attack"], serde_json::json!(["T0857"]));
    assert!(findings[0]["title"].as_str().unwrap().contains("192.168.10.105 updated firmware of 192.168.10.120"));
    // The evidence names the operations and points at the first: the Update
    // at packet 29 of the first capture.
    let evidence = &findings[0]["evidence"][0];
    assert!(
        evidence["what"].as_str().unwrap().ends_with("10493 firmware requests (nvs_transfer x10491, nvs_update x2)"),
        "{evidence:#}"
    );
    assert_eq!((evidence["capture_id"].as_i64().unwrap(), evidence["packet"].as_u64()), (id_of(&files[0]), Some(29)));
}
