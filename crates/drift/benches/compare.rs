//! Drift at plant scale: `cargo bench -p otposture-drift`.
//!
//! A baseline of 100,000 assets (a tenth stating a full identity) and
//! 1,000,000 conversations, and a current snapshot that differs from it in a
//! few thousand places of every kind (new, vanished and re-addressed assets,
//! firmware changes, new conversations, new operation classes). Times the
//! comparison, and the JSON round trip `baseline accept` and `baseline diff`
//! pay (the document written, then read back). Prints each step's time, the
//! deviations by kind and the peak memory; no assertion on timing.
//! `OTPOSTURE_BENCH_ASSETS` and `OTPOSTURE_BENCH_EDGES` change the size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use otposture_drift::{compare, AssetState, Confidence, ConversationState, Identity, Snapshot, Stated, SCHEMA};
use otposture_fixtures::bench::{peak_rss_mib, size};
use otposture_model::OperationClass;
use std::collections::BTreeMap;
use std::time::Instant;

fn stated(value: String) -> Option<Stated> {
    Some(Stated { value, confidence: Confidence::High, first_seen_ns: 10, last_seen_ns: 20 })
}

fn asset(i: usize) -> AssetState {
    let b = (i as u32).to_be_bytes();
    let identity = if i % 10 == 0 {
        Identity {
            vendor: stated("Siemens".into()),
            model: stated("CPU 315-2 PN/DP".into()),
            order_number: stated("6ES7 315-2EH14-0AB0".into()),
            firmware: stated("V3.2.6".into()),
            hardware: None,
            serial: stated(format!("S C-{i:010}")),
        }
    } else {
        Identity::default()
    };
    AssetState {
        id: format!("mac-00:00:bc:{:02x}:{:02x}:{:02x}", b[1], b[2], b[3]),
        role: if i % 10 == 0 { "controller" } else { "hmi" }.into(),
        macs: vec![format!("00:00:bc:{:02x}:{:02x}:{:02x}", b[1], b[2], b[3])],
        ips: vec![format!("10.{}.{}.{}", b[1], b[2], b[3])],
        vlans: Vec::new(),
        first_seen_ns: 0,
        last_seen_ns: 1_000,
        identity,
        modules: Vec::new(),
    }
}

fn conversation(assets: &[AssetState], k: usize) -> ConversationState {
    let n = assets.len();
    ConversationState {
        client: assets[k % n].id.clone(),
        server: assets[(k / n * 7 + k + 1) % n].id.clone(),
        protocol: ["modbus", "s7comm", "cip", "dnp3"][k % 4].into(),
        ports: vec![502],
        operations: [OperationClass::Read].into_iter().collect(),
        first_seen_ns: 0,
        last_seen_ns: 1_000,
    }
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: then it is a
    // smoke run at a hundredth of the size.
    let scale = if std::env::args().any(|a| a == "--bench") { 1 } else { 100 };
    let n_assets = size("OTPOSTURE_BENCH_ASSETS", 100_000) / scale;
    let n_edges = size("OTPOSTURE_BENCH_EDGES", 1_000_000) / scale;

    let t = Instant::now();
    let assets: Vec<AssetState> = (0..n_assets).map(asset).collect();
    let mut conversations: Vec<ConversationState> = (0..n_edges).map(|k| conversation(&assets, k)).collect();
    conversations.sort_by(|a, b| a.key().cmp(&b.key()));
    conversations.dedup_by(|a, b| a.key() == b.key());
    let baseline = Snapshot { schema: SCHEMA.into(), taken_at_ns: 0, assets, conversations };

    // The current inventory: every 1,000th asset gone, as many new ones, every
    // 50th controller re-addressed (a new id, the same serial), every 10th
    // controller with new firmware; every 1,000th conversation new and every
    // 997th with a write.
    let mut current = baseline.clone();
    current.assets = baseline
        .assets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 1_000 != 999)
        .map(|(i, a)| {
            let mut a = a.clone();
            if i % 100 == 0 {
                a.identity.firmware = stated("V3.3.0".into());
            }
            if i % 500 == 10 {
                a.id = format!("ip-{}", a.ips[0]);
            }
            a
        })
        .collect();
    current.assets.extend((0..n_assets / 1_000).map(|i| asset(n_assets + i)));
    current.assets.sort_by(|a, b| a.id.cmp(&b.id));
    for (k, c) in current.conversations.iter_mut().enumerate() {
        if k % 997 == 0 {
            c.operations.insert(OperationClass::Write);
        }
    }
    let extra: Vec<ConversationState> = (0..n_edges / 1_000)
        .map(|k| conversation(&current.assets, k * 13 + 3))
        .map(|mut c| {
            c.protocol = "opcua".into();
            c
        })
        .collect();
    current.conversations.extend(extra);
    current.conversations.sort_by(|a, b| a.key().cmp(&b.key()));
    current.conversations.dedup_by(|a, b| a.key() == b.key());
    println!(
        "input: baseline {} assets, {} conversations; current {} assets, {} conversations ({:.2} s to make)",
        baseline.assets.len(),
        baseline.conversations.len(),
        current.assets.len(),
        current.conversations.len(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let deviations = compare(&baseline, &current);
    let took = t.elapsed().as_secs_f64();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &deviations {
        *by_kind.entry(d.kind.name()).or_default() += 1;
    }
    println!("compare: {took:.3} s, {} deviations {by_kind:?}", deviations.len());

    let t = Instant::now();
    let doc = serde_json::to_string(&baseline).unwrap();
    println!("snapshot to JSON: {:.3} s, {} MB", t.elapsed().as_secs_f64(), doc.len() / 1_000_000);
    let t = Instant::now();
    let back: Snapshot = serde_json::from_str(&doc).unwrap();
    println!("snapshot from JSON: {:.3} s", t.elapsed().as_secs_f64());
    assert_eq!(back.conversations.len(), baseline.conversations.len());
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}
