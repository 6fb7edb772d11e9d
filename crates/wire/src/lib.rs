//! Zero-copy views of one captured frame: link layer, network layer, transport.
//!
//! Owns the mapping from a capture's link type to the first header, and the
//! decode of every frame into [`Frame`]: MAC addresses, the innermost VLAN, the
//! EtherType, and for IP the addresses, fragment fields and the TCP/UDP/ICMP view.
//! It does not keep state across frames: fragment and stream reassembly live in
//! `otposture-flow`.
//!
//! Ethernet, 802.1Q/802.1ad tags, IPv4, IPv6 extension headers and the transport
//! headers are sliced by `etherparse` (lax mode, so snapped frames still yield
//! their headers). The link headers etherparse does not know — Linux cooked v2
//! (SLL2) and BSD loopback (null) — and the LINKTYPE registry mapping are written
//! here; they are a few fixed-size fields each. So is the IEEE 802.2 LLC and
//! SNAP header of 802.3 frames (spanning tree, CDP, VTP, DTP), which etherparse
//! reads as an EtherType: [`llc`].
//!
//! No-panic contract: every function here accepts any byte slice.
//!
//! Performance: the common case — Ethernet with up to two VLAN tags carrying
//! IPv4, or IPv6 without extension headers, carrying TCP, UDP or ICMP — is
//! decoded by a direct path in `fast`. Profiling showed etherparse's lax slicer
//! copying its large packet structure several times per frame (13% of engine
//! time on the benchmark capture); everything the direct path does not handle
//! falls back to etherparse, and a property test holds both paths to the same
//! answers.

pub(crate) mod fast;
pub mod tunnel;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, LinkSlice, TcpSlice, TransportSlice, UdpSlice};
use otposture_model::{MacAddr, MaybeMac};
use std::net::IpAddr;

/// Link types this engine decodes, by their LINKTYPE_ number (tcpdump.org registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkType {
    /// LINKTYPE_NULL (0): BSD loopback, 4-byte address family in host byte order.
    Null,
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_RAW (101) and the old DLT_RAW values 12/14: raw IPv4 or IPv6.
    RawIp,
    /// LINKTYPE_LOOP (108): like NULL, family in network byte order.
    Loop,
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1, 16-byte header.
    LinuxSll,
    /// LINKTYPE_IPV4 (228).
    RawIpv4,
    /// LINKTYPE_IPV6 (229).
    RawIpv6,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2, 20-byte header.
    LinuxSll2,
}

impl LinkType {
    /// Maps a LINKTYPE_ value; `None` for link types this engine does not decode
    /// (reported to the user, never guessed).
    pub fn from_linktype(value: u32) -> Option<Self> {
        Some(match value {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::RawIp,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::RawIpv4,
            229 => LinkType::RawIpv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// Short lower-case name (`ethernet`, `linux-sll2`).
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Null => "null",
            LinkType::Ethernet => "ethernet",
            LinkType::RawIp => "raw-ip",
            LinkType::Loop => "loop",
            LinkType::LinuxSll => "linux-sll",
            LinkType::RawIpv4 => "raw-ipv4",
            LinkType::RawIpv6 => "raw-ipv6",
            LinkType::LinuxSll2 => "linux-sll2",
        }
    }
}

/// Why a frame could not be decoded to the layer it claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is shorter than its link header.
    #[error("frame of {len} bytes is shorter than the {need}-byte {link} header")]
    LinkTruncated {
        /// Link header name.
        link: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        len: usize,
    },
    /// A null/loop frame carried an address family that is neither IPv4 nor IPv6.
    #[error("loopback frame with unknown address family {0}")]
    UnknownFamily(u32),
    /// The network header is truncated or invalid.
    #[error("{0} header truncated or invalid")]
    Network(&'static str),
}

impl DecodeError {
    /// A stable short name for counting (`link_truncated`, `ipv4_invalid`).
    pub fn kind(self) -> &'static str {
        match self {
            DecodeError::LinkTruncated { .. } => "link_truncated",
            DecodeError::UnknownFamily(_) => "unknown_family",
            DecodeError::Network("ipv4") => "ipv4_invalid",
            DecodeError::Network("ipv6") => "ipv6_invalid",
            DecodeError::Network(_) => "network_invalid",
        }
    }
}

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// One decoded frame.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    /// Source MAC, when the link layer has one (Ethernet, SLL with 6-byte address).
    pub src_mac: MaybeMac,
    /// Destination MAC (Ethernet only).
    pub dst_mac: MaybeMac,
    /// Innermost VLAN id, when tagged.
    pub vlan: Option<u16>,
    /// The network layer.
    pub net: Net<'a>,
}

