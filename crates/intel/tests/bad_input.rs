//! Bad input, each kind reported precisely (file, member, JSON path, reason)
//! and never costing what was imported before; and the revision rules: the
//! newest revision of a tracking id wins, every revision stays in the history.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use otposture_intel::{ImportError, Kind, ProblemKind};
use otposture_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use support::{fixture, run};

fn store() -> Store {
    Store::open_in_memory().unwrap()
}

/// The only error of a report.
fn only_error(errors: &[ImportError]) -> &ImportError {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    &errors[0]
}

/// Revision 1 imported first: the "earlier data" every test checks survives.
fn with_rev1() -> Store {
    let mut s = store();
    let r = run(&mut s, &[&fixture("csaf-rev1.json")]);
    assert!(r.errors.is_empty(), "{:#?}", r.errors);
    s
}

fn rev1_survives(s: &Store) {
    let a = s.intel_advisory("EXA-2024-001").unwrap().expect("revision 1 is still there");
    assert_eq!((a.version.as_str(), a.products, a.vulnerabilities), ("1", 2, 1));
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn a_truncated_advisory_is_a_syntax_error_and_loses_nothing() {
    let mut s = with_rev1();
    let r = run(&mut s, &[&fixture("csaf-truncated.json")]);
    let e = only_error(&r.errors);
    assert!(e.origin.file.ends_with("csaf-truncated.json") && e.origin.member.is_none(), "{e}");
    assert_eq!((e.kind, e.format), (ProblemKind::Syntax, Some("csaf")));
    assert!(e.reason.starts_with("truncated JSON"), "{}", e.reason);
    assert_eq!(r.tally(Kind::Csaf).skipped, 1);
    rev1_survives(&s);
}

#[test]
fn a_wrong_type_is_a_schema_error_at_its_json_path() {
    let mut s = with_rev1();
    let r = run(&mut s, &[&fixture("csaf-wrong-schema.json")]);
    let e = only_error(&r.errors);
    assert_eq!((e.kind, e.path.as_str()), (ProblemKind::Schema, "/document/tracking/version"));
    assert!(e.reason.contains("expected a string"), "{}", e.reason);
    rev1_survives(&s);
}

#[test]
fn an_unknown_csaf_version_is_reported_as_such_not_as_a_schema_error() {
    let mut s = with_rev1();
    let r = run(&mut s, &[&fixture("csaf-version-2.1.json")]);
    let e = only_error(&r.errors);
    assert_eq!((e.kind, e.path.as_str()), (ProblemKind::UnsupportedVersion, "/document/csaf_version"));
    assert!(e.reason.contains("\"2.1\""), "{}", e.reason);
    rev1_survives(&s);
}

#[test]
fn a_status_naming_an_undefined_product_is_located_to_the_list_item() {
    let mut s = with_rev1();
    let r = run(&mut s, &[&fixture("csaf-undefined-product.json")]);
    let e = only_error(&r.errors);
    assert_eq!((e.kind, e.path.as_str()), (ProblemKind::Invalid, "/vulnerabilities/1/product_status/fixed/0"));
    assert!(e.reason.contains("CSAFPID-9999") && e.reason.contains("6.1.1"), "{}", e.reason);
    assert!(s.intel_advisory("EXA-2024-003").unwrap().is_none(), "nothing of the bad advisory is stored");
    rev1_survives(&s);
}

#[test]
fn a_newer_revision_replaces_and_an_older_one_is_history_only() {
    // Newer after older: replaced.
    let mut s = with_rev1();
    let r = run(&mut s, &[&fixture("csaf-rev2.json")]);
    assert_eq!(r.tally(Kind::Csaf).replaced, 1);
    let a = s.intel_advisory("EXA-2024-001").unwrap().unwrap();
    assert_eq!((a.version.as_str(), a.title.as_str()), ("2", "Example ExPLC 1500 web server (update A)"));
    assert_eq!((a.products, a.vulnerabilities), (2, 1), "the replaced revision's rows are gone, not doubled");

    // Older after newer: kept in the history, not in force.
    let mut t = store();
    run(&mut t, &[&fixture("csaf-rev2.json")]);
    let r = run(&mut t, &[&fixture("csaf-rev1.json")]);
    assert_eq!(r.tally(Kind::Csaf).older, 1);
    assert_eq!(t.intel_advisory("EXA-2024-001").unwrap().unwrap().version, "2");
    let history = t.intel_advisory_revisions("EXA-2024-001").unwrap();
    let seen: Vec<(&str, bool)> = history.iter().map(|h| (h.version.as_str(), h.in_force)).collect();
    assert_eq!(seen, [("2", true), ("1", false)]);
    assert!(history[0].revision_history.contains("Added fixed version"));
    assert_eq!(t.intel_rows("product_status").unwrap(), 2, "one revision's statuses only");
}

#[test]
fn an_absurd_version_string_is_bounded_and_reported_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("csaf-rev1.json")).unwrap()).unwrap();
    doc["document"]["tracking"]["id"] = "EXA-2024-999".into();
    let huge = "9.".repeat(5 * 1024 * 1024);
    doc["product_tree"]["branches"][0]["branches"][0]["branches"][0]["branches"][1]["name"] = huge.into();
    let p = write(dir.path(), "absurd.json", &serde_json::to_vec(&doc).unwrap());
    let mut s = with_rev1();
    let r = run(&mut s, &[&p]);
    let e = only_error(&r.errors);
    assert_eq!(e.kind, ProblemKind::TooLarge);
    assert_eq!(e.path, "/product_tree/branches/0/branches/0/branches/0/branches/1/name");
    assert!(e.reason.contains("10485760 bytes") && e.reason.len() < 300, "{}", e.reason);
    rev1_survives(&s);
}

