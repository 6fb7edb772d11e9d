//! LLDP (IEEE 802.1AB, EtherType 0x88CC): what switches, routers, PLCs and
//! PROFINET devices announce about themselves to their neighbours.
//!
//! Owns reading one LLDPDU's TLVs (type 7 bits, length 9 bits) and reporting
//! the sender as an `lldp.neighbor` identity event: `chassis_id` (MAC or
//! network address as text, else the bytes in hex) with `chassis_id_subtype`,
//! `port_id` and `port_id_subtype`, `ttl`, `port_description`, `system_name`,
//! `system_description`, `capabilities` and `enabled_capabilities` (comma-
//! separated names: `other`, `repeater`, `bridge`, `wlan_access_point`,
//! `router`, `telephone`, `docsis_cable_device`, `station_only`, `c_vlan`,
//! `s_vlan`, `two_port_mac_relay`), `management_address` (the first; more
//! are counted in `management_addresses`), `port_vlan` (IEEE 802.1 port VLAN
//! id) and `shutdown` (`true` when TTL is 0). Each LLDPDU is counted as
//! `lldpdu`, class `discovery`. Stateless: neighbour tables and changes are for
//! the inventory and monitoring.

use crate::cursor::Cursor;
use crate::{Emit, FrameDissector, PacketCtx};
use otposture_model::{EventKind, OperationClass};
use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

const PROTOCOL: &str = "lldp";

/// EtherType of LLDP.
pub const ETHERTYPE_LLDP: u16 = 0x88cc;

/// Largest text copied from a string TLV (a system description runs to 255 bytes).
const MAX_TEXT: usize = 255;

/// TLV types (IEEE 802.1AB-2016 table 8-1).
pub mod tlv {
    /// End of LLDPDU.
    pub const END: u8 = 0;
    /// Chassis ID.
    pub const CHASSIS_ID: u8 = 1;
    /// Port ID.
    pub const PORT_ID: u8 = 2;
    /// Time to live.
    pub const TTL: u8 = 3;
    /// Port description.
    pub const PORT_DESCRIPTION: u8 = 4;
    /// System name.
    pub const SYSTEM_NAME: u8 = 5;
    /// System description.
    pub const SYSTEM_DESCRIPTION: u8 = 6;
    /// System capabilities.
    pub const CAPABILITIES: u8 = 7;
    /// Management address.
    pub const MANAGEMENT_ADDRESS: u8 = 8;
    /// Organisationally specific.
    pub const ORG_SPECIFIC: u8 = 127;
}

/// Why an LLDPDU could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LldpError {
    /// A TLV's length runs past the frame.
    TlvLength,
    /// The three mandatory TLVs (chassis ID, port ID, TTL) do not open it.
    MissingMandatory,
}

impl LldpError {
    /// The anomaly name counted on the capture.
    pub fn what(self) -> &'static str {
        match self {
            LldpError::TlvLength => "lldp_bad_tlv_length",
            LldpError::MissingMandatory => "lldp_missing_mandatory_tlv",
        }
    }
}

/// The TLVs of an LLDPDU, up to End: (type, value). An `Err` ends the list.
pub fn tlvs(data: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), LldpError>> {
    let mut c = Cursor::new(data);
    let mut done = false;
    std::iter::from_fn(move || {
        if done || c.remaining() < 2 {
            return None;
        }
        let header = c.be_u16()?;
        let (kind, len) = ((header >> 9) as u8, usize::from(header & 0x01ff));
        let Some(value) = c.take(len) else {
            done = true;
            return Some(Err(LldpError::TlvLength));
        };
        if kind == tlv::END {
            done = true;
            return None;
        }
        Some(Ok((kind, value)))
    })
}

/// The names of the capability bits set in `bits`.
pub fn capabilities(bits: u16) -> Vec<&'static str> {
    const NAMES: [&str; 11] = [
        "other",
        "repeater",
        "bridge",
        "wlan_access_point",
        "router",
        "telephone",
        "docsis_cable_device",
        "station_only",
        "c_vlan",
        "s_vlan",
        "two_port_mac_relay",
    ];
    NAMES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n).collect()
}

