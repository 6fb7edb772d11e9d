//! The stored inventory (schema 4): builds replace it whole, filters, role
//! overrides kept across builds, and the append-only audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_store::{AssetFilter, AssetRecord, EdgeFilter, EdgeRecord, Store};
use std::time::Instant;

fn asset(id: &str, role: &str, level: Option<u8>, vendor: Option<&str>) -> AssetRecord {
    AssetRecord {
        id: id.into(),
        role: role.into(),
        level,
        rule: "test".into(),
        vendor: vendor.map(str::to_string),
        model: None,
        firmware: None,
        first_seen_ns: 0,
        last_seen_ns: 1,
        doc: format!("{{\"id\":\"{id}\"}}"),
    }
}

fn edge(client: &str, server: &str, protocol: &str, trust: &[&str]) -> EdgeRecord {
    EdgeRecord {
        client: client.into(),
        server: server.into(),
        protocol: protocol.into(),
        trust: trust.iter().map(|t| t.to_string()).collect(),
        doc: "{}".into(),
    }
}

fn ids(store: &Store, filter: AssetFilter) -> Vec<String> {
    store.assets(&filter).unwrap().into_iter().map(|a| a.id).collect()
}

#[test]
fn a_build_replaces_the_inventory_and_filters_find_exact_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("inv.db")).unwrap();
    assert_eq!(store.latest_inventory_build().unwrap(), None);
    let first = [asset("mac-a", "controller", Some(1), Some("Siemens")), asset("mac-b", "hmi", Some(2), None)];
    store.replace_inventory(&first, &[], 0, 100).unwrap();
    let assets = [
        asset("mac-c", "controller", Some(1), Some("Rockwell Automation")),
        asset("mac-d", "hmi", Some(2), Some("Dell")),
        asset("mac-e", "controller", Some(1), Some("Siemens 50%_off")),
    ];
    let edges = [
        edge("mac-d", "mac-c", "enip", &["writes"]),
        edge("mac-d", "mac-e", "s7comm", &["controls", "programs"]),
        edge("mac-c", "ip-10.0.0.9", "tcp", &[]),
    ];
    let id = store.replace_inventory(&assets, &edges, 3, 200).unwrap();
    let b = store.latest_inventory_build().unwrap().unwrap();
    assert_eq!((b.id, b.built_at_secs, b.assets, b.edges, b.unplaced_identities), (id, 200, 3, 3, 3));

    assert_eq!(ids(&store, AssetFilter::default()), ["mac-c", "mac-d", "mac-e"], "the first build is gone");
    assert_eq!(ids(&store, AssetFilter { role: Some("controller".into()), ..Default::default() }), ["mac-c", "mac-e"]);
    assert_eq!(ids(&store, AssetFilter { level: Some(2), ..Default::default() }), ["mac-d"]);
    assert_eq!(ids(&store, AssetFilter { vendor_contains: Some("ROCKWELL".into()), ..Default::default() }), ["mac-c"]);
    assert_eq!(ids(&store, AssetFilter { vendor_contains: Some("50%_".into()), ..Default::default() }), ["mac-e"]);
    assert!(
        ids(&store, AssetFilter { vendor_contains: Some("%".into()), limit: None, ..Default::default() }).len() == 1
    );
    assert_eq!(ids(&store, AssetFilter { limit: Some(1), ..Default::default() }), ["mac-c"]);
    assert_eq!(ids(&store, AssetFilter { id: Some("mac-d".into()), ..Default::default() }), ["mac-d"]);

    let servers = |f: EdgeFilter| store.edges(&f).unwrap().into_iter().map(|e| e.server).collect::<Vec<_>>();
    assert_eq!(servers(EdgeFilter { asset: Some("mac-c".into()), ..Default::default() }), ["ip-10.0.0.9", "mac-c"]);
    assert_eq!(servers(EdgeFilter { trust: Some("programs".into()), ..Default::default() }), ["mac-e"]);
    assert_eq!(servers(EdgeFilter { trust: Some("program".into()), ..Default::default() }), Vec::<String>::new());
    assert_eq!(servers(EdgeFilter { protocol: Some("enip".into()), ..Default::default() }), ["mac-c"]);
    let e = &store.edges(&EdgeFilter { protocol: Some("s7comm".into()), ..Default::default() }).unwrap()[0];
    assert_eq!(e.trust, ["controls", "programs"]);
}

