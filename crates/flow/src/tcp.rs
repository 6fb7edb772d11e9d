//! TCP stream reassembly for one direction of a connection.
//!
//! In-order bytes are handed on as slices of the packet (no copy); only
//! segments that arrive ahead of a hole are buffered, within a per-direction cap.
//! Sequence numbers compare modulo 2^32 (RFC 793 §3.3). A hole becomes a gap —
//! reported, and delivery resumes after it — when the buffer cap is reached, when
//! the peer acknowledges bytes the capture never saw, or when the flow ends.

use otposture_model::StreamAnomalies;

/// A piece of reassembled stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order bytes.
    Data(&'a [u8]),
    /// This many bytes are missing; the next data follows them.
    Gap(u64),
}

/// A jump of the sequence number further than this is not a hole to wait for:
/// it is reported as a gap at once (lost capture or a desynchronised stream).
const MAX_HOLE: u32 = 64 << 20;

#[derive(Debug)]
struct Pending {
    seq: u32,
    data: Vec<u8>,
}

/// One direction's reassembly state.
#[derive(Debug, Default)]
pub struct StreamReassembler {
    next: Option<u32>,
    pending: Vec<Pending>,
    pending_bytes: usize,
    fin_seq: Option<u32>,
}

/// `a - b` in sequence space, as a signed distance.
fn diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl StreamReassembler {
    /// Bytes held in the out-of-order buffer.
    pub fn buffered(&self) -> usize {
        self.pending_bytes
    }

    /// The next expected sequence number, once known.
    pub fn next_seq(&self) -> Option<u32> {
        self.next
    }

    /// A SYN from this direction: data starts at `seq + 1`.
    pub fn syn(&mut self, seq: u32) {
        if self.next.is_none() || self.pending.is_empty() {
            self.next = Some(seq.wrapping_add(1));
        }
    }

    /// One segment from this direction. `cap` bounds the buffered bytes.
    pub fn segment<'p>(
        &mut self,
        seq: u32,
        payload: &'p [u8],
        fin: bool,
        cap: usize,
        an: &mut StreamAnomalies,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let next = *self.next.get_or_insert(seq);
        if fin {
            self.fin_seq = Some(seq.wrapping_add(payload.len() as u32));
        }
        if payload.is_empty() {
            return;
        }
        let rel = diff(seq, next);
        if rel > i64::from(MAX_HOLE) {
            // Far ahead: deliver what we hold, then skip to this segment.
            self.skip_to(seq, an, out);
            self.deliver(seq, payload, an, out);
            return;
        }
        if rel <= 0 {
            self.deliver(seq, payload, an, out);
            return;
        }
        an.out_of_order += 1;
        self.buffer(seq, payload, an);
        if self.pending_bytes > cap {
            an.buffer_cap_hits += 1;
            while self.pending_bytes > cap {
                let Some(first) = self.pending.first().map(|p| p.seq) else { break };
                self.skip_to(first, an, out);
            }
        }
    }

    /// The peer acknowledged everything before `ack`: bytes of this direction
    /// the capture never showed are a gap now, not later.
    pub fn peer_ack(&mut self, ack: u32, an: &mut StreamAnomalies, out: &mut dyn FnMut(Chunk<'_>)) {
        let Some(next) = self.next else { return };
        let ahead = diff(ack, next);
        if ahead <= 0 || ahead > i64::from(MAX_HOLE) {
            return;
        }
        // The FIN occupies one sequence number but carries no byte.
        if self.fin_seq.is_some_and(|f| diff(ack, f) <= 1 && diff(f, next) <= 0) {
            return;
        }
        let target = match self.pending.first() {
            Some(p) if diff(p.seq, ack) < 0 => p.seq,
            _ => ack,
        };
        self.skip_to(target, an, out);
    }

    /// End of the flow: whatever is buffered is delivered after a gap.
    pub fn flush(&mut self, an: &mut StreamAnomalies, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(first) = self.pending.first().map(|p| p.seq) {
            self.skip_to(first, an, out);
        }
    }

    /// Reports a gap up to `target` (if ahead) and delivers what then fits.
    fn skip_to(&mut self, target: u32, an: &mut StreamAnomalies, out: &mut dyn FnMut(Chunk<'_>)) {
        if let Some(next) = self.next {
            let missing = diff(target, next);
            if missing > 0 {
                an.gaps += 1;
                an.gap_bytes += missing as u64;
                out(Chunk::Gap(missing as u64));
                self.next = Some(target);
            }
        } else {
            self.next = Some(target);
        }
        self.drain(an, out);
    }

    /// Delivers a segment that starts at or before `next`, trimming what was seen.
    fn deliver(&mut self, seq: u32, payload: &[u8], an: &mut StreamAnomalies, out: &mut dyn FnMut(Chunk<'_>)) {
        let next = self.next.unwrap_or(seq);
        let behind = diff(next, seq).max(0) as u64;
        let len = payload.len() as u64;
        if behind >= len {
            an.retransmissions += 1;
            return;
        }
        if behind > 0 {
            an.overlaps += 1;
        }
        let fresh = payload.get(behind as usize..).unwrap_or_default();
        out(Chunk::Data(fresh));
        self.next = Some(next.wrapping_add(fresh.len() as u32));
        if !self.pending.is_empty() {
            self.drain(an, out);
        }
    }

    /// Delivers buffered segments that have become in order.
    fn drain(&mut self, an: &mut StreamAnomalies, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(first) = self.pending.first() {
            let next = self.next.unwrap_or(first.seq);
            if diff(first.seq, next) > 0 {
                break;
            }
            let p = self.pending.remove(0);
            self.pending_bytes -= p.data.len();
            let behind = diff(next, p.seq).max(0) as usize;
            if behind >= p.data.len() {
                an.retransmissions += 1;
                continue;
            }
            let fresh = p.data.get(behind..).unwrap_or_default();
            out(Chunk::Data(fresh));
            self.next = Some(next.wrapping_add(fresh.len() as u32));
        }
    }

    /// Keeps an out-of-order segment, sorted by sequence number. Bytes that
    /// repeat a buffered segment are compared: a difference is an evasion signal.
    fn buffer(&mut self, seq: u32, payload: &[u8], an: &mut StreamAnomalies) {
        let at = self.pending.partition_point(|p| diff(p.seq, seq) < 0);
        if let Some(same) = self.pending.get(at).filter(|p| p.seq == seq) {
            let n = same.data.len().min(payload.len());
            if same.data.get(..n) != payload.get(..n) {
                an.conflicting_overlaps += 1;
            }
            if payload.len() <= same.data.len() {
                an.retransmissions += 1;
                return;
            }
            an.overlaps += 1;
            self.pending_bytes -= same.data.len();
            self.pending.remove(at);
        }
        self.pending_bytes += payload.len();
        self.pending.insert(at, Pending { seq, data: payload.to_vec() });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    /// Collects reassembled output: bytes and gap markers.
    fn run(segments: &[(u32, &[u8])], isn: u32, cap: usize) -> (Vec<u8>, Vec<u64>, StreamAnomalies) {
        let mut r = StreamReassembler::default();
        r.syn(isn);
        let mut an = StreamAnomalies::default();
        let mut data = Vec::new();
        let mut gaps = Vec::new();
        let mut sink = |c: Chunk<'_>| match c {
            Chunk::Data(d) => data.extend_from_slice(d),
            Chunk::Gap(n) => gaps.push(n),
        };
        for (seq, p) in segments {
            r.segment(*seq, p, false, cap, &mut an, &mut sink);
        }
        r.flush(&mut an, &mut sink);
        (data, gaps, an)
    }

    const MSG: &[u8] = b"The quick brown fox jumps over the lazy dog, 0123456789";

    #[test]
    fn splitting_at_every_offset_yields_the_same_stream() {
        for isn in [0u32, 1000, u32::MAX - 20] {
            for cut in 0..=MSG.len() {
                let base = isn.wrapping_add(1);
                let segs = [(base, &MSG[..cut]), (base.wrapping_add(cut as u32), &MSG[cut..])];
                let (d, g, an) = run(&segs, isn, 1 << 16);
                assert_eq!(d, MSG, "cut at {cut}, isn {isn}");
                assert!(g.is_empty());
                assert_eq!(an.gaps, 0);
            }
        }
    }

    #[test]
    fn reorders_segments_in_any_order() {
        let base = 101u32;
        let parts: Vec<(u32, &[u8])> = MSG.chunks(7).enumerate().map(|(i, c)| (base + (i * 7) as u32, c)).collect();
        // Reverse order: everything but the first waits in the buffer.
        let mut rev = parts.clone();
        rev.reverse();
        let (d, g, an) = run(&rev, 100, 1 << 16);
        assert_eq!(d, MSG);
        assert!(g.is_empty());
        assert_eq!(an.out_of_order as usize, parts.len() - 1);
    }

    #[test]
    fn counts_retransmissions_and_trims_overlaps() {
        let segs: [(u32, &[u8]); 4] = [(1, b"abcdef"), (1, b"abcdef"), (4, b"defghi"), (10, b"jk")];
        let (d, g, an) = run(&segs, 0, 1 << 16);
        assert_eq!(d, b"abcdefghijk");
        assert!(g.is_empty());
        assert_eq!(an.retransmissions, 1);
        assert_eq!(an.overlaps, 1);
    }

    #[test]
    fn flags_buffered_overlaps_whose_bytes_differ() {
        let segs: [(u32, &[u8]); 3] = [(5, b"XYZ"), (5, b"xyz"), (1, b"abcd")];
        let (d, _, an) = run(&segs, 0, 1 << 16);
        assert_eq!(d, b"abcdXYZ");
        assert_eq!(an.conflicting_overlaps, 1);
    }

    #[test]
    fn reports_a_gap_and_resumes_after_it_when_the_buffer_cap_is_hit() {
        // Bytes 1..=4 never arrive; the cap of 8 forces the gap.
        let segs: [(u32, &[u8]); 3] = [(5, b"efgh"), (9, b"ijkl"), (13, b"mnop")];
        let (d, g, an) = run(&segs, 0, 8);
        assert_eq!(d, b"efghijklmnop");
        assert_eq!(g, vec![4]);
        assert_eq!((an.gaps, an.gap_bytes, an.buffer_cap_hits), (1, 4, 1));
    }

    #[test]
    fn reports_a_gap_when_the_peer_acknowledges_unseen_bytes() {
        let mut r = StreamReassembler::default();
        r.syn(0);
        let mut an = StreamAnomalies::default();
        let mut out = Vec::new();
        let mut sink = |c: Chunk<'_>| out.push(format!("{c:?}"));
        r.segment(1, b"abc", false, 1024, &mut an, &mut sink);
        r.peer_ack(11, &mut an, &mut sink); // 7 bytes never captured
        r.segment(11, b"xyz", false, 1024, &mut an, &mut sink);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1], "Gap(7)");
        assert_eq!(an.gap_bytes, 7);
    }

    #[test]
    fn picks_up_a_stream_mid_way() {
        let mut r = StreamReassembler::default();
        let mut an = StreamAnomalies::default();
        let mut data = Vec::new();
        r.segment(77_777, b"hello", false, 1024, &mut an, &mut |c| {
            if let Chunk::Data(d) = c {
                data.extend_from_slice(d)
            }
        });
        assert_eq!(data, b"hello");
        assert_eq!(r.next_seq(), Some(77_782));
    }

    proptest! {
        #[test]
        fn any_arrival_order_with_duplicates_yields_the_stream(
            order in proptest::collection::vec(0usize..8, 1..24),
            isn in any::<u32>(),
        ) {
            let chunks: Vec<&[u8]> = MSG.chunks(7).collect();
            let base = isn.wrapping_add(1);
            let mut segs: Vec<(u32, &[u8])> = order.iter().map(|&i| (base.wrapping_add((i * 7) as u32), chunks[i])).collect();
            // Every chunk arrives at least once, after the shuffled ones.
            segs.extend(chunks.iter().enumerate().map(|(i, c)| (base.wrapping_add((i * 7) as u32), *c)));
            let (d, g, _) = run(&segs, isn, 1 << 16);
            prop_assert_eq!(d, MSG);
            prop_assert!(g.is_empty());
        }

        #[test]
        fn never_panics_or_buffers_past_the_cap(
            segs in proptest::collection::vec((any::<u32>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..40),
        ) {
            let mut r = StreamReassembler::default();
            let mut an = StreamAnomalies::default();
            for (seq, p) in &segs {
                r.segment(*seq, p, false, 256, &mut an, &mut |_| {});
                prop_assert!(r.buffered() <= 256 + 64);
                r.peer_ack(seq.wrapping_add(3), &mut an, &mut |_| {});
            }
            r.flush(&mut an, &mut |_| {});
            prop_assert_eq!(r.buffered(), 0);
        }
    }
}
