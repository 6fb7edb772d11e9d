//! The dissector contract, and the dissectors that ship with the engine.
//!
//! The engine (crate `otposture-observe`) owns flows and reassembly; it hands
//! dissectors three kinds of input and nothing else:
//! - reassembled TCP byte streams, per direction, with gap markers
//!   ([`StreamDissector`] / [`StreamSession`]),
//! - UDP payloads, per flow ([`DatagramDissector`] / [`DatagramSession`]),
//! - layer-2 payloads by EtherType or 802.2 LLC/SNAP header ([`FrameDissector`]).
//!
//! A dissector is chosen by a content probe; the port is only a hint that orders
//! the probes. Dissectors are pure: no I/O, no clocks, no logging. They report what
//! they learn through [`Emit`], classifying every message with an
//! [`OperationClass`] so later stages never re-learn each protocol.

use otposture_model::{Direction, Event, FlowId, FlowKey, MacAddr, OperationClass, Timestamp};
use std::borrow::Cow;
use std::net::IpAddr;

pub mod ads;
pub mod arp;
pub mod bacnet;
pub mod c37118;
pub mod cdp;
mod cursor;
pub mod dhcp;
pub mod dnp3;
pub mod dns;
pub mod enip;
pub mod framing;
pub mod ftp;
pub mod http;
pub mod iec104;
pub mod iec61850;
mod intern;
pub mod lldp;
pub mod mms;
pub mod modbus;
pub mod netbios;
pub mod opcua;
pub mod profinet;
pub mod rdp;
pub mod rfb;
pub mod rfc1006;
pub mod s7comm;
pub mod smb;
pub mod snmp;
pub mod ssh;
pub mod telnet;
#[cfg(test)]
mod test_support;
mod text;
pub mod tls;

/// Where a piece of input came from: packet time, record number and addressing.
#[derive(Clone, Copy, Debug)]
pub struct PacketCtx<'a> {
    /// Packet time.
    pub ts: Timestamp,
    /// Record number of the packet in its capture (1-based).
    pub packet: u64,
    /// Which input the packet came from (`otposture_model::Event::source`).
    pub source: u32,
    /// The flow, for TCP and UDP input.
    pub flow: Option<&'a FlowMeta>,
    /// Direction within the flow.
    pub direction: Option<Direction>,
    /// Sender MAC, when the link layer has one.
    pub src_mac: Option<MacAddr>,
    /// Receiver MAC, when the link layer has one.
    pub dst_mac: Option<MacAddr>,
    /// Innermost VLAN id.
    pub vlan: Option<u16>,
    /// Sender IP, for IP input.
    pub src_ip: Option<IpAddr>,
    /// Receiver IP, for IP input.
    pub dst_ip: Option<IpAddr>,
}

impl<'a> PacketCtx<'a> {
    /// A context with time and record number only: addressing, flow and
    /// direction are added with struct update syntax where known.
    pub fn at(ts: Timestamp, packet: u64) -> Self {
        PacketCtx {
            ts,
            packet,
            source: 0,
            flow: None,
            direction: None,
            src_mac: None,
            dst_mac: None,
            vlan: None,
            src_ip: None,
            dst_ip: None,
        }
    }

    /// The flow id, when the input belongs to a flow.
    pub fn flow_id(&self) -> Option<FlowId> {
        self.flow.map(|f| f.id)
    }

