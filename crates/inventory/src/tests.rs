#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use otposture_model::{EventKind, FlowId, HostSource, OperationClass};
use otposture_store::{Attributes, CaptureId, ClassCount};

fn mac(last: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, last])
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn host(mac: Option<MacAddr>, ip: &str, vlan: Option<u16>, first: i64) -> HostRow {
    HostRow {
        network: None,
        id: 0,
        mac,
        ip: Some(self::ip(ip)),
        vlan,
        first_seen: String::new(),
        first_seen_ns: first,
        last_seen: String::new(),
        last_seen_ns: first + 10,
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

fn identity(id: i64, name: &str, mac: Option<MacAddr>, ip: &str, ts: i64, attrs: &[(&str, &str)]) -> EventRow {
    EventRow {
        network: None,
        id,
        capture_id: CaptureId(1),
        ts: String::new(),
        ts_ns: ts,
        packet: id as u64,
        flow_id: Some(FlowId(7)),
        protocol: name.split('.').next().unwrap().to_string(),
        kind: EventKind::Identity,
        name: name.to_string(),
        class: None,
        src_mac: mac,
        src_ip: Some(self::ip(ip)),
        dst_ip: None,
        attributes: Attributes(attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
    }
}

fn conversation(client: &str, server: &str, protocol: &str, requests: &[(OperationClass, u64)]) -> ConversationRow {
    ConversationRow {
        network: None,
        to_group: false,
        client_ip: ip(client),
        server_ip: ip(server),
        vlan: None,
        transport: "tcp".into(),
        server_port: 502,
        app_protocol: Some(protocol.into()),
        flows: 1,
        packets: 10,
        bytes: 1000,
        first_seen_ns: 0,
        last_seen_ns: 10,
        requests: requests.iter().map(|&(class, messages)| ClassCount { class, messages }).collect(),
        responses: Vec::new(),
    }
}

fn asset<'a>(inv: &'a Inventory, id: &str) -> &'a Asset {
    inv.assets.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("no {id} in {:#?}", inv.assets))
}

#[test]
fn a_router_mac_does_not_make_one_asset_of_the_addresses_behind_it() {
    let router = mac(1);
    let mut hosts: Vec<HostRow> =
        (1..=5).map(|i| host(Some(router), &format!("10.9.0.{i}"), None, i64::from(i) * 100)).collect();
    hosts.push(host(Some(router), "10.0.0.1", None, 50));
    hosts.push(host(Some(mac(2)), "10.0.0.2", None, 60));
    let arp =
        identity(1, "arp.sender", Some(router), "10.0.0.1", 50, &[("mac", "02:00:00:00:00:01"), ("ip", "10.0.0.1")]);
    let inv = build(&hosts, &[arp], &[]);
    assert_eq!(inv.assets.len(), 7, "{:#?}", inv.assets);
    let r = asset(&inv, "mac-02:00:00:00:00:01");
    assert_eq!(r.ips, vec![ip("10.0.0.1")], "the router keeps only the address it claimed in ARP");
    assert_eq!((r.role.role, r.role.rule), (Role::NetworkDevice, "routes_for_many_addresses"));
    for i in 1..=5 {
        let behind = asset(&inv, &format!("ip-10.9.0.{i}"));
        assert!(behind.macs.is_empty());
    }
}

#[test]
fn the_zero_mac_names_no_asset() {
    // A loopback capture: every frame carries 00:00:00:00:00:00, the master
    // on 127.0.0.2 and the outstation on 127.0.0.1.
    let zero = Some(MacAddr([0; 6]));
    let hosts = vec![host(zero, "127.0.0.1", None, 0), host(zero, "127.0.0.2", None, 0)];
    let device = identity(1, "dnp3.device_attributes", zero, "127.0.0.1", 5, &[("manufacturer", "Acme")]);
    let inv = build(&hosts, &[device], &[]);
    assert_eq!(inv.assets.len(), 2, "{:#?}", inv.assets);
    for a in &inv.assets {
        assert!(a.macs.is_empty(), "{a:#?}");
        assert_ne!(a.get(Field::Vendor), Some("Xerox"), "OUI 00:00:00 is no vendor of a loopback host");
    }
    assert_eq!(
        asset(&inv, "ip-127.0.0.1").get(Field::Vendor),
        Some("Acme"),
        "the identity finds its sender by address"
    );
    assert_eq!(asset(&inv, "ip-127.0.0.2").get(Field::Vendor), None);
    // A GOOSE publisher on loopback sends no IP: the zero MAC is its only
    // name, and stays one, with no vendor from it.
    let mut l2 = host(zero, "127.0.0.1", None, 0);
    l2.ip = None;
    let inv = build(&[l2], &[], &[]);
    let a = asset(&inv, "mac-00:00:00:00:00:00");
    assert_eq!(a.get(Field::Vendor), None, "{a:#?}");
}