#[test]
fn a_product_tree_nested_too_deep_is_reported_not_overflowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("csaf-rev1.json")).unwrap()).unwrap();
    doc["document"]["tracking"]["id"] = "EXA-2024-998".into();
    doc["vulnerabilities"] = serde_json::json!([]);
    // 40 levels: within serde_json's recursion limit, beyond the branch limit.
    let mut branch = serde_json::json!({"category": "product_version", "name": "1"});
    for _ in 0..40 {
        branch = serde_json::json!({"category": "product_family", "name": "f", "branches": [branch]});
    }
    doc["product_tree"]["branches"] = serde_json::json!([branch]);
    let p = write(dir.path(), "deep.json", &serde_json::to_vec(&doc).unwrap());
    // 100,000 levels of branches: beyond serde_json's recursion limit of 128.
    let mut text = serde_json::to_string(&doc).unwrap();
    let deep =
        format!("{}{}", r#"{"category": "vendor", "name": "v", "branches": ["#.repeat(100_000), "]}".repeat(100_000));
    text = text.replacen(r#""branches":["#, &format!(r#""branches":[{deep},"#), 1);
    let q = write(dir.path(), "deeper.json", text.as_bytes());
    let mut s = with_rev1();
    let r = run(&mut s, &[&p, &q]);
    assert_eq!(r.errors.len(), 2, "{:#?}", r.errors);
    assert_eq!(r.errors[0].kind, ProblemKind::TooLarge);
    assert!(r.errors[0].path.starts_with("/product_tree/branches/0/branches/0/branches/0"), "{}", r.errors[0].path);
    assert!(r.errors[0].reason.contains("deeper than"), "{}", r.errors[0].reason);
    assert_eq!(r.errors[1].kind, ProblemKind::TooLarge);
    assert!(r.errors[1].reason.contains("128 levels"), "{}", r.errors[1].reason);
    rev1_survives(&s);
}

fn zip_of(path: &Path, members: &[(&str, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        z.start_file(*name, options).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn a_zip_with_one_bad_member_names_the_member_and_loads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("advisories.zip");
    let read = |n: &str| std::fs::read(fixture(n)).unwrap();
    zip_of(
        &bundle,
        &[
            ("good/csaf-rev1.json", read("csaf-rev1.json")),
            ("bad/csaf-undefined-product.json", read("csaf-undefined-product.json")),
            ("good/cve-2024-0001.json", read("cve-2024-0001.json")),
            ("README.txt", b"not intel".to_vec()),
        ],
    );
    let mut s = store();
    let r = run(&mut s, &[&bundle]);
    let e = only_error(&r.errors);
    assert_eq!(e.origin.file, bundle.display().to_string());
    assert_eq!(e.origin.member.as_deref(), Some("bad/csaf-undefined-product.json"));
    assert_eq!(e.path, "/vulnerabilities/1/product_status/fixed/0");
    assert!(e.to_string().contains("advisories.zip!bad/csaf-undefined-product.json"), "{e}");
    assert_eq!((r.tally(Kind::Csaf).loaded, r.tally(Kind::Cve).loaded), (1, 1));
    assert_eq!(r.ignored.len(), 1);
    rev1_survives(&s);
    let sources = s.intel_sources().unwrap();
    assert!(sources.iter().any(|x| x.name.ends_with("advisories.zip!good/csaf-rev1.json")), "{sources:#?}");
}

#[test]
fn a_tar_gz_bundle_and_a_gzip_score_file_are_read_through() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("intel.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(std::fs::File::create(&bundle).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for name in ["csaf-rev2.json", "kev.json", "attack.json"] {
            tar.append_path_with_name(fixture(name), format!("feed/{name}")).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }
    let epss = dir.path().join("epss_scores-2025-03-15.csv.gz");
    {
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&epss).unwrap(), flate2::Compression::fast());
        gz.write_all(&std::fs::read(fixture("epss.csv")).unwrap()).unwrap();
        gz.finish().unwrap();
    }
    let mut s = store();
    let r = run(&mut s, &[&bundle, &epss]);
    assert!(r.errors.is_empty(), "{:#?}", r.errors);
    let loaded: Vec<u64> =
        [Kind::Csaf, Kind::Kev, Kind::Attack, Kind::Epss].iter().map(|k| r.tally(*k).loaded).collect();
    assert_eq!(loaded, [1, 1, 1, 1]);
    assert_eq!(s.intel_rows("epss_scores").unwrap(), 2);
    assert_eq!(s.intel_rows("kev_entries").unwrap(), 2);
}