    /// The anomaly event `name` a session reports when its flow closes: the
    /// counts of what did not parse that are not zero, or `None` when all are.
    pub(crate) fn counts_event(
        &self,
        protocol: &'static str,
        name: &'static str,
        counts: &[(&'static str, u64)],
    ) -> Option<Event> {
        if counts.iter().all(|(_, n)| *n == 0) {
            return None;
        }
        let mut e = self.event(protocol, otposture_model::EventKind::Anomaly, name);
        for (k, n) in counts.iter().filter(|(_, n)| *n > 0) {
            e.attributes.push((Cow::Borrowed(*k), text::dec(*n)));
        }
        Some(e)
    }

    /// An event pre-filled with this packet's provenance; callers add attributes.
    pub fn event(
        &self,
        protocol: &'static str,
        kind: otposture_model::EventKind,
        name: impl Into<Cow<'static, str>>,
    ) -> Event {
        Event {
            ts: self.ts,
            packet: self.packet,
            source: self.source,
            flow: self.flow_id(),
            protocol: Cow::Borrowed(protocol),
            kind,
            name: name.into(),
            class: None,
            src_mac: self.src_mac,
            src_ip: self.src_ip,
            dst_ip: self.dst_ip,
            attributes: Vec::new(),
        }
    }
}

/// What a dissector knows about the flow it is attached to.
#[derive(Clone, Copy, Debug)]
pub struct FlowMeta {
    /// Stable flow id.
    pub id: FlowId,
    /// Endpoints, initiator first.
    pub key: FlowKey,
}

/// What dissectors report. Implemented by the engine's aggregator.
pub trait Emit {
    /// Counts one protocol operation (aggregated per flow, direction and operation).
    /// Notable classes ([`OperationClass::is_notable`]) are also kept individually by
    /// the engine; the dissector does not need to emit an event for them.
    fn message(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
    );
    /// Counts one protocol operation exactly like [`Emit::message`], and gives the
    /// attributes (unit, address, quantity...) that the engine's individual record
    /// of a notable class should carry. A dissector calls either this or
    /// `message` for a message, never both, so the record is not duplicated. The
    /// default drops the attributes.
    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
        attributes: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        let _ = attributes;
        self.message(ctx, protocol, operation, class);
    }
    /// Counts a successful answer to a notable request exactly like
    /// [`Emit::message`], but keeps no individual record of it: the request's
    /// record stands for the operation (a write acknowledged is one write, not
    /// two). Answers that refuse or fail (an exception, an error status) and
    /// answers whose request was not seen go through `operation` and are kept.
    /// The default counts through `message`.
    fn answer(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
    ) {
        self.message(ctx, protocol, operation, class);
    }
    /// Counts `n` operations of one kind at once, as `n` calls of
    /// [`Emit::answer`] (`answers`) or of [`Emit::message`] would, for a class
    /// that is not notable (nothing is kept individually either way). For runs
    /// a dissector finds inside one message: a Multiple Service Packet's thirty
    /// reads of one tag. The default makes the `n` calls.
    fn repeated(
        &mut self,
        ctx: &PacketCtx<'_>,
        protocol: &'static str,
        operation: Cow<'static, str>,
        class: OperationClass,
        n: u32,
        answers: bool,
    ) {
        for _ in 0..n {
            if answers {
                self.answer(ctx, protocol, operation.clone(), class);
            } else {
                self.message(ctx, protocol, operation.clone(), class);
            }
        }
    }
    /// Keeps a notable event (identity, host name, anomaly) individually.
    fn event(&mut self, event: Event);
    /// Counts a malformed message on the flow (truncated PDU, bad length, bad CRC).
    fn malformed(&mut self, ctx: &PacketCtx<'_>, protocol: &'static str, what: &'static str);
}

/// The answer of a content probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this protocol.
    Match,
    /// The bytes are not this protocol.
    NoMatch,
    /// Too few bytes to tell; ask again with more.
    NeedMore,
}

/// A dissector for a TCP byte stream.
pub trait StreamDissector: Send + Sync {
    /// Protocol name used in records (`modbus`).
    fn protocol(&self) -> &'static str;
    /// True when a server port usually carries this protocol (probe order only).
    fn port_hint(&self, server_port: u16) -> bool;
    /// True when `server_port` is this industrial protocol's own registered
    /// port, so that other traffic on it (a tunnel through the firewall
    /// opening made for the protocol, MITRE ATT&CK for ICS T0885) is worth
    /// reporting. IT protocols' ports carry too much else: `false`.
    fn owns_port(&self, _server_port: u16) -> bool {
        false
    }
    /// Looks at the first bytes of one direction of a stream.
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe;
    /// A fresh per-flow session.
    fn new_session(&self) -> Box<dyn StreamSession>;
    /// For a stream whose first bytes no probe took (a connection picked up
    /// mid-stream, whose first bytes are the middle of a message): a session
    /// starting with `data` when this later chunk begins a message of the
    /// protocol, checked strictly enough that other bytes rarely pass.
    /// Senders start a segment where they start a write, so a chunk's start
    /// is where a message may begin. Most protocols cannot tell: `None`.
    fn resync(&self, _direction: Direction, _data: &[u8]) -> Option<Box<dyn StreamSession>> {
        None
    }
    /// For a connection picked up mid-stream, whose client the engine could
    /// only guess from its ports: whether `data` (bytes that `probe` matched or
    /// `resync` took up, starting at a message) was sent by the client, as
    /// the protocol's own fields say (a request, a master's frame), or `None`
    /// when they cannot tell (an echoed write, encrypted bytes). The engine
    /// turns the flow round when its guess was wrong, before the session sees
    /// a byte. In OT a connection lives for months, so a capture usually
    /// starts in the middle of it, and a server on an unregistered port above
    /// the client's (an OPC UA server on 62541, Modbus on 5020 polled from
    /// port 1025) made the controller the client.
    fn sent_by_client(&self, _data: &[u8]) -> Option<bool> {
        None
    }
}

/// Per-flow state of a stream dissector.
pub trait StreamSession: Send {
    /// In-order bytes of one direction. Chunk boundaries carry no meaning: a
    /// session buffers partial PDUs itself, within its own cap.
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit);
    /// `len` bytes of this direction are missing from the capture; the next
    /// `data` call continues after them. The session must resynchronise.
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit);
    /// The flow ended (FIN, RST, timeout, eviction or end of input).
    fn close(&mut self, _ctx: &PacketCtx<'_>, _emit: &mut dyn Emit) {}
}

