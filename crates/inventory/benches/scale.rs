//! The inventory at plant scale: `cargo bench -p otposture-inventory`.
//!
//! Builds the inventory from 100,000 hosts (a tenth of them stating a CIP
//! identity) and 1,000,000 conversations, stores it in a temporary database,
//! and lists it back: all assets, and controllers filtered by role. Prints each
//! step's time and the peak memory. No assertion on timing.
//! `OTPOSTURE_BENCH_ASSETS` and `OTPOSTURE_BENCH_EDGES` change the size;
//! `OTPOSTURE_BENCH_DB=PATH` keeps the database there (replacing that file),
//! to time the CLI on it: `otposture --db PATH assets --format json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use otposture_model::{EventKind, FlowId, HostSource, MacAddr, OperationClass};
use otposture_store::{
    AssetFilter, Attributes, CaptureId, ClassCount, ConversationRow, EdgeFilter, EventRow, HostRow, Store,
};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

fn size(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn ip(i: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + u32::try_from(i).unwrap()))
}

fn mac(i: u64) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x00, 0x00, 0xbc, b[5], b[6], b[7]])
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: then it is a
    // smoke run at a hundredth of the size.
    let scale = if std::env::args().any(|a| a == "--bench") { 1 } else { 100 };
    let assets = size("OTPOSTURE_BENCH_ASSETS", 100_000) / scale;
    let edges = size("OTPOSTURE_BENCH_EDGES", 1_000_000) / scale;
    let hosts: Vec<HostRow> = (0..assets)
        .map(|i| HostRow {
            id: 0,
            mac: Some(mac(i)),
            ip: Some(ip(i)),
            vlan: None,
            first_seen: String::new(),
            first_seen_ns: 0,
            last_seen: String::new(),
            last_seen_ns: 1_000,
            source: HostSource::Ip,
            host_name: None,
            vendor_class: None,
            flows_as_client: 0,
            flows_as_server: 0,
            packets_sent: 0,
            bytes_sent: 0,
            packets_received: 0,
            bytes_received: 0,
        })
        .collect();
    // Every tenth host is a PLC stating its identity.
    let identities: Vec<EventRow> = (0..assets)
        .step_by(10)
        .map(|i| EventRow {
            id: i as i64,
            capture_id: CaptureId(1),
            ts: String::new(),
            ts_ns: 10,
            packet: i,
            flow_id: Some(FlowId(i as i64)),
            protocol: "enip".into(),
            kind: EventKind::Identity,
            name: "enip.list_identity".into(),
            class: None,
            src_mac: Some(mac(i)),
            src_ip: Some(ip(i)),
            dst_ip: None,
            attributes: Attributes(vec![
                ("vendor".into(), "Rockwell Automation/Allen-Bradley".into()),
                ("device_type".into(), "Programmable Logic Controller".into()),
                ("product_name".into(), "1756-L61/B LOGIX5561".into()),
                ("revision".into(), "20.11".into()),
                ("serial".into(), format!("{:#010x}", i + 1)),
            ]),
        })
        .collect();
    // Clients poll PLCs: conversation k goes from host k % assets to the PLC
    // (k / assets) * 10 + ... spread so edges are distinct.
    let conversations: Vec<ConversationRow> = (0..edges)
        .map(|k| {
            let client = k % assets;
            let server = ((k / assets) * 10 + (k % 10) * 10 + client / 10 * 10) % assets;
            ConversationRow {
                client_ip: ip(client),
                server_ip: ip(server),
                vlan: None,
                transport: "tcp".into(),
                server_port: 44818,
                app_protocol: Some("enip".into()),
                flows: 1,
                packets: 10,
                bytes: 1_000,
                first_seen_ns: 0,
                last_seen_ns: 1_000,
                requests: vec![ClassCount { class: OperationClass::Read, messages: 5 }],
                responses: vec![ClassCount { class: OperationClass::Read, messages: 5 }],
            }
        })
        .collect();
    println!(
        "input: {} hosts, {} identities, {} conversations; peak RSS {:.0} MiB",
        hosts.len(),
        identities.len(),
        conversations.len(),
        peak_rss_mib()
    );

    let t = Instant::now();
    let inv = otposture_inventory::build(&hosts, &identities, &conversations);
    println!(
        "build: {} assets, {} edges in {:.2} s; peak RSS {:.0} MiB",
        inv.assets.len(),
        inv.edges.len(),
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    // As `otposture assets rebuild` does: asset records first, edge records
    // made while they are written.
    let otposture_inventory::Inventory { assets, edges, .. } = inv;
    let t = Instant::now();
    let asset_rows = otposture_inventory::asset_records(&assets).unwrap();
    drop(assets);
    println!("asset records: {:.2} s", t.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("OTPOSTURE_BENCH_DB").map_or_else(|| dir.path().join("scale.db"), Into::into);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let mut store = Store::open(&path).unwrap();
    let t = Instant::now();
    let edge_rows = otposture_inventory::edge_records(edges);
    store.replace_inventory_from(&asset_rows, edge_rows, 0, 0).unwrap().unwrap();
    println!("edge records and store: {:.2} s; peak RSS {:.0} MiB", t.elapsed().as_secs_f64(), peak_rss_mib());
    drop(asset_rows);

    let t = Instant::now();
    let all = store.assets(&AssetFilter::default()).unwrap();
    println!("list all assets: {} in {:.3} s", all.len(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let plcs = store
        .assets(&AssetFilter { role: Some("controller".into()), limit: Some(100), ..AssetFilter::default() })
        .unwrap();
    println!("list controllers (limit 100): {} in {:.4} s", plcs.len(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let vendor =
        store.assets(&AssetFilter { vendor_contains: Some("rockwell".into()), ..AssetFilter::default() }).unwrap();
    println!("filter by vendor: {} in {:.3} s", vendor.len(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let one = store.edges(&EdgeFilter { asset: Some(all[5].id.clone()), ..EdgeFilter::default() }).unwrap();
    println!(
        "edges of one asset: {} in {:.4} s; peak RSS {:.0} MiB",
        one.len(),
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}
