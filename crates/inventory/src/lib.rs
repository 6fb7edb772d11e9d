//! The asset inventory: one record per device, merged from the hosts the engine
//! saw (MAC, IP, VLAN), the identities devices stated in their protocols, and the
//! conversations between them; each attribute with where it came from, each role
//! with the rule and evidence that gave it.
//!
//! Merging, in order:
//! 1. A MAC that sends for many IP addresses ([`ROUTING_MIN_IPS`] or more) is a
//!    router or gateway: the addresses behind it become assets of their own
//!    (by IP and VLAN), and the router is an asset with the addresses it
//!    claimed in ARP.
//! 2. Every other MAC is one asset with all its addresses (a DHCP change adds an
//!    address, it does not make a second device) and VLANs.
//! 3. A sender without a MAC (captures without a link layer) is an asset by IP
//!    and VLAN, so overlapping address space on two VLANs stays two devices.
//! 4. Assets that state the same vendor and serial number are one device with
//!    several interfaces.
//!
//! Addresses are always read within a network (`analyze --network`; one
//! unnamed network unless the user names them): an address behind a router,
//! a MAC-less sender, the host a name service names, the ends of a
//! conversation are placed by (network, IP, VLAN), so two plants that reuse one
//! address space stay apart. A MAC is one device wherever it was seen, and
//! lists the networks it was seen in.
//!
//! Identity values are kept per field with every distinct value and its
//! provenance; when sources disagree all values are shown and the asset's
//! headline value is the most trusted, then the latest.

mod classify;
pub mod identity;
mod map;
mod persist;
pub mod vendor;

pub use classify::{Decision, Role};
pub use identity::{Confidence, Field};
pub use map::{ClassCounts, Edge, Edges, Endpoint};
pub use persist::{apply_overrides, asset_records, edge_records, records};

use otposture_model::MacAddr;
use otposture_store::{ConversationRow, EventRow, HostRow};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Hash maps keyed by addresses: foldhash, as the engine uses (the standard
/// SipHash was a tenth of a plant-scale build).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::net::IpAddr;

/// Addresses one MAC must send for before it counts as a router or gateway.
pub const ROUTING_MIN_IPS: usize = 4;

/// Control blocks kept per asset as evidence of publishing (a bay controller
/// has a handful; the bound keeps a hostile sender from growing an asset).
const MAX_PUBLICATIONS: usize = 32;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// `mac_prefix`, `dhcp`, or the protocol of the identity event (`s7comm`, ...).
    pub source: String,
    /// The identity event's name, for values from events.
    pub event: Option<String>,
    /// The event's row id (`otposture events`), for values from events.
    pub event_id: Option<i64>,
    /// Capture and 1-based packet number that revealed it, when tied to a packet.
    pub capture_id: Option<i64>,
    /// Packet number in that capture.
    pub packet: Option<u64>,
    /// The flow it was seen in.
    pub flow_id: Option<i64>,
    /// Time it was seen, ns since the epoch.
    pub ts_ns: i64,
}

impl Provenance {
    /// A value not tied to a packet (a MAC prefix, a DHCP name on the host row).
    fn outside_packets(source: &str, ts_ns: i64) -> Self {
        Provenance {
            source: source.to_string(),
            event: None,
            event_id: None,
            capture_id: None,
            packet: None,
            flow_id: None,
            ts_ns,
        }
    }
}

/// One distinct value of a field, and what said it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Value {
    /// The value (vendor names normalised).
    pub value: String,
    /// The text as the source gave it, when it differs from `value`.
    pub raw: Option<String>,
    /// How far it can be trusted.
    pub confidence: Confidence,
    /// The first source that gave it.
    pub first: Provenance,
    /// The latest source that gave it.
    pub last: Provenance,
    /// How many identity reports gave it.
    pub reports: u64,
}

/// A field's values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attribute {
    /// Which field.
    pub field: Field,
    /// The headline value: the most trusted, then the latest.
    pub value: String,
    /// True when sources gave more than one value.
    pub conflict: bool,
    /// Every distinct value, most trusted first.
    pub values: Vec<Value>,
}

