//! Mirror encapsulations: the frames a switch copies to a sensor that is not
//! on its own port. Remote SPAN sends them over GRE (ERSPAN types I, II and
//! III, or Ethernet over GRE), virtual switches and cloud traffic mirroring
//! over VXLAN. The sensor then sees one GRE or UDP flow between the switch and
//! itself, and the plant's traffic only inside it: these functions find the
//! mirrored frame in such a packet's IP payload. Hand-written: each header is
//! a few fixed fields (draft-foschiano-erspan-03, RFC 2784/2890 for GRE, RFC
//! 7348 for VXLAN), and no crate decodes them without a packet model of its own.
//!
//! GRE that carries IP is a routed tunnel between sites, not a mirror: the
//! tunnel is traffic of its own, and so are the packets inside it.
//!
//! MPLS is how utilities and pipelines carry substation and station traffic
//! between sites: a sensor on a provider or core link sees a label stack
//! (RFC 3032) before each IP packet (a layer-3 VPN) or before each site's
//! whole Ethernet frame (a pseudowire, RFC 4448). [`mpls`] finds what the
//! labels carry; the labels themselves are the link's, so nothing is a flow
//! of its own.
//!
//! An HSR ring (IEC 62439-3, in substations) tags every frame after its MAC
//! addresses with the sender's sequence number and sends it both ways round:
//! [`hsr`] reads the tag, and the engine analyses each frame once.

use crate::LinkType;

/// The UDP port VXLAN is sent to (RFC 7348).
pub const VXLAN_PORT: u16 = 4789;

/// IP protocol number of GRE.
pub const IP_PROTO_GRE: u8 = 47;

/// How a mirrored frame came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encapsulation {
    /// ERSPAN type I: GRE protocol 0x88BE without a sequence number, no header.
    ErspanI,
    /// ERSPAN type II: GRE protocol 0x88BE with a sequence number, an 8-byte header.
    ErspanII,
    /// ERSPAN type III: GRE protocol 0x22EB, a 12-byte header (and 8 more
    /// when it says a platform-specific subheader follows).
    ErspanIII,
    /// Ethernet over GRE (transparent Ethernet bridging, protocol 0x6558).
    GreEthernet,
    /// VXLAN over UDP port 4789.
    Vxlan,
    /// IPv4 or IPv6 over GRE: a routed tunnel, not a mirror.
    GreIp,
    /// An MPLS label stack before an IP packet or a pseudowire's Ethernet
    /// frame: how the link carries it, not a mirror.
    Mpls,
}

impl Encapsulation {
    /// A stable short name, for counting.
    pub fn name(self) -> &'static str {
        match self {
            Encapsulation::ErspanI => "erspan1",
            Encapsulation::ErspanII => "erspan2",
            Encapsulation::ErspanIII => "erspan3",
            Encapsulation::GreEthernet => "gre_ethernet",
            Encapsulation::Vxlan => "vxlan",
            Encapsulation::GreIp => "gre_ip",
            Encapsulation::Mpls => "mpls",
        }
    }

    /// True for the encapsulations a switch mirrors frames in: the packets
    /// that carry them are the mirror's, not the plant's.
    pub fn is_mirror(self) -> bool {
        !matches!(self, Encapsulation::GreIp | Encapsulation::Mpls)
    }
}

/// A mirrored frame found inside a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inner<'a> {
    /// The encapsulation it came in.
    pub encapsulation: Encapsulation,
    /// What `data` starts with: an Ethernet header, or an IPv4 or IPv6
    /// header (a routed tunnel's packet, ERSPAN III frame type 2), decoded as
    /// [`LinkType::RawIp`] decodes it.
    pub link: LinkType,
    /// The mirrored frame, as far as the capture holds it.
    pub data: &'a [u8],
    /// The VLAN the ERSPAN header names (0 when none), for a frame mirrored
    /// without its tag.
    pub vlan: u16,
}

const GRE_CHECKSUM: u16 = 0x8000;
const GRE_ROUTING: u16 = 0x4000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQUENCE: u16 = 0x1000;
const GRE_VERSION: u16 = 0x0007;

