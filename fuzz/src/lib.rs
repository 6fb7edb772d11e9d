//! What the dissector fuzz targets share: an [`Emit`] that discards everything,
//! and the control-byte scheme that turns one fuzz input into the two
//! directions of a stream, cut into chunks with occasional gaps.
//!
//! The scheme is part of every corpus: changing how a control byte reads
//! changes what each stored input means.

use otposture_dissect::{Emit, PacketCtx, StreamSession};
use otposture_model::{Direction, Event, OperationClass, Timestamp};
use std::borrow::Cow;

/// Discards everything; touches what it is given so nothing is optimised away.
#[derive(Debug, Default)]
pub struct Sink(usize);

impl Emit for Sink {
    fn message(&mut self, _: &PacketCtx<'_>, _: &'static str, op: Cow<'static, str>, _: OperationClass) {
        self.0 = self.0.wrapping_add(op.len());
    }
    fn event(&mut self, e: Event) {
        self.0 = self.0.wrapping_add(e.attributes.len());
    }
    fn malformed(&mut self, _: &PacketCtx<'_>, _: &'static str, what: &'static str) {
        self.0 = self.0.wrapping_add(what.len());
    }
}

/// The context of every fuzzed chunk: time 0, record 1, `direction`.
pub fn ctx(direction: Direction) -> PacketCtx<'static> {
    PacketCtx { direction: Some(direction), ..PacketCtx::at(Timestamp(0), 1) }
}

/// How a control byte gives its chunk's length (and a gap's).
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// The bits of the control byte that hold the length.
    len_mask: u8,
    /// What the length counts in bytes.
    len_scale: usize,
}

impl Layout {
    /// Length in the low 6 bits: chunks of 0..=63 bytes.
    pub const PLAIN: Layout = Layout { len_mask: 0x3f, len_scale: 1 };
    /// Length in the low 5 bits times 8: chunks of 0..=248 bytes, and bit 5
    /// left to the target.
    pub const WIDE: Layout = Layout { len_mask: 0x1f, len_scale: 8 };
}

/// One chunk of a fuzzed stream.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    /// Bit 7 of the control byte: clear to the server, set to the client.
    pub direction: Direction,
    /// Bit 6 set: this many bytes are missing before the chunk (the length bits).
    pub gap: Option<u64>,
    /// The whole control byte, for bits the layout leaves to the target.
    pub control: u8,
    /// The bytes that follow the control byte, as many as its length says.
    pub bytes: &'a [u8],
}

/// Cuts `data` into chunks: each control byte picks a direction (bit 7),
/// whether a gap comes first (bit 6) and the chunk length (`layout`); the
/// chunk follows it.
pub fn chunks(data: &[u8], layout: Layout) -> impl Iterator<Item = Chunk<'_>> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&control, tail) = rest.split_first()?;
        let direction = if control & 0x80 == 0 { Direction::ToServer } else { Direction::ToClient };
        let len = control & layout.len_mask;
        let gap = (control & 0x40 != 0).then_some(u64::from(len));
        let (bytes, after) = tail.split_at((usize::from(len) * layout.len_scale).min(tail.len()));
        rest = after;
        Some(Chunk { direction, gap, control, bytes })
    })
}

/// Feeds `data`, cut by [`Layout::PLAIN`], to `session`: each chunk's gap,
/// then `on_chunk` (for what a target also does per chunk), then the chunk;
/// closes the session at the end.
pub fn drive_stream(session: &mut dyn StreamSession, data: &[u8], mut on_chunk: impl FnMut(Direction, &[u8])) {
    let mut sink = Sink::default();
    for c in chunks(data, Layout::PLAIN) {
        if let Some(len) = c.gap {
            session.gap(&ctx(c.direction), c.direction, len, &mut sink);
        }
        on_chunk(c.direction, c.bytes);
        session.data(&ctx(c.direction), c.direction, c.bytes, &mut sink);
    }
    session.close(&ctx(Direction::ToServer), &mut sink);
}