#[test]
fn a_second_build_with_fewer_assets_leaves_only_those_and_each_build_is_recorded() {
    let mut store = Store::open_in_memory().unwrap();
    let three = [
        asset("mac-a", "controller", Some(1), None),
        asset("mac-b", "hmi", Some(2), None),
        asset("mac-c", "historian", Some(3), None),
    ];
    let edges = [edge("mac-b", "mac-a", "s7comm", &["writes"]), edge("mac-c", "mac-a", "s7comm", &[])];
    let first = store.replace_inventory(&three, &edges, 2, 100).unwrap();
    let fewer = [asset("mac-b", "hmi", Some(2), Some("Dell"))];
    let second = store.replace_inventory(&fewer, &[], 0, 200).unwrap();
    assert!(second > first, "build ids increase");
    assert_eq!(store.assets(&AssetFilter::default()).unwrap(), fewer, "only the second build's assets");
    assert!(store.edges(&EdgeFilter::default()).unwrap().is_empty(), "and none of the first build's edges");
    let b = store.latest_inventory_build().unwrap().unwrap();
    assert_eq!((b.id, b.built_at_secs, b.assets, b.edges, b.unplaced_identities), (second, 200, 1, 0, 0));
}

#[test]
fn a_failed_build_leaves_the_previous_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("inv.db")).unwrap();
    store.replace_inventory(&[asset("mac-a", "controller", Some(1), None)], &[], 0, 1).unwrap();
    let twice = [asset("mac-b", "hmi", None, None), asset("mac-b", "hmi", None, None)];
    let err = store.replace_inventory(&twice, &[], 0, 2).unwrap_err();
    assert!(err.to_string().contains("writing an asset"), "{err}");
    assert_eq!(ids(&store, AssetFilter::default()), ["mac-a"]);
    assert_eq!(store.latest_inventory_build().unwrap().unwrap().built_at_secs, 1);
}

#[test]
fn overrides_outlive_builds_and_every_change_is_logged_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("inv.db")).unwrap();
    store.set_role_override("mac-a", "hmi", "operator station in the control room", "alice", 10).unwrap();
    store.set_role_override("mac-a", "engineering_workstation", "runs TIA Portal", "bob", 20).unwrap();
    store.replace_inventory(&[asset("mac-a", "controller", Some(1), None)], &[], 0, 30).unwrap();
    let o = store.role_overrides().unwrap();
    assert_eq!(o.len(), 1);
    assert_eq!((o[0].role.as_str(), o[0].set_by.as_str(), o[0].set_at_secs), ("engineering_workstation", "bob", 20));
    assert!(store.clear_role_override("mac-a", "carol", 40).unwrap());
    assert!(!store.clear_role_override("mac-a", "carol", 41).unwrap(), "nothing left to clear, nothing logged");
    assert!(store.role_overrides().unwrap().is_empty());
    assert_eq!(store.audit_log(None).unwrap().len(), 3, "set, change, clear");

    let log = store.audit_log(None).unwrap();
    let summary: Vec<(&str, &str, &str)> =
        log.iter().map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_str())).collect();
    assert_eq!(
        summary,
        [("carol", "clear_role", "mac-a"), ("bob", "set_role", "mac-a"), ("alice", "set_role", "mac-a")]
    );
    let detail: serde_json::Value = serde_json::from_str(&log[1].detail).unwrap();
    assert_eq!((detail["role"].as_str(), detail["previous"].as_str()), (Some("engineering_workstation"), Some("hmi")));
    let first: serde_json::Value = serde_json::from_str(&log[2].detail).unwrap();
    assert_eq!(first["role"].as_str(), Some("hmi"));
    assert!(first["previous"].is_null());
    let cleared: serde_json::Value = serde_json::from_str(&log[0].detail).unwrap();
    assert_eq!(cleared["previous"].as_str(), Some("engineering_workstation"));
    assert_eq!((log[0].at_secs, log[1].at_secs, log[2].at_secs), (40, 20, 10));
    assert_eq!(store.audit_log(Some(1)).unwrap().len(), 1);

    // Append-only, even for someone with the file and sqlite3.
    let conn = rusqlite::Connection::open(dir.path().join("inv.db")).unwrap();
    let upd = conn.execute("UPDATE audit_log SET actor = 'mallory'", []).unwrap_err();
    assert!(upd.to_string().contains("append-only"), "{upd}");
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
}

