//! What the engine accumulates between checkpoints: hosts, operation counts and
//! notable events. Implements the dissectors' [`Emit`].

use foldhash::fast::RandomState;
use otposture_dissect::{Emit, PacketCtx};
use otposture_model::runs::{RunKey, Runs};
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

/// Anomaly events kept per flow and kind (protocol, name, and what was wrong):
/// a flood of garbage on one flow is counted in full (the flow's `malformed`,
/// the run's anomalies) and kept as its first examples, not a row per packet.
const MAX_ANOMALY_EVENTS_PER_KIND: u32 = 100;

/// The most of the pending events anomalies may take: a flood of garbage
/// across many flows never crowds out the operations (a program download in
/// the same second) or identities.
const MAX_PENDING_ANOMALIES: usize = MAX_PENDING_EVENTS / 2;

/// Anomaly kinds counted per flow; past it the counts are cleared (each kind
/// may then keep its examples once more), so a flood of flows cannot grow it.
const MAX_REMEMBERED_ANOMALY_KINDS: usize = 1 << 16;

/// Identities remembered for de-duplication; past it the memory is cleared
/// (a repeat is then kept once more), so a host flood cannot grow it.
const MAX_REMEMBERED_IDENTITIES: usize = 1 << 16;

/// Operation names known by number past this many only by text (see [`Names`]).
const MAX_NAME_IDS: usize = 1 << 16;

type HostKey = (Option<MacAddr>, Option<IpAddr>, Option<u16>);
/// A count's key: flow, operation (by its number in [`Names`]), direction,
/// class, and for a message outside any flow the input it came from (0 on a
/// flow: the store keeps those counts per capture). One name can be of two
/// classes on one flow (a CIP attribute read of the Identity object is
/// discovery, of another object a read): each is counted on its own.
type MessageKey = (Option<FlowId>, NameId, Option<Direction>, OperationClass, u32);
/// The same for names past [`MAX_NAME_IDS`].
type TextKey = (Option<FlowId>, &'static str, Cow<'static, str>, Option<Direction>, OperationClass, u32);
/// A `&'static str` by address and length.
type Addr = (usize, usize);

fn addr(s: &str) -> Addr {
    (s.as_ptr() as usize, s.len())
}

/// An operation name's number: counts are keyed by it, so counting a message
/// hashes and compares a few integers, not two strings (that was a sixth of the
/// packet path on the benchmark capture).
type NameId = u32;

/// Numbers for (protocol, operation) names. A borrowed name is found by its
/// address (the common case: the dissectors' tables and interned names);
/// a name met for the first time, or made at run time, by its text, so two
/// copies of one text always share a number. At most [`MAX_NAME_IDS`] names
/// get one: a flood of distinct made-up names then costs speed (counted by
/// text), never memory here. Names are never forgotten, so a text either always
/// has a number or never does, and its counts live in one map.
#[derive(Debug, Default)]
struct Names {
    by_addr: HashMap<(Addr, Addr), NameId, RandomState>,
    by_text: HashMap<(&'static str, Cow<'static, str>), NameId, RandomState>,
    list: Vec<(&'static str, Cow<'static, str>)>,
}

impl Names {
    // The Cow tells a borrowed name (looked up by address) from a made one.
    #[allow(clippy::ptr_arg)]
    fn id(&mut self, protocol: &'static str, operation: &Cow<'static, str>) -> Option<NameId> {
        let by_addr = match operation {
            Cow::Borrowed(op) => {
                let key = (addr(protocol), addr(op));
                if let Some(&id) = self.by_addr.get(&key) {
                    return Some(id);
                }
                Some(key)
            }
            Cow::Owned(_) => None,
        };
        let id = match self.by_text.get(&(protocol, operation.clone())) {
            Some(&id) => id,
            None if self.list.len() >= MAX_NAME_IDS => return None,
            None => {
                let id = NameId::try_from(self.list.len()).ok()?;
                self.list.push((protocol, operation.clone()));
                self.by_text.insert((protocol, operation.clone()), id);
                id
            }
        };
        if let Some(key) = by_addr {
            self.by_addr.insert(key, id);
        }
        Some(id)
    }

    fn name(&self, id: NameId) -> Option<&(&'static str, Cow<'static, str>)> {
        self.list.get(id as usize)
    }
}

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

impl MessageAgg {
    fn new(class: OperationClass, ts: Timestamp) -> Self {
        MessageAgg { class, count: 0, first: ts, last: ts, dirty: true }
    }