/// A module the traffic reached through the device (a card in its rack),
/// with what it stated about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Module {
    /// The route to it from the device: `1/0` (CIP: backplane port 1, slot 0),
    /// `rack 0 slot 2` (S7 module status).
    pub route: String,
    /// Its identity fields, latest report per field.
    pub attributes: BTreeMap<Field, String>,
    /// The latest report.
    pub last: Provenance,
}

/// One device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// Stable id: `mac-<mac>` or `ip-<ip>` (`ip-<ip>-vlan<N>` when tagged,
    /// `@<network>` after it in a named network): see [`address_id`].
    pub id: String,
    /// Its MAC addresses.
    pub macs: Vec<MacAddr>,
    /// Its IP addresses.
    pub ips: Vec<IpAddr>,
    /// VLANs it was seen on.
    pub vlans: Vec<u16>,
    /// Networks it was seen in, by name, `""` for the unnamed one. Left out of
    /// JSON when that is the only one, so an inventory without named networks
    /// reads as before they existed.
    #[serde(skip_serializing_if = "unnamed_only")]
    pub networks: Vec<String>,
    /// First and last seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen.
    pub last_seen_ns: i64,
    /// Identity fields.
    pub attributes: Vec<Attribute>,
    /// Modules reached through it (CIP routes across the backplane).
    pub modules: Vec<Module>,
    /// The role and Purdue level decided, with the rule and evidence.
    pub role: Decision,
    /// Every rule that matched, strongest first (the first is `role`).
    pub candidates: Vec<Decision>,
    /// Application protocols it answered as a server.
    pub serves: Vec<String>,
    /// Application protocols it spoke as a client.
    pub uses: Vec<String>,
    /// GOOSE and Sampled Values control blocks it publishes, in words.
    pub publishes: Vec<String>,
    /// Why assets were merged into this one, if they were.
    pub merged: Vec<String>,
}

impl Asset {
    /// The headline value of a field.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.attributes.iter().find(|a| a.field == field).map(|a| a.value.as_str())
    }

    /// Whether it was seen in `network` (`None`: the unnamed one).
    pub fn in_network(&self, network: Option<&str>) -> bool {
        let name = network.unwrap_or_default();
        self.networks.iter().any(|n| n == name)
    }
}

fn unnamed_only(networks: &[String]) -> bool {
    networks.iter().all(String::is_empty)
}

/// The id of something known only by its address: `ip-<ip>`, with
/// `-vlan<N>` when tagged and `@<network>` in a named network. The unnamed
/// network adds nothing, so ids are what they were before networks existed.
/// Network names hold no `@` (`otposture_model::check_network_name`), so the
/// last `@` starts the network.
pub fn address_id(ip: IpAddr, vlan: Option<u16>, network: Option<&str>) -> String {
    let mut id = format!("ip-{ip}");
    if let Some(v) = vlan {
        id.push_str(&format!("-vlan{v}"));
    }
    if let Some(n) = network.filter(|n| !n.is_empty()) {
        id.push('@');
        id.push_str(n);
    }
    id
}

/// Reads an [`address_id`]: its address and network (`None`: the unnamed
/// one); `None` for an id of another kind (`mac-...`).
pub fn parse_address_id(id: &str) -> Option<(IpAddr, Option<&str>)> {
    let rest = id.strip_prefix("ip-")?;
    let (rest, network) = match rest.rsplit_once('@') {
        Some((rest, network)) => (rest, Some(network)),
        None => (rest, None),
    };
    let ip = rest.split("-vlan").next()?.parse().ok()?;
    Some((ip, network))
}

