//! The engine: one packet at a time, from raw frame to observations.
//!
//! Owns the packet path after capture: decode (`otposture-wire`), host
//! sightings, IP defragmentation, the flow table and TCP reassembly
//! (`otposture-flow`), and the hand-off to dissectors (`otposture-dissect`),
//! chosen per flow by content probe with the port as a hint. It emits
//! [`Observation`]s — aggregates and notable events, never one row per packet —
//! at checkpoints the caller asks for, so a store can commit them in batches.
//!
//! It does no I/O and reads no clock: time is the packets' time.

mod aggregate;
mod stats;

use aggregate::Aggregator;
use otposture_dissect::{
    DatagramDissector, DatagramSession, Emit, FlowMeta, FrameSelector, PacketCtx, Probe, Registry, StreamDissector,
    StreamSession,
};
use otposture_flow::{Chunk, DefragLimits, Defragmenter, Flow, FlowLimits, FlowTable, FlowTuple, FragKey};
use otposture_model::{
    Direction, EventKind, FlowEnd, FlowKey, FlowRecord, HostSource, InitiatorBasis, Observation, TcpState, Timestamp,
    Transport,
};
use otposture_model::{MaybeMac, ToCompactString};
use otposture_wire::tunnel::{
    ETHERTYPE_HSR, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST, IP_PROTO_GRE, PRP_SUFFIX, VXLAN_PORT,
};
use otposture_wire::{tcp_flags, Frame, IpPacket, LinkType, Net, L4};
use std::borrow::Cow;

pub use stats::EngineStats;

/// Engine settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineConfig {
    /// Flow table limits.
    pub flows: FlowLimits,
    /// Fragment reassembly limits.
    pub defrag: DefragLimits,
}

/// Ended flows waiting for a checkpoint before [`Engine::needs_checkpoint`] says so.
const PENDING_FLOWS: usize = 1 << 14;
/// Events waiting for a checkpoint before [`Engine::needs_checkpoint`] says so.
const PENDING_EVENTS: usize = 1 << 16;

/// Bytes of a stream direction kept while probing for its protocol.
const PROBE_BYTES: usize = 512;
/// Chunks of a stream no probe took offered to [`StreamDissector::resync`]
/// before giving up: a connection picked up mid-stream in the middle of a
/// 16 KiB TLS record starts the next one a dozen segments later.
const RESYNC_CHUNKS: u8 = 64;
/// Datagrams of a flow offered to the probes before giving up.
const PROBE_DATAGRAMS: u8 = 4;

/// What dissects a TCP flow.
enum StreamDissection {
    /// Waiting for enough bytes to choose; bytes seen so far per direction.
    Probing([Vec<u8>; 2]),
    /// Chosen.
    Active(Box<dyn StreamSession>),
    /// No probe took the first bytes; later chunks left to offer to the
    /// dissectors that can take a stream up mid-way.
    Resync(u8),
    /// No dissector wants it.
    None,
}

/// What dissects a UDP flow.
enum DatagramDissection {
    Probing(u8),
    Active(Box<dyn DatagramSession>),
    None,
}

/// The sender of one direction of a flow, tracked on the flow so that the
/// per-packet path needs no host-table lookup; flushed to the host table at
/// checkpoints and when the flow ends.
#[derive(Clone, Copy, Debug, Default)]
struct Sender {
    seen: bool,
    mac: MaybeMac,
    first: Timestamp,
    last: Timestamp,
}

/// The engine's state per flow.
pub struct FlowExt {
    stream: StreamDissection,
    datagram: DatagramDissection,
    senders: [Sender; 2],
    /// The last packet time of the flow's latest stored record, if any.
    recorded_at: Option<Timestamp>,
    /// The latest record was written after the TCP connection closed, as
    /// `closed`, and nothing has changed since: when the flow leaves the table
    /// (it lingers for late packets) its record would say the same again.
    closed_recorded: bool,
    /// The input of its first packet (see [`RawPacket::source`]).
    source: u32,
    /// Per direction: a frame went to a broadcast or multicast MAC (see
    /// [`FlowRecord::to_group`]).
    to_group: [bool; 2],
    /// The flow's dissector found it backwards (see `orient`): the rest of
    /// this packet is dissected the right way round, and the engine turns
    /// the flow when the packet is done.
    reversed: bool,
}

/// An open flow's record is written at the first checkpoint that sees it (its
/// events and counts then have their flow row), and after that only when it
/// ends or when it has run on for this long (capture time) since its latest
/// record. Where checkpoints come faster than that (a busy live network),
/// every long polling connection was rewritten at each one; a stored open flow
/// is now at most this far behind, and exact once it ends.
const OPEN_FLOW_REFRESH_NS: i64 = 60 * 1_000_000_000;

impl std::fmt::Debug for FlowExt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self.stream {
            StreamDissection::Probing(_) => "probing",
            StreamDissection::Active(_) => "active",
            StreamDissection::Resync(_) => "resync",
            StreamDissection::None => "none",
        };
        f.debug_struct("FlowExt").field("stream", &s).finish()
    }
}

/// The packet engine.
pub struct Engine {
    table: FlowTable<FlowExt>,
    defrag: Defragmenter,
    core: Core,
}

/// Everything but the flow table, so a flow borrowed from the table and the
/// rest of the engine can be used together.
struct Core {
    registry: Registry,
    agg: Aggregator,
    out: Vec<Observation>,
    /// Flows ended since the last checkpoint, whose operation counts can then be forgotten.
    ended_ids: Vec<otposture_model::FlowId>,
    stats: EngineStats,
    /// The input of the packet being read (see [`RawPacket::source`]).
    source: u32,
    /// A frame the packet being read carries (mirrored, in a GRE tunnel,
    /// behind MPLS labels or an HSR tag), analysed once the packet is
    /// ([`Core::keep_carried`], [`Core::keep_link_carried`]).
    carried: Option<Carried>,
    /// Carried frames within one another being read now.
    carried_depth: u8,
    /// The last carried frame's buffer, kept for the next one.
    carried_buffer: Vec<u8>,
    /// The HSR sequence numbers each sender's frames were last seen with,
    /// so a ring's second copy of a frame is not analysed again.
    hsr_seen: std::collections::HashMap<otposture_model::MacAddr, SequenceWindow, foldhash::fast::RandomState>,
    /// The same for PRP senders' frames, seen on both LANs.
    prp_seen: std::collections::HashMap<otposture_model::MacAddr, SequenceWindow, foldhash::fast::RandomState>,
}

/// HSR or PRP senders remembered at most; past it the memory is cleared (a
/// copy may then be analysed twice), so a flood of source MACs cannot grow it.
const MAX_REDUNDANT_SENDERS: usize = 1 << 16;

/// Whether a redundant sender's frame numbered `sequence` comes for the
/// first time (false: it is the copy of one already analysed).
fn first_copy(
    seen: &mut std::collections::HashMap<otposture_model::MacAddr, SequenceWindow, foldhash::fast::RandomState>,
    sender: otposture_model::MacAddr,
    sequence: u16,
) -> bool {
    if seen.len() >= MAX_REDUNDANT_SENDERS && !seen.contains_key(&sender) {
        seen.clear();
    }
    match seen.entry(sender) {
        std::collections::hash_map::Entry::Occupied(mut w) => w.get_mut().first(sequence),
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(SequenceWindow::new(sequence));
            true
        }
    }
}

/// Sequence numbers remembered per redundant sender, back from its newest.
const SEQUENCE_WINDOW: u16 = 1024;

/// The sequence numbers a sender's frames came with, for the newest and the
/// [`SEQUENCE_WINDOW`] - 1 before it, a bit each at the number's place
/// modulo the window. A ring's two copies of a frame, or a PRP node's two
/// LANs' copies, arrive within a few frames of each other; the window leaves
/// room for a busy sender (sampled values at several thousand frames a
/// second) and for two LANs' captures whose clocks differ by some
/// milliseconds. A number from further back is taken for a new frame (the
/// sender restarted), as the duplicate discard of IEC 62439-3 forgets too.
#[derive(Clone, Debug)]
struct SequenceWindow {
    newest: u16,
    seen: [u64; SEQUENCE_WINDOW as usize / 64],
}

