//! The whole shared intel corpus (../shared/intel) imported into a fresh
//! store: every CSAF advisory, KEV in both forms, the EPSS sample, every
//! vulnrichment record, ATT&CK for ICS. Counts are taken from the data
//! itself, not typed in; then a second import changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use otposture_intel::Kind;
use otposture_store::Store;
use support::{files, run, shared_intel};

/// Distinct tracking ids among the CSAF files, and the files.
fn csaf_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    files(&dir.join("csaf/csaf_files"), ".json")
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().contains("feed"))
        .collect()
}

#[test]
fn the_shared_corpus_imports_whole_and_a_second_import_changes_nothing() {
    let Some(dir) = shared_intel() else { return };
    let db = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db.path().join("intel.db")).unwrap();
    let report = run(&mut store, &[dir.as_path()]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);

    let csaf = csaf_files(&dir).len() as u64;
    assert_eq!(csaf, 2_379, "the shared README counts 2,379 advisories");
    assert_eq!(report.tally(Kind::Csaf).loaded, csaf);
    assert_eq!(store.intel_rows("advisories").unwrap(), csaf);

    // KEV: the JSON's own count, in both forms. The CSV (read first, by name)
    // is as of its newest dateAdded; the JSON's release time on that day is later.
    let kev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("kev/known_exploited_vulnerabilities.json")).unwrap()).unwrap();
    let kev_count = kev["count"].as_u64().unwrap();
    assert_eq!(kev_count, 1_404);
    assert_eq!(kev["vulnerabilities"].as_array().unwrap().len() as u64, kev_count);
    assert_eq!(store.intel_rows("kev_entries").unwrap(), kev_count);
    assert_eq!((report.tally(Kind::Kev).loaded, report.tally(Kind::Kev).replaced), (1, 1));

    let cves = files(&dir.join("vulnrichment"), ".json").len() as u64;
    assert_eq!(cves, 1_358);
    assert_eq!(report.tally(Kind::Cve).loaded, cves);
    assert_eq!(store.intel_rows("cve_records").unwrap(), cves);

    // EPSS sample: every line but the comment and the header.
    let epss = std::fs::read_to_string(dir.join("epss/epss_scores-sample_first100.csv")).unwrap();
    let scored = epss.lines().filter(|l| l.starts_with("CVE-")).count() as u64;
    assert_eq!(store.intel_rows("epss_scores").unwrap(), scored);

    // ATT&CK: techniques neither deprecated nor revoked.
    let attack: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("attack/ics-attack.json")).unwrap()).unwrap();
    let active = attack["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "attack-pattern" && o["x_mitre_deprecated"] != true && o["revoked"] != true)
        .count() as u64;
    assert_eq!(active, 83);
    let status = store.intel_status().unwrap();
    let of = |k: &str| status.iter().find(|s| s.kind == k).unwrap().clone();
    assert_eq!(of("attack").records, active);
    assert_eq!(of("kev").records, kev_count);
    assert_eq!(of("kev").as_of.as_deref(), Some("2025-08-25T17:04:19.9796Z"));
    assert_eq!(of("csaf").documents, csaf);
    assert!(of("csaf").as_of.as_deref().unwrap() >= "2024-10", "{:?}", of("csaf").as_of);

    // Every SSVC record kept its three decision points.
    let with_ssvc = files(&dir.join("vulnrichment"), ".json")
        .iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("\"Technical Impact\""))
        .count() as u64;
    assert_eq!(with_ssvc, cves);

    // A second import: every document unchanged, nothing written.
    let sources = store.intel_rows("intel_sources").unwrap();
    let again = run(&mut store, &[dir.as_path()]);
    assert!(again.errors.is_empty());
    let total = again.total();
    assert_eq!((total.loaded, total.replaced, total.older, total.skipped), (0, 0, 0, 0));
    assert_eq!(total.unchanged, csaf + 2 + 1 + cves + 1);
    assert_eq!(store.intel_rows("intel_sources").unwrap(), sources);
}