    fn add(&mut self, ts: Timestamp, n: u64) {
        self.count += n;
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
        self.dirty = true;
    }
}

/// Entries of [`Hot`].
const HOT_ENTRIES: usize = 1024;

/// What a message is counted under, by address: flow, protocol and operation
/// names (a `&'static str` each), direction, and its class (which the run
/// summary's per-protocol totals are kept by).
type HotKey = (Option<FlowId>, Addr, Addr, Option<Direction>, OperationClass, u32);

/// The counts most recently used, found without hashing names or looking up
/// their numbers: a direct-mapped table from a message's [`HotKey`] to its
/// place in `slots` and in the per-protocol totals. A PLC's flows repeat a few
/// operations, so nearly every message hits. Cleared when counts are
/// forgotten, so an entry never outlives its count.
#[derive(Debug)]
struct Hot(Box<[Option<(HotKey, usize, usize)>]>);

impl Default for Hot {
    fn default() -> Self {
        Hot(vec![None; HOT_ENTRIES].into_boxed_slice())
    }
}

impl Hot {
    fn index(key: &HotKey) -> usize {
        let (flow, (p, _), (o, _), dir, class, source) = *key;
        let flow = flow.map_or(u64::from(source), |f| f.0 as u64);
        let dir = dir.map_or(0, |d| d.index() as u64 + 1) | (class as u64) << 2;
        let h =
            (flow ^ (p as u64).rotate_left(17) ^ (o as u64).rotate_left(31) ^ dir).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 54) as usize % HOT_ENTRIES
    }

    fn get(&self, key: &HotKey) -> Option<(usize, usize)> {
        match self.0.get(Self::index(key)) {
            Some(Some((k, slot, total))) if k == key => Some((*slot, *total)),
            _ => None,
        }
    }

    fn put(&mut self, key: HotKey, slot: usize, total: usize) {
        if let Some(e) = self.0.get_mut(Self::index(&key)) {
            *e = Some((key, slot, total));
        }
    }

    fn clear(&mut self) {
        self.0.fill(None);
    }
}

/// Accumulated observations.
#[derive(Debug, Default)]
pub(crate) struct Aggregator {
    hosts: HashMap<HostKey, HostAgg, RandomState>,
    names: Names,
    /// Counts of numbered names: their place in `slots`.
    messages: HashMap<MessageKey, usize, RandomState>,
    slots: Vec<MessageAgg>,
    /// Places in `slots` whose counts were forgotten, for reuse.
    free: Vec<usize>,
    hot: Hot,
    /// Counts of names without a number.
    messages_by_text: HashMap<TextKey, MessageAgg, RandomState>,
    events: Vec<Event>,
    /// Kept operations of flows, in runs (see [`otposture_model::runs`]).
    runs: Runs,
    /// Malformed messages reported during the current dissector call.
    pub(crate) malformed_now: u32,
    /// Events not kept because the pending buffer was full.
    pub(crate) events_dropped: u64,
    /// Messages per protocol and operation class, for the run summary: their
    /// place in `totals` by the protocol name's address (see [`Names`]); merged
    /// by text in [`Aggregator::per_protocol`].
    per_protocol: HashMap<(Addr, OperationClass), usize, RandomState>,
    totals: Vec<(&'static str, OperationClass, u64)>,
    /// The last identity each source reported on each flow: (flow, digest of
    /// protocol, name and sender) -> digest of the attributes.
    identities: HashMap<(Option<FlowId>, u64), u64, RandomState>,
    /// Identity events not kept because the same flow already said the same.
    pub(crate) identities_repeated: u64,
    /// Anomaly events so far per (flow, digest of protocol, name and what).
    anomaly_kinds: HashMap<(Option<FlowId>, u64), u32, RandomState>,
    /// Anomaly events among the pending ones.
    anomalies_pending: usize,
    /// Anomaly events not kept: past [`MAX_ANOMALY_EVENTS_PER_KIND`] on their
    /// flow, or [`MAX_PENDING_ANOMALIES`] (each still counted).
    pub(crate) anomaly_events_unkept: u64,
    /// Flows on an industrial protocol's own port carrying something else
    /// (`port.unexpected_protocol`), each counted even when its event is not kept.
    pub(crate) unexpected_protocols: u64,
    /// The flows [`Aggregator::forget_flows`] was given, kept for reuse.
    ended_set: HashSet<FlowId, RandomState>,
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
        if self.pending_events() < MAX_PENDING_EVENTS {
            self.events.push(e);
        } else {
            self.events_dropped += 1;
        }
    }

