//! EtherNet/IP (CIP Volume 2, Edition 1.x) and the Common Industrial
//! Protocol it carries (CIP Volume 1, Edition 3.x), over TCP and UDP.
//!
//! Layers, one module each:
//! - [`encap`]: the 24-byte encapsulation header, its commands, the common
//!   packet format items, and the framer that cuts a TCP stream into
//!   messages, resynchronising after bad headers and gaps;
//! - [`cip`]: message router requests and responses, padded EPATHs (logical
//!   8/16/32-bit, port, symbolic and ANSI extended symbol segments), service
//!   codes and the operation class of each;
//! - [`cm`]: Connection Manager bodies: Forward_Open, Large_Forward_Open,
//!   Forward_Close and Unconnected_Send (embedded request and route path);
//! - [`pccc`]: PCCC commands inside Execute_PCCC (class 0x67);
//! - [`identity`]: ListIdentity items, Identity object attributes, and the
//!   names of common vendors and device types;
//! - `session`: per-flow state (request/response pairing, connections) and
//!   reporting, shared by TCP and UDP.
//!
//! Reporting: encapsulation commands that carry no CIP are counted under
//! protocol `enip` by name (`list_identity`, `register_session`, unassigned
//! ones as `command_0x....`, class Unknown); every CIP service, including each
//! one embedded in Unconnected_Send or Multiple_Service_Packet (the wrappers
//! themselves are not counted), under protocol `cip` with its name
//! (`get_attributes_all`, `read_tag`, `forward_open`, `pccc_typed_read`,
//! `class_0x8e_service_0x4b` when unpublished, class Unknown). Responses take
//! their request's name and class; notable ones carry `message`, `service`,
//! `class`, `instance`, `attribute`, `member`, `tag`, `via`, `route`,
//! `connection_id`, `status`, `pccc_command`, `pccc_function`, `cpu_mode`,
//! `reset_type` where they apply. ListIdentity replies become
//! `enip.list_identity` identity events, Identity object replies
//! `cip.identity` events (`vendor_id`, `vendor`, `device_type_id`,
//! `device_type`, `product_code`, `revision`, `serial`, `product_name`,
//! `status`, `state`, `socket_address`). Implicit I/O (UDP 2222, and
//! connected data on class 0/1 connections) is counted as `io` (class Read)
//! and not read further.
//!
//! The TCP probe accepts any port: a plausible encapsulation header at the
//! start of the stream (an assigned command other than NOP, a length that
//! fits it, status below 0x100, options 0), or a first chunk that is exactly
//! one message with an unassigned command below 0x100 and status and options
//! 0 (a tool testing the target). The UDP probe accepts a datagram
//! that is exactly one such message, or a CPF list of implicit I/O. Ports
//! 44818 and 2222 only order the probes.
//!
//! Not done: attribute values other than the Identity object's, tag values
//! and data types, I/O data, CIP Safety, CIP Security (TLS/DTLS on 2221), and
//! ListServices/ListInterfaces reply contents.

pub mod cip;
pub mod cm;
pub mod encap;
pub mod identity;
pub mod names;
pub mod pccc;
mod session;

use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::Direction;

/// Protocol name of encapsulation records and of the flow.
pub(crate) const PROTOCOL_ENIP: &str = "enip";
/// Protocol name of CIP records.
pub(crate) const PROTOCOL_CIP: &str = "cip";
/// The registered EtherNet/IP port, TCP and UDP (Vol. 2 §2-2).
pub const PORT: u16 = 44818;
/// The implicit I/O port, UDP (Vol. 2 §3-3.2).
pub const IO_PORT: u16 = 2222;
/// Cap, in characters, on a name copied out (tag, product name).
pub(crate) const MAX_TEXT: usize = 255;

