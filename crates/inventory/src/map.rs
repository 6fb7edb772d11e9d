//! The communication map: edges between assets, per application protocol, with
//! the operations that crossed them and the trust they imply (who writes to,
//! programs, updates or stops whom).

use crate::Asset;
use otposture_model::OperationClass;
use otposture_store::ConversationRow;
use serde::Serialize;
use std::collections::BTreeMap;

/// One end of an edge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Endpoint {
    /// The asset id, or `ip-<address>` for an address no asset holds (a
    /// server that never answered; `ip-<address>@<network>` in a named network).
    pub id: String,
    /// True when `id` is an asset.
    pub asset: bool,
}

/// Traffic from one asset (the client side) to another, on one protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The initiating side.
    pub client: Endpoint,
    /// The answering side.
    pub server: Endpoint,
    /// Application protocol (`modbus`, ...), or the transport when none was recognised (`tcp`).
    pub protocol: String,
    /// Server ports.
    pub ports: Vec<u16>,
    /// Flows, packets and bytes, both directions.
    pub flows: u64,
    /// Packets, both directions.
    pub packets: u64,
    /// Bytes, both directions.
    pub bytes: u64,
    /// First and last seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen.
    pub last_seen_ns: i64,
    /// Requests sent by the client, per operation class.
    pub operations: ClassCounts,
    /// What the client may do to the server, from the requests seen:
    /// `writes`, `programs`, `updates_firmware`, `controls`, `configures`, `authenticates`.
    pub trust: Vec<&'static str>,
}

/// Operation classes in the order of their names (how `operations` lists them).
const CLASSES: [OperationClass; 11] = OperationClass::BY_NAME;

/// Messages per operation class, held inline: a plant-scale map has a million
/// edges, and a map per edge would cost more than the edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassCounts([u64; CLASSES.len()]);

impl ClassCounts {
    fn add(&mut self, class: OperationClass, n: u64) {
        if let Some(slot) = CLASSES.iter().position(|c| *c == class).and_then(|i| self.0.get_mut(i)) {
            *slot += n;
        }
    }

    /// Messages of the class named `name` (`read`, `write`, ...), if any.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.iter().find(|(c, _)| c.name() == name).map(|(_, n)| n)
    }

    /// Classes with messages, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (OperationClass, u64)> + '_ {
        CLASSES.iter().zip(self.0).filter(|(_, n)| *n > 0).map(|(c, n)| (*c, n))
    }
}

/// As a JSON object: class name -> messages, classes without messages left out.
impl Serialize for ClassCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(c, n)| (c.name(), n)))
    }
}

/// The trust a request class implies.
fn trust_of(class: OperationClass) -> Option<&'static str> {
    match class {
        OperationClass::Write => Some("writes"),
        OperationClass::Program => Some("programs"),
        OperationClass::Firmware => Some("updates_firmware"),
        OperationClass::Control => Some("controls"),
        OperationClass::Configuration => Some("configures"),
        OperationClass::Authentication => Some("authenticates"),
        _ => None,
    }
}

/// The trust the requests imply, in name order, each once.
fn trust(ops: &ClassCounts) -> Vec<&'static str> {
    let mut t: Vec<&'static str> = ops.iter().filter_map(|(c, _)| trust_of(c)).collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// One end while aggregating: an asset (by the index of the draft it is made
/// from) or a bare address (by its index in [`EdgeSums::addresses`]). Four
/// bytes, not an `IpAddr`'s seventeen: a plant-scale map has a million keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct End(u32);

impl End {
    const ADDRESS: u32 = 1 << 31;
}

/// An edge's sums while aggregating, without its names.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sums {
    /// The first server port; others (rare) in `more_ports`.
    port: u16,
    more_ports: Option<Box<[u16]>>,
    flows: u64,
    packets: u64,
    bytes: u64,
    first: i64,
    last: i64,
    /// Requests per operation class.
    operations: ClassCounts,
}

type Key = (End, End, u32);