#[test]
fn a_kev_csv_error_names_the_line_where_the_record_starts() {
    let mut s = store();
    let r = run(&mut s, &[&fixture("kev.csv")]);
    let e = only_error(&r.errors);
    // The first entry's name spans lines 2 and 3: the bad entry starts on line 4.
    assert_eq!((e.kind, e.path.as_str(), e.format), (ProblemKind::Invalid, "line 4, column cveID", Some("kev")));
    assert_eq!(s.intel_rows("kev_entries").unwrap(), 0, "a bad catalog loads nothing of itself");
}

#[test]
fn a_file_named_explicitly_that_is_not_intel_is_an_error_but_in_a_directory_it_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let notes = write(dir.path(), "notes.txt", b"hello");
    let mut s = store();
    let r = run(&mut s, &[&notes]);
    assert_eq!(only_error(&r.errors).kind, ProblemKind::Unrecognised);
    let r = run(&mut s, &[dir.path()]);
    assert!(r.errors.is_empty());
    assert_eq!(r.ignored.len(), 1);
    let r = run(&mut s, &[&dir.path().join("missing.json")]);
    assert_eq!(only_error(&r.errors).kind, ProblemKind::Io);
}

#[test]
fn importing_the_fixtures_twice_changes_nothing_the_second_time() {
    let mut s = store();
    let first = run(&mut s, &[&fixture("")]);
    let tables = [
        "intel_sources",
        "advisories",
        "advisory_revisions",
        "advisory_products",
        "advisory_vulnerabilities",
        "product_status",
        "remediations",
        "kev_entries",
        "epss_scores",
        "cve_records",
        "cve_scores",
        "attack_techniques",
    ];
    let before: Vec<u64> = tables.iter().map(|t| s.intel_rows(t).unwrap()).collect();
    assert!(before.iter().all(|n| *n > 0), "every table has rows: {before:?}");
    let second = run(&mut s, &[&fixture("")]);
    let after: Vec<u64> = tables.iter().map(|t| s.intel_rows(t).unwrap()).collect();
    assert_eq!(before, after);
    let (t1, t2) = (first.total(), second.total());
    assert_eq!(t2.unchanged, t1.loaded + t1.replaced + t1.older);
    assert_eq!((t2.loaded, t2.replaced, t2.older), (0, 0, 0));
    assert_eq!(second.errors, first.errors, "bad documents are reported again, the same way");
}

#[test]
fn remediations_scores_and_the_record_date_are_stored() {
    let mut s = store();
    run(&mut s, &[&fixture("csaf-rev1.json"), &fixture("cve-2024-0001.json")]);
    assert_eq!(s.intel_rows("remediations").unwrap(), 2);
    assert_eq!(s.intel_rows("advisory_scores").unwrap(), 1);
    assert_eq!(s.intel_rows("cve_scores").unwrap(), 1);
    let status = s.intel_status().unwrap();
    let cve = status.iter().find(|k| k.kind == "cve").unwrap();
    assert_eq!(cve.as_of.as_deref(), Some("2024-06-01T00:00:00.000Z"));
}
