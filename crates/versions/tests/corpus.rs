//! Every `product_version` and `product_version_range` name in the CISA ICS
//! CSAF corpus (`../shared/intel/csaf/csaf_files`, beside the repository):
//! read without a panic, with at least the coverage measured when the rules
//! were written (docs/versions.md). Skips with one line when the corpus is
//! missing, unless `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_versions::{check, single, Range, Version};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/intel/csaf/csaf_files");

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(CORPUS);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/intel/csaf/csaf_files is missing and CI=true: the CSAF corpus is required in CI");
    }
    eprintln!("skipping: ../shared/intel/csaf/csaf_files not found (set CI=true to make this a failure)");
    None
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// (category, name) -> number of product nodes.
fn walk(branches: &Value, out: &mut BTreeMap<(String, String), usize>) {
    for b in branches.as_array().into_iter().flatten() {
        let cat = b["category"].as_str().unwrap_or_default();
        if cat == "product_version" || cat == "product_version_range" {
            let name = b["name"].as_str().unwrap_or_default().to_owned();
            *out.entry((cat.to_owned(), name)).or_default() += 1;
        }
        walk(&b["branches"], out);
    }
}

/// Whether a `product_version` name is read: one version, a list, a
/// pattern or "all versions" (what `single` accepts).
fn single_definite(name: &str) -> bool {
    !name.contains(['<', '>']) && Range::parse(name).is_definite()
}

#[test]
fn every_corpus_version_and_range_is_read_or_sent_to_review() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    assert!(files.len() > 2000, "expected the 2,379 CISA advisories, found {}", files.len());
    let mut names = BTreeMap::new();
    for f in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        walk(&doc["product_tree"]["branches"], &mut names);
    }
    let (mut ranges, mut range_nodes, mut ranges_ok, mut range_nodes_ok) = (0usize, 0usize, 0usize, 0usize);
    let (mut singles, mut single_nodes, mut singles_ok, mut single_nodes_ok) = (0usize, 0usize, 0usize, 0usize);
    let mut review: Vec<(usize, String, String)> = Vec::new();
    let observed = [Version::parse("V1.0").unwrap(), Version::parse("3.2.17").unwrap()];
    let mut panics = 0usize;
    for ((cat, name), n) in &names {
        // Every string, read and checked against two versions, must not panic.
        let caught = std::panic::catch_unwind(|| {
            let r = Range::parse(name);
            for o in &observed {
                let _ = check(&r, o);
                let _ = single(name, o);
            }
            let _ = Version::parse(name);
        });
        panics += usize::from(caught.is_err());
        if cat == "product_version_range" {
            let r = Range::parse(name);
            ranges += 1;
            range_nodes += n;
            if std::env::var("VERSIONS_DEFINITE").is_ok() && r.is_definite() {
                eprintln!("{n}\t{name:?}\t{}", r.canonical());
            }
            if r.is_definite() {
                ranges_ok += 1;
                range_nodes_ok += n;
            } else {
                review.push((*n, name.clone(), r.canonical()));
            }
        } else {
            singles += 1;
            single_nodes += n;
            if single_definite(name) {
                singles_ok += 1;
                single_nodes_ok += n;
            }
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    eprintln!(
        "product_version_range: {ranges_ok}/{ranges} distinct strings definite ({:.1}%), {range_nodes_ok}/{range_nodes} nodes ({:.1}%); {} strings need review",
        pct(ranges_ok, ranges),
        pct(range_nodes_ok, range_nodes),
        ranges - ranges_ok
    );
    eprintln!(
        "product_version: {singles_ok}/{singles} distinct strings definite ({:.1}%), {single_nodes_ok}/{single_nodes} nodes ({:.1}%)",
        pct(singles_ok, singles),
        pct(single_nodes_ok, single_nodes)
    );
    if std::env::var("VERSIONS_REVIEW").is_ok() {
        review.sort();
        for (n, name, why) in review.iter().rev() {
            eprintln!("{n}\t{name:?}\t{why}");
        }
    }
    assert_eq!(panics, 0, "parsing or checking panicked on {panics} corpus strings");
    assert!(ranges > 3000 && singles > 900, "corpus shrank: {ranges} ranges, {singles} versions");
    // Measured on 2026-11-24 (docs/versions.md): 85.5% / 92.3% of ranges and
    // 65.8% / 82.7% of product versions; a drop below these means a rule broke.
    assert!(pct(ranges_ok, ranges) >= 85.0, "distinct range strings definite fell below 85%");
    assert!(pct(range_nodes_ok, range_nodes) >= 92.0, "range nodes definite fell below 92%");
    assert!(pct(singles_ok, singles) >= 65.0, "distinct product versions read fell below 65%");
    assert!(pct(single_nodes_ok, single_nodes) >= 82.0, "product version nodes read fell below 82%");
}