fn text(b: &[u8]) -> String {
    let b = b.get(..MAX_TEXT.min(b.len())).unwrap_or_default();
    String::from_utf8_lossy(b).trim_end_matches(['\0', ' ', '\r', '\n']).to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().take(32).map(|x| format!("{x:02x}")).collect()
}

fn mac(b: &[u8]) -> Option<String> {
    (b.len() == 6).then(|| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":"))
}

/// An IANA address family number and address, as text.
fn network_address(family: u8, addr: &[u8]) -> Option<String> {
    match family {
        1 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(addr).ok()?).to_string()),
        2 => Some(Ipv6Addr::from(<[u8; 16]>::try_from(addr).ok()?).to_string()),
        6 => mac(addr),
        _ => None,
    }
}

/// A chassis or port ID as text: MAC addresses and network addresses
/// formatted, names as text, anything else in hex.
fn id_text(subtype: u8, value: &[u8], mac_subtype: u8, address_subtype: u8, text_subtypes: &[u8]) -> String {
    if subtype == mac_subtype {
        if let Some(m) = mac(value) {
            return m;
        }
    }
    if subtype == address_subtype {
        if let Some((&family, addr)) = value.split_first() {
            if let Some(a) = network_address(family, addr) {
                return a;
            }
        }
    }
    if text_subtypes.contains(&subtype) && value.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return text(value);
    }
    hex(value)
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

/// The LLDP frame dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lldp;