impl SequenceWindow {
    fn new(sequence: u16) -> Self {
        let mut w = SequenceWindow { newest: sequence, seen: [0; SEQUENCE_WINDOW as usize / 64] };
        w.mark(sequence);
        w
    }

    /// Sets `sequence`'s bit; true when it was clear.
    fn mark(&mut self, sequence: u16) -> bool {
        let at = usize::from(sequence % SEQUENCE_WINDOW);
        let (word, bit) = (at / 64, 1u64 << (at % 64));
        match self.seen.get_mut(word) {
            Some(w) => {
                let first = *w & bit == 0;
                *w |= bit;
                first
            }
            None => true,
        }
    }

    /// True the first time `sequence` comes, false for its copy.
    fn first(&mut self, sequence: u16) -> bool {
        if self.newest.wrapping_sub(sequence) < SEQUENCE_WINDOW {
            return self.mark(sequence);
        }
        let ahead = sequence.wrapping_sub(self.newest);
        if ahead < SEQUENCE_WINDOW {
            // The numbers passed over now stand for frames not seen yet.
            for n in 1..=ahead {
                let at = usize::from(self.newest.wrapping_add(n) % SEQUENCE_WINDOW);
                if let Some(w) = self.seen.get_mut(at / 64) {
                    *w &= !(1u64 << (at % 64));
                }
            }
        } else {
            self.seen = [0; SEQUENCE_WINDOW as usize / 64];
        }
        self.newest = sequence;
        self.mark(sequence)
    }
}

/// A frame taken out of a remote SPAN packet, a tunnel's or an MPLS label
/// stack's IP packet, a pseudowire's frame, or a frame out of its HSR tag.
struct Carried {
    link: LinkType,
    /// The VLAN its ERSPAN header names (0: none).
    vlan: u16,
    bytes: Vec<u8>,
}

/// Carried frames within one another that are opened, at most: ERSPAN
/// carrying a VXLAN mirror is two; past that a packet is taken as it comes.
const MAX_TUNNEL_DEPTH: u8 = 2;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("registry", &self.core.registry).field("flows", &self.table.len()).finish()
    }
}

/// A packet as the engine receives it.
#[derive(Clone, Copy, Debug)]
// In this order, and kept in it: the link type and the length on the wire
// come from a captured packet's neighbouring fields, written one at a time
// just before. Neighbours here too, they were copied with one wide load that
// waited for both stores (a store-forwarding stall on every packet).
#[repr(C)]
pub struct RawPacket<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Captured bytes.
    pub data: &'a [u8],
    /// Record number in its capture, for provenance.
    pub record: u64,
    /// LINKTYPE_ value.
    pub linktype: u32,
    /// Which of the inputs analysed together it came from (0 for one input):
    /// events, flows and counts outside flows carry it to the store, which
    /// writes them under that input's capture.
    pub source: u32,
    /// Length on the wire.
    pub orig_len: u32,
}

/// Per-packet addressing shared by the layers below.
#[derive(Clone, Copy)]
struct Addr {
    ts: Timestamp,
    record: u64,
    source: u32,
    wire_len: u32,
    // Words, not `Option`s: see `MaybeMac`.
    src_mac: MaybeMac,
    dst_mac: MaybeMac,
    vlan: Option<u16>,
}

impl Addr {
    /// The dissector context of a packet that belongs to a flow.
    fn flow_ctx<'a>(&self, ip: &IpPacket<'_>, meta: &'a FlowMeta, dir: Direction) -> PacketCtx<'a> {
        PacketCtx {
            ts: self.ts,
            packet: self.record,
            source: self.source,
            flow: Some(meta),
            direction: Some(dir),
            src_mac: self.src_mac.get(),
            dst_mac: self.dst_mac.get(),
            vlan: self.vlan,
            src_ip: Some(ip.src),
            dst_ip: Some(ip.dst),
        }
    }
}

