//! The flow table: one entry per (VLAN, transport, endpoint pair), bounded.
//!
//! Flows end on idle timeout (per transport, in packet time), shortly after TCP
//! close, or when the table's memory cap forces the least recently seen out.
//! Every ending is handed to the caller with its reason; nothing is dropped
//! silently, and every cap hit is counted.

use crate::tcp::StreamReassembler;
use foldhash::fast::RandomState;
use otposture_model::{
    Direction, FlowEnd, FlowId, FlowKey, InitiatorBasis, StreamAnomalies, TcpState, Timestamp, Transport,
};
use std::collections::HashMap;
use std::net::IpAddr;

/// The table key: the endpoint pair in a canonical order (lower endpoint first),
/// so both directions of a conversation find the same entry. Addresses are held
/// as 128-bit integers (IPv4 mapped into IPv6) and ports, VLAN and protocol
/// packed in one word, so comparing and hashing a key is a few integer operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowTuple {
    a_ip: u128,
    b_ip: u128,
    /// a_port << 48 | b_port << 32 | vlan << 16 | proto.
    meta: u64,
}

impl std::hash::Hash for FlowTuple {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.a_ip as u64 ^ (self.a_ip >> 64) as u64);
        state.write_u64(self.b_ip as u64 ^ (self.b_ip >> 64) as u64);
        state.write_u64(self.meta);
    }
}

