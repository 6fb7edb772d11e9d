#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::too_many_arguments)]

use super::*;
use crate::checks::support_tool;
use otposture_model::{EventKind, FlowId, HostSource, MacAddr, OperationClass};
use otposture_store::{Attributes, CaptureId, ClassCount, ConversationRow, HostRow, RoleOverride};
use std::net::IpAddr;

/// A small plant: hosts by (last octet of 192.168.x.y or a full address, role).
struct Plant {
    hosts: Vec<HostRow>,
    conversations: Vec<ConversationRow>,
    events: Vec<EventRow>,
    attempts: Vec<otposture_store::EmptyAttempts>,
    roles: Vec<RoleOverride>,
}

fn mac(n: usize) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, (n >> 8) as u8, n as u8])
}

impl Plant {
    fn new() -> Self {
        Plant {
            hosts: Vec::new(),
            conversations: Vec::new(),
            events: Vec::new(),
            roles: Vec::new(),
            attempts: Vec::new(),
        }
    }

    /// A host with a MAC (id `mac-02:00:00:00:00:NN`) and a role.
    fn host(&mut self, ip: &str, role: &str) -> String {
        let n = self.hosts.len() + 1;
        self.hosts.push(HostRow {
            network: None,
            id: n as i64,
            mac: Some(mac(n)),
            ip: Some(ip.parse().unwrap()),
            vlan: None,
            first_seen: String::new(),
            first_seen_ns: 1_000,
            last_seen: String::new(),
            last_seen_ns: 2_000,
            source: HostSource::Ip,
            host_name: None,
            vendor_class: None,
            flows_as_client: 0,
            flows_as_server: 0,
            packets_sent: 0,
            bytes_sent: 0,
            packets_received: 0,
            bytes_received: 0,
        });
        let id = format!("mac-{}", mac(n));
        self.roles.push(RoleOverride {
            asset_id: id.clone(),
            role: role.to_string(),
            reason: "test".into(),
            set_by: "test".into(),
            set_at_secs: 0,
        });
        id
    }

    fn talk(&mut self, client: &str, server: &str, protocol: &str, port: u16, requests: &[(OperationClass, u64)]) {
        self.conversations.push(ConversationRow {
            network: None,
            to_group: false,
            client_ip: client.parse().unwrap(),
            server_ip: server.parse().unwrap(),
            vlan: None,
            transport: "tcp".into(),
            server_port: port,
            app_protocol: (protocol != "tcp").then(|| protocol.to_string()),
            flows: 1,
            packets: 10,
            bytes: 1_000,
            first_seen_ns: 1_500,
            last_seen_ns: 1_900,
            requests: requests.iter().map(|&(class, messages)| ClassCount { class, messages }).collect(),
            responses: Vec::new(),
        });
    }

    fn event(
        &mut self,
        src: &str,
        dst: &str,
        protocol: &str,
        kind: EventKind,
        name: &str,
        class: Option<OperationClass>,
        attrs: &[(&str, &str)],
    ) {
        let id = self.events.len() as i64 + 1;
        self.events.push(EventRow {
            network: None,
            id,
            capture_id: CaptureId(1),
            ts: String::new(),
            ts_ns: 1_600 + id,
            packet: id as u64,
            flow_id: Some(FlowId(77)),
            protocol: protocol.into(),
            kind,
            name: name.into(),
            class,
            src_mac: None,
            src_ip: Some(src.parse::<IpAddr>().unwrap()),
            dst_ip: Some(dst.parse::<IpAddr>().unwrap()),
            attributes: Attributes(attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        });
    }

    fn assess(&self, site: Option<&Site>) -> Vec<Finding> {
        let mut inventory = otposture_inventory::build(&self.hosts, &[], &self.conversations);
        let unused = otposture_inventory::apply_overrides(&mut inventory, &self.roles);
        assert!(unused.is_empty(), "every test host is an asset");
        assess(&Facts {
            site,
            inventory: &inventory,
            events: &self.events,
            vulns: &[],
            deviations: &[],
            attempts: &self.attempts,
        })
    }
}

const SITE: &str = "
[site]
name = 'test plant'
[[zone]]
name = 'enterprise'
level = 4
cidrs = ['10.0.0.0/16']
[[zone]]
name = 'dmz'
level = 3
dmz = true
cidrs = ['172.16.0.0/24']
[[zone]]
name = 'ops'
level = 3
cidrs = ['192.168.3.0/24']
[[zone]]
name = 'hmi'
level = 2
cidrs = ['192.168.2.0/24']
[[zone]]
name = 'cell'
level = 1
cidrs = ['192.168.1.0/24']
[[conduit]]
name = 'hmi-cell'
from = 'hmi'
to = 'cell'
protocols = ['modbus']
operations = ['read', 'write']
[[conduit]]
name = 'ops-hmi'
from = 'ops'
to = 'hmi'
protocols = ['opcua']
";

fn site() -> Site {
    Site::parse(SITE).unwrap()
}

fn checks(f: &[Finding]) -> Vec<(&str, &str)> {
    f.iter().map(|f| (f.check, f.key.as_str())).collect()
}

fn one<'a>(f: &'a [Finding], check: &str) -> &'a Finding {
    let found: Vec<_> = f.iter().filter(|x| x.check == check).collect();
    assert_eq!(found.len(), 1, "one {check}: {:#?}", checks(f));
    found[0]
}