const PROTO_ERSPAN_I_II: u16 = 0x88be;
const PROTO_ERSPAN_III: u16 = 0x22eb;
const PROTO_TEB: u16 = 0x6558;
const PROTO_IPV4: u16 = 0x0800;
const PROTO_IPV6: u16 = 0x86dd;

/// The frame a GRE packet (the IP payload of protocol 47) carries: mirrored,
/// an IP packet in a routed tunnel, or what MPLS labels in it carry ([`mpls`]).
/// `None` when it carries something else, or is cut short before the frame
/// starts.
pub fn gre(payload: &[u8]) -> Option<Inner<'_>> {
    let (&[f0, f1, p0, p1], rest) = payload.split_first_chunk::<4>()?;
    let flags = u16::from_be_bytes([f0, f1]);
    // Version 1 is PPTP's enhanced GRE; a routing field (RFC 1701) no mirror sends.
    if flags & (GRE_VERSION | GRE_ROUTING) != 0 {
        return None;
    }
    let optional = [GRE_CHECKSUM, GRE_KEY, GRE_SEQUENCE].iter().filter(|&&f| flags & f != 0).count() * 4;
    let rest = rest.get(optional..)?;
    let inner = |encapsulation, link, data, vlan| Some(Inner { encapsulation, link, data, vlan });
    match u16::from_be_bytes([p0, p1]) {
        PROTO_ERSPAN_I_II if flags & GRE_SEQUENCE == 0 => inner(Encapsulation::ErspanI, LinkType::Ethernet, rest, 0),
        PROTO_ERSPAN_I_II => {
            let (&[v0, v1, ..], data) = rest.split_first_chunk::<8>()?;
            if v0 >> 4 != 1 {
                return None;
            }
            inner(Encapsulation::ErspanII, LinkType::Ethernet, data, u16::from_be_bytes([v0 & 0x0f, v1]))
        }
        PROTO_ERSPAN_III => {
            let (&[v0, v1, _, _, _, _, _, _, _, _, w2, w3], data) = rest.split_first_chunk::<12>()?;
            if v0 >> 4 != 2 {
                return None;
            }
            // The O bit: an 8-byte platform-specific subheader follows.
            let data = if w3 & 0x01 != 0 { data.get(8..)? } else { data };
            let link = match (w2 >> 2) & 0x1f {
                0 => LinkType::Ethernet,
                2 => LinkType::RawIp,
                _ => return None,
            };
            inner(Encapsulation::ErspanIII, link, data, u16::from_be_bytes([v0 & 0x0f, v1]))
        }
        PROTO_TEB => inner(Encapsulation::GreEthernet, LinkType::Ethernet, rest, 0),
        PROTO_IPV4 | PROTO_IPV6 => inner(Encapsulation::GreIp, LinkType::RawIp, rest, 0),
        // MPLS over GRE (RFC 4023): a provider's labelled packets between
        // sites; what the labels carry, as on a core link.
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => mpls(rest),
        _ => None,
    }
}

/// EtherType of the HSR tag (IEC 62439-3 High-availability Seamless
/// Redundancy): substation rings send every frame both ways round, each copy
/// tagged with its sender's sequence number.
pub const ETHERTYPE_HSR: u16 = 0x892f;

/// A frame's HSR tag (what follows its EtherType 0x892F) and the frame's own
/// EtherType and payload after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HsrTag<'a> {
    /// The ring direction (path identifier, 4 bits).
    pub path: u8,
    /// The sender's sequence number: both copies of a frame carry the same.
    pub sequence: u16,
    /// The frame's own EtherType.
    pub ethertype: u16,
    /// What follows it.
    pub payload: &'a [u8],
}

/// Reads an HSR tag; `None` when the bytes are too short for it.
pub fn hsr(payload: &[u8]) -> Option<HsrTag<'_>> {
    let (&[p0, _, s0, s1, e0, e1], payload) = payload.split_first_chunk::<6>()?;
    Some(HsrTag {
        path: p0 >> 4,
        sequence: u16::from_be_bytes([s0, s1]),
        ethertype: u16::from_be_bytes([e0, e1]),
        payload,
    })
}

