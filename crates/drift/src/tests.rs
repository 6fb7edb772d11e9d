#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use otposture_model::OperationClass::{self, Program, Read, Write};

const T0: i64 = 1_709_280_000_000_000_000;

fn stated(value: &str, confidence: Confidence, first: i64) -> Option<Stated> {
    Some(Stated { value: value.to_string(), confidence, first_seen_ns: first, last_seen_ns: first + 5 })
}

fn plc(id: &str, ip: &str, firmware: &str) -> AssetState {
    AssetState {
        id: id.to_string(),
        role: "controller".to_string(),
        macs: id.strip_prefix("mac-").map(|m| vec![m.to_string()]).unwrap_or_default(),
        ips: vec![ip.to_string()],
        vlans: Vec::new(),
        first_seen_ns: T0,
        last_seen_ns: T0 + 100,
        identity: Identity {
            vendor: stated("Siemens", Confidence::High, T0),
            model: stated("CPU 315-2 PN/DP", Confidence::High, T0),
            order_number: stated("6ES7 315-2EH14-0AB0", Confidence::High, T0),
            firmware: stated(firmware, Confidence::High, T0 + 10),
            hardware: None,
            serial: stated("S C-X4U421302009", Confidence::High, T0),
        },
        modules: Vec::new(),
    }
}

fn host(id: &str, ip: &str) -> AssetState {
    AssetState {
        id: id.to_string(),
        role: "hmi".to_string(),
        macs: Vec::new(),
        ips: vec![ip.to_string()],
        vlans: Vec::new(),
        first_seen_ns: T0 + 1,
        last_seen_ns: T0 + 200,
        identity: Identity::default(),
        modules: Vec::new(),
    }
}

fn talk(client: &str, server: &str, protocol: &str, classes: &[OperationClass]) -> ConversationState {
    ConversationState {
        client: client.to_string(),
        server: server.to_string(),
        protocol: protocol.to_string(),
        ports: vec![102],
        operations: classes.iter().copied().collect(),
        first_seen_ns: T0 + 20,
        last_seen_ns: T0 + 90,
    }
}

fn snapshot(assets: Vec<AssetState>, conversations: Vec<ConversationState>) -> Snapshot {
    Snapshot { schema: SCHEMA.to_string(), taken_at_ns: T0 + 1_000, assets, conversations }
}

/// A PLC and the HMI that reads from it.
fn cell() -> Snapshot {
    snapshot(
        vec![plc("mac-00:1b:1b:00:00:14", "10.0.0.20", "V3.2.6"), host("mac-00:d0:c9:00:00:1e", "10.0.0.30")],
        vec![talk("mac-00:d0:c9:00:00:1e", "mac-00:1b:1b:00:00:14", "s7comm", &[Read])],
    )
}

fn kinds(d: &[Deviation]) -> Vec<&'static str> {
    d.iter().map(|x| x.kind.name()).collect()
}

#[test]
fn the_same_snapshot_has_no_deviation() {
    assert_eq!(compare(&cell(), &cell()), []);
}

#[test]
fn reports_a_new_asset_with_when_it_was_first_seen() {
    let mut now = cell();
    now.assets.push(host("mac-3c:52:82:00:00:32", "10.0.0.50"));
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["new_asset"]);
    assert_eq!(d[0].asset.as_deref(), Some("mac-3c:52:82:00:00:32"));
    assert_eq!((d[0].first_seen_ns, d[0].last_seen_ns), (Some(T0 + 1), Some(T0 + 200)));
    assert!(d[0].explanation.contains("hmi; 10.0.0.50") && d[0].explanation.contains("not in the baseline"), "{d:?}");
}

