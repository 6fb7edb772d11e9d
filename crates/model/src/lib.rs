//! The observation model: what the packet path tells the rest of otposture.
//!
//! Owns the typed events that leave the engine (`Observation`) and the small
//! vocabulary they share (addresses, timestamps, operation classes). It does no
//! I/O and knows nothing about pcap, SQL or protocols; every later stage
//! (inventory, assess, report) reads these types, so changes here are schema
//! changes and are versioned with the store's migrations.

pub mod runs;

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

/// Nanoseconds since the Unix epoch, taken from the packet, never from a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from whole seconds and nanoseconds.
    pub fn from_parts(secs: i64, nanos: u32) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(i64::from(nanos)))
    }
    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }
    /// The timestamp as RFC 3339 UTC text with microseconds, for people and JSON.
    pub fn to_rfc3339(self) -> String {
        let secs = self.secs();
        let micros = self.0.rem_euclid(1_000_000_000) / 1_000;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3600, (sod % 3600) / 60, sod % 60)
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm);
/// written here because pulling a calendar crate for one conversion is not worth it.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Longest network name (`analyze --network`, a site zone's `network`).
pub const NETWORK_NAME_MAX: usize = 32;

/// Checks the name of a network: separately addressed plants analysed into one
/// database are told apart by it, and it becomes part of asset ids
/// (`ip-10.0.0.5@plant-a`), site files and register columns, so it is short and
/// plain: ASCII letters, digits, `-`, `_` and `.`, starting with a letter or
/// digit. The error says what is wrong, for the user.
pub fn check_network_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a network name cannot be empty (leave the network out for the unnamed one)".into());
    }
    if name.len() > NETWORK_NAME_MAX {
        return Err(format!("network name {name:?} is {} characters long; at most {NETWORK_NAME_MAX}", name.len()));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !name.chars().all(plain) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "network name {name:?}: use ASCII letters, digits, '-', '_' or '.', starting with a letter or digit"
        ));
    }
    Ok(())
}

/// An IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// True for group (multicast and broadcast) addresses: they never name a host.
    pub fn is_group(self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for an address that can name one device: neither a group address
    /// nor all zeros. Linux's loopback interface and some anonymised or
    /// synthetic captures give every frame the zero address; its registered
    /// owner (Xerox, OUI 00:00:00) says nothing about the host.
    pub fn names_a_station(self) -> bool {
        !self.is_group() && self.0 != [0; 6]
    }
}

/// A MAC address or none, in one word: `Option<MacAddr>` is seven bytes, and
/// the packet path copied it in pieces that did not line up with the pieces
/// it was written in (a four-byte load over a one-byte and a four-byte store).
/// The processor then cannot forward the stores to the load and waits for
/// them: perf put a third of `Engine::packet`'s time, 4% of the packet
/// path's, on one such copy of a frame's MAC addresses. A word is written and
/// read whole.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MaybeMac(u64);

impl MaybeMac {
    /// No address.
    pub const NONE: MaybeMac = MaybeMac(0);
    /// Set above the address's 48 bits when there is one.
    const PRESENT: u64 = 1 << 48;

    /// An address, from its six bytes.
    #[inline(always)]
    pub fn from_bytes(b: [u8; 6]) -> MaybeMac {
        MaybeMac(Self::PRESENT | u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]))
    }

    /// The address, if there is one.
    #[inline(always)]
    pub fn get(self) -> Option<MacAddr> {
        let [_, _, a, b, c, d, e, f] = self.0.to_be_bytes();
        (self.0 & Self::PRESENT != 0).then_some(MacAddr([a, b, c, d, e, f]))
    }

    /// The address unless it is a group address (see [`MacAddr::is_group`]).
    #[inline(always)]
    pub fn unicast(self) -> MaybeMac {
        // The group bit is the first byte's lowest: bit 40 of the word.
        if self.0 & (1 << 40) != 0 {
            MaybeMac::NONE
        } else {
            self
        }
    }
}

impl From<Option<MacAddr>> for MaybeMac {
    #[inline(always)]
    fn from(m: Option<MacAddr>) -> MaybeMac {
        m.map_or(MaybeMac::NONE, |m| MaybeMac::from_bytes(m.0))
    }
}

