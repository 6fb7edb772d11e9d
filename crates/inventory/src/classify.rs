//! Roles and Purdue levels, each decided by a named rule from identity and
//! behaviour, with the evidence that made it.
//!
//! Every rule that matches is kept as a candidate; the strongest (by
//! confidence, then by the order of the rules below) is the asset's role.
//! Behaviour comes from conversations: whom an asset answers on which
//! protocol, and which classes of operation it sends to whom.

use crate::identity::{Confidence, Field};
use crate::{Attribute, Module};
use otposture_model::OperationClass;
use otposture_store::ConversationRow;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What a device is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// PLC or other controller.
    Controller,
    /// Remote terminal unit or outstation.
    Rtu,
    /// Human-machine interface.
    Hmi,
    /// SCADA server or other supervisory poller.
    ScadaServer,
    /// Engineering workstation: programs, updates or stops controllers.
    EngineeringWorkstation,
    /// Router, gateway or switch.
    NetworkDevice,
    /// An IT host (speaks no industrial protocol).
    ItHost,
    /// Not enough evidence.
    Unknown,
}

impl Role {
    /// The role's name in output and filters.
    pub fn name(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::Rtu => "rtu",
            Role::Hmi => "hmi",
            Role::ScadaServer => "scada_server",
            Role::EngineeringWorkstation => "engineering_workstation",
            Role::NetworkDevice => "network_device",
            Role::ItHost => "it_host",
            Role::Unknown => "unknown",
        }
    }

    /// Parses [`Role::name`].
    pub fn parse(s: &str) -> Option<Role> {
        use Role::*;
        [Controller, Rtu, Hmi, ScadaServer, EngineeringWorkstation, NetworkDevice, ItHost, Unknown]
            .into_iter()
            .find(|r| r.name() == s)
    }

    /// The Purdue level the role usually sits at (ISA-95 / IEC 62443 reference
    /// model): 1 basic control, 2 supervisory control, 4 business IT. Network
    /// devices span levels and get none.
    pub fn level(self) -> Option<u8> {
        match self {
            Role::Controller | Role::Rtu => Some(1),
            Role::Hmi | Role::ScadaServer | Role::EngineeringWorkstation => Some(2),
            Role::ItHost => Some(4),
            Role::NetworkDevice | Role::Unknown => None,
        }
    }
}

/// A role decision: which rule, how sure, and the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The role.
    pub role: Role,
    /// Its usual Purdue level.
    pub level: Option<u8>,
    /// The rule's name (see docs/inventory.md).
    pub rule: &'static str,
    /// How sure.
    pub confidence: Confidence,
    /// What the rule saw, in words.
    pub evidence: Vec<String>,
}

impl Decision {
    fn new(role: Role, rule: &'static str, confidence: Confidence, evidence: Vec<String>) -> Self {
        Decision { role, level: role.level(), rule, confidence, evidence }
    }

    /// The decision when no rule matched.
    pub fn unknown() -> Self {
        Decision::new(Role::Unknown, "no_rule_matched", Confidence::Low, Vec::new())
    }
}

/// Application protocols that controllers and RTUs answer.
const CONTROL_PROTOCOLS: &[&str] = &["modbus", "s7comm", "s7comm-plus", "enip", "cip", "dnp3"];

/// Whom an asset talks to, and how.
#[derive(Clone, Debug, Default)]
pub(crate) struct Behaviour {
    /// Protocols answered as a server.
    pub(crate) serves: BTreeSet<String>,
    /// Protocols spoken as a client.
    pub(crate) uses: BTreeSet<String>,
    /// Control protocol -> distinct clients answered.
    control_clients: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Control protocol -> distinct servers polled.
    control_servers: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Program, firmware and control requests sent: (class, protocol, peer) -> messages.
    changes_sent: BTreeMap<(OperationClass, String, IpAddr), u64>,
}

impl Behaviour {
    pub(crate) fn as_client(&mut self, c: &ConversationRow) {
        let Some(p) = c.app_protocol.clone() else { return };
        self.uses.insert(p.clone());
        if !CONTROL_PROTOCOLS.contains(&p.as_str()) {
            return;
        }
        let peer = c.server_ip;
        self.control_servers.entry(p.clone()).or_default().insert(peer);
        for r in &c.requests {
            // Configuration and authentication are engineering work on a PLC;
            // a DNP3 master configures outstations routinely (time
            // synchronisation, unsolicited reporting), so there they are not.
            let engineering = match r.class {
                OperationClass::Program | OperationClass::Firmware | OperationClass::Control => true,
                OperationClass::Configuration | OperationClass::Authentication => p != "dnp3",
                _ => false,
            };
            if engineering {
                *self.changes_sent.entry((r.class, p.clone(), peer)).or_insert(0) += r.messages;
            }
        }
    }

    pub(crate) fn as_server(&mut self, c: &ConversationRow) {
        let Some(p) = c.app_protocol.clone() else { return };
        self.serves.insert(p.clone());
        if CONTROL_PROTOCOLS.contains(&p.as_str()) {
            self.control_clients.entry(p).or_default().insert(c.client_ip);
        }
    }
}