#[test]
fn traffic_a_conduit_allows_makes_no_finding() {
    let mut p = Plant::new();
    p.host("192.168.2.10", "hmi");
    p.host("192.168.1.20", "controller");
    p.host("192.168.3.5", "historian");
    p.talk("192.168.2.10", "192.168.1.20", "modbus", 502, &[(OperationClass::Read, 100), (OperationClass::Write, 3)]);
    p.talk("192.168.3.5", "192.168.2.10", "opcua", 4840, &[(OperationClass::Read, 50)]);
    let f = p.assess(Some(&site()));
    assert!(f.is_empty(), "{:#?}", checks(&f));
}

#[test]
fn a_zone_crossing_no_conduit_allows_is_a_finding_with_its_edge() {
    let mut p = Plant::new();
    let hmi = p.host("192.168.2.10", "hmi");
    let plc = p.host("192.168.1.20", "controller");
    p.talk("192.168.2.10", "192.168.1.20", "s7comm", 102, &[(OperationClass::Read, 10)]);
    let f = p.assess(Some(&site()));
    let x = one(&f, "segmentation.no_conduit");
    assert_eq!(x.key, "hmi>cell:s7comm");
    assert_eq!(x.severity, Severity::High, "level 1 is involved");
    assert_eq!(
        x.assets,
        [hmi.clone(), plc.clone()]
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(x.zones, ["cell", "hmi"]);
    assert_eq!(x.evidence[0].client.as_deref(), Some(hmi.as_str()));
    assert_eq!((x.evidence[0].first_seen_ns, x.evidence[0].last_seen_ns), (1_500, 1_900));
    assert_eq!(x.id, finding_id("segmentation.no_conduit", "hmi>cell:s7comm"));
    assert!(x.attack.contains(&"T0886"));
    // The reverse direction is another crossing: the conduit is one-way.
    let mut p = Plant::new();
    p.host("192.168.2.10", "hmi");
    p.host("192.168.1.20", "controller");
    p.talk("192.168.1.20", "192.168.2.10", "modbus", 502, &[(OperationClass::Read, 1)]);
    assert_eq!(one(&p.assess(Some(&site())), "segmentation.no_conduit").key, "cell>hmi:modbus");
}

#[test]
fn an_operation_the_conduit_does_not_allow_is_a_finding() {
    let mut p = Plant::new();
    p.host("192.168.2.10", "hmi");
    p.host("192.168.1.20", "controller");
    p.talk("192.168.2.10", "192.168.1.20", "modbus", 502, &[(OperationClass::Read, 10), (OperationClass::Program, 2)]);
    let f = p.assess(Some(&site()));
    let x = one(&f, "segmentation.operation_not_allowed");
    assert_eq!(x.key, "hmi>cell:modbus:program");
    assert_eq!(x.severity, Severity::High);
    assert_eq!(x.evidence[0].count, 2);
    assert_eq!(x.attack, ["T0843"]);
    // The program transfer is also a risky operation in its own right.
    one(&f, "operations.program_transfer");
}

#[test]
fn it_to_control_and_dmz_bypass() {
    let mut p = Plant::new();
    p.host("10.0.5.5", "it_host");
    p.host("192.168.1.20", "controller");
    p.host("192.168.3.5", "historian");
    p.talk("10.0.5.5", "192.168.1.20", "http", 80, &[(OperationClass::Read, 4)]);
    p.talk("10.0.5.5", "192.168.3.5", "opcua", 4840, &[(OperationClass::Read, 4)]);
    let f = p.assess(Some(&site()));
    let it = one(&f, "segmentation.it_to_control");
    assert_eq!(it.severity, Severity::High);
    let bypass = one(&f, "segmentation.dmz_bypass");
    assert_eq!(bypass.key, "enterprise>ops");
    // Through the DMZ: no bypass.
    let mut p = Plant::new();
    p.host("172.16.0.9", "historian");
    p.host("192.168.3.5", "historian");
    p.talk("172.16.0.9", "192.168.3.5", "opcua", 4840, &[(OperationClass::Read, 4)]);
    let f = p.assess(Some(&site()));
    assert!(f.iter().all(|x| x.check != "segmentation.dmz_bypass"), "{:#?}", checks(&f));
}

#[test]
fn a_controller_talking_to_the_internet_is_critical_even_without_a_site_file() {
    let mut p = Plant::new();
    let plc = p.host("192.168.1.20", "controller");
    p.talk("192.168.1.20", "93.184.216.34", "tls", 443, &[]);
    let f = p.assess(None);
    let x = one(&f, "segmentation.controller_internet");
    assert_eq!((x.severity, x.key.as_str()), (Severity::Critical, plc.as_str()));
    assert!(x.attack.contains(&"T0883"));
    assert_eq!(one(&f, "segmentation.it_to_control").severity, Severity::Critical);
    // Without a site file no zone checks run.
    assert!(f.iter().all(|x| !x.check.starts_with("site.") && x.check != "segmentation.no_conduit"));
}

#[test]
fn remote_access_into_ot_names_who_used_it() {
    let mut p = Plant::new();
    let laptop = p.host("10.0.5.5", "it_host");
    let hmi = p.host("192.168.2.10", "hmi");
    p.talk("10.0.5.5", "192.168.2.10", "rdp", 3389, &[(OperationClass::Authentication, 1)]);
    p.talk("192.168.2.11", "192.168.2.10", "tcp", 5938, &[]);
    p.talk("10.0.5.5", "10.0.9.9", "ssh", 22, &[]);
    let f = p.assess(Some(&site()));
    let rdp = f.iter().find(|x| x.key == format!("{hmi}:RDP")).expect("RDP finding");
    assert_eq!(rdp.severity, Severity::High, "from level 4");
    assert_eq!(rdp.evidence[0].client.as_deref(), Some(laptop.as_str()));
    assert!(rdp.evidence[0].what.contains("used by 10.0.5.5"), "{}", rdp.evidence[0].what);
    let tv = f.iter().find(|x| x.key == format!("{hmi}:TeamViewer (port 5938)")).expect("TeamViewer by port");
    assert_eq!(tv.severity, Severity::Medium, "from inside the zone");
    assert!(
        !f.iter().any(|x| x.check == "exposure.remote_access" && x.key.starts_with("ip-10.0.9.9")),
        "IT to IT is not OT exposure"
    );
}

#[test]
fn insecure_protocols_from_observations() {
    let mut p = Plant::new();
    let hmi = p.host("192.168.2.10", "hmi");
    let plc = p.host("192.168.1.20", "controller");
    p.host("10.0.5.5", "it_host");
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "telnet",
        EventKind::Operation,
        "login",
        Some(OperationClass::Authentication),
        &[("user", "admin")],
    );
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "ftp",
        EventKind::Operation,
        "pass",
        Some(OperationClass::Authentication),
        &[],
    );
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "http",
        EventKind::Operation,
        "authenticate",
        Some(OperationClass::Authentication),
        &[("scheme", "digest")],
    );
    p.event(
        "192.168.1.20",
        "192.168.2.10",
        "opcua",
        EventKind::Identity,
        "opcua.endpoint",
        None,
        &[("security_mode", "none")],
    );
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "opcua",
        EventKind::Operation,
        "activate_session",
        Some(OperationClass::Authentication),
        &[("token_type", "anonymous")],
    );
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "snmp",
        EventKind::Anomaly,
        "snmp.weak_security",
        None,
        &[("version", "v2c"), ("weakness", "cleartext_community")],
    );
    // DNP3 operate from IT, without secure authentication; and one from the HMI zone that carries it.
    p.event(
        "10.0.5.5",
        "192.168.1.20",
        "dnp3",
        EventKind::Operation,
        "operate",
        Some(OperationClass::Write),
        &[("message", "request")],
    );
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "dnp3",
        EventKind::Operation,
        "operate",
        Some(OperationClass::Write),
        &[("message", "request"), ("secure_authentication", "true")],
    );
    let f = p.assess(Some(&site()));
    let keys: Vec<_> =
        f.iter().filter(|x| x.check.starts_with("insecure.")).map(|x| (x.check, x.key.clone())).collect();
    let mut want = vec![
        ("insecure.cleartext_login", format!("{plc}:ftp")),
        ("insecure.cleartext_login", format!("{plc}:telnet")),
        ("insecure.dnp3_unauthenticated_control", format!("{plc}:dnp3")),
        ("insecure.opcua_anonymous", format!("{plc}:opcua")),
        ("insecure.opcua_no_security", format!("{plc}:opcua")),
        ("insecure.snmp_community", format!("{}:snmp", if hmi > plc { &hmi } else { &plc })),
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want, "HTTP Digest is not a cleartext login; authenticated DNP3 is not flagged");
    let dnp3 = f.iter().find(|x| x.check == "insecure.dnp3_unauthenticated_control").unwrap();
    assert_eq!(dnp3.evidence_total, 1, "the authenticated operate is not evidence");
    assert_eq!(dnp3.evidence[0].event_id, Some(7));
}

