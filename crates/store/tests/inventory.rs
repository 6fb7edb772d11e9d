//! The stored inventory (schema 4): builds replace it whole, filters, role
//! overrides kept across builds, and the append-only audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_store::{AssetFilter, AssetRecord, EdgeFilter, EdgeRecord, Store};

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
fn an_edge_that_cannot_be_made_rolls_the_build_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("inv.db")).unwrap();
    store.replace_inventory(&[asset("mac-a", "controller", Some(1), None)], &[], 0, 1).unwrap();
    let assets = [asset("mac-b", "hmi", None, None)];
    let edges = vec![Ok(edge("mac-b", "mac-a", "modbus", &["writes"])), Err("the second edge failed to serialise")];
    let inner = store.replace_inventory_from(&assets, edges, 0, 2).unwrap();
    assert_eq!(inner, Err("the second edge failed to serialise"));
    assert_eq!(ids(&store, AssetFilter::default()), ["mac-a"]);
    assert!(store.edges(&EdgeFilter::default()).unwrap().is_empty());
    assert_eq!(store.latest_inventory_build().unwrap().unwrap().built_at_secs, 1);
    // Streamed edges are counted in the build like a slice's.
    let id = store
        .replace_inventory_from(&assets, [Ok::<_, ()>(edge("mac-b", "mac-a", "modbus", &["writes"]))], 0, 3)
        .unwrap()
        .unwrap();
    let build = store.latest_inventory_build().unwrap().unwrap();
    assert_eq!((build.id, build.edges), (id, 1));
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
