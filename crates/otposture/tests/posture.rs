//! Posture end to end on the bundled sample capture (`samples/plant-cell.pcap`)
//! and its site file: `site check`, `assess`, `findings` and their lifecycle,
//! the audit log, and alerts delivered to a signed-webhook receiver on
//! loopback (down first: the alerts wait in the dead-letter file until
//! `alerts redeliver`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use hmac::{Hmac, Mac};
use loopback::{analyze, json, otposture};
use serde_json::Value;
use sha2::Sha256;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample(db: &Path) {
    analyze(db, &repo().join("samples/plant-cell.pcap"));
}

fn keys(findings: &Value) -> Vec<(String, String, String)> {
    let mut k: Vec<_> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    k.sort();
    k
}

fn k(check: &str, key: &str, state: &str) -> (String, String, String) {
    (check.into(), key.into(), state.into())
}

fn id_of(findings: &Value, key: &str) -> String {
    findings["findings"].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn an_invalid_site_file_names_its_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    sample(&db);
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[site]\nname = 'x'\n[[zone]]\nname = 'cell'\nlevel = 1\ncidrs = ['192.168.10.0/33']\n")
        .unwrap();
    for args in [vec!["site", "check", bad.to_str().unwrap()], vec!["assess", "--site", bad.to_str().unwrap()]] {
        let out = otposture(&db, &args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.toml:6:10: zone \"cell\": \"192.168.10.0/33\" is not an address block"), "{err}");
    }
    let show = otposture(&db, &["site", "show"]);
    assert!(!show.status.success(), "no site file was put in force");
    assert!(json(&db, &["findings"])["findings"].as_array().unwrap().is_empty(), "no assessment ran");
}