impl Engine {
    /// An engine with these settings and dissectors.
    pub fn new(config: EngineConfig, registry: Registry) -> Self {
        Engine {
            table: FlowTable::new(config.flows),
            defrag: Defragmenter::new(config.defrag),
            core: Core {
                registry,
                agg: Aggregator::default(),
                out: Vec::new(),
                ended_ids: Vec::new(),
                stats: EngineStats::default(),
                source: 0,
                carried: None,
                carried_depth: 0,
                carried_buffer: Vec::new(),
                hsr_seen: std::collections::HashMap::default(),
                prp_seen: std::collections::HashMap::default(),
            },
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.core.stats.clone();
        s.flow_table = self.table.stats;
        s.defrag = self.defrag.stats;
        s.hosts = self.core.agg.host_count() as u64;
        s.flows_open = self.table.len() as u64;
        s.events_dropped = self.core.agg.events_dropped;
        s.identities_repeated = self.core.agg.identities_repeated;
        s.anomaly_events_unkept = self.core.agg.anomaly_events_unkept;
        s.unexpected_protocols = self.core.agg.unexpected_protocols;
        s.messages = self.core.agg.per_protocol();
        s.memory_bytes = (self.table.memory() + self.defrag.held_bytes()) as u64;
        s
    }

    /// Processes one packet.
    pub fn packet(&mut self, p: &RawPacket<'_>) {
        self.core.source = p.source;
        self.core.stats.packets += 1;
        self.core.stats.bytes += p.data.len() as u64;
        self.core.stats.wire_bytes += u64::from(p.orig_len.max(p.data.len() as u32));
        if self.core.stats.first_ts.is_none() {
            self.core.stats.first_ts = Some(p.ts);
        }
        self.core.stats.last_ts = Some(p.ts.max(self.core.stats.last_ts.unwrap_or(p.ts)));
        let Some(link) = LinkType::from_linktype(p.linktype) else {
            *self.core.stats.unsupported_link_types.entry(p.linktype).or_insert(0) += 1;
            return;
        };
        // Used where it was decoded: moving the frame out of the `Result`
        // copied it with wide loads right behind decode's narrow stores.
        let decoded = otposture_wire::decode(link, p.data);
        let frame = match &decoded {
            Ok(f) => f,
            Err(e) => {
                self.core.stats.count_error(e.kind());
                return;
            }
        };
        // Ended flows go straight to their record: flows are large, and
        // gathering a sweep's worth into a vector first (all of a capture's
        // flows, when a day-long silence ends them at once) copied each twice.
        let core = &mut self.core;
        self.table.maybe_sweep(p.ts, &mut |f, why| core.end_flow(f, why, p.ts));
        if (p.data.len() as u32) < p.orig_len {
            self.core.stats.snapped += 1;
        }
        let addr = Addr {
            ts: p.ts,
            record: p.record,
            source: p.source,
            wire_len: p.orig_len.max(p.data.len() as u32),
            src_mac: frame.src_mac.unicast(),
            dst_mac: frame.dst_mac,
            vlan: frame.vlan,
        };
        // A PRP sender's frames end in its trailer: the copy from its other
        // LAN (a sensor on both, or their captures merged) is passed over.
        if p.data.ends_with(&PRP_SUFFIX) && link == LinkType::Ethernet && self.core.prp_copy(p.data, frame) {
            return;
        }
        self.frame(&addr, frame);
        if self.core.carried.is_some() {
            self.carried(p);
        }
    }

    /// The frames [`Core::keep_carried`] and [`Core::keep_link_carried`] took
    /// out of the packet just analysed (remote SPAN, as if captured at the
    /// switch; a GRE tunnel's or MPLS label stack's packets; a pseudowire's
    /// frames; an HSR ring's frames once each).
    #[cold]
    #[inline(never)]
    fn carried(&mut self, p: &RawPacket<'_>) {
        // `decode`, `frame` and `ip` are always inlined, here too: called from
        // two places, LLVM stopped inlining them into `packet`, where every
        // captured packet goes (1.4% more instructions on the benchmark).
        while let Some(m) = self.core.carried.take() {
            self.core.carried_depth += 1;
            match otposture_wire::decode(m.link, &m.bytes) {
                Ok(frame) => {
                    let addr = Addr {
                        ts: p.ts,
                        record: p.record,
                        source: p.source,
                        // Every carried frame runs to its packet's end, so
                        // what a snap length cut off the packet it cut off
                        // the frame: its length on the wire is the rest.
                        wire_len: u32::try_from(m.bytes.len())
                            .unwrap_or(u32::MAX)
                            .saturating_add(p.orig_len.saturating_sub(u32::try_from(p.data.len()).unwrap_or(u32::MAX))),
                        src_mac: frame.src_mac.unicast(),
                        dst_mac: frame.dst_mac,
                        // A frame mirrored without its tag: ERSPAN names the VLAN.
                        vlan: frame.vlan.or((m.vlan != 0).then_some(m.vlan)),
                    };
                    self.frame(&addr, &frame);
                }
                Err(e) => self.core.stats.count_error(e.kind()),
            }
            // The buffer serves the next carried frame.
            self.core.carried_buffer = m.bytes;
        }
        self.core.carried_depth = 0;
    }

    #[inline(always)]
    fn frame(&mut self, addr: &Addr, frame: &Frame<'_>) {
        match &frame.net {
            Net::Ip(ip) => self.ip(addr, ip),
            &Net::L2 { ethertype, payload } => {
                if matches!(ethertype, ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST | ETHERTYPE_HSR)
                    && self.core.keep_link_carried(addr, frame, ethertype, payload)
                {
                    return;
                }
                self.core.stats.l2_frames += 1;
                let ctx = PacketCtx {
                    src_mac: addr.src_mac.get(),
                    dst_mac: addr.dst_mac.get(),
                    vlan: addr.vlan,
                    source: addr.source,
                    ..PacketCtx::at(addr.ts, addr.record)
                };
                let mut handled = false;
                let selector = FrameSelector::EtherType(ethertype);
                for d in self.core.registry.frames.iter().filter(|d| d.selector() == selector) {
                    handled = true;
                    d.frame(&ctx, payload, &mut self.core.agg);
                }
                if ethertype == otposture_wire::ETHERTYPE_ARP {
                    // The ARP dissector's sender identity names the host; record it
                    // here from the same bytes so hosts exist without a dissector too.
                    if let Some((mac, ip)) = arp_sender(payload) {
                        self.core.agg.host(Some(mac), Some(ip), addr.vlan, addr.ts, HostSource::Arp);
                    }
                } else if let Some(mac) = addr.src_mac.get() {
                    self.core.agg.host(Some(mac), None, addr.vlan, addr.ts, HostSource::L2);
                }
                if !handled {
                    *self.core.stats.ethertypes.entry(ethertype).or_insert(0) += 1;
                }
            }
            Net::Llc(llc) => {
                self.core.stats.l2_frames += 1;
                *self.core.stats.llc_frames.entry(llc.kind()).or_insert(0) += 1;
                let ctx = PacketCtx {
                    src_mac: addr.src_mac.get(),
                    dst_mac: addr.dst_mac.get(),
                    vlan: addr.vlan,
                    source: addr.source,
                    ..PacketCtx::at(addr.ts, addr.record)
                };
                let selector = match llc.snap {
                    Some(s) => FrameSelector::Snap { oui: s.oui, pid: s.pid },
                    None => FrameSelector::Llc { dsap: llc.dsap, ssap: llc.ssap },
                };
                for d in self.core.registry.frames.iter().filter(|d| d.selector() == selector) {
                    d.frame(&ctx, llc.payload, &mut self.core.agg);
                }
                // Switches send spanning tree, CDP and VTP from their port MACs:
                // the sender exists as a host whether or not a dissector took it.
                if let Some(mac) = addr.src_mac.get() {
                    self.core.agg.host(Some(mac), None, addr.vlan, addr.ts, HostSource::L2);
                }
            }
            Net::None => self.core.stats.l2_frames += 1,
        }
        // Layer-2 messages belong to no flow: what their dissectors found
        // malformed is the run's, not the next flow's.
        let malformed = std::mem::take(&mut self.core.agg.malformed_now);
        self.core.stats.anomalies.malformed = self.core.stats.anomalies.malformed.saturating_add(malformed);
    }

    #[inline(always)]
    fn ip(&mut self, addr: &Addr, ip: &IpPacket<'_>) {
        // Senders of packets that reach a flow are recorded through the flow;
        // fragments and undecodable transports are recorded here. GRE
        // fragments wait for their packet: a mirror's carrier is no traffic
        // of the plant, and a tunnel's is recorded by its flow.
        let fragment = ip.fragment.is_some() && ip.proto != IP_PROTO_GRE;
        if is_host_address(ip.src) && (fragment || matches!(ip.l4, L4::Malformed(_))) {
            self.core.agg.host(addr.src_mac.get(), Some(ip.src), addr.vlan, addr.ts, HostSource::Ip);
        }
        if ip.truncated {
            self.core.stats.truncated_ip += 1;
        }
        if let Some(frag) = ip.fragment {
            let key = FragKey { src: ip.src, dst: ip.dst, id: frag.id, proto: ip.proto, vlan: addr.vlan };
            let whole = self.defrag.add(key, addr.ts, frag.offset, frag.more, ip.payload);
            if let Some(whole) = whole {
                if ip.proto == IP_PROTO_GRE && self.core.keep_carried(otposture_wire::tunnel::gre(&whole)) {
                    return;
                }
                let l4 = otposture_wire::parse_transport(ip.proto, &whole);
                self.transport(addr, ip, &l4);
            }
            return;
        }
        if ip.proto == IP_PROTO_GRE && self.core.keep_carried(otposture_wire::tunnel::gre(ip.payload)) {
            return;
        }
        self.transport(addr, ip, &ip.l4);
    }

    fn transport(&mut self, addr: &Addr, ip: &IpPacket<'_>, l4: &L4<'_>) {
        match *l4 {
            L4::Tcp(seg) => {
                self.core.stats.tcp += 1;
                self.tcp(addr, ip, seg);
            }
            L4::Udp(d) => {
                if d.dst_port == VXLAN_PORT && self.core.keep_carried(otposture_wire::tunnel::vxlan(d.payload)) {
                    return;
                }
                self.core.stats.udp += 1;
                self.udp(addr, ip, d);
            }
            L4::Icmp { .. } => {
                self.core.stats.icmp += 1;
                self.portless(addr, ip);
            }
            L4::Other => {
                self.core.stats.other_ip += 1;
                self.portless(addr, ip);
            }
            L4::Malformed(what) => self.core.stats.count_error(match what {
                "tcp" => "tcp_invalid",
                "udp" => "udp_invalid",
                _ => "transport_invalid",
            }),
        }
    }

    fn tcp(&mut self, addr: &Addr, ip: &IpPacket<'_>, seg: otposture_wire::TcpSegment<'_>) {
        let syn_only = seg.has(tcp_flags::SYN) && !seg.has(tcp_flags::ACK);
        let syn_ack = seg.has(tcp_flags::SYN | tcp_flags::ACK);
        let (sport, dport) = (seg.src_port, seg.dst_port);
        let cap = self.table.limits().stream_buffer;
        let (flow, src_first) = flow_for(
            &mut self.table,
            &mut self.core,
            addr,
            ip,
            6,
            sport,
            dport,
            || {
                if syn_only {
                    (true, InitiatorBasis::Handshake, Some(TcpState::SynSent))
                } else if syn_ack {
                    (false, InitiatorBasis::Handshake, Some(TcpState::SynReceived))
                } else {
                    (src_is_client_by_port(sport, dport), InitiatorBasis::PortHeuristic, Some(TcpState::Midstream))
                }
            },
            |f| {
                // A new SYN on a finished connection, or with a different initial
                // sequence number, is a new connection reusing the ports.
                syn_only
                    && f.tcp.as_ref().is_some_and(|t| {
                        matches!(t.state, TcpState::Closed | TcpState::Reset | TcpState::Closing)
                            || t.client_isn.is_some_and(|isn| isn != seg.seq)
                    })
            },
        );
        let core = &mut self.core;
        let dir = flow.direction(src_first);
        count(flow, dir, addr, seg.payload.len(), &mut core.agg);
        let meta = FlowMeta { id: flow.id, key: flow.key };
        let ctx = addr.flow_ctx(ip, &meta, dir);
        let Flow { tcp, ext, anomalies, app_protocol, initiator, .. } = &mut *flow;
        let Some(t) = tcp.as_mut() else { return };
        let di = dir.index();
        let before = t.streams[0].buffered() + t.streams[1].buffered();
        // Connection state (RFC 793 §3.4), as far as a passive observer can tell.
        if syn_only {
            t.state = TcpState::SynSent;
            t.client_isn = Some(seg.seq);
        } else if syn_ack {
            if matches!(t.state, TcpState::SynSent | TcpState::Midstream) {
                t.state = TcpState::SynReceived;
            }
        } else if t.state == TcpState::SynReceived && dir == Direction::ToServer && seg.has(tcp_flags::ACK) {
            t.state = TcpState::Established;
        }
        if seg.has(tcp_flags::SYN) {
            if let Some(s) = t.streams.get_mut(di) {
                s.syn(seg.seq);
            }
        }
        let mut feed = StreamFeed { registry: &core.registry, ext, app_protocol, initiator, agg: &mut core.agg };
        let mut deliver = |chunk: Chunk<'_>, to: Direction| {
            if to == dir {
                feed.feed(&ctx, to, chunk);
            } else {
                // Bytes of the other direction released by this packet's
                // acknowledgement (they waited behind a hole) were sent by the
                // peer: they carry its addressing. Rare, so made only then.
                let peer = PacketCtx {
                    direction: Some(to),
                    src_mac: ctx.dst_mac,
                    dst_mac: ctx.src_mac,
                    src_ip: ctx.dst_ip,
                    dst_ip: ctx.src_ip,
                    ..ctx
                };
                feed.feed(&peer, to, chunk);
            }
        };
        // The peer's bytes this acknowledgement releases were sent before this
        // packet: delivered first, a request held behind a hole meets its answer.
        if seg.has(tcp_flags::ACK) && !seg.has(tcp_flags::SYN) {
            let other = dir.reverse();
            if let Some(s) = t.streams.get_mut(other.index()) {
                s.peer_ack(seg.ack, anomalies, &mut |c| deliver(c, other));
            }
        }
        let fin = seg.has(tcp_flags::FIN);
        if !seg.has(tcp_flags::RST) && (!seg.payload.is_empty() || fin) {
            let data_seq = if seg.has(tcp_flags::SYN) { seg.seq.wrapping_add(1) } else { seg.seq };
            if let Some(s) = t.streams.get_mut(di) {
                s.segment(data_seq, seg.payload, fin, cap, anomalies, &mut |c| deliver(c, dir));
            }
        }
        if fin {
            if let Some(f) = t.fin.get_mut(di) {
                *f = true;
            }
            t.state = if t.fin == [true, true] { TcpState::Closed } else { TcpState::Closing };
        }
        if seg.has(tcp_flags::RST) {
            t.state = TcpState::Reset;
        }
        if !seg.payload.is_empty() && matches!(t.state, TcpState::SynReceived | TcpState::SynSent) {
            t.state = TcpState::Established;
        }
        let after = t.streams[0].buffered() + t.streams[1].buffered();
        anomalies.malformed += std::mem::take(&mut core.agg.malformed_now);
        if flow.ext.reversed {
            turn_round(flow);
        }
        self.table.account_buffered(before, after);
    }