/// Edges summed from conversations as they arrive (ends located by the
/// caller: `None` when no asset has the address). Aggregates on indices and
/// names only the result, so a million conversations cost a million small
/// entries, not a million copies of asset ids; the conversations themselves
/// are not kept.
#[derive(Debug, Default)]
pub(crate) struct EdgeSums {
    // Sums live in a dense Vec; the hash map holds only their index, so its
    // spare buckets cost a few bytes each, not a whole Sums (a million edges).
    index: crate::HashMap<Key, u32>,
    sums: Vec<(Key, Sums)>,
    /// Protocol names by number (a handful: application protocols and transports).
    protocols: Vec<String>,
    protocol_ids: crate::HashMap<String, u32>,
    /// Addresses no asset holds (in their networks), by number.
    addresses: Vec<crate::Addr>,
    address_ids: crate::HashMap<crate::Addr, u32>,
}

impl EdgeSums {
    /// Adds one conversation of network `net` between the drafts `client` and `server`.
    pub(crate) fn add(&mut self, c: &ConversationRow, net: u32, client: Option<usize>, server: Option<usize>) {
        // Broadcast, multicast and unspecified addresses are no device, nor an
        // end the frames to which went to a group MAC (a subnet's broadcast).
        if c.to_group || !crate::is_device_ip(c.client_ip) || !crate::is_device_ip(c.server_ip) {
            return;
        }
        let protocol = c.app_protocol.as_deref().unwrap_or(&c.transport);
        let protocol = match self.protocol_ids.get(protocol) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.protocols.len()).unwrap_or(u32::MAX);
                self.protocols.push(protocol.to_string());
                self.protocol_ids.insert(protocol.to_string(), id);
                id
            }
        };
        let (Some(client), Some(server)) = (self.end(client, (net, c.client_ip)), self.end(server, (net, c.server_ip)))
        else {
            return;
        };
        let key = (client, server, protocol);
        let sums = &mut self.sums;
        let Ok(next) = u32::try_from(sums.len()) else { return };
        let at = *self.index.entry(key).or_insert(next);
        if at == next {
            sums.push((
                key,
                Sums {
                    port: c.server_port,
                    more_ports: None,
                    flows: 0,
                    packets: 0,
                    bytes: 0,
                    first: c.first_seen_ns,
                    last: c.last_seen_ns,
                    operations: ClassCounts::default(),
                },
            ));
        }
        let Some((_, e)) = sums.get_mut(at as usize) else { return };
        if e.port != c.server_port && !e.more_ports.as_deref().unwrap_or_default().contains(&c.server_port) {
            let mut more = e.more_ports.take().map(Vec::from).unwrap_or_default();
            more.push(c.server_port);
            e.more_ports = Some(more.into_boxed_slice());
        }
        e.flows += c.flows;
        e.packets += c.packets;
        e.bytes += c.bytes;
        e.first = e.first.min(c.first_seen_ns);
        e.last = e.last.max(c.last_seen_ns);
        for r in &c.requests {
            e.operations.add(r.class, r.messages);
        }
    }

    /// A draft's end, or an address's (numbered the first time it is met);
    /// `None` past 2^31 of either.
    fn end(&mut self, draft: Option<usize>, addr: crate::Addr) -> Option<End> {
        let n = match draft {
            Some(d) => u32::try_from(d).ok()?,
            None => match self.address_ids.get(&addr) {
                Some(&n) => n,
                None => {
                    let n = u32::try_from(self.addresses.len()).ok()?;
                    self.addresses.push(addr);
                    self.address_ids.insert(addr, n);
                    n
                }
            },
        };
        (n < End::ADDRESS).then_some(End(if draft.is_some() { n } else { n | End::ADDRESS }))
    }

    /// The edges between the assets the drafts became (`assets_by_draft`:
    /// draft -> index in `assets`), ordered by client, server and protocol.
    /// Named one at a time as they are read, so the map is never held twice.
    pub(crate) fn finish(
        self,
        assets_by_draft: &BTreeMap<usize, usize>,
        assets: &[Asset],
        networks: &crate::Networks,
    ) -> Edges {
        let EdgeSums { index, mut sums, protocols, addresses, address_ids, protocol_ids } = self;
        drop((index, address_ids, protocol_ids));
        // A located draft always becomes an asset (aliases are resolved before
        // locating, and a draft holding an address is kept).
        let to_asset = |End(n): End| {
            if n & End::ADDRESS != 0 {
                return End(n);
            }
            let asset = assets_by_draft.get(&(n as usize)).and_then(|&a| u32::try_from(a).ok());
            End(asset.filter(|a| *a < End::ADDRESS).unwrap_or(End::ADDRESS | u32::MAX >> 1))
        };
        for ((client, server, _), _) in &mut sums {
            *client = to_asset(*client);
            *server = to_asset(*server);
        }
        let edges = Edges {
            sums,
            asset_ids: assets.iter().map(|a| a.id.clone()).collect(),
            address_ids: addresses
                .iter()
                .map(|&(net, ip)| crate::address_id(ip, None, Some(networks.name(net))))
                .collect(),
            protocols,
        };
        let mut sums = edges.sums;
        let edges = Edges { sums: Vec::new(), ..edges };
        sums.sort_by(|((c1, s1, p1), _), ((c2, s2, p2), _)| {
            (edges.id(*c1), edges.id(*s1), edges.protocol(*p1)).cmp(&(
                edges.id(*c2),
                edges.id(*s2),
                edges.protocol(*p2),
            ))
        });
        Edges { sums, ..edges }
    }
}

