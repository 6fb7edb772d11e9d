//! A writer killed with SIGKILL mid-batch leaves a consistent database holding
//! exactly the batches it committed: WAL plus one transaction per batch.
//!
//! The test re-runs itself as the writer (an environment variable tells the
//! child which role it plays), kills it once a few batches are in, and reopens
//! the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_model::{Event, EventKind, Observation, Timestamp};
use otposture_store::{EventFilter, Store};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const CHILD_DB: &str = "OTPOSTURE_STORE_CRASH_TEST_DB";
const PER_BATCH: u64 = 2_000;

fn batch(n: u64) -> Vec<Observation> {
    (0..PER_BATCH)
        .map(|i| {
            Observation::Event(Event {
                source: 0,
                ts: Timestamp(i64::try_from(n * PER_BATCH + i).unwrap()),
                packet: n * PER_BATCH + i + 1,
                flow: None,
                protocol: Cow::Borrowed("crash"),
                kind: EventKind::Anomaly,
                name: Cow::Borrowed("crash.test"),
                class: None,
                src_mac: None,
                src_ip: None,
                dst_ip: None,
                attributes: vec![(Cow::Borrowed("batch"), n.to_string().into())],
            })
        })
        .collect()
}

/// The writer process: writes batches until killed, reporting each commit.
fn crash_child_writer(path: &std::ffi::OsStr) {
    let mut store = Store::open(Path::new(&path)).unwrap();
    let capture = store.begin_capture("crash", Path::new("crash.pcap"), 0, 0).unwrap();
    for n in 0.. {
        store.write_batch(capture, &batch(n)).unwrap();
        println!("committed {n}");
    }
}

#[test]
fn kill_9_mid_write_leaves_only_whole_batches() {
    if let Some(path) = std::env::var_os(CHILD_DB) {
        crash_child_writer(&path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["kill_9_mid_write_leaves_only_whole_batches", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut committed = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            committed = Some(n.parse::<u64>().unwrap());
            if committed >= Some(5) {
                break;
            }
        }
    }
    // Child::kill is SIGKILL on Unix: no destructor, no rollback, no checkpoint runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let committed = committed.expect("the writer reported no commit before dying");

    let raw = rusqlite::Connection::open(&path).unwrap();
    let integrity: String = raw.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    drop(raw);

    let store = Store::open(&path).unwrap();
    let mut per_batch: BTreeMap<u64, u64> = BTreeMap::new();
    for event in store.events(&EventFilter::default()).unwrap() {
        *per_batch.entry(event.attributes.get("batch").unwrap().parse().unwrap()).or_default() += 1;
    }
    assert!(per_batch.len() as u64 > committed, "every reported commit survives: {per_batch:?}");
    for (n, count) in &per_batch {
        assert_eq!(*count, PER_BATCH, "batch {n} is whole");
    }
    let expected: Vec<u64> = (0..u64::try_from(per_batch.len()).unwrap()).collect();
    assert_eq!(per_batch.keys().copied().collect::<Vec<_>>(), expected, "no batch is missing");
}
