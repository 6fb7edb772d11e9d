//! CDP, the Cisco Discovery Protocol (IEEE 802.3 + 802.2 SNAP, OUI 00-00-0C,
//! PID 0x2000): what Cisco switches, routers, IP phones and the network
//! modules of many PLCs and RTUs announce to their neighbours every minute.
//!
//! Owns the CDP header (version, TTL, checksum), its TLVs (type and length of
//! two bytes each, the length counting the four header bytes) and reporting the
//! sender as a `cdp.neighbor` identity event in the inventory's words: `name`
//! (device ID), `model` (platform), `description` (software version, kept
//! whole: often three lines of banner) and `version` (the number after
//! `Version` in it: often the only place passive monitoring learns a network
//! device's firmware); and `port_id`, `capabilities` (comma-separated:
//! `router`, `trans_bridge`, `source_route_bridge`, `switch`, `host`, `igmp`,
//! `repeater`, `voip_phone`, `remotely_managed`, `cvta`,
//! `two_port_mac_relay`), `addresses` and `management_address` (IPv4, IPv6,
//! else hex; comma-separated, at most 8), `native_vlan`, `vtp_domain`,
//! `duplex`, `power_mw`, `system_name`, `location`, `cdp_version`, `ttl`. A checksum that does not verify is an anomaly (`cdp.bad_checksum`),
//! the TLVs are still read. Each frame is counted as `cdp_announcement`, class
//! `discovery`. Stateless: neighbour tables are the inventory's.
//!
//! The TLV codes follow Wireshark's `packet-cdp.c` (the protocol has no public
//! specification beyond Cisco's configuration guides).

use crate::cursor::Cursor;
use crate::{Emit, FrameDissector, FrameSelector, PacketCtx};
use otposture_model::{EventKind, OperationClass};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

const PROTOCOL: &str = "cdp";

/// SNAP OUI (Cisco) and protocol id of CDP.
pub const SNAP: FrameSelector = FrameSelector::Snap { oui: 0x00_000c, pid: 0x2000 };

/// Largest text copied from a string TLV (software versions run to a few
/// hundred bytes: three lines of banner).
const MAX_TEXT: usize = 512;
/// Most addresses kept from one addresses TLV.
const MAX_ADDRESSES: usize = 8;

/// TLV types (Wireshark `packet-cdp.c`).
pub mod tlv {
    /// Device ID: the host name.
    pub const DEVICE_ID: u16 = 0x0001;
    /// Addresses of the sending interface.
    pub const ADDRESSES: u16 = 0x0002;
    /// Port ID: the sending interface's name.
    pub const PORT_ID: u16 = 0x0003;
    /// Capabilities bit mask.
    pub const CAPABILITIES: u16 = 0x0004;
    /// Software version text.
    pub const SOFTWARE_VERSION: u16 = 0x0005;
    /// Platform (model).
    pub const PLATFORM: u16 = 0x0006;
    /// VTP management domain.
    pub const VTP_DOMAIN: u16 = 0x0009;
    /// Native VLAN of the port.
    pub const NATIVE_VLAN: u16 = 0x000a;
    /// Duplex of the port.
    pub const DUPLEX: u16 = 0x000b;
    /// Power consumption, mW.
    pub const POWER: u16 = 0x0010;
    /// System name.
    pub const SYSTEM_NAME: u16 = 0x0014;
    /// Management addresses.
    pub const MANAGEMENT_ADDRESSES: u16 = 0x0016;
    /// Physical location.
    pub const LOCATION: u16 = 0x0017;
}

/// Why a CDP frame could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CdpError {
    /// Shorter than the four-byte header.
    Header,
    /// A TLV's length is below its header or runs past the frame.
    TlvLength,
}

impl CdpError {
    /// The name counted as malformed.
    pub fn what(self) -> &'static str {
        match self {
            CdpError::Header => "cdp_truncated_header",
            CdpError::TlvLength => "cdp_bad_tlv_length",
        }
    }
}

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Protocol version (1 or 2).
    pub version: u8,
    /// Seconds the receiver keeps the announcement.
    pub ttl: u8,
    /// Checksum as sent.
    pub checksum: u16,
}

