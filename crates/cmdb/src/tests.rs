//! Reading registers (every accepted spelling, every error with its row and
//! column) and reconciling them with inventories built by crates/inventory
//! from host and identity rows, so the asset documents are the real ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::error::{RegisterError, RowErrorKind};
use crate::export::{self, RowStatus};
use crate::reconcile::{reconcile, Ambiguity, Key, Reconciliation, Status};
use crate::register::{parse, Field, Format, Mapping, Parsed, Preset};
use otposture_model::{EventKind, FlowId, HostSource, MacAddr};
use otposture_store::{AssetRecord, Attributes, CaptureId, EventRow, HostRow, RegisterEntry};

fn csv(text: &str) -> Parsed {
    parse(text.as_bytes(), Format::Csv, &Mapping::default(), "reg.csv").unwrap()
}

fn csv_with(text: &str, mapping: &Mapping) -> Parsed {
    parse(text.as_bytes(), Format::Csv, mapping, "reg.csv").unwrap()
}

fn json(text: &str) -> Parsed {
    parse(text.as_bytes(), Format::Json, &Mapping::default(), "reg.json").unwrap()
}

/// (row, column, kind) of every error.
fn located(p: &Parsed) -> Vec<(u64, Option<&str>, RowErrorKind)> {
    p.errors.iter().map(|e| (e.row, e.column.as_deref(), e.kind)).collect()
}

fn rows(p: &Parsed) -> Vec<u64> {
    p.entries.iter().map(|e| e.row).collect()
}

// ---- reading ----

#[test]
fn reads_the_documented_columns_with_any_header_case() {
    let p = csv(concat!(
        " Name ,MAC,ip,Serial,VENDOR,model,firmware,role,site,location,owner,asset_tag,criticality,notes,Rack\n",
        "PLC-1,00-1B-1B-0A-BC-DE,10.0.0.5; 10.0.0.6,S C-123,SIEMENS AG,CPU 1516,V2.9,PLC,North,Cab 3,Ops,A-1,high,main,R1\n",
        "HMI-1,001b.1b0a.bcdf,fe80::1,,Acme Controls Inc.,,,HMI,,,,,,,\n",
    ));
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!((p.rows, p.blank_rows), (2, 0));
    assert_eq!(p.unmapped_columns, ["Rack"]);
    let plc = &p.entries[0];
    assert_eq!(plc.row, 2);
    assert_eq!(plc.name.as_deref(), Some("PLC-1"));
    assert_eq!(plc.macs, ["00:1b:1b:0a:bc:de"]);
    assert_eq!(plc.ips, ["10.0.0.5", "10.0.0.6"]);
    assert_eq!(plc.serial.as_deref(), Some("S C-123"));
    assert_eq!((plc.vendor.as_deref(), plc.vendor_raw.as_deref()), (Some("Siemens"), Some("SIEMENS AG")));
    assert_eq!(plc.role.as_deref(), Some("controller"));
    assert_eq!(
        (plc.site.as_deref(), plc.location.as_deref(), plc.owner.as_deref(), plc.asset_tag.as_deref()),
        (Some("North"), Some("Cab 3"), Some("Ops"), Some("A-1"))
    );
    assert_eq!((plc.criticality.as_deref(), plc.notes.as_deref()), (Some("high"), Some("main")));
    assert_eq!(plc.extra, Attributes(vec![("Rack".into(), "R1".into())]));
    assert!(plc.flags.is_empty(), "{:?}", plc.flags);

    let hmi = &p.entries[1];
    assert_eq!(
        (hmi.row, hmi.macs.as_slice(), hmi.ips.as_slice()),
        (3, &["00:1b:1b:0a:bc:df".to_string()][..], &["fe80::1".to_string()][..])
    );
    assert_eq!((hmi.serial.as_deref(), hmi.model.as_deref(), hmi.role.as_deref()), (None, None, Some("hmi")));
    // A vendor the inventory's table does not know is tidied, kept raw and flagged.
    assert_eq!((hmi.vendor.as_deref(), hmi.vendor_raw.as_deref()), (Some("Acme Controls"), Some("Acme Controls Inc.")));
    assert_eq!(hmi.flags.len(), 1);
    assert_eq!((hmi.flags[0].flag.as_str(), hmi.flags[0].column.as_str()), ("vendor_unrecognised", "VENDOR"));
    assert!(hmi.extra.0.is_empty(), "an empty unmapped cell is not kept");
}

