//! Flows: the table that follows every conversation, IP fragment reassembly,
//! and TCP stream reassembly — all bounded, all counted.
//!
//! This crate holds state across packets but knows no protocol above TCP/UDP
//! and does no I/O. The engine (`otposture-observe`) decides what a flow's
//! first packet means (who initiated) and feeds reassembled bytes to dissectors.

mod defrag;
mod table;
mod tcp;

pub use defrag::{DefragLimits, DefragStats, Defragmenter, FragKey};
pub use table::{Flow, FlowLimits, FlowTable, FlowTuple, TableStats, TcpTrack};
pub use tcp::{Chunk, StreamReassembler};