/// The last two bytes of a frame with a PRP redundancy control trailer.
pub const PRP_SUFFIX: [u8; 2] = [0x88, 0xfb];

/// A PRP redundancy control trailer (IEC 62439-3 Parallel Redundancy
/// Protocol): the sender's sequence number, the same in the copy sent on
/// LAN A and the copy sent on LAN B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrpTrailer {
    /// The sender's sequence number.
    pub sequence: u16,
    /// The LAN the copy was sent on: 0xA or 0xB.
    pub lan: u8,
}

/// Reads the PRP trailer at the end of an Ethernet frame (`frame`, as
/// captured, whole): the suffix 0x88FB, a LAN identifier of A or B, and a
/// size that is the frame's after its addresses and type (and VLAN tag)
/// with the trailer. `None` when any is not so: a frame that merely ends
/// in 0x88FB has the odds of a 12-bit size and a 4-bit LAN against it.
pub fn prp(frame: &[u8], tagged: bool) -> Option<PrpTrailer> {
    let (_, &[s0, s1, l0, l1, x0, x1]) = frame.split_last_chunk::<6>()?;
    let lan = l0 >> 4;
    let size = usize::from(u16::from_be_bytes([l0 & 0x0f, l1]));
    let header = if tagged { 18 } else { 14 };
    if [x0, x1] != PRP_SUFFIX || !matches!(lan, 0xa | 0xb) || frame.len().checked_sub(header) != Some(size) {
        return None;
    }
    Some(PrpTrailer { sequence: u16::from_be_bytes([s0, s1]), lan })
}

/// EtherType of MPLS unicast.
pub const ETHERTYPE_MPLS: u16 = 0x8847;
/// EtherType of MPLS multicast (upstream-assigned labels, RFC 5332).
pub const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;

/// Label stack entries read before giving up: real stacks hold two to four
/// (transport, VPN or pseudowire, entropy, fast reroute).
const MAX_LABELS: usize = 8;

/// What an MPLS label stack (the payload of EtherType 0x8847 or 0x8848)
/// carries. The stack has no field naming it: the routers at a pseudowire's
/// ends know from signalling, and a sensor must guess from the bytes after
/// the bottom of the stack, as tshark and Suricata do.
///
/// - A first nibble of 4 or 6 with a sound IP header is an IP packet.
/// - Nibble 1 is the associated channel (OAM, RFC 5586): `None`.
/// - Anything else is an Ethernet pseudowire (RFC 4448), with or without its
///   optional control word (RFC 4385: a first nibble of 0, and fragment bits
///   that Ethernet leaves 0). Most controller and switch MACs also start with
///   a 0 nibble (00-1B-1B, 00-00-BC, 00-80-F4, ...), so both readings are
///   weighed by how well the frame's type fields fit ([`ethernet_fit`]); the
///   better one wins, and a tie goes to the word, as RFC 4448 recommends it
///   be sent.
/// - Where neither reading fits, a 4 or 6 is taken for IP cut short by the
///   capture, and anything else gives `None`.
///
/// `None` too for a stack whose bottom is not within [`MAX_LABELS`] or the
/// captured bytes.
pub fn mpls(payload: &[u8]) -> Option<Inner<'_>> {
    let mut rest = payload;
    for _ in 0..MAX_LABELS {
        let (&[_, _, tc_s, _], after) = rest.split_first_chunk::<4>()?;
        rest = after;
        if tc_s & 0x01 == 0 {
            continue;
        }
        let inner = |link, data| Some(Inner { encapsulation: Encapsulation::Mpls, link, data, vlan: 0 });
        let &[b0, b1, ..] = rest else { return None };
        let version = b0 >> 4;
        if (version == 4 && sound_ipv4(rest)) || (version == 6 && sound_ipv6(rest)) {
            return inner(LinkType::RawIp, rest);
        }
        if version == 1 {
            return None;
        }
        let plain = ethernet_fit(rest);
        let word = (version == 0 && b1 & 0xc0 == 0).then(|| ethernet_fit(rest.get(4..).unwrap_or_default()));
        return match word {
            Some(w) if w >= plain => inner(LinkType::Ethernet, rest.get(4..)?),
            _ if plain > 0 => inner(LinkType::Ethernet, rest),
            _ if version == 4 || version == 6 => inner(LinkType::RawIp, rest),
            _ => None,
        };
    }
    None
}

