//! IP fragment reassembly, bounded in datagrams, bytes and time.
//!
//! Fragments are keyed by (source, destination, identification, protocol, VLAN)
//! as RFC 791 §3.2 and RFC 8200 §4.5 prescribe. A datagram completes when its
//! bytes cover 0..total without holes. Caps on concurrent datagrams and held
//! bytes, and a timeout in packet time, keep a hostile fragment flood bounded;
//! every drop is counted. `etherparse`'s defragmentation pool is not used
//! because it has no such bounds (its documentation says so).

use foldhash::fast::RandomState;
use otposture_model::Timestamp;
use std::collections::HashMap;
use std::net::IpAddr;

/// What identifies one fragmented datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Identification field.
    pub id: u32,
    /// Payload protocol.
    pub proto: u8,
    /// VLAN id.
    pub vlan: Option<u16>,
}

/// Limits of the reassembler.
#[derive(Clone, Copy, Debug)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Bytes held across all of them.
    pub max_bytes: usize,
    /// Fragments older than this are dropped (nanoseconds of packet time).
    pub timeout_ns: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits { max_datagrams: 4_096, max_bytes: 32 << 20, timeout_ns: 30_000_000_000 }
    }
}

/// Counters of the reassembler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped unfinished after the timeout.
    pub timed_out: u64,
    /// Fragments dropped because a cap was hit.
    pub cap_drops: u64,
    /// Fragments overlapping earlier ones.
    pub overlaps: u64,
    /// Fragments that would make a datagram larger than 65,535 bytes (or malformed).
    pub invalid: u64,
}

#[derive(Debug)]
struct Partial {
    first_seen: Timestamp,
    data: Vec<u8>,
    /// Covered byte ranges, sorted and merged.
    have: Vec<(u32, u32)>,
    total: Option<u32>,
}

/// The reassembler.
#[derive(Debug)]
pub struct Defragmenter {
    limits: DefragLimits,
    partial: HashMap<FragKey, Partial, RandomState>,
    held: usize,
    /// Counters.
    pub stats: DefragStats,
}

/// The largest IP payload a reassembled datagram may have.
const MAX_DATAGRAM: u32 = 65_535;

impl Defragmenter {
    /// A reassembler with these limits.
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter { limits, partial: HashMap::default(), held: 0, stats: DefragStats::default() }
    }

    /// Bytes held now.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Adds a fragment; returns the whole payload when this one completes it.
    pub fn add(&mut self, key: FragKey, ts: Timestamp, offset: u32, more: bool, payload: &[u8]) -> Option<Vec<u8>> {
        self.stats.fragments += 1;
        let end = offset.saturating_add(payload.len() as u32);
        if end > MAX_DATAGRAM || (more && payload.is_empty()) {
            self.stats.invalid += 1;
            return None;
        }
        if !self.partial.contains_key(&key) {
            self.expire(ts);
            if self.partial.len() >= self.limits.max_datagrams || self.held + payload.len() > self.limits.max_bytes {
                self.stats.cap_drops += 1;
                return None;
            }
        } else if self.held + payload.len() > self.limits.max_bytes {
            self.stats.cap_drops += 1;
            return None;
        }
        let p = self.partial.entry(key).or_insert_with(|| Partial {
            first_seen: ts,
            data: Vec::new(),
            have: Vec::new(),
            total: None,
        });
        if !more {
            if p.total.is_some_and(|t| t != end) || p.have.last().is_some_and(|&(_, e)| e > end) {
                self.stats.invalid += 1;
                return None;
            }
            p.total = Some(end);
        } else if p.total.is_some_and(|t| end > t) {
            self.stats.invalid += 1;
            return None;
        }
        if p.data.len() < end as usize {
            self.held += end as usize - p.data.len();
            p.data.resize(end as usize, 0);
        }
        // First copy wins for overlapping bytes (count the overlap).
        let mut cursor = offset;
        let mut overlapped = false;
        for &(s, e) in &p.have {
            if e <= cursor || s >= end {
                continue;
            }
            overlapped = true;
            if s > cursor {
                copy(&mut p.data, payload, offset, cursor, s);
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            copy(&mut p.data, payload, offset, cursor, end);
        }
        if overlapped {
            self.stats.overlaps += 1;
        }
        insert_range(&mut p.have, (offset, end));
        let complete = matches!((p.total, p.have.as_slice()), (Some(t), [(0, e)]) if *e == t);
        if complete {
            let done = self.partial.remove(&key)?;
            self.held = self.held.saturating_sub(done.data.len());
            self.stats.reassembled += 1;
            return Some(done.data);
        }
        None
    }

    /// Drops datagrams that waited longer than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        let timeout = self.limits.timeout_ns;
        let mut freed = 0;
        let mut dropped = 0;
        self.partial.retain(|_, p| {
            let keep = now.0.saturating_sub(p.first_seen.0) <= timeout;
            if !keep {
                freed += p.data.len();
                dropped += 1;
            }
            keep
        });
        self.held = self.held.saturating_sub(freed);
        self.stats.timed_out += dropped;
    }
}