impl std::fmt::Debug for MaybeMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.get(), f)
    }
}

impl MacAddr {
    /// The address as `aa:bb:cc:dd:ee:ff` (lower case), in 17 ASCII bytes.
    /// Written by hand: `write!` with six `{:02x}` cost some 1,700
    /// instructions per address, and the store writes one per event.
    fn text_bytes(self) -> [u8; 17] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b':'; 17];
        for (i, b) in self.0.into_iter().enumerate() {
            if let (Some(hi), Some(lo)) = (HEX.get(usize::from(b >> 4)), HEX.get(usize::from(b & 0xf))) {
                if let Some(pair) = out.get_mut(i * 3..i * 3 + 2) {
                    pair.copy_from_slice(&[*hi, *lo]);
                }
            }
        }
        out
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text_bytes();
        // Only ASCII hex digits and colons were written.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let p = parts.next().ok_or_else(|| format!("MAC address {s:?} has fewer than 6 bytes"))?;
            *byte = u8::from_str_radix(p, 16).map_err(|_| format!("MAC address {s:?} has a bad byte {p:?}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("MAC address {s:?} has more than 6 bytes"));
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Transport protocol of a flow, by IP protocol number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1).
    Icmp,
    /// ICMPv6 (58).
    Icmpv6,
    /// Any other IP protocol, by number.
    Other(u8),
}

impl Transport {
    /// Maps an IP protocol number.
    pub fn from_ip_proto(p: u8) -> Self {
        match p {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 => Transport::Icmp,
            58 => Transport::Icmpv6,
            n => Transport::Other(n),
        }
    }
    /// The IP protocol number.
    pub fn ip_proto(self) -> u8 {
        match self {
            Transport::Tcp => 6,
            Transport::Udp => 17,
            Transport::Icmp => 1,
            Transport::Icmpv6 => 58,
            Transport::Other(n) => n,
        }
    }
    /// Lower-case name used in text, CSV and JSON (`tcp`, `udp`, `ip-47`).
    pub fn name(self) -> Cow<'static, str> {
        match self {
            Transport::Tcp => "tcp".into(),
            Transport::Udp => "udp".into(),
            Transport::Icmp => "icmp".into(),
            Transport::Icmpv6 => "icmpv6".into(),
            Transport::Other(n) => format!("ip-{n}").into(),
        }
    }
    /// Parses what [`Transport::name`] prints.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tcp" => Some(Transport::Tcp),
            "udp" => Some(Transport::Udp),
            "icmp" => Some(Transport::Icmp),
            "icmpv6" => Some(Transport::Icmpv6),
            other => other.strip_prefix("ip-")?.parse().ok().map(Transport::from_ip_proto),
        }
    }
}

/// Which way a message travelled within its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the initiator (client) to the responder (server).
    ToServer,
    /// From the responder (server) back to the initiator (client).
    ToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
    /// 0 for to-server, 1 for to-client: an index into per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
}

/// What a protocol message does to the device it is sent to. Every dissector
/// classifies its messages so the posture engine never re-learns each protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationClass {
    /// Reads process values or state.
    Read,
    /// Writes process values (set points, coils, registers, outputs).
    Write,
    /// Transfers program or logic to or from the device.
    Program,
    /// Firmware update or transfer.
    Firmware,
    /// Changes run state: stop, start, restart.
    Control,
    /// Changes configuration (addresses, names, time, settings).
    Configuration,
    /// Diagnostics and status queries.
    Diagnostic,
    /// Discovery and identification (ARP, DHCP, identity requests).
    Discovery,
    /// Login, session keys, challenge/response.
    Authentication,
    /// Framing, keep-alives, acknowledgements: moves no process meaning.
    Session,
    /// A code the dissector does not know: often exactly the OT signal to surface.
    Unknown,
}

