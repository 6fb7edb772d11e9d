//! The checks. Edge checks read the communication map (one pass); event checks
//! read the kept observations; firmware reads the vulnerability matches.

use crate::place::Place;
use crate::{Collector, Draft, Evidence, Facts, Placing, Severity};
use otposture_drift::{Deviation, DeviationKind};
use otposture_inventory::{Edge, Role};
use otposture_model::{EventKind, OperationClass};
use otposture_store::EventRow;
use std::collections::BTreeMap;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub(crate) fn run(facts: &Facts<'_>, placing: &Placing<'_>, out: &mut Collector) {
    let ops = OperationIndex::new(facts.events, placing);
    for edge in facts.inventory.edges.iter() {
        let cp = placing.of(&edge.client.id);
        let sp = placing.of(&edge.server.id);
        segmentation(&edge, &cp, &sp, placing, out);
        remote_access(&edge, &cp, &sp, placing, out);
        operations(&edge, &ops, placing, out);
    }
    for event in facts.events {
        insecure(event, placing, out);
        remote_support(event, placing, out);
        port_misuse(event, placing, out);
    }
    name_poisoning(facts.events, placing, out);
    for a in facts.attempts {
        scan(a, placing, out);
    }
    firmware(facts, placing, out);
    for d in facts.deviations {
        drift(d, placing, out);
    }
    if let Some(site) = placing.site() {
        for asset in &facts.inventory.assets {
            let place = placing.of(&asset.id);
            if place.zone.is_none() && !place.external {
                out.add(
                    Draft {
                        check: "site.unzoned_asset",
                        key: asset.id.clone(),
                        title: format!("{} is in no zone of site {:?}", placing.label(&asset.id), site.name),
                        severity: Severity::Low,
                        attack: &[],
                        remediation: "Add its address block, VLAN or id to a zone in the site file, so segmentation checks cover it.".into(),
                    },
                    &[&asset.id],
                    &[],
                    Evidence {
                        what: format!("addresses {}", list(asset.ips.iter())),
                        first_seen_ns: asset.first_seen_ns,
                        last_seen_ns: asset.last_seen_ns,
                        ..evidence_base()
                    },
                );
            }
        }
    }
}

fn evidence_base() -> Evidence {
    Evidence {
        what: String::new(),
        client: None,
        server: None,
        protocol: None,
        count: 1,
        first_seen_ns: 0,
        last_seen_ns: 0,
        event_id: None,
        flow_id: None,
        capture_id: None,
        packet: None,
    }
}

fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

fn where_is(p: &Place) -> String {
    match (&p.zone, p.level, p.external) {
        (Some(z), Some(l), _) if p.dmz => format!("zone {z} (DMZ, level {l})"),
        (Some(z), Some(l), _) => format!("zone {z} (level {l})"),
        (Some(z), None, _) => format!("zone {z}"),
        (None, _, true) => "the internet".to_string(),
        (None, Some(l), false) => format!("level {l} by role"),
        (None, None, false) => "no zone".to_string(),
    }
}

fn edge_evidence(edge: &Edge, what: String) -> Evidence {
    Evidence {
        what,
        client: Some(edge.client.id.clone()),
        server: Some(edge.server.id.clone()),
        protocol: Some(edge.protocol.clone()),
        count: edge.flows,
        first_seen_ns: edge.first_seen_ns,
        last_seen_ns: edge.last_seen_ns,
        ..evidence_base()
    }
}

fn edge_words(edge: &Edge, placing: &Placing<'_>) -> String {
    let ports =
        if edge.ports.is_empty() { String::new() } else { format!(" port {}", list(edge.ports.iter().take(5))) };
    format!(
        "{} -> {} {}{ports}: {} flows, {} packets",
        placing.label(&edge.client.id),
        placing.label(&edge.server.id),
        edge.protocol,
        edge.flows,
        edge.packets
    )
}

fn is_controller(role: Role) -> bool {
    matches!(role, Role::Controller | Role::SafetyController | Role::Rtu | Role::Ied)
}

fn ends(edge: &Edge) -> [&str; 2] {
    [edge.client.id.as_str(), edge.server.id.as_str()]
}