#[test]
fn risky_operations_and_unexpected_writers() {
    let mut p = Plant::new();
    p.host("192.168.2.10", "engineering_workstation");
    p.host("192.168.2.11", "it_host");
    p.host("192.168.1.20", "controller");
    p.talk(
        "192.168.2.10",
        "192.168.1.20",
        "s7comm",
        102,
        &[(OperationClass::Program, 12), (OperationClass::Control, 1)],
    );
    p.talk("192.168.2.11", "192.168.1.20", "s7comm", 102, &[(OperationClass::Write, 5), (OperationClass::Firmware, 1)]);
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "s7comm",
        EventKind::Operation,
        "download_block",
        Some(OperationClass::Program),
        &[],
    );
    p.event(
        "192.168.2.10",
        "192.168.1.20",
        "s7comm",
        EventKind::Operation,
        "plc_stop",
        Some(OperationClass::Control),
        &[],
    );
    let f = p.assess(None);
    let program = one(&f, "operations.program_transfer");
    assert_eq!(program.severity, Severity::Medium, "from the engineering workstation");
    assert!(program.evidence[0].what.contains("download_block x1"), "{}", program.evidence[0].what);
    assert_eq!(program.evidence[0].event_id, Some(1));
    assert_eq!(program.attack, ["T0843", "T0845"]);
    assert_eq!(one(&f, "operations.run_state_change").severity, Severity::Medium);
    assert_eq!(one(&f, "operations.firmware_update").severity, Severity::Critical, "firmware from an IT host");
    let writer = one(&f, "operations.unexpected_writer");
    assert!(writer.title.contains("it_host"), "{}", writer.title);
}