/// The communication map, ordered by client, server and protocol: each edge
/// is named (its ends' ids, its protocol) when it is read, from sums of about
/// 170 bytes (a named [`Edge`] is over twice that, and a plant has a million).
#[derive(Clone, Debug, Default)]
pub struct Edges {
    sums: Vec<(Key, Sums)>,
    /// Asset ids by asset index.
    asset_ids: Vec<String>,
    /// `ip-<address>[@<network>]` by address number.
    address_ids: Vec<String>,
    protocols: Vec<String>,
}

impl Edges {
    /// How many edges.
    pub fn len(&self) -> usize {
        self.sums.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    /// Each edge, named, in order.
    pub fn iter(&self) -> impl Iterator<Item = Edge> + '_ {
        self.sums.iter().map(|(key, sums)| self.edge(*key, sums))
    }

    fn id(&self, End(n): End) -> &str {
        let at = (n & !End::ADDRESS) as usize;
        let ids = if n & End::ADDRESS == 0 { &self.asset_ids } else { &self.address_ids };
        ids.get(at).map_or("", String::as_str)
    }

    fn protocol(&self, p: u32) -> &str {
        self.protocols.get(p as usize).map_or("", String::as_str)
    }

    fn edge(&self, (client, server, protocol): Key, s: &Sums) -> Edge {
        let end = |e: End| Endpoint { id: self.id(e).to_string(), asset: e.0 & End::ADDRESS == 0 };
        let mut ports = vec![s.port];
        ports.extend(s.more_ports.as_deref().unwrap_or_default());
        ports.sort_unstable();
        Edge {
            client: end(client),
            server: end(server),
            protocol: self.protocol(protocol).to_string(),
            ports,
            flows: s.flows,
            packets: s.packets,
            bytes: s.bytes,
            first_seen_ns: s.first,
            last_seen_ns: s.last,
            operations: s.operations,
            trust: trust(&s.operations),
        }
    }
}

/// Equal when they name the same edges in the same order.
impl PartialEq for Edges {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Edges {}

/// As a JSON list of named edges.
impl Serialize for Edges {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Consumes the map, naming each edge as it goes.
impl IntoIterator for Edges {
    type Item = Edge;
    type IntoIter = Box<dyn Iterator<Item = Edge>>;
    fn into_iter(mut self) -> Self::IntoIter {
        let sums = std::mem::take(&mut self.sums);
        Box::new(sums.into_iter().map(move |(key, s)| self.edge(key, &s)))
    }
}