/// The network layer of a frame.
#[derive(Clone, Debug)]
pub enum Net<'a> {
    /// IPv4 or IPv6.
    Ip(IpPacket<'a>),
    /// A non-IP EtherType (ARP, Profinet, LLDP, ...) and its payload.
    L2 {
        /// The EtherType after any VLAN tags.
        ethertype: u16,
        /// Everything after the EtherType.
        payload: &'a [u8],
    },
    /// An IEEE 802.3 frame (length field instead of an EtherType) or a Linux
    /// cooked 802.2 frame: its LLC header, SNAP header when present, and payload.
    Llc(Llc<'a>),
    /// A frame with nothing above the link layer we can name (unknown SLL
    /// protocol, an 802.3 frame too short for its LLC header).
    None,
}

/// An IEEE 802.2 LLC header (and SNAP extension) with the payload after it.
///
/// Frame dissectors are selected on it: CDP is SNAP OUI 00-00-0C PID 0x2000,
/// spanning tree is LLC SAP 0x42/0x42.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Llc<'a> {
    /// Destination service access point.
    pub dsap: u8,
    /// Source service access point.
    pub ssap: u8,
    /// Control field: one byte for U-format (low two bits `11`), two for I and S.
    pub control: u16,
    /// The SNAP header, when DSAP and SSAP are 0xAA and the control is UI (0x03).
    pub snap: Option<Snap>,
    /// What follows the LLC (and SNAP) header, within the 802.3 length.
    pub payload: &'a [u8],
}

/// A SNAP header: organisation (OUI) and protocol id within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Snap {
    /// Organisationally unique identifier, in the low 24 bits.
    pub oui: u32,
    /// Protocol id (an EtherType when the OUI is 00-00-00).
    pub pid: u16,
}

/// SNAP OUI of Cisco (00-00-0C).
pub const OUI_CISCO: u32 = 0x00_000c;
/// SNAP PID of CDP under the Cisco OUI.
pub const PID_CDP: u16 = 0x2000;
/// SNAP PID of VTP under the Cisco OUI.
pub const PID_VTP: u16 = 0x2003;
/// SNAP PID of DTP under the Cisco OUI.
pub const PID_DTP: u16 = 0x2004;
/// SNAP PID of PVST+ BPDUs under the Cisco OUI.
pub const PID_PVST: u16 = 0x010b;
/// LLC SAP of IEEE 802.1D spanning tree.
pub const SAP_STP: u8 = 0x42;
/// LLC SAP of SNAP.
pub const SAP_SNAP: u8 = 0xaa;

impl Llc<'_> {
    /// A short name for the kinds of LLC frame that switches send without a
    /// dissector of their own here (`stp`, `pvst`, `vtp`, `dtp`), for CDP
    /// (`cdp`), other SNAP (`snap`) and other LLC (`llc`): for counting.
    pub fn kind(&self) -> &'static str {
        match self.snap {
            Some(Snap { oui: OUI_CISCO, pid: PID_CDP }) => "cdp",
            Some(Snap { oui: OUI_CISCO, pid: PID_VTP }) => "vtp",
            Some(Snap { oui: OUI_CISCO, pid: PID_DTP }) => "dtp",
            Some(Snap { oui: OUI_CISCO, pid: PID_PVST }) => "pvst",
            Some(_) => "snap",
            None if self.dsap == SAP_STP && self.ssap == SAP_STP => "stp",
            None => "llc",
        }
    }
}

