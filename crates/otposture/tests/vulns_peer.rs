//! Advisories matched to a device seen on the wire, end to end: snap7's server
//! and client talk S7comm on loopback (tests/peers/s7_peer.py), `analyze`
//! names the CPU with its order number and firmware, `intel import` reads a
//! CSAF 2.0 advisory written for it, and `otposture vulns` must call the CPU
//! affected by the vulnerability whose range holds its firmware, not affected
//! by the one whose fixed version it runs, and leave out the one for another
//! model. Needs python3 with python-snap7 and tcpdump (scripts/setup.sh);
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, otposture, python_peer};
use serde_json::{json, Value};

/// A CSAF 2.0 advisory with three vulnerabilities: one affecting every
/// version of the CPU below `above` (so the device's own firmware is inside),
/// one fixed in exactly `firmware`, and one for another order number.
fn advisory(order: &str, firmware: &str, above: &str) -> Value {
    let fix = json!([{"category": "vendor_fix", "details": format!("Update to {above} or later"),
                      "url": "https://psirt.example.invalid/fix", "product_ids": ["CSAFPID-0001"]}]);
    let leaf = |category: &str, name: &str, id: &str, full: &str, models: &[&str]| {
        json!({"category": category, "name": name, "product": {
            "name": full, "product_id": id,
            "product_identification_helper": {"model_numbers": models}}})
    };
    json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Test advisory for the snap7 CPU",
            "publisher": {"category": "vendor", "name": "Test PSIRT", "namespace": "https://psirt.example.invalid"},
            "tracking": {
                "id": "TEST-2026-001", "version": "1", "status": "final",
                "initial_release_date": "2026-01-01T00:00:00.000Z",
                "current_release_date": "2026-01-01T00:00:00.000Z",
                "revision_history": [{"number": "1", "date": "2026-01-01T00:00:00.000Z", "summary": "Initial"}]
            }
        },
        "product_tree": {"branches": [{"category": "vendor", "name": "Siemens", "branches": [
            {"category": "product_name", "name": "SIMATIC test CPU", "branches": [
                leaf("product_version_range", &format!("< {above}"), "CSAFPID-0001", "SIMATIC test CPU, affected", &[order]),
                leaf("product_version", firmware, "CSAFPID-0002", "SIMATIC test CPU, fixed", &[order]),
            ]},
            {"category": "product_name", "name": "SIMATIC other CPU", "branches": [
                leaf("product_version_range", "vers:all/*", "CSAFPID-0003", "SIMATIC other CPU", &["6ES7 999-9ZZ99-0AB0"]),
            ]}
        ]}]},
        "vulnerabilities": [
            {"cve": "CVE-2026-0001", "product_status": {"known_affected": ["CSAFPID-0001"]}, "remediations": fix,
             "scores": [{"products": ["CSAFPID-0001"], "cvss_v3": {
                 "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                 "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]},
            {"cve": "CVE-2026-0002", "product_status": {"known_affected": ["CSAFPID-0001"], "fixed": ["CSAFPID-0002"]},
             "remediations": fix},
            {"cve": "CVE-2026-0003", "product_status": {"known_affected": ["CSAFPID-0003"]}}
        ]
    })
}