fn copy(dst: &mut [u8], payload: &[u8], offset: u32, from: u32, to: u32) {
    let src = payload.get((from - offset) as usize..(to - offset) as usize);
    if let (Some(d), Some(s)) = (dst.get_mut(from as usize..to as usize), src) {
        d.copy_from_slice(s);
    }
}

fn insert_range(have: &mut Vec<(u32, u32)>, r: (u32, u32)) {
    have.push(r);
    have.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(have.len());
    for &(s, e) in have.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *have = merged;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn key() -> FragKey {
        FragKey { src: "10.0.0.1".parse().unwrap(), dst: "10.0.0.2".parse().unwrap(), id: 7, proto: 17, vlan: None }
    }

    #[test]
    fn reassembles_fragments_in_any_order() {
        let payload: Vec<u8> = (0..=255).cycle().take(3000).collect();
        let frags: Vec<(u32, bool, &[u8])> =
            payload.chunks(1000).enumerate().map(|(i, c)| ((i * 1000) as u32, i < 2, c)).collect();
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut d = Defragmenter::new(DefragLimits::default());
            let mut out = None;
            for i in order {
                let (off, more, data) = frags[i];
                out = d.add(key(), Timestamp(0), off, more, data);
            }
            assert_eq!(out.as_deref(), Some(payload.as_slice()));
            assert_eq!(d.held_bytes(), 0);
        }
    }

    #[test]
    fn drops_unfinished_datagrams_after_the_timeout() {
        let mut d = Defragmenter::new(DefragLimits { timeout_ns: 10, ..DefragLimits::default() });
        assert!(d.add(key(), Timestamp(0), 0, true, &[1; 8]).is_none());
        d.expire(Timestamp(11));
        assert_eq!(d.stats.timed_out, 1);
        assert_eq!(d.held_bytes(), 0);
        // The tail alone no longer completes anything.
        assert!(d.add(key(), Timestamp(12), 8, false, &[2; 8]).is_none());
    }

    #[test]
    fn counts_cap_drops_instead_of_growing() {
        let mut d = Defragmenter::new(DefragLimits { max_datagrams: 2, ..DefragLimits::default() });
        for id in 0..5 {
            d.add(FragKey { id, ..key() }, Timestamp(0), 0, true, &[0; 8]);
        }
        assert_eq!(d.stats.cap_drops, 3);
    }

    #[test]
    fn rejects_datagrams_larger_than_ip_allows() {
        let mut d = Defragmenter::new(DefragLimits::default());
        assert!(d.add(key(), Timestamp(0), 65_528, false, &[0; 16]).is_none());
        assert_eq!(d.stats.invalid, 1);
    }

    proptest! {
        #[test]
        fn never_panics_and_releases_memory(frags in proptest::collection::vec((0u32..70_000, any::<bool>(), 0usize..600), 0..40)) {
            let mut d = Defragmenter::new(DefragLimits { max_bytes: 100_000, ..DefragLimits::default() });
            for (off, more, len) in frags {
                let _ = d.add(key(), Timestamp(0), off & !7, more, &vec![1; len]);
                prop_assert!(d.held_bytes() <= 100_000 + 70_000);
            }
            d.expire(Timestamp(i64::MAX));
            prop_assert_eq!(d.held_bytes(), 0);
        }
    }
}