impl OperationClass {
    /// Every class, in the order of their names: how listings, counts and
    /// bit sets of classes are ordered.
    pub const BY_NAME: [OperationClass; 11] = [
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

    /// Snake-case name used in text and JSON.
    pub fn name(self) -> &'static str {
        match self {
            OperationClass::Read => "read",
            OperationClass::Write => "write",
            OperationClass::Program => "program",
            OperationClass::Firmware => "firmware",
            OperationClass::Control => "control",
            OperationClass::Configuration => "configuration",
            OperationClass::Diagnostic => "diagnostic",
            OperationClass::Discovery => "discovery",
            OperationClass::Authentication => "authentication",
            OperationClass::Session => "session",
            OperationClass::Unknown => "unknown",
        }
    }
    /// Parses what [`OperationClass::name`] prints.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "read" => OperationClass::Read,
            "write" => OperationClass::Write,
            "program" => OperationClass::Program,
            "firmware" => OperationClass::Firmware,
            "control" => OperationClass::Control,
            "configuration" => OperationClass::Configuration,
            "diagnostic" => OperationClass::Diagnostic,
            "discovery" => OperationClass::Discovery,
            "authentication" => OperationClass::Authentication,
            "session" => OperationClass::Session,
            "unknown" => OperationClass::Unknown,
            _ => return None,
        })
    }
    /// True for operations that can change a process or device and so are kept
    /// as individual records, not only counted.
    pub fn is_notable(self) -> bool {
        matches!(
            self,
            OperationClass::Write
                | OperationClass::Program
                | OperationClass::Firmware
                | OperationClass::Control
                | OperationClass::Configuration
                | OperationClass::Authentication
        )
    }
}

/// A flow's identity: VLAN, transport and the two endpoints, initiator first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlowKey {
    /// Innermost VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Transport protocol.
    pub transport: Transport,
    /// The initiator's address.
    pub client_ip: IpAddr,
    /// The initiator's port (0 for portless transports).
    pub client_port: u16,
    /// The responder's address.
    pub server_ip: IpAddr,
    /// The responder's port (0 for portless transports).
    pub server_port: u16,
}

impl FlowKey {
    /// The same endpoints with client and server exchanged.
    pub fn reversed(self) -> FlowKey {
        FlowKey {
            client_ip: self.server_ip,
            client_port: self.server_port,
            server_ip: self.client_ip,
            server_port: self.client_port,
            ..self
        }
    }
}

/// A stable flow identifier: a hash of the key and the first packet's time, so that
/// analysing the same capture twice names every flow the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlowId(pub i64);

impl FlowId {
    /// Derives the id from what identifies a flow in any analysis of the same traffic.
    pub fn derive(key: &FlowKey, first_seen: Timestamp) -> Self {
        let mut buf = Vec::with_capacity(48);
        buf.extend_from_slice(&key.vlan.map_or(u32::MAX, u32::from).to_le_bytes());
        buf.push(key.transport.ip_proto());
        for (ip, port) in [(key.client_ip, key.client_port), (key.server_ip, key.server_port)] {
            match ip {
                IpAddr::V4(v4) => buf.extend_from_slice(&v4.octets()),
                IpAddr::V6(v6) => buf.extend_from_slice(&v6.octets()),
            }
            buf.extend_from_slice(&port.to_le_bytes());
        }
        buf.extend_from_slice(&first_seen.0.to_le_bytes());
        // SQLite integers are signed 64-bit; keep the id positive for readability.
        FlowId((xxhash_rust::xxh3::xxh3_64(&buf) >> 1) as i64)
    }
}

/// How the engine decided which side initiated a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitiatorBasis {
    /// A TCP SYN (without ACK) was seen from the client.
    Handshake,
    /// TCP picked up mid-stream: the side using the well-known or lower port is the server.
    PortHeuristic,
    /// TCP picked up mid-stream, or a datagram flow, between two unregistered
    /// (or two registered) ports, and the protocol's own messages told which
    /// side is the client: it sends the requests (a Modbus query, a CIP
    /// request, an S7 job, a DNP3 frame with DIR set, a BACnet Who-Is...).
    Protocol,
    /// Datagram flows: the side on a well-known port is the server; between
    /// equal ports the sender of the first datagram is the client, between
    /// two other ports the lower one is the server.
    FirstPacket,
}

