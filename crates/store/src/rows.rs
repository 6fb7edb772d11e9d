//! What queries return. These structs are printed as JSON by the CLI and served
//! by the server, so their field names are a public schema: snake_case, every
//! packet time twice (`first_seen` as RFC 3339 text and `first_seen_ns` as
//! nanoseconds), every wall-clock time twice (`started_at` as RFC 3339 text and
//! `started_at_secs` as Unix seconds), addresses as text. Renaming a field is a
//! breaking change for users' scripts.

use otposture_model::{
    Direction, EventKind, FlowEnd, FlowId, HostSource, InitiatorBasis, MacAddr, OperationClass, TcpState,
};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

/// A capture's row id, returned by `begin_capture`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaptureId(pub i64);

/// An analysis run's row id, returned by `begin_run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

/// Where the analysis of a capture, or an analysis run, stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished (or the process died: see `interrupted`).
    Running,
    /// Read to the end and stored.
    Complete,
    /// Stopped by an error; `error` says which.
    Failed,
    /// Stopped by the user (Ctrl-C) before the end; what was stored is kept.
    Interrupted,
}

impl RunStatus {
    /// The stored and printed name.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Parses what [`RunStatus::name`] prints.
    pub fn parse(s: &str) -> Option<Self> {
        [RunStatus::Running, RunStatus::Complete, RunStatus::Failed, RunStatus::Interrupted]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// What the reader has learned about a capture so far; recorded with progress and at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Link-layer type names seen (`ethernet`, `linux_sll`), in first-seen order.
    pub link_types: Vec<String>,
    /// First packet time.
    pub first_ts: Option<otposture_model::Timestamp>,
    /// Last packet time.
    pub last_ts: Option<otposture_model::Timestamp>,
    /// Packets read.
    pub packets: u64,
    /// Bytes read (captured lengths).
    pub bytes: u64,
}

/// A capture file and the state of its analysis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureRow {
    /// Row id.
    pub id: CaptureId,
    /// The caller's content fingerprint.
    pub fingerprint: String,
    /// The path the capture was last read from.
    pub path: String,
    /// File size in bytes.
    pub size_bytes: u64,
    /// Link-layer type names seen.
    pub link_types: Vec<String>,
    /// First packet time, RFC 3339.
    pub first_ts: Option<String>,
    /// First packet time, ns since the epoch.
    pub first_ts_ns: Option<i64>,
    /// Last packet time, RFC 3339.
    pub last_ts: Option<String>,
    /// Last packet time, ns since the epoch.
    pub last_ts_ns: Option<i64>,
    /// Packets read.
    pub packets: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Analysis status.
    pub status: RunStatus,
    /// Why the analysis failed, if it did.
    pub error: Option<String>,
    /// When the (latest) analysis started, RFC 3339 wall clock.
    pub started_at: String,
    /// When the (latest) analysis started, Unix seconds.
    pub started_at_secs: i64,
    /// When it finished, RFC 3339 wall clock.
    pub finished_at: Option<String>,
    /// When it finished, Unix seconds.
    pub finished_at_secs: Option<i64>,
    /// The network it was analysed under (`analyze --network`); `None` (left
    /// out of JSON) for the unnamed network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// One analysis run and the captures it covered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Row id.
    pub id: RunId,
    /// Start, RFC 3339 wall clock.
    pub started_at: String,
    /// Start, Unix seconds.
    pub started_at_secs: i64,
    /// End, RFC 3339 wall clock.
    pub finished_at: Option<String>,
    /// End, Unix seconds.
    pub finished_at_secs: Option<i64>,
    /// Status.
    pub status: RunStatus,
    /// Captures analysed in the run, by id.
    pub captures: Vec<CaptureId>,
    /// The caller's summary, as given to `finish_run`.
    pub summary: Option<serde_json::Value>,
}