/// A dissector for UDP payloads.
pub trait DatagramDissector: Send + Sync {
    /// Protocol name used in records (`dhcp`).
    fn protocol(&self) -> &'static str;
    /// True when one of the ports usually carries this protocol (probe order only).
    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool;
    /// As [`StreamDissector::owns_port`], for the server port of a datagram flow.
    fn owns_port(&self, _server_port: u16) -> bool {
        false
    }
    /// Looks at one datagram.
    fn probe(&self, data: &[u8]) -> Probe;
    /// A fresh per-flow session.
    fn new_session(&self) -> Box<dyn DatagramSession>;
    /// For a datagram flow whose client the engine could only guess (two
    /// unregistered ports, or two registered ones such as DNP3's 20000 or
    /// BACnet's 47808 at both ends): whether the datagram `data`, which `probe`
    /// matched, was sent by the client, as the protocol's own fields say (a
    /// request, a master's frame, a Who-Is), or `None` when they cannot tell.
    /// The engine turns the flow round when its guess was wrong, before the
    /// session sees the datagram: a capture that opens on a DNP3 outstation's
    /// unsolicited response, or a BACnet workstation on a lower port than its
    /// controller, made the device the client.
    fn sent_by_client(&self, _data: &[u8]) -> Option<bool> {
        None
    }
}

/// Per-flow state of a datagram dissector.
pub trait DatagramSession: Send {
    /// One datagram's payload.
    fn datagram(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit);
    /// The flow ended (idle timeout, eviction or end of input): report what is
    /// only known at the end, such as per-flow anomaly counts.
    fn close(&mut self, _ctx: &PacketCtx<'_>, _emit: &mut dyn Emit) {}
}

/// The layer-2 frames a [`FrameDissector`] takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameSelector {
    /// Ethernet II frames of this EtherType (after any VLAN tags).
    EtherType(u16),
    /// IEEE 802.3 frames whose 802.2 LLC header has a SNAP header with this
    /// OUI (low 24 bits) and protocol id: CDP is OUI 0x00000C, PID 0x2000.
    Snap {
        /// Organisationally unique identifier.
        oui: u32,
        /// Protocol id within the OUI.
        pid: u16,
    },
    /// IEEE 802.3 frames with this 802.2 DSAP and SSAP and no SNAP header
    /// (spanning tree is 0x42/0x42).
    Llc {
        /// Destination service access point.
        dsap: u8,
        /// Source service access point.
        ssap: u8,
    },
}