#[test]
fn the_sample_is_assessed_against_its_site_file_and_findings_live_their_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    sample(&db);
    let site = repo().join("samples/plant-cell.site.toml");
    let check = otposture(&db, &["site", "check", site.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(
        text.contains("controllers          level 1  1 assets")
            && text.contains("operations           level 3  2 assets"),
        "{text}"
    );

    let out = otposture(&db, &["assess", "--site", site.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["schema"], "otposture.assessment/1");
    assert_eq!(summary["assessment"]["site"], "Demo plant cell");

    // What the sample holds (crates/fixtures/src/sample.rs) against what the site allows:
    let findings = json(&db, &["findings"]);
    assert_eq!(findings["schema"], "otposture.findings/1");
    assert_eq!(
        keys(&findings),
        [
            // EWS-01 (operations) pings the PLC: no conduit carries ICMP.
            k("segmentation.no_conduit", "operations>controllers:icmp", "open"),
            // EWS-01 gets its address from the switch's DHCP server: no conduit to the network zone.
            k("segmentation.no_conduit", "operations>network:dhcp", "open"),
            // EWS-01 writes a holding register; the operations conduit allows Modbus reads only.
            k("segmentation.operation_not_allowed", "operations>controllers:modbus:write", "open"),
        ]
    );
    let write = &findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "segmentation.operation_not_allowed")
        .unwrap();
    assert_eq!(write["severity"], "medium");
    assert_eq!(write["zones"], serde_json::json!(["controllers", "operations"]));
    assert_eq!(write["assets"], serde_json::json!(["mac-00:1b:1b:0a:00:14", "mac-3c:52:82:0a:00:32"]));
    assert_eq!(write["attack"], serde_json::json!(["T0836", "T0855"]));
    let evidence = &write["evidence"][0];
    assert_eq!(
        (evidence["client"].as_str(), evidence["protocol"].as_str(), evidence["count"].as_u64()),
        (Some("mac-3c:52:82:0a:00:32"), Some("modbus"), Some(1))
    );
    assert!(evidence["first_seen_ns"].as_i64().unwrap() >= 1_709_280_000_000_000_000);

    // Acknowledge one, accept another for 30 days; both logged, both kept on reassessment.
    let icmp = id_of(&findings, "operations>controllers:icmp");
    let dhcp = id_of(&findings, "operations>network:dhcp");
    assert!(otposture(&db, &["findings", "ack", &icmp, "--reason", "ticket OT-17"]).status.success());
    assert!(otposture(
        &db,
        &["findings", "accept", &dhcp, "--reason", "DHCP from the switch is by design", "--until", "30d"]
    )
    .status
    .success());
    let refused = otposture(&db, &["findings", "accept", &dhcp, "--reason", "x", "--until", "2001-01-01"]);
    assert!(!refused.status.success(), "an acceptance must end in the future");
    let audit = String::from_utf8_lossy(&otposture(&db, &["audit"]).stdout).to_string();
    assert!(
        audit.contains("acknowledge_finding") && audit.contains("accept_finding") && audit.contains("apply_site"),
        "{audit}"
    );
    assert!(otposture(&db, &["assess"]).status.success());
    let accepted = json(&db, &["findings", "--state", "accepted"]);
    assert_eq!(accepted["findings"][0]["state_reason"], "DHCP from the switch is by design");
    assert!(accepted["findings"][0]["accepted_until"].as_str().unwrap().starts_with("20"));
    assert_eq!(json(&db, &["findings", "--state", "acknowledged"])["findings"][0]["id"], icmp.as_str());

    // Allow ICMP from operations to the controllers: that finding is resolved, not deleted.
    let text = std::fs::read_to_string(&site).unwrap()
        + "\n[[conduit]]\nname = \"ping\"\nfrom = \"operations\"\nto = \"controllers\"\nprotocols = [\"icmp\"]\n";
    let widened = dir.path().join("site.toml");
    std::fs::write(&widened, text).unwrap();
    let out = otposture(&db, &["assess", "--site", widened.to_str().unwrap(), "--format", "json"]);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["assessment"]["transitions"],
        serde_json::json!([{
            "finding": icmp, "event": "resolved", "severity": "high", "check": "segmentation.no_conduit",
            "title": "icmp traffic from zone operations to zone controllers: no conduit allows it"
        }])
    );
    let resolved = json(&db, &["findings", "--state", "resolved"]);
    assert_eq!(keys(&resolved), [k("segmentation.no_conduit", "operations>controllers:icmp", "resolved")]);
    // Filters: by check prefix, severity and asset.
    assert_eq!(json(&db, &["findings", "--check", "segmentation.operation"])["findings"].as_array().unwrap().len(), 1);
    assert_eq!(json(&db, &["findings", "--severity", "high"])["findings"].as_array().unwrap().len(), 0);
    assert_eq!(json(&db, &["findings", "--asset", "mac-00:80:63:0a:00:01"])["findings"].as_array().unwrap().len(), 1);
    // CSV carries every column; show explains one.
    let csv = String::from_utf8_lossy(&otposture(&db, &["findings", "--format", "csv"]).stdout).to_string();
    assert!(
        csv.starts_with("id,severity,state,check,title,assets,zones,attack,first_seen,last_seen,evidence_total"),
        "{csv}"
    );
    let shown = String::from_utf8_lossy(&otposture(&db, &["findings", "show", &dhcp]).stdout).to_string();
    assert!(shown.contains("accepted by") && shown.contains("evidence  (1 in all)"), "{shown}");
}

/// A webhook receiver on loopback that checks each delivery's signature and
/// records the alerts it accepts.
struct Receiver {
    port: u16,
    alerts: Arc<Mutex<Vec<Value>>>,
}

fn receive(listener: TcpListener, key: &'static [u8], alerts: Arc<Mutex<Vec<Value>>>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            headers.push(line.trim_end().to_string());
        }
        let header = |name: &str| {
            headers.iter().find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let timestamp = header("x-otposture-timestamp").unwrap_or_default();
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(&body);
        let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let good = header("x-otposture-signature").as_deref() == Some(&format!("sha256={want}"));
        let status = if good { "200 OK" } else { "401 Unauthorized" };
        if good {
            alerts.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
        }
        let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
}

impl Receiver {
    fn start(port: u16, key: &'static [u8]) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let alerts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&alerts);
        std::thread::spawn(move || receive(listener, key, seen));
        Receiver { port, alerts }
    }

    fn events(&self) -> Vec<(String, String)> {
        let mut e: Vec<_> = self
            .alerts
            .lock()
            .unwrap()
            .iter()
            .map(|a| (a["event"].as_str().unwrap().to_string(), a["check"].as_str().unwrap().to_string()))
            .collect();
        e.sort();
        e
    }
}