    fn udp(&mut self, addr: &Addr, ip: &IpPacket<'_>, d: otposture_wire::UdpDatagram<'_>) {
        let (sport, dport) = (d.src_port, d.dst_port);
        let (flow, src_first) = flow_for(
            &mut self.table,
            &mut self.core,
            addr,
            ip,
            17,
            sport,
            dport,
            || (src_is_client_by_port(sport, dport), InitiatorBasis::FirstPacket, None),
            |_| false,
        );
        let core = &mut self.core;
        let mut dir = flow.direction(src_first);
        count(flow, dir, addr, d.payload.len(), &mut core.agg);
        let agg = &mut core.agg;
        let chosen = match &mut flow.ext.datagram {
            DatagramDissection::Active(s) => {
                let meta = FlowMeta { id: flow.id, key: flow.key };
                s.datagram(&addr.flow_ctx(ip, &meta, dir), dir, d.payload, agg);
                None
            }
            DatagramDissection::Probing(tries) => {
                *tries += 1;
                let give_up = *tries >= PROBE_DATAGRAMS;
                let hinted = core.registry.datagrams.iter().filter(|x| x.port_hint(sport, dport));
                let others = core.registry.datagrams.iter().filter(|x| !x.port_hint(sport, dport));
                let chosen = hinted.chain(others).find(|x| x.probe(d.payload) == Probe::Match);
                if chosen.is_none() && give_up {
                    flow.ext.datagram = DatagramDissection::None;
                }
                chosen
            }
            DatagramDissection::None => None,
        };
        if let Some(x) = chosen {
            if orient_datagrams(x.as_ref(), flow, dir, addr.dst_mac.get(), d.payload) {
                turn_round(flow);
                dir = dir.reverse();
            }
            let meta = FlowMeta { id: flow.id, key: flow.key };
            let ctx = addr.flow_ctx(ip, &meta, dir);
            if !x.port_hint(sport, dport) {
                unexpected_datagrams(&core.registry, agg, &ctx, x.protocol());
            }
            let mut s = x.new_session();
            s.datagram(&ctx, dir, d.payload, agg);
            flow.app_protocol = Some(x.protocol());
            flow.ext.datagram = DatagramDissection::Active(s);
        }
        flow.anomalies.malformed += std::mem::take(&mut agg.malformed_now);
    }

    fn portless(&mut self, addr: &Addr, ip: &IpPacket<'_>) {
        let (flow, src_first) = flow_for(
            &mut self.table,
            &mut self.core,
            addr,
            ip,
            ip.proto,
            0,
            0,
            || (true, InitiatorBasis::FirstPacket, None),
            |_| false,
        );
        let dir = flow.direction(src_first);
        count(flow, dir, addr, ip.payload.len(), &mut self.core.agg);
    }

    /// True when enough waits that the caller should checkpoint now: 16,384
    /// ended flows (a flood of short flows ends one per packet) or 65,536 events
    /// (a stretch dense in kept operations; the store writes those in batches,
    /// so they may wait longer than flows). Either way memory stays bounded and
    /// nothing is dropped (events are dropped past 100,000).
    pub fn needs_checkpoint(&self) -> bool {
        self.core.out.len() >= PENDING_FLOWS || self.core.agg.pending_events() >= PENDING_EVENTS
    }

    /// Moves everything observed since the last checkpoint to `out`: ended flows,
    /// open flows new or changed for a while (as `open` records with cumulative
    /// counts; see [`OPEN_FLOW_REFRESH_NS`]),
    /// hosts, operation counts and events.
    pub fn checkpoint(&mut self, out: &mut Vec<Observation>) {
        out.append(&mut self.core.out);
        let agg = &mut self.core.agg;
        self.table.for_each_mut(|f| {
            if f.dirty {
                f.dirty = false;
                let due = f.ext.recorded_at.is_none_or(|t| f.last_seen.0.saturating_sub(t.0) >= OPEN_FLOW_REFRESH_NS);
                // A connection that has closed is written as such: a port scan
                // leaves a table of reset connections lingering for late
                // packets, and each was written open here and again at its end.
                let closed = f.tcp.as_ref().is_some_and(|t| matches!(t.state, TcpState::Closed | TcpState::Reset));
                f.ext.closed_recorded = due && closed;
                if due {
                    f.ext.recorded_at = Some(f.last_seen);
                    out.push(Observation::Flow(record(f, if closed { FlowEnd::Closed } else { FlowEnd::Open })));
                }
                flush_senders(f, agg);
            }
        });
        self.core.agg.checkpoint(out);
        self.core.agg.forget_flows(&self.core.ended_ids);
        self.core.ended_ids.clear();
    }

    /// Ends every flow (end of input) and moves all observations to `out`.
    pub fn finish(&mut self, out: &mut Vec<Observation>) {
        let now = self.core.stats.last_ts.unwrap_or_default();
        let core = &mut self.core;
        self.table.drain(&mut |f, why| core.end_flow(f, why, now));
        self.defrag.expire(Timestamp(i64::MAX));
        self.checkpoint(out);
    }

    /// Records a note from the capture file itself (a pcapng comment, a name
    /// resolution record, a drop count) as an annotation event.
    pub fn annotate(
        &mut self,
        ts: Timestamp,
        record: u64,
        name: &'static str,
        attributes: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        let ctx = PacketCtx { source: self.core.source, ..PacketCtx::at(ts, record) };
        let mut e = ctx.event("pcapng", EventKind::Annotation, name);
        e.attributes = attributes.into_iter().map(|(k, v)| (k, v.chars().take(4096).collect())).collect();
        self.core.agg.event(e);
    }
}

