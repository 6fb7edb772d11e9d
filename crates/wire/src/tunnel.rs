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
        }
    }

    /// True for the encapsulations a switch mirrors frames in: the packets
    /// that carry them are the mirror's, not the plant's.
    pub fn is_mirror(self) -> bool {
        self != Encapsulation::GreIp
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
/// or an IP packet in a routed tunnel. `None` when it carries something else,
/// or is cut short before the frame starts.
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
        _ => None,
    }
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

    proptest! {
        #[test]
        fn any_bytes_give_an_answer_inside_them(data in prop::collection::vec(any::<u8>(), 0..64)) {
            for inner in [gre(&data), vxlan(&data)].into_iter().flatten() {
                let start = inner.data.as_ptr() as usize - data.as_ptr() as usize;
                prop_assert!(start + inner.data.len() == data.len());
            }
        }
    }
}