/// CIP operations travel in EtherNet/IP flows (edges `enip`), S7comm-plus in
/// S7comm's (edges `s7comm`): the finding names them and links the first.
#[test]
fn operations_carried_in_another_protocols_flows_are_the_findings_evidence() {
    let mut p = Plant::new();
    p.host("192.168.10.105", "engineering_workstation");
    p.host("192.168.10.120", "controller");
    p.host("192.168.10.121", "controller");
    p.host("192.168.10.22", "it_host");
    p.talk("192.168.10.105", "192.168.10.120", "enip", 44818, &[(OperationClass::Firmware, 3)]);
    p.talk("192.168.10.22", "192.168.10.121", "s7comm", 102, &[(OperationClass::Write, 1)]);
    for name in ["nvs_update", "nvs_transfer", "nvs_transfer"] {
        p.event(
            "192.168.10.105",
            "192.168.10.120",
            "cip",
            EventKind::Operation,
            name,
            Some(OperationClass::Firmware),
            &[],
        );
    }
    p.event(
        "192.168.10.22",
        "192.168.10.121",
        "s7comm-plus",
        EventKind::Operation,
        "s7comm_plus_set_variable",
        Some(OperationClass::Write),
        &[],
    );
    let f = p.assess(None);
    let firmware = one(&f, "operations.firmware_update");
    assert!(
        firmware.evidence[0].what.ends_with("3 firmware requests (nvs_transfer x2, nvs_update x1)"),
        "{}",
        firmware.evidence[0].what
    );
    assert_eq!(firmware.evidence[0].event_id, Some(1));
    let writer = one(&f, "operations.unexpected_writer");
    assert!(writer.evidence[0].what.ends_with("(s7comm_plus_set_variable x1)"), "{}", writer.evidence[0].what);
    assert_eq!(writer.evidence[0].event_id, Some(4));
}

