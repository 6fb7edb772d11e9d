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
    /// server that never answered).
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
const CLASSES: [OperationClass; 11] = [
    OperationClass::Authentication,
    OperationClass::Configuration,
    OperationClass::Control,
    OperationClass::Diagnostic,
    OperationClass::Discovery,
    OperationClass::Firmware,
    OperationClass::Program,
    OperationClass::Read,
    OperationClass::Session,
    OperationClass::Unknown,
    OperationClass::Write,
];

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

/// One end while aggregating: an asset (index in `assets`) or a bare address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum End {
    Asset(usize),
    Address(std::net::IpAddr),
}

/// An edge's sums while aggregating, without its names.
#[derive(Debug)]
struct Sums {
    ports: Vec<u16>,
    flows: u64,
    packets: u64,
    bytes: u64,
    first: i64,
    last: i64,
    /// Requests per operation class.
    operations: ClassCounts,
}

impl Sums {
    fn new(first: i64, last: i64) -> Self {
        Sums { ports: Vec::new(), flows: 0, packets: 0, bytes: 0, first, last, operations: ClassCounts::default() }
    }
}

/// Edges from conversations whose ends were located (`None`: no asset has the
/// address), ordered by client, server and protocol. Aggregates on indices and
/// names only the result, so a million conversations cost a million small
/// entries, not a million copies of asset ids.
pub(crate) fn edges(
    conversations: &[ConversationRow],
    ends: &[(Option<usize>, Option<usize>)],
    assets_by_draft: &BTreeMap<usize, usize>,
    assets: &[Asset],
) -> Vec<Edge> {
    let end = |draft: Option<usize>, ip: std::net::IpAddr| match draft.and_then(|d| assets_by_draft.get(&d)) {
        Some(&a) => End::Asset(a),
        None => End::Address(ip),
    };
    // Sums live in a dense Vec; the hash map holds only their index, so its
    // spare buckets cost a few bytes each, not a whole Sums (a million edges).
    let mut index: std::collections::HashMap<(End, End, &str), usize, foldhash::fast::RandomState> =
        std::collections::HashMap::default();
    let mut sums: Vec<((End, End, &str), Sums)> = Vec::new();
    for (c, (client, server)) in conversations.iter().zip(ends) {
        // Broadcast, multicast and unspecified addresses are no device.
        if !crate::is_device_ip(c.client_ip) || !crate::is_device_ip(c.server_ip) {
            continue;
        }
        let protocol = c.app_protocol.as_deref().unwrap_or(&c.transport);
        let key = (end(*client, c.client_ip), end(*server, c.server_ip), protocol);
        let at = *index.entry(key).or_insert_with(|| {
            sums.push((key, Sums::new(c.first_seen_ns, c.last_seen_ns)));
            sums.len() - 1
        });
        let Some((_, e)) = sums.get_mut(at) else { continue };
        if !e.ports.contains(&c.server_port) {
            e.ports.push(c.server_port);
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
    let name = |end: End| match end {
        End::Asset(a) => Endpoint { id: assets.get(a).map_or_else(String::new, |x| x.id.clone()), asset: true },
        End::Address(ip) => Endpoint { id: format!("ip-{ip}"), asset: false },
    };
    drop(index);
    let mut out: Vec<Edge> = sums
        .into_iter()
        .map(|((client, server, protocol), mut s)| {
            s.ports.sort_unstable();
            Edge {
                client: name(client),
                server: name(server),
                protocol: protocol.to_string(),
                ports: s.ports,
                flows: s.flows,
                packets: s.packets,
                bytes: s.bytes,
                first_seen_ns: s.first,
                last_seen_ns: s.last,
                operations: s.operations,
                trust: trust(&s.operations),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.client.id, &a.server.id, &a.protocol).cmp(&(&b.client.id, &b.server.id, &b.protocol)));
    out
}