/// Every rule that matches, strongest first.
pub(crate) fn decide(attributes: &[Attribute], modules: &[Module], b: &Behaviour, routes_for: usize) -> Vec<Decision> {
    let mut out = Vec::new();
    let stated = |f: Field| attributes.iter().find(|a| a.field == f);

    // The device says what it is.
    if let Some(t) = stated(Field::DeviceType) {
        let lower = t.value.to_lowercase();
        let role = if lower.contains("programmable logic controller") {
            Some(Role::Controller)
        } else if lower.contains("human-machine interface") || lower.contains("operator interface") {
            Some(Role::Hmi)
        } else {
            None
        };
        if let Some(role) = role {
            out.push(Decision::new(
                role,
                "device_type_stated",
                Confidence::High,
                vec![format!("device type \"{}\" ({})", t.value, source_of(t))],
            ));
        }
    }
    // A controller in the device's rack: the device is how the network reaches it.
    let controllers: Vec<String> = modules
        .iter()
        .filter(|m| {
            m.attributes
                .get(&Field::DeviceType)
                .is_some_and(|t| t.to_lowercase().contains("programmable logic controller"))
        })
        .map(|m| {
            let model = m.attributes.get(&Field::Model).map_or("", String::as_str);
            format!("module at {} is a Programmable Logic Controller {model}", m.route).trim_end().to_string()
        })
        .collect();
    if !controllers.is_empty() {
        out.push(Decision::new(Role::Controller, "controller_in_rack", Confidence::High, controllers));
    }
    if let Some(o) = stated(Field::OrderNumber).filter(|a| a.values.iter().any(|v| v.first.source == "s7comm")) {
        out.push(Decision::new(
            Role::Controller,
            "s7_module_identification",
            Confidence::High,
            vec![format!("answers S7 module identification: order number {}", o.value)],
        ));
    }

    // Behaviour: engineering operations sent to controllers.
    if !b.changes_sent.is_empty() {
        let evidence: Vec<String> = b
            .changes_sent
            .iter()
            .map(|((class, p, peer), n)| format!("{n} {} request(s) to {peer} over {p}", class.name()))
            .collect();
        let programs =
            b.changes_sent.keys().any(|(c, ..)| matches!(c, OperationClass::Program | OperationClass::Firmware));
        // Program or firmware transfers are what an engineering workstation does;
        // control, configuration or authentication alone are weaker evidence.
        let confidence = if programs { Confidence::High } else { Confidence::Medium };
        out.push(Decision::new(Role::EngineeringWorkstation, "sends_engineering_operations", confidence, evidence));
    }

    // Behaviour: answers control protocols.
    if !b.control_clients.is_empty() {
        let evidence: Vec<String> = b
            .control_clients
            .iter()
            .map(|(p, clients)| format!("answers {p} for {} client(s)", clients.len()))
            .collect();
        let only_dnp3 = b.control_clients.keys().all(|p| p == "dnp3");
        let role = if only_dnp3 { Role::Rtu } else { Role::Controller };
        let rule = if only_dnp3 { "serves_dnp3_as_outstation" } else { "serves_control_protocols" };
        out.push(Decision::new(role, rule, Confidence::Medium, evidence));
    }

    // Behaviour: polls controllers.
    let polled: BTreeSet<&IpAddr> = b.control_servers.values().flatten().collect();
    if !polled.is_empty() {
        let evidence: Vec<String> = b
            .control_servers
            .iter()
            .map(|(p, servers)| format!("polls {} server(s) over {p}", servers.len()))
            .collect();
        if polled.len() >= 3 {
            out.push(Decision::new(Role::ScadaServer, "polls_many_controllers", Confidence::Medium, evidence));
        } else {
            out.push(Decision::new(Role::Hmi, "polls_few_controllers", Confidence::Low, evidence));
        }
    }

    if routes_for > 0 {
        out.push(Decision::new(
            Role::NetworkDevice,
            "routes_for_many_addresses",
            Confidence::Medium,
            vec![format!("one MAC sends for {routes_for} IP addresses")],
        ));
    }

    let ot = b.serves.iter().chain(&b.uses).any(|p| CONTROL_PROTOCOLS.contains(&p.as_str()));
    if out.is_empty() && !ot && !(b.serves.is_empty() && b.uses.is_empty()) {
        let protocols: Vec<&str> = b.serves.iter().chain(&b.uses).map(String::as_str).collect();
        out.push(Decision::new(
            Role::ItHost,
            "it_protocols_only",
            Confidence::Low,
            vec![format!("speaks only {}", protocols.join(", "))],
        ));
    }
    // Strongest first; the rule order above breaks ties (the sort is stable).
    out.sort_by_key(|d| std::cmp::Reverse(d.confidence));
    out
}

fn source_of(a: &Attribute) -> String {
    a.values.first().map_or_else(String::new, |v| v.first.event.clone().unwrap_or_else(|| v.first.source.clone()))
}