fn segmentation(edge: &Edge, cp: &Place, sp: &Place, placing: &Placing<'_>, out: &mut Collector) {
    let zones: Vec<&str> = [cp.zone.as_deref(), sp.zone.as_deref()].into_iter().flatten().collect();
    // Zone to zone: a conduit must carry it, with the operations seen.
    if let (Some(site), Some(cz), Some(sz)) = (placing.site(), cp.zone.as_deref(), sp.zone.as_deref()) {
        if cz != sz {
            let carrying: Vec<_> = site.conduits_for(cz, sz, &edge.protocol).collect();
            let low = cp.level.unwrap_or(5).min(sp.level.unwrap_or(5));
            if carrying.is_empty() {
                let severity = if (cp.external || sp.external) && low <= 2 {
                    Severity::Critical
                } else if low <= 1 || cp.external || sp.external {
                    Severity::High
                } else {
                    Severity::Medium
                };
                out.add(
                    Draft {
                        check: "segmentation.no_conduit",
                        key: format!("{cz}>{sz}:{}", edge.protocol),
                        title: format!("{} traffic from zone {cz} to zone {sz}: no conduit allows it", edge.protocol),
                        severity,
                        attack: &["T0886", "T0867"],
                        remediation: format!(
                            "Block {} from {cz} to {sz} at the boundary, or, if the traffic is needed, declare a conduit for it in the site file (and enforce it with a firewall rule).",
                            edge.protocol
                        ),
                    },
                    &ends(edge),
                    &zones,
                    edge_evidence(edge, format!("{} ({} -> {})", edge_words(edge, placing), where_is(cp), where_is(sp))),
                );
            } else {
                for (class, n) in edge.operations.iter() {
                    if carrying.iter().any(|c| c.allows(class)) {
                        continue;
                    }
                    let severity = match class {
                        OperationClass::Program | OperationClass::Firmware | OperationClass::Control => Severity::High,
                        OperationClass::Write | OperationClass::Configuration => Severity::Medium,
                        _ => Severity::Low,
                    };
                    let conduits = list(carrying.iter().map(|c| c.name.as_str()));
                    out.add(
                        Draft {
                            check: "segmentation.operation_not_allowed",
                            key: format!("{cz}>{sz}:{}:{}", edge.protocol, class.name()),
                            title: format!("{} {} operations from zone {cz} to zone {sz}: conduit {conduits} does not allow them", edge.protocol, class.name()),
                            severity,
                            attack: attack_of_class(class),
                            remediation: format!(
                                "Stop {} operations over conduit {conduits} (a protocol-aware firewall can pass reads and drop them), or add \"{}\" to the conduit's operations if they are intended.",
                                class.name(),
                                class.name()
                            ),
                        },
                        &ends(edge),
                        &zones,
                        Evidence { count: n, ..edge_evidence(edge, format!("{}: {n} {} requests", edge_words(edge, placing), class.name())) },
                    );
                }
            }
        }
    }
    // IT or the internet straight to levels 0-2, either way round: one
    // finding per outside host, its edges into control the evidence.
    let outside = |p: &Place| p.external || (p.level.is_some_and(|l| l >= 4) && !p.dmz);
    let control = |p: &Place| !p.external && p.level.is_some_and(|l| l <= 2);
    let crossing = if outside(cp) && control(sp) {
        Some((&edge.client.id, cp))
    } else if control(cp) && outside(sp) {
        Some((&edge.server.id, sp))
    } else {
        None
    };
    if let Some((host, place)) = crossing {
        out.add(
            Draft {
                check: "segmentation.it_to_control",
                key: host.clone(),
                title: format!("{} ({}) talks directly to level 0-2 assets", placing.label(host), where_is(place)),
                severity: if place.external { Severity::Critical } else { Severity::High },
                attack: if place.external { &["T0822", "T0886"] } else { &["T0886"] },
                remediation: "Route this traffic through the DMZ (a broker, jump host or replica at level 3.5), or block it; level 0-2 assets should never be reached from IT or the internet directly.".into(),
            },
            &ends(edge),
            &zones,
            edge_evidence(edge, format!("{} ({} -> {})", edge_words(edge, placing), where_is(cp), where_is(sp))),
        );
    }
    // Controllers and the internet.
    for (me, my_place, other_place) in [(&edge.client.id, cp, sp), (&edge.server.id, sp, cp)] {
        let controller =
            is_controller(placing.role(me)) || (!my_place.external && my_place.level.is_some_and(|l| l <= 1));
        if controller && other_place.external && !my_place.external {
            out.add(
                Draft {
                    check: "segmentation.controller_internet",
                    key: me.clone(),
                    title: format!("controller {} talks to addresses on the internet", placing.label(me)),
                    severity: Severity::Critical,
                    attack: &["T0883", "T0822"],
                    remediation: "Cut the controller's path to the internet; remote access to controllers belongs behind a DMZ jump host with multi-factor authentication.".into(),
                },
                &ends(edge),
                &zones,
                edge_evidence(edge, edge_words(edge, placing)),
            );
        }
    }
    // Level 3 and level 4 with no DMZ between them.
    if placing.site().is_some() {
        let ops = |p: &Place| p.zone.is_some() && p.level == Some(3) && !p.dmz && !p.external;
        let business = |p: &Place| p.external || (p.zone.is_some() && p.level.is_some_and(|l| l >= 4) && !p.dmz);
        if (ops(cp) && business(sp)) || (business(cp) && ops(sp)) {
            let (cz, sz) = (cp.zone.as_deref().unwrap_or("internet"), sp.zone.as_deref().unwrap_or("internet"));
            out.add(
                Draft {
                    check: "segmentation.dmz_bypass",
                    key: format!("{cz}>{sz}"),
                    title: format!("zone {cz} and zone {sz} talk without the DMZ"),
                    severity: Severity::High,
                    attack: &["T0886"],
                    remediation: "Terminate business connections in the DMZ (replicated historian, file transfer host, jump host) so no connection crosses from level 4 to level 3 in one hop.".into(),
                },
                &ends(edge),
                &zones,
                edge_evidence(edge, edge_words(edge, placing)),
            );
        }
    }
}

fn attack_of_class(class: OperationClass) -> &'static [&'static str] {
    match class {
        OperationClass::Program => &["T0843"],
        OperationClass::Firmware => &["T0857"],
        OperationClass::Control => &["T0858", "T0816"],
        OperationClass::Write => &["T0836", "T0855"],
        OperationClass::Configuration => &["T0836"],
        _ => &["T0855"],
    }
}

/// Remote access protocols, as the map names them.
const REMOTE: &[(&str, &str)] = &[("rdp", "RDP"), ("rfb", "VNC"), ("ssh", "SSH"), ("telnet", "Telnet")];

/// Remote-support tools by their registered ports (IANA: TeamViewer 5938;
/// AnyDesk's documented ports 7070 and 6568): the payload is theirs and
/// encrypted, so the port is the evidence and the finding says so.
const SUPPORT_PORTS: &[(u16, &str)] =
    &[(5938, "TeamViewer (port 5938)"), (7070, "AnyDesk (port 7070)"), (6568, "AnyDesk (port 6568)")];