#[test]
fn reports_a_vanished_asset_and_its_conversations_with_the_baselines_times() {
    let mut now = cell();
    now.assets.retain(|a| a.role != "hmi");
    now.conversations.clear();
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["vanished_asset", "vanished_conversation"]);
    assert_eq!(d[0].asset.as_deref(), Some("mac-00:d0:c9:00:00:1e"));
    assert_eq!(d[0].last_seen_ns, Some(T0 + 200), "the baseline's last sighting is the evidence");
    let key = d[1].conversation.as_ref().unwrap();
    assert_eq!((key.client.as_str(), key.protocol.as_str()), ("mac-00:d0:c9:00:00:1e", "s7comm"));
    assert_eq!(d[1].before.as_deref(), Some("read"));
}

#[test]
fn a_readdressed_device_is_one_address_change_and_keeps_its_conversations() {
    // The PLC keeps its vendor and serial, but has a new MAC (a replaced
    // communication card) and a new IP; the HMI follows it and now writes.
    let mut now = cell();
    now.assets[0] = plc("mac-00:1b:1b:00:00:99", "10.0.0.21", "V3.2.6");
    now.conversations = vec![talk("mac-00:d0:c9:00:00:1e", "mac-00:1b:1b:00:00:99", "s7comm", &[Read, Write])];
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["address_change", "new_operation"], "{d:#?}");
    let moved = &d[0];
    assert_eq!(moved.asset.as_deref(), Some("mac-00:1b:1b:00:00:99"));
    assert_eq!(moved.field.as_deref(), Some("id"));
    assert_eq!(
        (moved.before.as_deref(), moved.after.as_deref()),
        (Some("mac-00:1b:1b:00:00:14"), Some("mac-00:1b:1b:00:00:99"))
    );
    assert!(moved.explanation.contains("IP 10.0.0.20") && moved.explanation.contains("IP 10.0.0.21"), "{moved:?}");
    assert_eq!(d[1].operation, Some(Write));
    assert_eq!(d[1].conversation.as_ref().unwrap().server, "mac-00:1b:1b:00:00:99");
}

#[test]
fn a_readdressed_device_with_new_firmware_reports_both() {
    let mut now = cell();
    now.assets[0] = plc("ip-10.0.0.21", "10.0.0.21", "V3.3.0");
    now.conversations = vec![talk("mac-00:d0:c9:00:00:1e", "ip-10.0.0.21", "s7comm", &[Read])];
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["address_change", "identity_change"], "{d:#?}");
    assert_eq!(d[1].asset.as_deref(), Some("ip-10.0.0.21"));
    assert_eq!((d[1].before.as_deref(), d[1].after.as_deref()), (Some("V3.2.6"), Some("V3.3.0")));
}

#[test]
fn two_devices_with_one_serial_are_not_guessed_to_be_a_move() {
    let base = cell();
    let mut now = cell();
    now.assets.remove(0);
    now.assets.push(plc("mac-00:1b:1b:00:00:98", "10.0.0.98", "V3.2.6"));
    now.assets.push(plc("mac-00:1b:1b:00:00:99", "10.0.0.99", "V3.2.6"));
    now.conversations.clear();
    let d = compare(&base, &now);
    assert_eq!(kinds(&d), ["new_asset", "new_asset", "vanished_asset", "vanished_conversation"], "{d:#?}");
}

#[test]
fn an_identity_field_not_stated_now_is_not_a_change() {
    let mut now = cell();
    now.assets[0].identity.firmware = None;
    now.assets[0].identity.serial = None;
    assert_eq!(compare(&cell(), &now), []);
}

#[test]
fn a_weaker_source_disagreeing_now_is_not_a_change() {
    // The device did not state its vendor this time; only its MAC prefix names one.
    let mut now = cell();
    now.assets[0].identity.vendor = stated("Hewlett Packard", Confidence::Low, T0 + 50);
    assert_eq!(compare(&cell(), &now), []);
}

#[test]
fn a_value_where_there_was_none_is_identity_learned_with_before_none() {
    let mut now = cell();
    now.assets[0].identity.hardware = stated("1", Confidence::High, T0 + 70);
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["identity_learned"]);
    assert_eq!(
        (d[0].field.as_deref(), d[0].before.as_deref(), d[0].after.as_deref()),
        (Some("hardware"), None, Some("1"))
    );
    assert_eq!(d[0].first_seen_ns, Some(T0 + 70));
}