/// Reads the 802.2 LLC header (IEEE 802.2 clause 3) and a SNAP header (IEEE
/// 802 clause 10.3) from the bytes after an 802.3 length field; `len` is that
/// field, which bounds the LLC data (Ethernet pads short frames). `None` when
/// the bytes are too short for the header they announce.
#[inline]
pub fn llc(data: &[u8], len: usize) -> Option<Llc<'_>> {
    let data = data.get(..len.min(data.len()))?;
    let (&[dsap, ssap, c0], rest) = data.split_first_chunk::<3>()?;
    let (control, rest) = if c0 & 0x03 == 0x03 {
        (u16::from(c0), rest)
    } else {
        let (&c1, rest) = rest.split_first()?;
        (u16::from_be_bytes([c0, c1]), rest)
    };
    if dsap == SAP_SNAP && ssap == SAP_SNAP && control == 0x03 {
        let (&[o0, o1, o2, p0, p1], payload) = rest.split_first_chunk::<5>()?;
        let snap = Snap { oui: u32::from_be_bytes([0, o0, o1, o2]), pid: u16::from_be_bytes([p0, p1]) };
        return Some(Llc { dsap, ssap, control, snap: Some(snap), payload });
    }
    Some(Llc { dsap, ssap, control, snap: None, payload: rest })
}

/// Largest 802.3 length field: values above it are EtherTypes (from 0x0600).
pub const MAX_8023_LENGTH: u16 = 1500;

/// The network layer of an 802.3 frame whose length field is `len`.
#[inline]
pub(crate) fn net_8023(len: u16, payload: &[u8]) -> Net<'_> {
    match llc(payload, usize::from(len)) {
        Some(l) => Net::Llc(l),
        None => Net::None,
    }
}

/// IPv4 fragment fields, for reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Identification field.
    pub id: u32,
    /// Offset of this fragment's payload, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// IPv6 (true) or IPv4.
    pub ipv6: bool,
}

/// An IP packet.
#[derive(Clone, Debug)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Payload protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// Set when the packet is a fragment.
    pub fragment: Option<Fragment>,
    /// The IP payload as captured (may be shorter than the header says).
    pub payload: &'a [u8],
    /// True when the capture cut the payload short (snap length).
    pub truncated: bool,
    /// The transport view, for unfragmented packets.
    pub l4: L4<'a>,
}

/// The transport layer.
#[derive(Clone, Debug)]
pub enum L4<'a> {
    /// A TCP segment.
    Tcp(TcpSegment<'a>),
    /// A UDP datagram.
    Udp(UdpDatagram<'a>),
    /// ICMP or ICMPv6: type and code.
    Icmp {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        code: u8,
    },
    /// Another protocol, a fragment, or a transport header that did not decode.
    Other,
    /// The TCP or UDP header was truncated or invalid.
    Malformed(&'static str),
}

/// TCP flag bits as in the header's 13th byte.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// A TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flag bits (see [`tcp_flags`]).
    pub flags: u8,
    /// Segment payload as captured.
    pub payload: &'a [u8],
}

impl TcpSegment<'_> {
    /// True when all bits of `flag` are set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// A UDP datagram.
#[derive(Clone, Copy, Debug)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload as captured.
    pub payload: &'a [u8],
}