/// TCP connection state as last observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpState {
    /// SYN seen, no SYN-ACK yet.
    SynSent,
    /// SYN-ACK seen, handshake not yet completed by the client's ACK.
    SynReceived,
    /// Handshake completed.
    Established,
    /// Data seen without a handshake (capture started mid-connection).
    Midstream,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
    /// A RST was seen.
    Reset,
}

impl TcpState {
    /// Snake-case name used in text and JSON.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::SynSent => "syn_sent",
            TcpState::SynReceived => "syn_received",
            TcpState::Established => "established",
            TcpState::Midstream => "midstream",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
            TcpState::Reset => "reset",
        }
    }
}

/// Why a flow record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowEnd {
    /// Still open at the time of the record (checkpoint or end of capture).
    Open,
    /// Closed by FIN in both directions or RST.
    Closed,
    /// No packet for longer than the idle timeout.
    IdleTimeout,
    /// Older than the maximum flow age; traffic after it starts a new flow.
    MaxAge,
    /// Evicted because the flow table hit its memory cap.
    Evicted,
}

impl FlowEnd {
    /// Snake-case name used in text and JSON.
    pub fn name(self) -> &'static str {
        match self {
            FlowEnd::Open => "open",
            FlowEnd::Closed => "closed",
            FlowEnd::IdleTimeout => "idle_timeout",
            FlowEnd::MaxAge => "max_age",
            FlowEnd::Evicted => "evicted",
        }
    }
}

/// Per-flow counts of things that went wrong or looked odd in the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamAnomalies {
    /// Bytes missing from the capture in either direction (reported as gaps).
    pub gap_bytes: u64,
    /// Number of gaps.
    pub gaps: u32,
    /// Segments that repeated bytes already delivered.
    pub retransmissions: u32,
    /// Segments that partly overlapped delivered or buffered bytes.
    pub overlaps: u32,
    /// Overlaps whose bytes differed from what was kept (possible evasion).
    pub conflicting_overlaps: u32,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order: u32,
    /// Times the per-flow reassembly buffer cap forced a gap.
    pub buffer_cap_hits: u32,
    /// Protocol messages the dissector found malformed (bad length, CRC, code).
    pub malformed: u32,
}

/// One flow's aggregates. Written when the flow ends and at checkpoints while it
/// is open; the store keeps the largest counts seen for a `FlowId`, so a record
/// may be written many times without double counting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowRecord {
    /// Stable identity.
    pub id: FlowId,
    /// Endpoints, initiator first.
    pub key: FlowKey,
    /// How the initiator was decided.
    pub initiator: InitiatorBasis,
    /// First packet time.
    pub first_seen: Timestamp,
    /// Last packet time.
    pub last_seen: Timestamp,
    /// Packets client -> server.
    pub packets_to_server: u64,
    /// Bytes on the wire (frame length) client -> server.
    pub bytes_to_server: u64,
    /// Packets server -> client.
    pub packets_to_client: u64,
    /// Bytes on the wire server -> client.
    pub bytes_to_client: u64,
    /// Transport payload bytes client -> server (before reassembly).
    pub payload_to_server: u64,
    /// Transport payload bytes server -> client.
    pub payload_to_client: u64,
    /// TCP state, for TCP flows.
    pub tcp_state: Option<TcpState>,
    /// Application protocol named by a dissector's probe, if any.
    pub app_protocol: Option<String>,
    /// Stream anomalies.
    pub anomalies: StreamAnomalies,
    /// Why this record was written.
    pub end: FlowEnd,
    /// The input of the flow's first packet (see [`Event::source`]).
    #[serde(default)]
    pub source: u32,
    /// One end is a group address: every frame to it went to a broadcast or
    /// multicast MAC, and it sent nothing (a subnet's broadcast address such
    /// as 10.0.0.255, which the IP address alone does not tell).
    #[serde(default)]
    pub to_group: bool,
}

/// Where a host sighting came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostSource {
    /// Source address of an IP packet.
    Ip,
    /// Sender of an ARP packet.
    Arp,
    /// DHCP client (address assigned or requested).
    Dhcp,
    /// Layer-2 only traffic (no IP), e.g. Profinet or LLDP.
    L2,
}