impl FrameDissector for Lldp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn ethertype(&self) -> u16 {
        ETHERTYPE_LLDP
    }

    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        let mut a = Vec::new();
        let mut seen = Vec::with_capacity(3);
        let mut management = 0usize;
        for t in tlvs(data) {
            let (kind, v) = match t {
                Ok(t) => t,
                Err(e) => {
                    emit.malformed(ctx, PROTOCOL, e.what());
                    break;
                }
            };
            if seen.len() < 3 {
                seen.push(kind);
            }
            match kind {
                tlv::CHASSIS_ID => {
                    if let Some((&sub, id)) = v.split_first() {
                        // Subtypes: 4 MAC address, 5 network address, 7 locally assigned.
                        push(&mut a, "chassis_id", id_text(sub, id, 4, 5, &[1, 2, 3, 6, 7]));
                        push(&mut a, "chassis_id_subtype", sub.to_string());
                    }
                }
                tlv::PORT_ID => {
                    if let Some((&sub, id)) = v.split_first() {
                        // Subtypes: 3 MAC address, 4 network address, 5 interface name, 7 locally assigned.
                        push(&mut a, "port_id", id_text(sub, id, 3, 4, &[1, 2, 5, 6, 7]));
                        push(&mut a, "port_id_subtype", sub.to_string());
                    }
                }
                tlv::TTL => {
                    if let [hi, lo] = *v {
                        let ttl = u16::from_be_bytes([hi, lo]);
                        push(&mut a, "ttl", ttl.to_string());
                        if ttl == 0 {
                            push(&mut a, "shutdown", "true".to_string());
                        }
                    }
                }
                tlv::PORT_DESCRIPTION => push(&mut a, "port_description", text(v)),
                tlv::SYSTEM_NAME => push(&mut a, "system_name", text(v)),
                tlv::SYSTEM_DESCRIPTION => push(&mut a, "system_description", text(v)),
                tlv::CAPABILITIES => {
                    if let [a1, a2, e1, e2] = *v {
                        push(&mut a, "capabilities", capabilities(u16::from_be_bytes([a1, a2])).join(","));
                        push(&mut a, "enabled_capabilities", capabilities(u16::from_be_bytes([e1, e2])).join(","));
                    }
                }
                tlv::MANAGEMENT_ADDRESS => {
                    management += 1;
                    if management == 1 {
                        // Address string length (subtype included), subtype, address.
                        let mut c = Cursor::new(v);
                        let addr = c.u8().and_then(|len| c.take(usize::from(len)));
                        if let Some(s) = addr.and_then(|x| x.split_first()).and_then(|(&f, x)| network_address(f, x)) {
                            push(&mut a, "management_address", s);
                        }
                    }
                }
                tlv::ORG_SPECIFIC => {
                    // IEEE 802.1 (00-80-C2) subtype 1: the port VLAN id.
                    if let [0x00, 0x80, 0xc2, 0x01, hi, lo] = *v {
                        push(&mut a, "port_vlan", u16::from_be_bytes([hi, lo]).to_string());
                    }
                }
                _ => {}
            }
        }
        if management > 1 {
            push(&mut a, "management_addresses", management.to_string());
        }
        if seen.as_slice() != [tlv::CHASSIS_ID, tlv::PORT_ID, tlv::TTL] {
            emit.malformed(ctx, PROTOCOL, LldpError::MissingMandatory.what());
        }
        emit.message(ctx, PROTOCOL, Cow::Borrowed("lldpdu"), OperationClass::Discovery);
        if !a.is_empty() {
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "lldp.neighbor");
            e.attributes = a;
            emit.event(e);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::test_support::{event_attr, Recorder};
    use otposture_model::{Direction, Timestamp};
    use proptest::prelude::*;

    fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
        let header = (u16::from(kind) << 9) | value.len() as u16;
        let mut v = header.to_be_bytes().to_vec();
        v.extend_from_slice(value);
        v
    }

    fn ctx() -> PacketCtx<'static> {
        PacketCtx { direction: Some(Direction::ToServer), ..PacketCtx::at(Timestamp(0), 1) }
    }

    /// A SCALANCE-like switch: chassis MAC, port by name, TTL 20, names,
    /// bridge and router capable with bridge enabled, an IPv4 management
    /// address, port VLAN 10.
    fn switch() -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(tlv(1, &[4, 0x00, 0x1b, 0x1b, 0x6b, 0x2e, 0x10])); // chassis: MAC
        f.extend(tlv(2, b"\x05port-003")); // port: interface name
        f.extend(tlv(3, &[0, 20])); // TTL
        f.extend(tlv(4, b"Siemens, SIMATIC NET, Ethernet Port, X1 P3"));
        f.extend(tlv(5, b"scalance-cell3"));
        f.extend(tlv(6, b"Siemens, SIMATIC NET, SCALANCE X208, 6GK5 208-0BA10-2AA3, HW: 6, FW: V4.2.0"));
        f.extend(tlv(7, &[0x00, 0x14, 0x00, 0x04])); // bridge+router capable, bridge enabled
        f.extend(tlv(8, &[5, 1, 192, 168, 1, 2, 2, 0, 0, 0, 1, 0])); // IPv4, ifIndex 1
        f.extend(tlv(127, &[0x00, 0x80, 0xc2, 0x01, 0x00, 0x0a])); // 802.1 port VLAN 10
        f.extend(tlv(0, &[]));
        f
    }

    #[test]
    fn reads_a_switch_announcement() {
        let mut r = Recorder::default();
        Lldp.frame(&ctx(), &switch(), &mut r);
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        assert_eq!(r.messages[0].2, "lldpdu");
        let e = &r.events[0];
        for (k, v) in [
            ("chassis_id", "00:1b:1b:6b:2e:10"),
            ("chassis_id_subtype", "4"),
            ("port_id", "port-003"),
            ("ttl", "20"),
            ("system_name", "scalance-cell3"),
            ("capabilities", "bridge,router"),
            ("enabled_capabilities", "bridge"),
            ("management_address", "192.168.1.2"),
            ("port_vlan", "10"),
        ] {
            assert_eq!(event_attr(e, k), Some(v), "{k}");
        }
        assert!(event_attr(e, "system_description").unwrap().contains("SCALANCE X208"));
    }

    #[test]
    fn a_cut_tlv_is_malformed_and_what_came_before_is_kept() {
        let mut f = switch();
        f.truncate(30);
        let mut r = Recorder::default();
        Lldp.frame(&ctx(), &f, &mut r);
        assert_eq!(r.malformed, vec!["lldp_bad_tlv_length"]);
        assert_eq!(event_attr(&r.events[0], "chassis_id"), Some("00:1b:1b:6b:2e:10"));
        // Without the mandatory TLVs first.
        let mut r = Recorder::default();
        Lldp.frame(&ctx(), &tlv(5, b"x"), &mut r);
        assert_eq!(r.malformed, vec!["lldp_missing_mandatory_tlv"]);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut r = Recorder::default();
            Lldp.frame(&ctx(), &data, &mut r);
        }
    }
}
