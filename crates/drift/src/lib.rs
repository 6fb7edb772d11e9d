//! Baselines and drift: what the inventory said when a user accepted it
//! ([`Snapshot`], `otposture.baseline/1`), and how a later inventory deviates
//! from it ([`compare`] -> [`Deviation`]s): new and vanished assets,
//! re-addressed devices, identity changes (firmware, model, serial, modules),
//! new and vanished conversations, and new operation classes on known ones.
//!
//! It owns the snapshot document and the comparison rules (module
//! [`compare`](crate::compare())'s header, and docs/cli.md). It does not
//! store baselines (crates/store), judge severity or raise findings (the
//! findings engine), or read the clock: the caller says when a snapshot was
//! taken.

mod compare;
mod snapshot;

pub use compare::{compare, ConversationKey, Deviation, DeviationKind};
pub use snapshot::{
    AssetState, Classes, Confidence, ConversationState, Identity, ModuleState, Snapshot, Stated, SCHEMA,
};

#[cfg(test)]
mod tests;