/// An IPv4 header whose header and total lengths fit each other.
fn sound_ipv4(p: &[u8]) -> bool {
    let ihl = p.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    let total = match p.get(2..4) {
        Some(&[t0, t1]) => usize::from(u16::from_be_bytes([t0, t1])),
        _ => 0,
    };
    ihl >= 20 && total >= ihl && total <= p.len()
}

/// An IPv6 header whose payload the bytes hold.
fn sound_ipv6(p: &[u8]) -> bool {
    match p.get(4..6) {
        Some(&[l0, l1]) => p.len() >= 40 && 40 + usize::from(u16::from_be_bytes([l0, l1])) <= p.len(),
        _ => false,
    }
}

/// How well bytes read as an Ethernet frame a plant sends: 0 when the type
/// field (after the two addresses, and after up to two VLAN tags) is none a
/// plant's network carries; one point for each tag and for the type; one
/// more when the bytes after an IP or ARP type start as that header does.
fn ethernet_fit(frame: &[u8]) -> u8 {
    let mut fit = 0;
    let mut at = 12;
    for _ in 0..3 {
        let Some(&[t0, t1]) = frame.get(at..at + 2) else { return 0 };
        let next = frame.get(at + 2).copied().unwrap_or(0xff);
        let body = match u16::from_be_bytes([t0, t1]) {
            0x8100 | 0x88a8 | 0x9100 => {
                fit += 1;
                at += 4;
                continue;
            }
            0x0800 => 1 + u8::from(next >> 4 == 4),
            0x86dd => 1 + u8::from(next >> 4 == 6),
            // Hardware type 1 (Ethernet).
            0x0806 => 1 + u8::from(next == 0),
            // An 802.3 length the frame holds.
            len @ 0..=0x05dc => u8::from(usize::from(len) + at + 2 <= frame.len()),
            // MPLS, Profinet, GOOSE, GSE, sampled values, EtherCAT, POWERLINK,
            // LLDP, MRP, PTP, PRP, HSR, 802.1X, slow protocols (LACP).
            ETHERTYPE_MPLS
            | ETHERTYPE_MPLS_MULTICAST
            | 0x8892
            | 0x88b8
            | 0x88b9
            | 0x88ba
            | 0x88a4
            | 0x88ab
            | 0x88cc
            | 0x88e3
            | 0x88f7
            | 0x88fb
            | 0x892f
            | 0x888e
            | 0x8809 => 1,
            _ => 0,
        };
        return if body == 0 { 0 } else { fit + body };
    }
    0
}