fn site_with_webhook(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("samples/plant-cell.site.toml")).unwrap();
    let path = dir.join("site.toml");
    std::fs::write(
        &path,
        format!(
            "{text}{extra}\n[alerts]\ndead_letter = \"dead-letter.jsonl\"\ndeadline_secs = 2\ninitial_backoff_ms = 50\nmax_backoff_ms = 200\nmax_attempts = 3\n\n[[alerts.webhook]]\nname = \"soar\"\nurl = \"http://127.0.0.1:{port}/hook\"\nsecret_env = \"OTPOSTURE_TEST_WEBHOOK_KEY\"\n"
        ),
    )
    .unwrap();
    path
}

const KEY: &[u8] = b"posture-test-key";

/// Runs the built `otposture` on `db` with one more environment variable.
fn with_env(db: &Path, (name, value): (&str, &str), args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_otposture"))
        .env(name, value)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn with_key(db: &Path, args: &[&str]) -> std::process::Output {
    with_env(db, ("OTPOSTURE_TEST_WEBHOOK_KEY", std::str::from_utf8(KEY).unwrap()), args)
}

#[test]
fn transitions_are_delivered_as_signed_webhooks_and_wait_out_a_receiver_that_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    sample(&db);
    let receiver = Receiver::start(0, KEY);
    let site = site_with_webhook(dir.path(), receiver.port, "");
    let out = with_key(&db, &["assess", "--site", site.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        receiver.events(),
        [
            ("opened".to_string(), "segmentation.no_conduit".to_string()),
            ("opened".to_string(), "segmentation.no_conduit".to_string()),
            ("opened".to_string(), "segmentation.operation_not_allowed".to_string()),
        ]
    );
    let alert = receiver
        .alerts
        .lock()
        .unwrap()
        .iter()
        .find(|a| a["check"] == "segmentation.operation_not_allowed")
        .cloned()
        .unwrap();
    assert_eq!(alert["schema"], "otposture.alert/1");
    assert_eq!(alert["site"], "Demo plant cell");
    assert_eq!(
        (alert["source"].as_str(), alert["destination"].as_str()),
        (Some("192.168.10.50"), Some("192.168.10.20"))
    );
    assert_eq!(alert["severity"], "medium");

    // Without the secret the site file is refused when read: nothing is sent unsigned.
    let unsigned = otposture(&db, &["assess"]);
    assert!(!unsigned.status.success());
    assert!(String::from_utf8_lossy(&unsigned.stderr).contains("OTPOSTURE_TEST_WEBHOOK_KEY"));

    // The receiver goes away; a conduit for ICMP resolves a finding. The alert
    // waits in the dead-letter file (next to the site file) and the
    // assessment still completes within the deadline.
    let port = receiver.port;
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let site = site_with_webhook(
        dir.path(),
        free,
        "\n[[conduit]]\nname = \"ping\"\nfrom = \"operations\"\nto = \"controllers\"\nprotocols = [\"icmp\"]\n",
    );
    let started = std::time::Instant::now();
    let out = with_key(&db, &["assess", "--site", site.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "delivery never holds an assessment past its deadline"
    );
    let dead = std::fs::read_to_string(dir.path().join("dead-letter.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 1, "{dead}");
    assert!(dead.contains("\"resolved\"") && !dead.contains(std::str::from_utf8(KEY).unwrap()), "{dead}");
    assert_eq!(receiver.events().len(), 3, "the old receiver got nothing more ({port})");

    // A receiver on the configured port: redeliver empties the file.
    let late = Receiver::start(free, KEY);
    let out = with_key(&db, &["alerts", "redeliver"]);
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(late.events(), [("resolved".to_string(), "segmentation.no_conduit".to_string())]);
    let left = std::fs::read_to_string(dir.path().join("dead-letter.jsonl")).unwrap_or_default();
    assert!(left.trim().is_empty(), "{left}");
}

fn as_user(db: &Path, user: &str, args: &[&str]) -> std::process::Output {
    with_env(db, ("USER", user), args)
}

#[test]
fn roles_limit_who_may_accept_risks_baselines_and_site_files_and_every_change_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    sample(&db);
    let site = repo().join("samples/plant-cell.site.toml");
    let site = site.to_str().unwrap();
    // No users yet: anyone may; the first user must be an admin.
    assert!(!as_user(&db, "alice", &["users", "add", "alice", "--role", "analyst"]).status.success());
    assert!(as_user(&db, "alice", &["users", "add", "alice", "--role", "admin"]).status.success());
    assert!(as_user(&db, "alice", &["users", "add", "bob", "--role", "analyst"]).status.success());
    assert!(as_user(&db, "alice", &["users", "add", "carol", "--role", "engineer"]).status.success());
    // Only an admin manages users; the last admin stays.
    let refused = as_user(&db, "carol", &["users", "add", "carol", "--role", "admin"]);
    assert_eq!(refused.status.code(), Some(5), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!as_user(&db, "alice", &["users", "remove", "alice"]).status.success(), "the last admin");

    // bob (analyst) may not put a site file in force, accept a baseline or a risk.
    for args in [vec!["site", "apply", site], vec!["assess", "--site", site], vec!["baseline", "accept"]] {
        let out = as_user(&db, "bob", &args);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("bob (analyst) may not"), "{args:?}");
    }
    assert!(!as_user(&db, "bob", &["site", "show"]).status.success(), "nothing was put in force");
    // A stranger may do nothing that changes policy either.
    assert_eq!(as_user(&db, "mallory", &["baseline", "accept"]).status.code(), Some(5));
    // carol (engineer) may; anyone may run an assessment with the site in force.
    assert!(as_user(&db, "carol", &["site", "apply", site]).status.success());
    assert!(as_user(&db, "mallory", &["assess"]).status.success());
    let findings = json(&db, &["findings"]);
    let id = findings["findings"][0]["id"].as_str().unwrap().to_string();
    let out = as_user(&db, "bob", &["findings", "accept", &id, "--reason", "x", "--until", "7d"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(as_user(&db, "bob", &["findings", "ack", &id, "--reason", "looking"]).status.success());
    assert!(as_user(&db, "carol", &["findings", "accept", &id, "--reason", "by design", "--until", "7d"])
        .status
        .success());
    assert!(as_user(&db, "carol", &["baseline", "accept", "--note", "commissioned"]).status.success());

    let audit = String::from_utf8_lossy(&otposture(&db, &["audit"]).stdout).to_string();
    for (actor, action) in [
        ("alice", "set_user"),
        ("carol", "apply_site"),
        ("bob", "acknowledge_finding"),
        ("carol", "accept_finding"),
        ("carol", "accept_baseline"),
    ] {
        assert!(audit.lines().any(|l| l.contains(actor) && l.contains(action)), "{actor} {action}:\n{audit}");
    }
    assert!(!audit.contains("mallory"), "refused changes change nothing:\n{audit}");
}

#[test]
fn the_map_is_drawn_by_zone_and_at_the_zones_level_once_a_site_is_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    sample(&db);
    let draw =
        |format: &str| String::from_utf8_lossy(&otposture(&db, &["map", "--format", format]).stdout).into_owned();
    let (dot, svg) = (draw("dot"), draw("svg"));
    assert!(!dot.contains("cluster_zone_") && !svg.contains(">zone "), "no site, no zones: {dot}");

    let site = repo().join("samples/plant-cell.site.toml");
    assert!(otposture(&db, &["site", "apply", site.to_str().unwrap()]).status.success());
    let (dot, svg) = (draw("dot"), draw("svg"));
    // The station at .40 is an HMI (level 2 by its role), but the site puts
    // it in `operations`, a level 3 zone. Labels break lines the DOT way.
    let assets = json(&db, &["assets"]);
    let station = assets["assets"].as_array().unwrap().iter().find(|a| a["ips"][0] == "192.168.10.40").unwrap();
    assert_eq!(station["role"]["level"], 2);
    let level3 = dot.split("subgraph \"cluster_Purdue level ").find(|c| c.starts_with('3')).unwrap();
    assert!(level3.contains("cluster_zone_operations") && level3.contains("cluster_zone_network"), "{dot}");
    let id = station["id"].as_str().unwrap();
    assert!(level3.contains(&format!("\"{id}\" [label=\"{id}\\nhmi 192.168.10.40")), "{dot}");
    let level1 = dot.split("subgraph \"cluster_Purdue level ").find(|c| c.starts_with('1')).unwrap();
    assert!(level1.contains("cluster_zone_controllers") && !level1.contains("cluster_zone_operations"), "{dot}");
    for zone in ["controllers", "supervisory", "operations", "network"] {
        assert!(svg.contains(&format!(">zone {zone}</text>")), "{zone}: {svg}");
    }
}