/// A host seen sending: aggregated per (MAC, IP, VLAN).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSighting {
    /// Sender MAC, when the link layer carries one.
    pub mac: Option<MacAddr>,
    /// Sender IP, when any.
    pub ip: Option<IpAddr>,
    /// Innermost VLAN id.
    pub vlan: Option<u16>,
    /// First time seen.
    pub first_seen: Timestamp,
    /// Last time seen.
    pub last_seen: Timestamp,
    /// The first kind of evidence that produced the sighting.
    pub source: HostSource,
}

/// A count of one protocol operation on one flow and direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStat {
    /// The flow, when the message travelled in one (L2 messages have none).
    pub flow: Option<FlowId>,
    /// Protocol name (`dhcp`, `arp`, `modbus`).
    pub protocol: Cow<'static, str>,
    /// Operation name within the protocol (`request`, `write_multiple_registers`).
    pub operation: Cow<'static, str>,
    /// What the operation does to the device.
    pub class: OperationClass,
    /// Direction within the flow.
    pub direction: Option<Direction>,
    /// How many.
    pub count: u64,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Last occurrence.
    pub last_seen: Timestamp,
    /// For a message outside any flow, the input it came from (see
    /// [`Event::source`]): such counts are kept per capture. 0 on a flow.
    #[serde(default)]
    pub source: u32,
}

/// What kind of notable event this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Identity attributes revealed by a protocol (vendor, model, firmware, name).
    Identity,
    /// An operation worth keeping individually (write, program, firmware, control).
    Operation,
    /// Something malformed or odd.
    Anomaly,
    /// A note carried by the capture itself (pcapng comments), kept with its packet.
    Annotation,
}

/// An attribute's value: text kept inline up to 24 bytes. Nearly every value
/// a dissector gives (a number, a code, a short name) fits, so keeping one is
/// no heap allocation; kept operations carry several each, and allocating
/// and freeing them was a twentieth of the analysis.
pub type AttrValue = compact_str::CompactString;
pub use compact_str::{format_compact, ToCompactString};

/// A notable observation kept individually, with its provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Packet time.
    pub ts: Timestamp,
    /// Record number of the packet in its capture (1-based), for provenance.
    pub packet: u64,
    /// Which of the inputs analysed together the packet came from (0 when
    /// there is one): the store writes it under that input's capture.
    /// Several files merged in time order share a batch, and the batch's
    /// capture named every event's packet number in the wrong file.
    #[serde(default)]
    pub source: u32,
    /// The flow, when the event belongs to one.
    pub flow: Option<FlowId>,
    /// Protocol name.
    pub protocol: Cow<'static, str>,
    /// Kind of event.
    pub kind: EventKind,
    /// Short name (`dhcp.request`, `tcp.gap`).
    pub name: Cow<'static, str>,
    /// Operation class, for operation events.
    pub class: Option<OperationClass>,
    /// Sender MAC, when known.
    pub src_mac: Option<MacAddr>,
    /// Sender IP, when known.
    pub src_ip: Option<IpAddr>,
    /// Receiver IP, when known.
    pub dst_ip: Option<IpAddr>,
    /// Attributes as ordered name/value pairs (`host_name`, `vendor_class`, ...).
    pub attributes: Vec<(Cow<'static, str>, AttrValue)>,
}

/// Everything the engine tells the store.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// A host seen sending.
    Host(HostSighting),
    /// A flow's aggregates.
    Flow(FlowRecord),
    /// Counts of protocol operations.
    Message(MessageStat),
    /// A notable event.
    Event(Event),
    /// Kept operations of one flow, protocol, name, class and addressing,
    /// encoded as the store keeps them (see [`runs`]).
    Operations(runs::OperationRun),
}