fn ip128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => 0xffff_0000_0000 | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl FlowTuple {
    /// The key of a packet, and whether its source is the canonical first endpoint.
    #[inline]
    pub fn of_packet(vlan: Option<u16>, proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (Self, bool) {
        let (s, d) = (ip128(src), ip128(dst));
        let src_first = (s, sport) <= (d, dport);
        let (a_ip, a_port, b_ip, b_port) = if src_first { (s, sport, d, dport) } else { (d, dport, s, sport) };
        // VLAN ids are 12 bits: 0xffff cannot collide with a real one.
        let vlan = u64::from(vlan.unwrap_or(u16::MAX));
        let meta = u64::from(a_port) << 48 | u64::from(b_port) << 32 | vlan << 16 | u64::from(proto);
        (FlowTuple { a_ip, b_ip, meta }, src_first)
    }
}

/// TCP connection tracking for one flow.
#[derive(Debug)]
pub struct TcpTrack {
    /// Last observed state.
    pub state: TcpState,
    /// Reassembly per direction, indexed by [`Direction::index`].
    pub streams: [StreamReassembler; 2],
    /// FIN seen per direction.
    pub fin: [bool; 2],
    /// The client's initial sequence number, when the SYN was seen.
    pub client_isn: Option<u32>,
}

impl TcpTrack {
    /// Tracking for a new connection in `state`.
    pub fn new(state: TcpState) -> Self {
        TcpTrack { state, streams: Default::default(), fin: [false; 2], client_isn: None }
    }
}

/// One flow and its aggregates. `E` is the caller's per-flow state (dissector
/// sessions), carried along and handed back when the flow ends.
#[derive(Debug)]
pub struct Flow<E> {
    /// Stable id of the current record.
    pub id: FlowId,
    /// Endpoints, initiator first.
    pub key: FlowKey,
    /// Whether the client is the tuple's canonical first endpoint.
    pub client_first: bool,
    /// How the initiator was decided.
    pub initiator: InitiatorBasis,
    /// First packet of the current record.
    pub first_seen: Timestamp,
    /// Last packet.
    pub last_seen: Timestamp,
    /// Packets per direction.
    pub packets: [u64; 2],
    /// Frame bytes per direction.
    pub bytes: [u64; 2],
    /// Transport payload bytes per direction.
    pub payload: [u64; 2],
    /// TCP tracking, for TCP flows.
    pub tcp: Option<TcpTrack>,
    /// Stream anomalies.
    pub anomalies: StreamAnomalies,
    /// Application protocol chosen by a probe.
    pub app_protocol: Option<&'static str>,
    /// Changed since the last checkpoint.
    pub dirty: bool,
    /// Caller state.
    pub ext: E,
}

impl<E> Flow<E> {
    /// A new flow.
    pub fn new(key: FlowKey, client_first: bool, initiator: InitiatorBasis, ts: Timestamp, ext: E) -> Self {
        let tcp = (key.transport == Transport::Tcp).then(|| TcpTrack::new(TcpState::Midstream));
        Flow {
            id: FlowId::derive(&key, ts),
            key,
            client_first,
            initiator,
            first_seen: ts,
            last_seen: ts,
            packets: [0; 2],
            bytes: [0; 2],
            payload: [0; 2],
            tcp,
            anomalies: StreamAnomalies::default(),
            app_protocol: None,
            dirty: true,
            ext,
        }
    }

    /// The direction of a packet whose source is (or is not) the tuple's first endpoint.
    pub fn direction(&self, src_first: bool) -> Direction {
        if src_first == self.client_first {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// Turns the flow round: the endpoint taken for the client is the server.
    /// For a flow picked up mid-stream whose client was guessed from its
    /// ports, once its protocol's messages show which side asks. The id stays:
    /// counts and events already made under it belong to this flow.
    pub fn reverse(&mut self) {
        self.key = self.key.reversed();
        self.client_first = !self.client_first;
        self.packets.swap(0, 1);
        self.bytes.swap(0, 1);
        self.payload.swap(0, 1);
        if let Some(t) = self.tcp.as_mut() {
            t.streams.swap(0, 1);
            t.fin.swap(0, 1);
        }
        self.dirty = true;
    }

    /// Starts a new record for a long-lived flow (maximum age): counters restart
    /// under a new id, while stream and dissector state carry on.
    pub fn rotate(&mut self, ts: Timestamp) {
        self.id = FlowId::derive(&self.key, ts);
        self.first_seen = ts;
        self.packets = [0; 2];
        self.bytes = [0; 2];
        self.payload = [0; 2];
        self.anomalies = StreamAnomalies::default();
        self.dirty = true;
    }
}

/// Limits of the flow table (times in nanoseconds of packet time).
#[derive(Clone, Copy, Debug)]
pub struct FlowLimits {
    /// Idle timeout for TCP flows.
    pub tcp_idle_ns: i64,
    /// Idle timeout for UDP and other flows.
    pub udp_idle_ns: i64,
    /// How long a closed TCP flow lingers for its last ACKs.
    pub closed_linger_ns: i64,
    /// Maximum age of one flow record before it is rotated.
    pub max_age_ns: i64,
    /// Memory the table may use: entries plus buffered stream bytes.
    pub max_memory: usize,
    /// Out-of-order bytes buffered per direction of a TCP stream.
    pub stream_buffer: usize,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            tcp_idle_ns: 600 * 1_000_000_000,
            udp_idle_ns: 120 * 1_000_000_000,
            closed_linger_ns: 10 * 1_000_000_000,
            max_age_ns: 3_600 * 1_000_000_000,
            max_memory: 512 << 20,
            stream_buffer: 256 << 10,
        }
    }
}

/// Counters of the flow table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Flows created.
    pub created: u64,
    /// Flows ended by idle timeout.
    pub idle_timeouts: u64,
    /// Flows ended after TCP close.
    pub closed: u64,
    /// Records rotated at maximum age.
    pub max_age_rotations: u64,
    /// Flows evicted by the memory cap.
    pub cap_evictions: u64,
    /// Times the memory cap was hit.
    pub cap_hits: u64,
    /// Most flows held at once.
    pub peak_flows: u64,
}

/// The flow table.
#[derive(Debug)]
pub struct FlowTable<E> {
    map: HashMap<FlowTuple, Flow<E>, RandomState>,
    limits: FlowLimits,
    buffered: usize,
    last_sweep: Option<Timestamp>,
    /// Counters.
    pub stats: TableStats,
}