#[test]
fn a_stated_value_replacing_a_guess_is_identity_learned() {
    let mut base = cell();
    base.assets[1].identity.vendor = stated("Advantech", Confidence::Low, T0);
    let mut now = cell();
    now.assets[1].identity.vendor = stated("Siemens", Confidence::High, T0 + 60);
    let d = compare(&base, &now);
    assert_eq!(kinds(&d), ["identity_learned"]);
    assert_eq!((d[0].before.as_deref(), d[0].after.as_deref()), (Some("Advantech"), Some("Siemens")));
    assert!(d[0].explanation.contains("low confidence"), "{d:?}");
}

#[test]
fn a_changed_firmware_is_an_identity_change_with_before_after_and_when() {
    let mut now = cell();
    now.assets[0].identity.firmware = stated("V3.3.0", Confidence::High, T0 + 500);
    // Same serial spelled in another case: not a change.
    now.assets[0].identity.serial = stated("s c-x4u421302009 ", Confidence::High, T0);
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["identity_change"]);
    let x = &d[0];
    assert_eq!(x.asset.as_deref(), Some("mac-00:1b:1b:00:00:14"));
    assert_eq!(
        (x.field.as_deref(), x.before.as_deref(), x.after.as_deref()),
        (Some("firmware"), Some("V3.2.6"), Some("V3.3.0"))
    );
    assert_eq!((x.first_seen_ns, x.last_seen_ns), (Some(T0 + 500), Some(T0 + 505)));
    assert_eq!(x.explanation, "firmware of mac-00:1b:1b:00:00:14 changed from \"V3.2.6\" to \"V3.3.0\", first stated 2024-03-01T08:00:00.000000Z");
}

#[test]
fn module_identity_changes_and_new_modules_are_reported_by_route() {
    let module = |route: &str, firmware: &str| ModuleState {
        route: route.to_string(),
        identity: Identity {
            model: stated("1756-ENBT/A", Confidence::High, T0),
            firmware: stated(firmware, Confidence::High, T0 + 30),
            ..Identity::default()
        },
    };
    let mut base = cell();
    base.assets[0].modules = vec![module("1/1", "4.3"), module("1/2", "6.1")];
    let mut now = cell();
    // 1/1 has new firmware, 1/2 did not answer this time, 1/3 is a new card.
    now.assets[0].modules = vec![module("1/1", "4.4"), module("1/3", "6.1")];
    let d = compare(&base, &now);
    assert_eq!(kinds(&d), ["identity_change", "identity_learned"], "{d:#?}");
    assert_eq!((d[0].module.as_deref(), d[0].field.as_deref()), (Some("1/1"), Some("firmware")));
    assert_eq!((d[0].before.as_deref(), d[0].after.as_deref()), (Some("4.3"), Some("4.4")));
    assert_eq!((d[1].module.as_deref(), d[1].field.as_deref()), (Some("1/3"), Some("module")));
    assert_eq!(d[1].after.as_deref(), Some("model 1756-ENBT/A, firmware 6.1"));
}

#[test]
fn a_new_conversation_lists_its_classes() {
    let mut now = cell();
    now.conversations.push(talk("mac-00:d0:c9:00:00:1e", "mac-00:1b:1b:00:00:14", "modbus", &[Read, Write]));
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["new_conversation"]);
    let key = d[0].conversation.as_ref().unwrap();
    assert_eq!(key.protocol, "modbus");
    assert_eq!((d[0].before.as_deref(), d[0].after.as_deref()), (None, Some("read write")));
    assert_eq!(d[0].first_seen_ns, Some(T0 + 20));
}

