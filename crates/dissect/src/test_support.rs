//! What the dissectors' session tests share: an [`Emit`] that records everything,
//! a packet context, and feeding a stream session whole or cut. Test-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::{Emit, PacketCtx, StreamDissector};
use otposture_model::{Direction, Event, OperationClass, Timestamp};
use std::borrow::Cow;

/// One counted message: protocol, direction, operation, class, and the attributes
/// given through [`Emit::operation`] (none through `message`).
pub(crate) type Message = (&'static str, Direction, String, OperationClass, Vec<(String, String)>);

/// Records what a session emits.
#[derive(Default, Debug)]
pub(crate) struct Recorder {
    pub(crate) messages: Vec<Message>,
    pub(crate) events: Vec<Event>,
    pub(crate) malformed: Vec<&'static str>,
    /// Indices in `messages` of answers folded into their request's record
    /// ([`Emit::answer`]).
    pub(crate) folded: Vec<usize>,
}

impl Emit for Recorder {
    fn message(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.messages.push((p, ctx.direction.unwrap(), op.into_owned(), class, Vec::new()));
    }
    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        p: &'static str,
        op: Cow<'static, str>,
        class: OperationClass,
        attributes: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        assert!(class.is_notable(), "operation() is for notable classes only");
        let a = attributes.into_iter().map(|(k, v)| (k.into_owned(), v.into_string())).collect();
        self.messages.push((p, ctx.direction.unwrap(), op.into_owned(), class, a));
    }
    fn answer(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.folded.push(self.messages.len());
        self.message(ctx, p, op, class);
    }
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn malformed(&mut self, _: &PacketCtx<'_>, _: &'static str, what: &'static str) {
        self.malformed.push(what);
    }
}

/// A context for a packet of a flow-less test stream, in `direction`.
pub(crate) fn ctx(direction: Direction) -> PacketCtx<'static> {
    PacketCtx { direction: Some(direction), ..PacketCtx::at(Timestamp::from_parts(1_445_506_153, 0), 7) }
}

/// An event attribute by name.
pub(crate) fn event_attr<'a>(e: &'a Event, k: &str) -> Option<&'a str> {
    e.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Feeds (direction, bytes) in order to a fresh session of `dissector`, then
/// closes it.
pub(crate) fn run(dissector: &dyn StreamDissector, input: &[(Direction, Vec<u8>)]) -> Recorder {
    let mut r = Recorder::default();
    let mut s = dissector.new_session();
    for (d, b) in input {
        s.data(&ctx(*d), *d, b, &mut r);
    }
    s.close(&ctx(Direction::ToServer), &mut r);
    r
}

/// Checks that cutting a client stream `c` and a server stream `s` at every
/// offset (both at the same one), and byte by byte, yields the messages and
/// events of the whole streams and nothing malformed; returns what the whole
/// streams yield.
pub(crate) fn splits_at_every_offset(dissector: &dyn StreamDissector, c: &[u8], s: &[u8]) -> Recorder {
    use Direction::{ToClient as S2C, ToServer as C2S};
    let whole = run(dissector, &[(C2S, c.to_vec()), (S2C, s.to_vec())]);
    assert!(whole.malformed.is_empty(), "{:?}", whole.malformed);
    for cut in 0..=c.len().max(s.len()) {
        let (c1, c2) = c.split_at(cut.min(c.len()));
        let (s1, s2) = s.split_at(cut.min(s.len()));
        let split = run(dissector, &[(C2S, c1.to_vec()), (C2S, c2.to_vec()), (S2C, s1.to_vec()), (S2C, s2.to_vec())]);
        assert_eq!(split.messages, whole.messages, "cut at {cut}");
        assert_eq!(split.events, whole.events, "cut at {cut}");
        assert!(split.malformed.is_empty(), "cut at {cut}");
    }
    let mut bytes: Vec<_> = c.iter().map(|b| (C2S, vec![*b])).collect();
    bytes.extend(s.iter().map(|b| (S2C, vec![*b])));
    assert_eq!(run(dissector, &bytes).messages, whole.messages, "byte by byte");
    whole
}

/// `bytes` cut at `cuts` (in any order, each taken modulo the length + 1), the
/// pieces in order as `direction` chunks.
pub(crate) fn cut_at(direction: Direction, bytes: &[u8], cuts: Vec<usize>) -> Vec<(Direction, Vec<u8>)> {
    let mut cuts: Vec<usize> = cuts.into_iter().map(|x| x % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut last = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        chunks.push((direction, bytes[last..cut].to_vec()));
        last = cut;
    }
    chunks
}
