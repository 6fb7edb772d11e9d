//! What the intel tests share: the shared corpus (skip or fail), fixtures,
//! and an import into a fresh store.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_intel::{import, Report};
use otposture_store::{IntelWriter, Store};
use std::path::{Path, PathBuf};

/// `../shared/intel` beside the repository. When it is missing, tests fail
/// under `CI=true` and otherwise skip with one line (`None`).
pub fn shared_intel() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/intel");
    if dir.join("kev/known_exploited_vulnerabilities.json").exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/intel is missing and CI=true: the shared intel corpus is required in CI");
    }
    eprintln!("skipping: ../shared/intel not found (set CI=true to make this a failure)");
    None
}

/// A fixture file under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Imports `paths` into `store`.
pub fn run(store: &mut Store, paths: &[&Path]) -> Report {
    import(paths, &mut IntelWriter::new(store, 1_700_000_000)).unwrap()
}

/// Files under `dir` (recursively) whose name ends with `suffix`.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p, suffix));
        } else if p.to_string_lossy().ends_with(suffix) {
            out.push(p);
        }
    }
    out
}