#[test]
fn a_netbox_export_reads_through_its_preset_and_loses_its_prefix_lengths() {
    let text = concat!(
        "ID,Name,Status,Tenant,Site,Location,Rack,Role,Manufacturer,Type,Platform,Serial number,Asset tag,IPv4 Address,IPv6 Address,Comments\n",
        "17,plc-7,Active,Water,North,Pump house,R2,PLC,Rockwell Automation,1756-L71,,FF00AA11,A-7,10.20.0.7/24,2001:db8::7/64,spare in store\n",
        "18,sw-1,Active,\u{2014},North,,,Switch,Cisco,IE-4000,IOS,,,10.20.0.1/24,\u{2014},\n",
    );
    let p = csv_with(text, &Mapping::preset(Preset::NetBox));
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let plc = &p.entries[0];
    assert_eq!(plc.ips, ["10.20.0.7", "2001:db8::7"]);
    assert_eq!(
        (plc.name.as_deref(), plc.role.as_deref(), plc.vendor.as_deref(), plc.model.as_deref()),
        (Some("plc-7"), Some("controller"), Some("Rockwell Automation"), Some("1756-L71"))
    );
    assert_eq!((plc.serial.as_deref(), plc.asset_tag.as_deref()), (Some("FF00AA11"), Some("A-7")));
    assert_eq!(
        (plc.site.as_deref(), plc.location.as_deref(), plc.owner.as_deref()),
        (Some("North"), Some("Pump house"), Some("Water"))
    );
    assert_eq!(plc.notes.as_deref(), Some("spare in store"));
    let extra: Vec<&str> = plc.extra.0.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(extra, ["ID", "Status", "Rack"], "columns the preset does not map are kept");
    let sw = &p.entries[1];
    assert_eq!(
        (sw.role.as_deref(), sw.owner.as_deref(), sw.ips.as_slice()),
        (Some("network_device"), None, &["10.20.0.1".to_string()][..])
    );
    assert_eq!(p.columns_used[&Field::Ip], ["IPv4 Address", "IPv6 Address"]);
}

#[test]
fn a_servicenow_export_reads_through_its_preset() {
    let text = concat!(
        "sys_class_name,name,ip_address,mac_address,serial_number,manufacturer,model_id,firmware_version,asset_tag,location,owned_by,assigned_to,comments\n",
        "cmdb_ci_ot_plc,PLC-1,10.0.0.5,00:1B:1B:0A:BC:DE,SC-1,SIEMENS AG,CPU 1516,V2.9,P1000,Plant 1,,Jane Doe,\n",
    );
    let p = csv_with(text, &Mapping::preset(Preset::ServiceNow));
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let e = &p.entries[0];
    assert_eq!(
        (e.name.as_deref(), e.macs.as_slice(), e.ips.as_slice()),
        (Some("PLC-1"), &["00:1b:1b:0a:bc:de".to_string()][..], &["10.0.0.5".to_string()][..])
    );
    assert_eq!(
        (e.vendor.as_deref(), e.model.as_deref(), e.firmware.as_deref()),
        (Some("Siemens"), Some("CPU 1516"), Some("V2.9"))
    );
    assert_eq!(e.owner.as_deref(), Some("Jane Doe"), "owned_by is empty, assigned_to is next");
    assert_eq!((e.asset_tag.as_deref(), e.location.as_deref()), (Some("P1000"), Some("Plant 1")));
    assert_eq!(e.extra, Attributes(vec![("sys_class_name".into(), "cmdb_ci_ot_plc".into())]));
}

#[test]
fn map_replaces_a_preset_entry_adds_columns_and_can_leave_a_field_out() {
    let text = "Name,Role,Mgmt IP,OOB IP,Kind\nplc-7,Cabinet,10.0.0.7,192.168.1.7,PLC\n";
    // NetBox's Role holds something else here: the device kind is in "Kind".
    let mut m = Mapping::preset(Preset::NetBox);
    m.map(Field::Role, "kind");
    m.map(Field::Ip, "Mgmt IP");
    m.map(Field::Ip, "OOB IP");
    let p = csv_with(text, &m);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.entries[0].role.as_deref(), Some("controller"));
    assert_eq!(p.entries[0].ips, ["10.0.0.7", "192.168.1.7"]);
    assert_eq!(p.entries[0].extra, Attributes(vec![("Role".into(), "Cabinet".into())]));
    assert_eq!(m.to_json()["role"], serde_json::json!(["kind"]));

    let mut m = Mapping::preset(Preset::NetBox);
    m.map(Field::Role, "");
    let p = csv_with("Name,Role\nplc-7,Cabinet\n", &m);
    assert!(p.errors.is_empty(), "role left out: {:?}", p.errors);
    assert_eq!(p.entries[0].role, None);

    let mut m = Mapping::default();
    m.map(Field::Name, "Hostname");
    let err = parse(b"name,Tag\nx,y\n", Format::Csv, &m, "reg.csv").unwrap_err();
    assert_eq!(
        err,
        RegisterError::MissingColumn {
            file: "reg.csv".into(),
            field: "name",
            column: "Hostname".into(),
            columns: "name, Tag".into()
        }
    );
}