/// The flow of a packet: looked up once, created when new, replaced when the
/// packet starts a new connection on the same tuple, rotated at maximum age.
#[allow(clippy::too_many_arguments)]
fn flow_for<'t>(
    table: &'t mut FlowTable<FlowExt>,
    core: &mut Core,
    addr: &Addr,
    ip: &IpPacket<'_>,
    proto: u8,
    sport: u16,
    dport: u16,
    orient: impl FnOnce() -> (bool, InitiatorBasis, Option<TcpState>),
    restart: impl FnOnce(&Flow<FlowExt>) -> bool,
) -> (&'t mut Flow<FlowExt>, bool) {
    let (tuple, src_first) = FlowTuple::of_packet(addr.vlan, proto, ip.src, sport, ip.dst, dport);
    let max_age = table.limits().max_age_ns;
    let streams = proto == 6 && !core.registry.streams.is_empty();
    let datagrams = proto == 17 && !core.registry.datagrams.is_empty();
    let make = || {
        let (src_is_client, basis, tcp_state) = orient();
        let client_first = src_is_client == src_first;
        let (ci, cp, si, sp) =
            if src_is_client { (ip.src, sport, ip.dst, dport) } else { (ip.dst, dport, ip.src, sport) };
        let key = FlowKey {
            vlan: addr.vlan,
            transport: Transport::from_ip_proto(proto),
            client_ip: ci,
            client_port: cp,
            server_ip: si,
            server_port: sp,
        };
        let ext = FlowExt {
            stream: if streams { StreamDissection::Probing([Vec::new(), Vec::new()]) } else { StreamDissection::None },
            datagram: if datagrams { DatagramDissection::Probing(0) } else { DatagramDissection::None },
            senders: [Sender::default(); 2],
            recorded_at: None,
            closed_recorded: false,
            source: addr.source,
            to_group: [false; 2],
            reversed: false,
        };
        let mut flow = Flow::new(key, client_first, basis, addr.ts, ext);
        if let (Some(t), Some(state)) = (flow.tcp.as_mut(), tcp_state) {
            t.state = state;
        }
        flow
    };
    let now = addr.ts;
    let flow = table.lookup_or_insert(tuple, now, make, restart, &mut |f, why| core.end_flow(f, why, now));
    if now.0.saturating_sub(flow.first_seen.0) > max_age {
        core.out.push(Observation::Flow(record(flow, FlowEnd::MaxAge)));
        flush_senders(flow, &mut core.agg);
        flow.ext.senders = [Sender::default(); 2];
        core.stats.max_age_rotations += 1;
        flow.rotate(now);
        flow.ext.source = addr.source;
    }
    (flow, src_first)
}

/// Turns a flow its dissector found backwards round (see `orient`), with
/// the engine's per-direction state.
fn turn_round(f: &mut Flow<FlowExt>) {
    f.reverse();
    f.ext.senders.swap(0, 1);
    f.ext.to_group.swap(0, 1);
    f.ext.reversed = false;
}

/// Counts a packet on its flow and notes its sender.
fn count(f: &mut Flow<FlowExt>, dir: Direction, addr: &Addr, payload: usize, agg: &mut Aggregator) {
    let i = dir.index();
    if let Some(s) = f.ext.senders.get_mut(i) {
        if !s.seen {
            *s = Sender { seen: true, mac: addr.src_mac, first: addr.ts, last: addr.ts };
        } else if s.mac == addr.src_mac {
            s.last = s.last.max(addr.ts);
        } else {
            // The sender's MAC changed mid-flow (redundant gateways, spoofing):
            // record that pairing directly.
            let ip = if dir == Direction::ToServer { f.key.client_ip } else { f.key.server_ip };
            if is_host_address(ip) {
                agg.host(addr.src_mac.get(), Some(ip), addr.vlan, addr.ts, HostSource::Ip);
            }
        }
    }
    if addr.dst_mac.get().is_some_and(otposture_model::MacAddr::is_group) {
        if let Some(g) = f.ext.to_group.get_mut(i) {
            *g = true;
        }
    }
    if let (Some(p), Some(b), Some(pl)) = (f.packets.get_mut(i), f.bytes.get_mut(i), f.payload.get_mut(i)) {
        *p += 1;
        *b += u64::from(addr.wire_len);
        *pl += payload as u64;
    }
    f.last_seen = f.last_seen.max(addr.ts);
    f.dirty = true;
}

impl Core {
    /// Keeps the frame a packet carries to be analysed once the packet is:
    /// a remote SPAN packet's (ERSPAN, Ethernet over GRE, VXLAN), as if
    /// captured at the switch, or a routed GRE tunnel's IP packet. True when
    /// the carrying packet is a mirror's and makes no flow; a tunnel's packet
    /// is a flow of its own. False, and nothing kept, when there is none, or
    /// past [`MAX_TUNNEL_DEPTH`] within one another.
    #[cold]
    fn keep_carried(&mut self, inner: Option<otposture_wire::tunnel::Inner<'_>>) -> bool {
        let Some(inner) = inner else { return false };
        if !self.can_carry() {
            return false;
        }
        self.carry(inner.encapsulation.name(), inner.link, inner.vlan, |b| b.extend_from_slice(inner.data));
        inner.encapsulation.is_mirror()
    }

    /// Whether a frame may be kept to be carried: none is kept yet, and
    /// carried frames within one another are not past [`MAX_TUNNEL_DEPTH`].
    fn can_carry(&self) -> bool {
        self.carried_depth < MAX_TUNNEL_DEPTH && self.carried.is_none()
    }

    /// Keeps the frame `fill` writes (into the last carried frame's buffer),
    /// counted as decapsulated from `encapsulation`.
    fn carry(&mut self, encapsulation: &'static str, link: LinkType, vlan: u16, fill: impl FnOnce(&mut Vec<u8>)) {
        *self.stats.decapsulated.entry(encapsulation).or_insert(0) += 1;
        let mut bytes = std::mem::take(&mut self.carried_buffer);
        bytes.clear();
        fill(&mut bytes);
        self.carried = Some(Carried { link, vlan, bytes });
    }

    /// What a layer-2 header that is not the frame's own carries, kept to be
    /// analysed once the packet is; true when it was (or the frame is an HSR
    /// ring's second copy, counted and passed over).
    ///
    /// - MPLS: an IP packet or a pseudowire's Ethernet frame. The labels are
    ///   the link's own: the router that sent the frame is a host on the link.
    /// - HSR: the frame without its tag (with its VLAN tag, if it had one),
    ///   once per sender and sequence number.
    ///
    /// Such a frame counts as decapsulated, not as layer 2.
    #[cold]
    #[inline(never)]
    fn keep_link_carried(&mut self, addr: &Addr, frame: &Frame<'_>, ethertype: u16, payload: &[u8]) -> bool {
        if ethertype != ETHERTYPE_HSR {
            self.keep_carried(otposture_wire::tunnel::mpls(payload));
            if self.carried.is_none() {
                return false;
            }
            if let Some(mac) = addr.src_mac.get() {
                self.agg.host(Some(mac), None, addr.vlan, addr.ts, HostSource::L2);
            }
            return true;
        }
        // The addresses as they came: a sender MAC with the group bit set is
        // no host's, but still tells its frames' copies apart.
        let (Some(tag), Some(src), Some(dst)) =
            (otposture_wire::tunnel::hsr(payload), frame.src_mac.get(), frame.dst_mac.get())
        else {
            return false;
        };
        if !self.can_carry() {
            return false;
        }
        if !first_copy(&mut self.hsr_seen, src, tag.sequence) {
            self.stats.hsr_duplicates += 1;
            return true;
        }
        self.carry("hsr", LinkType::Ethernet, 0, |b| {
            b.extend_from_slice(&dst.0);
            b.extend_from_slice(&src.0);
            if let Some(vlan) = addr.vlan {
                b.extend_from_slice(&[0x81, 0x00]);
                b.extend_from_slice(&vlan.to_be_bytes());
            }
            b.extend_from_slice(&tag.ethertype.to_be_bytes());
            b.extend_from_slice(tag.payload);
        });
        true
    }

