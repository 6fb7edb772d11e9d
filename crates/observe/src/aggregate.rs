//! What the engine accumulates between checkpoints: hosts, operation counts and
//! notable events. Implements the dissectors' [`Emit`].

use foldhash::fast::RandomState;
use otposture_dissect::{Emit, PacketCtx};
use otposture_model::{
    Direction, Event, EventKind, FlowId, HostSighting, HostSource, MacAddr, MessageStat, Observation, OperationClass,
    Timestamp,
};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::net::IpAddr;

/// Events kept between two checkpoints before further ones are only counted.
const MAX_PENDING_EVENTS: usize = 100_000;

/// Identities remembered for de-duplication; past it the memory is cleared
/// (a repeat is then kept once more), so a host flood cannot grow it.
const MAX_REMEMBERED_IDENTITIES: usize = 1 << 16;

type HostKey = (Option<MacAddr>, Option<IpAddr>, Option<u16>);
type MessageKey = (Option<FlowId>, &'static str, Cow<'static, str>, Option<Direction>);

#[derive(Debug)]
struct HostAgg {
    first: Timestamp,
    last: Timestamp,
    source: HostSource,
    dirty: bool,
}

#[derive(Debug)]
struct MessageAgg {
    class: OperationClass,
    count: u64,
    first: Timestamp,
    last: Timestamp,
    dirty: bool,
}

/// Accumulated observations.
#[derive(Debug, Default)]
pub(crate) struct Aggregator {
    hosts: HashMap<HostKey, HostAgg, RandomState>,
    messages: HashMap<MessageKey, MessageAgg, RandomState>,
    events: Vec<Event>,
    /// Malformed messages reported during the current dissector call.
    pub(crate) malformed_now: u32,
    /// Events not kept because the pending buffer was full.
    pub(crate) events_dropped: u64,
    /// Messages per protocol and operation class, for the run summary.
    pub(crate) per_protocol: HashMap<(&'static str, OperationClass), u64, RandomState>,
    /// The last identity each source reported on each flow: (flow, digest of
    /// protocol, name and sender) -> digest of the attributes.
    identities: HashMap<(Option<FlowId>, u64), u64, RandomState>,
    /// Identity events not kept because the same flow already said the same.
    pub(crate) identities_repeated: u64,
}

impl Aggregator {
    /// Records a host seen sending.
    pub(crate) fn host(
        &mut self,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
        vlan: Option<u16>,
        ts: Timestamp,
        source: HostSource,
    ) {
        self.host_span(mac, ip, vlan, ts, ts, source);
    }

    /// Records a host seen sending between `first` and `last` (flushed from a flow).
    pub(crate) fn host_span(
        &mut self,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
        vlan: Option<u16>,
        first: Timestamp,
        last: Timestamp,
        source: HostSource,
    ) {
        let h = self.hosts.entry((mac, ip, vlan)).or_insert(HostAgg { first, last, source, dirty: true });
        if first < h.first {
            h.first = first;
            h.source = source;
            h.dirty = true;
        }
        if last > h.last {
            h.last = last;
            h.dirty = true;
        }
    }

    /// Hosts known so far.
    pub(crate) fn host_count(&self) -> usize {
        self.hosts.len()
    }

    pub(crate) fn push_event(&mut self, e: Event) {
        if self.events.len() < MAX_PENDING_EVENTS {
            self.events.push(e);
        } else {
            self.events_dropped += 1;
        }
    }

