//! Length-prefixed framing: cutting one direction of a TCP stream into whole
//! frames, for every protocol whose frames start with a fixed-size header that
//! gives the frame's length (MBAP, TPKT, the EtherNet/IP encapsulation).
//!
//! Owns the state machine those protocols share: a partial frame is buffered
//! across chunks (never more than [`FrameFormat::MAX_FRAME`] bytes), complete
//! frames are handed out borrowed from the caller's chunk, a bad header is
//! reported once and then the framer resynchronises by hunting byte by byte
//! for a plausible header, and the rest of a frame cut by a gap is skipped
//! exactly when its length is known. A protocol brings only its
//! [`FrameFormat`]: what a header says and what a plausible one looks like.
//!
//! Not here: frames that carry their own checks inside (DNP3's CRC blocks have
//! their own framer in [`crate::dnp3::link`]), and anything after the header.

use std::marker::PhantomData;

/// What the first bytes of some data say about a frame starting there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plausible {
    /// A header, and whatever follows it that the format checks, that a real
    /// frame would have.
    Yes,
    /// Not a frame start.
    No,
    /// Consistent so far; more bytes needed to tell.
    NeedMore,
}

/// A length-prefixed frame format: the part of a framer that differs between
/// protocols.
///
/// The framer relies on three promises: [`header`](Self::header) decides
/// (`Ok(Some)` or `Err`) once it has [`HEADER_LEN`](Self::HEADER_LEN) bytes,
/// [`plausible`](Self::plausible) decides once it has
/// [`PLAUSIBLE_LEN`](Self::PLAUSIBLE_LEN) bytes, and
/// [`frame_len`](Self::frame_len) of an accepted header is at least
/// `HEADER_LEN` and at most [`MAX_FRAME`](Self::MAX_FRAME). Broken, the first
/// two would make `push` loop forever, and the last would cut frames wrongly
/// or buffer more.
pub trait FrameFormat {
    /// Length of the header.
    const HEADER_LEN: usize;
    /// Bytes [`plausible`](Self::plausible) needs to decide.
    const PLAUSIBLE_LEN: usize;
    /// Largest frame an accepted header can announce, and so the most the
    /// framer ever buffers.
    const MAX_FRAME: usize;
    /// A parsed header.
    type Header: Copy;
    /// Why bytes where a header is expected cannot be one.
    type Error: Copy;
    /// The header at the start of `data`: `Ok(None)` when more bytes are needed
    /// to tell, an error when the bytes cannot start a frame.
    fn header(data: &[u8]) -> Result<Option<Self::Header>, Self::Error>;
    /// The whole frame's length, header included.
    fn frame_len(header: &Self::Header) -> usize;
    /// Whether `data` plausibly starts a frame; stricter than
    /// [`header`](Self::header), since it is asked at every byte while
    /// resynchronising.
    fn plausible(data: &[u8]) -> Plausible;
}

/// What the framer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed<'a, H, E> {
    /// A whole frame: its header, and the bytes after the header.
    Frame(H, &'a [u8]),
    /// A bad header where one was expected; the framer now resynchronises.
    Malformed(E),
}

/// What a framer of format `F` finds.
type FramedOf<'a, F> = Framed<'a, <F as FrameFormat>::Header, <F as FrameFormat>::Error>;

/// Counters kept by a framer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Bytes dropped while hunting for a header.
    pub skipped_bytes: u64,
    /// Times the framer lost alignment (bad header or gap).
    pub resyncs: u64,
}

/// Where the framer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The next byte starts a header.
    Synced,
    /// The next bytes belong to a frame lost in a gap: skip them, then synced.
    Skip(usize),
    /// Alignment unknown: look for a plausible header.
    Hunting,
}

/// Cuts one direction of a stream into frames of format `F`, whatever the
/// chunking.
#[derive(Clone, Debug)]
pub struct Framer<F> {
    /// A partial frame (or, while hunting, a candidate start) carried between
    /// chunks; never longer than `F::MAX_FRAME`.
    buf: Vec<u8>,
    state: State,
    /// Counters.
    pub stats: FramerStats,
    format: PhantomData<F>,
}

impl<F: FrameFormat> Default for Framer<F> {
    fn default() -> Self {
        Framer::new()
    }
}

impl<F: FrameFormat> Framer<F> {
    /// A framer expecting a header first.
    pub fn new() -> Self {
        Framer { buf: Vec::new(), state: State::Synced, stats: FramerStats::default(), format: PhantomData }
    }