/// The header and the TLV bytes after it.
pub fn header(data: &[u8]) -> Result<(Header, &[u8]), CdpError> {
    let mut c = Cursor::new(data);
    let (version, ttl, checksum) = match (c.u8(), c.u8(), c.be_u16()) {
        (Some(v), Some(t), Some(s)) => (v, t, s),
        _ => return Err(CdpError::Header),
    };
    Ok((Header { version, ttl, checksum }, c.rest()))
}

/// The TLVs after the header: (type, value). An `Err` ends the list.
pub fn tlvs(data: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), CdpError>> {
    let mut c = Cursor::new(data);
    let mut done = false;
    std::iter::from_fn(move || {
        if done || c.remaining() == 0 {
            return None;
        }
        let value = match (c.be_u16(), c.be_u16()) {
            (Some(kind), Some(len)) => usize::from(len).checked_sub(4).and_then(|n| c.take(n)).map(|v| (kind, v)),
            _ => None,
        };
        if value.is_none() {
            done = true;
        }
        Some(value.ok_or(CdpError::TlvLength))
    })
}

/// Whether the checksum verifies: the Internet checksum (RFC 1071) over the
/// whole CDP frame, with Cisco's rule for an odd length, which Wireshark also
/// follows: the last byte is added as a signed (sign-extended) value, so a
/// byte of 0x80 or more counts as itself minus 256.
pub fn checksum_ok(data: &[u8]) -> bool {
    sum(data) == 0xffff
}

/// The folded ones' complement sum of `data` by Cisco's odd-length rule.
fn sum(data: &[u8]) -> u32 {
    let words = data.chunks_exact(2);
    let last = words.remainder();
    let mut sum: u32 = 0;
    for w in words {
        if let [hi, lo] = *w {
            sum += u32::from(u16::from_be_bytes([hi, lo]));
            sum = (sum & 0xffff) + (sum >> 16);
        }
    }
    if let [b] = *last {
        // b - 256 in ones' complement arithmetic is b + 0xffff - 256.
        sum += u32::from(b) + if b & 0x80 != 0 { 0xfeff } else { 0 };
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// The names of the capability bits set in `bits` (Wireshark's order).
pub fn capabilities(bits: u32) -> Vec<&'static str> {
    const NAMES: [&str; 11] = [
        "router",
        "trans_bridge",
        "source_route_bridge",
        "switch",
        "host",
        "igmp",
        "repeater",
        "voip_phone",
        "remotely_managed",
        "cvta",
        "two_port_mac_relay",
    ];
    NAMES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n).collect()
}

/// A string TLV as text: cut at the first NUL (Cisco terminates some), at
/// most [`MAX_TEXT`] bytes, trailing blanks trimmed.
pub fn text(b: &[u8]) -> String {
    let b = b.split(|&x| x == 0).next().unwrap_or_default();
    let b = b.get(..MAX_TEXT.min(b.len())).unwrap_or_default();
    String::from_utf8_lossy(b).trim_end_matches([' ', '\r', '\n', '\t']).to_string()
}

/// The version number where a software version text says `Version X`
/// (`Cisco IOS Software, ... Version 12.2(25)SEG4, RELEASE SOFTWARE`): the word
/// after the first `Version`, without a trailing comma.
pub fn version_number(text: &str) -> Option<&str> {
    let mut words = text.split_whitespace();
    words.by_ref().find(|w| w.eq_ignore_ascii_case("version"))?;
    let v = words.next()?.trim_end_matches([',', ';']);
    (!v.is_empty() && v.bytes().any(|b| b.is_ascii_digit())).then_some(v)
}

/// The addresses of an addresses or management addresses TLV, as text: a
/// count, then per address a protocol type (1 NLPID, 2 IEEE 802.2), the
/// protocol, a length and the address. IPv4 is NLPID 0xCC, IPv6 the 802.2
/// SNAP header of EtherType 0x86DD; others are given as hex. Returns the
/// addresses read (at most [`MAX_ADDRESSES`]) and whether the TLV was whole.
pub fn addresses(v: &[u8]) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut c = Cursor::new(v);
    let Some(count) = c.be_u32() else { return (out, false) };
    for _ in 0..count {
        let entry = (|| {
            let kind = c.u8()?;
            let plen = c.u8()?;
            let proto = c.take(usize::from(plen))?;
            let alen = c.be_u16()?;
            let addr = c.take(usize::from(alen))?;
            Some((kind, proto, addr))
        })();
        let Some((kind, proto, addr)) = entry else { return (out, false) };
        if out.len() < MAX_ADDRESSES {
            out.push(address_text(kind, proto, addr));
        }
    }
    (out, true)
}