/// Networks by number, the unnamed one 0: keys hold four bytes, not a name.
#[derive(Debug)]
struct Networks {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Default for Networks {
    fn default() -> Self {
        let mut ids = HashMap::default();
        ids.insert(String::new(), 0);
        Networks { names: vec![String::new()], ids }
    }
}

impl Networks {
    /// The number of a network, given one the first time it is met; the
    /// unnamed one past 2^32 networks.
    fn id(&mut self, name: Option<&str>) -> u32 {
        let name = name.unwrap_or_default();
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let Ok(id) = u32::try_from(self.names.len()) else { return 0 };
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The number of a network met before.
    fn get(&self, name: Option<&str>) -> Option<u32> {
        self.ids.get(name.unwrap_or_default()).copied()
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// The inventory and what could not be placed in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Assets, ordered by id.
    pub assets: Vec<Asset>,
    /// The communication map: edges between assets, ordered by client, server, protocol.
    pub edges: Edges,
    /// Identity events whose sender matched no asset, or several.
    pub unplaced_identities: u64,
}

/// An asset under construction.
#[derive(Debug, Default)]
struct Draft {
    macs: BTreeSet<MacAddr>,
    /// Addresses with the network each was seen in.
    ips: BTreeSet<(IpAddr, u32)>,
    vlans: BTreeSet<u16>,
    /// Networks seen in, sorted (a handful at most; usually one).
    networks: Vec<u32>,
    first: Option<i64>,
    last: Option<i64>,
    /// Value records by (field, value).
    values: Values,
    routes_for: usize,
    modules: BTreeMap<String, Module>,
    merged: Vec<String>,
    alias: Option<usize>,
    /// GOOSE and SV control blocks published, in words.
    publishes: BTreeSet<String>,
    /// The protocols they are published with (`goose`, `sv`).
    published_with: BTreeSet<&'static str>,
    /// What LLDP or CDP says it does: (protocol, `router` or `bridge`).
    announces: BTreeSet<(&'static str, &'static str)>,
}

/// A draft's value records, ordered by (field, value). A sorted list, not a
/// `BTreeMap`: a draft has a handful of values, and a map's first node holds
/// room for eleven (about 3 KiB a draft, half the memory of a plant-scale build).
#[derive(Debug, Default)]
struct Values(Vec<((Field, String), Value)>);

impl Values {
    fn find(&self, field: Field, value: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|((f, v), _)| (*f, v.as_str()).cmp(&(field, value)))
    }

    fn get_mut(&mut self, field: Field, value: &str) -> Option<&mut Value> {
        let at = self.find(field, value).ok()?;
        self.0.get_mut(at).map(|(_, v)| v)
    }

    fn insert(&mut self, field: Field, v: Value) {
        match self.find(field, &v.value) {
            Ok(at) => {
                if let Some(slot) = self.0.get_mut(at) {
                    slot.1 = v;
                }
            }
            Err(at) => self.0.insert(at, ((field, v.value.clone()), v)),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &((Field, String), Value)> {
        self.0.iter()
    }
}

impl IntoIterator for Values {
    type Item = ((Field, String), Value);
    type IntoIter = std::vec::IntoIter<Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Draft {
    fn in_network(&mut self, net: u32) {
        if let Err(at) = self.networks.binary_search(&net) {
            self.networks.insert(at, net);
        }
    }

    fn seen(&mut self, first: i64, last: i64) {
        self.first = Some(self.first.map_or(first, |f| f.min(first)));
        self.last = Some(self.last.map_or(last, |l| l.max(last)));
    }

    fn claim(&mut self, field: Field, value: String, raw: Option<String>, confidence: Confidence, p: Provenance) {
        match self.values.get_mut(field, &value) {
            Some(v) => {
                v.reports += 1;
                v.confidence = v.confidence.max(confidence);
                if p.ts_ns >= v.last.ts_ns {
                    v.last = p;
                } else if p.ts_ns < v.first.ts_ns {
                    v.first = p;
                }
            }
            None => {
                let raw = raw.filter(|r| *r != value);
                self.values.insert(field, Value { value, raw, confidence, first: p.clone(), last: p, reports: 1 });
            }
        }
    }
}

/// Builds the inventory from the store's hosts, identity events and conversations.
pub fn build(hosts: &[HostRow], identities: &[EventRow], conversations: &[ConversationRow]) -> Inventory {
    let mut b = InventoryBuilder::new(hosts, identities);
    for c in conversations {
        b.conversation(c);
    }
    b.finish()
}

/// Builds the inventory with the conversations fed one at a time (as
/// `Store::each_conversation` reads them), so they are never all held: memory
/// follows the assets and the edges, not the conversations behind them.
#[derive(Debug)]
pub struct InventoryBuilder {
    b: Builder,
    /// Conversations seen from each draft.
    talk: Vec<classify::Behaviour>,
    edges: map::EdgeSums,
    unplaced: u64,
}

impl InventoryBuilder {
    /// Assets from the hosts and identity events, before any conversation.
    pub fn new(hosts: &[HostRow], identities: &[EventRow]) -> Self {
        let mut b = Builder::default();
        b.hosts(hosts, identities);
        b.index_addresses();
        let mut unplaced = 0;
        for e in identities {
            if !b.identity(e) {
                unplaced += 1;
            }
        }
        b.merge_by_serial();
        let talk = b.drafts.iter().map(|_| classify::Behaviour::default()).collect();
        InventoryBuilder { b, talk, edges: map::EdgeSums::default(), unplaced }
    }

    /// One conversation: what it says of its two ends' behaviour, and its edge.
    pub fn conversation(&mut self, c: &ConversationRow) {
        let net = self.b.networks.id(c.network.as_deref());
        let client = self.b.locate(net, c.client_ip, c.vlan);
        let server = self.b.locate(net, c.server_ip, c.vlan);
        if let Some(b) = client.and_then(|i| self.talk.get_mut(i)) {
            b.as_client(c);
        }
        if let Some(b) = server.and_then(|i| self.talk.get_mut(i)) {
            b.as_server(c);
        }
        self.edges.add(c, net, client, server);
    }

    /// Classifies the assets and names the edges.
    pub fn finish(self) -> Inventory {
        let InventoryBuilder { b, talk, edges, unplaced } = self;
        let (assets, edges) = b.finish(talk, edges);
        Inventory { assets, edges, unplaced_identities: unplaced }
    }
}

/// An address in a network.
type Addr = (u32, IpAddr);

#[derive(Debug, Default)]
struct Builder {
    drafts: Vec<Draft>,
    networks: Networks,
    by_mac: HashMap<MacAddr, usize>,
    by_ip: HashMap<(u32, IpAddr, Option<u16>), usize>,
    /// Address -> the drafts holding it on any VLAN (made after the hosts).
    by_addr: HashMap<Addr, Vec<usize>>,
    /// The all-zero MAC sent only frames without an IP address (see [`Builder::station`]).
    zero_mac_is_layer2_only: bool,
}

/// Addresses that name no device.
fn is_device_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

impl Builder {
    /// A MAC that names one device. Not all zeros, where an IP address was
    /// sent from it: Linux's loopback and some synthetic captures give every
    /// frame that address, and keying by it merged every host behind it into
    /// one asset owned by Xerox (OUI 00:00:00); those hosts are known by
    /// address. A publisher of layer-2 frames only (GOOSE on loopback) has no
    /// other name, and keeps it.
    fn station(&self, mac: Option<MacAddr>) -> Option<MacAddr> {
        mac.filter(|m| m.names_a_station() || (m.0 == [0; 6] && self.zero_mac_is_layer2_only))
    }

    fn new_draft(&mut self) -> usize {
        self.drafts.push(Draft::default());
        self.drafts.len() - 1
    }

    /// The asset a draft was merged into.
    fn resolve(&self, mut i: usize) -> usize {
        while let Some(next) = self.drafts.get(i).and_then(|d| d.alias) {
            i = next;
        }
        i
    }

    fn hosts(&mut self, hosts: &[HostRow], identities: &[EventRow]) {
        let zero = Some(MacAddr([0; 6]));
        self.zero_mac_is_layer2_only = !hosts.iter().any(|h| h.mac == zero && h.ip.is_some_and(is_device_ip));
        // Addresses each MAC sent for, in their networks.
        let mut ips_of: HashMap<MacAddr, BTreeSet<Addr>> = HashMap::default();
        for h in hosts {
            let net = self.networks.id(h.network.as_deref());
            if let (Some(mac), Some(ip)) = (self.station(h.mac), h.ip.filter(|ip| is_device_ip(*ip))) {
                ips_of.entry(mac).or_default().insert((net, ip));
            }
        }
        // What a MAC claimed as its own in ARP: a router's own address.
        let mut arp_claims: HashMap<MacAddr, BTreeSet<Addr>> = HashMap::default();
        for e in identities.iter().filter(|e| e.name == "arp.sender") {
            let ip = e.attributes.get("ip").and_then(|s| s.parse::<IpAddr>().ok());
            if let (Some(mac), Some(ip)) = (self.station(e.src_mac), ip) {
                let net = self.networks.id(e.network.as_deref());
                arp_claims.entry(mac).or_default().insert((net, ip));
            }
        }
        let routing = |mac: &MacAddr| ips_of.get(mac).is_some_and(|s| s.len() >= ROUTING_MIN_IPS);
        for h in hosts {
            let ip = h.ip.filter(|ip| is_device_ip(*ip));
            let net = self.networks.id(h.network.as_deref());
            let at = match (self.station(h.mac), ip) {
                (Some(mac), Some(ip))
                    if routing(&mac) && !arp_claims.get(&mac).is_some_and(|s| s.contains(&(net, ip))) =>
                {
                    // An address behind a router: a device of its own.
                    let r = self.mac_draft(mac);
                    if let Some(d) = self.drafts.get_mut(r) {
                        d.routes_for = ips_of.get(&mac).map_or(0, BTreeSet::len);
                        d.seen(h.first_seen_ns, h.last_seen_ns);
                        d.vlans.extend(h.vlan);
                        d.in_network(net);
                    }
                    self.ip_draft(net, ip, h.vlan)
                }
                (Some(mac), _) => self.mac_draft(mac),
                (None, Some(ip)) => self.ip_draft(net, ip, h.vlan),
                (None, None) => continue,
            };
            let Some(d) = self.drafts.get_mut(at) else { continue };
            d.seen(h.first_seen_ns, h.last_seen_ns);
            d.vlans.extend(h.vlan);
            d.in_network(net);
            if let Some(ip) = ip {
                d.ips.insert((ip, net));
            }
            let p = Provenance::outside_packets("dhcp", h.last_seen_ns);
            if let Some(name) = h.host_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                d.claim(Field::HostName, name.to_string(), None, Confidence::High, p);
            }
        }
        // Index every address of a MAC asset too, so identities sent from an
        // address (without a usable MAC) find it.
        for (i, d) in self.drafts.iter().enumerate() {
            if d.routes_for > 0 {
                continue;
            }
            for &(ip, net) in &d.ips {
                for vlan in d.vlans.iter().copied().map(Some).chain(d.vlans.is_empty().then_some(None)) {
                    self.by_ip.entry((net, ip, vlan)).or_insert(i);
                }
            }
        }
        for (mac, ips) in &arp_claims {
            if routing(mac) {
                if let Some(d) = self.by_mac.get(mac).and_then(|&i| self.drafts.get_mut(i)) {
                    d.ips.extend(ips.iter().map(|&(net, ip)| (ip, net)));
                }
            }
        }
        // MAC prefixes: the registered owner of each MAC, with low confidence.
        for d in &mut self.drafts {
            let macs: Vec<MacAddr> = d.macs.iter().copied().collect();
            for mac in macs.into_iter().filter(|m| m.names_a_station()) {
                if let Some(org) = vendor::mac_vendor(mac) {
                    let p = Provenance::outside_packets("mac_prefix", d.first.unwrap_or_default());
                    let value = vendor::normalise(org).unwrap_or_else(|| org.to_string());
                    d.claim(Field::Vendor, value, Some(org.to_string()), Confidence::Low, p);
                }
            }
        }
    }

    fn mac_draft(&mut self, mac: MacAddr) -> usize {
        if let Some(&i) = self.by_mac.get(&mac) {
            return i;
        }
        let i = self.new_draft();
        if let Some(d) = self.drafts.get_mut(i) {
            d.macs.insert(mac);
        }
        self.by_mac.insert(mac, i);
        i
    }

    fn ip_draft(&mut self, net: u32, ip: IpAddr, vlan: Option<u16>) -> usize {
        if let Some(&i) = self.by_ip.get(&(net, ip, vlan)) {
            return i;
        }
        let i = self.new_draft();
        self.by_ip.insert((net, ip, vlan), i);
        i
    }

    /// The one asset holding an address in the event's network, if exactly one does.
    fn holder(&self, e: &EventRow, ip: IpAddr) -> Option<usize> {
        let net = self.networks.get(e.network.as_deref())?;
        let mut found = self.by_addr.get(&(net, ip))?.iter().map(|&i| self.resolve(i));
        let first = found.next()?;
        found.all(|i| i == first).then_some(first)
    }

    /// The asset that sent an event: by MAC unless the MAC routes for others,
    /// else by address (in the event's network) when exactly one asset has it.
    fn sender(&self, e: &EventRow) -> Option<usize> {
        if let Some(&i) = self.station(e.src_mac).and_then(|m| self.by_mac.get(&m)) {
            if self.drafts.get(i).is_some_and(|d| d.routes_for == 0) {
                return Some(self.resolve(i));
            }
        }
        self.holder(e, e.src_ip?)
    }

    /// The asset an identity event describes: its sender, or for name
    /// services the host at the address it names
    /// ([`identity::subject`]), when exactly one asset holds that address.
    fn described(&self, e: &EventRow) -> Option<usize> {
        match identity::subject(&e.name, &e.attributes.0) {
            None => self.sender(e),
            Some(None) => None,
            // Said by the host itself: its MAC places it best.
            Some(Some(ip)) if Some(ip) == e.src_ip => self.sender(e),
            Some(Some(ip)) => {
                let first = self.holder(e, ip)?;
                self.drafts.get(first).is_some_and(|d| d.routes_for == 0).then_some(first)
            }
        }
    }

    /// Indexes every address once the hosts are placed.
    fn index_addresses(&mut self) {
        for (&(net, ip, _), &i) in &self.by_ip {
            let list = self.by_addr.entry((net, ip)).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }

    /// Adds what an identity event states; false when its sender is not placed.
    fn identity(&mut self, e: &EventRow) -> bool {
        let claims = identity::claims(&e.name, &e.attributes.0);
        let announced = identity::announced_capability(&e.name, &e.attributes.0);
        if claims.is_empty() && announced.is_none() {
            return true;
        }
        let Some(at) = self.described(e) else { return false };
        let Some(d) = self.drafts.get_mut(at) else { return false };
        d.announces.extend(announced);
        if let Some((protocol, words)) = identity::publication(&e.name, &e.attributes.0) {
            d.published_with.insert(protocol);
            if d.publishes.len() < MAX_PUBLICATIONS {
                d.publishes.insert(words);
            }
        }
        let p = Provenance {
            source: e.protocol.clone(),
            event: Some(e.name.clone()),
            event_id: Some(e.id),
            capture_id: Some(e.capture_id.0),
            packet: Some(e.packet),
            flow_id: e.flow_id.map(|f| f.0),
            ts_ns: e.ts_ns,
        };
        if let Some(route) = e.attributes.get("route") {
            // The reply describes the module at the end of the route.
            let m = d.modules.entry(route.to_string()).or_insert_with(|| Module {
                route: route.to_string(),
                attributes: BTreeMap::new(),
                last: p.clone(),
            });
            if p.ts_ns >= m.last.ts_ns {
                for c in claims {
                    let value = match c.field {
                        Field::Vendor => vendor::normalise(&c.value).unwrap_or(c.value),
                        _ => c.value,
                    };
                    m.attributes.insert(c.field, value);
                }
                m.last = p;
            }
            return true;
        }
        for c in claims {
            let (value, raw) = match c.field {
                Field::Vendor => (vendor::normalise(&c.value).unwrap_or_else(|| c.value.clone()), Some(c.value)),
                _ => (c.value, None),
            };
            d.claim(c.field, value, raw, c.confidence, p.clone());
        }
        true
    }

    /// Two assets stating the same vendor and serial are one device with two
    /// interfaces: the later is merged into the earlier.
    fn merge_by_serial(&mut self) {
        let mut seen: HashMap<(String, String), usize> = HashMap::default();
        for i in 0..self.drafts.len() {
            let Some(d) = self.drafts.get(i) else { continue };
            // Stated or implied by the protocol; a MAC prefix guess is not enough.
            let stated = |f: Field| {
                d.values
                    .iter()
                    .filter(move |((field, _), v)| *field == f && v.confidence >= Confidence::Medium)
                    .map(|((_, v), _)| v.clone())
            };
            let vendors: Vec<String> = stated(Field::Vendor).collect();
            let serials: Vec<String> = stated(Field::Serial).filter(|s| !is_placeholder_serial(s)).collect();
            let mut target = None;
            for v in &vendors {
                for s in &serials {
                    match seen.get(&(v.clone(), s.clone())) {
                        Some(&j) if self.resolve(j) != i => target = target.or(Some((self.resolve(j), s.clone()))),
                        _ => {
                            seen.insert((v.clone(), s.clone()), i);
                        }
                    }
                }
            }
            if let Some((j, serial)) = target {
                let Some(from) = self.drafts.get_mut(i).map(std::mem::take) else { continue };
                let Some(into) = self.drafts.get_mut(j) else { continue };
                into.merged.push(format!("same vendor and serial {serial} as {}", describe(&from)));
                into.macs.extend(from.macs);
                into.ips.extend(from.ips);
                into.vlans.extend(from.vlans);
                for net in from.networks {
                    into.in_network(net);
                }
                if let (Some(f), Some(l)) = (from.first, from.last) {
                    into.seen(f, l);
                }
                for ((field, value), v) in from.values {
                    into.claim(field, value, v.raw.clone(), v.confidence, v.first.clone());
                    if let Some(x) = into.values.get_mut(field, &v.value) {
                        x.reports += v.reports.saturating_sub(1);
                        if v.last.ts_ns > x.last.ts_ns {
                            x.last = v.last;
                        }
                    }
                }
                into.merged.extend(from.merged);
                into.publishes.extend(from.publishes);
                into.published_with.extend(from.published_with);
                into.announces.extend(from.announces);
                for (route, m) in from.modules {
                    into.modules.entry(route).or_insert(m);
                }
                if let Some(d) = self.drafts.get_mut(i) {
                    d.alias = Some(j);
                }
            }
        }
    }

    /// The draft holding `ip` on `vlan` in network `net`. An address on one
    /// VLAN only is found whatever the tagging of the flow (a trunk port, a
    /// capture on both sides of a tagging switch).
    fn locate(&self, net: u32, ip: IpAddr, vlan: Option<u16>) -> Option<usize> {
        self.by_ip.get(&(net, ip, vlan)).map(|&i| self.resolve(i)).or_else(|| {
            let mut held = self.by_addr.get(&(net, ip))?.iter().map(|&i| self.resolve(i));
            let first = held.next()?;
            held.all(|i| i == first).then_some(first)
        })
    }

    fn finish(self, mut talk: Vec<classify::Behaviour>, edges: map::EdgeSums) -> (Vec<Asset>, Edges) {
        let Builder { drafts, networks, .. } = self;
        // Each asset with the draft it came from, for locating edge ends.
        let mut assets: Vec<(Asset, usize)> = Vec::new();
        for (i, mut d) in drafts.into_iter().enumerate() {
            if d.alias.is_some() || (d.macs.is_empty() && d.ips.is_empty()) {
                continue;
            }
            let mut behaviour = talk.get_mut(i).map(std::mem::take).unwrap_or_default();
            behaviour.publishes = std::mem::take(&mut d.publishes);
            behaviour.announces = std::mem::take(&mut d.announces);
            // Publishing is how these protocols serve their subscribers.
            behaviour.serves.extend(d.published_with.iter().map(|p| (*p).to_string()));
            let attributes = attributes(&d);
            let modules: Vec<Module> = std::mem::take(&mut d.modules).into_values().collect();
            let candidates = classify::decide(&attributes, &modules, &behaviour, d.routes_for);
            let role = candidates.first().cloned().unwrap_or_else(Decision::unknown);
            let mut names: Vec<String> = d.networks.iter().map(|&n| networks.name(n).to_string()).collect();
            names.sort_unstable();
            let ips: BTreeSet<IpAddr> = d.ips.iter().map(|&(ip, _)| ip).collect();
            let asset = Asset {
                id: asset_id(&d, &networks),
                macs: d.macs.into_iter().collect(),
                ips: ips.into_iter().collect(),
                vlans: d.vlans.into_iter().collect(),
                networks: names,
                first_seen_ns: d.first.unwrap_or_default(),
                last_seen_ns: d.last.unwrap_or_default(),
                attributes,
                modules,
                role,
                candidates,
                serves: behaviour.serves.into_iter().collect(),
                publishes: behaviour.publishes.into_iter().collect(),
                uses: behaviour.uses.into_iter().collect(),
                merged: d.merged,
            };
            assets.push((asset, i));
        }
        assets.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let asset_of_draft: BTreeMap<usize, usize> =
            assets.iter().enumerate().map(|(at, (_, draft))| (*draft, at)).collect();
        let sorted: Vec<Asset> = assets.into_iter().map(|(a, _)| a).collect();
        let edges = edges.finish(&asset_of_draft, &sorted, &networks);
        (sorted, edges)
    }
}

/// Serials that devices report when they have none.
fn is_placeholder_serial(s: &str) -> bool {
    let digits = s.trim_start_matches("0x");
    digits.is_empty() || digits.chars().all(|c| c == '0') || digits.chars().all(|c| c.eq_ignore_ascii_case(&'f'))
}

fn describe(d: &Draft) -> String {
    match (d.macs.first(), d.ips.first()) {
        (Some(m), _) => format!("mac {m}"),
        (None, Some((ip, _))) => format!("ip {ip}"),
        (None, None) => "an unaddressed asset".into(),
    }
}

/// A MAC names the asset when it has one; else its address (and VLAN, and
/// network).
fn asset_id(d: &Draft, networks: &Networks) -> String {
    if let Some(m) = d.macs.first() {
        return format!("mac-{m}");
    }
    match d.ips.first() {
        Some(&(ip, net)) => address_id(ip, d.vlans.first().copied(), Some(networks.name(net))),
        None => "unaddressed".into(),
    }
}

/// A draft's values grouped per field, most trusted then latest first.
fn attributes(d: &Draft) -> Vec<Attribute> {
    let mut by_field: BTreeMap<Field, Vec<Value>> = BTreeMap::new();
    for ((field, _), v) in d.values.iter() {
        by_field.entry(*field).or_default().push(v.clone());
    }
    by_field
        .into_iter()
        .filter_map(|(field, mut values)| {
            values.sort_by(|a, b| b.confidence.cmp(&a.confidence).then(b.last.ts_ns.cmp(&a.last.ts_ns)));
            // A stated value outranks a MAC prefix guess; only values of the
            // same standing disagree.
            let top = values.first()?.confidence;
            // What a host serves is a set: two services are not a disagreement.
            let conflict = field != Field::Services && values.iter().filter(|v| v.confidence == top).count() > 1;
            Some(Attribute { field, value: values.first()?.value.clone(), conflict, values })
        })
        .collect()
}

#[cfg(test)]
mod tests;