/// `modbus/modbusSmall.pcap`: 118.189.96.132 writes coils to its own Modbus
/// server (client and server the same address): no other device writes to the
/// controller, so no unexpected writer.
#[test]
fn a_controller_writing_to_itself_is_no_unexpected_writer() {
    let mut p = Plant::new();
    p.host("192.168.1.20", "controller");
    p.talk("192.168.1.20", "192.168.1.20", "modbus", 502, &[(OperationClass::Write, 8)]);
    assert!(p.assess(None).iter().all(|f| f.check != "operations.unexpected_writer"));
    // Another device writing to it still is one.
    p.host("192.168.1.21", "controller");
    p.talk("192.168.1.21", "192.168.1.20", "modbus", 502, &[(OperationClass::Write, 8)]);
    assert_eq!(one(&p.assess(None), "operations.unexpected_writer").evidence[0].count, 8);
}

#[test]
fn assets_in_no_zone_are_listed_when_a_site_file_is_applied() {
    let mut p = Plant::new();
    let stray = p.host("192.168.77.7", "it_host");
    p.host("192.168.1.20", "controller");
    let f = p.assess(Some(&site()));
    assert_eq!(checks(&f), [("site.unzoned_asset", stray.as_str())]);
}

#[test]
fn vulnerable_firmware_takes_the_graver_decision() {
    let mut p = Plant::new();
    let plc = p.host("192.168.1.20", "controller");
    let mut inventory = otposture_inventory::build(&p.hosts, &[], &p.conversations);
    otposture_inventory::apply_overrides(&mut inventory, &p.roles);
    let v = |decision: &str, cve: &str| VulnFact {
        asset: plc.clone(),
        advisory: "ICSA-24-001-01".into(),
        cve: Some(cve.into()),
        title: "overflow".into(),
        decision: decision.into(),
        path: String::new(),
        kev: false,
    };
    let vulns = [v("attend", "CVE-1"), v("act", "CVE-2"), v("track", "CVE-3")];
    let f = assess(&Facts {
        site: None,
        inventory: &inventory,
        events: &[],
        vulns: &vulns,
        deviations: &[],
        attempts: &[],
    });
    let x = one(&f, "firmware.vulnerable");
    assert_eq!(x.severity, Severity::Critical);
    assert_eq!(x.evidence_total, 2, "track is not evidence");
}

#[test]
fn findings_come_gravest_first_and_ids_are_stable() {
    assert_eq!(finding_id("a", "b"), finding_id("a", "b"));
    assert_ne!(finding_id("a", "b"), finding_id("a\0b", ""));
    assert_eq!(finding_id("a", "b").len(), 17);
    let mut p = Plant::new();
    p.host("192.168.1.20", "controller");
    p.host("192.168.77.7", "it_host");
    p.talk("192.168.1.20", "93.184.216.34", "tls", 443, &[]);
    let f = p.assess(Some(&site()));
    assert!(f.windows(2).all(|w| w[0].severity >= w[1].severity), "{:#?}", checks(&f));
}