impl Observation {
    /// The notable events this observation stands for: an event itself, each
    /// operation of a run; none for the others.
    pub fn events(&self) -> Result<Vec<Event>, runs::DecodeError> {
        match self {
            Observation::Event(e) => Ok(vec![e.clone()]),
            Observation::Operations(run) => run.events(),
            Observation::Host(_) | Observation::Flow(_) | Observation::Message(_) => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A packed address reads back as it went in, and drops group
        /// addresses as `filter(|m| !m.is_group())` does.
        #[test]
        fn a_packed_mac_reads_back_as_the_option_it_was(m in proptest::option::of(any::<[u8; 6]>().prop_map(MacAddr))) {
            let packed = MaybeMac::from(m);
            prop_assert_eq!(packed.get(), m);
            prop_assert_eq!(packed.unicast().get(), m.filter(|m| !m.is_group()));
            prop_assert_eq!(format!("{packed:?}"), format!("{m:?}"));
            prop_assert_eq!(packed == MaybeMac::NONE, m.is_none());
        }
    }

    #[test]
    fn the_zero_address_is_an_address() {
        let zero = MaybeMac::from_bytes([0; 6]);
        assert_ne!(zero, MaybeMac::NONE);
        assert_eq!(zero.get(), Some(MacAddr([0; 6])));
    }

    #[test]
    fn every_operation_class_is_listed_once_in_name_order() {
        let names: Vec<&str> = OperationClass::BY_NAME.iter().map(|c| c.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for c in OperationClass::BY_NAME {
            assert_eq!(OperationClass::parse(c.name()), Some(c));
        }
    }

    #[test]
    fn a_mac_address_reads_as_six_lower_case_hex_pairs() {
        for b in 0..=255u8 {
            let bytes = [b, !b, b ^ 0x5a, b.rotate_left(3), 0, 0xff];
            let [a, c, d, e, f, g] = bytes;
            let expected = format!("{a:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}:{g:02x}");
            assert_eq!(MacAddr(bytes).to_string(), expected);
        }
    }

    #[test]
    fn formats_timestamps_as_utc() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(Timestamp::from_parts(1_445_506_153, 123_456_789).to_rfc3339(), "2015-10-22T09:29:13.123456Z");
        assert_eq!(Timestamp::from_parts(951_782_400, 0).to_rfc3339(), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn parses_and_prints_mac_addresses() {
        let m: MacAddr = "00:1B:1b:0a:ff:01".parse().unwrap();
        assert_eq!(m.to_string(), "00:1b:1b:0a:ff:01");
        assert!("00:11:22".parse::<MacAddr>().is_err());
        assert!("00:11:22:33:44:55:66".parse::<MacAddr>().is_err());
        assert!(!m.is_group());
        assert!(MacAddr([0xff; 6]).is_group());
        assert!(m.names_a_station());
        assert!(!MacAddr([0; 6]).names_a_station(), "Linux loopback's zero address");
        assert!(!MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x0e]).names_a_station(), "LLDP's group address");
    }

    #[test]
    fn flow_ids_are_stable_and_distinct() {
        let key = FlowKey {
            vlan: None,
            transport: Transport::Tcp,
            client_ip: "10.0.0.1".parse().unwrap(),
            client_port: 50000,
            server_ip: "10.0.0.2".parse().unwrap(),
            server_port: 502,
        };
        let a = FlowId::derive(&key, Timestamp(5));
        assert_eq!(a, FlowId::derive(&key, Timestamp(5)));
        assert_ne!(a, FlowId::derive(&key, Timestamp(6)));
        assert_ne!(a, FlowId::derive(&FlowKey { vlan: Some(1), ..key }, Timestamp(5)));
        assert!(a.0 >= 0);
    }

    #[test]
    fn network_names_are_short_plain_words() {
        for good in ["plant-a", "a", "Site_2.north", "0"] {
            assert_eq!(check_network_name(good), Ok(()), "{good}");
        }
        for bad in ["", "plant a", "a@b", "-a", ".a", "ü", &"x".repeat(NETWORK_NAME_MAX + 1)] {
            assert!(check_network_name(bad).is_err(), "{bad:?} was taken");
        }
        assert!(check_network_name(&"x".repeat(NETWORK_NAME_MAX)).is_ok());
    }

    #[test]
    fn transport_names_round_trip() {
        for t in [Transport::Tcp, Transport::Udp, Transport::Icmp, Transport::Icmpv6, Transport::Other(47)] {
            assert_eq!(Transport::parse(&t.name()), Some(t));
        }
    }
}
