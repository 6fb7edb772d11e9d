//! `otposture cmdb` as a user runs it: a register written against the sample
//! capture's real inventory, imported, reconciled and exported; the ServiceNow
//! and NetBox presets; malformed files that import nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_fixtures::packet::eth_ipv4_udp;
use otposture_fixtures::sample::{EWS_IP, EWS_MAC, HMI_IP, HMI_MAC, SAMPLE_START};
use otposture_fixtures::{pcap_bytes, sample_capture, Eth, LinkType};
use otposture_model::Timestamp;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env { dir: tempfile::tempdir().unwrap() }
    }
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_otposture"))
            .current_dir(self.dir.path())
            .env("USER", "tester")
            .arg("--db")
            .arg(self.dir.path().join("otposture.db"))
            .args(args)
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        out
    }
    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.ok(args).stdout).unwrap()
    }
    /// Analyses the sample capture, plus a CIP identity of the HMI (firmware 3.4).
    fn analyze_sample(&self) {
        let sample = self.file("plant.pcap", &sample_capture());
        let identity = self.file("identity.pcap", &hmi_identity());
        let out = self.run(&["analyze", "--quiet", path(&sample), path(&identity)]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A ListIdentity reply from the sample's HMI (UDP 44818): Rockwell, device
/// type 24 (Human-Machine Interface), "PanelView Plus 7", revision 3.4.
fn hmi_identity() -> Vec<u8> {
    let mut id = vec![
        0x01, 0x00, // encapsulation protocol version 1
        0x00, 0x02, // sin_family 2 (network order)
        0xaf, 0x12, // sin_port 44818
        192, 168, 10, 30, // sin_addr
        0, 0, 0, 0, 0, 0, 0, 0, // sin_zero
        0x01, 0x00, // vendor 1: Rockwell Automation/Allen-Bradley
        0x18, 0x00, // device type 24: Human-Machine Interface
        0x2a, 0x00, // product code 42
        0x03, 0x04, // revision 3.4
        0x30, 0x00, // status
        0x8e, 0x4d, 0x52, 0x00, // serial 0x00524d8e
        0x10, // name length 16
    ];
    id.extend_from_slice(b"PanelView Plus 7");
    id.push(0x03); // state 3
    let mut item = vec![0x0c, 0x00]; // item type 0x000c: ListIdentity reply
    item.extend_from_slice(&(id.len() as u16).to_le_bytes());
    item.extend_from_slice(&id);
    let mut body = vec![0x01, 0x00]; // item count 1
    body.extend_from_slice(&item);
    let mut encap = vec![0x63, 0x00]; // command ListIdentity
    encap.extend_from_slice(&(body.len() as u16).to_le_bytes());
    encap.extend_from_slice(&[0; 4]); // session handle
    encap.extend_from_slice(&[0; 4]); // status
    encap.extend_from_slice(&[0; 8]); // sender context
    encap.extend_from_slice(&[0; 4]); // options
    encap.extend_from_slice(&body);
    let frame = eth_ipv4_udp(&Eth::new(HMI_MAC, EWS_MAC), HMI_IP, EWS_IP, 44818, 50_000, &encap);
    let at = Timestamp(SAMPLE_START.0 + 40_000_000_000);
    pcap_bytes(LinkType::ETHERNET, &[otposture_fixtures::Frame::new(at, frame)])
}

/// The sample's assets by their first IP: (id, macs).
fn assets_by_ip(env: &Env) -> Vec<(String, String, Vec<String>, Value)> {
    let doc = env.json(&["assets", "--format", "json"]);
    doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let macs = a["macs"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect();
            (a["ips"][0].as_str().unwrap().to_string(), a["id"].as_str().unwrap().to_string(), macs, a.clone())
        })
        .collect()
}

fn asset<'a>(assets: &'a [(String, String, Vec<String>, Value)], ip: &str) -> &'a (String, String, Vec<String>, Value) {
    assets.iter().find(|(i, ..)| i == ip).unwrap_or_else(|| panic!("no asset at {ip}"))
}

fn ids(list: &Value, key: &str) -> Vec<Value> {
    list.as_array().unwrap().iter().map(|x| x[key].clone()).collect()
}