#[test]
fn every_bad_value_is_reported_with_its_row_and_column() {
    let text = concat!(
        "name,mac,ip,serial,role\n",                          // row 1
        "PLC-1,00:1b:1b:00:00:01,10.0.0.5,SN1,PLC\n",         // 2 good
        "PLC-2,00:1b:1b:00:00:0g,10.0.0.300,SN2,toaster\n",   // 3 bad mac, bad ip, unknown role
        "PLC-3,00-1B-1B-00-00-01,10.0.0.7,SN3,PLC\n",         // 4 mac of row 2
        "PLC-4,00:1b:1b:00:00:04,10.0.0.8,sn1,PLC\n",         // 5 serial of row 2 (any case)
        ",,,,hmi\n",                                          // 6 nothing to match by
        "PLC-6,00:1b:1b:00:00:06,10.0.0.9\n",                 // 7 three fields
        "PLC-7,00:1b:1b:00:00:07,10.0.0.10,SN7,controller\n", // 8 good
    );
    let p = csv(text);
    assert_eq!(
        located(&p),
        [
            (3, Some("mac"), RowErrorKind::BadMac),
            (3, Some("ip"), RowErrorKind::BadIp),
            (3, Some("role"), RowErrorKind::UnknownRole),
            (4, Some("mac"), RowErrorKind::DuplicateMac),
            (5, Some("serial"), RowErrorKind::DuplicateSerial),
            (6, None, RowErrorKind::NoIdentity),
            (7, None, RowErrorKind::FieldCount),
        ]
    );
    assert_eq!(rows(&p), [2, 8]);
    assert_eq!(p.bad_rows(), 5);
    let text_of = |row: u64, kind| p.errors.iter().find(|e| e.row == row && e.kind == kind).unwrap().to_string();
    assert_eq!(
        text_of(4, RowErrorKind::DuplicateMac),
        "reg.csv: row 4, column \"mac\": MAC 00:1b:1b:00:00:01 is also on row 2; a MAC names one device"
    );
    assert!(text_of(5, RowErrorKind::DuplicateSerial).contains("serial \"sn1\" is also on row 2"));
    assert_eq!(text_of(7, RowErrorKind::FieldCount), "reg.csv: row 7: has 3 fields, the header has 5");
    assert!(text_of(3, RowErrorKind::BadMac).contains("\"00:1b:1b:00:00:0g\" is not a MAC address"));
    assert!(text_of(3, RowErrorKind::BadIp).contains("\"10.0.0.300\" is not an IP address"));
    assert!(text_of(3, RowErrorKind::UnknownRole).contains("\"toaster\" is not a role"));

    // Nothing is imported unless bad rows may be skipped.
    match p.accept(false) {
        Err(RegisterError::BadRows { bad_rows, good, errors, .. }) => {
            assert_eq!((bad_rows, good, errors.len()), (5, 2, 7));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.accept(true).unwrap().iter().map(|e| e.row).collect::<Vec<_>>(), [2, 8]);
}

#[test]
fn the_refusal_counts_rows_in_words_that_agree() {
    let err = |bad_rows, good| RegisterError::BadRows { file: "r.csv".into(), bad_rows, good, errors: Vec::new() };
    assert_eq!(
        err(1, 1).to_string(),
        "r.csv: 1 row has errors; nothing imported (fix it, or pass --skip-bad-rows to import the 1 good row)"
    );
    assert_eq!(
        err(3, 12).to_string(),
        "r.csv: 3 rows have errors; nothing imported (fix them, or pass --skip-bad-rows to import the 12 good rows)"
    );
}

#[test]
fn a_clean_file_is_accepted_whole() {
    let p = csv("name\na\nb\n");
    assert_eq!(p.accept(false).unwrap().len(), 2);
}

#[test]
fn rows_count_as_a_spreadsheet_shows_them_and_lines_are_given_when_they_differ() {
    // Row 3 is blank (a spreadsheet shows it); row 4's notes span two lines.
    let text = "name,notes,mac\nA,x,00:00:00:00:00:aa\n\nB,\"two\nlines\",bad\nC,y,also-bad\n";
    let p = csv(text);
    let at: Vec<(u64, Option<u64>)> = p.errors.iter().map(|e| (e.row, e.line)).collect();
    assert_eq!(at, [(4, None), (5, Some(6))]);
    assert_eq!(p.blank_rows, 0, "the csv reader passes over a truly empty line");
    assert_eq!(
        p.errors[1].to_string().split(':').take(2).collect::<Vec<_>>(),
        ["reg.csv", " row 5 (line 6), column \"mac\""]
    );
    // A row of empty fields is blank, not an error.
    let p = csv("name,mac\nA,\n,\n  ,\nB,\n");
    assert_eq!((rows(&p), p.blank_rows, p.errors.len()), (vec![2, 5], 2, 0));
}

#[test]
fn reads_semicolons_tabs_and_a_byte_order_mark() {
    let p = csv("\u{feff}Name;MAC;IP\nPLC-1;00:1b:1b:00:00:01;\"10.0.0.5, 10.0.0.6\"\n");
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!((p.entries[0].name.as_deref(), p.entries[0].ips.len()), (Some("PLC-1"), 2));
    let p = csv("name\tip\nPLC-1\t10.0.0.5\n");
    assert_eq!(p.entries[0].ips, ["10.0.0.5"]);
}

#[test]
fn invalid_utf8_is_an_error_of_its_cell() {
    let mut bytes = b"name,notes\nok,fine\nM\xfcller,x\nok2,caf\xe9\n".to_vec();
    bytes.extend_from_slice(b"ok3,\n");
    let p = parse(&bytes, Format::Csv, &Mapping::default(), "latin1.csv").unwrap();
    assert_eq!(
        located(&p),
        [(3, Some("name"), RowErrorKind::InvalidUtf8), (4, Some("notes"), RowErrorKind::InvalidUtf8)]
    );
    assert!(p.errors[0].message.contains("byte 2 of the value") && p.errors[0].message.contains("UTF-8"));
    assert_eq!(rows(&p), [2, 5]);
    let err = parse(b"name,N\xf6tes\nx,y\n", Format::Csv, &Mapping::default(), "h.csv").unwrap_err();
    assert_eq!(
        err.to_string(),
        "h.csv: row 1: column 2 of the header is not valid UTF-8 (byte 2 of its name); save the file as UTF-8"
    );
}

#[test]
fn a_cell_with_many_addresses_keeps_each_once_in_order() {
    let ips: Vec<String> = (0..20_000u32).map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 0xff, i & 0xff)).collect();
    let text = format!("name,ip\nbig,\"{};10.0.0.0;10.0.0.1\"\n", ips.join(";"));
    let p = csv(&text);
    assert!(p.errors.is_empty(), "{:?}", p.errors.first());
    assert_eq!(p.entries[0].ips, ips, "the repeated 10.0.0.0 and 10.0.0.1 are kept once");
}