#[test]
fn a_cpu_seen_on_the_wire_is_matched_to_its_advisory_by_order_number_and_firmware() {
    let snap7 = "import importlib.metadata as m, snap7.server; assert m.version('python-snap7').startswith('2.')";
    if !loopback::available(&[snap7], "python3 with python-snap7 2.x and tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("s7_peer.py", port));
    let db = dir.path().join("vulns.db");
    analyze(&db, &run.pcap);
    let json_of = |args: &[&str]| loopback::json(&db, args);

    // What the inventory knows of the CPU.
    let assets = json_of(&["assets"]);
    let asset = &assets["assets"][0];
    let field = |name: &str| {
        asset["attributes"].as_array().unwrap().iter().find(|x| x["field"] == name).map(|x| x["value"].clone())
    };
    let order = field("order_number").and_then(|v| v.as_str().map(str::to_owned)).expect("an order number");
    let firmware = field("firmware").and_then(|v| v.as_str().map(str::to_owned)).expect("a firmware version");
    let id = asset["id"].as_str().unwrap();

    // An advisory whose affected range ends one major version above the firmware.
    let major: u32 = firmware.trim_start_matches(['V', 'v']).split('.').next().unwrap().parse().unwrap();
    let csaf = dir.path().join("advisory.json");
    std::fs::write(&csaf, advisory(&order, &firmware, &format!("V{}.0", major + 1)).to_string()).unwrap();
    let imported = otposture(&db, &["intel", "import", csaf.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));

    let vulns = json_of(&["vulns", "--outcome", "affected,not-affected,needs-review"]);
    assert_eq!(vulns["schema"], "otposture.vulns/1");
    let rows = vulns["vulns"].as_array().unwrap();
    let by_cve = |cve: &str| rows.iter().filter(|r| r["cve"] == cve).collect::<Vec<_>>();
    let affected = by_cve("CVE-2026-0001");
    assert_eq!(affected.len(), 1, "{vulns}");
    assert_eq!((affected[0]["asset"].as_str(), affected[0]["outcome"].as_str()), (Some(id), Some("affected")));
    assert_eq!(affected[0]["confidence"], "high", "matched by order number: {}", affected[0]);
    assert_eq!(affected[0]["advisory"], "TEST-2026-001");
    assert!(affected[0]["why"].as_str().unwrap().contains("order number"), "{}", affected[0]);
    // The fixed version it runs wins over the affected range.
    let fixed = by_cve("CVE-2026-0002");
    assert_eq!(fixed.len(), 1, "{vulns}");
    assert_eq!(fixed[0]["outcome"], "not_affected", "{}", fixed[0]);
    assert_eq!(fixed[0]["evidence"][0]["status"], "fixed", "{}", fixed[0]);
    // Another order number: no row at all.
    assert!(by_cve("CVE-2026-0003").is_empty(), "{vulns}");

    // By default only what needs action or a look is listed.
    let default = json_of(&["vulns"]);
    let cves: Vec<&str> = default["vulns"].as_array().unwrap().iter().map(|r| r["cve"].as_str().unwrap()).collect();
    assert_eq!(cves, ["CVE-2026-0001"]);
    // One asset, and an asset that does not exist.
    let one = json_of(&["vulns", "--asset", id]);
    assert_eq!(one["vulns"].as_array().unwrap().len(), 1);
    assert!(json_of(&["vulns", "--vendor", "Schneider Electric"])["vulns"].as_array().unwrap().is_empty());
    assert_eq!(json_of(&["vulns", "--vendor", "SIEMENS AG"])["vulns"].as_array().unwrap().len(), 1);

    // The remediation plan: the one vendor fix, with what it closes among the rows asked for.
    let plan = json_of(&["vulns", "--plan"]);
    assert_eq!(plan["schema"], "otposture.remediation-plan/1");
    let plan = plan["remediation-plan"].as_array().unwrap();
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert_eq!((plan[0]["category"].as_str(), plan[0]["vulnerabilities"].as_u64()), (Some("vendor_fix"), Some(1)));
    assert_eq!(plan[0]["asset_ids"], json!([id]));
    // A device not affected needs no fix: asking for those rows adds nothing.
    let both = json_of(&["vulns", "--plan", "--outcome", "affected,not-affected"]);
    assert_eq!(both["remediation-plan"][0]["cves"], json!(["CVE-2026-0001"]));

    // The advisory itself, as stored.
    let shown = loopback::json(&db, &["advisories", "show", "TEST-2026-001"]);
    assert_eq!(shown["schema"], "otposture.advisory/1");
    assert_eq!(shown["advisory"]["title"], "Test advisory for the snap7 CPU");
    let vulns_shown = shown["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns_shown.len(), 3);
    assert_eq!(vulns_shown[1]["cve"], "CVE-2026-0002");
    assert_eq!(vulns_shown[1]["statuses"], json!([["fixed", "CSAFPID-0002"], ["known_affected", "CSAFPID-0001"]]));
    assert_eq!(shown["products"].as_array().unwrap().len(), 3);
    assert_eq!(shown["products"][0]["model_numbers"], json!([order]));
    let unknown = otposture(&db, &["advisories", "show", "ICSA-00-000-00"]);
    assert_eq!(unknown.status.code(), Some(1));

    // Known exploited: a KEV catalog naming CVE-2026-0001 marks its row, and
    // --kev keeps only such rows.
    assert!(json_of(&["vulns", "--kev"])["vulns"].as_array().unwrap().is_empty());
    assert!(affected[0]["kev"].is_null());
    // SSVC: without KEV or a CVE record, exploitation is unknown: no decision.
    assert!(affected[0]["ssvc"].is_null(), "{}", affected[0]);
    assert!(
        affected[0]["ssvc_path"].as_str().unwrap().starts_with("E=unknown -> A=yes (CVSS vector)"),
        "{}",
        affected[0]
    );
    let kev = json!({
        "title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.01.02",
        "dateReleased": "2026-01-02T12:00:00.000Z", "count": 1,
        "vulnerabilities": [{
            "cveID": "CVE-2026-0001", "vendorProject": "Siemens", "product": "SIMATIC test CPU",
            "vulnerabilityName": "Test", "dateAdded": "2026-01-02", "shortDescription": "Test.",
            "requiredAction": "Apply updates.", "dueDate": "2026-01-23", "knownRansomwareCampaignUse": "Unknown",
            "notes": "", "cwes": []
        }]
    });
    let kev_file = dir.path().join("kev.json");
    std::fs::write(&kev_file, kev.to_string()).unwrap();
    let imported = otposture(&db, &["intel", "import", kev_file.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let known = json_of(&["vulns", "--kev"]);
    let known = known["vulns"].as_array().unwrap();
    assert_eq!(known.len(), 1, "{known:?}");
    assert_eq!((known[0]["cve"].as_str(), known[0]["kev"].as_str()), (Some("CVE-2026-0001"), Some("2026-01-02")));
    // Known exploited, automatable and total by its CVSS vector, on a controller: Act.
    assert_eq!(known[0]["ssvc"], "act", "{}", known[0]);
    assert_eq!(
        known[0]["ssvc_path"],
        "E=active (in CISA KEV) -> A=yes (CVSS vector) -> TI=total (CVSS vector) -> MWI=high (role controller default) -> act"
    );
    let acts = json_of(&["vulns", "--ssvc", "act"]);
    assert_eq!(acts["vulns"].as_array().unwrap().len(), 1);
    assert!(json_of(&["vulns", "--ssvc", "track"])["vulns"].as_array().unwrap().is_empty());
    // The posture check: an Act decision on the CPU's firmware is a critical finding.
    assert!(otposture(&db, &["assess"]).status.success());
    let findings = json_of(&["findings", "--check", "firmware."]);
    let firmware = &findings["findings"].as_array().unwrap()[0];
    assert_eq!((firmware["key"].as_str(), firmware["severity"].as_str()), (Some(id), Some("critical")), "{findings}");
    assert!(firmware["evidence"][0]["what"].as_str().unwrap().contains("CVE-2026-0001, in CISA KEV"), "{firmware}");
    // The site says the bench CPU runs a process of minimal mission and
    // well-being: SSVC weighs that instead of the role's default, and the
    // decision (and the finding) drop to Attend.
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        "[site]\nname = 'bench'\n[[zone]]\nname = 'lab'\nlevel = 1\ncidrs = ['127.0.0.1/32']\n\
         [[consequence]]\nprocess = 'test bench'\nzones = ['lab']\nmission = 'minimal'\nwellbeing = 'minimal'\n",
    )
    .unwrap();
    assert!(otposture(&db, &["site", "apply", site.to_str().unwrap()]).status.success());
    let known = json_of(&["vulns", "--kev"]);
    assert_eq!(
        known["vulns"][0]["ssvc_path"],
        "E=active (in CISA KEV) -> A=yes (CVSS vector) -> TI=total (CVSS vector) -> MWI=low (site: process test bench) -> attend"
    );
    assert!(otposture(&db, &["assess"]).status.success());
    let findings = json_of(&["findings", "--check", "firmware."]);
    assert_eq!(findings["findings"][0]["severity"], "high", "{findings}");
    // The priority weighs SSVC, EPSS, CVSS, exposure and criticality, each part shown.
    let row = &known["vulns"][0];
    let parts = &row["priority_parts"];
    assert_eq!(
        (parts["ssvc"].as_f64(), parts["epss"].as_f64(), parts["criticality"].as_f64()),
        (Some(0.7), Some(0.0), Some(0.2)),
        "{row}"
    );
    assert_eq!(parts["criticality_source"], "site: process test bench");
    assert_eq!(
        (parts["exposure"].as_f64(), parts["exposure_reason"].as_str()),
        (Some(0.0), Some("not reached from outside its zone")),
        "snap7's client is on the same loopback address"
    );
    let cvss = row["cvss"].as_f64().map_or(0.5, |c| c / 10.0);
    assert!((parts["cvss"].as_f64().unwrap() - cvss).abs() < 1e-9, "{row}");
    let want = 100.0 * (0.35 * 0.7 + 0.15 * cvss + 0.15 * 0.2);
    assert!((row["priority"].as_f64().unwrap() - want).abs() < 0.051, "{row} (want {want:.1})");
    // VEX: the affected CVE with the advisory's fix as the action; the fixed one as fixed.
    let out = otposture(&db, &["vulns", "--vex", "--outcome", "affected,not-affected"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let vex: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(vex["@context"], "https://openvex.dev/ns/v0.2.0");
    let statements = vex["statements"].as_array().unwrap();
    let status = |cve: &str| {
        statements.iter().find(|s| s["vulnerability"]["name"] == cve).map(|s| s["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("CVE-2026-0001").as_deref(), Some("affected"), "{vex:#}");
    assert_eq!(status("CVE-2026-0002").as_deref(), Some("fixed"), "{vex:#}");
    let affected = statements.iter().find(|s| s["vulnerability"]["name"] == "CVE-2026-0001").unwrap();
    assert!(affected["action_statement"].as_str().unwrap().starts_with("vendor_fix: "), "{affected:#}");
    assert_eq!(affected["products"][0]["@id"], format!("urn:otposture:asset:{id}"));
    assert_eq!(affected["vulnerability"]["aliases"], json!(["TEST-2026-001"]));
    let missing = otposture(&db, &["vulns", "--asset", "mac-00:00:00:00:00:99"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no asset"), "{missing:?}");
}