fn address_text(kind: u8, proto: &[u8], addr: &[u8]) -> String {
    match (kind, proto) {
        (1, [0xcc]) => {
            if let Ok(a) = <[u8; 4]>::try_from(addr) {
                return Ipv4Addr::from(a).to_string();
            }
        }
        (2, [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x86, 0xdd]) => {
            if let Ok(a) = <[u8; 16]>::try_from(addr) {
                return Ipv6Addr::from(a).to_string();
            }
        }
        _ => {}
    }
    let mut s = String::from("0x");
    for b in addr.iter().take(32) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

/// The CDP frame dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cdp;

impl FrameDissector for Cdp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn selector(&self) -> FrameSelector {
        SNAP
    }

    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        let (h, rest) = match header(data) {
            Ok(x) => x,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        emit.message(ctx, PROTOCOL, Cow::Borrowed("cdp_announcement"), OperationClass::Discovery);
        if !checksum_ok(data) {
            let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "cdp.bad_checksum");
            push(&mut e.attributes, "checksum", format!("0x{:04x}", h.checksum));
            emit.event(e);
        }
        let mut a = Vec::new();
        push(&mut a, "cdp_version", h.version.to_string());
        push(&mut a, "ttl", h.ttl.to_string());
        let mut management = Vec::new();
        for t in tlvs(rest) {
            let (kind, v) = match t {
                Ok(t) => t,
                Err(e) => {
                    emit.malformed(ctx, PROTOCOL, e.what());
                    break;
                }
            };
            match kind {
                tlv::DEVICE_ID => push(&mut a, "name", text(v)),
                tlv::PORT_ID => push(&mut a, "port_id", text(v)),
                tlv::PLATFORM => push(&mut a, "model", text(v)),
                tlv::SOFTWARE_VERSION => {
                    let s = text(v);
                    if let Some(n) = version_number(&s) {
                        push(&mut a, "version", n.to_string());
                    }
                    push(&mut a, "description", s);
                }
                tlv::CAPABILITIES => {
                    if let Ok(b) = <[u8; 4]>::try_from(v) {
                        push(&mut a, "capabilities", capabilities(u32::from_be_bytes(b)).join(","));
                    }
                }
                tlv::ADDRESSES | tlv::MANAGEMENT_ADDRESSES => {
                    let (list, whole) = addresses(v);
                    if !whole {
                        emit.malformed(ctx, PROTOCOL, "cdp_bad_address");
                    }
                    if kind == tlv::MANAGEMENT_ADDRESSES {
                        management.extend(list);
                    } else if !list.is_empty() {
                        push(&mut a, "addresses", list.join(","));
                    }
                }
                tlv::VTP_DOMAIN => push(&mut a, "vtp_domain", text(v)),
                tlv::NATIVE_VLAN => {
                    if let Ok(b) = <[u8; 2]>::try_from(v) {
                        push(&mut a, "native_vlan", u16::from_be_bytes(b).to_string());
                    }
                }
                tlv::DUPLEX => {
                    if let [d] = *v {
                        push(&mut a, "duplex", if d == 0 { "half" } else { "full" }.to_string());
                    }
                }
                tlv::POWER => {
                    if let Ok(b) = <[u8; 2]>::try_from(v) {
                        push(&mut a, "power_mw", u16::from_be_bytes(b).to_string());
                    }
                }
                tlv::SYSTEM_NAME => push(&mut a, "system_name", text(v)),
                tlv::LOCATION => {
                    // A one-byte code, then the text.
                    if let Some((_, loc)) = v.split_first() {
                        push(&mut a, "location", text(loc));
                    }
                }
                _ => {}
            }
        }
        if !management.is_empty() {
            management.truncate(MAX_ADDRESSES);
            push(&mut a, "management_address", management.join(","));
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "cdp.neighbor");
        e.attributes = a;
        emit.event(e);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::test_support::{event_attr, Recorder};
    use otposture_model::{Direction, Timestamp};
    use proptest::prelude::*;

    fn ctx() -> PacketCtx<'static> {
        PacketCtx { direction: Some(Direction::ToServer), ..PacketCtx::at(Timestamp(0), 1) }
    }

    /// Frame 40 of ITI's EIP-ChangeTimeAttempt.pcap after the SNAP header: a
    /// Catalyst Express 500 switch announcing itself.
    const CE500: &[u8] = &[
        0x02, 0xb4, 0x0a, 0xb0, // version 2, TTL 180, checksum 0x0ab0
        0x00, 0x01, 0x00, 0x09, b'N', b's', b'5', b'g', b't', // device ID "Ns5gt" (len 9 with header)
        0x00, 0x05, 0x00, 0x10, b'V', b'e', b'r', b's', b'i', b'o', b'n', b' ', b'1', b'2', b'.', 0x00,
        // software version "Version 12." NUL-terminated (len 16)
        0x00, 0x06, 0x00, 0x0b, b'c', b'i', b's', b'c', b'o', b' ', b'X', // platform "cisco X" (len 11)
        0x00, 0x02, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, // addresses: count 1
        0x01, 0x01, 0xcc, 0x00, 0x04, 0xc0, 0xa8, 0x0a, 0xfd, // NLPID, len 1, IP, addr len 4, 192.168.10.253
        0x00, 0x03, 0x00, 0x14, b'G', b'i', b'g', b'a', b'b', b'i', b't', b'E', b't', b'h', b'e', b'r', b'n', b'e',
        b't', b'1', // port ID "GigabitEthernet1" (len 20)
        0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x28, // capabilities: switch, IGMP
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x03, // native VLAN 3
        0x00, 0x0b, 0x00, 0x05, 0x01, // duplex full
        0x00, 0x16, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, // management addresses: count 1
        0x01, 0x01, 0xcc, 0x00, 0x04, 0xc0, 0xa8, 0x0a, 0xfd, // 192.168.10.253
    ];

    /// CE500 with its checksum recomputed (the test frame is shorter than the real one).
    fn ce500() -> Vec<u8> {
        with_checksum(CE500.to_vec())
    }

    fn with_checksum(mut f: Vec<u8>) -> Vec<u8> {
        f[2..4].copy_from_slice(&[0, 0]);
        let c = !(sum(&f) as u16);
        f[2..4].copy_from_slice(&c.to_be_bytes());
        assert!(checksum_ok(&f));
        f
    }

    #[test]
    fn reads_a_switch_announcement() {
        let mut r = Recorder::default();
        Cdp.frame(&ctx(), &ce500(), &mut r);
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        assert_eq!(r.messages.len(), 1);
        assert_eq!((r.messages[0].2.as_str(), r.messages[0].3), ("cdp_announcement", OperationClass::Discovery));
        assert_eq!(r.events.len(), 1, "no checksum anomaly: {:?}", r.events);
        let e = &r.events[0];
        assert_eq!((e.name.as_ref(), e.kind), ("cdp.neighbor", EventKind::Identity));
        for (k, v) in [
            ("cdp_version", "2"),
            ("ttl", "180"),
            ("name", "Ns5gt"),
            ("description", "Version 12."),
            ("version", "12."),
            ("model", "cisco X"),
            ("addresses", "192.168.10.253"),
            ("port_id", "GigabitEthernet1"),
            ("capabilities", "switch,igmp"),
            ("native_vlan", "3"),
            ("duplex", "full"),
            ("management_address", "192.168.10.253"),
        ] {
            assert_eq!(event_attr(e, k), Some(v), "{k}");
        }
    }

    #[test]
    fn the_real_frames_checksum_verifies_and_a_changed_byte_does_not() {
        // Frame 40 of EIP-ChangeTimeAttempt.pcap, CDP part, odd length (327 bytes): the
        // checksum 0x0ab0 holds only with the sign-extended last byte.
        let real = hex_frame();
        assert_eq!(real.len() % 2, 1);
        assert!(checksum_ok(&real));
        let mut bad = real.clone();
        bad[10] ^= 0x01;
        assert!(!checksum_ok(&bad));
        let mut r = Recorder::default();
        Cdp.frame(&ctx(), &bad, &mut r);
        let anomaly = r.events.iter().find(|e| e.kind == EventKind::Anomaly).unwrap();
        assert_eq!(anomaly.name, "cdp.bad_checksum");
        assert_eq!(event_attr(anomaly, "checksum"), Some("0x0ab0"));
        // The TLVs are still read.
        let id = r.events.iter().find(|e| e.name == "cdp.neighbor").unwrap();
        assert_eq!(event_attr(id, "model"), Some("cisco WS-CE500-24TT"));
        assert_eq!(
            event_attr(id, "description").unwrap().lines().next(),
            Some("Cisco IOS Software, CE500 Software (CE500-LANBASE-M), Version 12.2(25)SEG4, RELEASE SOFTWARE (fc1)")
        );
        assert_eq!(event_attr(id, "version"), Some("12.2(25)SEG4"));
    }

    /// The CDP bytes of frame 40 of EIP-ChangeTimeAttempt.pcap (from `tshark -x`).
    fn hex_frame() -> Vec<u8> {
        let hex = concat!(
            "02b40ab0000100094e73356774000500bc436973636f20494f5320536f6674776172652c20434535303020536f667477",
            "617265202843453530302d4c414e424153452d4d292c2056657273696f6e2031322e3228323529534547342c2052454c",
            "4541534520534f4654574152452028666331290a436f707972696768742028632920313938362d323030372062792043",
            "6973636f2053797374656d732c20496e632e0a436f6d70696c6564204d6f6e2031332d4175672d30372031373a333420",
            "62792079656e616e6800060017636973636f2057532d43453530302d3234545400020011000000010101cc0004c0a80a",
            "fd000300144769676162697445746865726e657431000400080000002800090004000a00060003000b00050100120005",
            "00001300050000160011000000010101cc0004c0a80afd001a00100000000100000000ffffffff",
        );
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn reads_ipv6_and_unknown_addresses_and_flags_cut_ones() {
        let mut v = vec![0, 0, 0, 3];
        v.extend([2, 8, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x86, 0xdd, 0, 16]); // 802.2, IPv6
        v.extend([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v.extend([1, 1, 0x81, 0, 2, 0xab, 0xcd]); // NLPID 0x81 (CLNP): hex
        v.extend([1, 1, 0xcc, 0, 4, 10]); // cut
        let (list, whole) = addresses(&v);
        assert_eq!(list, vec!["fe80::1".to_string(), "0xabcd".to_string()]);
        assert!(!whole);
    }

    #[test]
    fn finds_the_version_number_in_banners() {
        assert_eq!(
            version_number("Cisco IOS Software, C3750 Software, Version 12.2(55)SE, RELEASE"),
            Some("12.2(55)SE")
        );
        assert_eq!(version_number("Cisco Nexus Operating System (NX-OS) Software, Version 9.3(8)"), Some("9.3(8)"));
        assert_eq!(version_number("no version here"), None);
        assert_eq!(version_number("Version"), None);
        assert_eq!(text(b"Ns5gt\0junk"), "Ns5gt");
    }

    #[test]
    fn cut_frames_are_malformed_and_what_came_before_is_kept() {
        let mut r = Recorder::default();
        Cdp.frame(&ctx(), &[2, 180, 0], &mut r);
        assert_eq!(r.malformed, vec!["cdp_truncated_header"]);
        assert!(r.events.is_empty());
        let mut f = ce500();
        f.truncate(20);
        let mut r = Recorder::default();
        Cdp.frame(&ctx(), &f, &mut r);
        assert_eq!(r.malformed, vec!["cdp_bad_tlv_length"]);
        let id = r.events.iter().find(|e| e.name == "cdp.neighbor").unwrap();
        assert_eq!(event_attr(id, "name"), Some("Ns5gt"));
        // A TLV length below its own header.
        let mut r = Recorder::default();
        Cdp.frame(&ctx(), &with_checksum(vec![2, 180, 0, 0, 0, 1, 0, 3]), &mut r);
        assert_eq!(r.malformed, vec!["cdp_bad_tlv_length"]);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut r = Recorder::default();
            Cdp.frame(&ctx(), &data, &mut r);
        }

        #[test]
        fn tlv_values_stay_inside_the_input(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            for (_, v) in tlvs(&data).flatten() {
                prop_assert!(v.is_empty() || data.as_ptr_range().contains(&v.as_ptr()));
            }
            let all: Vec<_> = tlvs(&data).collect();
            prop_assert!(all.iter().rev().skip(1).all(Result::is_ok));
        }
    }
}
