//! The direct decode path for the frames that make up nearly all traffic:
//! Ethernet II, up to two VLAN tags, IPv4 (RFC 791) or IPv6 without extension
//! headers (RFC 8200), and TCP, UDP or ICMP; IEEE 802.3 frames with an
//! 802.2 LLC header (spanning tree, CDP); and MPLS label stacks and HSR
//! tags, handed on. Returns `None` for anything else,
//! and for anything odd (bad lengths, extension headers), so that the etherparse
//! path decides those cases and names their errors.

use crate::{net_8023, Fragment, Frame, IpPacket, Net, TcpSegment, UdpDatagram, L4, MAX_8023_LENGTH};
use otposture_model::MaybeMac;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// Decodes an Ethernet frame, or declines.
// Always: inlined into `decode` wherever that is (see there).
#[inline(always)]
pub(crate) fn ethernet(d: &[u8]) -> Option<Frame<'_>> {
    let dst: [u8; 6] = d.get(0..6)?.try_into().ok()?;
    let src: [u8; 6] = d.get(6..12)?.try_into().ok()?;
    let mut et = be16(d, 12)?;
    let mut off = 14;
    let mut vlan = None;
    let mut tags = 0;
    // 802.1Q (0x8100), 802.1ad (0x88a8) and the pre-standard 0x9100 S-tag.
    while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
        tags += 1;
        if tags > 2 {
            return None;
        }
        vlan = Some(be16(d, off)? & 0x0fff);
        et = be16(d, off + 2)?;
        off += 4;
    }
    let payload = d.get(off..)?;
    let net = match et {
        0x0800 => Net::Ip(ipv4(payload)?),
        0x86dd => Net::Ip(ipv6(payload)?),
        // IEEE 802.3 with 802.2 LLC: spanning tree BPDUs every two seconds per
        // switch port, CDP, VTP, DTP.
        0..=MAX_8023_LENGTH => net_8023(et, payload),
        // MPLS and HSR: the engine reads the label stack or the tag
        // (`tunnel::mpls`, `tunnel::hsr`); etherparse would only hand the
        // same payload back, at its cost.
        crate::tunnel::ETHERTYPE_MPLS | crate::tunnel::ETHERTYPE_MPLS_MULTICAST | crate::tunnel::ETHERTYPE_HSR => {
            Net::L2 { ethertype: et, payload }
        }
        _ => return None,
    };
    Some(Frame { src_mac: MaybeMac::from_bytes(src), dst_mac: MaybeMac::from_bytes(dst), vlan, net })
}

// Always inlined: built out of line, the packet was written field by field
// and then copied whole into the frame, and the copy's wide loads waited on
// the narrow stores (a store-forwarding stall, a fifth of `Engine::packet`).
#[inline(always)]
fn ipv4(p: &[u8]) -> Option<IpPacket<'_>> {
    let b0 = *p.first()?;
    let ihl = usize::from(b0 & 0x0f) * 4;
    if b0 >> 4 != 4 || ihl < 20 || p.len() < ihl {
        return None;
    }
    let total = usize::from(be16(p, 2)?);
    if total < ihl {
        // Zero (segmentation offload) or inconsistent: etherparse's rules apply.
        return None;
    }
    let flags_frag = be16(p, 6)?;
    let proto = *p.get(9)?;
    let src = Ipv4Addr::from(be32(p, 12)?);
    let dst = Ipv4Addr::from(be32(p, 16)?);
    let end = total.min(p.len());
    let payload = p.get(ihl..end)?;
    let more = flags_frag & 0x2000 != 0;
    let offset = u32::from(flags_frag & 0x1fff) * 8;
    let fragment =
        (more || offset != 0).then(|| Fragment { id: u32::from(be16(p, 4).unwrap_or(0)), offset, more, ipv6: false });
    let l4 = if fragment.is_some() { L4::Other } else { transport(proto, payload) };
    Some(IpPacket {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        proto,
        fragment,
        payload,
        truncated: total > p.len(),
        l4,
    })
}

#[inline(always)]
fn ipv6(p: &[u8]) -> Option<IpPacket<'_>> {
    if p.first()? >> 4 != 6 || p.len() < 40 {
        return None;
    }
    let next = *p.get(6)?;
    // Only the upper-layer protocols we slice here; extension headers and the
    // rest go the etherparse way.
    if !matches!(next, 6 | 17 | 58) {
        return None;
    }
    let plen = usize::from(be16(p, 4)?);
    if plen == 0 {
        // Jumbogram or offload: leave it to etherparse.
        return None;
    }
    let src: [u8; 16] = p.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = p.get(24..40)?.try_into().ok()?;
    let end = (40 + plen).min(p.len());
    let payload = p.get(40..end)?;
    Some(IpPacket {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        proto: next,
        fragment: None,
        payload,
        truncated: 40 + plen > p.len(),
        l4: transport(next, payload),
    })
}

/// TCP (RFC 793 §3.1), UDP (RFC 768) and ICMP headers over an IP payload.
// Always inlined, like `ipv4` and `ipv6`: called from both, LLVM built it out
// of line, and the caller's wide copy of the segment it had just written field
// by field stalled on store forwarding (perf: a sixth of `Engine::packet`).
#[inline(always)]
pub(crate) fn transport(proto: u8, p: &[u8]) -> L4<'_> {
    match proto {
        6 => {
            let doff = p.get(12).map_or(0, |b| usize::from(b >> 4) * 4);
            match (doff >= 20 && doff <= p.len(), be16(p, 0), be16(p, 2), be32(p, 4), be32(p, 8), p.get(13)) {
                (true, Some(src_port), Some(dst_port), Some(seq), Some(ack), Some(&flags)) => L4::Tcp(TcpSegment {
                    src_port,
                    dst_port,
                    seq,
                    ack,
                    flags,
                    payload: p.get(doff..).unwrap_or_default(),
                }),
                _ => L4::Malformed("tcp"),
            }
        }
        17 => match (be16(p, 0), be16(p, 2), be16(p, 4), p.len() >= 8) {
            (Some(src_port), Some(dst_port), Some(len), true) => {
                // A length field beyond the captured bytes is a snapped datagram;
                // one below the header size is ignored, as etherparse's lax mode does.
                let end = if usize::from(len) >= 8 { usize::from(len).min(p.len()) } else { p.len() };
                L4::Udp(UdpDatagram { src_port, dst_port, payload: p.get(8..end).unwrap_or_default() })
            }
            _ => L4::Malformed("udp"),
        },
        1 | 58 => match p {
            [t, c, ..] => L4::Icmp { icmp_type: *t, code: *c },
            _ => L4::Malformed(if proto == 1 { "icmp" } else { "icmpv6" }),
        },
        _ => L4::Other,
    }
}