#[test]
fn reconciles_a_register_with_the_sample_inventory_and_exports_both_sides() {
    let env = Env::new();
    env.analyze_sample();
    let assets = assets_by_ip(&env);
    assert_eq!(assets.len(), 5, "{:?}", assets.iter().map(|a| &a.1).collect::<Vec<_>>());
    let plc = asset(&assets, "192.168.10.20");
    let hmi = asset(&assets, "192.168.10.30");
    let ews = asset(&assets, "192.168.10.50");
    let firmware = hmi.3["attributes"].as_array().unwrap().iter().find(|x| x["field"] == "firmware").unwrap();
    assert_eq!(firmware["value"], "3.4", "the identity capture gives the HMI a firmware");

    // The PLC by its MAC (dashes, capitals), the HMI by IP only with another
    // firmware, the EWS by its MAC in Cisco notation, and a device never seen.
    let plc_mac = plc.2[0].to_uppercase().replace(':', "-");
    let ews_hex = ews.2[0].replace(':', "");
    let ews_mac = format!("{}.{}.{}", &ews_hex[0..4], &ews_hex[4..8], &ews_hex[8..12]);
    let register = format!(
        "Name,MAC,IP,Vendor,Firmware,Role,Site,Cost centre\n\
         PLC-01,{plc_mac},,SIEMENS AG,,PLC,North,4711\n\
         HMI-01,,192.168.10.30,Rockwell Automation,V3.5,HMI,North,\n\
         EWS-01,{ews_mac},,,,,North,\n\
         RTU-99,00:1b:1b:99:99:99,192.168.10.99,,,rtu,South,\n"
    );
    let file = env.file("register.csv", register.as_bytes());
    let out = env.ok(&["cmdb", "import", path(&file)]);
    assert!(stderr(&out).contains("imported 4 register entries"), "{}", stderr(&out));
    assert!(stderr(&out).contains("columns kept as extra: Cost centre"), "{}", stderr(&out));

    let r = env.json(&["cmdb", "reconcile", "--format", "json"]);
    assert_eq!(r["schema"], "otposture.reconcile/1");
    assert_eq!(r["register"]["file"], path(&file));
    assert_eq!(r["inventory"]["assets"], 5);
    assert_eq!(
        r["summary"],
        json!({"register_entries": 4, "assets": 5, "matched": 3, "conflicting": 1,
               "discovered_only": 2, "register_only": 1, "ambiguous": 0})
    );
    let matched: Vec<(Value, Value, Value, Value)> = r["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["row"].clone(), m["asset"].clone(), m["matched_by"].clone(), m["differs"].clone()))
        .collect();
    assert_eq!(
        matched,
        [
            (json!(2), json!(plc.1), json!("mac"), json!([])),
            (json!(3), json!(hmi.1), json!("ip"), json!(["firmware"])),
            (json!(4), json!(ews.1), json!("mac"), json!([])),
        ]
    );
    let field =
        |m: &Value, f: &str| m["attributes"].as_array().unwrap().iter().find(|c| c["field"] == f).unwrap().clone();
    let fw = field(&r["matched"][1], "firmware");
    assert_eq!(
        (&fw["status"], &fw["register"], &fw["discovered"], &fw["source"], &fw["confidence"]),
        (&json!("differs"), &json!("V3.5"), &json!("3.4"), &json!("enip"), &json!("high"))
    );
    assert_eq!(r["matched"][1]["conflicting"], true);
    let vendor = field(&r["matched"][0], "vendor");
    assert_eq!((&vendor["status"], &vendor["register"]), (&json!("agree"), &json!("Siemens")));
    assert_eq!(r["matched"][0]["register"]["vendor_raw"], "SIEMENS AG");
    assert_eq!(r["matched"][0]["register"]["extra"], json!({"Cost centre": "4711"}));
    assert_eq!(field(&r["matched"][1], "vendor")["status"], "agree", "the HMI stated Rockwell");
    assert_eq!(field(&r["matched"][1], "role")["status"], "agree");
    assert_eq!(ids(&r["register_only"], "row"), [json!(5)]);
    let unmanaged = ids(&r["discovered_only"], "asset");
    assert_eq!(unmanaged, [json!(asset(&assets, "192.168.10.40").1), json!(asset(&assets, "192.168.10.1").1)]);
    assert!(r["ambiguous"].as_array().unwrap().is_empty());

    // One class at a time.
    let only = env.json(&["cmdb", "reconcile", "--only", "conflicting", "--format", "json"]);
    assert_eq!(ids(&only["matched"], "row"), [json!(3)]);
    assert!(
        only["discovered_only"].as_array().unwrap().is_empty() && only["register_only"].as_array().unwrap().is_empty()
    );
    let only = env.json(&["cmdb", "reconcile", "--only", "discovered-only", "--format", "json"]);
    assert_eq!((only["matched"].as_array().unwrap().len(), only["discovered_only"].as_array().unwrap().len()), (0, 2));
    let table = String::from_utf8(env.ok(&["cmdb", "reconcile"]).stdout).unwrap();
    assert!(
        table.starts_with("STATUS") && table.contains("conflicting") && table.contains("matched 3 (conflicting 1)"),
        "{table}"
    );

    // The export: every entry and every asset once, both sides.
    let out = env.ok(&["cmdb", "export"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].starts_with("status,row,asset,matched_by,differs,candidates,register_name,"), "{}", lines[0]);
    let statuses: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(statuses, ["matched", "conflicting", "matched", "register_only", "discovered_only", "discovered_only"]);
    let target = env.dir.path().join("reconciled.json");
    let out = env.ok(&["cmdb", "export", "--output", path(&target)]);
    assert!(stderr(&out).contains("wrote 6 rows"), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(doc["schema"], "otposture.cmdb-export/1");
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(
        (&rows[1]["status"], &rows[1]["register"]["name"], &rows[1]["discovered"]["firmware"]),
        (&json!("conflicting"), &json!("HMI-01"), &json!("3.4"))
    );
    assert_eq!((&rows[3]["status"], &rows[3]["discovered"]), (&json!("register_only"), &Value::Null));

    let audit = env.json(&["audit", "--format", "json"]);
    assert_eq!(audit["audit"][0]["action"], "import_register");
    assert_eq!(audit["audit"][0]["actor"], "tester");
    assert_eq!(audit["audit"][0]["target"], "register");
}

#[test]
fn imports_servicenow_and_netbox_exports_through_their_presets() {
    let env = Env::new();
    env.analyze_sample();
    let assets = assets_by_ip(&env);
    let plc = asset(&assets, "192.168.10.20");
    let servicenow = format!(
        "sys_class_name,name,mac_address,ip_address,serial_number,manufacturer,model_id,owned_by\n\
         cmdb_ci_ot_plc,PLC-01,{},192.168.10.20,,SIEMENS AG,CPU 315-2 PN/DP,Process control\n\
         cmdb_ci_computer,HIST-01,,192.168.10.40,,Dell Inc.,OptiPlex,IT\n",
        plc.2[0]
    );
    let file = env.file("cmdb_ci.csv", servicenow.as_bytes());
    let summary = env.json(&["cmdb", "import", path(&file), "--preset", "servicenow", "--summary", "json"]);
    assert_eq!(summary["schema"], "otposture.cmdb-import/1");
    assert_eq!(
        (&summary["imported"], &summary["import"]["preset"], &summary["import"]["rows"]),
        (&json!(true), &json!("servicenow"), &json!(2))
    );
    assert_eq!(summary["unmapped_columns"], json!(["sys_class_name"]));
    let r = env.json(&["cmdb", "reconcile", "--format", "json"]);
    let matched: Vec<(Value, Value)> =
        r["matched"].as_array().unwrap().iter().map(|m| (m["asset"].clone(), m["matched_by"].clone())).collect();
    assert_eq!(matched, [(json!(plc.1), json!("mac")), (json!(asset(&assets, "192.168.10.40").1), json!("ip"))]);
    assert_eq!(r["matched"][0]["register"]["owner"], "Process control");
    assert_eq!(r["matched"][1]["conflicting"], false, "Dell Inc. is Dell: {}", r["matched"][1]);

    let netbox = "ID,Name,Status,Tenant,Site,Role,Manufacturer,Type,IPv4 Address,Serial number\n\
                  1,plc-01,Active,Water,North,PLC,Siemens,CPU 315-2 PN/DP,192.168.10.20/24,\n\
                  2,sw-01,Active,Water,North,Switch,Hirschmann,RS20,192.168.10.1/24,\n";
    let file = env.file("netbox_devices.csv", netbox.as_bytes());
    env.ok(&["cmdb", "import", path(&file), "--preset", "netbox"]);
    let r = env.json(&["cmdb", "reconcile", "--format", "json"]);
    assert_eq!(r["register"]["preset"], "netbox");
    let matched: Vec<(Value, Value, Value)> = r["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["asset"].clone(), m["matched_by"].clone(), m["differs"].clone()))
        .collect();
    // The rules call the switch an IT host (it only serves DHCP); the register says otherwise.
    assert_eq!(
        matched,
        [
            (json!(plc.1), json!("ip"), json!([])),
            (json!(asset(&assets, "192.168.10.1").1), json!("ip"), json!(["role"])),
        ]
    );
    assert_eq!(r["matched"][1]["register"]["ips"], json!(["192.168.10.1"]), "the /24 is dropped");
    assert_eq!(r["matched"][1]["register"]["owner"], "Water");
    assert_eq!(r["summary"]["discovered_only"], 3);
}

#[test]
fn a_malformed_register_imports_nothing_and_keeps_the_one_in_force() {
    let env = Env::new();
    env.analyze_sample();
    // Before any import, reconciling says what to run.
    let none = env.run(&["cmdb", "reconcile"]);
    assert_eq!(code(&none), 1);
    assert!(stderr(&none).contains("otposture cmdb import FILE"), "{}", stderr(&none));

    let good = env.file("good.csv", b"name,ip\nPLC-01,192.168.10.20\nHMI-01,192.168.10.30\n");
    env.ok(&["cmdb", "import", path(&good)]);
    let before = env.json(&["cmdb", "reconcile", "--format", "json"]);

    let bad = env.file(
        "bad.csv",
        b"name,MAC,ip,role\nPLC-01,00:1b:1b:0a:00:14,192.168.10.20,PLC\nHMI-01,00:d0:c9:zz:00:1e,192.168.10.30,HMI\nEWS-01,3c:52:82:0a:00:32\nX,,,toaster\n",
    );
    let out = env.run(&["cmdb", "import", path(&bad)]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}: row 3, column \"MAC\": \"00:d0:c9:zz:00:1e\" is not a MAC address", path(&bad))),
        "{err}"
    );
    assert!(err.contains(&format!("{}: row 4: has 2 fields, the header has 4", path(&bad))), "{err}");
    assert!(err.contains("row 5, column \"role\": \"toaster\" is not a role"), "{err}");
    assert!(err.contains("3 rows have errors; nothing imported") && err.contains("--skip-bad-rows"), "{err}");
    let after = env.json(&["cmdb", "reconcile", "--format", "json"]);
    assert_eq!(after["register"], before["register"], "the register in force is unchanged");
    assert_eq!(after["summary"], before["summary"]);

    let bad_json = env.file("bad.json", b"[\n  {\"name\": \"PLC-01\"},\n  {\"name\" \"HMI-01\"}\n]\n");
    let out = env.run(&["cmdb", "import", path(&bad_json)]);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains(&format!("{}: JSON syntax error at line 3, column 11", path(&bad_json))),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.json(&["cmdb", "reconcile", "--format", "json"])["register"], before["register"]);

    // Skipping bad rows imports the good one and reports the others.
    let out = env.ok(&["cmdb", "import", path(&bad), "--skip-bad-rows"]);
    assert!(stderr(&out).contains("skipped: ") && stderr(&out).contains("skipped 3 bad rows"), "{}", stderr(&out));
    let r = env.json(&["cmdb", "reconcile", "--format", "json"]);
    assert_eq!(
        (&r["register"]["file"], &r["register"]["rows"], &r["register"]["skipped"]),
        (&json!(path(&bad)), &json!(1), &json!(3))
    );

    // A file whose format cannot be told, and a database with no inventory.
    let odd = env.file("register.xlsx", b"name\nx\n");
    assert_eq!(code(&env.run(&["cmdb", "import", path(&odd)])), 2);
    let fresh = Env::new();
    fresh.ok(&["cmdb", "import", path(&good)]);
    let out = fresh.run(&["cmdb", "reconcile"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("run `otposture analyze <capture>` first"), "{}", stderr(&out));
}