#[test]
fn placeholders_are_kept_as_flags_not_errors() {
    let p = csv("name,mac,serial,ip\nPLC-1,00:00:00:00:00:00,N/A,0.0.0.0\nPLC-2,ff-ff-ff-ff-ff-ff,n/a,\n");
    assert!(p.errors.is_empty(), "two N/A serials are not duplicates: {:?}", p.errors);
    let flags: Vec<(&str, &str)> = p.entries[0].flags.iter().map(|f| (f.flag.as_str(), f.value.as_str())).collect();
    assert_eq!(
        flags,
        [("placeholder_mac", "00:00:00:00:00:00"), ("placeholder_ip", "0.0.0.0"), ("placeholder_serial", "N/A")]
    );
    assert!(p.entries[0].macs.is_empty() && p.entries[0].serial.is_none() && p.entries[0].ips.is_empty());
    // Placeholders alone identify nothing.
    let p = csv("mac,serial\n00:00:00:00:00:00,N/A\n");
    assert_eq!(located(&p), [(2, None, RowErrorKind::NoIdentity)]);
    assert!(p.errors[0].message.contains("placeholder"));
}

#[test]
fn refuses_files_it_cannot_use_at_all() {
    let m = Mapping::default();
    let err = |bytes: &[u8], f| parse(bytes, f, &m, "f").unwrap_err();
    assert!(matches!(err(b"", Format::Csv), RegisterError::Empty { .. }));
    assert!(matches!(err(b"name,mac\n", Format::Csv), RegisterError::Empty { what: "no data row", .. }));
    assert!(matches!(err(b"Hostname,Addr\nx,y\n", Format::Csv), RegisterError::NoIdentityColumn { .. }));
    let dup = err(b"name,MAC,Name\nx,,y\n", Format::Csv);
    assert_eq!(dup.to_string(), "f: row 1: column \"Name\" appears twice in the header (columns 1 and 3); rename one");
    // An unmapped column twice is kept twice, not refused.
    let p = parse(b"name,x,X\na,1,2\n", Format::Csv, &m, "f").unwrap();
    assert_eq!(p.entries[0].extra.0.len(), 2);
}