/// A host: one (MAC, IP, VLAN) seen sending, with traffic totals from its flows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRow {
    /// Row id.
    pub id: i64,
    /// Sender MAC, when the link layer carried one.
    pub mac: Option<MacAddr>,
    /// Sender IP, when any.
    pub ip: Option<IpAddr>,
    /// Innermost VLAN id, when tagged.
    pub vlan: Option<u16>,
    /// First seen, RFC 3339.
    pub first_seen: String,
    /// First seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen, RFC 3339.
    pub last_seen: String,
    /// Last seen, ns since the epoch.
    pub last_seen_ns: i64,
    /// The evidence of the earliest sighting.
    pub source: HostSource,
    /// Host name from DHCP (option 12), by MAC.
    pub host_name: Option<String>,
    /// Vendor class from DHCP (option 60), by MAC.
    pub vendor_class: Option<String>,
    /// Flows this IP initiated on this VLAN.
    pub flows_as_client: u64,
    /// Flows this IP answered on this VLAN.
    pub flows_as_server: u64,
    /// Packets this IP sent in those flows.
    pub packets_sent: u64,
    /// Bytes this IP sent in those flows (frame lengths).
    pub bytes_sent: u64,
    /// Packets this IP received in those flows.
    pub packets_received: u64,
    /// Bytes this IP received in those flows (frame lengths).
    pub bytes_received: u64,
    /// The network of the captures it was seen in (`analyze --network`);
    /// `None` (left out of JSON) for the unnamed network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// A flow's merged aggregates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRow {
    /// Stable flow id.
    pub flow_id: FlowId,
    /// The first capture that wrote the flow.
    pub capture_id: CaptureId,
    /// Innermost VLAN id, when tagged.
    pub vlan: Option<u16>,
    /// `tcp`, `udp`, `icmp`, `icmpv6` or `ip-N`.
    pub transport: String,
    /// Initiator address.
    pub client_ip: IpAddr,
    /// Initiator port (0 for portless transports).
    pub client_port: u16,
    /// Responder address.
    pub server_ip: IpAddr,
    /// Responder port (0 for portless transports).
    pub server_port: u16,
    /// How the initiator was decided.
    pub initiator: InitiatorBasis,
    /// First packet, RFC 3339.
    pub first_seen: String,
    /// First packet, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last packet, RFC 3339.
    pub last_seen: String,
    /// Last packet, ns since the epoch.
    pub last_seen_ns: i64,
    /// Packets client to server.
    pub packets_to_server: u64,
    /// Frame bytes client to server.
    pub bytes_to_server: u64,
    /// Packets server to client.
    pub packets_to_client: u64,
    /// Frame bytes server to client.
    pub bytes_to_client: u64,
    /// Transport payload bytes client to server.
    pub payload_to_server: u64,
    /// Transport payload bytes server to client.
    pub payload_to_client: u64,
    /// Last TCP state seen, for TCP.
    pub tcp_state: Option<TcpState>,
    /// Application protocol recognised, if any.
    pub app_protocol: Option<String>,
    /// Bytes missing from the capture.
    pub gap_bytes: u64,
    /// Number of gaps.
    pub gaps: u64,
    /// Retransmitted segments.
    pub retransmissions: u64,
    /// Overlapping segments.
    pub overlaps: u64,
    /// Overlaps whose bytes differed (possible evasion).
    pub conflicting_overlaps: u64,
    /// Segments buffered ahead of a hole.
    pub out_of_order: u64,
    /// Times the reassembly buffer cap forced a gap.
    pub buffer_cap_hits: u64,
    /// Malformed protocol messages.
    pub malformed: u64,
    /// Why the latest record was written; `open` if no end was seen.
    pub end_reason: FlowEnd,
    /// One end is a group address: every frame to it went to a broadcast or
    /// multicast MAC, and it sent nothing (a subnet's broadcast address).
    pub to_group: bool,
}

/// Counts of one protocol operation on one flow and direction, summed over captures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    /// The flow, for messages in a flow.
    pub flow_id: Option<FlowId>,
    /// Protocol name.
    pub protocol: String,
    /// Operation name.
    pub operation: String,
    /// What the operation does to the device.
    pub class: OperationClass,
    /// Direction within the flow.
    pub direction: Option<Direction>,
    /// How many.
    pub count: u64,
    /// First occurrence, RFC 3339.
    pub first_seen: String,
    /// First occurrence, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last occurrence, RFC 3339.
    pub last_seen: String,
    /// Last occurrence, ns since the epoch.
    pub last_seen_ns: i64,
}

/// One protocol operation's totals over the flows a filter selects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationTotal {
    /// Protocol name.
    pub protocol: String,
    /// Operation name.
    pub operation: String,
    /// What the operation does to the device.
    pub class: OperationClass,
    /// Messages counted, both directions.
    pub messages: u64,
    /// Of which sent to the server (requests, commands).
    pub to_server: u64,
    /// Of which sent to the client (responses).
    pub to_client: u64,
    /// Distinct flows it was seen in.
    pub flows: u64,
    /// First occurrence, RFC 3339.
    pub first_seen: String,
    /// First occurrence, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last occurrence, RFC 3339.
    pub last_seen: String,
    /// Last occurrence, ns since the epoch.
    pub last_seen_ns: i64,
}