#[test]
fn a_new_operation_class_on_a_known_conversation_is_named() {
    let mut now = cell();
    now.conversations[0].operations = [Read, Program, Write].into_iter().collect();
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["new_operation", "new_operation"]);
    assert_eq!(d.iter().map(|x| x.operation).collect::<Vec<_>>(), [Some(Program), Some(Write)]);
    assert_eq!((d[0].before.as_deref(), d[0].after.as_deref()), (Some("read"), Some("program read write")));
    assert!(d[0].explanation.contains("sent program requests") && d[0].explanation.contains("saw only read"), "{d:?}");
    assert_eq!((d[0].first_seen_ns, d[0].last_seen_ns), (None, Some(T0 + 90)), "no first sighting is claimed");
    // A class that stopped is not a deviation.
    let mut quiet = cell();
    quiet.conversations[0].operations = Classes::default();
    assert_eq!(compare(&cell(), &quiet), []);
}

#[test]
fn new_addresses_under_a_known_id_are_an_address_change() {
    let mut now = cell();
    now.assets[0].ips.push("10.0.0.120".to_string());
    now.assets[0].vlans.push(10);
    let d = compare(&cell(), &now);
    assert_eq!(kinds(&d), ["address_change", "address_change"]);
    assert_eq!(
        (d[0].field.as_deref(), d[0].before.as_deref(), d[0].after.as_deref()),
        (Some("ips"), Some("10.0.0.20"), Some("10.0.0.20 10.0.0.120"))
    );
    assert_eq!(
        (d[1].field.as_deref(), d[1].before.as_deref(), d[1].after.as_deref()),
        (Some("vlans"), None, Some("10"))
    );
}

#[test]
fn the_order_does_not_depend_on_the_input_order() {
    let mut base = cell();
    base.assets.push(host("ip-10.0.0.77", "10.0.0.77"));
    let mut now = cell();
    now.assets[0].identity.firmware = stated("V4", Confidence::High, T0);
    now.assets.push(host("ip-10.0.0.60", "10.0.0.60"));
    now.assets.push(host("ip-10.0.0.61", "10.0.0.61"));
    now.conversations.push(talk("ip-10.0.0.61", "mac-00:1b:1b:00:00:14", "s7comm", &[Read]));
    now.conversations.push(talk("ip-10.0.0.60", "mac-00:1b:1b:00:00:14", "s7comm", &[Read]));
    let first = compare(&base, &now);
    base.assets.reverse();
    now.assets.reverse();
    now.conversations.reverse();
    assert_eq!(compare(&base, &now), first);
    assert_eq!(
        kinds(&first),
        ["new_asset", "new_asset", "vanished_asset", "identity_change", "new_conversation", "new_conversation"]
    );
    assert_eq!(first[0].asset.as_deref(), Some("ip-10.0.0.60"));
}

#[test]
fn a_snapshot_is_a_versioned_json_document_that_reads_back() {
    let s = cell();
    let text = serde_json::to_string(&s).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], "otposture.baseline/1");
    assert_eq!(v["conversations"][0]["operations"], serde_json::json!(["read"]));
    assert_eq!(v["assets"][0]["identity"]["firmware"]["value"], "V3.2.6");
    assert_eq!(v["assets"][0]["identity"]["hardware"], serde_json::Value::Null);
    assert_eq!(serde_json::from_str::<Snapshot>(&text).unwrap(), s);
    // A class name this build does not know reads as `unknown`, not as an error.
    let c: Classes = serde_json::from_str(r#"["write", "teleport"]"#).unwrap();
    assert_eq!(c.words(), "unknown write");
}

#[test]
fn a_deviation_serialises_with_snake_case_names() {
    let mut now = cell();
    now.conversations[0].operations = [Read, Write].into_iter().collect();
    let d = compare(&cell(), &now);
    let v = serde_json::to_value(&d[0]).unwrap();
    assert_eq!(v["kind"], "new_operation");
    assert_eq!(v["operation"], "write");
    assert_eq!(v["conversation"]["protocol"], "s7comm");
    assert_eq!(DeviationKind::parse("identity_learned"), Some(DeviationKind::IdentityLearned));
    assert!(DeviationKind::ALL.iter().all(|k| DeviationKind::parse(k.name()) == Some(*k)));
}