#[test]
fn remote_support_tools_on_ot_hosts_by_name_and_by_port() {
    let mut p = Plant::new();
    let hmi = p.host("192.168.2.10", "hmi");
    let ews = p.host("192.168.3.7", "engineering_workstation");
    p.host("10.0.5.5", "it_host");
    p.host("192.168.3.53", "it_host");
    p.event(
        "192.168.2.10",
        "93.184.216.34",
        "tls",
        EventKind::Identity,
        "tls.client_hello",
        None,
        &[("sni", "router7.teamviewer.com")],
    );
    p.event(
        "192.168.3.53",
        "192.168.3.7",
        "dns",
        EventKind::Identity,
        "dns.answer",
        None,
        &[("host_name", "relay-1.net.anydesk.com."), ("address", "1.2.3.4")],
    );
    // An IT host may run what it likes; a look-alike name is not the service.
    p.event(
        "10.0.5.5",
        "93.184.216.34",
        "tls",
        EventKind::Identity,
        "tls.client_hello",
        None,
        &[("sni", "teamviewer.com")],
    );
    p.event(
        "192.168.2.10",
        "93.184.216.34",
        "tls",
        EventKind::Identity,
        "tls.client_hello",
        None,
        &[("sni", "notteamviewer.com")],
    );
    // TeamViewer's port, outbound from the EWS to a broker on the internet.
    p.talk("192.168.3.7", "93.184.216.40", "tcp", 5938, &[]);
    let f = p.assess(Some(&site()));
    let mut got: Vec<_> =
        f.iter().filter(|x| x.check == "exposure.remote_support_tool").map(|x| x.key.clone()).collect();
    got.sort();
    let mut want = vec![format!("{hmi}:TeamViewer"), format!("{ews}:AnyDesk"), format!("{ews}:TeamViewer (port 5938)")];
    want.sort();
    assert_eq!(got, want, "{:#?}", checks(&f));
    let tv = f.iter().find(|x| x.key == format!("{hmi}:TeamViewer")).unwrap();
    assert_eq!(tv.severity, Severity::High);
    assert_eq!(tv.evidence[0].what, "TLS server name router7.teamviewer.com");
    assert_eq!(support_tool("TEAMVIEWER.COM."), Some("TeamViewer"));
}

#[test]
fn a_host_answering_for_many_names_is_a_name_poisoner() {
    let mut p = Plant::new();
    let rogue = p.host("192.168.2.66", "it_host");
    p.host("192.168.2.10", "hmi");
    for name in ["fileserver", "wpad", "historian01"] {
        p.event(
            "192.168.2.66",
            "192.168.2.10",
            "llmnr",
            EventKind::Identity,
            "llmnr.answer",
            None,
            &[("host_name", name), ("address", "192.168.2.66"), ("answered_by", "192.168.2.66")],
        );
    }
    // An honest host answers for itself, in two NetBIOS suffixes.
    for name in ["HMI01<00>", "HMI01<20>"] {
        p.event(
            "192.168.2.10",
            "192.168.2.66",
            "nbns",
            EventKind::Identity,
            "nbns.answer",
            None,
            &[("netbios_name", name), ("address", "192.168.2.10"), ("answered_by", "192.168.2.10")],
        );
    }
    // A DNS-style answer for another address is not poisoning.
    p.event(
        "192.168.2.10",
        "192.168.2.66",
        "llmnr",
        EventKind::Identity,
        "llmnr.answer",
        None,
        &[("host_name", "x"), ("address", "192.168.2.1"), ("answered_by", "192.168.2.10")],
    );
    let f = p.assess(None);
    let x = one(&f, "insecure.name_poisoning");
    assert_eq!((x.key.as_str(), x.severity), (rogue.as_str(), Severity::High));
    assert!(
        x.evidence[0].what.starts_with("answered 3 names with its own address: fileserver, historian01, wpad"),
        "{}",
        x.evidence[0].what
    );
}