#[test]
fn a_dhcp_address_change_is_one_asset_and_vlans_keep_overlapping_addresses_apart() {
    let hosts = vec![
        host(Some(mac(3)), "10.0.0.20", None, 0),
        host(Some(mac(3)), "10.0.0.21", None, 500),
        // No link layer: the same address on two VLANs is two devices.
        host(None, "192.168.1.10", Some(10), 0),
        host(None, "192.168.1.10", Some(20), 0),
    ];
    let inv = build(&hosts, &[], &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:03");
    assert_eq!(a.ips, vec![ip("10.0.0.20"), ip("10.0.0.21")]);
    assert_eq!((a.first_seen_ns, a.last_seen_ns), (0, 510));
    asset(&inv, "ip-192.168.1.10-vlan10");
    asset(&inv, "ip-192.168.1.10-vlan20");
    assert_eq!(inv.assets.len(), 3);
}

#[test]
fn identities_become_fields_with_provenance_and_disagreements_are_kept() {
    let plc = mac(4);
    let hosts = vec![host(Some(plc), "10.0.0.4", None, 0)];
    let ids = vec![
        identity(
            11,
            "enip.list_identity",
            Some(plc),
            "10.0.0.4",
            100,
            &[
                ("vendor", "Rockwell Automation/Allen-Bradley"),
                ("device_type", "Programmable Logic Controller"),
                ("product_name", "1756-L61/B LOGIX5561"),
                ("revision", "20.11"),
                ("serial", "0x0014ab5e"),
            ],
        ),
        identity(12, "cip.identity", Some(plc), "10.0.0.4", 200, &[("revision", "20.13")]),
        identity(13, "cip.identity", Some(plc), "10.0.0.4", 300, &[("revision", "20.13")]),
    ];
    let inv = build(&hosts, &ids, &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:04");
    assert_eq!(a.get(Field::Vendor), Some("Rockwell Automation"));
    let vendor = a.attributes.iter().find(|x| x.field == Field::Vendor).unwrap();
    assert_eq!(vendor.values[0].raw.as_deref(), Some("Rockwell Automation/Allen-Bradley"));
    assert_eq!(vendor.values[0].first.event_id, Some(11));
    assert_eq!(vendor.values[0].first.packet, Some(11));
    let fw = a.attributes.iter().find(|x| x.field == Field::Firmware).unwrap();
    assert!(fw.conflict, "two firmware revisions stated: both kept");
    assert_eq!(fw.value, "20.13", "the latest of equally trusted values leads");
    assert_eq!(fw.values.len(), 2);
    assert_eq!(
        (fw.values[0].reports, fw.values[0].first.event_id, fw.values[0].last.event_id),
        (2, Some(12), Some(13))
    );
    assert_eq!((a.role.role, a.role.rule, a.role.level), (Role::Controller, "device_type_stated", Some(1)));
    assert!(a.role.evidence[0].contains("Programmable Logic Controller"), "{:?}", a.role.evidence);
}

#[test]
fn two_interfaces_reporting_one_serial_are_one_device() {
    let hosts = vec![host(Some(mac(5)), "10.0.1.5", None, 0), host(Some(mac(6)), "10.0.2.5", None, 0)];
    let id = |n, m, ip| {
        identity(
            n,
            "s7comm.szl_identity",
            Some(m),
            ip,
            10,
            &[("order_number", "6ES7 516-3AN01-0AB0"), ("serial", "S C-X4U421302")],
        )
    };
    let inv = build(&hosts, &[id(1, mac(5), "10.0.1.5"), id(2, mac(6), "10.0.2.5")], &[]);
    assert_eq!(inv.assets.len(), 1, "{:#?}", inv.assets);
    let a = &inv.assets[0];
    assert_eq!(a.macs, vec![mac(5), mac(6)]);
    assert_eq!(a.ips, vec![ip("10.0.1.5"), ip("10.0.2.5")]);
    assert_eq!(a.get(Field::Vendor), Some("Siemens"), "S7comm implies Siemens");
    assert!(a.merged[0].contains("S C-X4U421302"), "{:?}", a.merged);
    assert_eq!(a.role.rule, "s7_module_identification");
    // A serial of zeros names no device: no merge.
    let zero =
        |n, m, ip| identity(n, "enip.list_identity", Some(m), ip, 10, &[("vendor", "Acme"), ("serial", "0x00000000")]);
    let inv = build(&hosts, &[zero(1, mac(5), "10.0.1.5"), zero(2, mac(6), "10.0.2.5")], &[]);
    assert_eq!(inv.assets.len(), 2);
}

#[test]
fn roles_follow_behaviour_with_their_evidence() {
    let hosts = vec![
        host(Some(mac(10)), "10.0.0.10", None, 0), // engineering workstation
        host(Some(mac(11)), "10.0.0.11", None, 0), // SCADA
        host(Some(mac(20)), "10.0.0.20", None, 0),
        host(Some(mac(21)), "10.0.0.21", None, 0),
        host(Some(mac(22)), "10.0.0.22", None, 0),
        host(Some(mac(30)), "10.0.0.30", None, 0), // outstation
        host(Some(mac(40)), "10.0.0.40", None, 0), // IT
    ];
    use OperationClass::*;
    let conversations = vec![
        conversation("10.0.0.10", "10.0.0.20", "s7comm", &[(Program, 12), (Read, 3)]),
        conversation("10.0.0.11", "10.0.0.20", "modbus", &[(Read, 100)]),
        conversation("10.0.0.11", "10.0.0.21", "modbus", &[(Read, 100), (Write, 2)]),
        conversation("10.0.0.11", "10.0.0.22", "modbus", &[(Read, 100)]),
        conversation("10.0.0.11", "10.0.0.30", "dnp3", &[(Read, 10)]),
        conversation("10.0.0.40", "10.0.0.41", "http", &[]),
    ];
    let inv = build(&hosts, &[], &conversations);
    let ews = asset(&inv, "mac-02:00:00:00:00:0a");
    assert_eq!((ews.role.role, ews.role.confidence), (Role::EngineeringWorkstation, Confidence::High));
    assert_eq!(ews.role.evidence, vec!["12 program request(s) to 10.0.0.20 over s7comm".to_string()]);
    let scada = asset(&inv, "mac-02:00:00:00:00:0b");
    assert_eq!((scada.role.role, scada.role.level), (Role::ScadaServer, Some(2)));
    let plc = asset(&inv, "mac-02:00:00:00:00:14");
    assert_eq!(plc.role.role, Role::Controller);
    assert_eq!(plc.serves, vec!["modbus".to_string(), "s7comm".to_string()]);
    assert_eq!(asset(&inv, "mac-02:00:00:00:00:1e").role.role, Role::Rtu);
    let it = asset(&inv, "mac-02:00:00:00:00:28");
    assert_eq!((it.role.role, it.role.level), (Role::ItHost, Some(4)));
    assert_eq!(asset(&inv, "mac-02:00:00:00:00:16").candidates.len(), 1);
}

#[test]
fn an_iec104_controlled_station_is_an_rtu_and_its_routine_configuration_is_not_engineering() {
    let hosts = vec![
        host(Some(mac(50)), "10.0.0.50", None, 0), // controlling station
        host(Some(mac(51)), "10.0.0.51", None, 0), // controlled station: IEC 104 only
        host(Some(mac(52)), "10.0.0.52", None, 0), // gateway: IEC 104 and DNP3
        host(Some(mac(53)), "10.0.0.53", None, 0), // PLC: IEC 104 and Modbus
        host(Some(mac(54)), "10.0.0.54", None, 0), // engineering: resets a station
    ];
    use OperationClass::*;
    let conversations = vec![
        // Interrogations, commands, clock synchronization, parameters.
        conversation("10.0.0.50", "10.0.0.51", "iec104", &[(Read, 40), (Write, 3), (Configuration, 2)]),
        conversation("10.0.0.50", "10.0.0.52", "iec104", &[(Read, 10)]),
        conversation("10.0.0.50", "10.0.0.52", "dnp3", &[(Read, 10)]),
        conversation("10.0.0.50", "10.0.0.53", "iec104", &[(Read, 10)]),
        conversation("10.0.0.50", "10.0.0.53", "modbus", &[(Read, 10)]),
        conversation("10.0.0.54", "10.0.0.51", "iec104", &[(Control, 1)]),
    ];
    let inv = build(&hosts, &[], &conversations);
    let rtu = asset(&inv, "mac-02:00:00:00:00:33");
    assert_eq!((rtu.role.role, rtu.role.rule), (Role::Rtu, "serves_telecontrol_as_outstation"));
    assert_eq!(rtu.role.evidence, vec!["answers iec104 for 2 client(s)".to_string()]);
    let gateway = asset(&inv, "mac-02:00:00:00:00:34");
    assert_eq!((gateway.role.role, gateway.role.rule), (Role::Rtu, "serves_telecontrol_as_outstation"));
    let plc = asset(&inv, "mac-02:00:00:00:00:35");
    assert_eq!((plc.role.role, plc.role.rule), (Role::Controller, "serves_control_protocols"));
    // Clock synchronization over IEC 104 does not make the SCADA an engineering
    // workstation; a reset process (control) does make its sender one.
    let scada = asset(&inv, "mac-02:00:00:00:00:32");
    assert_eq!(scada.role.role, Role::ScadaServer);
    let ews = asset(&inv, "mac-02:00:00:00:00:36");
    assert_eq!((ews.role.role, ews.role.rule), (Role::EngineeringWorkstation, "sends_engineering_operations"));
}

#[test]
fn an_identity_from_an_unknown_sender_is_counted_not_dropped_silently() {
    let ids = vec![identity(1, "cip.identity", None, "10.7.7.7", 0, &[("vendor", "Acme")])];
    let inv = build(&[], &ids, &[]);
    assert!(inv.assets.is_empty());
    assert_eq!(inv.unplaced_identities, 1);
}

#[test]
fn a_module_reached_through_the_backplane_is_a_module_not_a_second_identity() {
    let adapter = mac(7);
    let hosts = vec![host(Some(adapter), "10.0.0.7", None, 0)];
    let ids = vec![
        identity(
            1,
            "enip.list_identity",
            Some(adapter),
            "10.0.0.7",
            10,
            &[
                ("vendor", "Rockwell Automation/Allen-Bradley"),
                ("device_type", "Communications Adapter"),
                ("product_name", "1756-ENBT/A"),
            ],
        ),
        identity(
            2,
            "cip.identity",
            Some(adapter),
            "10.0.0.7",
            20,
            &[
                ("device_type", "Programmable Logic Controller"),
                ("product_name", "1756-L61/B LOGIX5561"),
                ("route", "1/0"),
            ],
        ),
    ];
    let inv = build(&hosts, &ids, &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:07");
    assert_eq!(a.get(Field::Model), Some("1756-ENBT/A"));
    assert!(a.attributes.iter().all(|x| !x.conflict), "{:#?}", a.attributes);
    assert_eq!(a.modules.len(), 1);
    assert_eq!(a.modules[0].route, "1/0");
    assert_eq!(a.modules[0].attributes.get(&Field::Model).map(String::as_str), Some("1756-L61/B LOGIX5561"));
    assert_eq!((a.role.role, a.role.rule), (Role::Controller, "controller_in_rack"));
    assert!(a.role.evidence[0].contains("1/0"), "{:?}", a.role.evidence);
}

#[test]
fn edges_carry_operations_and_the_trust_they_imply() {
    let hosts = vec![host(Some(mac(10)), "10.0.0.10", None, 0), host(Some(mac(20)), "10.0.0.20", None, 0)];
    use OperationClass::*;
    let mut second = conversation("10.0.0.10", "10.0.0.20", "s7comm", &[(Write, 2), (Read, 5)]);
    second.server_port = 1102;
    let conversations = vec![
        conversation("10.0.0.10", "10.0.0.20", "s7comm", &[(Program, 12), (Read, 3), (Control, 1)]),
        second,
        conversation("10.0.0.10", "10.0.0.99", "http", &[]),
    ];
    let inv = build(&hosts, &[], &conversations);
    assert_eq!(inv.edges.len(), 2, "{:#?}", inv.edges);
    let s7 = inv.edges.iter().find(|e| e.protocol == "s7comm").unwrap();
    assert_eq!((s7.client.id.as_str(), s7.server.id.as_str()), ("mac-02:00:00:00:00:0a", "mac-02:00:00:00:00:14"));
    assert_eq!(s7.ports, vec![502, 1102]);
    assert_eq!((s7.flows, s7.packets, s7.bytes), (2, 20, 2000));
    assert_eq!(s7.operations.get("read"), Some(8));
    // Serialised as class name -> messages, in name order, without empty classes.
    let ops = serde_json::to_string(&s7.operations).unwrap();
    assert_eq!(ops, r#"{"control":1,"program":12,"read":8,"write":2}"#, "{:?}", s7.operations);
    assert_eq!(s7.trust, vec!["controls", "programs", "writes"]);
    let http = inv.edges.iter().find(|e| e.protocol == "http").unwrap();
    assert_eq!((http.server.id.as_str(), http.server.asset), ("ip-10.0.0.99", false));
    assert!(http.trust.is_empty());
}

/// NetBIOS datagrams to a subnet's broadcast address (10.0.0.255, a group
/// end by the frames' MAC) are no edge to a device called 10.0.0.255; the
/// sender still uses the protocol. The same address answering would be a device.
#[test]
fn a_subnets_broadcast_address_is_no_end_of_an_edge() {
    let hosts = vec![host(Some(mac(10)), "10.0.0.10", None, 0)];
    let broadcast = ConversationRow {
        to_group: true,
        transport: "udp".into(),
        server_port: 138,
        ..conversation("10.0.0.10", "10.0.0.255", "nbdgm", &[(OperationClass::Discovery, 3)])
    };
    let inv = build(&hosts, &[], std::slice::from_ref(&broadcast));
    assert!(inv.edges.is_empty(), "{:#?}", inv.edges);
    assert_eq!(inv.assets.len(), 1);
    assert_eq!(inv.assets[0].uses, ["nbdgm"]);
    let answered = ConversationRow { to_group: false, ..broadcast };
    let inv = build(&hosts, &[], &[answered]);
    assert_eq!(inv.edges.len(), 1);
    assert_eq!(inv.edges.iter().next().unwrap().server.id, "ip-10.0.0.255");
}

#[test]
fn a_goose_publisher_is_an_ied_named_by_its_logical_device() {
    let relay = mac(0x30);
    let hosts = vec![HostRow { ip: None, source: HostSource::L2, ..host(Some(relay), "0.0.0.0", Some(3), 0) }];
    let goose = |id, gocb: &str| {
        let mut e = identity(
            id,
            "goose.publisher",
            Some(relay),
            "0.0.0.0",
            100 + id,
            &[("appid", "0x3001"), ("gocb_ref", gocb), ("logical_device", "AA1C1Q01A1LD0"), ("conf_rev", "1")],
        );
        e.src_ip = None;
        e
    };
    let events = vec![goose(1, "AA1C1Q01A1LD0/LLN0$GO$gcb_A"), goose(2, "AA1C1Q01A1LD0/LLN0$GO$gcb_A")];
    let inv = build(&hosts, &events, &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:30");
    assert_eq!((a.role.role, a.role.rule, a.role.level), (Role::Ied, "publishes_iec61850", Some(1)));
    assert_eq!(a.role.evidence, vec!["publishes GOOSE AA1C1Q01A1LD0/LLN0$GO$gcb_A (APPID 0x3001)"]);
    assert_eq!(a.get(Field::Name), Some("AA1C1Q01A1LD0"));
    assert_eq!((a.serves.clone(), a.publishes.len()), (vec!["goose".to_string()], 1));
}

#[test]
fn a_switch_that_announces_bridging_in_lldp_is_a_network_device() {
    let (switch, station) = (mac(0x40), mac(0x41));
    let hosts = vec![
        HostRow { ip: None, source: HostSource::L2, ..host(Some(switch), "0.0.0.0", None, 0) },
        HostRow { ip: None, source: HostSource::L2, ..host(Some(station), "0.0.0.0", None, 0) },
    ];
    let lldp = |id, m, caps: &str| {
        let mut e = identity(
            id,
            "lldp.neighbor",
            Some(m),
            "0.0.0.0",
            100,
            &[("system_name", "sw-cell3"), ("system_description", "SCALANCE X208"), ("enabled_capabilities", caps)],
        );
        e.src_ip = None;
        e
    };
    // A PC that announces "station only" is no network device.
    let inv = build(&hosts, &[lldp(1, switch, "bridge"), lldp(2, station, "station_only")], &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:40");
    assert_eq!((a.role.role, a.role.rule), (Role::NetworkDevice, "lldp_capability_stated"));
    assert_eq!(a.role.evidence, vec!["announces the bridge capability enabled in LLDP"]);
    assert_eq!((a.get(Field::Name), a.get(Field::Description)), (Some("sw-cell3"), Some("SCALANCE X208")));
    assert_eq!(asset(&inv, "mac-02:00:00:00:00:41").role.role, Role::Unknown);
}

#[test]
fn a_switch_that_announces_itself_in_cdp_is_a_network_device_named_with_its_firmware() {
    let (switch, phone) = (mac(0x42), mac(0x43));
    let hosts = vec![
        HostRow { ip: None, source: HostSource::L2, ..host(Some(switch), "0.0.0.0", None, 0) },
        HostRow { ip: None, source: HostSource::L2, ..host(Some(phone), "0.0.0.0", None, 0) },
    ];
    let cdp = |id, m, name: &str, caps: &str| {
        let mut e = identity(
            id,
            "cdp.neighbor",
            Some(m),
            "0.0.0.0",
            100,
            &[
                ("name", name),
                ("model", "cisco WS-CE500-24TT"),
                ("version", "12.2(25)SEG4"),
                ("description", "Cisco IOS Software, CE500 Software (CE500-LANBASE-M), Version 12.2(25)SEG4"),
                ("capabilities", caps),
            ],
        );
        e.src_ip = None;
        e
    };
    // An IP phone announces host and VoIP phone: no network device.
    let inv = build(&hosts, &[cdp(1, switch, "Ns5gt", "switch,igmp"), cdp(2, phone, "SEP00", "host,voip_phone")], &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:42");
    assert_eq!((a.role.role, a.role.rule), (Role::NetworkDevice, "cdp_capability_stated"));
    assert_eq!(a.role.evidence, vec!["announces the bridge capability enabled in CDP"]);
    assert_eq!((a.get(Field::Name), a.get(Field::Model)), (Some("Ns5gt"), Some("cisco WS-CE500-24TT")));
    assert_eq!(a.get(Field::Firmware), Some("12.2(25)SEG4"));
    assert_eq!(asset(&inv, "mac-02:00:00:00:00:43").role.role, Role::Unknown);
}

#[test]
fn safety_controllers_and_relays_are_told_from_their_product_names() {
    use crate::classify::{is_protection_relay, is_safety_product};
    for s in ["1756-L73S/B LOGIX5573S", "1756-L81ES", "5069-L306ERS2", "CPU 1516F-3 PN/DP", "CPU 315F-2 PN/DP"] {
        assert!(is_safety_product(s), "{s}");
    }
    for s in ["CPU 1215FC DC/DC/DC", "IM151-8F PN/DP CPU", "Tricon v11", "HIMax X-CPU 01"] {
        assert!(is_safety_product(s), "{s}");
    }
    for s in
        ["1756-L61/B LOGIX5561", "1769-L33ER", "5069-L306ER", "CPU 315-2 PN/DP", "IM151-8 PN/DP CPU", "1756-ENBT/A"]
    {
        assert!(!is_safety_product(s), "{s}");
    }
    for s in ["SEL-751", "SEL-351S", "SIPROTEC 5", "Multilin F650", "REF615", "MiCOM P443"] {
        assert!(is_protection_relay(s), "{s}");
    }
    for s in ["SELECT", "SEL-", "SEL-3530 RTAC", "SEL-2240", "REFERENCE", "CPU 1516-3"] {
        assert!(!is_protection_relay(s), "{s}");
    }

    // A GuardLogix stating it is a PLC is a safety controller; a relay speaking DNP3 an IED.
    let hosts = vec![host(Some(mac(1)), "10.0.0.1", None, 0), host(Some(mac(2)), "10.0.0.2", None, 0)];
    let events = vec![
        identity(
            1,
            "cip.identity",
            Some(mac(1)),
            "10.0.0.1",
            5,
            &[("device_type", "Programmable Logic Controller"), ("product_name", "1756-L73S/B LOGIX5573S")],
        ),
        identity(2, "dnp3.device_attributes", Some(mac(2)), "10.0.0.2", 5, &[("model", "SEL-751")]),
    ];
    let convs = vec![conversation("10.0.0.9", "10.0.0.2", "dnp3", &[(OperationClass::Read, 5)])];
    let inv = build(&hosts, &events, &convs);
    let plc = asset(&inv, "mac-02:00:00:00:00:01");
    assert_eq!((plc.role.role, plc.role.rule), (Role::SafetyController, "safety_product_stated"));
    assert_eq!(plc.candidates[1].role, Role::Controller, "the controller rule stays a candidate");
    let relay = asset(&inv, "mac-02:00:00:00:00:02");
    assert_eq!((relay.role.role, relay.role.rule), (Role::Ied, "protection_relay_stated"));
    assert!(relay.candidates.iter().any(|d| d.role == Role::Rtu));
}

#[test]
fn historian_and_opc_ua_servers_are_told_from_the_ports_they_answer() {
    let hosts: Vec<HostRow> = (1..=4).map(|i| host(Some(mac(i)), &format!("10.0.0.{i}"), None, 0)).collect();
    let port = |client: &str, server: &str, port: u16, packets: u64| ConversationRow {
        network: None,
        to_group: false,
        server_port: port,
        app_protocol: None,
        packets,
        ..conversation(client, server, "x", &[])
    };
    let convs = vec![
        port("10.0.0.9", "10.0.0.1", 5450, 40),
        port("10.0.0.8", "10.0.0.1", 5450, 40),
        port("10.0.0.9", "10.0.0.2", 4840, 12),
        // A refused or scanned port is not served.
        port("10.0.0.9", "10.0.0.3", 4840, 2),
    ];
    let inv = build(&hosts, &[], &convs);
    let hist = asset(&inv, "mac-02:00:00:00:00:01");
    assert_eq!((hist.role.role, hist.role.level), (Role::Historian, Some(3)));
    assert_eq!(hist.role.evidence, vec!["answers TCP 5450 (PI Data Archive) for 2 client(s)"]);
    let opc = asset(&inv, "mac-02:00:00:00:00:02");
    assert_eq!((opc.role.role, opc.role.rule, opc.role.level), (Role::OpcServer, "serves_opc_ua", Some(2)));
    assert_eq!(asset(&inv, "mac-02:00:00:00:00:03").role.role, Role::Unknown);
    for r in Role::ALL {
        assert_eq!(Role::parse(r.name()), Some(r));
    }
}

#[test]
fn a_name_service_answer_names_the_host_at_the_address_not_the_server() {
    let (resolver, hmi) = (mac(20), mac(21));
    let hosts = vec![host(Some(resolver), "10.0.0.53", None, 0), host(Some(hmi), "10.0.0.21", None, 0)];
    let ids = vec![
        // The resolver answers hmi-1.plant A 10.0.0.21.
        identity(
            1,
            "dns.answer",
            Some(resolver),
            "10.0.0.53",
            100,
            &[("host_name", "hmi-1.plant"), ("address", "10.0.0.21"), ("record", "a"), ("answered_by", "10.0.0.53")],
        ),
        // A name for an address no asset holds is unplaced, not given to the resolver.
        identity(
            2,
            "dns.answer",
            Some(resolver),
            "10.0.0.53",
            100,
            &[("host_name", "www.example"), ("address", "192.0.2.1")],
        ),
        // Without its address it names nobody.
        identity(3, "dns.answer", Some(resolver), "10.0.0.53", 100, &[("host_name", "x.plant")]),
        // The HMI registers its NetBIOS names itself.
        identity(
            4,
            "nbns.registration",
            Some(hmi),
            "10.0.0.21",
            200,
            &[
                ("netbios_name", "HMI-1<20>"),
                ("host_name", "HMI-1"),
                ("role", "file_server"),
                ("group", "false"),
                ("address", "10.0.0.21"),
            ],
        ),
        identity(
            5,
            "nbns.registration",
            Some(hmi),
            "10.0.0.21",
            200,
            &[("netbios_name", "PLANT<00>"), ("workgroup", "PLANT"), ("group", "true"), ("address", "10.0.0.21")],
        ),
        identity(
            6,
            "browser.announcement",
            Some(hmi),
            "10.0.0.21",
            300,
            &[
                ("host_name", "HMI-1"),
                ("roles", "workstation,server,nt_workstation"),
                ("os", "Windows 6.1"),
                ("description", "line 3 HMI"),
                ("address", "10.0.0.21"),
            ],
        ),
    ];
    let inv = build(&hosts, &ids, &[]);
    assert_eq!(inv.unplaced_identities, 2);
    let a = asset(&inv, "mac-02:00:00:00:00:15");
    let names = a.attributes.iter().find(|x| x.field == Field::HostName).unwrap();
    let values: Vec<(&str, Confidence)> = names.values.iter().map(|v| (v.value.as_str(), v.confidence)).collect();
    assert_eq!(values, [("HMI-1", Confidence::High), ("hmi-1.plant", Confidence::Medium)]);
    assert_eq!(a.get(Field::HostName), Some("HMI-1"), "the host's own word leads a resolver's");
    let dns = names.values.iter().find(|v| v.value == "hmi-1.plant").unwrap();
    assert_eq!((dns.first.source.as_str(), dns.first.event_id), ("dns", Some(1)));
    assert_eq!(a.get(Field::Domain), Some("PLANT"));
    assert_eq!(a.get(Field::Os), Some("Windows 6.1"));
    assert_eq!(a.get(Field::Description), Some("line 3 HMI"));
    let services = a.attributes.iter().find(|x| x.field == Field::Services).unwrap();
    let mut s: Vec<&str> = services.values.iter().map(|v| v.value.as_str()).collect();
    s.sort_unstable();
    assert_eq!(s, ["file_server", "nt_workstation", "server", "workstation"]);
    let resolver = asset(&inv, "mac-02:00:00:00:00:14");
    assert_eq!(resolver.get(Field::HostName), None, "the resolver is not named by its answers");
}

fn host_in(net: &str, mac: Option<MacAddr>, ip: &str) -> HostRow {
    HostRow { network: Some(net.to_string()), ..host(mac, ip, None, 0) }
}

/// Two plants reusing 10.0.0.0/24, each with a router (its own MAC) that
/// sends for the addresses behind it: plant A's 10.0.0.5 and plant B's
/// 10.0.0.5 are two devices, with their own identities, names and edges.
fn two_plants(network: impl Fn(&str) -> Option<String>) -> Inventory {
    let mut hosts = Vec::new();
    let mut events = Vec::new();
    let mut conversations = Vec::new();
    for (plant, router) in [("a", mac(0xa1)), ("b", mac(0xb1))] {
        for i in 5..=8 {
            hosts.push(HostRow { network: network(plant), ..host(Some(router), &format!("10.0.0.{i}"), None, 0) });
        }
        let serial = format!("serial-{plant}");
        let mut id = identity(
            1,
            "enip.list_identity",
            Some(router),
            "10.0.0.5",
            10,
            &[("vendor", "Rockwell Automation/Allen-Bradley"), ("serial", &serial)],
        );
        id.network = network(plant);
        events.push(id);
        let name = format!("plc-{plant}");
        let mut answer =
            identity(2, "dns.answer", None, "10.0.0.53", 20, &[("address", "10.0.0.5"), ("host_name", &name)]);
        answer.network = network(plant);
        events.push(answer);
        // A's HMI polls the PLC; B's PLC talks to an address no asset holds.
        let (client, server) = if plant == "a" { ("10.0.0.6", "10.0.0.5") } else { ("10.0.0.5", "10.0.0.99") };
        conversations.push(ConversationRow { network: network(plant), ..conversation(client, server, "enip", &[]) });
    }
    build(&hosts, &events, &conversations)
}

#[test]
fn two_networks_keep_the_same_address_behind_their_routers_apart() {
    let inv = two_plants(|plant| Some(plant.to_string()));
    for plant in ["a", "b"] {
        let plc = asset(&inv, &format!("ip-10.0.0.5@{plant}"));
        assert_eq!(plc.networks, [plant]);
        assert_eq!(plc.get(Field::Serial), Some(format!("serial-{plant}").as_str()), "its own identity");
        assert_eq!(plc.get(Field::HostName), Some(format!("plc-{plant}").as_str()), "named by its own network's DNS");
        assert!(plc.in_network(Some(plant)) && !plc.in_network(None));
        let router = asset(&inv, &format!("mac-02:00:00:00:00:{plant}1"));
        assert_eq!(router.role.rule, "routes_for_many_addresses");
        assert_eq!(router.networks, [plant]);
    }
    assert_eq!(inv.unplaced_identities, 0);
    let edges: Vec<(String, String)> = inv.edges.iter().map(|e| (e.client.id, e.server.id)).collect();
    assert_eq!(
        edges,
        [
            ("ip-10.0.0.5@b".to_string(), "ip-10.0.0.99@b".to_string()),
            ("ip-10.0.0.6@a".to_string(), "ip-10.0.0.5@a".to_string())
        ]
    );
    let doc = serde_json::to_value(asset(&inv, "ip-10.0.0.5@a")).unwrap();
    assert_eq!(doc["networks"], serde_json::json!(["a"]));

    // The same traffic without networks: one address, one device, as before.
    let merged = two_plants(|_| None);
    let plc = asset(&merged, "ip-10.0.0.5");
    assert_eq!(plc.networks, [""]);
    assert!(plc.in_network(None));
    assert!(merged.assets.iter().all(|a| !a.id.contains('@')));
    let doc = serde_json::to_value(plc).unwrap();
    assert!(doc.get("networks").is_none(), "the unnamed network alone is left out of the document");
}

#[test]
fn one_mac_in_two_networks_is_one_asset_listing_both() {
    let laptop = mac(0x10);
    let hosts = vec![
        host_in("b", Some(laptop), "10.0.0.20"),
        host_in("a", Some(laptop), "10.0.0.20"),
        host(Some(laptop), "192.168.0.20", None, 0),
    ];
    let inv = build(&hosts, &[], &[]);
    assert_eq!(inv.assets.len(), 1);
    let a = asset(&inv, "mac-02:00:00:00:00:10");
    assert_eq!(a.networks, ["", "a", "b"]);
    assert_eq!(a.ips, [ip("10.0.0.20"), ip("192.168.0.20")]);
    let doc = serde_json::to_value(a).unwrap();
    assert_eq!(doc["networks"], serde_json::json!(["", "a", "b"]));
}

#[test]
fn address_ids_add_nothing_in_the_unnamed_network() {
    assert_eq!(address_id(ip("10.0.0.5"), None, None), "ip-10.0.0.5");
    assert_eq!(address_id(ip("10.0.0.5"), Some(10), Some("")), "ip-10.0.0.5-vlan10");
    assert_eq!(address_id(ip("fe80::1"), Some(10), Some("plant-a")), "ip-fe80::1-vlan10@plant-a");
    assert_eq!(parse_address_id("ip-fe80::1-vlan10@plant-a"), Some((ip("fe80::1"), Some("plant-a"))));
    assert_eq!(parse_address_id("ip-10.0.0.5-vlan10"), Some((ip("10.0.0.5"), None)));
    assert_eq!(parse_address_id("ip-10.0.0.5@b"), Some((ip("10.0.0.5"), Some("b"))));
    assert_eq!(parse_address_id("mac-02:00:00:00:00:01"), None);
}

#[test]
fn a_host_announcing_a_domain_controller_is_an_it_host_unless_it_answers_control_protocols() {
    let (dc, gateway) = (mac(0x20), mac(0x21));
    let hosts = vec![host(Some(dc), "10.0.0.10", None, 0), host(Some(gateway), "10.0.0.11", None, 0)];
    let announce = |id: i64, mac: MacAddr, ip: &str, roles: &str| {
        identity(
            id,
            "browser.announcement",
            Some(mac),
            ip,
            100,
            &[("host_name", "X"), ("roles", roles), ("address", ip)],
        )
    };
    let ids = vec![
        announce(1, dc, "10.0.0.10", "workstation,server,domain_controller,time_source"),
        announce(2, gateway, "10.0.0.11", "workstation,server,backup_domain_controller"),
    ];
    // The gateway also answers Modbus: the controller rule outweighs the announcement.
    let inv = build(&hosts, &ids, &[conversation("10.0.0.20", "10.0.0.11", "modbus", &[])]);
    let a = asset(&inv, "mac-02:00:00:00:00:20");
    assert_eq!((a.role.role, a.role.rule, a.role.level), (Role::ItHost, "announces_domain_controller", Some(4)));
    assert_eq!(a.role.evidence, ["announces domain_controller (browser.announcement)"]);
    let g = asset(&inv, "mac-02:00:00:00:00:21");
    assert_eq!(g.role.rule, "serves_control_protocols");
    let candidate = g.candidates.iter().find(|d| d.rule == "announces_domain_controller").unwrap();
    assert_eq!(candidate.evidence, ["announces backup_domain_controller (browser.announcement)"]);
}

#[test]
fn the_ends_of_an_iccp_link_are_scada_servers_not_ieds() {
    let hosts = vec![
        host(Some(mac(60)), "10.101.1.2", None, 0), // ICCP server (answers the TASE.2 objects)
        host(Some(mac(61)), "10.101.1.3", None, 0), // ICCP client (reads them)
        host(Some(mac(62)), "10.0.0.62", None, 0),  // an IEC 61850 IED: MMS only, no TASE.2
        host(Some(mac(63)), "10.0.0.63", None, 0),  // its station computer
    ];
    use OperationClass::*;
    let conversations = vec![
        conversation("10.101.1.3", "10.101.1.2", "mms", &[(Read, 40)]),
        conversation("10.0.0.63", "10.0.0.62", "mms", &[(Read, 40)]),
    ];
    let server = identity(
        1,
        "mms.tase2",
        Some(mac(60)),
        "10.101.1.2",
        100,
        &[("services", "iccp_server"), ("bilateral_table", "KIRKLAND"), ("tase2_version", "1996.8")],
    );
    let client = identity(2, "mms.tase2_client", Some(mac(61)), "10.101.1.3", 90, &[("services", "iccp_client")]);
    let inv = build(&hosts, &[server, client], &conversations);
    let s = asset(&inv, "mac-02:00:00:00:00:3c");
    assert_eq!((s.role.role, s.role.rule, s.role.level), (Role::ScadaServer, "serves_iccp", Some(2)));
    assert_eq!(s.role.evidence, vec!["answers the ICCP (TASE.2) association objects (mms.tase2)"]);
    let c = asset(&inv, "mac-02:00:00:00:00:3d");
    assert_eq!((c.role.role, c.role.rule), (Role::ScadaServer, "serves_iccp"));
    // Without the TASE.2 objects an MMS-only server stays an IED.
    let ied = asset(&inv, "mac-02:00:00:00:00:3e");
    assert_eq!((ied.role.role, ied.role.rule), (Role::Ied, "serves_mms_as_ied"));
}

#[test]
fn services_are_a_set_not_a_conflict() {
    let node = mac(64);
    let hosts = vec![host(Some(node), "10.101.1.4", None, 0)];
    let e = |id, name, service| identity(id, name, Some(node), "10.101.1.4", 100 + id, &[("services", service)]);
    let inv = build(&hosts, &[e(1, "mms.tase2", "iccp_server"), e(2, "mms.tase2_client", "iccp_client")], &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:40");
    let services = a.attributes.iter().find(|x| x.field == Field::Services).unwrap();
    assert_eq!(services.values.len(), 2);
    assert!(!services.conflict);
    // A field with one true value still conflicts.
    let fw = |id, v| identity(id, "mms.identify", Some(node), "10.101.1.4", 100 + id, &[("revision", v)]);
    let inv = build(&hosts, &[fw(1, "2.3.1"), fw(2, "2.4.0")], &[]);
    let a = asset(&inv, "mac-02:00:00:00:00:40");
    assert!(a.attributes.iter().find(|x| x.field == Field::Firmware).unwrap().conflict);
}

#[test]
fn a_pmu_streaming_synchrophasors_is_an_ied_and_its_pdc_no_it_host() {
    let hosts: Vec<HostRow> = (1..=2).map(|i| host(Some(mac(i)), &format!("10.0.0.{i}"), None, 0)).collect();
    let events =
        vec![identity(1, "c37118.pmu", Some(mac(1)), "10.0.0.1", 5, &[("station", "Blue PMU"), ("name", "Blue PMU")])];
    let convs = vec![conversation("10.0.0.2", "10.0.0.1", "c37118", &[(OperationClass::Control, 2)])];
    let inv = build(&hosts, &events, &convs);
    let pmu = asset(&inv, "mac-02:00:00:00:00:01");
    assert_eq!((pmu.role.role, pmu.role.rule, pmu.role.level), (Role::Ied, "serves_synchrophasor_data", Some(1)));
    assert_eq!(pmu.get(Field::Name), Some("Blue PMU"));
    let pdc = asset(&inv, "mac-02:00:00:00:00:02");
    assert_ne!(pdc.role.role, Role::ItHost, "a PDC polling PMUs is no IT host");
    assert_ne!(pdc.role.role, Role::EngineeringWorkstation, "turning a stream on and off is routine");
}