fn remote_access(edge: &Edge, cp: &Place, sp: &Place, placing: &Placing<'_>, out: &mut Collector) {
    let by_port = SUPPORT_PORTS.iter().find(|(port, _)| edge.ports.contains(port)).map(|(_, n)| *n);
    let named = REMOTE.iter().find(|(p, _)| *p == edge.protocol).map(|(_, n)| *n).or(by_port);
    // Web pages of controllers, HMIs and other level 0-2 devices are their
    // administration interfaces.
    let server_role = placing.role(&edge.server.id);
    let web_admin = matches!(edge.protocol.as_str(), "http" | "tls")
        && (is_controller(server_role) || (!sp.external && sp.level.is_some_and(|l| l <= 2)));
    let what = match (named, web_admin) {
        (Some(n), _) => n,
        (None, true) if edge.protocol == "http" => "web administration (HTTP)",
        (None, true) => "web administration (HTTPS)",
        _ => return,
    };
    let ot_server = !sp.external && !sp.dmz && (sp.level.is_some_and(|l| l <= 3) || is_controller(server_role));
    if !ot_server {
        // A remote-support tool's port opened from an OT host to a broker
        // outside: the tool runs on the OT host.
        if let Some(tool) = by_port {
            if in_ot(cp, placing.role(&edge.client.id)) {
                let evidence = edge_evidence(
                    edge,
                    format!("{} to {} ({})", edge_words(edge, placing), placing.label(&edge.server.id), where_is(sp)),
                );
                support_finding(&edge.client.id, cp, tool, evidence, placing, out);
            }
        }
        return;
    }
    let (severity, attack): (Severity, &'static [&'static str]) = if cp.external {
        (Severity::Critical, &["T0822", "T0886"])
    } else if cp.level.is_some_and(|l| l >= 4) && !cp.dmz {
        (Severity::High, &["T0822", "T0886"])
    } else {
        (Severity::Medium, &["T0886"])
    };
    out.add(
        Draft {
            check: "exposure.remote_access",
            key: format!("{}:{}", edge.server.id, what),
            title: format!("{what} into {} ({})", placing.label(&edge.server.id), where_is(sp)),
            severity,
            attack,
            remediation: "Allow remote access into OT only through a DMZ jump host with multi-factor authentication and session recording; disable the service where it is not needed.".into(),
        },
        &ends(edge),
        &[cp.zone.as_deref().unwrap_or_default(), sp.zone.as_deref().unwrap_or_default()],
        edge_evidence(edge, format!("used by {} ({}): {}", placing.label(&edge.client.id), where_is(cp), edge_words(edge, placing))),
    );
}

/// The protocol the flows carrying a dissector's operations are named by,
/// which is the edge's: CIP travels in EtherNet/IP encapsulation (flows
/// `enip`), S7comm-plus on S7comm's TPKT/COTP connections (flows `s7comm`).
/// Looked up by the event's own protocol, a CIP firmware update or write found
/// none of its operations: the finding named no operation and no packet.
fn flow_protocol(event_protocol: &str) -> &str {
    match event_protocol {
        "cip" => "enip",
        "s7comm-plus" => "s7comm",
        other => other,
    }
}

/// Kept operations by (client asset, server asset, protocol of their flows,
/// class): how many, their names, and the first.
struct OperationIndex<'e> {
    by_key: HashMap<(String, String, String, OperationClass), OpSummary<'e>>,
}

struct OpSummary<'e> {
    names: BTreeMap<&'e str, u64>,
    first: &'e EventRow,
    last_ns: i64,
}

impl<'e> OperationIndex<'e> {
    fn new(events: &'e [EventRow], placing: &Placing<'_>) -> Self {
        let mut by_key: HashMap<_, OpSummary<'e>> = HashMap::default();
        for e in events {
            let (EventKind::Operation, Some(class), Some(src), Some(dst)) = (e.kind, e.class, e.src_ip, e.dst_ip)
            else {
                continue;
            };
            if !matches!(
                class,
                OperationClass::Program | OperationClass::Firmware | OperationClass::Control | OperationClass::Write
            ) {
                continue;
            }
            let net = e.network.as_deref();
            let key =
                (placing.id_of_ip(net, src), placing.id_of_ip(net, dst), flow_protocol(&e.protocol).to_string(), class);
            let s = by_key.entry(key).or_insert(OpSummary { names: BTreeMap::new(), first: e, last_ns: e.ts_ns });
            *s.names.entry(e.name.as_str()).or_default() += 1;
            if e.ts_ns < s.first.ts_ns {
                s.first = e;
            }
            s.last_ns = s.last_ns.max(e.ts_ns);
        }
        OperationIndex { by_key }
    }

    fn get(&self, client: &str, server: &str, protocol: &str, class: OperationClass) -> Option<&OpSummary<'e>> {
        if self.by_key.is_empty() {
            return None;
        }
        self.by_key.get(&(client.to_string(), server.to_string(), protocol.to_string(), class))
    }
}

