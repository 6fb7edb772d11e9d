//! DNP3 (IEEE 1815-2012) over TCP and UDP, as §13 of that standard carries
//! it: the serial link frames, unchanged, in the byte stream or datagram.
//!
//! Layers, one module each:
//! - [`link`]: FT3 frames, CRC-16/DNP on the header and every 16-octet block,
//!   the framer that resynchronises byte by byte on 0x05 0x64;
//! - [`transport`]: the transport header and reassembly of application
//!   fragments per direction, bounded;
//! - [`app`]: application control, function codes, IIN, object headers,
//!   object sizes, group 0 device attributes, and the class of each fragment;
//! - `session`: per-flow state and reporting, shared by TCP and UDP.
//!
//! Reporting: every application fragment is counted once with `emit.message`
//! under its function's snake_case name (`direct_operate`, `response`), or
//! with [`Emit::operation`](crate::Emit::operation) for notable classes, with
//! master and outstation addresses (from the link DIR bit), function, sequence
//! number, IIN and a summary of the object headers (`g12v1 q0x28 count 1`).
//! A solicited response takes the class of the request with its sequence
//! number. Link frames without user data are counted as `link_<function>`,
//! class `Session`. Group 0 attributes in a response become a
//! `dnp3.device_attributes` identity event. Bad CRCs and truncated objects
//! are malformed; segment-order problems, unknown object sizes and IIN error
//! bits are counted and reported once per flow (`dnp3.session_anomalies`).
//! The class mapping is documented on [`app::FunctionCode::class`] and
//! [`app::classify`].
//!
//! The probe accepts any port: 0x05 0x64 and a good header CRC at the start
//! of the stream or datagram. Port 20000 only orders it.
//!
//! Not done: point values and their flags, file contents, secure
//! authentication message contents (its presence and use are reported),
//! link-layer FCB/retry checks, and object sizes for groups outside
//! [`app::object_size`]'s table (the walk of such a fragment stops there).

pub mod app;
pub mod link;
mod session;
pub mod transport;

use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "dnp3";
/// The registered DNP3 port, TCP and UDP (IEEE 1815-2012 §13.2).
pub const PORT: u16 = 20000;

/// Looks for a good link header at the start of `data`.
fn probe(data: &[u8]) -> Probe {
    match link::parse_header(data) {
        Ok(Some(_)) => Probe::Match,
        Ok(None) => Probe::NeedMore,
        Err(_) => Probe::NoMatch,
    }
}

/// The DNP3-over-TCP stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dnp3;

impl StreamDissector for Dnp3 {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        probe(data)
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(StreamState(session::Session::new()))
    }
}

/// The DNP3-over-UDP datagram dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dnp3Udp;

impl DatagramDissector for Dnp3Udp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        src_port == PORT || dst_port == PORT
    }

    /// A datagram is whole: too short for a header is no, not "need more".
    fn probe(&self, data: &[u8]) -> Probe {
        match probe(data) {
            Probe::NeedMore => Probe::NoMatch,
            p => p,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(DatagramState(session::Session::new()))
    }
}

/// A TCP flow's session.
#[derive(Debug)]
struct StreamState(session::Session);

impl StreamSession for StreamState {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.data(ctx, direction, data, emit);
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, _len: u64, _emit: &mut dyn Emit) {
        self.0.gap(direction);
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, emit);
    }
}

/// A UDP flow's session: each datagram is framed on its own; anomaly counters
/// are reported when the engine ends the flow.
#[derive(Debug)]
struct DatagramState(session::Session);

impl DatagramSession for DatagramState {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.datagram(ctx, direction, data, emit);
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, emit);
    }
}

#[cfg(test)]
mod tests;