/// A dissector for layer-2 payloads of one EtherType, or of one kind of
/// 802.2 LLC/SNAP frame.
pub trait FrameDissector: Send + Sync {
    /// Protocol name used in records (`arp`).
    fn protocol(&self) -> &'static str;
    /// The EtherType it handles. Dissectors of 802.2 LLC frames leave it at 0
    /// (which is no EtherType) and say what they take in
    /// [`FrameDissector::selector`].
    fn ethertype(&self) -> u16 {
        0
    }
    /// The frames it takes: by default those of [`FrameDissector::ethertype`].
    fn selector(&self) -> FrameSelector {
        FrameSelector::EtherType(self.ethertype())
    }
    /// One frame's payload after the EtherType (and any VLAN tags), or after
    /// the LLC and SNAP headers, within the 802.3 length (without padding).
    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit);
}

/// The dissectors an engine runs.
#[derive(Default)]
pub struct Registry {
    /// TCP stream dissectors.
    pub streams: Vec<Box<dyn StreamDissector>>,
    /// UDP datagram dissectors.
    pub datagrams: Vec<Box<dyn DatagramDissector>>,
    /// Layer-2 dissectors.
    pub frames: Vec<Box<dyn FrameDissector>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("streams", &self.streams.iter().map(|d| d.protocol()).collect::<Vec<_>>())
            .field("datagrams", &self.datagrams.iter().map(|d| d.protocol()).collect::<Vec<_>>())
            .field("frames", &self.frames.iter().map(|d| d.protocol()).collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// Every dissector this build ships.
    pub fn with_defaults() -> Self {
        Registry {
            streams: vec![
                Box::new(modbus::Modbus),
                Box::new(dnp3::Dnp3),
                Box::new(s7comm::S7comm),
                Box::new(mms::Mms),
                Box::new(rdp::Rdp),
                Box::new(smb::Smb),
                Box::new(enip::Enip),
                Box::new(ads::Ads),
                Box::new(iec104::Iec104),
                Box::new(c37118::C37118),
                Box::new(opcua::Opcua),
                Box::new(ssh::Ssh),
                Box::new(rfb::Rfb),
                Box::new(tls::Tls),
                Box::new(ftp::Ftp),
                Box::new(http::Http),
                Box::new(telnet::Telnet),
                // Last: a content probe of a length and a header, after every stricter one.
                Box::new(dns::DnsTcp),
            ],
            datagrams: vec![
                Box::new(dhcp::Dhcp),
                Box::new(dnp3::Dnp3Udp),
                Box::new(enip::EnipUdp),
                Box::new(ads::AdsRouter),
                Box::new(bacnet::Bacnet),
                Box::new(c37118::C37118Udp),
                Box::new(snmp::Snmp),
                // The name services share DNS's format: NetBIOS (names that
                // must decode) before DNS, and DNS last, its three flavours
                // told apart by their port hints.
                Box::new(netbios::ns::Nbns),
                Box::new(netbios::dgm::Nbdgm),
                Box::new(dns::Dns),
                Box::new(dns::Mdns),
                Box::new(dns::Llmnr),
            ],
            frames: vec![
                Box::new(arp::Arp),
                Box::new(iec61850::GooseDissector),
                Box::new(iec61850::SvDissector),
                Box::new(profinet::Profinet),
                Box::new(lldp::Lldp),
                Box::new(cdp::Cdp),
            ],
        }
    }
}