/// Decodes one frame of the given link type.
// Always inlined, as is the Ethernet path below it: the engine calls it for
// every captured packet and, apart, for frames mirrored inside one; called
// from two places, LLVM stopped inlining it into the first, and the frame
// moved out of its result cost 1.5% of the flows stage.
#[inline(always)]
pub fn decode(link: LinkType, data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    match link {
        LinkType::Ethernet => match fast::ethernet(data) {
            Some(f) => Ok(f),
            None => decode_ethernet_slow(data),
        },
        LinkType::LinuxSll => {
            // SLL v1: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2).
            let hdr: [u8; 16] = data.get(..16).and_then(|h| h.try_into().ok()).ok_or(DecodeError::LinkTruncated {
                link: "linux-sll",
                need: 16,
                len: data.len(),
            })?;
            let addr_len = u16::from_be_bytes([hdr[4], hdr[5]]);
            let src_mac = sll_mac(addr_len, hdr.get(6..12));
            let proto = u16::from_be_bytes([hdr[14], hdr[15]]);
            Ok(from_ethertype(proto, data.get(16..).unwrap_or_default(), src_mac))
        }
        LinkType::LinuxSll2 => {
            // SLL v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1)
            // addr len(1) addr(8).
            let hdr: [u8; 20] = data.get(..20).and_then(|h| h.try_into().ok()).ok_or(DecodeError::LinkTruncated {
                link: "linux-sll2",
                need: 20,
                len: data.len(),
            })?;
            let proto = u16::from_be_bytes([hdr[0], hdr[1]]);
            let src_mac = sll_mac(u16::from(hdr[11]), hdr.get(12..18));
            Ok(from_ethertype(proto, data.get(20..).unwrap_or_default(), src_mac))
        }
        LinkType::Null | LinkType::Loop => {
            let hdr: [u8; 4] = data.get(..4).and_then(|h| h.try_into().ok()).ok_or(DecodeError::LinkTruncated {
                link: link.name(),
                need: 4,
                len: data.len(),
            })?;
            // NULL stores the family in the capturing host's byte order, which the
            // file does not say: accept either order (families are small numbers).
            let family = if link == LinkType::Loop {
                u32::from_be_bytes(hdr)
            } else {
                let le = u32::from_le_bytes(hdr);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes(hdr)
                }
            };
            // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD),
            // 28 (FreeBSD), 30 (macOS).
            let payload = data.get(4..).unwrap_or_default();
            match family {
                2 | 10 | 24 | 28 | 30 => decode_raw_ip(payload),
                other => Err(DecodeError::UnknownFamily(other)),
            }
        }
        LinkType::RawIp | LinkType::RawIpv4 | LinkType::RawIpv6 => decode_raw_ip(data),
    }
}

/// Ethernet through etherparse: every case the direct path leaves.
pub(crate) fn decode_ethernet_slow(data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    let p = LaxSlicedPacket::from_ethernet(data).map_err(|_| DecodeError::LinkTruncated {
        link: "ethernet",
        need: 14,
        len: data.len(),
    })?;
    let (src_mac, dst_mac) = match &p.link {
        Some(LinkSlice::Ethernet2(e)) => (Some(MacAddr(e.source())), Some(MacAddr(e.destination()))),
        _ => (None, None),
    };
    Ok(from_sliced(p, src_mac, dst_mac))
}

fn sll_mac(addr_len: u16, addr: Option<&[u8]>) -> Option<MacAddr> {
    if addr_len != 6 {
        return None;
    }
    addr.and_then(|a| <[u8; 6]>::try_from(a).ok()).map(MacAddr)
}

fn decode_raw_ip(data: &[u8]) -> Result<Frame<'_>, DecodeError> {
    let version = data.first().map(|b| b >> 4);
    let p = LaxSlicedPacket::from_ip(data)
        .map_err(|_| DecodeError::Network(if version == Some(6) { "ipv6" } else { "ipv4" }))?;
    Ok(from_sliced(p, None, None))
}

fn from_ethertype(proto: u16, payload: &[u8], src_mac: Option<MacAddr>) -> Frame<'_> {
    // SLL carries small non-EtherType protocol values: 0x0004 is 802.2 LLC
    // (LINUX_SLL_P_802_2); below 0x0600 there is nothing else we decode.
    if proto == 0x0004 {
        return Frame {
            src_mac: src_mac.into(),
            dst_mac: MaybeMac::NONE,
            vlan: None,
            net: net_8023(MAX_8023_LENGTH, payload),
        };
    }
    if proto < 0x0600 {
        return Frame { src_mac: src_mac.into(), dst_mac: MaybeMac::NONE, vlan: None, net: Net::None };
    }
    let p = LaxSlicedPacket::from_ether_type(EtherType(proto), payload);
    from_sliced(p, src_mac, None)
}