/// Packet time between sweeps for timed-out flows.
const SWEEP_EVERY_NS: i64 = 5_000_000_000;

impl<E> FlowTable<E> {
    /// An empty table.
    pub fn new(limits: FlowLimits) -> Self {
        FlowTable { map: HashMap::default(), limits, buffered: 0, last_sweep: None, stats: TableStats::default() }
    }

    /// The limits in force.
    pub fn limits(&self) -> &FlowLimits {
        &self.limits
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Approximate bytes used: entries (with hash table overhead) and buffered stream bytes.
    pub fn memory(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(FlowTuple, Flow<E>)>() + 1) + self.buffered
    }

    /// True when one more flow would take the table past its memory cap. The
    /// hash table allocates buckets in powers of two (7/8 usable) and, when it
    /// grows, holds the old and the new allocation at once: both count, so the
    /// process never holds more than the cap for flows, even mid-resize.
    fn would_exceed_cap(&self) -> bool {
        let entry = std::mem::size_of::<(FlowTuple, Flow<E>)>() + 1;
        let buckets = |cap: usize| if cap < 8 { cap + 1 } else { (cap * 8 / 7).next_power_of_two() };
        let held = buckets(self.map.capacity()) * entry + self.buffered;
        if self.map.len() < self.map.capacity() {
            return held > self.limits.max_memory;
        }
        held + buckets((self.map.capacity() * 2).max(4)) * entry > self.limits.max_memory
    }

    /// Tells the table that reassembly buffers grew or shrank.
    pub fn account_buffered(&mut self, before: usize, after: usize) {
        self.buffered = (self.buffered + after).saturating_sub(before);
    }

    /// The flow for a tuple, if held.
    pub fn get_mut(&mut self, tuple: &FlowTuple) -> Option<&mut Flow<E>> {
        self.map.get_mut(tuple)
    }

    /// Removes a flow (the caller ends it itself).
    pub fn remove(&mut self, tuple: &FlowTuple) -> Option<Flow<E>> {
        let f = self.map.remove(tuple)?;
        self.release(&f);
        Some(f)
    }

    fn release(&mut self, f: &Flow<E>) {
        if let Some(t) = &f.tcp {
            let b = t.streams[0].buffered() + t.streams[1].buffered();
            self.buffered = self.buffered.saturating_sub(b);
        }
    }

