//! What the dissectors' session tests share: an [`Emit`] that records everything,
//! and a packet context. Test-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::{Emit, PacketCtx};
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
        attributes: Vec<(Cow<'static, str>, String)>,
    ) {
        assert!(class.is_notable(), "operation() is for notable classes only");
        let a = attributes.into_iter().map(|(k, v)| (k.into_owned(), v)).collect();
        self.messages.push((p, ctx.direction.unwrap(), op.into_owned(), class, a));
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