fn operations(edge: &Edge, ops: &OperationIndex<'_>, placing: &Placing<'_>, out: &mut Collector) {
    let client_role = placing.role(&edge.client.id);
    let server_role = placing.role(&edge.server.id);
    let engineering = client_role == Role::EngineeringWorkstation;
    for (class, n) in edge.operations.iter() {
        let summary = ops.get(&edge.client.id, &edge.server.id, &edge.protocol, class);
        let names = summary.map(|s| list(s.names.iter().map(|(name, k)| format!("{name} x{k}")))).unwrap_or_default();
        let upload_only = summary.is_some_and(|s| s.names.keys().all(|n| n.contains("upload")));
        let restart = summary.is_some_and(|s| s.names.keys().any(|n| n.contains("restart")));
        let (check, title, severity, attack, remediation): (&'static str, String, Severity, &'static [&'static str], &str) = match class {
            OperationClass::Program => (
                "operations.program_transfer",
                format!("{} {} program {} {} ({})", placing.label(&edge.client.id), if upload_only { "uploaded a" } else { "transferred a" }, if upload_only { "from" } else { "to" }, placing.label(&edge.server.id), edge.protocol),
                if engineering { Severity::Medium } else { Severity::High },
                if upload_only { &["T0845"] } else { &["T0843", "T0845"] },
                "Confirm the transfer against an approved change; allow program transfers only from designated engineering workstations, and keep controllers' key switches in RUN outside maintenance windows.",
            ),
            OperationClass::Firmware => (
                "operations.firmware_update",
                format!("{} updated firmware of {} ({})", placing.label(&edge.client.id), placing.label(&edge.server.id), edge.protocol),
                if engineering { Severity::High } else { Severity::Critical },
                &["T0857"],
                "Confirm the update against an approved change and the vendor's signed image; restrict firmware updates to engineering workstations during maintenance windows.",
            ),
            OperationClass::Control => (
                "operations.run_state_change",
                format!("{} changed the run state of {} ({})", placing.label(&edge.client.id), placing.label(&edge.server.id), edge.protocol),
                if engineering { Severity::Medium } else { Severity::High },
                if restart { &["T0816", "T0858"] } else { &["T0858", "T0816"] },
                "Confirm the stop, start or restart was planned; restrict run-state commands to engineering workstations and protect them with the controller's access protection.",
            ),
            // A host writing to its own server (a soft PLC and its HMI on one
            // machine) crosses no network between devices.
            OperationClass::Write
                if is_controller(server_role)
                    && edge.client.id != edge.server.id
                    && !matches!(client_role, Role::Hmi | Role::ScadaServer | Role::EngineeringWorkstation) =>
            (
                "operations.unexpected_writer",
                format!("{} ({}) writes to {} ({})", placing.label(&edge.client.id), client_role.name(), placing.label(&edge.server.id), edge.protocol),
                if server_role == Role::SafetyController { Severity::High } else { Severity::Medium },
                &["T0836", "T0855"],
                "Find out why this host writes to the controller; only its HMIs, SCADA servers and engineering workstations should. Block other writers with the controller's access lists or a protocol-aware firewall.",
            ),
            _ => continue,
        };
        let mut evidence = Evidence {
            count: n,
            ..edge_evidence(
                edge,
                format!(
                    "{}: {n} {} requests{}",
                    edge_words(edge, placing),
                    class.name(),
                    if names.is_empty() { String::new() } else { format!(" ({names})") }
                ),
            )
        };
        if let Some(s) = summary {
            evidence.event_id = Some(s.first.id);
            evidence.flow_id = s.first.flow_id.map(|f| f.0);
            evidence.capture_id = Some(s.first.capture_id.0);
            evidence.packet = Some(s.first.packet);
        }
        out.add(
            Draft {
                check,
                key: format!("{}>{}:{}", edge.client.id, edge.server.id, edge.protocol),
                title,
                severity,
                attack,
                remediation: remediation.to_string(),
            },
            &ends(edge),
            &[],
            evidence,
        );
    }
}

fn event_evidence(e: &EventRow, client: &str, server: &str, what: String) -> Evidence {
    Evidence {
        what,
        client: Some(client.to_string()),
        server: Some(server.to_string()),
        protocol: Some(e.protocol.clone()),
        count: 1,
        first_seen_ns: e.ts_ns,
        last_seen_ns: e.ts_ns,
        event_id: Some(e.id),
        flow_id: e.flow_id.map(|f| f.0),
        capture_id: Some(e.capture_id.0),
        packet: Some(e.packet),
    }
}

fn insecure(e: &EventRow, placing: &Placing<'_>, out: &mut Collector) {
    let (Some(src), Some(dst)) = (e.src_ip, e.dst_ip) else { return };
    let net = e.network.as_deref();
    let (src, dst) = (placing.id_of_ip(net, src), placing.id_of_ip(net, dst));
    let a = |k: &str| e.attributes.get(k);
    // (check, server, client, title, severity, attack, remediation)
    let (check, server, client, title, severity, attack, remediation): (&'static str, &str, &str, String, Severity, &'static [&'static str], &str) =
        match (e.protocol.as_str(), e.name.as_str()) {
            ("telnet", "login") => (
                "insecure.cleartext_login",
                &dst,
                &src,
                format!("Telnet login in clear text to {}", placing.label(&dst)),
                Severity::High,
                &["T0842", "T0859"],
                "Replace Telnet with SSH; where the device offers nothing else, reach it only through a jump host on an isolated management network.",
            ),
            ("ftp", "user" | "pass") => (
                "insecure.cleartext_login",
                &dst,
                &src,
                format!("FTP login in clear text to {}", placing.label(&dst)),
                Severity::High,
                &["T0842", "T0859"],
                "Use SFTP or FTPS; change the passwords sent in the clear.",
            ),
            ("http", "authenticate") if a("scheme") == Some("basic") => (
                "insecure.cleartext_login",
                &dst,
                &src,
                format!("HTTP Basic login in clear text to {}", placing.label(&dst)),
                Severity::High,
                &["T0842", "T0859"],
                "Serve the device's web interface over HTTPS only (or disable it); change the passwords sent in the clear.",
            ),
            ("http", "form_login") => (
                "insecure.cleartext_login",
                &dst,
                &src,
                format!("web form login over plain HTTP to {}", placing.label(&dst)),
                Severity::High,
                &["T0842", "T0859"],
                "Serve the device's web interface over HTTPS only (or disable it); change the passwords sent in the clear.",
            ),
            // The TwinCAT router's add-route request carries a Windows
            // account's user name and password in clear over UDP 48899, and
            // the route it adds lets that host send the controller any ADS
            // command.
            ("ads", "add_route") if a("password") == Some("given") => (
                "insecure.cleartext_login",
                &dst,
                &src,
                format!("ADS route added with a password in clear text on {}", placing.label(&dst)),
                Severity::High,
                &["T0842", "T0859"],
                "Add ADS routes from the engineering tool on a trusted management network only, change the controller's Windows password, and use Secure ADS (TwinCAT 3.1.4024 and later) or block UDP 48899 from other zones.",
            ),
            ("snmp", "snmp.weak_security") => {
                let v1v2 = a("weakness") == Some("cleartext_community");
                // The sender may be the manager or the agent: the pair is the key.
                let (x, y) = if src <= dst { (&src, &dst) } else { (&dst, &src) };
                (
                    if v1v2 { "insecure.snmp_community" } else { "insecure.snmp_no_auth" },
                    y,
                    x,
                    if v1v2 {
                        format!("SNMP {} with a cleartext community between {} and {}", a("version").unwrap_or("v1/v2c"), placing.label(x), placing.label(y))
                    } else {
                        format!("SNMPv3 without authentication between {} and {}", placing.label(x), placing.label(y))
                    },
                    Severity::Medium,
                    &["T0842", "T0812"],
                    "Move to SNMPv3 with authentication and privacy (authPriv); until then use read-only, non-default communities and allow SNMP only from the management station.",
                )
            }
            ("opcua", "opcua.endpoint" | "opcua.secure_channel") if a("security_mode") == Some("none") || a("insecure") == Some("true") => {
                // An endpoint is described by the server; a channel is opened by the client.
                let (server, client) = if e.name == "opcua.endpoint" { (&src, &dst) } else { (&dst, &src) };
                (
                    "insecure.opcua_no_security",
                    server,
                    client,
                    format!("OPC UA without message security on {}", placing.label(server)),
                    Severity::Medium,
                    &["T0842", "T0830"],
                    "Disable the None security policy on the server and use Sign or SignAndEncrypt with a current policy (Basic256Sha256 or newer).",
                )
            }
            ("opcua", "activate_session") if a("token_type") == Some("anonymous") => (
                "insecure.opcua_anonymous",
                &dst,
                &src,
                format!("anonymous OPC UA session on {}", placing.label(&dst)),
                Severity::Medium,
                &["T0859", "T0812"],
                "Disable anonymous identity tokens on the server; require user name or certificate tokens.",
            ),
            ("rdp", "rdp.no_nla") => (
                "insecure.rdp_without_nla",
                &src,
                &dst,
                format!("RDP without Network Level Authentication on {}", placing.label(&src)),
                Severity::Medium,
                &["T0886"],
                "Require Network Level Authentication (CredSSP) on the RDP server.",
            ),
            ("rfb", "authentication") if a("security_type") == Some("none") => (
                "insecure.vnc_without_password",
                &dst,
                &src,
                format!("VNC without a password on {}", placing.label(&dst)),
                Severity::High,
                &["T0886", "T0812"],
                "Set a VNC password (better: tunnel VNC through SSH or a VPN), or disable the VNC server.",
            ),
            ("dnp3", _)
                if e.kind == EventKind::Operation
                    && matches!(e.class, Some(OperationClass::Control | OperationClass::Write))
                    && a("message") == Some("request")
                    && a("secure_authentication") != Some("true") =>
            {
                let (cp, sp) = (placing.of(&src), placing.of(&dst));
                let outside = cp.external || matches!((&cp.zone, &sp.zone), (Some(c), Some(s)) if c != s);
                if !outside {
                    return;
                }
                (
                    "insecure.dnp3_unauthenticated_control",
                    &dst,
                    &src,
                    format!("DNP3 control without secure authentication from {} ({}) to outstation {} ({})", placing.label(&src), where_is(&cp), placing.label(&dst), where_is(&sp)),
                    Severity::High,
                    &["T0855", "T0831"],
                    "Enable DNP3 Secure Authentication (IEC 62351-5) on outstation and master, or keep DNP3 control inside the outstation's zone behind a protocol-aware firewall.",
                )
            }
            _ => return,
        };
    out.add(
        Draft {
            check,
            key: format!("{server}:{}", e.protocol),
            title,
            severity,
            attack,
            remediation: remediation.to_string(),
        },
        &[client, server],
        &[],
        event_evidence(
            e,
            client,
            server,
            format!("{} {} from {} to {}", e.protocol, e.name, placing.label(&src), placing.label(&dst)),
        ),
    );
}

fn firmware(facts: &Facts<'_>, placing: &Placing<'_>, out: &mut Collector) {
    let seen: HashMap<&str, (i64, i64)> =
        facts.inventory.assets.iter().map(|a| (a.id.as_str(), (a.first_seen_ns, a.last_seen_ns))).collect();
    for v in facts.vulns {
        let severity = match v.decision.as_str() {
            "act" => Severity::Critical,
            "attend" => Severity::High,
            _ => continue,
        };
        let (first, last) = seen.get(v.asset.as_str()).copied().unwrap_or_default();
        let place = placing.of(&v.asset);
        out.add(
            Draft {
                check: "firmware.vulnerable",
                key: v.asset.clone(),
                title: format!("{} runs firmware with vulnerabilities SSVC says to act on or attend to", placing.label(&v.asset)),
                severity,
                attack: &["T0866", "T0819"],
                remediation: format!(
                    "Apply the vendor's fixes or mitigations (otposture vulns --asset {} --plan lists them); until then restrict who can reach the device.",
                    v.asset
                ),
            },
            &[&v.asset],
            &[place.zone.as_deref().unwrap_or_default()],
            Evidence {
                what: format!(
                    "{} {}{}: {} (SSVC {}{})",
                    v.advisory,
                    v.cve.as_deref().unwrap_or("no CVE"),
                    if v.kev { ", in CISA KEV" } else { "" },
                    v.title,
                    v.decision,
                    if v.path.is_empty() { String::new() } else { format!(": {}", v.path) }
                ),
                first_seen_ns: first,
                last_seen_ns: last,
                ..evidence_base()
            },
        );
    }
}

/// Classes whose first appearance on a conversation to a controller is a new
/// source of control.
fn controls(class: OperationClass) -> bool {
    matches!(
        class,
        OperationClass::Write | OperationClass::Program | OperationClass::Firmware | OperationClass::Control
    )
}

fn drift(d: &Deviation, placing: &Placing<'_>, out: &mut Collector) {
    let conv = d.conversation.as_ref();
    let server_is_controller = conv.is_some_and(|c| is_controller(placing.role(&c.server)));
    // New control from a source the baseline never saw send it.
    let new_control = match d.kind {
        DeviationKind::NewOperation => d.operation.is_some_and(controls),
        DeviationKind::NewConversation => d
            .after
            .as_deref()
            .is_some_and(|classes| classes.split([' ', ',']).filter_map(OperationClass::parse).any(controls)),
        _ => false,
    };
    let (check, severity, attack, remediation): (&'static str, Severity, &'static [&'static str], &str) = match d.kind {
        _ if new_control && server_is_controller => (
            "operations.new_control_source",
            Severity::High,
            &["T0855", "T0848"],
            "Confirm this host is meant to command the controller; if not, isolate it and check the controller's logic and set points. If it is, accept a new baseline.",
        ),
        DeviationKind::NewAsset => (
            "drift.new_asset",
            Severity::Medium,
            &["T0848"],
            "Identify the new device and its owner; add it to the asset register, or remove it from the network.",
        ),
        DeviationKind::VanishedAsset => (
            "drift.vanished_asset",
            Severity::Low,
            &[],
            "Confirm the device was decommissioned or moved; a controller that falls silent can mean a failure.",
        ),
        DeviationKind::NewConversation => (
            "drift.new_conversation",
            if server_is_controller { Severity::Medium } else { Severity::Low },
            &["T0886"],
            "Confirm the new communication path is intended; if it is, accept a new baseline.",
        ),
        DeviationKind::NewOperation => (
            "drift.new_operation",
            if d.operation.is_some_and(controls) { Severity::High } else { Severity::Medium },
            &["T0855"],
            "Confirm why this conversation now carries a new kind of operation; if it is intended, accept a new baseline.",
        ),
        DeviationKind::IdentityChange => (
            "drift.identity_change",
            if d.field.as_deref() == Some("firmware") { Severity::High } else { Severity::Medium },
            if d.field.as_deref() == Some("firmware") { &["T0857"] } else { &[] },
            "Check the change against an approved change record (firmware updates and replaced modules should have one).",
        ),
        DeviationKind::AddressChange => (
            "drift.address_change",
            Severity::Low,
            &[],
            "Confirm the device was readdressed on purpose; update the site file and asset register.",
        ),
        DeviationKind::VanishedConversation | DeviationKind::IdentityLearned => return,
    };
    let key = [
        d.kind.name().to_string(),
        d.asset.clone().unwrap_or_default(),
        conv.map(|c| format!("{}>{}:{}", c.client, c.server, c.protocol)).unwrap_or_default(),
        d.module.clone().unwrap_or_default(),
        d.field.clone().unwrap_or_default(),
        d.operation.map(|o| o.name().to_string()).unwrap_or_default(),
        d.after.clone().filter(|_| d.kind == DeviationKind::IdentityChange).unwrap_or_default(),
    ]
    .join("|");
    let mut assets: Vec<&str> = d.asset.iter().map(String::as_str).collect();
    if let Some(c) = conv {
        assets.push(&c.client);
        assets.push(&c.server);
    }
    out.add(
        Draft { check, key, title: d.explanation.clone(), severity, attack, remediation: remediation.to_string() },
        &assets,
        &[],
        Evidence {
            what: d.explanation.clone(),
            client: conv.map(|c| c.client.clone()),
            server: conv.map(|c| c.server.clone()),
            protocol: conv.map(|c| c.protocol.clone()),
            first_seen_ns: d.first_seen_ns.or(d.last_seen_ns).unwrap_or(0),
            last_seen_ns: d.last_seen_ns.or(d.first_seen_ns).unwrap_or(0),
            ..evidence_base()
        },
    );
}

/// Remote-support services by the domains their clients reach (the vendors'
/// published connection hosts); a name matches the domain or any name under it.
const SUPPORT_DOMAINS: &[(&str, &str)] = &[
    ("teamviewer.com", "TeamViewer"),
    ("anydesk.com", "AnyDesk"),
    ("logmein.com", "LogMeIn"),
    ("logme.in", "LogMeIn"),
    ("screenconnect.com", "ConnectWise ScreenConnect"),
    ("splashtop.com", "Splashtop"),
    ("beyondtrustcloud.com", "BeyondTrust Remote Support"),
    ("bomgarcloud.com", "BeyondTrust Remote Support"),
    ("rustdesk.com", "RustDesk"),
    ("gotomypc.com", "GoTo"),
    ("realvnc.com", "RealVNC Connect"),
    ("ammyy.com", "Ammyy Admin"),
    ("dwservice.net", "DWService"),
    ("remoteutilities.com", "Remote Utilities"),
    ("ngrok.io", "ngrok tunnel"),
    ("ngrok-free.app", "ngrok tunnel"),
];

/// The remote-support service a host name belongs to.
pub(crate) fn support_tool(name: &str) -> Option<&'static str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    SUPPORT_DOMAINS
        .iter()
        .find(|(domain, _)| name == *domain || name.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.')))
        .map(|(_, tool)| *tool)
}

/// An OT host: placed at level 0-3 outside a DMZ, or a controller.
fn in_ot(place: &Place, role: Role) -> bool {
    !place.external && !place.dmz && (place.level.is_some_and(|l| l <= 3) || is_controller(role))
}

fn support_finding(
    host: &str,
    place: &Place,
    tool: &str,
    evidence: Evidence,
    placing: &Placing<'_>,
    out: &mut Collector,
) {
    out.add(
        Draft {
            check: "exposure.remote_support_tool",
            key: format!("{host}:{tool}"),
            title: format!("{tool} runs on {} ({})", placing.label(host), where_is(place)),
            severity: Severity::High,
            attack: &["T0822", "T0886"],
            remediation: format!(
                "Remove {tool} from the OT host or block its service at the boundary; vendor remote access belongs behind a DMZ jump host with multi-factor authentication, session recording and access granted per session."
            ),
        },
        &[host],
        &[place.zone.as_deref().unwrap_or_default()],
        evidence,
    );
}

/// Remote-support tools recognised by name: the server name an OT host asks
/// for in a TLS ClientHello, or a DNS answer it receives.
fn remote_support(e: &EventRow, placing: &Placing<'_>, out: &mut Collector) {
    let (host_ip, name, how) = match (e.protocol.as_str(), e.name.as_str()) {
        ("tls", "tls.client_hello") => (e.src_ip, e.attributes.get("sni"), "TLS server name"),
        ("dns", "dns.answer") => (e.dst_ip, e.attributes.get("host_name"), "DNS answer for"),
        _ => return,
    };
    let (Some(ip), Some(name)) = (host_ip, name) else { return };
    let Some(tool) = support_tool(name) else { return };
    let host = placing.id_of_ip(e.network.as_deref(), ip);
    let place = placing.of(&host);
    if !in_ot(&place, placing.role(&host)) {
        return;
    }
    let peer = if e.name == "dns.answer" { e.src_ip } else { e.dst_ip };
    let peer = peer.map(|p| placing.id_of_ip(e.network.as_deref(), p)).unwrap_or_default();
    // The OT host is the client either way: of the TLS session, or of the DNS lookup.
    let evidence = event_evidence(e, &host, &peer, format!("{how} {name}"));
    support_finding(&host, &place, tool, evidence, placing, out);
}

/// Something other than an industrial protocol on that protocol's own port
/// (the engine's `port.unexpected_protocol` event): a tunnel through the
/// firewall opening made for it, or a probe of the controller. One finding per
/// server, port and what was found (which decides severity and technique); the
/// evidence names each client.
fn port_misuse(e: &EventRow, placing: &Placing<'_>, out: &mut Collector) {
    if !matches!(e.protocol.as_str(), "tcp" | "udp") || e.name != "port.unexpected_protocol" {
        return;
    }
    let (Some(src), Some(dst)) = (e.src_ip, e.dst_ip) else { return };
    let a = |k: &str| e.attributes.get(k).unwrap_or("?");
    let (port, expected, found) = (a("port"), a("expected"), a("found"));
    let net = e.network.as_deref();
    let (client, server) = (placing.id_of_ip(net, src), placing.id_of_ip(net, dst));
    let (cp, sp) = (placing.of(&client), placing.of(&server));
    // Interactive access ([`REMOTE`]) or file sharing over an industrial
    // protocol's port: most likely a tunnel through the opening a firewall
    // keeps for that protocol.
    let remote = found == "smb" || REMOTE.iter().any(|(p, _)| *p == found);
    let severity = if remote || cp.external { Severity::High } else { Severity::Medium };
    let what = if found == "unidentified" { "traffic no dissector knows".to_string() } else { found.to_string() };
    out.add(
        Draft {
            check: "traffic.unexpected_protocol",
            key: format!("{server}:{}/{port}:{found}", e.protocol),
            title: format!(
                "{what} on {} port {port} ({expected}) of {} ({})",
                e.protocol.to_uppercase(),
                placing.label(&server),
                where_is(&sp)
            ),
            severity,
            attack: if remote { &["T0885", "T0886"] } else { &["T0885"] },
            remediation: format!(
                "Find the program behind this traffic on both hosts. If it is not an approved tool, treat it as a tunnel or a probe: block it and investigate both hosts. Let conduits pass port {port} only as {expected} (a protocol-aware industrial firewall enforces this)."
            ),
        },
        &[&client, &server],
        &[],
        event_evidence(e, &client, &server, format!("{found} on port {port}, where {expected} was expected")),
    );
}

/// A client calling many hosts or ports within an hour on TCP connections
/// that carried nothing or with UDP datagrams nothing answered: a port scan or
/// a host sweep (nmap, a vulnerability scanner, malware looking for its next
/// target), ATT&CK for ICS T0846.
fn scan(a: &otposture_store::EmptyAttempts, placing: &Placing<'_>, out: &mut Collector) {
    let Ok(ip) = a.client_ip.parse::<std::net::IpAddr>() else { return };
    let net = Some(a.network.as_str()).filter(|n| !n.is_empty());
    let client = placing.id_of_ip(net, ip);
    let cp = placing.of(&client);
    let shape = if a.hosts == 1 {
        format!("{} ports of {}", a.ports, a.sample_hosts.first().map_or("one host", String::as_str))
    } else if a.ports == 1 {
        format!("port {} on {} hosts", a.sample_ports.first().map_or(0, |p| *p), a.hosts)
    } else {
        format!("{} ports on {} hosts", a.ports, a.hosts)
    };
    let more = |n: u64, shown: usize| if n > shown as u64 { ", ..." } else { "" };
    let tcp = a.attempts.saturating_sub(a.udp);
    let (tried, protocol) = match (tcp, a.udp) {
        (_, 0) => ("connections with no data".to_string(), "tcp"),
        (0, _) => ("UDP datagrams nothing answered".to_string(), "udp"),
        (tcp, udp) => (
            format!("attempts that got nothing ({tcp} TCP connections with no data, {udp} unanswered UDP flows)"),
            "tcp, udp",
        ),
    };
    let title_tried = if a.udp == 0 { "connections with no data" } else { "attempts nothing answered" };
    out.add(
        Draft {
            check: "traffic.scan",
            key: client.clone(),
            title: format!("{} scanned the network: {title_tried} to many hosts or ports ({})", placing.label(&client), where_is(&cp)),
            severity: Severity::High,
            attack: &["T0846"],
            remediation: "Find out who ran the scan and with what. An approved scan (an asset owner's vulnerability scanner, an inventory tool) belongs in a change record; anything else means someone is mapping the control network: isolate the host and investigate it. Controllers can fault when scanned: check the ones it reached.".into(),
        },
        &[&client],
        &[],
        Evidence {
            what: format!(
                "{} {tried} to {} targets, {shape}: ports {}{}; hosts {}{}",
                a.attempts,
                a.targets,
                list(a.sample_ports.iter()),
                more(a.ports, a.sample_ports.len()),
                list(a.sample_hosts.iter()),
                more(a.hosts, a.sample_hosts.len()),
            ),
            client: Some(client.clone()),
            protocol: Some(protocol.into()),
            count: a.attempts,
            first_seen_ns: a.first_seen_ns,
            last_seen_ns: a.last_seen_ns,
            ..evidence_base()
        },
    );
}

/// Distinct names one host must answer with its own address before it counts
/// as a poisoner (a host answers LLMNR and NBNS for its own name, in a
/// couple of NetBIOS suffixes at most).
const POISONED_NAMES: usize = 3;

/// A host answering LLMNR or NetBIOS name queries for many names with its own
/// address: a name-resolution poisoner (Responder and the like), which
/// collects the credentials of every host that then connects to it.
fn name_poisoning(events: &[EventRow], placing: &Placing<'_>, out: &mut Collector) {
    // By the answerer's address in its network: two plants' 10.0.0.5 are two hosts.
    type Answers<'e> = (BTreeMap<String, &'e EventRow>, i64, i64);
    let mut by_answerer: BTreeMap<(Option<&str>, &str), Answers<'_>> = BTreeMap::new();
    for e in events {
        let name = match e.name.as_str() {
            "llmnr.answer" => e.attributes.get("host_name"),
            "nbns.answer" => e.attributes.get("netbios_name"),
            _ => continue,
        };
        let (Some(name), Some(address), Some(by)) =
            (name, e.attributes.get("address"), e.attributes.get("answered_by"))
        else {
            continue;
        };
        if address != by {
            continue;
        }
        // `HOST<20>` and `HOST<00>` are one name.
        let bare = name.split('<').next().unwrap_or(name).trim().trim_end_matches('.').to_ascii_lowercase();
        let entry =
            by_answerer.entry((e.network.as_deref(), by)).or_insert_with(|| (BTreeMap::new(), e.ts_ns, e.ts_ns));
        entry.0.entry(bare).or_insert(e);
        entry.1 = entry.1.min(e.ts_ns);
        entry.2 = entry.2.max(e.ts_ns);
    }
    for ((net, by), (names, first, last)) in by_answerer {
        if names.len() < POISONED_NAMES {
            continue;
        }
        let Ok(ip) = by.parse() else { continue };
        let host = placing.id_of_ip(net, ip);
        let list: Vec<&str> = names.keys().map(String::as_str).take(10).collect();
        let first_event = names.values().min_by_key(|e| e.ts_ns).copied();
        let mut evidence = Evidence {
            what: format!(
                "answered {} names with its own address: {}{}",
                names.len(),
                list.join(", "),
                if names.len() > 10 { ", ..." } else { "" }
            ),
            count: names.len() as u64,
            first_seen_ns: first,
            last_seen_ns: last,
            ..evidence_base()
        };
        if let Some(e) = first_event {
            evidence.event_id = Some(e.id);
            evidence.flow_id = e.flow_id.map(|f| f.0);
            evidence.capture_id = Some(e.capture_id.0);
            evidence.packet = Some(e.packet);
        }
        out.add(
            Draft {
                check: "insecure.name_poisoning",
                key: host.clone(),
                title: format!("{} answers LLMNR/NetBIOS queries for other hosts' names (a name-resolution poisoner)", placing.label(&host)),
                severity: Severity::High,
                attack: &["T0830", "T0859"],
                remediation: "Find and remove the poisoner; disable LLMNR and NetBIOS over TCP/IP on OT hosts (group policy), so name lookups cannot be answered by any host on the segment.".into(),
            },
            &[&host],
            &[],
            evidence,
        );
    }
}
