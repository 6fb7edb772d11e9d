//! The inventory at plant scale: `cargo bench -p otposture-inventory`.
//!
//! Stores 1,000,000 flows (one conversation each) with their message counts,
//! then builds the inventory from them as `analyze` does (100,000 hosts, a
//! tenth of them stating a CIP identity; conversations read from the store one
//! at a time), stores it in the same database, and lists it back: all assets,
//! and controllers filtered by role. Prints each step's time and the peak
//! memory. No assertion on timing.
//! `OTPOSTURE_BENCH_ASSETS` and `OTPOSTURE_BENCH_EDGES` change the size;
//! `OTPOSTURE_BENCH_DB=PATH` keeps the database there (replacing that file),
//! to time the CLI on it: `otposture --db PATH assets --format json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use otposture_fixtures::bench::{peak_rss_mib, size};
use otposture_model::{
    Direction, EventKind, FlowEnd, FlowId, FlowKey, FlowRecord, HostSource, InitiatorBasis, MacAddr, MessageStat,
    Observation, OperationClass, StreamAnomalies, TcpState, Timestamp, Transport,
};
use otposture_store::{AssetFilter, Attributes, CaptureId, ConversationFilter, EdgeFilter, EventRow, HostRow, Store};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

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
            network: None,
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
            network: None,
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
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("OTPOSTURE_BENCH_DB").map_or_else(|| dir.path().join("scale.db"), Into::into);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let mut store = Store::open(&path).unwrap();
    let capture = store.begin_capture("scale", std::path::Path::new("scale"), 0, 0).unwrap();

    // Clients poll PLCs: conversation k goes from host k % assets to a PLC,
    // spread so edges are distinct. One flow each, with its read requests and
    // responses counted; written in batches as `analyze` writes them.
    let t = Instant::now();
    let mut batch = Vec::new();
    for k in 0..edges {
        let client = k % assets;
        let server = ((k / assets) * 10 + (k % 10) * 10 + client / 10 * 10) % assets;
        let key = FlowKey {
            vlan: None,
            transport: Transport::Tcp,
            client_ip: ip(client),
            client_port: 1024 + u16::try_from(k % 60_000).unwrap(),
            server_ip: ip(server),
            server_port: 44818,
        };
        let ts = Timestamp(1_000 + i64::try_from(k).unwrap());
        let id = FlowId::derive(&key, ts);
        batch.push(Observation::Flow(FlowRecord {
            source: 0,
            id,
            key,
            initiator: InitiatorBasis::Handshake,
            first_seen: ts,
            last_seen: ts,
            packets_to_server: 5,
            bytes_to_server: 500,
            packets_to_client: 5,
            bytes_to_client: 500,
            payload_to_server: 100,
            payload_to_client: 100,
            tcp_state: Some(TcpState::Closed),
            app_protocol: Some("enip".into()),
            anomalies: StreamAnomalies::default(),
            end: FlowEnd::Closed,
            to_group: false,
        }));
        for direction in [Direction::ToServer, Direction::ToClient] {
            batch.push(Observation::Message(MessageStat {
                source: 0,
                flow: Some(id),
                protocol: "enip".into(),
                operation: "get_attribute_single".into(),
                class: OperationClass::Read,
                direction: Some(direction),
                count: 5,
                first_seen: ts,
                last_seen: ts,
            }));
        }
        if batch.len() >= 30_000 {
            store.write_batch(capture, &batch).unwrap();
            batch.clear();
        }
    }
    store.write_batch(capture, &batch).unwrap();
    drop(batch);
    println!(
        "input: {} hosts, {} identities; {edges} flows stored in {:.1} s; peak RSS {:.0} MiB",
        hosts.len(),
        identities.len(),
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    if std::env::var_os("OTPOSTURE_BENCH_READ_ONLY").is_some() {
        let t = Instant::now();
        let n = store.each_conversation(&ConversationFilter::default(), |_| {}).unwrap();
        println!("  read only: {n} in {:.2} s; peak RSS {:.0} MiB", t.elapsed().as_secs_f64(), peak_rss_mib());
    }
    // As `otposture assets rebuild` does: conversations fed as they are read.
    let t = Instant::now();
    let mut builder = otposture_inventory::InventoryBuilder::new(&hosts, &identities);
    println!("  assets drafted in {:.2} s; peak RSS {:.0} MiB", t.elapsed().as_secs_f64(), peak_rss_mib());
    let conversations = store.each_conversation(&ConversationFilter::default(), |c| builder.conversation(&c)).unwrap();
    println!("  conversations read in {:.2} s; peak RSS {:.0} MiB", t.elapsed().as_secs_f64(), peak_rss_mib());
    let inv = builder.finish();
    println!(
        "build: {} conversations read, {} assets, {} edges in {:.2} s; peak RSS {:.0} MiB",
        conversations,
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
