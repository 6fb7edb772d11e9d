//! The DNP3 transport function (IEEE 1815-2012 §8): one header octet (FIN,
//! FIR, 6-bit sequence) at the start of every link frame's user data, and the
//! reassembly of segments into application fragments.
//!
//! Owns one direction's reassembly: a [`Reassembler`] keeps at most
//! [`MAX_FRAGMENT`] bytes. A segment that breaks the rules of §8.2 (no FIR
//! while idle, a sequence number that does not follow, a fragment that grows
//! past the cap) is not malformed — each segment is a good frame — but valid
//! and anomalous: it is dropped, counted in [`Anomaly`], and the next FIR
//! segment starts afresh.

/// Largest application fragment reassembled. 2048 is the default fragment
/// size of §8 and most devices; a larger one is dropped and counted.
pub const MAX_FRAGMENT: usize = 4096;

/// The transport header octet (§8.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportHeader(pub u8);

impl TransportHeader {
    /// FIN: the last segment of a fragment.
    pub fn fin(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// FIR: the first segment of a fragment.
    pub fn fir(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// The sequence number, 0..=63.
    pub fn seq(self) -> u8 {
        self.0 & 0x3f
    }
}

/// A valid segment that cannot be used as it stands.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// A segment without FIR while no fragment was under way (§8.2.1.2).
    NoFirstSegment,
    /// A segment whose sequence number is not the previous one plus 1 modulo
    /// 64 (carries expected and found).
    OutOfSequence(u8, u8),
    /// A FIR segment while a fragment was under way: the old one is dropped.
    IncompleteFragment,
    /// The fragment grew past [`MAX_FRAGMENT`].
    FragmentTooLong,
    /// A frame with no transport header at all.
    EmptySegment,
}

impl Anomaly {
    /// The short name counted in session anomalies.
    pub fn what(self) -> &'static str {
        match self {
            Anomaly::NoFirstSegment => "segment_without_fir",
            Anomaly::OutOfSequence(..) => "segment_out_of_sequence",
            Anomaly::IncompleteFragment => "incomplete_fragment",
            Anomaly::FragmentTooLong => "fragment_too_long",
            Anomaly::EmptySegment => "empty_segment",
        }
    }
}

/// What one segment did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// A whole fragment, borrowed from the segment (FIR and FIN together) or
    /// from the reassembly buffer.
    Fragment(&'a [u8]),
    /// Kept; more segments needed.
    Partial,
    /// Dropped (or, for [`Anomaly::IncompleteFragment`], the old fragment was).
    Anomalous(Anomaly),
}

/// Reassembles one direction's fragments.
#[derive(Clone, Debug, Default)]
pub struct Reassembler {
    buf: Vec<u8>,
    /// Sequence number of the last segment kept, while a fragment is under way.
    last: Option<u8>,
    /// The anomaly to report with the next result, for a FIR that cut a
    /// fragment short.
    pending: Option<Anomaly>,
}

impl Reassembler {
    /// An idle reassembler.
    pub fn new() -> Self {
        Reassembler::default()
    }

    /// Drops a fragment under way (a gap in the stream).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.last = None;
    }

    /// True when a fragment is under way.
    pub fn in_progress(&self) -> bool {
        self.last.is_some()
    }

    /// Takes the anomaly a FIR segment caused by cutting an earlier fragment
    /// short, if any; it accompanies the result of that segment.
    pub fn take_pending(&mut self) -> Option<Anomaly> {
        self.pending.take()
    }

    /// One segment: the user data of one link frame.
    pub fn segment<'a>(&'a mut self, user_data: &'a [u8]) -> Segment<'a> {
        let Some((&h, payload)) = user_data.split_first() else {
            return Segment::Anomalous(Anomaly::EmptySegment);
        };
        let h = TransportHeader(h);
        if h.fir() {
            if self.last.is_some() {
                self.pending = Some(Anomaly::IncompleteFragment);
            }
            self.buf.clear();
            self.last = None;
            if h.fin() {
                // The common case: one segment, one fragment, nothing copied.
                return Segment::Fragment(payload);
            }
            self.buf.extend_from_slice(payload.get(..MAX_FRAGMENT.min(payload.len())).unwrap_or_default());
            self.last = Some(h.seq());
            return Segment::Partial;
        }
        let Some(last) = self.last else { return Segment::Anomalous(Anomaly::NoFirstSegment) };
        let expected = (last + 1) & 0x3f;
        if h.seq() != expected {
            self.reset();
            return Segment::Anomalous(Anomaly::OutOfSequence(expected, h.seq()));
        }
        if self.buf.len() + payload.len() > MAX_FRAGMENT {
            self.reset();
            return Segment::Anomalous(Anomaly::FragmentTooLong);
        }
        self.buf.extend_from_slice(payload);
        self.last = Some(h.seq());
        if h.fin() {
            self.last = None;
            return Segment::Fragment(&self.buf);
        }
        Segment::Partial
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn passes_a_single_segment_fragment_through() {
        let mut r = Reassembler::new();
        // transport: FIN, FIR, seq 5; then application bytes
        assert_eq!(r.segment(&[0xc5, 0xc0, 0x01]), Segment::Fragment(&[0xc0, 0x01]));
        assert!(!r.in_progress());
    }

    #[test]
    fn reassembles_three_segments_in_order() {
        let mut r = Reassembler::new();
        assert_eq!(r.segment(&[0x7e, 1, 2]), Segment::Partial); // FIR, seq 62
        assert_eq!(r.segment(&[0x3f, 3]), Segment::Partial); // seq 63
        assert_eq!(r.segment(&[0x80, 4, 5]), Segment::Fragment(&[1, 2, 3, 4, 5]));
        // FIN, seq 0 (wraps)
    }

    #[test]
    fn drops_a_segment_out_of_sequence() {
        let mut r = Reassembler::new();
        assert_eq!(r.segment(&[0x41, 1]), Segment::Partial); // FIR, seq 1
        assert_eq!(r.segment(&[0x83, 2]), Segment::Anomalous(Anomaly::OutOfSequence(2, 3)));
        assert_eq!(r.segment(&[0x84, 3]), Segment::Anomalous(Anomaly::NoFirstSegment));
    }

    #[test]
    fn a_new_first_segment_cuts_the_old_fragment_short() {
        let mut r = Reassembler::new();
        assert_eq!(r.segment(&[0x41, 1]), Segment::Partial);
        assert_eq!(r.segment(&[0xc7, 9]), Segment::Fragment(&[9]));
        assert_eq!(r.take_pending(), Some(Anomaly::IncompleteFragment));
        assert_eq!(r.take_pending(), None);
    }

    #[test]
    fn caps_the_fragment_it_buffers() {
        let mut r = Reassembler::new();
        let mut seg = vec![0x40];
        seg.extend_from_slice(&[0; 249]);
        assert_eq!(r.segment(&seg), Segment::Partial);
        let mut anomaly = None;
        for i in 1..40u8 {
            seg[0] = i & 0x3f;
            if let Segment::Anomalous(a) = r.segment(&seg) {
                anomaly = Some(a);
                break;
            }
        }
        assert_eq!(anomaly, Some(Anomaly::FragmentTooLong));
        assert!(!r.in_progress());
    }
}