/// The mirrored frame in a VXLAN datagram (the UDP payload), or `None` when
/// the header's I flag (a valid network identifier) is not set or the
/// datagram is shorter than the header.
pub fn vxlan(payload: &[u8]) -> Option<Inner<'_>> {
    let (&[flags, ..], data) = payload.split_first_chunk::<8>()?;
    if flags & 0x08 == 0 {
        return None;
    }
    Some(Inner { encapsulation: Encapsulation::Vxlan, link: LinkType::Ethernet, data, vlan: 0 })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FRAME: &[u8] = &[0xaa; 20];

    fn gre_header(flags: u16, proto: u16, optional: usize) -> Vec<u8> {
        let mut b = flags.to_be_bytes().to_vec();
        b.extend(proto.to_be_bytes());
        b.extend(vec![0x11; optional]);
        b
    }

    #[test]
    fn reads_each_erspan_type_and_ethernet_over_gre() {
        let mut one = gre_header(0, 0x88be, 0);
        one.extend(FRAME);
        assert_eq!(
            gre(&one).unwrap(),
            Inner { encapsulation: Encapsulation::ErspanI, link: LinkType::Ethernet, data: FRAME, vlan: 0 }
        );

        // Type II: sequence number, then version 1, VLAN 0x123, the rest.
        let mut two = gre_header(GRE_SEQUENCE, 0x88be, 4);
        two.extend([0x11, 0x23, 0x10, 0x05, 0, 0, 0, 7]);
        two.extend(FRAME);
        let i = gre(&two).unwrap();
        assert_eq!((i.encapsulation, i.vlan, i.data), (Encapsulation::ErspanII, 0x123, FRAME));

        // Type III with key and sequence, frame type Ethernet, then with the
        // O bit and its subheader, then frame type IP.
        let mut three = gre_header(GRE_KEY | GRE_SEQUENCE, 0x22eb, 8);
        three.extend([0x20, 0x0a, 0, 1, 9, 9, 9, 9, 0, 0, 0, 0]);
        three.extend(FRAME);
        let i = gre(&three).unwrap();
        assert_eq!(
            (i.encapsulation, i.link, i.vlan, i.data),
            (Encapsulation::ErspanIII, LinkType::Ethernet, 10, FRAME)
        );
        let mut sub = gre_header(0, 0x22eb, 0);
        sub.extend([0x20, 0, 0, 1, 9, 9, 9, 9, 0, 0, 0, 1]);
        sub.extend([0xee; 8]);
        sub.extend(FRAME);
        assert_eq!(gre(&sub).unwrap().data, FRAME);
        let mut ip = gre_header(0, 0x22eb, 0);
        ip.extend([0x20, 0, 0, 1, 9, 9, 9, 9, 0, 0, 2 << 2, 0]);
        ip.extend(FRAME);
        assert_eq!(gre(&ip).unwrap().link, LinkType::RawIp);

        let mut teb = gre_header(GRE_CHECKSUM, 0x6558, 4);
        teb.extend(FRAME);
        assert_eq!(gre(&teb).unwrap().encapsulation, Encapsulation::GreEthernet);
        assert_eq!(gre(&teb).unwrap().data, FRAME);
    }

    #[test]
    fn reads_routed_tunnels_and_leaves_other_versions_and_short_headers() {
        // IP over GRE is a routed tunnel: its packet, not a mirror's frame.
        let mut ip = gre_header(GRE_KEY, 0x0800, 4);
        ip.extend(FRAME);
        let i = gre(&ip).unwrap();
        assert_eq!((i.encapsulation, i.link, i.data), (Encapsulation::GreIp, LinkType::RawIp, FRAME));
        assert!(!i.encapsulation.is_mirror() && Encapsulation::ErspanII.is_mirror());
        assert_eq!(gre(&gre_header(0, 0x880b, 0)), None, "PPP is neither");
        // MPLS over GRE: what the labels carry.
        let mut labelled = gre_header(0, 0x8847, 0);
        labelled.extend((24u32 << 12 | 1 << 8 | 64).to_be_bytes());
        labelled.extend([0x45, 0, 0, 20]);
        labelled.extend([0; 16]);
        let i = gre(&labelled).unwrap();
        assert_eq!((i.encapsulation, i.link, i.data.len()), (Encapsulation::Mpls, LinkType::RawIp, 20));
        // PPTP's GRE (version 1), a routing field.
        assert_eq!(gre(&gre_header(0x0001, 0x6558, 0)), None);
        assert_eq!(gre(&gre_header(GRE_ROUTING, 0x6558, 8)), None);
        // A type II header with the wrong version, and cut short.
        let mut bad = gre_header(GRE_SEQUENCE, 0x88be, 4);
        bad.extend([0x21, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(gre(&bad), None);
        let mut short = gre_header(GRE_SEQUENCE, 0x88be, 4);
        short.extend([0x10, 0, 0]);
        assert_eq!(gre(&short), None);
        // An ERSPAN III frame type that is neither Ethernet nor IP.
        let mut ft = gre_header(0, 0x22eb, 0);
        ft.extend([0x20, 0, 0, 1, 9, 9, 9, 9, 0, 0, 5 << 2, 0]);
        assert_eq!(gre(&ft), None);
    }

    #[test]
    fn reads_vxlan_with_its_i_flag_only() {
        let mut v = vec![0x08, 0, 0, 0, 0, 0x12, 0x34, 0];
        v.extend(FRAME);
        assert_eq!(vxlan(&v).unwrap().data, FRAME);
        v[0] = 0;
        assert_eq!(vxlan(&v), None);
        assert_eq!(vxlan(&[0x08, 0, 0]), None);
    }

    /// A label stack entry: label, traffic class 0, bottom-of-stack bit, TTL 64.
    fn label(label: u32, bottom: bool) -> [u8; 4] {
        (label << 12 | u32::from(bottom) << 8 | 64).to_be_bytes()
    }

    #[test]
    fn reads_a_prp_trailer_only_where_its_size_fits() {
        let frame = |payload: usize, lan: u8, tagged: bool| {
            let mut f = vec![0u8; if tagged { 18 } else { 14 }];
            f.extend(vec![0x55; payload]);
            let size = u16::try_from(payload + 6).unwrap();
            f.extend(0x0102u16.to_be_bytes());
            f.extend((u16::from(lan) << 12 | size).to_be_bytes());
            f.extend(PRP_SUFFIX);
            f
        };
        assert_eq!(prp(&frame(46, 0xa, false), false), Some(PrpTrailer { sequence: 0x0102, lan: 0xa }));
        assert_eq!(prp(&frame(100, 0xb, true), true), Some(PrpTrailer { sequence: 0x0102, lan: 0xb }));
        assert_eq!(prp(&frame(100, 0xb, true), false), None, "the size counts the tag");
        assert_eq!(prp(&frame(46, 0xc, false), false), None, "LAN C");
        let mut short = frame(46, 0xa, false);
        short.remove(20);
        assert_eq!(prp(&short, false), None, "size off by one");
        assert_eq!(prp(&PRP_SUFFIX, false), None);
    }

    #[test]
    fn reads_an_hsr_tag() {
        let tagged = [&[0x10, 0x48, 0x12, 0x34, 0x08, 0x00][..], FRAME].concat();
        assert_eq!(hsr(&tagged), Some(HsrTag { path: 1, sequence: 0x1234, ethertype: 0x0800, payload: FRAME }));
        assert_eq!(hsr(&tagged[..5]), None);
    }

    #[test]
    fn reads_what_an_mpls_label_stack_carries() {
        let ipv4 = [0x45, 0, 0, 20];
        let ipv6 = [0x60, 0, 0, 0];
        // A layer-3 VPN: transport and VPN labels, then the IP packet.
        for ip in [&ipv4[..], &ipv6[..]] {
            let stack = [&label(16_001, false)[..], &label(24, true), ip].concat();
            let i = mpls(&stack).unwrap();
            assert_eq!((i.encapsulation, i.link, i.data, i.vlan), (Encapsulation::Mpls, LinkType::RawIp, ip, 0));
            assert!(!i.encapsulation.is_mirror());
        }
        // One label (penultimate hop popping left the VPN label alone).
        assert_eq!(mpls(&[&label(3_000, true)[..], &ipv4].concat()).unwrap().data, ipv4);
        // A pseudowire: a control word (first nibble 0), then the site's
        // frame; and the same frame without the word. Its destination is a
        // Siemens MAC, whose first nibble is 0 too.
        let frame = [&[0x00, 0x1b, 0x1b, 1, 2, 3][..], &[0x3c, 0x52, 0x82, 4, 5, 6], &[0x08, 0x00], &ipv4].concat();
        let pw = [&label(16_001, false)[..], &label(299_776, true), &[0, 0, 0, 7], &frame].concat();
        let i = mpls(&pw).unwrap();
        assert_eq!((i.link, i.data), (LinkType::Ethernet, &frame[..]));
        let no_word = [&label(299_777, true)[..], &frame].concat();
        assert_eq!(mpls(&no_word).unwrap().data, frame);
        // A frame from a MAC starting 4 (no sound IPv4 header there), and one
        // tagged, without the word.
        let mut four = frame.clone();
        four[0] = 0x40;
        assert_eq!(mpls(&[&label(299_777, true)[..], &four].concat()).unwrap().data, four);
        let tagged = [&frame[..12], &[0x81, 0x00, 0x00, 0x0a], &frame[12..]].concat();
        assert_eq!(mpls(&[&label(299_777, true)[..], &tagged].concat()).unwrap().link, LinkType::Ethernet);
        // A Rockwell controller's MAC (00-00-BC) starts like a control word:
        // a tagged frame from it reads as tagged, with the word or without.
        let rockwell =
            [&[0x00, 0x00, 0xbc, 1, 2, 3][..], &[0x00, 0x1b, 0x1b, 4, 5, 6], &[0x81, 0, 0, 0x0a, 0x08, 0x00], &ipv4]
                .concat();
        assert_eq!(mpls(&[&label(299_777, true)[..], &rockwell].concat()).unwrap().data, rockwell);
        let with_word = [&label(299_776, true)[..], &[0, 0, 0, 9], &rockwell].concat();
        assert_eq!(mpls(&with_word).unwrap().data, rockwell);
        // An IPv4 packet the capture cut short: no Ethernet reading fits it.
        let cut = [&label(24, true)[..], &[0x45, 0, 0x05, 0xdc, 0, 0, 0x40, 0, 64, 6, 0, 0]].concat();
        assert_eq!(mpls(&cut).unwrap().link, LinkType::RawIp);
        // Bytes that fit neither reading with the word's shape: the word.
        let odd = [&[0u8, 0, 0, 1][..], &[0x77; 20]].concat();
        assert_eq!(mpls(&[&label(5, true)[..], &odd].concat()).unwrap().data, &odd[4..]);
        // Eight labels are read; a ninth is past what any real stack holds.
        let deep = |n: usize| {
            let mut v: Vec<u8> = (0..n - 1).flat_map(|i| label(100 + i as u32, false)).collect();
            v.extend(label(999, true));
            v.extend(ipv4);
            v
        };
        assert_eq!(mpls(&deep(8)).unwrap().data, ipv4);
        assert_eq!(mpls(&deep(9)), None);
    }

    #[test]
    fn leaves_what_an_mpls_stack_does_not_say() {
        // The associated channel (OAM), a pseudowire without a control word
        // (a MAC address first), no bottom of stack, cut short.
        assert_eq!(mpls(&[&label(13, true)[..], &[0x10, 0, 0, 1]].concat()), None);
        assert_eq!(mpls(&[&label(24, true)[..], &[0x00, 0x1b, 0x1b]].concat()), None, "control word cut short");
        assert_eq!(mpls(&[&label(24, true)[..], &[0xa4, 0x1b, 0x1b, 0, 0, 1]].concat()), None, "no frame");
        assert_eq!(mpls(&[&label(24, true)[..], &[0x45]].concat()), None);
        assert_eq!(mpls(&label(24, false)), None);
        assert_eq!(mpls(&label(24, true)), None, "nothing after the stack");
        assert_eq!(mpls(&[0x00, 0x18]), None);
        assert_eq!(mpls(&[]), None);
    }

    proptest! {
        #[test]
        fn any_bytes_give_an_answer_inside_them(data in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Some(t) = hsr(&data) {
                prop_assert_eq!(t.payload.len() + 6, data.len());
            }
            for inner in [gre(&data), vxlan(&data), mpls(&data)].into_iter().flatten() {
                let start = inner.data.as_ptr() as usize - data.as_ptr() as usize;
                prop_assert!(start + inner.data.len() == data.len());
            }
        }
    }
}
