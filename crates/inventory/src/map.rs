//! The communication map: edges between assets, per application protocol, with
//! the operations that crossed them and the trust they imply (who writes to,
//! programs, updates or stops whom).

use crate::Asset;
use otposture_model::OperationClass;
use otposture_store::ConversationRow;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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
    pub operations: BTreeMap<String, u64>,
    /// What the client may do to the server, from the requests seen:
    /// `writes`, `programs`, `updates_firmware`, `controls`, `configures`, `authenticates`.
    pub trust: Vec<&'static str>,
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

/// Edges from conversations whose ends were located (`None`: no asset has the
/// address), ordered by client, server and protocol.
pub(crate) fn edges(
    conversations: &[ConversationRow],
    ends: &[(Option<usize>, Option<usize>)],
    assets_by_draft: &BTreeMap<usize, usize>,
    assets: &[Asset],
) -> Vec<Edge> {
    let endpoint = |draft: Option<usize>, ip: std::net::IpAddr| match draft
        .and_then(|d| assets_by_draft.get(&d))
        .and_then(|&a| assets.get(a))
    {
        Some(a) => Endpoint { id: a.id.clone(), asset: true },
        None => Endpoint { id: format!("ip-{ip}"), asset: false },
    };
    let mut out: BTreeMap<(Endpoint, Endpoint, String), Edge> = BTreeMap::new();
    for (c, (client, server)) in conversations.iter().zip(ends) {
        // Broadcast, multicast and unspecified addresses are no device.
        if !crate::is_device_ip(c.client_ip) || !crate::is_device_ip(c.server_ip) {
            continue;
        }
        let from = endpoint(*client, c.client_ip);
        let to = endpoint(*server, c.server_ip);
        let protocol = c.app_protocol.clone().unwrap_or_else(|| c.transport.clone());
        let e = out.entry((from.clone(), to.clone(), protocol.clone())).or_insert_with(|| Edge {
            client: from,
            server: to,
            protocol,
            ports: Vec::new(),
            flows: 0,
            packets: 0,
            bytes: 0,
            first_seen_ns: c.first_seen_ns,
            last_seen_ns: c.last_seen_ns,
            operations: BTreeMap::new(),
            trust: Vec::new(),
        });
        if !e.ports.contains(&c.server_port) {
            e.ports.push(c.server_port);
        }
        e.flows += c.flows;
        e.packets += c.packets;
        e.bytes += c.bytes;
        e.first_seen_ns = e.first_seen_ns.min(c.first_seen_ns);
        e.last_seen_ns = e.last_seen_ns.max(c.last_seen_ns);
        for r in &c.requests {
            *e.operations.entry(r.class.name().to_string()).or_insert(0) += r.messages;
            if let Some(t) = trust_of(r.class) {
                if !e.trust.contains(&t) {
                    e.trust.push(t);
                }
            }
        }
    }
    out.into_values()
        .map(|mut e| {
            e.ports.sort_unstable();
            let order: BTreeSet<&str> = e.trust.iter().copied().collect();
            e.trust = order.into_iter().collect();
            e
        })
        .collect()
}
