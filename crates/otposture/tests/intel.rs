//! `otposture intel` as a user runs it: the intel crate's fixtures imported
//! (good and bad together, good only, bad only) with each exit code, the
//! JSON summary, a re-import, and the status that says "intel as of".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../intel/tests/fixtures").join(name).display().to_string()
}

fn run(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otposture")).arg("--db").arg(db).args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn good_and_bad_documents_together_exit_4_and_report_every_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = run(&db, &["intel", "import", &fixture(""), "--summary", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["schema"], "otposture.intel-import/1");
    assert_eq!(doc["exit_code"], 4);
    assert_eq!(doc["kinds"]["csaf"]["loaded"], 1);
    assert_eq!(doc["kinds"]["csaf"]["replaced"], 1);
    assert_eq!(doc["kinds"]["csaf"]["skipped"], 4);
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 5);
    let undefined =
        errors.iter().find(|e| e["file"].as_str().unwrap().ends_with("csaf-undefined-product.json")).unwrap();
    assert_eq!(undefined["path"], "/vulnerabilities/1/product_status/fixed/0");
    assert_eq!(undefined["kind"], "invalid");
    assert_eq!(undefined["format"], "csaf");

    // Again: everything good is unchanged, the bad ones are reported again.
    let again = json(&run(&db, &["intel", "import", &fixture(""), "--summary", "json"]));
    assert_eq!(again["total"]["loaded"], 0);
    assert_eq!(again["total"]["unchanged"], doc["total"]["loaded"].as_u64().unwrap() + 1);

    let status = run(&db, &["intel", "status", "--format", "json", "--sources"]);
    assert_eq!(status.status.code(), Some(0));
    let status = json(&status);
    assert_eq!(status["schema"], "otposture.intel-status/1");
    assert_eq!(status["intel_as_of"]["kev"], "2024-05-01T12:00:00.000Z");
    assert_eq!(status["intel_as_of"]["csaf"], "2024-03-01T00:00:00.000Z");
    assert_eq!(status["sources"].as_array().unwrap().len(), 6);
    let text = run(&db, &["intel", "status"]);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("intel as of: csaf 2024-03-01"));
}

#[test]
fn only_good_documents_exit_0_and_only_bad_ones_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = run(&db, &["intel", "import", &fixture("csaf-rev1.json"), &fixture("kev.json")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("csaf: 1 loaded"));
    let out = run(&db, &["intel", "import", &fixture("csaf-truncated.json")]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("csaf-truncated.json (csaf)") && stderr.contains("truncated JSON"), "{stderr}");
}