/// Traffic between two endpoints on one service: the flows sharing client IP,
/// server IP, VLAN, transport, server port and application protocol, summed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRow {
    /// Initiator address.
    pub client_ip: IpAddr,
    /// Responder address.
    pub server_ip: IpAddr,
    /// Innermost VLAN id, when tagged.
    pub vlan: Option<u16>,
    /// `tcp`, `udp`, `icmp`, `icmpv6` or `ip-N`.
    pub transport: String,
    /// Responder port (0 for portless transports).
    pub server_port: u16,
    /// Application protocol recognised, if any.
    pub app_protocol: Option<String>,
    /// Flows in the conversation.
    pub flows: u64,
    /// Packets, both directions.
    pub packets: u64,
    /// Frame bytes, both directions.
    pub bytes: u64,
    /// First packet of its earliest flow, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last packet of its latest flow, ns since the epoch.
    pub last_seen_ns: i64,
    /// Messages sent to the server, per operation class, by class name.
    pub requests: Vec<ClassCount>,
    /// Messages sent to the client, per operation class, by class name.
    pub responses: Vec<ClassCount>,
    /// The network of the flows' captures; `None` (left out of JSON) for the unnamed network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Every flow of it had a group end (see `FlowRow::to_group`): the
    /// responder or the initiator is a broadcast or multicast address, not a
    /// device.
    #[serde(default)]
    pub to_group: bool,
}

/// Messages of one operation class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCount {
    /// What the operations do to the device.
    pub class: OperationClass,
    /// Messages counted.
    pub messages: u64,
}

/// A notable event with its provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// Row id.
    pub id: i64,
    /// The capture `packet` counts in.
    pub capture_id: CaptureId,
    /// Packet time, RFC 3339.
    pub ts: String,
    /// Packet time, ns since the epoch.
    pub ts_ns: i64,
    /// 1-based record number of the packet in its capture.
    pub packet: u64,
    /// The flow, when the event belongs to one.
    pub flow_id: Option<FlowId>,
    /// Protocol name.
    pub protocol: String,
    /// Identity, operation or anomaly.
    pub kind: EventKind,
    /// Short name (`dhcp.request`).
    pub name: String,
    /// Operation class, for operation events.
    pub class: Option<OperationClass>,
    /// Sender MAC.
    pub src_mac: Option<MacAddr>,
    /// Sender IP.
    pub src_ip: Option<IpAddr>,
    /// Receiver IP.
    pub dst_ip: Option<IpAddr>,
    /// Attributes, in the order the dissector gave them.
    pub attributes: Attributes,
    /// The network of its capture; `None` (left out of JSON) for the unnamed network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// One operation's totals within a protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationCount {
    /// Operation name.
    pub operation: String,
    /// What it does to the device.
    pub class: OperationClass,
    /// Messages counted.
    pub count: u64,
    /// Distinct flows it was seen in.
    pub flows: u64,
}

/// Per-protocol totals for summaries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolSummary {
    /// Protocol name.
    pub protocol: String,
    /// Messages counted, all operations.
    pub messages: u64,
    /// Distinct flows with messages of this protocol.
    pub flows: u64,
    /// Events recorded for this protocol.
    pub events: u64,
    /// Per operation, by name.
    pub operations: Vec<OperationCount>,
}

/// Row totals, for status lines and summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Captures recorded.
    pub captures: u64,
    /// Host rows.
    pub hosts: u64,
    /// Flows.
    pub flows: u64,
    /// Protocol messages counted (sum of counts).
    pub messages: u64,
    /// Events kept.
    pub events: u64,
}

// The stored inventory (schema 4). Unlike the rows above, these are written as
// well as read: the caller (crates/inventory) fills them, and `doc` carries the
// JSON the CLI prints; the other fields are the indexed columns it filters on.

/// An asset as stored: the columns listings filter on, and the whole asset as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRecord {
    /// Asset id (`mac-...`, `ip-...`).
    pub id: String,
    /// Role name.
    pub role: String,
    /// Purdue level of the role.
    pub level: Option<u8>,
    /// The rule that decided the role.
    pub rule: String,
    /// Headline vendor.
    pub vendor: Option<String>,
    /// Headline model.
    pub model: Option<String>,
    /// Headline firmware.
    pub firmware: Option<String>,
    /// First seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen, ns since the epoch.
    pub last_seen_ns: i64,
    /// The asset as JSON (`otposture.assets/1`).
    pub doc: String,
}

/// An edge of the communication map as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeRecord {
    /// Client asset id (or `ip-<address>`).
    pub client: String,
    /// Server asset id (or `ip-<address>`).
    pub server: String,
    /// Application protocol.
    pub protocol: String,
    /// Trust words (`writes`, `programs`, ...).
    pub trust: Vec<String>,
    /// The edge as JSON (`otposture.map/1`).
    pub doc: String,
}