    /// Bytes held between chunks.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forgets any partial frame and expects a header next (a datagram
    /// boundary).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.state = State::Synced;
    }

    /// `len` bytes of the stream are missing. When the gap falls inside a
    /// buffered frame of known length, the framer skips the rest of that frame
    /// exactly; otherwise it hunts for the next plausible header.
    pub fn gap(&mut self, len: u64) {
        let known = F::header(&self.buf).ok().flatten().map(|h| F::frame_len(&h));
        let missing = known.and_then(|n| n.checked_sub(self.buf.len()));
        self.buf.clear();
        self.stats.resyncs += 1;
        self.state = match (self.state, missing) {
            (State::Synced, Some(missing)) => match usize::try_from(len).ok().and_then(|l| missing.checked_sub(l)) {
                Some(0) => State::Synced,
                Some(rest) => State::Skip(rest),
                None => State::Hunting,
            },
            _ => State::Hunting,
        };
    }

    /// Feeds in-order bytes; calls `out` for every frame completed and every
    /// bad header met, in stream order.
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(FramedOf<'_, F>)) {
        let mut data = data;
        // First finish what earlier chunks left.
        while !self.buf.is_empty() && !data.is_empty() {
            data = self.top_up(data, out);
        }
        if self.buf.is_empty() {
            self.run(data, out);
        }
    }

    /// Completes the buffered partial frame (or hunting candidate) from
    /// `data`; returns what is left of `data`.
    fn top_up<'d>(&mut self, data: &'d [u8], out: &mut dyn FnMut(FramedOf<'_, F>)) -> &'d [u8] {
        let want = match (self.state, F::header(&self.buf)) {
            (State::Synced, Ok(Some(h))) => F::frame_len(&h),
            // A bad header is never buffered (`run` reports it first), but if
            // it were, running it reports it.
            (State::Synced, Ok(None) | Err(_)) => F::HEADER_LEN,
            (State::Hunting, _) => F::PLAUSIBLE_LEN,
            // A skip never stays in the buffer.
            (State::Skip(_), _) => {
                self.buf.clear();
                return data;
            }
        };
        let n = want.saturating_sub(self.buf.len()).min(data.len());
        let (head, rest) = data.split_at_checked(n).unwrap_or((data, &[]));
        self.buf.extend_from_slice(head);
        if self.buf.len() < want {
            return rest;
        }
        // The buffer now holds a whole frame, a whole header, or a candidate
        // start: run it through the same path as unbuffered bytes. `run` may
        // keep a tail of it (a header still waiting for its frame, or a
        // hunting candidate); the caller then tops that up from `rest`.
        let held = std::mem::take(&mut self.buf);
        self.run(&held, out);
        rest
    }

    /// Frames `data` from the current state; a trailing partial frame is
    /// buffered.
    fn run(&mut self, data: &[u8], out: &mut dyn FnMut(FramedOf<'_, F>)) {
        let mut rest = data;
        loop {
            match self.state {
                State::Skip(n) => {
                    let k = n.min(rest.len());
                    rest = rest.get(k..).unwrap_or_default();
                    self.state = if k == n { State::Synced } else { State::Skip(n - k) };
                    if rest.is_empty() {
                        return;
                    }
                }
                State::Hunting => {
                    // Drop bytes until one could start a frame.
                    let mut i = 0;
                    let found = loop {
                        let Some(tail) = rest.get(i..).filter(|t| !t.is_empty()) else { break None };
                        match F::plausible(tail) {
                            Plausible::Yes => break Some(true),
                            Plausible::NeedMore => break Some(false),
                            Plausible::No => i += 1,
                        }
                    };
                    self.stats.skipped_bytes += i as u64;
                    rest = rest.get(i..).unwrap_or_default();
                    match found {
                        Some(true) => self.state = State::Synced,
                        Some(false) => {
                            self.buf.extend_from_slice(rest);
                            return;
                        }
                        None => return,
                    }
                }
                State::Synced => match F::header(rest) {
                    Ok(None) => {
                        self.buf.extend_from_slice(rest);
                        return;
                    }
                    Err(e) => {
                        out(Framed::Malformed(e));
                        self.stats.resyncs += 1;
                        self.state = State::Hunting;
                        // The bad header's first byte cannot start a frame.
                        rest = rest.get(1..).unwrap_or_default();
                    }
                    Ok(Some(h)) => {
                        let Some((frame, tail)) = rest.split_at_checked(F::frame_len(&h)) else {
                            self.buf.extend_from_slice(rest);
                            return;
                        };
                        out(Framed::Frame(h, frame.get(F::HEADER_LEN..).unwrap_or_default()));
                        rest = tail;
                        if rest.is_empty() {
                            return;
                        }
                    }
                },
            }
        }
    }
}

/// What the format tests share: everything a framer yields, owned, and the
/// checks every format must pass.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One thing a framer yielded, owned: a frame's header and body, or an error.
    pub(crate) type Owned<F> = Result<(<F as FrameFormat>::Header, Vec<u8>), <F as FrameFormat>::Error>;

    /// Everything `framer` yields for `chunks`, in order.
    pub(crate) fn frame_all<F: FrameFormat>(framer: &mut Framer<F>, chunks: &[&[u8]]) -> Vec<Owned<F>> {
        let mut got = Vec::new();
        for c in chunks {
            framer.push(c, &mut |f| match f {
                Framed::Frame(h, body) => got.push(Ok((h, body.to_vec()))),
                Framed::Malformed(e) => got.push(Err(e)),
            });
        }
        got
    }

    /// Splitting `stream` at every pair of offsets yields what it yields whole,
    /// and `frames` frames.
    pub(crate) fn splits_at_every_pair_of_offsets<F: FrameFormat>(stream: &[u8], frames: usize)
    where
        F::Header: PartialEq + std::fmt::Debug,
        F::Error: PartialEq + std::fmt::Debug,
    {
        let whole = frame_all(&mut Framer::<F>::new(), &[stream]);
        assert_eq!(whole.len(), frames);
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let got = frame_all(&mut Framer::<F>::new(), &[&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(got, whole, "split at {i} and {j}");
            }
        }
    }

    /// Arbitrary chunks and gaps never make `F`'s framer buffer more than a
    /// frame, and a frame's body is always the announced length.
    pub(crate) fn stays_bounded<F: FrameFormat>(input: &[(Vec<u8>, Option<u16>)]) -> Result<(), TestCaseError> {
        let mut framer = Framer::<F>::new();
        for (bytes, gap) in input {
            let mut bodies_fit = true;
            framer.push(bytes, &mut |f| {
                if let Framed::Frame(h, body) = f {
                    bodies_fit &= body.len() + F::HEADER_LEN == F::frame_len(&h);
                }
            });
            prop_assert!(bodies_fit);
            prop_assert!(framer.buffered() <= F::MAX_FRAME);
            if let Some(g) = gap {
                framer.gap(u64::from(*g));
            }
        }
        Ok(())
    }

    /// A toy format: a 2-byte header, `0xAA` then the body length; plausible
    /// when a body byte follows and is not `0xAA`.
    #[derive(Debug)]
    struct Toy;

    impl FrameFormat for Toy {
        const HEADER_LEN: usize = 2;
        const PLAUSIBLE_LEN: usize = 3;
        const MAX_FRAME: usize = 2 + 255;
        type Header = u8;
        type Error = u8;
        fn header(data: &[u8]) -> Result<Option<u8>, u8> {
            match data {
                [0xaa, n, ..] => Ok(Some(*n)),
                [0xaa] | [] => Ok(None),
                [b, ..] => Err(*b),
            }
        }
        fn frame_len(header: &u8) -> usize {
            2 + usize::from(*header)
        }
        fn plausible(data: &[u8]) -> Plausible {
            match data {
                [0xaa, _, b, ..] if *b != 0xaa => Plausible::Yes,
                [0xaa] | [0xaa, _] | [] => Plausible::NeedMore,
                _ => Plausible::No,
            }
        }
    }

    #[test]
    fn hands_out_frames_and_buffers_only_the_partial_one() {
        let mut f = Framer::<Toy>::new();
        let got = frame_all(&mut f, &[&[0xaa, 1, 7, 0xaa, 2, 8]]);
        assert_eq!(got, vec![Ok((1, vec![7]))]);
        assert_eq!(f.buffered(), 3);
        assert_eq!(frame_all(&mut f, &[&[9]]), vec![Ok((2, vec![8, 9]))]);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn reports_a_bad_header_once_then_hunts() {
        let mut f = Framer::<Toy>::new();
        let got = frame_all(&mut f, &[&[0x01, 0x02, 0x03, 0xaa, 1, 7]]);
        assert_eq!(got, vec![Err(1), Ok((1, vec![7]))]);
        assert_eq!(f.stats, FramerStats { skipped_bytes: 2, resyncs: 1 });
    }

    #[test]
    fn skips_the_known_rest_of_a_frame_cut_by_a_gap_and_hunts_otherwise() {
        let mut f = Framer::<Toy>::new();
        assert!(frame_all(&mut f, &[&[0xaa, 4, 1]]).is_empty());
        f.gap(1); // body byte 2 lost; 3 and 4 still belong to the frame
        assert_eq!(frame_all(&mut f, &[&[3, 4, 0xaa, 1, 7]]), vec![Ok((1, vec![7]))]);
        assert_eq!(f.stats.skipped_bytes, 0);
        f.gap(1000);
        assert_eq!(frame_all(&mut f, &[&[5, 0xaa, 1, 7]]), vec![Ok((1, vec![7]))]);
        assert_eq!(f.stats, FramerStats { skipped_bytes: 1, resyncs: 2 });
    }

    #[test]
    fn forgets_a_partial_frame_on_reset() {
        let mut f = Framer::<Toy>::new();
        assert!(frame_all(&mut f, &[&[0xaa, 4, 1]]).is_empty());
        f.reset();
        assert_eq!(frame_all(&mut f, &[&[0xaa, 1, 7]]), vec![Ok((1, vec![7]))]);
    }

    #[test]
    fn splitting_a_toy_stream_at_every_offset_yields_the_same_frames() {
        splits_at_every_pair_of_offsets::<Toy>(&[0xaa, 1, 7, 0xaa, 0, 0xaa, 3, 1, 2, 3], 3);
    }

    proptest! {
        #[test]
        fn a_toy_framer_stays_bounded(input in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..300), proptest::option::of(any::<u16>())), 0..8)
        ) {
            stays_bounded::<Toy>(&input)?;
        }
    }
}