#[test]
fn reads_json_arrays_and_wrapped_arrays() {
    let p = json(
        r#"[{"name": "PLC-1", "mac": "00:1b:1b:00:00:01", "ip": ["10.0.0.5", "10.0.0.6"], "serial": 12345, "rack": {"x": 1}},
                    {"name": "HMI-1", "role": "HMI", "ip": null}]"#,
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(rows(&p), [1, 2], "rows are 1-based positions in the array");
    assert_eq!(p.entries[0].ips, ["10.0.0.5", "10.0.0.6"]);
    assert_eq!(p.entries[0].serial.as_deref(), Some("12345"));
    assert_eq!(p.entries[0].extra, Attributes(vec![("rack".into(), r#"{"x":1}"#.into())]), "kept as JSON text");
    for wrapped in
        [r#"{"assets": [{"name": "a"}]}"#, r#"{"records": [{"name": "a"}]}"#, r#"{"result": [{"name": "a"}]}"#]
    {
        assert_eq!(json(wrapped).entries.len(), 1, "{wrapped}");
    }
    // ServiceNow and NetBox API references: their display value.
    let mut m = Mapping::preset(Preset::ServiceNow);
    m.map(Field::Vendor, "manufacturer");
    let p = parse(
        br#"{"result": [{"name": "PLC-1", "manufacturer": {"display_value": "SIEMENS AG", "link": "https://x/api", "value": "abc"}}]}"#,
        Format::Json,
        &m,
        "sn.json",
    )
    .unwrap();
    assert_eq!(p.entries[0].vendor.as_deref(), Some("Siemens"));
    let p = parse(
        br#"[{"Name": "plc-7", "IPv4 Address": {"id": 5, "address": "10.0.0.7/24"}, "Role": {"id": 1, "name": "PLC"}}]"#,
        Format::Json,
        &Mapping::preset(Preset::NetBox),
        "nb.json",
    )
    .unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(
        (p.entries[0].ips.as_slice(), p.entries[0].role.as_deref()),
        (&["10.0.0.7".to_string()][..], Some("controller"))
    );
}

#[test]
fn json_errors_name_the_line_and_column_or_the_row_and_key() {
    let err =
        parse(b"[\n  {\"name\": \"a\"},\n  {\"name\": }\n]", Format::Json, &Mapping::default(), "r.json").unwrap_err();
    match &err {
        RegisterError::Json { line, column, .. } => assert_eq!((*line, *column), (3, 12)),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("r.json: JSON syntax error at line 3, column 12: "), "{err}");
    let err = parse(b"\"just text\"", Format::Json, &Mapping::default(), "r.json").unwrap_err();
    assert!(err.to_string().contains("it is a JSON string"), "{err}");
    let err = parse(br#"{"devices": []}"#, Format::Json, &Mapping::default(), "r.json").unwrap_err();
    assert!(matches!(err, RegisterError::NotARegister { .. }), "{err}");
    let err = parse(b"[]", Format::Json, &Mapping::default(), "r.json").unwrap_err();
    assert!(matches!(err, RegisterError::Empty { .. }), "{err}");

    let p =
        json(r#"[{"name": "a", "mac": "nope"}, 7, {"name": {"x": 1}}, {"name": ["a", "b"]}, {"ip": [["10.0.0.1"]]}]"#);
    assert_eq!(
        located(&p),
        [
            (1, Some("mac"), RowErrorKind::BadMac),
            (2, None, RowErrorKind::NotAnObject),
            (3, Some("name"), RowErrorKind::BadValue),
            (4, Some("name"), RowErrorKind::BadValue),
            (5, Some("ip"), RowErrorKind::BadValue),
        ]
    );
    assert_eq!(p.errors[1].to_string(), "reg.json: row 2: is a JSON number, not an object of columns");
}

#[test]
fn format_follows_the_file_name() {
    assert_eq!(Format::from_file_name("a/Register.CSV"), Some(Format::Csv));
    assert_eq!(Format::from_file_name("x.tsv"), Some(Format::Csv));
    assert_eq!(Format::from_file_name("x.json"), Some(Format::Json));
    assert_eq!(Format::from_file_name("x.xlsx"), None);
    assert_eq!(Format::from_file_name("noext"), None);
    assert_eq!(Field::parse(" Asset_Tag "), Some(Field::AssetTag));
    assert_eq!(Preset::parse("NetBox"), Some(Preset::NetBox));
}

/// Registers a fuzzer would start from (the fuzz target's seeds are alike).
const SEEDS: &[&str] = &[
    "name,mac,ip,serial,vendor,role,notes\nPLC-1,00:1b:1b:0a:00:14,10.0.0.5;10.0.0.6,SN1,SIEMENS AG,PLC,\"a, \"\"b\"\"\nc\"\n\nHMI-1,001b.1b0a.0015,fe80::1/64,N/A,Acme,HMI,\n",
    "ID,Name,Role,Manufacturer,Type,IPv4 Address,Serial number\n1,plc-7,PLC,Rockwell,1756-L71,10.20.0.7/24,FF00AA11\n2,sw-1,Switch,Cisco,IE-4000,10.20.0.1/24,\u{2014}\n",
    r#"{"result": [{"name": "PLC-1", "mac_address": "00:1B:1B:0A:00:14", "ip_address": ["10.0.0.5"], "manufacturer": {"display_value": "SIEMENS AG"}, "serial_number": 1}, 7, {"name": {"x": [1]}}]}"#,
    "name;MAC;ip;role;serial\nA;00:1b:1b:00:00:0g;10.0.0.300;toaster;S1\nB;00:1b:1b:00:00:01\n;;;;\nC;00:1b:1b:00:00:01;10.0.0.5/33;plc;s1\n",
];

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        for f in [Format::Csv, Format::Json] {
            for m in [Mapping::default(), Mapping::preset(Preset::NetBox)] {
                if let Ok(p) = parse(&bytes, f, &m, "fuzz") {
                    let _ = p.accept(false);
                }
            }
        }
    }

    #[test]
    fn mutated_registers_never_panic(
        seed in 0usize..SEEDS.len(),
        edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), 0u8..3), 1..16),
    ) {
        // Byte flips, insertions and deletions of real-looking registers, as a fuzzer makes them.
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (at, byte, op) in edits {
            let at = at % (bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => { bytes.remove(at); }
                _ => {}
            }
        }
        for f in [Format::Csv, Format::Json] {
            for m in [Mapping::default(), Mapping::preset(Preset::ServiceNow), Mapping::preset(Preset::NetBox)] {
                if let Ok(p) = parse(&bytes, f, &m, "fuzz") {
                    proptest::prop_assert_eq!(p.entries.len() as u64 + p.bad_rows(), p.rows);
                    let r = reconcile(&p.entries, &[]).unwrap();
                    proptest::prop_assert_eq!(r.register_only.len(), p.entries.len());
                }
            }
        }
    }

    #[test]
    fn arbitrary_csv_text_keeps_every_row_accounted_for(cells in proptest::collection::vec("[a-f0-9:;., \"\n-]{0,20}", 1..40)) {
        let mut text = String::from("name,mac,ip\n");
        for c in cells.chunks(3) {
            text.push_str(&c.iter().map(|x| format!("\"{}\"", x.replace('"', "\"\""))).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
        if let Ok(p) = parse(text.as_bytes(), Format::Csv, &Mapping::default(), "fuzz") {
            // Every row read is either an entry or has an error.
            proptest::prop_assert_eq!(p.entries.len() as u64 + p.bad_rows(), p.rows);
        }
    }
}

// ---- reconciling ----

fn mac(last: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, last])
}

fn host(mac: Option<MacAddr>, ip: &str, vlan: Option<u16>, name: Option<&str>) -> HostRow {
    HostRow {
        network: None,
        id: 0,
        mac,
        ip: Some(ip.parse().unwrap()),
        vlan,
        first_seen: String::new(),
        first_seen_ns: 1_000,
        last_seen: String::new(),
        last_seen_ns: 2_000,
        source: HostSource::Ip,
        host_name: name.map(str::to_string),
        vendor_class: None,
        flows_as_client: 0,
        flows_as_server: 0,
        packets_sent: 0,
        bytes_sent: 0,
        packets_received: 0,
        bytes_received: 0,
    }
}

/// A CIP ListIdentity reply from `mac`.
fn cip(id: i64, mac: MacAddr, ip: &str, vendor: &str, model: &str, revision: &str, serial: &str) -> EventRow {
    EventRow {
        network: None,
        id,
        capture_id: CaptureId(1),
        ts: String::new(),
        ts_ns: 1_500,
        packet: 3,
        flow_id: Some(FlowId(9)),
        protocol: "enip".into(),
        kind: EventKind::Identity,
        name: "enip.list_identity".into(),
        class: None,
        src_mac: Some(mac),
        src_ip: Some(ip.parse().unwrap()),
        dst_ip: None,
        attributes: Attributes(
            [("vendor", vendor), ("product_name", model), ("revision", revision), ("serial", serial)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
    }
}

/// The stored records of an inventory built from these rows.
fn inventory(hosts: &[HostRow], identities: &[EventRow]) -> Vec<AssetRecord> {
    let inv = otposture_inventory::build(hosts, identities, &[]);
    otposture_inventory::records(&inv).unwrap().0
}

fn entry(row: u64, name: Option<&str>, macs: &[&str], ips: &[&str], serial: Option<&str>) -> RegisterEntry {
    RegisterEntry {
        row,
        name: name.map(str::to_string),
        macs: macs.iter().map(|m| m.to_string()).collect(),
        ips: ips.iter().map(|i| i.to_string()).collect(),
        serial: serial.map(str::to_string),
        ..RegisterEntry::default()
    }
}

fn matched(r: &Reconciliation) -> Vec<(u64, &str, Key)> {
    r.matched.iter().map(|m| (m.row, m.asset.as_str(), m.matched_by)).collect()
}

fn plant() -> Vec<AssetRecord> {
    inventory(
        &[
            host(Some(mac(1)), "10.0.0.5", None, None),
            host(Some(mac(2)), "10.0.0.6", None, Some("hmi-1.plant.local")),
            host(Some(mac(3)), "10.0.0.7", None, None),
            host(Some(mac(4)), "10.0.0.8", None, Some("ews-1")),
        ],
        &[
            cip(1, mac(1), "10.0.0.5", "Rockwell Automation/Allen-Bradley", "1756-L71", "20.11", "0x00c0ffee"),
            cip(2, mac(3), "10.0.0.7", "SIEMENS AG", "ET 200SP", "4.2", "0x0000abcd"),
        ],
    )
}

#[test]
fn matches_by_serial_mac_ip_and_name_and_says_which() {
    let assets = plant();
    let entries = [
        entry(2, Some("PLC-1"), &[], &[], Some("C0FFEE")), // serial, without 0x and zeros
        entry(3, None, &["02:00:00:00:00:03"], &["10.0.0.7"], None), // mac, ip confirms
        entry(4, Some("HMI-1"), &[], &["10.0.0.6"], None), // ip, name confirms (first label)
        entry(5, Some("EWS-1"), &[], &[], None),           // name only
        entry(6, Some("RTU-9"), &["02:00:00:00:00:99"], &["10.9.9.9"], Some("nope")), // not seen
    ];
    let r = reconcile(&entries, &assets).unwrap();
    assert_eq!(
        matched(&r),
        [
            (2, "mac-02:00:00:00:00:01", Key::Serial),
            (3, "mac-02:00:00:00:00:03", Key::Mac),
            (4, "mac-02:00:00:00:00:02", Key::Ip),
            (5, "mac-02:00:00:00:00:04", Key::Name),
        ]
    );
    assert_eq!(r.matched[1].confirmed_by, [Key::Ip]);
    assert_eq!(r.matched[2].confirmed_by, [Key::Name]);
    assert_eq!(r.register_only.iter().map(|e| e.row).collect::<Vec<_>>(), [6]);
    assert!(r.discovered_only.is_empty() && r.ambiguous.is_empty());
    let s = r.summary;
    assert_eq!(
        (s.register_entries, s.assets, s.matched, s.conflicting, s.discovered_only, s.register_only, s.ambiguous),
        (5, 4, 4, 0, 0, 1, 0)
    );
}

#[test]
fn a_firmware_that_differs_makes_the_match_conflicting_with_its_source() {
    let assets = plant();
    let mut e = entry(2, None, &["02:00:00:00:00:01"], &["10.0.0.5"], None);
    e.firmware = Some("V20.12".into());
    e.vendor = Some("Rockwell Automation".into());
    e.model = Some("1756-l71".into());
    e.role = Some("controller".into());
    let r = reconcile(&[e], &assets).unwrap();
    let m = &r.matched[0];
    assert!(m.conflicting);
    assert_eq!(m.differs, ["firmware"]);
    let by_field = |f: &str| m.attributes.iter().find(|c| c.field == f).unwrap();
    let fw = by_field("firmware");
    assert_eq!(
        (
            fw.status,
            fw.register.as_deref(),
            fw.discovered.as_deref(),
            fw.source.as_deref(),
            fw.confidence.as_deref(),
            fw.event_id
        ),
        (Status::Differs, Some("V20.12"), Some("20.11"), Some("enip"), Some("high"), Some(1))
    );
    assert_eq!(by_field("vendor").status, Status::Agree);
    assert_eq!(by_field("model").status, Status::Agree, "any case");
    assert_eq!(by_field("serial").status, Status::DiscoveredOnlyValue);
    assert_eq!(by_field("ip").status, Status::Agree);
    assert_eq!(by_field("mac").status, Status::Agree);
    // No conversations: the rules found no role, so only the register has one.
    assert_eq!(by_field("role").status, Status::RegisterOnlyValue);
    assert_eq!(r.summary.conflicting, 1);
}

#[test]
fn vendor_spellings_agree_once_normalised() {
    let assets = plant();
    // As a register import stores it: "SIEMENS AG" normalised to Siemens, the raw text kept.
    let p = csv("mac,vendor,firmware\n02:00:00:00:00:03,SIEMENS AG,v4.2\n");
    let r = reconcile(&p.entries, &assets).unwrap();
    let m = &r.matched[0];
    let vendor = m.attributes.iter().find(|c| c.field == "vendor").unwrap();
    assert_eq!(
        (vendor.status, vendor.register.as_deref(), vendor.discovered.as_deref()),
        (Status::Agree, Some("Siemens"), Some("Siemens"))
    );
    assert_eq!(m.register.vendor_raw.as_deref(), Some("SIEMENS AG"));
    assert!(!m.conflicting, "{:?}", m.attributes);
}

#[test]
fn serial_and_mac_pointing_at_two_assets_is_ambiguous_not_guessed() {
    let assets = plant();
    let e = entry(7, Some("PLC-1"), &["02:00:00:00:00:03"], &[], Some("c0ffee"));
    let r = reconcile(&[e], &assets).unwrap();
    assert!(r.matched.is_empty());
    let a = &r.ambiguous[0];
    assert_eq!((a.row, a.reason), (7, Ambiguity::KeysDisagree));
    let c: Vec<(&str, Key)> = a.candidates.iter().map(|c| (c.asset.as_str(), c.by)).collect();
    assert_eq!(c, [("mac-02:00:00:00:00:01", Key::Serial), ("mac-02:00:00:00:00:03", Key::Mac)]);
    // Both assets stay unmatched, marked with the row that is ambiguous between them.
    let d: Vec<(&str, &[u64])> =
        r.discovered_only.iter().map(|d| (d.asset.as_str(), d.ambiguous_rows.as_slice())).collect();
    assert_eq!(
        d,
        [
            ("mac-02:00:00:00:00:01", &[7][..]),
            ("mac-02:00:00:00:00:02", &[][..]),
            ("mac-02:00:00:00:00:03", &[7][..]),
            ("mac-02:00:00:00:00:04", &[][..]),
        ]
    );
    assert_eq!((r.summary.ambiguous, r.summary.register_only, r.summary.discovered_only), (1, 0, 4));
}

#[test]
fn one_address_on_two_vlans_is_told_apart_by_name_or_left_ambiguous() {
    let assets = inventory(
        &[host(None, "10.0.0.9", Some(10), Some("pump-a")), host(None, "10.0.0.9", Some(20), Some("pump-b"))],
        &[],
    );
    let ids: Vec<&str> = assets.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["ip-10.0.0.9-vlan10", "ip-10.0.0.9-vlan20"]);
    let r = reconcile(&[entry(2, Some("PUMP-B"), &[], &["10.0.0.9"], None)], &assets).unwrap();
    assert_eq!(matched(&r), [(2, "ip-10.0.0.9-vlan20", Key::Ip)]);
    assert_eq!(r.matched[0].confirmed_by, [Key::Name]);
    let r = reconcile(&[entry(2, Some("pump"), &[], &["10.0.0.9"], None)], &assets).unwrap();
    assert_eq!((r.ambiguous[0].reason, r.ambiguous[0].candidates.len()), (Ambiguity::SeveralAssets, 2));
}

#[test]
fn an_asset_matched_by_a_stronger_key_is_not_matched_again() {
    let assets = plant();
    let entries = [
        entry(2, Some("old-plc"), &[], &["10.0.0.5"], None), // by IP...
        entry(3, Some("PLC-1"), &["02:00:00:00:00:01"], &[], None), // ...but this one has its MAC
        entry(4, Some("x"), &[], &["10.0.0.6"], None),
        entry(5, Some("y"), &[], &["10.0.0.6"], None), // two entries, one address, no name to decide
    ];
    let r = reconcile(&entries, &assets).unwrap();
    assert_eq!(matched(&r), [(3, "mac-02:00:00:00:00:01", Key::Mac)]);
    let amb: Vec<(u64, Ambiguity, &[u64])> = r.ambiguous.iter().map(|a| (a.row, a.reason, a.rows.as_slice())).collect();
    assert_eq!(
        amb,
        [
            (2, Ambiguity::AssetTaken, &[3][..]),
            (4, Ambiguity::SeveralEntries, &[5][..]),
            (5, Ambiguity::SeveralEntries, &[4][..])
        ]
    );
}

#[test]
fn a_weaker_key_pointing_elsewhere_is_shown_not_followed() {
    let assets = plant();
    // The register's MAC is PLC-1's; its IP is now the HMI's.
    let r = reconcile(&[entry(2, None, &["02:00:00:00:00:01"], &["10.0.0.6"], None)], &assets).unwrap();
    let m = &r.matched[0];
    assert_eq!((m.asset.as_str(), m.matched_by), ("mac-02:00:00:00:00:01", Key::Mac));
    let also: Vec<(&str, Key)> = m.also_points_to.iter().map(|c| (c.asset.as_str(), c.by)).collect();
    assert_eq!(also, [("mac-02:00:00:00:00:02", Key::Ip)]);
    let ip = m.attributes.iter().find(|c| c.field == "ip").unwrap();
    assert_eq!(
        (ip.status, ip.register.as_deref(), ip.discovered.as_deref()),
        (Status::Differs, Some("10.0.0.6"), Some("10.0.0.5"))
    );
    assert!(r.discovered_only.iter().any(|d| d.asset == "mac-02:00:00:00:00:02"));
}

#[test]
fn the_export_has_every_entry_and_every_asset_once() {
    let assets = plant();
    let mut bad_name = entry(9, Some("=cmd|' /C calc'!A0"), &[], &[], None);
    bad_name.extra = Attributes(vec![("rack".into(), "R1".into())]);
    let entries = [
        entry(2, None, &["02:00:00:00:00:01"], &[], None),
        entry(3, None, &["02:00:00:00:00:03"], &["10.0.0.99"], None),
        bad_name,
    ];
    let r = reconcile(&entries, &assets).unwrap();
    let rows = export::rows(&r);
    let statuses: Vec<(RowStatus, Option<u64>, Option<&str>)> =
        rows.iter().map(|x| (x.status, x.row, x.asset.as_deref())).collect();
    assert_eq!(
        statuses,
        [
            (RowStatus::Matched, Some(2), Some("mac-02:00:00:00:00:01")),
            (RowStatus::Conflicting, Some(3), Some("mac-02:00:00:00:00:03")),
            (RowStatus::RegisterOnly, Some(9), None),
            (RowStatus::DiscoveredOnly, None, Some("mac-02:00:00:00:00:02")),
            (RowStatus::DiscoveredOnly, None, Some("mac-02:00:00:00:00:04")),
        ]
    );
    let mut out = Vec::new();
    export::write_csv(&rows, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), export::CSV_COLUMNS);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r.len() == export::CSV_COLUMNS.len()));
    let col = |name: &str| export::CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    assert_eq!(&records[1][col("differs")], "ip");
    assert_eq!(&records[1][col("register_ips")], "10.0.0.99");
    assert_eq!(&records[1][col("discovered_ips")], "10.0.0.7");
    assert_eq!(&records[1][col("discovered_vendor")], "Siemens");
    assert_eq!(&records[2][col("register_name")], "'=cmd|' /C calc'!A0", "a formula is not run by a spreadsheet");
    assert_eq!(&records[2][col("register_extra")], r#"{"rack":"R1"}"#);
}

#[test]
fn an_unreadable_asset_document_is_an_error_naming_the_asset() {
    let mut assets = plant();
    assets[0].doc = "not json".into();
    let err = reconcile(&[], &assets).unwrap_err();
    assert!(err.to_string().starts_with("asset mac-02:00:00:00:00:01: its stored document is unreadable"), "{err}");
}

// ---- networks ----

#[test]
fn a_network_column_is_read_and_a_value_that_names_no_network_is_flagged() {
    let p = csv("name,ip,network\nPLC-A,10.0.0.5,plant-a\nPLC-B,10.0.0.5,plant-b\nX,10.0.0.9,OT LAN\n");
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let networks: Vec<Option<&str>> = p.entries.iter().map(|e| e.network.as_deref()).collect();
    assert_eq!(networks, [Some("plant-a"), Some("plant-b"), None]);
    let flag = &p.entries[2].flags[0];
    assert_eq!(
        (flag.flag.as_str(), flag.column.as_str(), flag.value.as_str()),
        ("network_unrecognised", "network", "OT LAN")
    );
}

#[test]
fn an_entry_naming_its_network_matches_by_ip_only_there() {
    let in_network = |net: &str| HostRow { network: Some(net.to_string()), ..host(None, "10.0.0.5", None, None) };
    let assets = inventory(&[in_network("plant-a"), in_network("plant-b")], &[]);
    let ids: Vec<&str> = assets.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["ip-10.0.0.5@plant-a", "ip-10.0.0.5@plant-b"]);
    let at = |row: u64, network: Option<&str>| RegisterEntry {
        network: network.map(str::to_string),
        ..entry(row, Some("plc"), &[], &["10.0.0.5"], None)
    };
    let r = reconcile(&[at(2, Some("plant-b")), at(3, Some("plant-a"))], &assets).unwrap();
    assert_eq!(matched(&r), [(2, "ip-10.0.0.5@plant-b", Key::Ip), (3, "ip-10.0.0.5@plant-a", Key::Ip)]);
    // Without a network the address is in both: not guessed.
    let r = reconcile(&[at(2, None)], &assets).unwrap();
    assert_eq!((r.ambiguous[0].reason, r.ambiguous[0].candidates.len()), (Ambiguity::SeveralAssets, 2));
    // A network no asset was seen in holds nothing.
    let r = reconcile(&[at(2, Some("plant-c"))], &assets).unwrap();
    assert_eq!(r.register_only.len(), 1);
    // The export keeps the register's network.
    let rows = export::rows(&reconcile(&[at(2, Some("plant-b"))], &assets).unwrap());
    let record = export::csv_record(&rows[0]);
    let col = export::CSV_COLUMNS.iter().position(|c| *c == "register_network").unwrap();
    assert_eq!(record[col], "plant-b");
    assert_eq!(record.len(), export::CSV_COLUMNS.len());
}