    /// Moves everything changed since the last call to `out`.
    pub(crate) fn checkpoint(&mut self, out: &mut Vec<Observation>) {
        for ((mac, ip, vlan), h) in self.hosts.iter_mut().filter(|(_, h)| h.dirty) {
            h.dirty = false;
            out.push(Observation::Host(HostSighting {
                mac: *mac,
                ip: *ip,
                vlan: *vlan,
                first_seen: h.first,
                last_seen: h.last,
                source: h.source,
            }));
        }
        for ((flow, protocol, operation, direction), m) in self.messages.iter_mut().filter(|(_, m)| m.dirty) {
            m.dirty = false;
            out.push(Observation::Message(MessageStat {
                flow: *flow,
                protocol: Cow::Borrowed(protocol),
                operation: operation.clone(),
                class: m.class,
                direction: *direction,
                count: m.count,
                first_seen: m.first,
                last_seen: m.last,
            }));
        }
        out.extend(self.events.drain(..).map(Observation::Event));
    }

    /// Forgets the operation counts of ended flows (after a checkpoint wrote them),
    /// so memory follows the live flows, not the capture.
    pub(crate) fn forget_flows(&mut self, ended: &[FlowId]) {
        if ended.is_empty() || (self.messages.is_empty() && self.identities.is_empty()) {
            return;
        }
        let ended: HashSet<FlowId, RandomState> = ended.iter().copied().collect();
        self.messages.retain(|(f, ..), m| m.dirty || f.is_none_or(|f| !ended.contains(&f)));
        self.identities.retain(|(f, _), _| f.is_none_or(|f| !ended.contains(&f)));
    }

    /// Events waiting for the next checkpoint.
    pub(crate) fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// True when the same sender's last identity event of this name on this
    /// flow said exactly the same; remembers this one otherwise. A PLC answering
    /// the same Identity poll every second is one identity, not thousands, while
    /// a change (a CPU going from run to stop and back) is kept each time.
    fn repeated_identity(&mut self, e: &Event) -> bool {
        let hasher = self.identities.hasher();
        let source = hasher.hash_one((e.protocol.as_ref(), e.name.as_ref(), e.src_ip, e.src_mac));
        let said = hasher.hash_one(&e.attributes);
        if self.identities.len() >= MAX_REMEMBERED_IDENTITIES {
            self.identities.clear();
        }
        self.identities.insert((e.flow, source), said) == Some(said)
    }
}

impl Aggregator {
    /// Counts one operation; notable classes are also kept as an event carrying
    /// `attributes`, unless there are none to keep (an answer folded into its
    /// request's record).
    fn count(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
        attributes: Option<Vec<(Cow<'static, str>, String)>>,
    ) {
        *self.per_protocol.entry((protocol, class)).or_insert(0) += 1;
        if let Some(attributes) = attributes.filter(|_| class.is_notable()) {
            let mut e = ctx.event(protocol, EventKind::Operation, operation.clone());
            e.class = Some(class);
            e.attributes = attributes;
            self.push_event(e);
        }
        let key = (ctx.flow_id(), protocol, operation, ctx.direction);
        let m = self.messages.entry(key).or_insert(MessageAgg {
            class,
            count: 0,
            first: ctx.ts,
            last: ctx.ts,
            dirty: true,
        });
        m.count += 1;
        m.first = m.first.min(ctx.ts);
        m.last = m.last.max(ctx.ts);
        m.dirty = true;
    }
}

impl Emit for Aggregator {
    fn message(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
    ) {
        self.count(ctx, protocol, operation, class, Some(Vec::new()));
    }

    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
        attributes: Vec<(Cow<'static, str>, String)>,
    ) {
        self.count(ctx, protocol, operation, class, Some(attributes));
    }

    fn answer(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
    ) {
        self.count(ctx, protocol, operation, class, None);
    }

    fn event(&mut self, event: Event) {
        if event.kind == EventKind::Identity && self.repeated_identity(&event) {
            self.identities_repeated += 1;
            return;
        }
        self.push_event(event);
    }

    fn malformed(&mut self, ctx: &PacketCtx<'_>, protocol: &'static str, what: &'static str) {
        self.malformed_now += 1;
        let mut e = ctx.event(protocol, EventKind::Anomaly, "malformed");
        e.attributes.push((Cow::Borrowed("what"), what.to_string()));
        self.push_event(e);
    }
}
