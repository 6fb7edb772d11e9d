//! The whole shared intel corpus imported into a fresh database file:
//! `cargo bench -p otposture-intel`. Reads ../shared/intel (2,379 CSAF
//! advisories, KEV JSON and CSV, the EPSS sample, 1,358 vulnrichment CVE
//! records, ATT&CK for ICS), prints the wall time, documents per second and
//! the peak memory; then imports it again (every document unchanged: hashed,
//! looked up, skipped). `OTPOSTURE_BENCH_INTEL=DIR` reads another corpus.
//! No assertion on timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

use otposture_fixtures::bench::peak_rss_mib;
use otposture_intel::import;
use otposture_store::{IntelWriter, Store};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let dir = std::env::var_os("OTPOSTURE_BENCH_INTEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/intel"));
    if !dir.exists() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("intel.db");
    let mut store = Store::open(&db).unwrap();
    let start = Instant::now();
    let report = import(&[&dir], &mut IntelWriter::new(&mut store, 0)).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let total = report.total();
    let documents = total.loaded + total.replaced + total.older;
    println!(
        "intel import of {}: {} inputs, {documents} documents stored, {} errors",
        dir.display(),
        report.inputs,
        report.errors.len()
    );
    for (kind, t) in &report.kinds {
        println!(
            "  {:<7} loaded {:>5} replaced {:>3} older {:>3} records {:>6}",
            kind.name(),
            t.loaded,
            t.replaced,
            t.older,
            t.records
        );
    }
    let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "first import: {secs:.2} s, {:.0} documents/s, peak RSS {:.0} MiB, database {:.1} MiB (before checkpoint)",
        documents as f64 / secs,
        peak_rss_mib(),
        bytes as f64 / 1048576.0
    );
    let start = Instant::now();
    let again = import(&[&dir], &mut IntelWriter::new(&mut store, 0)).unwrap();
    println!(
        "re-import: {:.2} s, {} unchanged, peak RSS {:.0} MiB",
        start.elapsed().as_secs_f64(),
        again.total().unchanged,
        peak_rss_mib()
    );
}