/// What a session decoded, message by message: for cross-checks against
/// other dissectors. Not needed to run the dissector.
pub trait Tap: Send {
    /// One encapsulation message with its command.
    fn command(&mut self, ctx: &PacketCtx<'_>, command: encap::Command);
    /// One CIP message (embedded ones too), with the classes its paths name:
    /// its own request path, a Forward_Open/Forward_Close connection path,
    /// for a response its request's, and for connected messages the
    /// connection path of their Forward_Open.
    fn cip(&mut self, ctx: &PacketCtx<'_>, service: cip::Service, classes: &[u32]);
}

/// Judges the first bytes of a stream.
fn probe_stream(data: &[u8]) -> Probe {
    match encap::plausible(data) {
        encap::Plausible::No if exact_unassigned(data) => return Probe::Match,
        encap::Plausible::No => return Probe::NoMatch,
        encap::Plausible::NeedMore => return Probe::NeedMore,
        encap::Plausible::Yes => {}
    }
    let Some(h) = encap::parse_header(data) else { return Probe::NeedMore };
    match h.command {
        // Zeros would pass as a NOP; a stream does not start with the legacy commands.
        encap::Command::NOP | encap::Command::INDICATE_STATUS | encap::Command::CANCEL => Probe::NoMatch,
        encap::Command::SEND_RR_DATA | encap::Command::SEND_UNIT_DATA => {
            // Interface handle 0 (CIP) and a small item count.
            let Some(body) = data.get(encap::HEADER_LEN..encap::HEADER_LEN + 8) else { return Probe::NeedMore };
            match encap::rr_items(body) {
                Ok((0, items)) if (1..=8).contains(&items.left()) => Probe::Match,
                _ => Probe::NoMatch,
            }
        }
        _ => Probe::Match,
    }
}

/// True for one whole message with an unassigned command below 0x100,
/// status and options 0: what some engineering tools send first to test a
/// target (`EIP-FirmwareChange.pcap` opens with command 0x0001).
fn exact_unassigned(data: &[u8]) -> bool {
    encap::parse_header(data).is_some_and(|h| {
        h.command.0 != 0 && h.command.0 < 0x100 && h.status == 0 && h.options == 0 && h.message_len() == data.len()
    })
}

/// True for a bare CPF list of implicit I/O: an address item (sequenced or
/// connected) then connected data, filling the datagram exactly.
pub(crate) fn is_io_datagram(data: &[u8]) -> bool {
    let Ok(items) = encap::Items::parse(data) else { return false };
    if !(2..=4).contains(&items.left()) {
        return false;
    }
    let mut kinds = [encap::ItemType(0xffff); 2];
    let mut end = None;
    for (i, item) in items.enumerate() {
        let Ok(item) = item else { return false };
        if let Some(k) = kinds.get_mut(i) {
            *k = item.kind;
        }
        end = Some(item.data.as_ptr_range().end);
    }
    let address = matches!(kinds[0], encap::ItemType::SEQUENCED_ADDRESS | encap::ItemType::CONNECTED_ADDRESS);
    address && kinds[1] == encap::ItemType::CONNECTED_DATA && end == Some(data.as_ptr_range().end)
}

/// The EtherNet/IP-over-TCP stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Enip;

impl Enip {
    /// A session that also reports to `tap` what it decodes.
    pub fn session_with_tap(tap: Box<dyn Tap>) -> Box<dyn StreamSession> {
        Box::new(StreamState(session::Session::new(Some(tap))))
    }
}

impl StreamDissector for Enip {
    fn protocol(&self) -> &'static str {
        PROTOCOL_ENIP
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn owns_port(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        probe_stream(data)
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(StreamState(session::Session::new(None)))
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// Whether the encapsulation message at the start of `data` came from the
/// originator: a reply carries a non-zero status or answers a list command
/// with data, and a CIP reply sets the high bit of its service code (Vol. 1
/// §2-4.2). RegisterSession looks the same both ways.
fn sent_by_client(data: &[u8]) -> Option<bool> {
    let h = encap::parse_header(data)?;
    if h.status != 0 {
        return Some(false);
    }
    let body = data.get(encap::HEADER_LEN..)?;
    match h.command {
        encap::Command::LIST_IDENTITY | encap::Command::LIST_SERVICES | encap::Command::LIST_INTERFACES => {
            Some(h.length == 0)
        }
        encap::Command::UNREGISTER_SESSION => Some(true),
        encap::Command::SEND_RR_DATA | encap::Command::SEND_UNIT_DATA => {
            let (_, items) = encap::rr_items(body).ok()?;
            let service = items.filter_map(Result::ok).find_map(|item| match item.kind {
                encap::ItemType::UNCONNECTED_DATA => item.data.first().copied(),
                // A sequence count comes first.
                encap::ItemType::CONNECTED_DATA => item.data.get(2).copied(),
                _ => None,
            })?;
            Some(service & 0x80 == 0)
        }
        _ => None,
    }
}

/// The EtherNet/IP-over-UDP datagram dissector (ListIdentity broadcasts,
/// implicit I/O).
#[derive(Clone, Copy, Debug, Default)]
pub struct EnipUdp;

impl EnipUdp {
    /// A session that also reports to `tap` what it decodes.
    pub fn session_with_tap(tap: Box<dyn Tap>) -> Box<dyn DatagramSession> {
        Box::new(DatagramState(session::Session::new(Some(tap))))
    }
}

impl DatagramDissector for EnipUdp {
    fn protocol(&self) -> &'static str {
        PROTOCOL_ENIP
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        [src_port, dst_port].iter().any(|p| *p == PORT || *p == IO_PORT)
    }

    fn owns_port(&self, server_port: u16) -> bool {
        server_port == PORT || server_port == IO_PORT
    }

    /// A datagram is whole: one encapsulation message exactly, or I/O.
    fn probe(&self, data: &[u8]) -> Probe {
        if is_io_datagram(data) {
            return Probe::Match;
        }
        let whole = encap::parse_header(data).is_some_and(|h| h.message_len() == data.len());
        match probe_stream(data) {
            Probe::Match if whole => Probe::Match,
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(DatagramState(session::Session::new(None)))
    }

    /// A ListIdentity request or reply, or a CIP request or reply, tells;
    /// implicit I/O runs both ways (originator to target and back) and does not.
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        if is_io_datagram(data) {
            return None;
        }
        sent_by_client(data)
    }
}

/// A TCP flow's session.
#[derive(Debug)]
struct StreamState(session::Session);

impl StreamSession for StreamState {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.data(ctx, direction, data, emit);
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        self.0.gap(direction, len);
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, emit);
    }
}

/// A UDP flow's session: each datagram is framed on its own.
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
