//! Matching speed: `cargo bench -p otposture-vulns`. Reads every CISA CSAF
//! advisory in ../shared/intel (the intel crate's parser), indexes them, then
//! matches 100,000 asset identities (Siemens, Rockwell, Schneider, ABB, Moxa
//! and Phoenix Contact devices of the labelled test, firmware varied) and
//! prints the time of each step. No assertion on timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use otposture_vulns::{Catalog, Identity, Matcher, Vulnerability};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

const DEVICES: &[(&str, &str, Option<&str>)] = &[
    ("Siemens", "CPU 315-2 PN/DP", Some("6ES7 315-2EH14-0AB0")),
    ("Siemens", "CPU 1511-1 PN", Some("6ES7 511-1AK01-0AB0")),
    ("Siemens", "CPU 1214C DC/DC/DC", Some("6ES7 214-1AG40-0XB0")),
    ("Siemens", "OZW672", None),
    ("Rockwell Automation", "1756-L83E/B LOGIX5583E", None),
    ("Rockwell Automation", "1763-L16BWA B/15.00", None),
    ("Schneider Electric", "BMEP582040", None),
    ("Schneider Electric", "BMXP342020", None),
    ("ABB", "REL670", None),
    ("Moxa", "NPort 5150", None),
    ("Moxa", "EDR-G903", None),
    ("Phoenix Contact", "ILC 2050 BI-L", Some("2404671")),
    ("Hilscher", "NXIO 100", None),
    ("WAGO", "750-881", None),
];

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: then it
    // matches a hundredth of the assets, as a smoke run.
    let assets_wanted = if std::env::args().any(|a| a == "--bench") { 100_000 } else { 1_000 };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/intel/csaf/csaf_files");
    if !dir.exists() {
        eprintln!("skipping: ../shared/intel not found");
        return;
    }
    let started = Instant::now();
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    let mut vulns = Vec::new();
    for p in &paths {
        let Ok(a) = otposture_intel::csaf::parse(&std::fs::read(p).unwrap()) else { continue };
        vulns.extend(Vulnerability::of_advisory(&a));
    }
    let parsed = started.elapsed();
    let t = Instant::now();
    let catalog = Catalog::new(vulns);
    let indexed = t.elapsed();
    let firmware: Vec<String> = (0..100).map(|i| format!("V{}.{}.{}", i % 5 + 1, i % 10, i % 20)).collect();
    // Every identity distinct: each asset is matched from scratch.
    let t = Instant::now();
    let mut cold = 0usize;
    for i in 0..(DEVICES.len() * firmware.len()) {
        let (vendor, model, order) = DEVICES[i % DEVICES.len()];
        let id = Identity {
            vendor: Some(vendor),
            model: Some(model),
            order_number: order,
            firmware: Some(&firmware[i / DEVICES.len()]),
        };
        cold += catalog.findings(&id).len();
    }
    let cold_time = t.elapsed();
    let distinct = DEVICES.len() * firmware.len();
    // A plant: 100,000 assets, many of one kind (the same distinct identities).
    let t = Instant::now();
    let (mut findings, mut assets) = (0usize, 0usize);
    let mut matcher = Matcher::new(&catalog);
    for i in 0..assets_wanted {
        let (vendor, model, order) = DEVICES[i % DEVICES.len()];
        let id = Identity {
            vendor: Some(vendor),
            model: Some(model),
            order_number: order,
            firmware: Some(&firmware[i % 100]),
        };
        findings += matcher.findings(&id).len();
        assets += 1;
    }
    let matched = t.elapsed();
    println!(
        "{distinct} distinct identities matched from scratch in {:.3} s ({:.0} us each, {cold} findings)",
        cold_time.as_secs_f64(),
        cold_time.as_secs_f64() * 1e6 / distinct as f64
    );
    println!(
        "{} advisories read in {:.2} s; {} vulnerabilities indexed in {:.2} s; {assets} assets matched in {:.2} s ({findings} findings)",
        paths.len(),
        parsed.as_secs_f64(),
        catalog.len(),
        indexed.as_secs_f64(),
        matched.as_secs_f64()
    );
}