mod of_inventory {
    use super::*;
    use otposture_model::{EventKind, FlowId, HostSource, MacAddr};
    use otposture_store::{Attributes, CaptureId, ClassCount, ConversationRow, EventRow, HostRow};

    fn host(mac: u8, ip: &str) -> HostRow {
        HostRow {
            network: None,
            id: 0,
            mac: Some(MacAddr([0x02, 0, 0, 0, 0, mac])),
            ip: Some(ip.parse().unwrap()),
            vlan: None,
            first_seen: String::new(),
            first_seen_ns: T0,
            last_seen: String::new(),
            last_seen_ns: T0 + 10,
            source: HostSource::Ip,
            host_name: None,
            vendor_class: None,
            flows_as_client: 0,
            flows_as_server: 0,
            packets_sent: 0,
            bytes_sent: 0,
            packets_received: 0,
            bytes_received: 0,
        }
    }

    #[test]
    fn takes_the_headline_identity_and_the_classes_of_each_conversation() {
        let hosts = [host(1, "10.0.0.1"), host(2, "10.0.0.2")];
        let id = |n: i64, ts: i64, revision: &str| EventRow {
            network: None,
            id: n,
            capture_id: CaptureId(1),
            ts: String::new(),
            ts_ns: ts,
            packet: 1,
            flow_id: Some(FlowId(1)),
            protocol: "enip".into(),
            kind: EventKind::Identity,
            name: "enip.list_identity".into(),
            class: None,
            src_mac: Some(MacAddr([0x02, 0, 0, 0, 0, 2])),
            src_ip: Some("10.0.0.2".parse().unwrap()),
            dst_ip: None,
            attributes: Attributes(
                [("vendor", "Rockwell Automation/Allen-Bradley"), ("serial", "0x0012abcd"), ("revision", revision)]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        };
        let conversation = ConversationRow {
            network: None,
            to_group: false,
            client_ip: "10.0.0.1".parse().unwrap(),
            server_ip: "10.0.0.2".parse().unwrap(),
            vlan: None,
            transport: "tcp".into(),
            server_port: 44818,
            app_protocol: Some("cip".into()),
            flows: 1,
            packets: 10,
            bytes: 1000,
            first_seen_ns: T0 + 1,
            last_seen_ns: T0 + 9,
            requests: vec![
                ClassCount { class: Read, messages: 5 },
                ClassCount { class: OperationClass::Control, messages: 1 },
            ],
            responses: Vec::new(),
        };
        let inv =
            otposture_inventory::build(&hosts, &[id(1, T0 + 2, "20.11"), id(2, T0 + 8, "20.12")], &[conversation]);
        let s = Snapshot::of(&inv, 42);
        assert_eq!((s.schema.as_str(), s.taken_at_ns), (SCHEMA, 42));
        let server = s.assets.iter().find(|a| a.id == "mac-02:00:00:00:00:02").unwrap();
        let firmware = server.identity.firmware.as_ref().unwrap();
        assert_eq!((firmware.value.as_str(), firmware.first_seen_ns), ("20.12", T0 + 8), "the latest stated value");
        assert_eq!(server.identity.vendor.as_ref().unwrap().value, "Rockwell Automation");
        assert_eq!(server.identity.serial.as_ref().unwrap().confidence, Confidence::High);
        assert_eq!(server.ips, ["10.0.0.2"]);
        let [c] = s.conversations.as_slice() else { panic!("{:?}", s.conversations) };
        assert_eq!(c.key(), ("mac-02:00:00:00:00:01", "mac-02:00:00:00:00:02", "cip"));
        assert_eq!((c.ports.as_slice(), c.operations.words()), (&[44818][..], "control read".to_string()));
    }
}