    /// True when a frame with a PRP trailer is the copy, from the sender's
    /// other LAN, of a frame already analysed: counted and passed over. The
    /// trailer itself stays: it follows the frame's own bytes, which every
    /// layer reads by its own lengths.
    #[cold]
    #[inline(never)]
    fn prp_copy(&mut self, data: &[u8], frame: &Frame<'_>) -> bool {
        let (Some(trailer), Some(src)) = (otposture_wire::tunnel::prp(data, frame.vlan.is_some()), frame.src_mac.get())
        else {
            return false;
        };
        if first_copy(&mut self.prp_seen, src, trailer.sequence) {
            *self.stats.prp_frames.entry(if trailer.lan == 0xa { "lan_a" } else { "lan_b" }).or_insert(0) += 1;
            return false;
        }
        self.stats.prp_duplicates += 1;
        true
    }

    /// Ends a flow: flushes its streams, closes its dissector, records it.
    fn end_flow(&mut self, mut f: Flow<FlowExt>, why: FlowEnd, now: Timestamp) {
        let meta = FlowMeta { id: f.id, key: f.key };
        // No packet of its own: the input being read when it ends.
        let ctx = PacketCtx {
            flow: Some(&meta),
            vlan: f.key.vlan,
            source: self.source,
            ..PacketCtx::at(now.max(f.last_seen), 0)
        };
        // What ending the flow may still change in its record: bytes held
        // behind a hole are flushed (gaps, a protocol named), a dissector closes.
        let recorded = (f.ext.closed_recorded && !f.dirty).then_some((f.anomalies, f.app_protocol));
        let Flow { tcp, ext, anomalies, app_protocol, initiator, .. } = &mut f;
        if let Some(t) = tcp.as_mut() {
            let mut feed = StreamFeed { registry: &self.registry, ext, app_protocol, initiator, agg: &mut self.agg };
            for dir in [Direction::ToServer, Direction::ToClient] {
                if let Some(s) = t.streams.get_mut(dir.index()) {
                    // What is still buffered was sent by this direction's sender.
                    let (src_ip, dst_ip) = match dir {
                        Direction::ToServer => (meta.key.client_ip, meta.key.server_ip),
                        Direction::ToClient => (meta.key.server_ip, meta.key.client_ip),
                    };
                    let ctx = PacketCtx { direction: Some(dir), src_ip: Some(src_ip), dst_ip: Some(dst_ip), ..ctx };
                    s.flush(anomalies, &mut |c| feed.feed(&ctx, dir, c));
                }
            }
        }
        // What was flushed may have named the protocol, and found the flow
        // backwards: it is recorded the right way round.
        if f.ext.reversed {
            turn_round(&mut f);
        }
        let meta = FlowMeta { id: f.id, key: f.key };
        let ctx = PacketCtx { flow: Some(&meta), ..ctx };
        let Flow { ext, initiator, payload, .. } = &mut f;
        if let StreamDissection::Active(s) = &mut ext.stream {
            s.close(&ctx, &mut self.agg);
        }
        // Still undecided at the end, seen from the handshake on: the client's
        // first bytes were nothing a dissector knows, unless they may still
        // begin the port's own protocol (an ISO transport connection opened and
        // closed on port 102 before any data). A flow picked up mid-stream is
        // only reported once the dissectors gave it up.
        let port = meta.key.server_port;
        let unknown = match &ext.stream {
            StreamDissection::Resync(_) => true,
            StreamDissection::Probing(bufs) => bufs.first().is_some_and(|client| {
                !client.is_empty()
                    && !self
                        .registry
                        .streams
                        .iter()
                        .any(|x| x.owns_port(port) && x.probe(Direction::ToServer, client) != Probe::NoMatch)
            }),
            _ => false,
        };
        if unknown && *initiator == InitiatorBasis::Handshake && payload.first().is_some_and(|&n| n > 0) {
            unexpected_protocol(&self.registry, &mut self.agg, &ctx, UNIDENTIFIED);
        }
        if let DatagramDissection::Active(s) = &mut ext.datagram {
            s.close(&ctx, &mut self.agg);
        }
        f.anomalies.malformed += std::mem::take(&mut self.agg.malformed_now);
        let end = if why == FlowEnd::Open
            && f.tcp.as_ref().is_some_and(|t| matches!(t.state, TcpState::Closed | TcpState::Reset))
        {
            FlowEnd::Closed
        } else {
            why
        };
        flush_senders(&f, &mut self.agg);
        self.stats.add_anomalies(&f.anomalies);
        *self.stats.flow_ends.entry(end.name()).or_insert(0) += 1;
        self.stats.flows += 1;
        // Already stored as it ends: written again, it would change nothing.
        let unchanged = recorded == Some((f.anomalies, f.app_protocol)) && end == FlowEnd::Closed;
        if !unchanged {
            self.out.push(Observation::Flow(record(&f, end)));
        }
        self.ended_ids.push(f.id);
    }
}

/// What handing a flow's reassembled chunks to its stream dissector reads
/// and changes: the flow's dissection state, protocol and initiator, and the
/// counts.
struct StreamFeed<'a> {
    registry: &'a Registry,
    ext: &'a mut FlowExt,
    app_protocol: &'a mut Option<&'static str>,
    initiator: &'a mut InitiatorBasis,
    agg: &'a mut Aggregator,
}

impl StreamFeed<'_> {
    /// Hands a reassembled chunk to the flow's stream dissector, probing first.
    #[inline]
    fn feed(&mut self, ctx: &PacketCtx<'_>, dir: Direction, chunk: Chunk<'_>) {
        // Nearly every chunk goes to a chosen dissector: that path alone inline.
        if let (StreamDissection::Active(s), false) = (&mut self.ext.stream, self.ext.reversed) {
            return match chunk {
                Chunk::Data(d) => s.data(ctx, dir, d, self.agg),
                Chunk::Gap(n) => s.gap(ctx, dir, n, self.agg),
            };
        }
        choose_and_feed(self, ctx, dir, chunk);
    }
}