fn from_sliced<'a>(p: LaxSlicedPacket<'a>, src_mac: Option<MacAddr>, dst_mac: Option<MacAddr>) -> Frame<'a> {
    let vlan = p.link_exts.iter().rev().find_map(|ext| match ext {
        etherparse::LaxLinkExtSlice::Vlan(v) => Some(v.vlan_identifier().value()),
        _ => None,
    });
    let net = match &p.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            let pl = ip.payload();
            let fragment = ip.is_payload_fragmented().then(|| Fragment {
                id: u32::from(h.identification()),
                offset: u32::from(h.fragments_offset().value()) * 8,
                more: h.more_fragments(),
                ipv6: false,
            });
            Net::Ip(IpPacket {
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                proto: pl.ip_number.0,
                fragment,
                payload: pl.payload,
                truncated: pl.incomplete,
                l4: if fragment.is_some() { L4::Other } else { l4_from(&p.transport, pl.ip_number.0, pl.payload) },
            })
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            let pl = ip.payload();
            let fragment = ip.is_payload_fragmented().then(|| ipv6_fragment(ip.extensions()));
            Net::Ip(IpPacket {
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                proto: pl.ip_number.0,
                fragment,
                payload: pl.payload,
                truncated: pl.incomplete,
                l4: if fragment.is_some() { L4::Other } else { l4_from(&p.transport, pl.ip_number.0, pl.payload) },
            })
        }
        Some(LaxNetSlice::Arp(arp)) => Net::L2 { ethertype: ETHERTYPE_ARP, payload: arp.slice() },
        None => match p.ether_payload() {
            // etherparse reads an 802.3 length field as an EtherType.
            Some(ep) if ep.ether_type.0 <= MAX_8023_LENGTH => net_8023(ep.ether_type.0, ep.payload),
            Some(ep) => Net::L2 { ethertype: ep.ether_type.0, payload: ep.payload },
            None => Net::None,
        },
    };
    Frame { src_mac: src_mac.into(), dst_mac: dst_mac.into(), vlan, net }
}

fn ipv6_fragment(exts: &etherparse::Ipv6ExtensionsSlice<'_>) -> Fragment {
    for ext in exts.clone().into_iter() {
        if let etherparse::Ipv6ExtensionSlice::Fragment(f) = ext {
            return Fragment {
                id: f.identification(),
                offset: u32::from(f.fragment_offset().value()) * 8,
                more: f.more_fragments(),
                ipv6: true,
            };
        }
    }
    Fragment { id: 0, offset: 0, more: false, ipv6: true }
}

fn l4_from<'a>(t: &Option<TransportSlice<'a>>, proto: u8, payload: &'a [u8]) -> L4<'a> {
    match t {
        Some(TransportSlice::Tcp(tcp)) => L4::Tcp(tcp_view(tcp)),
        Some(TransportSlice::Udp(udp)) => L4::Udp(udp_view(udp)),
        Some(TransportSlice::Icmpv4(i)) => L4::Icmp { icmp_type: i.type_u8(), code: i.code_u8() },
        Some(TransportSlice::Icmpv6(i)) => L4::Icmp { icmp_type: i.type_u8(), code: i.code_u8() },
        // etherparse gave no transport: either a protocol it does not slice or
        // a header that did not fit. Decide which for TCP/UDP ourselves.
        _ => parse_transport(proto, payload),
    }
}

fn tcp_view<'a>(tcp: &TcpSlice<'a>) -> TcpSegment<'a> {
    let flags = tcp.header_slice().get(13).copied().unwrap_or(0);
    TcpSegment {
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags,
        payload: tcp.payload(),
    }
}

fn udp_view<'a>(udp: &UdpSlice<'a>) -> UdpDatagram<'a> {
    UdpDatagram { src_port: udp.source_port(), dst_port: udp.destination_port(), payload: udp.payload() }
}

/// Decodes a transport header from an IP payload: used for reassembled fragments
/// and for payloads etherparse declined.
pub fn parse_transport(proto: u8, payload: &[u8]) -> L4<'_> {
    match proto {
        6 => match TcpSlice::from_slice(payload) {
            Ok(tcp) => L4::Tcp(tcp_view(&tcp)),
            Err(_) => L4::Malformed("tcp"),
        },
        17 => match UdpSlice::from_slice_lax(payload) {
            Ok(udp) => L4::Udp(udp_view(&udp)),
            Err(_) => L4::Malformed("udp"),
        },
        1 | 58 => match payload {
            [t, c, ..] => L4::Icmp { icmp_type: *t, code: *c },
            _ => L4::Malformed(if proto == 1 { "icmp" } else { "icmpv6" }),
        },
        _ => L4::Other,
    }
}

#[cfg(test)]
mod tests;