    /// Keeps a notable operation individually: in its run when it is of a
    /// flow and tied to a packet (as the store keeps it), otherwise as an event.
    // The name is cloned into the run's key: a borrowed `Cow` stays unallocated.
    #[allow(clippy::ptr_arg)]
    fn keep_operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: &Cow<'static, str>,
        class: OperationClass,
        attributes: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        let Some(flow) = ctx.flow_id().filter(|_| ctx.packet != 0) else {
            let mut e = ctx.event(protocol, EventKind::Operation, operation.clone());
            e.class = Some(class);
            e.attributes = attributes;
            self.push_event(e);
            return;
        };
        if self.pending_events() >= MAX_PENDING_EVENTS {
            self.events_dropped += 1;
            return;
        }
        let key = RunKey {
            source: ctx.source,
            flow,
            protocol: Cow::Borrowed(protocol),
            name: operation.clone(),
            class: Some(class),
            src_mac: ctx.src_mac,
            src_ip: ctx.src_ip,
            dst_ip: ctx.dst_ip,
        };
        self.runs.push(key, ctx.ts, ctx.packet, &attributes);
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
        let stat = |(flow, source): (Option<FlowId>, u32),
                    protocol: &'static str,
                    operation: &Cow<'static, str>,
                    direction,
                    m: &MessageAgg| {
            Observation::Message(MessageStat {
                flow,
                protocol: Cow::Borrowed(protocol),
                operation: operation.clone(),
                class: m.class,
                direction,
                count: m.count,
                first_seen: m.first,
                last_seen: m.last,
                source,
            })
        };
        for (&(flow, id, direction, _, source), &slot) in &self.messages {
            let Some(m) = self.slots.get_mut(slot).filter(|m| m.dirty) else { continue };
            m.dirty = false;
            if let Some((protocol, operation)) = self.names.name(id) {
                out.push(stat((flow, source), protocol, operation, direction, m));
            }
        }
        for ((flow, protocol, operation, direction, _, source), m) in
            self.messages_by_text.iter_mut().filter(|(_, m)| m.dirty)
        {
            m.dirty = false;
            out.push(stat((*flow, *source), protocol, operation, *direction, m));
        }
        out.extend(self.events.drain(..).map(Observation::Event));
        out.extend(self.runs.drain().map(Observation::Operations));
        self.anomalies_pending = 0;
    }

    /// Forgets the operation counts of ended flows (after a checkpoint wrote them),
    /// so memory follows the live flows, not the capture.
    pub(crate) fn forget_flows(&mut self, ended: &[FlowId]) {
        if ended.is_empty()
            || (self.messages.is_empty()
                && self.messages_by_text.is_empty()
                && self.identities.is_empty()
                && self.anomaly_kinds.is_empty())
        {
            return;
        }
        // Reused between checkpoints: a fresh set per checkpoint was a large
        // allocation each time, and glibc consolidated its free lists for it.
        let mut ended_set = std::mem::take(&mut self.ended_set);
        ended_set.clear();
        ended_set.extend(ended.iter().copied());
        let ended = &ended_set;
        let (slots, free) = (&self.slots, &mut self.free);
        self.messages.retain(|(f, ..), &mut slot| {
            let keep = slots.get(slot).is_some_and(|m| m.dirty) || f.is_none_or(|f| !ended.contains(&f));
            if !keep {
                free.push(slot);
            }
            keep
        });
        self.hot.clear();
        self.messages_by_text.retain(|(f, ..), m| m.dirty || f.is_none_or(|f| !ended.contains(&f)));
        self.identities.retain(|(f, _), _| f.is_none_or(|f| !ended.contains(&f)));
        self.anomaly_kinds.retain(|(f, _), _| f.is_none_or(|f| !ended.contains(&f)));
        self.ended_set = ended_set;
    }

    /// Messages per protocol name and operation class.
    pub(crate) fn per_protocol(&self) -> Vec<(String, String, u64)> {
        let mut merged: std::collections::BTreeMap<(&str, &str), u64> = std::collections::BTreeMap::new();
        for (protocol, class, n) in &self.totals {
            *merged.entry((protocol, class.name())).or_insert(0) += n;
        }
        merged.into_iter().map(|((p, c), n)| (p.to_string(), c.to_string(), n)).collect()
    }

    /// Events and kept operations waiting for the next checkpoint.
    pub(crate) fn pending_events(&self) -> usize {
        self.events.len() + self.runs.operations()
    }

    /// Whether to keep an anomaly event of this kind on `flow` (counting it):
    /// the first [`MAX_ANOMALY_EVENTS_PER_KIND`] are, while the pending events
    /// leave anomalies room.
    fn keep_anomaly(&mut self, flow: Option<FlowId>, protocol: &str, name: &str, what: &str) -> bool {
        if self.anomalies_pending >= MAX_PENDING_ANOMALIES {
            return false;
        }
        let kind = self.anomaly_kinds.hasher().hash_one((protocol, name, what));
        if self.anomaly_kinds.len() >= MAX_REMEMBERED_ANOMALY_KINDS {
            self.anomaly_kinds.clear();
        }
        let seen = self.anomaly_kinds.entry((flow, kind)).or_insert(0);
        *seen = seen.saturating_add(1);
        if *seen > MAX_ANOMALY_EVENTS_PER_KIND {
            return false;
        }
        self.anomalies_pending += 1;
        true
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
        attributes: Option<Vec<(Cow<'static, str>, otposture_model::AttrValue)>>,
        n: u64,
    ) {
        if let Some(attributes) = attributes.filter(|_| class.is_notable()) {
            self.keep_operation(ctx, protocol, &operation, class, attributes);
        }
        // Counts on a flow are the flow's; outside flows, the input's.
        let source = if ctx.flow.is_some() { 0 } else { ctx.source };
        let hot = match &operation {
            Cow::Borrowed(op) => Some((ctx.flow_id(), addr(protocol), addr(op), ctx.direction, class, source)),
            Cow::Owned(_) => None,
        };
        if let Some((slot, total)) = hot.and_then(|k| self.hot.get(&k)) {
            if let (Some(m), Some(t)) = (self.slots.get_mut(slot), self.totals.get_mut(total)) {
                m.add(ctx.ts, n);
                t.2 += n;
                return;
            }
        }
        let totals = &mut self.totals;
        let total = *self.per_protocol.entry((addr(protocol), class)).or_insert_with(|| {
            totals.push((protocol, class, 0));
            totals.len() - 1
        });
        if let Some(t) = self.totals.get_mut(total) {
            t.2 += n;
        }
        let Some(id) = self.names.id(protocol, &operation) else {
            let key = (ctx.flow_id(), protocol, operation, ctx.direction, class, source);
            self.messages_by_text.entry(key).or_insert_with(|| MessageAgg::new(class, ctx.ts)).add(ctx.ts, n);
            return;
        };
        let (slots, free) = (&mut self.slots, &mut self.free);
        let slot =
            *self.messages.entry((ctx.flow_id(), id, ctx.direction, class, source)).or_insert_with(|| {
                match free.pop() {
                    Some(slot) => {
                        if let Some(m) = slots.get_mut(slot) {
                            *m = MessageAgg::new(class, ctx.ts);
                        }
                        slot
                    }
                    None => {
                        slots.push(MessageAgg::new(class, ctx.ts));
                        slots.len() - 1
                    }
                }
            });
        if let Some(m) = self.slots.get_mut(slot) {
            m.add(ctx.ts, n);
        }
        if let Some(k) = hot {
            self.hot.put(k, slot, total);
        }
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
        self.count(ctx, protocol, operation, class, Some(Vec::new()), 1);
    }

    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
        attributes: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        self.count(ctx, protocol, operation, class, Some(attributes), 1);
    }

    fn answer(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
    ) {
        self.count(ctx, protocol, operation, class, None, 1);
    }

    fn repeated(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
        n: u32,
        answers: bool,
    ) {
        // A notable class counted as messages keeps a record each: not a run.
        if !answers && class.is_notable() {
            for _ in 0..n {
                self.message(ctx, protocol, operation.clone(), class);
            }
            return;
        }
        self.count(ctx, protocol, operation, class, None, u64::from(n));
    }

    fn event(&mut self, event: Event) {
        if event.kind == EventKind::Identity && self.repeated_identity(&event) {
            self.identities_repeated += 1;
            return;
        }
        if event.kind == EventKind::Anomaly && !self.keep_anomaly(event.flow, &event.protocol, &event.name, "") {
            self.anomaly_events_unkept += 1;
            return;
        }
        self.push_event(event);
    }

    fn malformed(&mut self, ctx: &PacketCtx<'_>, protocol: &'static str, what: &'static str) {
        self.malformed_now += 1;
        if !self.keep_anomaly(ctx.flow.map(|f| f.id), protocol, "malformed", what) {
            self.anomaly_events_unkept += 1;
            return;
        }
        let mut e = ctx.event(protocol, EventKind::Anomaly, "malformed");
        e.attributes.push((Cow::Borrowed("what"), otposture_model::AttrValue::const_new(what)));
        self.push_event(e);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn copies_of_one_name_share_a_number_and_past_the_cap_names_have_none() {
        let mut names = Names::default();
        let made: &'static str = Box::leak(String::from("write_var").into_boxed_str());
        let a = names.id("s7comm", &Cow::Borrowed("write_var")).unwrap();
        // Another address with the same text, and an owned copy: the same number.
        assert_ne!(made.as_ptr(), "write_var".as_ptr());
        assert_eq!(names.id("s7comm", &Cow::Borrowed(made)), Some(a));
        assert_eq!(names.id("s7comm", &Cow::Owned("write_var".into())), Some(a));
        // The same operation name under another protocol is another name.
        let b = names.id("modbus", &Cow::Borrowed("write_var")).unwrap();
        assert_ne!(a, b);
        assert_eq!(names.name(b), Some(&("modbus", Cow::Borrowed("write_var"))));
        for n in names.list.len()..MAX_NAME_IDS {
            names.id("test", &Cow::Owned(format!("op_{n}"))).unwrap();
        }
        assert_eq!(names.id("test", &Cow::Owned("one_too_many".into())), None);
        assert_eq!(names.id("s7comm", &Cow::Owned("write_var".into())), Some(a), "known names keep their number");
    }

    #[test]
    fn counts_of_numbered_and_unnumbered_names_reach_the_checkpoint() {
        let mut agg = Aggregator::default();
        let ctx = PacketCtx::at(Timestamp::from_parts(1, 0), 1);
        agg.message(&ctx, "test", Cow::Borrowed("read"), OperationClass::Read);
        agg.message(&ctx, "test", Cow::Owned("read".into()), OperationClass::Read);
        agg.names.list.resize(MAX_NAME_IDS, ("test", Cow::Borrowed("filler")));
        agg.message(&ctx, "test", Cow::Owned("late".into()), OperationClass::Read);
        agg.message(&ctx, "test", Cow::Owned("late".into()), OperationClass::Read);
        let mut out = Vec::new();
        agg.checkpoint(&mut out);
        let mut counts: Vec<(String, u64)> = out
            .iter()
            .filter_map(|o| match o {
                Observation::Message(m) => Some((m.operation.to_string(), m.count)),
                _ => None,
            })
            .collect();
        counts.sort();
        assert_eq!(counts, [("late".to_string(), 2), ("read".to_string(), 2)]);
        assert_eq!(agg.per_protocol(), [("test".to_string(), "read".to_string(), 4)]);
    }

    /// Message counts (operation, count, first, last), kept events' names,
    /// and the run summary's totals.
    type Kept = (Vec<(String, u64, i64, i64)>, Vec<String>, Vec<(String, String, u64)>);

    /// What the aggregator keeps after `calls`.
    fn kept(calls: impl FnOnce(&mut Aggregator)) -> Kept {
        let mut agg = Aggregator::default();
        calls(&mut agg);
        let per_protocol = agg.per_protocol();
        let mut out = Vec::new();
        agg.checkpoint(&mut out);
        let mut counts = Vec::new();
        let mut events = Vec::new();
        for o in out {
            match o {
                Observation::Message(m) => {
                    counts.push((m.operation.to_string(), m.count, m.first_seen.0, m.last_seen.0));
                }
                o => events.extend(o.events().unwrap().iter().map(|e| e.name.to_string())),
            }
        }
        counts.sort();
        events.sort();
        (counts, events, per_protocol)
    }

    #[test]
    fn a_run_counts_what_as_many_single_counts_would() {
        let early = PacketCtx::at(Timestamp::from_parts(1, 0), 1);
        let late = PacketCtx::at(Timestamp::from_parts(5, 0), 2);
        let (read, write) = (OperationClass::Read, OperationClass::Write);
        let one_by_one = kept(|agg| {
            for _ in 0..30 {
                agg.message(&late, "test", Cow::Borrowed("read_tag"), read);
            }
            agg.answer(&early, "test", Cow::Borrowed("read_tag"), read);
            for _ in 0..3 {
                agg.answer(&late, "test", Cow::Borrowed("write_tag"), write);
                agg.message(&late, "test", Cow::Borrowed("stop"), write);
            }
        });
        let in_runs = kept(|agg| {
            agg.repeated(&late, "test", Cow::Borrowed("read_tag"), read, 30, false);
            agg.repeated(&early, "test", Cow::Borrowed("read_tag"), read, 1, true);
            agg.repeated(&late, "test", Cow::Borrowed("write_tag"), write, 3, true);
            agg.repeated(&late, "test", Cow::Borrowed("stop"), write, 3, false);
        });
        assert_eq!(in_runs, one_by_one);
        assert_eq!(one_by_one.0.iter().find(|c| c.0 == "read_tag").map(|c| (c.1, c.2)), Some((31, 1_000_000_000)));
        assert_eq!(one_by_one.1, ["stop", "stop", "stop"], "notable messages keep a record each, answers none");
    }

    fn flow(port: u16) -> otposture_dissect::FlowMeta {
        let key = otposture_model::FlowKey {
            vlan: None,
            transport: otposture_model::Transport::Tcp,
            client_ip: "10.0.0.1".parse().unwrap(),
            client_port: port,
            server_ip: "10.0.0.2".parse().unwrap(),
            server_port: 102,
        };
        otposture_dissect::FlowMeta { id: FlowId::derive(&key, Timestamp(0)), key }
    }

    fn on(f: &otposture_dissect::FlowMeta) -> PacketCtx<'_> {
        PacketCtx { flow: Some(f), ..PacketCtx::at(Timestamp::from_parts(1, 0), 1) }
    }

    /// Anomaly events at the checkpoint, by flow and what was wrong.
    fn anomalies(agg: &mut Aggregator) -> std::collections::BTreeMap<(Option<FlowId>, String), usize> {
        let mut out = Vec::new();
        agg.checkpoint(&mut out);
        let mut by = std::collections::BTreeMap::new();
        for o in out {
            if let Observation::Event(e) = o {
                if e.kind == EventKind::Anomaly {
                    let what = e.attributes.iter().find(|(k, _)| k == "what").map(|(_, v)| v.to_string());
                    *by.entry((e.flow, what.unwrap_or(e.name.to_string()))).or_default() += 1;
                }
            }
        }
        by
    }

    #[test]
    fn a_flood_of_garbage_on_a_flow_keeps_examples_and_counts_every_one() {
        let mut agg = Aggregator::default();
        let (a, b) = (flow(1), flow(2));
        for _ in 0..1_000 {
            agg.malformed(&on(&a), "s7comm", "unknown_protocol_id");
        }
        agg.malformed(&on(&a), "s7comm", "tpkt_bad_length");
        agg.malformed(&on(&b), "s7comm", "unknown_protocol_id");
        assert_eq!(agg.malformed_now, 1_002, "every one is counted");
        assert_eq!(agg.anomaly_events_unkept, 900);
        let kept = anomalies(&mut agg);
        assert_eq!(kept.get(&(Some(a.id), "unknown_protocol_id".into())), Some(&100));
        assert_eq!(kept.get(&(Some(a.id), "tpkt_bad_length".into())), Some(&1), "another kind has its own examples");
        assert_eq!(kept.get(&(Some(b.id), "unknown_protocol_id".into())), Some(&1), "another flow too");
        // Still over the cap after the checkpoint; an ended flow's counts are forgotten.
        agg.malformed(&on(&a), "s7comm", "unknown_protocol_id");
        assert_eq!(agg.anomaly_events_unkept, 901);
        agg.forget_flows(&[a.id]);
        agg.malformed(&on(&a), "s7comm", "unknown_protocol_id");
        assert_eq!(agg.anomaly_events_unkept, 901);
        assert_eq!(anomalies(&mut agg).len(), 1);
    }

    #[test]
    fn anomalies_on_many_flows_never_crowd_out_operations() {
        let mut agg = Aggregator::default();
        let flows: Vec<_> = (0..60_000u16).map(flow).collect();
        for f in &flows {
            agg.malformed(&on(f), "s7comm", "unknown_protocol_id");
        }
        assert_eq!(agg.anomaly_events_unkept, 60_000 - MAX_PENDING_ANOMALIES as u64);
        let first = flows.first().unwrap();
        agg.message(&on(first), "s7comm", Cow::Borrowed("plc_stop"), OperationClass::Control);
        let mut out = Vec::new();
        agg.checkpoint(&mut out);
        let events: Vec<Event> = out.iter().flat_map(|o| o.events().unwrap()).collect();
        assert_eq!(events.len(), MAX_PENDING_ANOMALIES + 1);
        assert!(events.iter().any(|e| e.name == "plc_stop"), "the stop is kept");
    }
}