    /// Inserts a new flow. If the table is at its memory cap, the least recently
    /// seen flows are evicted first and handed to `ended`.
    pub fn insert(&mut self, tuple: FlowTuple, flow: Flow<E>, ended: &mut dyn FnMut(Flow<E>, FlowEnd)) -> &mut Flow<E> {
        if self.would_exceed_cap() {
            self.stats.cap_hits += 1;
            self.sweep(flow.last_seen, ended);
            if self.would_exceed_cap() {
                self.evict_oldest(ended);
            }
        }
        self.stats.created += 1;
        self.stats.peak_flows = self.stats.peak_flows.max(self.map.len() as u64 + 1);
        match self.map.entry(tuple) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                // The caller removes an old flow before inserting its successor; if it
                // did not, end the old one here rather than lose it.
                let old = std::mem::replace(o.get_mut(), flow);
                ended(old, FlowEnd::Evicted);
                o.into_mut()
            }
            std::collections::hash_map::Entry::Vacant(v) => v.insert(flow),
        }
    }

    /// The flow for `tuple` — the one held, unless `replace` says this packet
    /// starts a new connection on the same tuple — or a new one from `make`.
    /// One hash lookup on the common path. Flows that end here (replaced, or
    /// evicted by the memory cap) go to `ended`.
    #[inline]
    pub fn lookup_or_insert(
        &mut self,
        tuple: FlowTuple,
        now: Timestamp,
        make: impl FnOnce() -> Flow<E>,
        replace: impl FnOnce(&Flow<E>) -> bool,
        ended: &mut dyn FnMut(Flow<E>, FlowEnd),
    ) -> &mut Flow<E> {
        if self.would_exceed_cap() && !self.map.contains_key(&tuple) {
            self.stats.cap_hits += 1;
            self.sweep(now, ended);
            if self.would_exceed_cap() {
                self.evict_oldest(ended);
            }
        }
        let held = self.map.len() as u64;
        match self.map.entry(tuple) {
            std::collections::hash_map::Entry::Occupied(o) => {
                let f = o.into_mut();
                if replace(f) {
                    self.stats.created += 1;
                    self.stats.closed += 1;
                    let old = std::mem::replace(f, make());
                    if let Some(t) = &old.tcp {
                        let b = t.streams[0].buffered() + t.streams[1].buffered();
                        self.buffered = self.buffered.saturating_sub(b);
                    }
                    ended(old, FlowEnd::Closed);
                }
                f
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                self.stats.created += 1;
                self.stats.peak_flows = self.stats.peak_flows.max(held + 1);
                v.insert(make())
            }
        }
    }

    /// Evicts the least recently seen eighth of the table.
    fn evict_oldest(&mut self, ended: &mut dyn FnMut(Flow<E>, FlowEnd)) {
        let mut seen: Vec<i64> = self.map.values().map(|f| f.last_seen.0).collect();
        if seen.is_empty() {
            return;
        }
        let k = (seen.len() / 8).max(1).min(seen.len() - 1);
        let (_, cutoff, _) = seen.select_nth_unstable(k);
        let cutoff = *cutoff;
        let mut victims: Vec<(i64, FlowTuple)> =
            self.map.iter().filter(|(_, f)| f.last_seen.0 <= cutoff).map(|(t, f)| (f.last_seen.0, *t)).collect();
        // Hand them out oldest first, independent of hash order.
        victims.sort_unstable_by_key(|v| v.0);
        for (_, t) in victims {
            if let Some(f) = self.remove(&t) {
                self.stats.cap_evictions += 1;
                ended(f, FlowEnd::Evicted);
            }
        }
    }

    /// Ends flows that timed out by `now`, at most every few seconds of packet time
    /// unless forced by the memory cap.
    pub fn maybe_sweep(&mut self, now: Timestamp, ended: &mut dyn FnMut(Flow<E>, FlowEnd)) {
        match self.last_sweep {
            Some(t) if now.0.saturating_sub(t.0) < SWEEP_EVERY_NS => {}
            _ => self.sweep(now, ended),
        }
    }

    /// Ends every flow that timed out by `now`.
    pub fn sweep(&mut self, now: Timestamp, ended: &mut dyn FnMut(Flow<E>, FlowEnd)) {
        self.last_sweep = Some(now);
        let l = self.limits;
        let mut out: Vec<(FlowTuple, FlowEnd)> = Vec::new();
        for (t, f) in &self.map {
            let idle = now.0.saturating_sub(f.last_seen.0);
            let closed = f.tcp.as_ref().is_some_and(|t| matches!(t.state, TcpState::Closed | TcpState::Reset));
            let limit = if closed {
                l.closed_linger_ns
            } else if f.tcp.is_some() {
                l.tcp_idle_ns
            } else {
                l.udp_idle_ns
            };
            if idle > limit {
                out.push((*t, if closed { FlowEnd::Closed } else { FlowEnd::IdleTimeout }));
            }
        }
        for (t, why) in out {
            if let Some(f) = self.remove(&t) {
                match why {
                    FlowEnd::Closed => self.stats.closed += 1,
                    _ => self.stats.idle_timeouts += 1,
                }
                ended(f, why);
            }
        }
    }

    /// Ends every flow (end of input).
    pub fn drain(&mut self, ended: &mut dyn FnMut(Flow<E>, FlowEnd)) {
        for (_, f) in self.map.drain() {
            ended(f, FlowEnd::Open);
        }
        self.buffered = 0;
    }

    /// Visits every flow (checkpoints).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut Flow<E>)) {
        for v in self.map.values_mut() {
            f(v);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(port: u16) -> (FlowTuple, FlowKey) {
        let c: IpAddr = "10.0.0.1".parse().unwrap();
        let s: IpAddr = "10.0.0.2".parse().unwrap();
        let (t, _) = FlowTuple::of_packet(None, 17, c, port, s, 53);
        (
            t,
            FlowKey {
                vlan: None,
                transport: Transport::Udp,
                client_ip: c,
                client_port: port,
                server_ip: s,
                server_port: 53,
            },
        )
    }

    #[test]
    fn both_directions_share_one_tuple() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let (t1, f1) = FlowTuple::of_packet(Some(5), 6, a, 1000, b, 502);
        let (t2, f2) = FlowTuple::of_packet(Some(5), 6, b, 502, a, 1000);
        assert_eq!(t1, t2);
        assert_ne!(f1, f2);
        let (t3, _) = FlowTuple::of_packet(Some(6), 6, a, 1000, b, 502);
        assert_ne!(t1, t3);
    }

    #[test]
    fn a_flow_turned_round_swaps_its_ends_and_keeps_its_id() {
        let (_, k) = key(1000);
        let mut f = Flow::new(k, true, InitiatorBasis::PortHeuristic, Timestamp(5), ());
        let id = f.id;
        f.packets = [3, 7];
        f.bytes = [300, 700];
        f.payload = [30, 70];
        f.dirty = false;
        assert_eq!(f.direction(true), Direction::ToServer);
        f.reverse();
        assert_eq!((f.key.client_port, f.key.server_port), (53, 1000));
        assert_eq!((f.key.client_ip, f.key.server_ip), (k.server_ip, k.client_ip));
        assert_eq!((f.packets, f.bytes, f.payload), ([7, 3], [700, 300], [70, 30]));
        // The tuple's first endpoint now sends to the client.
        assert_eq!(f.direction(true), Direction::ToClient);
        assert_eq!(f.id, id);
        assert!(f.dirty);
        f.reverse();
        assert_eq!(f.key, k);
    }

    #[test]
    fn ends_idle_flows_on_sweep() {
        let mut table: FlowTable<()> = FlowTable::new(FlowLimits::default());
        let (t, k) = key(1000);
        table.insert(t, Flow::new(k, true, InitiatorBasis::FirstPacket, Timestamp(0), ()), &mut |_, _| {});
        let mut ended = Vec::new();
        table.sweep(Timestamp(121 * 1_000_000_000), &mut |f, why| ended.push((f.key.client_port, why)));
        assert_eq!(ended, vec![(1000, FlowEnd::IdleTimeout)]);
        assert!(table.is_empty());
        assert_eq!(table.stats.idle_timeouts, 1);
    }

    #[test]
    fn evicts_the_least_recently_seen_when_the_memory_cap_is_hit() {
        let entry = std::mem::size_of::<(FlowTuple, Flow<()>)>() + 1;
        let limits = FlowLimits { max_memory: entry * 16, ..FlowLimits::default() };
        let mut table: FlowTable<()> = FlowTable::new(limits);
        let mut evicted = Vec::new();
        for port in 0..100u16 {
            let (t, k) = key(port);
            table.insert(
                t,
                Flow::new(k, true, InitiatorBasis::FirstPacket, Timestamp(i64::from(port)), ()),
                &mut |f, why| evicted.push((f.key.client_port, why)),
            );
            assert!(table.len() <= 16);
        }
        assert!(table.stats.cap_hits > 0);
        assert_eq!(table.stats.cap_evictions as usize, evicted.len());
        assert_eq!(evicted.len() + table.len(), 100);
        // The oldest went first.
        assert_eq!(evicted.first().map(|e| e.0), Some(0));
        assert!(evicted.iter().all(|e| e.1 == FlowEnd::Evicted));
    }
}
