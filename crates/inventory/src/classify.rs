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
    /// Safety controller (safety instrumented system logic solver).
    SafetyController,
    /// Remote terminal unit or outstation.
    Rtu,
    /// Intelligent electronic device: protection relay, bay controller, merging unit.
    Ied,
    /// Human-machine interface.
    Hmi,
    /// SCADA server or other supervisory poller.
    ScadaServer,
    /// OPC server: publishes process data to supervisory clients.
    OpcServer,
    /// Process historian.
    Historian,
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
    /// Every role, in the order documentation lists them.
    pub const ALL: [Role; 12] = [
        Role::Controller,
        Role::SafetyController,
        Role::Rtu,
        Role::Ied,
        Role::Hmi,
        Role::ScadaServer,
        Role::OpcServer,
        Role::Historian,
        Role::EngineeringWorkstation,
        Role::NetworkDevice,
        Role::ItHost,
        Role::Unknown,
    ];

    /// The role's name in output and filters.
    pub fn name(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::SafetyController => "safety_controller",
            Role::Rtu => "rtu",
            Role::Ied => "ied",
            Role::Hmi => "hmi",
            Role::ScadaServer => "scada_server",
            Role::OpcServer => "opc_server",
            Role::Historian => "historian",
            Role::EngineeringWorkstation => "engineering_workstation",
            Role::NetworkDevice => "network_device",
            Role::ItHost => "it_host",
            Role::Unknown => "unknown",
        }
    }

    /// Parses [`Role::name`].
    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The Purdue level the role usually sits at (ISA-95 / IEC 62443 reference
    /// model): 1 basic control, 2 supervisory control, 3 site operations, 4
    /// business IT. Network devices span levels and get none.
    pub fn level(self) -> Option<u8> {
        match self {
            Role::Controller | Role::SafetyController | Role::Rtu | Role::Ied => Some(1),
            Role::Hmi | Role::ScadaServer | Role::OpcServer | Role::EngineeringWorkstation => Some(2),
            Role::Historian => Some(3),
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

/// Application protocols that controllers and RTUs answer (BACnet: building
/// automation controllers; MMS: IEC 61850 IEDs, protection and bay
/// controllers; ADS: Beckhoff TwinCAT PLCs).
const CONTROL_PROTOCOLS: &[&str] =
    &["modbus", "s7comm", "s7comm-plus", "enip", "cip", "dnp3", "iec104", "bacnet", "mms", "ads"];

/// Synchrophasor measurements (IEEE C37.118): OT traffic, but no control
/// protocol (a PDC turning a PMU's stream on and off is routine).
const GRID_DATA_PROTOCOL: &str = "c37118";

/// Telecontrol protocols: the server is an outstation (DNP3) or controlled
/// station (IEC 60870-5-104: the controlled station listens, the
/// controlling station connects), and the client synchronises its clock,
/// loads parameters and authenticates as routine.
const TELECONTROL_PROTOCOLS: &[&str] = &["dnp3", "iec104"];

/// Whom an asset talks to, and how.
#[derive(Clone, Debug, Default)]
pub(crate) struct Behaviour {
    /// Protocols answered as a server.
    pub(crate) serves: SortedSet<String>,
    /// Protocols spoken as a client.
    pub(crate) uses: SortedSet<String>,
    /// Control protocol -> distinct clients answered.
    control_clients: SortedMap<String, SortedSet<IpAddr>>,
    /// Control protocol -> distinct servers polled.
    control_servers: SortedMap<String, SortedSet<IpAddr>>,
    /// Program, firmware and control requests sent: (class, protocol, peer) -> messages.
    changes_sent: BTreeMap<(OperationClass, String, IpAddr), u64>,
    /// TCP ports answered in conversations of at least [`SERVED_MIN_PACKETS`]
    /// packets -> distinct clients.
    ports_served: SortedMap<u16, SortedSet<IpAddr>>,
    /// What the asset publishes by multicast (IEC 61850 GOOSE and SV control
    /// blocks), in words.
    pub(crate) publishes: BTreeSet<String>,
    /// What it announces doing, and in which protocol: (`LLDP` or `CDP`,
    /// `router` or `bridge`).
    pub(crate) announces: BTreeSet<(&'static str, &'static str)>,
}

/// A set kept as a sorted list. An asset's protocols and peers are few, and
/// every asset has its own sets: a `BTreeSet`'s first node has room for eleven
/// entries, which made these sets most of a plant-scale build's memory.
#[derive(Clone, Debug)]
pub(crate) struct SortedSet<T>(Vec<T>);

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        SortedSet(Vec::new())
    }
}

impl<T: Ord> SortedSet<T> {
    pub(crate) fn insert(&mut self, value: T) {
        if let Err(at) = self.0.binary_search(&value) {
            self.0.insert(at, value);
        }
    }

    pub(crate) fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: std::borrow::Borrow<Q>,
    {
        self.0.binary_search_by(|v| v.borrow().cmp(value)).is_ok()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T: Ord> Extend<T> for SortedSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for v in values {
            self.insert(v);
        }
    }
}

impl<T> IntoIterator for SortedSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a SortedSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A map kept as a list sorted by key, for the same reason as [`SortedSet`].
#[derive(Clone, Debug)]
pub(crate) struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<K: Ord, V: Default> SortedMap<K, V> {
    /// The value under `key`, made (with the key from `make`) when absent: a hit
    /// costs no key copy.
    fn entry<Q: Ord + ?Sized>(&mut self, key: &Q, make: impl FnOnce() -> K) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
    {
        let at = match self.0.binary_search_by(|(k, _)| k.borrow().cmp(key)) {
            Ok(at) => at,
            Err(at) => {
                self.0.insert(at, (make(), V::default()));
                at
            }
        };
        self.0.get_mut(at).map(|(_, v)| v)
    }

    fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
    {
        let at = self.0.binary_search_by(|(k, _)| k.borrow().cmp(key)).ok()?;
        self.0.get(at).map(|(_, v)| v)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }
}

/// Packets a TCP conversation needs before its port counts as served: more
/// than a handshake and a close, so refused and scanned ports do not.
pub(crate) const SERVED_MIN_PACKETS: u64 = 6;

/// Well-known TCP ports of OPC UA servers (IANA: opcua-tcp 4840, opcua-tls 4843).
const OPC_UA_PORTS: &[(u16, &str)] = &[(4840, "OPC UA"), (4843, "OPC UA")];

/// TCP ports historian servers listen on, with the product (vendor documentation:
/// AVEVA PI Server "PI Data Archive port 5450", "PI AF port 5457"; GE Proficy
/// Historian "Historian Data Archiver port 14000").
const HISTORIAN_PORTS: &[(u16, &str)] =
    &[(5450, "PI Data Archive"), (5457, "PI Asset Framework"), (14000, "Proficy Historian")];

impl Behaviour {
    pub(crate) fn as_client(&mut self, c: &ConversationRow) {
        let Some(p) = c.app_protocol.as_deref() else { return };
        if !self.uses.contains(p) {
            self.uses.insert(p.to_string());
        }
        if !CONTROL_PROTOCOLS.contains(&p) {
            return;
        }
        let peer = c.server_ip;
        if let Some(servers) = self.control_servers.entry(p, || p.to_string()) {
            servers.insert(peer);
        }
        for r in &c.requests {
            // Configuration and authentication are engineering work on a PLC;
            // a DNP3 master or IEC 104 controlling station configures its
            // stations routinely (time synchronisation, unsolicited reporting,
            // parameters of measured values), so there they are not.
            let engineering = match r.class {
                OperationClass::Program | OperationClass::Firmware | OperationClass::Control => true,
                OperationClass::Configuration | OperationClass::Authentication => !TELECONTROL_PROTOCOLS.contains(&p),
                _ => false,
            };
            if engineering {
                *self.changes_sent.entry((r.class, p.to_string(), peer)).or_insert(0) += r.messages;
            }
        }
    }

    /// Evidence for each of `ports` (port, product) the asset answers.
    fn serving(&self, ports: &[(u16, &str)]) -> Vec<String> {
        ports
            .iter()
            .filter_map(|(port, product)| {
                let clients = self.ports_served.get(port)?;
                Some(format!("answers TCP {port} ({product}) for {} client(s)", clients.len()))
            })
            .collect()
    }

    pub(crate) fn as_server(&mut self, c: &ConversationRow) {
        if c.transport == "tcp" && c.packets >= SERVED_MIN_PACKETS {
            if let Some(clients) = self.ports_served.entry(&c.server_port, || c.server_port) {
                clients.insert(c.client_ip);
            }
        }
        let Some(p) = c.app_protocol.as_deref() else { return };
        if !self.serves.contains(p) {
            self.serves.insert(p.to_string());
        }
        if CONTROL_PROTOCOLS.contains(&p) {
            if let Some(clients) = self.control_clients.entry(p, || p.to_string()) {
                clients.insert(c.client_ip);
            }
        }
    }
}

/// Every rule that matches, strongest first.
pub(crate) fn decide(attributes: &[Attribute], modules: &[Module], b: &Behaviour, routes_for: usize) -> Vec<Decision> {
    let mut out = Vec::new();
    let stated = |f: Field| attributes.iter().find(|a| a.field == f);

    // The device names a safety product: more specific than any controller rule.
    let product_texts = attributes
        .iter()
        .filter(|a| matches!(a.field, Field::Model | Field::OrderNumber | Field::Module))
        .flat_map(|a| a.values.iter().map(move |v| (a, v.value.as_str())));
    let safety: Vec<String> = product_texts
        .clone()
        .filter(|(_, text)| is_safety_product(text))
        .map(|(a, text)| format!("{} \"{text}\" is a safety controller ({})", a.field.name(), source_of(a)))
        .chain(modules.iter().filter_map(|m| {
            let model = m.attributes.get(&Field::Model)?;
            is_safety_product(model).then(|| format!("module at {} is {model}, a safety controller", m.route))
        }))
        .collect();
    if !safety.is_empty() {
        out.push(Decision::new(Role::SafetyController, "safety_product_stated", Confidence::High, safety));
    }
    // Only IEDs publish GOOSE and Sampled Values.
    if !b.publishes.is_empty() {
        let evidence = b.publishes.iter().map(|p| format!("publishes {p}")).collect();
        out.push(Decision::new(Role::Ied, "publishes_iec61850", Confidence::High, evidence));
    }

    // The device says what it is.
    if let Some(t) = stated(Field::DeviceType) {
        let lower = t.value.to_lowercase();
        let role = if lower.contains("programmable logic controller") || lower.contains("profinet io controller") {
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

    // A protection relay family named by the device.
    let relay: Vec<String> = product_texts
        .filter(|(_, text)| is_protection_relay(text))
        .map(|(a, text)| format!("{} \"{text}\" is a protection relay family ({})", a.field.name(), source_of(a)))
        .collect();
    if !relay.is_empty() {
        out.push(Decision::new(Role::Ied, "protection_relay_stated", Confidence::Medium, relay));
    }

    // ICCP (TASE.2): a node of an inter-control-centre link is a SCADA or EMS
    // server of a control centre, not the IED its MMS alone would suggest.
    let iccp: Vec<String> = attributes
        .iter()
        .filter(|a| a.field == Field::Services)
        .flat_map(|a| &a.values)
        .filter(|v| ICCP_SERVICES.contains(&v.value.as_str()))
        .map(|v| format!("{} ({})", iccp_evidence(&v.value), v.first.event.as_deref().unwrap_or(&v.first.source)))
        .collect();
    if !iccp.is_empty() {
        out.push(Decision::new(Role::ScadaServer, "serves_iccp", Confidence::High, iccp));
    }

    // Behaviour: answers control protocols.
    if !b.control_clients.is_empty() {
        let evidence: Vec<String> = b
            .control_clients
            .iter()
            .map(|(p, clients)| format!("answers {p} for {} client(s)", clients.len()))
            .collect();
        // A station that answers only telecontrol protocols is an RTU (or a
        // bay controller or gateway in that role); a PLC answers others too.
        let only = |set: &[&str]| b.control_clients.keys().all(|p| set.contains(&p.as_str()));
        let (role, rule) = if only(&["dnp3"]) {
            (Role::Rtu, "serves_dnp3_as_outstation")
        } else if only(&["mms"]) {
            // An MMS server on a control network is an IEC 61850 IED; an ICCP
            // node is told apart by its TASE.2 objects (`serves_iccp` above).
            (Role::Ied, "serves_mms_as_ied")
        } else if only(TELECONTROL_PROTOCOLS) {
            (Role::Rtu, "serves_telecontrol_as_outstation")
        } else {
            (Role::Controller, "serves_control_protocols")
        };
        out.push(Decision::new(role, rule, Confidence::Medium, evidence));
    }

    // Behaviour: answers a historian's port.
    let historian = b.serving(HISTORIAN_PORTS);
    if !historian.is_empty() {
        out.push(Decision::new(Role::Historian, "serves_historian_port", Confidence::Medium, historian));
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

    // Behaviour: answers OPC UA.
    let mut opc = b.serving(OPC_UA_PORTS);
    if b.serves.contains("opcua") {
        opc.push("answers OPC UA".to_string());
    }
    if !opc.is_empty() {
        out.push(Decision::new(Role::OpcServer, "serves_opc_ua", Confidence::Medium, opc));
    }

    // Behaviour: streams synchrophasor measurements. A PMU is a TCP server of
    // IEEE C37.118 (PDCs and control centres connect to it); so is a PDC that
    // serves its combined stream onwards: both are substation IEDs.
    if b.serves.contains(GRID_DATA_PROTOCOL) {
        out.push(Decision::new(
            Role::Ied,
            "serves_synchrophasor_data",
            Confidence::Medium,
            vec!["streams IEEE C37.118 synchrophasor data (a PMU, or a PDC serving its combined stream)".to_string()],
        ));
    }

    // LLDP and CDP: the device says it forwards frames or routes packets. After the
    // controller rules: PLCs with a built-in switch announce a bridge too.
    // CDP likewise: its capabilities are the ones in use (a Cisco switch
    // announces `switch`, a router `router`, a phone `host,voip_phone`).
    for (protocol, rule) in [("LLDP", "lldp_capability_stated"), ("CDP", "cdp_capability_stated")] {
        let evidence: Vec<String> = b
            .announces
            .iter()
            .filter(|(p, _)| *p == protocol)
            .map(|(_, c)| format!("announces the {c} capability enabled in {protocol}"))
            .collect();
        if !evidence.is_empty() {
            out.push(Decision::new(Role::NetworkDevice, rule, Confidence::Medium, evidence));
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

    // NetBIOS and browser announcements: a Windows domain controller is an IT
    // host. Last of the medium rules, so any other evidence of the same
    // standing (a control protocol it answers) decides instead.
    let domain: Vec<String> = attributes
        .iter()
        .filter(|a| a.field == Field::Services)
        .flat_map(|a| &a.values)
        .filter(|v| DOMAIN_CONTROLLER_SERVICES.contains(&v.value.as_str()))
        .map(|v| format!("announces {} ({})", v.value, v.first.event.as_deref().unwrap_or(&v.first.source)))
        .collect();
    if !domain.is_empty() {
        out.push(Decision::new(Role::ItHost, "announces_domain_controller", Confidence::Medium, domain));
    }

    let ot = b.serves.iter().chain(&b.uses).any(|p| CONTROL_PROTOCOLS.contains(&p.as_str()) || p == GRID_DATA_PROTOCOL);
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

/// The services an ICCP (TASE.2) association gives its ends (docs/inventory.md).
const ICCP_SERVICES: &[&str] = &["iccp_server", "iccp_client"];

fn iccp_evidence(service: &str) -> &'static str {
    if service == "iccp_server" {
        "answers the ICCP (TASE.2) association objects"
    } else {
        "reads the ICCP (TASE.2) association objects of a peer"
    }
}

/// The services a NetBIOS name or browser announcement gives a domain
/// controller: the `<1C>` group name, and the server type bits of a primary
/// or backup domain controller (docs/inventory.md, identity fields).
const DOMAIN_CONTROLLER_SERVICES: &[&str] = &["domain_controller", "backup_domain_controller"];

/// Safety controller product names and catalogue numbers: Rockwell GuardLogix
/// (catalogue numbers whose controller suffix holds an `S`: 1756-L73S,
/// 1756-L81ES, 5069-L306ERS2), Siemens F-CPUs (`CPU 1516F-3 PN/DP`, `CPU
/// 315F-2`, `CPU 1215FC`, `IM151-8F`), Schneider Triconex/Tricon, HIMA HIMax
/// and HIMatrix, Yokogawa ProSafe, Honeywell Safety Manager.
pub(crate) fn is_safety_product(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if ["guardlogix", "triconex", "tricon ", "himax", "himatrix", "prosafe", "safety manager"]
        .iter()
        .any(|n| lower.contains(n))
    {
        return true;
    }
    lower.split(|c: char| c.is_whitespace() || c == '/').any(|token| {
        // Rockwell: 1756-L73S, 1769-L36ERMS, 5069-L306ERS2 (the suffix after the digits).
        if let Some((family, rest)) = token.split_once("-l") {
            if ["1756", "1769", "5069", "5380"].contains(&family) {
                let suffix = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                return suffix.len() < rest.len() && suffix.contains('s');
            }
        }
        false
    }) || siemens_f_cpu(&lower)
}

/// `cpu 1516f-3`, `cpu 315f-2`, `cpu 1215fc`, `im151-8f`: digits then `f`.
fn siemens_f_cpu(lower: &str) -> bool {
    let after = |prefix: &str| {
        lower.match_indices(prefix).any(|(at, _)| {
            let rest = lower.get(at + prefix.len()..).unwrap_or_default();
            let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
            digits.len() < rest.len() && digits.starts_with('f')
        })
    };
    after("cpu ") || after("im151-") || after("im154-")
}

/// Protection relay families (vendor product lines): SEL-3xx/4xx/7xx
/// (Schweitzer; three digits: SEL-3530 RTAC and SEL-2240 Axion are automation
/// controllers), SIPROTEC (Siemens), Multilin (GE), MiCOM and Sepam
/// (Schneider), Relion REF/REL/RET/REM/RED6xx (ABB).
pub(crate) fn is_protection_relay(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if ["siprotec", "multilin", "micom", "sepam", "relion"].iter().any(|n| lower.contains(n)) {
        return true;
    }
    lower.split(|c: char| c.is_whitespace() || c == '/' || c == ',').any(|t| {
        let sel = t.strip_prefix("sel-").is_some_and(|r| {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            digits == 3 && r.starts_with(['3', '4', '7'])
        });
        let relion = ["ref6", "rel6", "ret6", "rem6", "red6", "reu6", "rec6"].iter().any(|p| t.starts_with(p));
        sel || relion
    })
}

fn source_of(a: &Attribute) -> String {
    a.values.first().map_or_else(String::new, |v| v.first.event.clone().unwrap_or_else(|| v.first.source.clone()))
}