/// Two plants reusing 192.168.1.0/24, each cell a zone of its own network.
#[test]
fn zones_of_a_network_place_only_that_networks_assets_and_addresses() {
    let mut p = Plant::new();
    let a = p.host("192.168.1.10", "controller");
    let b = p.host("192.168.1.10", "controller");
    let anywhere = p.host("10.0.0.9", "it_host");
    p.hosts[0].network = Some("plant-a".into());
    p.hosts[1].network = Some("plant-b".into());
    let site = Site::parse(
        "[site]\nname = 'two plants'
[[zone]]
name = 'cell-a'
level = 1
network = 'plant-a'
cidrs = ['192.168.1.0/24']
[[zone]]
name = 'cell-b'
level = 2
network = 'plant-b'
cidrs = ['192.168.1.0/24']
[[zone]]
name = 'it'
level = 4
cidrs = ['10.0.0.0/8', '192.168.0.0/16']
",
    )
    .unwrap();
    let mut inventory = otposture_inventory::build(&p.hosts, &[], &[]);
    otposture_inventory::apply_overrides(&mut inventory, &p.roles);
    let placing = Placing::new(Some(&site), &inventory);
    let zone = |id: &str| placing.of(id).zone;
    assert_eq!(zone(&a).as_deref(), Some("cell-a"));
    assert_eq!(zone(&b).as_deref(), Some("cell-b"));
    assert_eq!(zone(&anywhere).as_deref(), Some("it"), "a zone without a network holds any network's addresses");
    // Addresses no asset holds, in their networks.
    assert_eq!(zone("ip-192.168.1.99@plant-b").as_deref(), Some("cell-b"));
    assert_eq!(zone("ip-192.168.1.99").as_deref(), Some("it"));
    // An event's address is the asset of the event's network.
    let ip: IpAddr = "192.168.1.10".parse().unwrap();
    assert_eq!(placing.id_of_ip(Some("plant-a"), ip), a);
    assert_eq!(placing.id_of_ip(Some("plant-b"), ip), b);
    assert_eq!(placing.id_of_ip(None, ip), "ip-192.168.1.10");
    assert_eq!(placing.id_of_ip(Some("plant-c"), ip), "ip-192.168.1.10@plant-c");
    let asset = inventory.assets.iter().find(|x| x.id == b).unwrap();
    let by = zone_for(&site, &b, &asset.networks, &asset.ips, &asset.vlans).map(|(z, _)| z.name.as_str());
    assert_eq!(by, Some("cell-b"));
    assert_eq!(zone_for(&site, &b, &[], &asset.ips, &asset.vlans).map(|(z, _)| z.name.as_str()), Some("it"));
}

#[test]
fn another_protocol_on_a_controllers_industrial_port_is_a_finding_per_server_port_and_protocol() {
    let mut p = Plant::new();
    let plc = p.host("192.168.1.20", "controller");
    p.host("192.168.2.10", "hmi");
    p.host("192.168.3.5", "engineering_workstation");
    let misuse = |p: &mut Plant, src: &str, port: &str, expected: &str, found: &str| {
        let attrs = [("port", port), ("expected", expected), ("found", found)];
        p.event(src, "192.168.1.20", "tcp", EventKind::Anomaly, "port.unexpected_protocol", None, &attrs);
    };
    // SSH from the HMI over the Modbus port: a tunnel, high.
    misuse(&mut p, "192.168.2.10", "502", "modbus", "ssh");
    // Unknown bytes from the engineering workstation to port 102: medium.
    misuse(&mut p, "192.168.3.5", "102", "s7comm,mms", "unidentified");
    // HTTP on the same port from another client: a finding of its own.
    misuse(&mut p, "192.168.3.5", "502", "modbus", "http");
    // SSH again, from another client: the same finding, a second evidence.
    misuse(&mut p, "192.168.3.5", "502", "modbus", "ssh");
    // DNS to BACnet's UDP port.
    let attrs = [("port", "47808"), ("expected", "bacnet"), ("found", "dns")];
    p.event("192.168.2.10", "192.168.1.20", "udp", EventKind::Anomaly, "port.unexpected_protocol", None, &attrs);
    // Another event of the tcp protocol is no misuse.
    p.event("192.168.2.10", "192.168.1.20", "tcp", EventKind::Anomaly, "port.other", None, &[]);
    let f = p.assess(Some(&site()));
    let mut got: Vec<_> = f
        .iter()
        .filter(|x| x.check == "traffic.unexpected_protocol")
        .map(|x| (x.key.clone(), x.severity, x.attack.to_vec(), x.evidence.len()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (format!("{plc}:tcp/102:unidentified"), Severity::Medium, vec!["T0885"], 1),
            (format!("{plc}:tcp/502:http"), Severity::Medium, vec!["T0885"], 1),
            (format!("{plc}:tcp/502:ssh"), Severity::High, vec!["T0885", "T0886"], 2),
            (format!("{plc}:udp/47808:dns"), Severity::Medium, vec!["T0885"], 1),
        ]
    );
    let ssh = f.iter().find(|x| x.key == format!("{plc}:tcp/502:ssh")).unwrap();
    assert!(ssh.title.starts_with("ssh on TCP port 502 (modbus) of"), "{}", ssh.title);
    assert!(ssh.remediation.contains("only as modbus"), "{}", ssh.remediation);
}