/// Plant scale: 100,000 assets and 1,000,000 edges written to a file, then
/// replaced by a second build; prints the times. Run with
/// `cargo test --release -p otposture-store --test inventory -- --ignored --nocapture`.
#[test]
#[ignore = "scale measurement, about a minute; run with --ignored"]
fn replace_inventory_at_plant_scale() {
    const ASSETS: usize = 100_000;
    const EDGES_PER_CLIENT: usize = 10;
    const ROLES: [&str; 5] = ["controller", "hmi", "engineering_workstation", "historian", "io_device"];
    const PROTOCOLS: [&str; 3] = ["s7comm", "modbus", "enip"];
    let id = |i: usize| format!("mac-{:02x}:{:02x}:{:02x}:00:00:01", i >> 16, (i >> 8) & 0xff, i & 0xff);
    let assets: Vec<AssetRecord> = (0..ASSETS)
        .map(|i| {
            let role = ROLES[i % ROLES.len()];
            let mut a = asset(&id(i), role, Some(u8::try_from(i % 4).unwrap()), Some(["Siemens", "Rockwell"][i % 2]));
            a.model = Some(format!("CPU {}", 1500 + i % 17));
            a.firmware = Some(format!("V{}.{}", i % 4, i % 10));
            a.doc = format!(
                "{{\"id\":\"{}\",\"role\":\"{role}\",\"identity\":{{\"vendor\":\"Siemens\",\"model\":\"CPU 1516\",\
                 \"firmware\":\"V2.9.4\",\"serial\":\"S C-X4U{i:08}\"}},\"addresses\":[\"10.{}.{}.{}\"],\
                 \"protocols\":[\"s7comm\",\"profinet\"],\"evidence\":[\"s7comm.szl_read\"]}}",
                id(i),
                i >> 16,
                (i >> 8) & 0xff,
                i & 0xff
            );
            a
        })
        .collect();
    let edges: Vec<EdgeRecord> = (0..ASSETS * EDGES_PER_CLIENT)
        .map(|i| {
            let client = i / EDGES_PER_CLIENT;
            let server = (client + 1 + i % EDGES_PER_CLIENT) % ASSETS;
            let mut e = edge(&id(client), &id(server), PROTOCOLS[i % PROTOCOLS.len()], &["reads", "writes"][..i % 3]);
            e.doc = format!("{{\"flows\":{},\"packets\":{},\"operations\":{{\"read_var\":{}}}}}", i % 7, i, i % 1000);
            e
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plant.db");
    let mut store = Store::open(&path).unwrap();
    let t = Instant::now();
    let first = store.replace_inventory(&assets, &edges, 0, 1).unwrap();
    let write = t.elapsed();
    let t = Instant::now();
    let second = store.replace_inventory(&assets, &edges, 0, 2).unwrap();
    let rewrite = t.elapsed();
    assert!(second > first);
    let b = store.latest_inventory_build().unwrap().unwrap();
    assert_eq!((b.assets, b.edges), (100_000, 1_000_000));

    let t = Instant::now();
    let controllers =
        store.assets(&AssetFilter { role: Some("controller".into()), limit: Some(100), ..Default::default() }).unwrap();
    let by_role = t.elapsed();
    assert_eq!(controllers.len(), 100);
    assert!(controllers.iter().all(|a| a.role == "controller"));
    let t = Instant::now();
    let siemens = store
        .assets(&AssetFilter { vendor_contains: Some("siem".into()), limit: Some(100), ..Default::default() })
        .unwrap();
    let by_vendor = t.elapsed();
    assert_eq!(siemens.len(), 100);
    let t = Instant::now();
    let around = store.edges(&EdgeFilter { asset: Some(id(5000)), ..Default::default() }).unwrap();
    let by_asset = t.elapsed();
    assert_eq!(around.len(), 2 * EDGES_PER_CLIENT, "ten as client, ten as server");
    let size = std::fs::metadata(&path).unwrap().len()
        + std::fs::metadata(dir.path().join("plant.db-wal")).map_or(0, |m| m.len());
    println!(
        "replace_inventory: {ASSETS} assets, {} edges: first build {:.2} s, rebuild over it {:.2} s; \
         assets(role, limit 100) {:.2} ms, assets(vendor_contains, limit 100) {:.2} ms, edges(asset) {:.2} ms; \
         file {:.0} MiB",
        edges.len(),
        write.as_secs_f64(),
        rewrite.as_secs_f64(),
        by_role.as_secs_f64() * 1e3,
        by_vendor.as_secs_f64() * 1e3,
        by_asset.as_secs_f64() * 1e3,
        size as f64 / 1_048_576.0
    );
}