/// [`StreamFeed::feed`] for a stream still probing or resynchronising, or
/// found backwards in the packet being handled.
#[inline(never)]
fn choose_and_feed(feed: &mut StreamFeed<'_>, ctx: &PacketCtx<'_>, dir: Direction, chunk: Chunk<'_>) {
    let StreamFeed { registry, ext, app_protocol, initiator, agg } = feed;
    let (registry, ext, app_protocol, initiator, agg) =
        (*registry, &mut **ext, &mut **app_protocol, &mut **initiator, &mut **agg);
    // A flow found backwards (see `orient`) is fed as it truly runs until the
    // packet that found it ends and the engine turns the flow round.
    let turned_meta: Option<FlowMeta>;
    let turned_ctx: PacketCtx<'_>;
    let (ctx, dir) = if ext.reversed {
        turned_meta = ctx.flow.map(turned);
        turned_ctx = turn_ctx(ctx, turned_meta.as_ref());
        (&turned_ctx, dir.reverse())
    } else {
        (ctx, dir)
    };
    // The chunk a stream no probe took is offered at, below; every other
    // case returns here.
    let d = match (&mut ext.stream, chunk) {
        (StreamDissection::Active(s), Chunk::Data(d)) => return s.data(ctx, dir, d, agg),
        (StreamDissection::Active(s), Chunk::Gap(n)) => return s.gap(ctx, dir, n, agg),
        (StreamDissection::Probing(bufs), Chunk::Gap(_)) => {
            // Bytes before a hole cannot be continued: probe afresh after it.
            if let Some(b) = bufs.get_mut(dir.index()) {
                b.clear();
            }
            return;
        }
        (StreamDissection::Probing(bufs), Chunk::Data(d)) => {
            // This direction's bytes held so far, and the other's.
            let [to_server, to_client] = bufs;
            let (buf, theirs) = match dir {
                Direction::ToServer => (to_server, to_client),
                Direction::ToClient => (to_client, to_server),
            };
            // Probe on this chunk alone, or on what earlier chunks left plus as
            // much of this one as fits the probe window.
            let mut copied = 0;
            if !buf.is_empty() {
                copied = PROBE_BYTES.saturating_sub(buf.len()).min(d.len());
                buf.extend_from_slice(d.get(..copied).unwrap_or_default());
            }
            let probe_on: &[u8] = if buf.is_empty() { d } else { buf };
            let port = ctx.flow.map_or(0, |f| f.key.server_port);
            let mut need_more = false;
            let mut chosen = None;
            let hinted = registry.streams.iter().filter(|x| x.port_hint(port));
            let others = registry.streams.iter().filter(|x| !x.port_hint(port));
            for x in hinted.chain(others) {
                match x.probe(dir, probe_on) {
                    Probe::Match => {
                        chosen = Some(x);
                        break;
                    }
                    Probe::NeedMore => need_more = true,
                    Probe::NoMatch => {}
                }
            }
            // A probe bound to a direction (HTTP takes a request line from the
            // client, a status line from the server) rejects a flow whose ends
            // a weak port guess swapped: offered the other way round, what
            // it takes turns the flow when the protocol agrees who sent it.
            let mut swapped = false;
            if chosen.is_none() && weak_guess(ctx.flow, initiator, ext.recorded_at) {
                let port = ctx.flow.map_or(0, |f| f.key.client_port);
                let hinted = registry.streams.iter().filter(|x| x.port_hint(port));
                let others = registry.streams.iter().filter(|x| !x.port_hint(port));
                let by_client = dir.reverse() == Direction::ToServer;
                for x in hinted.chain(others) {
                    match x.probe(dir.reverse(), probe_on) {
                        Probe::Match if x.sent_by_client(probe_on) == Some(by_client) => {
                            (chosen, swapped) = (Some(x), true);
                            break;
                        }
                        Probe::NeedMore => need_more = true,
                        _ => {}
                    }
                }
            }
            if let Some(x) = chosen {
                let held = [(dir, probe_on), (dir.reverse(), theirs.as_slice())];
                let turn = if swapped {
                    *initiator = InitiatorBasis::Protocol;
                    true
                } else {
                    orient(x.as_ref(), ctx.flow, initiator, ext.recorded_at, held)
                };
                let meta = if turn { ctx.flow.map(turned) } else { None };
                let turned_ctx = turn_ctx(ctx, meta.as_ref());
                let (ctx, dir) = if turn { (&turned_ctx, dir.reverse()) } else { (ctx, dir) };
                ext.reversed |= turn;
                let mut s = x.new_session();
                *app_protocol = Some(x.protocol());
                if !x.port_hint(ctx.flow.map_or(0, |f| f.key.server_port)) {
                    unexpected_protocol(registry, agg, ctx, x.protocol());
                }
                // What this direction held before this chunk, what the other
                // direction held (a connection confirm waiting, like this
                // side's request, for the first data to name the protocol),
                // then this chunk.
                let held = std::mem::take(buf);
                let earlier = held.get(..held.len().saturating_sub(copied)).unwrap_or_default();
                if !earlier.is_empty() {
                    s.data(ctx, dir, earlier, agg);
                }
                let other = dir.reverse();
                let theirs = std::mem::take(theirs);
                if !theirs.is_empty() {
                    // The peer sent them: they carry its addressing (the time
                    // and packet are this one's, when the protocol was named).
                    let peer = PacketCtx {
                        direction: Some(other),
                        src_mac: ctx.dst_mac,
                        dst_mac: ctx.src_mac,
                        src_ip: ctx.dst_ip,
                        dst_ip: ctx.src_ip,
                        ..*ctx
                    };
                    s.data(&peer, other, &theirs, agg);
                }
                s.data(ctx, dir, d, agg);
                ext.stream = StreamDissection::Active(s);
                return;
            } else if need_more && probe_on.len() < PROBE_BYTES {
                if buf.is_empty() {
                    buf.extend_from_slice(d);
                }
                return;
            }
            // This chunk may itself start a message of a connection picked
            // up mid-stream.
            ext.stream = StreamDissection::Resync(RESYNC_CHUNKS);
            d
        }
        (StreamDissection::Resync(_), Chunk::Data(d)) => d,
        (StreamDissection::Resync(_) | StreamDissection::None, _) => return,
    };
    if let StreamDissection::Resync(left) = &mut ext.stream {
        let port = ctx.flow.map_or(0, |f| f.key.server_port);
        if let Some((x, mut s)) = taken_up(registry, port, dir, d) {
            let turn = orient(x, ctx.flow, initiator, ext.recorded_at, [(dir, d), (dir.reverse(), &[])]);
            let meta = if turn { ctx.flow.map(turned) } else { None };
            let turned_ctx = turn_ctx(ctx, meta.as_ref());
            let (ctx, dir) = if turn { (&turned_ctx, dir.reverse()) } else { (ctx, dir) };
            *app_protocol = Some(x.protocol());
            unexpected_protocol(registry, agg, ctx, x.protocol());
            s.data(ctx, dir, d, agg);
            ext.stream = StreamDissection::Active(s);
            ext.reversed |= turn;
        } else if *left > 1 {
            *left -= 1;
        } else {
            ext.stream = StreamDissection::None;
            unexpected_protocol(registry, agg, ctx, UNIDENTIFIED);
        }
    }
}

/// The flow as it is once turned round (see [`Flow::reverse`]).
fn turned(meta: &FlowMeta) -> FlowMeta {
    FlowMeta { id: meta.id, key: meta.key.reversed() }
}

/// `ctx` as seen once its flow is turned round: `meta` is the turned flow.
fn turn_ctx<'m>(ctx: &PacketCtx<'_>, meta: Option<&'m FlowMeta>) -> PacketCtx<'m> {
    PacketCtx {
        ts: ctx.ts,
        packet: ctx.packet,
        source: ctx.source,
        flow: meta,
        direction: ctx.direction.map(Direction::reverse),
        src_mac: ctx.src_mac,
        dst_mac: ctx.dst_mac,
        vlan: ctx.vlan,
        src_ip: ctx.src_ip,
        dst_ip: ctx.dst_ip,
    }
}

/// For a flow picked up mid-stream, once dissector `x` took it: asks `x`
/// whether the bytes each direction held (this chunk's first) were sent by
/// the client, and on the first answer records that the protocol decided
/// the flow's ends. True when they are the other way round from the port
/// guess, so the flow is to be turned.
///
/// Only a guess between two unregistered (or two registered) ports is put to
/// the protocol: a server on its protocol's port is better evidence of who
/// connected than who asks (a DNP3 outstation that dials out to its master's
/// port 20000 is the client, though the master polls). A flow already
/// stored keeps its ends: the store keys a flow's ends by its first record.
fn orient(
    x: &dyn StreamDissector,
    flow: Option<&FlowMeta>,
    initiator: &mut InitiatorBasis,
    recorded_at: Option<Timestamp>,
    held: [(Direction, &[u8]); 2],
) -> bool {
    if !weak_guess(flow, initiator, recorded_at) {
        return false;
    }
    let verdict = held
        .iter()
        .filter(|(_, bytes)| !bytes.is_empty())
        .find_map(|&(dir, bytes)| Some(x.sent_by_client(bytes)? == (dir == Direction::ToServer)));
    match verdict {
        Some(as_guessed) => {
            *initiator = InitiatorBasis::Protocol;
            !as_guessed
        }
        None => false,
    }
}

/// True when a TCP flow's ends are a guess the protocol may overrule (see
/// [`orient`]): picked up mid-stream between two unregistered (or two
/// registered) ports, and not stored yet.
fn weak_guess(flow: Option<&FlowMeta>, initiator: &InitiatorBasis, recorded_at: Option<Timestamp>) -> bool {
    let Some(key) = flow.map(|f| f.key) else { return false };
    *initiator == InitiatorBasis::PortHeuristic && recorded_at.is_none() && !server_by_its_port(&key)
}

/// True when the port guess put the server on a well-known port and the
/// client on another: better evidence of who called than who asks.
fn server_by_its_port(key: &FlowKey) -> bool {
    well_known(key.server_port) && !well_known(key.client_port)
}