#[test]
fn a_scan_is_one_finding_per_scanner_with_each_hour_as_evidence() {
    let mut p = Plant::new();
    let ews = p.host("192.168.10.50", "engineering_workstation");
    p.host("192.168.10.20", "controller");
    p.talk("192.168.10.50", "192.168.10.20", "modbus", 502, &[(OperationClass::Read, 10)]);
    let hour = |h: i64, hosts: u64, ports: u64, sample_ports: Vec<u16>, udp: u64| otposture_store::EmptyAttempts {
        network: String::new(),
        client_ip: "192.168.10.50".into(),
        first_seen_ns: h * 3_600_000_000_000,
        last_seen_ns: h * 3_600_000_000_000 + 60_000_000_000,
        hosts,
        targets: hosts * ports,
        ports,
        attempts: hosts * ports + 3,
        udp,
        sample_ports,
        sample_hosts: vec!["192.168.10.20".into(), "192.168.10.21".into()],
    };
    p.attempts = vec![
        hour(1, 254, 1, vec![502], 0),
        hour(2, 1, 1000, vec![1, 7, 9, 13, 21, 22, 23, 25], 0),
        // A UDP scan, then both at once.
        hour(3, 1, 300, vec![7, 9, 53, 67, 69, 123, 137, 161], 303),
        hour(4, 1, 300, vec![7, 9, 53, 67, 69, 123, 137, 161], 103),
    ];
    let f = p.assess(None);
    let scans: Vec<&Finding> = f.iter().filter(|f| f.check == "traffic.scan").collect();
    assert_eq!(scans.len(), 1, "{f:#?}");
    let s = scans[0];
    assert_eq!((s.key.as_str(), s.severity, s.attack.as_slice()), (ews.as_str(), Severity::High, &["T0846"][..]));
    assert_eq!(s.assets, std::slice::from_ref(&ews));
    assert_eq!(s.evidence_total, 4);
    assert_eq!(s.evidence[0].what, "257 connections with no data to 254 targets, port 502 on 254 hosts: ports 502; hosts 192.168.10.20, 192.168.10.21, ...");
    assert_eq!(s.evidence[1].what, "1003 connections with no data to 1000 targets, 1000 ports of 192.168.10.20: ports 1, 7, 9, 13, 21, 22, 23, 25, ...; hosts 192.168.10.20, 192.168.10.21");
    assert_eq!(s.evidence[1].count, 1003);
    assert_eq!(s.evidence[1].protocol.as_deref(), Some("tcp"));
    assert!(
        s.evidence[2].what.starts_with("303 UDP datagrams nothing answered to 300 targets, 300 ports of"),
        "{}",
        s.evidence[2].what
    );
    assert_eq!(s.evidence[2].protocol.as_deref(), Some("udp"));
    assert!(
        s.evidence[3].what.starts_with(
            "303 attempts that got nothing (200 TCP connections with no data, 103 unanswered UDP flows) to 300 targets"
        ),
        "{}",
        s.evidence[3].what
    );
    assert_eq!(s.evidence[3].protocol.as_deref(), Some("tcp, udp"));
    assert!(s.title.starts_with("192.168.10.50 scanned the network"), "{}", s.title);
    // No attempts, no finding.
    p.attempts.clear();
    assert!(p.assess(None).iter().all(|f| f.check != "traffic.scan"));
}