/// One build of the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryBuild {
    /// Build id.
    pub id: i64,
    /// Wall clock, unix seconds.
    pub built_at_secs: i64,
    /// Assets built.
    pub assets: u64,
    /// Edges built.
    pub edges: u64,
    /// Identity events whose sender matched no asset.
    pub unplaced_identities: u64,
}

/// A role the user set on an asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleOverride {
    /// The asset.
    pub asset_id: String,
    /// The role set.
    pub role: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub set_by: String,
    /// When, unix seconds.
    pub set_at_secs: i64,
}

/// One change a user made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Entry id (increasing).
    pub id: i64,
    /// When, unix seconds.
    pub at_secs: i64,
    /// Who.
    pub actor: String,
    /// `set_role`, `clear_role`, `import_register`, `accept_baseline`.
    pub action: String,
    /// What it changed (an asset id, `register`, `baseline`).
    pub target: String,
    /// Details, JSON.
    pub detail: String,
}

// The asset register (schema 5): what the user imported from a CMDB export.
// Written and read by crates/cmdb; values are as parsed and normalised there.

/// Where an import came from, as the caller gives it to [`crate::Store::replace_register`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterSource {
    /// The file as the user named it (`-` for standard input).
    pub file: String,
    /// `csv` or `json`.
    pub format: String,
    /// `servicenow`, `netbox`, or none.
    pub preset: Option<String>,
    /// The mapping in force, JSON: field -> the source columns read.
    pub mapping: String,
    /// Bad rows left out (`--skip-bad-rows`).
    pub skipped: u64,
}

/// One import of the register; the newest is the register in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterImport {
    /// Import id (increasing).
    pub id: i64,
    /// The file as the user named it.
    pub file: String,
    /// `csv` or `json`.
    pub format: String,
    /// `servicenow`, `netbox`, or none.
    pub preset: Option<String>,
    /// The mapping in force, JSON: field -> the source columns read.
    pub mapping: String,
    /// Wall clock, unix seconds.
    pub imported_at_secs: i64,
    /// Entries imported.
    pub rows: u64,
    /// Bad rows left out.
    pub skipped: u64,
}

/// A value of a register row kept as written but flagged: it could not be
/// understood, or it is a placeholder that identifies nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterFlag {
    /// What is wrong with it (`vendor_unrecognised`, `placeholder_mac`, ...).
    pub flag: String,
    /// The source column it came from.
    pub column: String,
    /// The value as written.
    pub value: String,
}

/// One device in the register.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterEntry {
    /// Row in the file as a spreadsheet shows it (header = 1), or 1-based index in a JSON array.
    pub row: u64,
    /// Name (host name, tag name).
    pub name: Option<String>,
    /// MAC addresses, `aa:bb:cc:dd:ee:ff`.
    pub macs: Vec<String>,
    /// IP addresses, canonical text.
    pub ips: Vec<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// Vendor, normalised as the inventory names vendors.
    pub vendor: Option<String>,
    /// Vendor as the register wrote it.
    pub vendor_raw: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware version.
    pub firmware: Option<String>,
    /// Role, an inventory role name (`controller`, `hmi`, ...).
    pub role: Option<String>,
    /// Site.
    pub site: Option<String>,
    /// Location (building, cabinet, rack).
    pub location: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Asset tag.
    pub asset_tag: Option<String>,
    /// Criticality, as the register states it.
    pub criticality: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// The network its addresses are in (`analyze --network`); `None` (left
    /// out of JSON): any network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Columns no field maps, in file order.
    pub extra: Attributes,
    /// Values kept raw and flagged.
    pub flags: Vec<RegisterFlag>,
}

/// Event attributes in the order the dissector gave them; serialises as a JSON
/// object with keys in that order (a repeated name is kept, as JSON allows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes(pub Vec<(String, String)>);

impl Attributes {
    /// The first value with this name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())), self.0.len(), s)
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Attributes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attributes, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Attributes(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// The model's attribute list, borrowed, serialised the same way as [`Attributes`].
pub(crate) struct AttributesRef<'a>(pub(crate) &'a [(Cow<'static, str>, otposture_model::AttrValue)]);

impl Serialize for AttributesRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(self.0.iter().map(|(k, v)| (k.as_ref(), v.as_str())), self.0.len(), s)
    }
}

fn serialize_pairs<'a, S: serde::Serializer>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    len: usize,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(len))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}