/// For a datagram flow, once dissector `x` took it at datagram `data`: as
/// [`orient`] for streams. The first datagram's sender, or the lower of two
/// unregistered ports, is only a guess where both ports are registered
/// (DNP3 from 20000 to 20000, BACnet from 47808 to 47808, NetBIOS from 137
/// to 137) or neither is; then `x` is asked whether `data` came from the
/// client. A datagram to a broadcast or multicast address is never asked:
/// the address it goes to sends nothing, so it cannot be a client (an I-Am
/// broadcast to a subnet's own broadcast address is told by its MAC).
/// True when the flow is to be turned.
fn orient_datagrams(
    x: &dyn DatagramDissector,
    flow: &mut Flow<FlowExt>,
    dir: Direction,
    dst_mac: Option<otposture_model::MacAddr>,
    data: &[u8],
) -> bool {
    let key = flow.key;
    let to_group = dst_mac.is_some_and(otposture_model::MacAddr::is_group)
        || !is_host_address(key.client_ip)
        || !is_host_address(key.server_ip);
    let settled = flow.initiator != InitiatorBasis::FirstPacket || flow.ext.recorded_at.is_some();
    if settled || server_by_its_port(&key) || to_group {
        return false;
    }
    match x.sent_by_client(data) {
        Some(by_client) => {
            flow.initiator = InitiatorBasis::Protocol;
            by_client != (dir == Direction::ToServer)
        }
        None => false,
    }
}

/// What [`unexpected_protocol`] says was found when no dissector took the stream.
const UNIDENTIFIED: &str = "unidentified";

/// Reports a TCP flow on an industrial protocol's own port (see
/// [`StreamDissector::owns_port`]) that carries something else: `found` is
/// the protocol that took the stream, or [`UNIDENTIFIED`]. Once per flow: a
/// stream is taken, or given up, once.
fn unexpected_protocol(registry: &Registry, agg: &mut Aggregator, ctx: &PacketCtx<'_>, found: &'static str) {
    let Some(port) = ctx.flow.map(|f| f.key.server_port) else { return };
    let owners = registry.streams.iter().filter(|x| x.owns_port(port)).map(|x| x.protocol()).collect();
    report_unexpected(agg, ctx, "tcp", owners, found);
}

/// The same for a UDP flow whose datagrams another dissector took (see
/// [`otposture_dissect::DatagramDissector::owns_port`]). Datagrams no dissector
/// knows are not reported: RTP and other traffic between ephemeral ports
/// lands on these ports by chance.
fn unexpected_datagrams(registry: &Registry, agg: &mut Aggregator, ctx: &PacketCtx<'_>, found: &'static str) {
    let Some(port) = ctx.flow.map(|f| f.key.server_port) else { return };
    let owners = registry.datagrams.iter().filter(|x| x.owns_port(port)).map(|x| x.protocol()).collect();
    report_unexpected(agg, ctx, "udp", owners, found);
}

/// The `port.unexpected_protocol` event, unless `found` is one of `owners`
/// (or none owns the port). It runs client to server whichever packet
/// decided it.
fn report_unexpected(
    agg: &mut Aggregator,
    ctx: &PacketCtx<'_>,
    transport: &'static str,
    owners: Vec<&'static str>,
    found: &'static str,
) {
    let Some(flow) = ctx.flow else { return };
    if owners.is_empty() || owners.contains(&found) {
        return;
    }
    let port = flow.key.server_port;
    let mut e = ctx.event(transport, EventKind::Anomaly, "port.unexpected_protocol");
    e.src_ip = Some(flow.key.client_ip);
    e.dst_ip = Some(flow.key.server_ip);
    if ctx.direction != Some(Direction::ToServer) {
        e.src_mac = None;
    }
    e.attributes.push((Cow::Borrowed("port"), port.to_compact_string()));
    e.attributes.push((Cow::Borrowed("expected"), owners.join(",").into()));
    e.attributes.push((Cow::Borrowed("found"), found.into()));
    agg.unexpected_protocols += 1;
    agg.event(e);
}

/// The dissector that takes up a stream in [`StreamDissection::Resync`] at
/// chunk `d`, and its session. A dissector whose port the server's is takes
/// it up where its probe would take a stream's first bytes (a poll picked up
/// in the middle of a long answer is taken up at the next request); the
/// others only through [`StreamDissector::resync`], whose checks hold on any
/// port.
fn taken_up<'r>(
    registry: &'r Registry,
    port: u16,
    dir: Direction,
    d: &[u8],
) -> Option<(&'r dyn StreamDissector, Box<dyn StreamSession>)> {
    let on_its_port = |x: &dyn StreamDissector| {
        x.resync(dir, d).or_else(|| (x.probe(dir, d) == Probe::Match).then(|| x.new_session()))
    };
    (registry.streams.iter().filter(|x| x.port_hint(port)))
        .find_map(|x| Some((x.as_ref(), on_its_port(x.as_ref())?)))
        .or_else(|| {
            // The port's own dissectors were offered `resync` above.
            let mut others = registry.streams.iter().filter(|x| !x.port_hint(port));
            others.find_map(|x| Some((x.as_ref(), x.resync(dir, d)?)))
        })
}

/// The side that is the server when a TCP flow is picked up mid-stream or a
/// datagram flow starts: the one on a well-known port, else the lower port.
fn src_is_client_by_port(sport: u16, dport: u16) -> bool {
    match (well_known(sport), well_known(dport)) {
        (false, true) => true,
        (true, false) => false,
        _ => sport >= dport,
    }
}

/// A port servers listen on: the system ports, the registered ports of the
/// industrial protocols (FF HSE 1089-1091, EtherNet/IP, IEC 104, OPC UA,
/// DNP3, BACnet, PROFINET, Niagara Fox 1911, OMRON FINS 9600, GE SRTP
/// 18245-18246, MELSOFT 5007, Beckhoff ADS 48898-48899, IEEE C37.118
/// 4712-4713), and those of the remote access, database and
/// messaging servers found in plants (RDP 3389, VNC 5900-5910, WinRM
/// 5985-5986, SQL Server 1433, MySQL 3306, PostgreSQL 5432, MQTT 1883 and
/// 8883, HTTP 8080 and 8443). Windows before Vista, still common on HMIs,
/// picks client ports from 1025-5000: below RDP's and VNC's.
fn well_known(port: u16) -> bool {
    port < 1024
        || matches!(
            port,
            1089..=1091
                | 1433
                | 1883
                | 1911
                | 2222
                | 2404
                | 3306
                | 3389
                | 4712
                | 4713
                | 4840
                | 5007
                | 5432
                | 5900..=5910
                | 5985
                | 5986
                | 8080
                | 8443
                | 8883
                | 9600
                | 18245
                | 18246
                | 20000
                | 34962..=34964
                | 44818
                | 47808
                | 48898
                | 48899
        )
}

/// A unicast address that can name a host (not 0.0.0.0, multicast or broadcast).
fn is_host_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()),
        std::net::IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

/// The sender of an Ethernet/IPv4 ARP packet (RFC 826), when it names a host.
fn arp_sender(p: &[u8]) -> Option<(otposture_model::MacAddr, std::net::IpAddr)> {
    // htype 1, ptype 0x0800, hlen 6, plen 4; sender MAC at 8, sender IP at 14.
    if p.get(..6)? != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let mac: [u8; 6] = p.get(8..14)?.try_into().ok()?;
    let ip: [u8; 4] = p.get(14..18)?.try_into().ok()?;
    let ip = std::net::IpAddr::from(ip);
    let mac = otposture_model::MacAddr(mac);
    (is_host_address(ip) && !mac.is_group()).then_some((mac, ip))
}

/// Moves a flow's two senders into the host table.
fn flush_senders(f: &Flow<FlowExt>, agg: &mut Aggregator) {
    for (s, ip) in f.ext.senders.iter().zip([f.key.client_ip, f.key.server_ip]) {
        if s.seen && is_host_address(ip) {
            agg.host_span(s.mac.get(), Some(ip), f.key.vlan, s.first, s.last, HostSource::Ip);
        }
    }
}

fn record(f: &Flow<FlowExt>, end: FlowEnd) -> FlowRecord {
    FlowRecord {
        id: f.id,
        key: f.key,
        initiator: f.initiator,
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        packets_to_server: f.packets[0],
        bytes_to_server: f.bytes[0],
        packets_to_client: f.packets[1],
        bytes_to_client: f.bytes[1],
        payload_to_server: f.payload[0],
        payload_to_client: f.payload[1],
        tcp_state: f.tcp.as_ref().map(|t| t.state),
        app_protocol: f.app_protocol.map(str::to_string),
        anomalies: f.anomalies,
        end,
        source: f.ext.source,
        // The end the group frames went to sent nothing back.
        to_group: (f.ext.to_group[0] && f.packets[1] == 0) || (f.ext.to_group[1] && f.packets[0] == 0),
    }
}
