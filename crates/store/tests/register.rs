//! The asset register (schema 5): an import replaces it whole, a failed import
//! keeps the previous one, every import is in the history and the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_store::{Attributes, RegisterEntry, RegisterFlag, RegisterSource, Store};

fn entry(row: u64, name: &str, mac: Option<&str>) -> RegisterEntry {
    RegisterEntry {
        row,
        name: Some(name.into()),
        macs: mac.map(|m| vec![m.to_string()]).unwrap_or_default(),
        ..RegisterEntry::default()
    }
}

fn source(file: &str) -> RegisterSource {
    RegisterSource {
        file: file.into(),
        format: "csv".into(),
        preset: None,
        mapping: r#"{"name":["name"]}"#.into(),
        skipped: 0,
    }
}

#[test]
fn an_import_keeps_every_value_and_the_next_replaces_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("reg.db")).unwrap();
    let full = RegisterEntry {
        row: 2,
        name: Some("PLC-1".into()),
        macs: vec!["00:1b:1b:00:00:01".into(), "00:1b:1b:00:00:02".into()],
        ips: vec!["10.0.0.5".into(), "fe80::1".into()],
        serial: Some("S C-X4U012345".into()),
        vendor: Some("Siemens".into()),
        vendor_raw: Some("SIEMENS AG".into()),
        model: Some("CPU 1516-3 PN/DP".into()),
        firmware: Some("V2.9.4".into()),
        role: Some("controller".into()),
        site: Some("North".into()),
        location: Some("Cabinet 3".into()),
        owner: Some("Process control".into()),
        asset_tag: Some("A-0001".into()),
        criticality: Some("high".into()),
        notes: Some("line 1, \"main\"".into()),
        network: Some("plant-a".into()),
        extra: Attributes(vec![("rack".into(), "R1".into()), ("cost centre".into(), "4711".into())]),
        flags: vec![RegisterFlag { flag: "vendor_unrecognised".into(), column: "vendor".into(), value: "x".into() }],
    };
    let first = store.replace_register(&source("a.csv"), &[full.clone(), entry(3, "HMI-1", None)], "ann", 100).unwrap();
    assert_eq!(store.register().unwrap(), [full, entry(3, "HMI-1", None)]);
    let latest = store.latest_register_import().unwrap().unwrap();
    assert_eq!(
        (latest.id, latest.file.as_str(), latest.format.as_str(), latest.imported_at_secs, latest.rows, latest.skipped),
        (first, "a.csv", "csv", 100, 2, 0)
    );

    let mut second_source = source("b.json");
    second_source.format = "json".into();
    second_source.preset = Some("netbox".into());
    second_source.skipped = 4;
    let second = store.replace_register(&second_source, &[entry(1, "RTU-9", None)], "bob", 200).unwrap();
    assert!(second > first);
    assert_eq!(store.register().unwrap(), [entry(1, "RTU-9", None)], "the first import's entries are gone");
    let history: Vec<(i64, String, u64, u64)> =
        store.register_imports().unwrap().into_iter().map(|i| (i.id, i.file, i.rows, i.skipped)).collect();
    assert_eq!(history, [(second, "b.json".to_string(), 1, 4), (first, "a.csv".to_string(), 2, 0)]);

    let audit = store.audit_log(None).unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].target.as_str(), audit[0].actor.as_str()),
        ("import_register", "register", "bob")
    );
    let detail: serde_json::Value = serde_json::from_str(&audit[0].detail).unwrap();
    assert_eq!(detail["import_id"], second);
    assert_eq!(detail["file"], "b.json");
    assert_eq!(detail["preset"], "netbox");
    assert_eq!((detail["rows"].as_u64(), detail["skipped"].as_u64()), (Some(1), Some(4)));
    assert_eq!(detail["previous"], serde_json::json!({ "import_id": first, "rows": 2 }));
    let detail: serde_json::Value = serde_json::from_str(&audit[1].detail).unwrap();
    assert_eq!(detail["previous"], serde_json::Value::Null, "the first import replaced nothing");
}

#[test]
fn a_failed_import_keeps_the_previous_register_and_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.db");
    let mut store = Store::open(&path).unwrap();
    let kept = [entry(2, "PLC-1", Some("00:1b:1b:00:00:01")), entry(3, "HMI-1", None)];
    let id = store.replace_register(&source("good.csv"), &kept, "ann", 100).unwrap();

    // Two entries on one row: the second insert fails half-way through the import.
    let broken = [entry(2, "X", None), entry(2, "Y", None)];
    let err = store.replace_register(&source("bad.csv"), &broken, "ann", 200).expect_err("row 2 twice");
    assert!(err.to_string().contains("writing a register entry"), "{err}");

    assert_eq!(store.register().unwrap(), kept);
    assert_eq!(store.latest_register_import().unwrap().map(|i| i.id), Some(id));
    assert_eq!(store.register_imports().unwrap().len(), 1);
    assert_eq!(store.audit_log(None).unwrap().len(), 1, "the failed import is not logged");

    // And the same holds for another process opening the file afterwards.
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.register().unwrap(), kept);
}

#[test]
fn an_empty_database_has_no_register() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.latest_register_import().unwrap(), None);
    assert!(store.register().unwrap().is_empty());
    assert!(store.register_imports().unwrap().is_empty());
}
