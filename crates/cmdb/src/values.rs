//! Reading one register value: MAC addresses in their usual spellings, IP
//! address lists (with NetBox's prefix lengths), roles and their synonyms,
//! placeholder serials; and the keys values are compared by.

use otposture_inventory::Role;
use otposture_model::MacAddr;
use std::net::IpAddr;

/// Splits a cell holding several values: `;`, `,` or whitespace between them.
pub(crate) fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(|c: char| c == ';' || c == ',' || c.is_whitespace()).filter(|t| !t.is_empty())
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    match pair {
        [hi, lo] => Some(u8::try_from(digit(*hi)? * 16 + digit(*lo)?).ok()?),
        _ => None,
    }
}

/// Parses a MAC address written `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`
/// (either case), `aabb.ccdd.eeff` (Cisco) or `aabbccddeeff`. Every byte is
/// exactly two hex digits; anything else is refused with the reason.
pub(crate) fn parse_mac(s: &str) -> Result<MacAddr, String> {
    let bad = |why: &str| format!("{s:?} is not a MAC address ({why}); write it like 00:1b:1b:0a:00:14");
    let digits: Vec<u8> = if s.len() == 17 {
        let sep = s.as_bytes().get(2).copied().unwrap_or(b':');
        if sep != b':' && sep != b'-' {
            return Err(bad("bytes must be separated by : or -"));
        }
        let mut out = Vec::with_capacity(12);
        for (i, b) in s.bytes().enumerate() {
            if i % 3 == 2 {
                if b != sep {
                    return Err(bad("mixed or misplaced separators"));
                }
            } else {
                out.push(b);
            }
        }
        out
    } else if s.len() == 14 {
        let mut out = Vec::with_capacity(12);
        for (i, b) in s.bytes().enumerate() {
            if i % 5 == 4 {
                if b != b'.' {
                    return Err(bad("groups of four must be separated by ."));
                }
            } else {
                out.push(b);
            }
        }
        out
    } else if s.len() == 12 {
        s.bytes().collect()
    } else {
        return Err(bad("it must have 6 bytes"));
    };
    let mut mac = [0u8; 6];
    for (byte, pair) in mac.iter_mut().zip(digits.chunks(2)) {
        *byte = hex_byte(pair).ok_or_else(|| bad("a byte is not two hex digits"))?;
    }
    Ok(MacAddr(mac))
}

/// Parses one IP address; a prefix length after `/` (NetBox writes
/// `10.0.0.5/24`) is checked and dropped.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an IP address"))?;
    if let Some(p) = prefix {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        match p.parse::<u8>() {
            Ok(len) if len <= max && p.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return Err(format!("{s:?} has a bad prefix length {p:?} (0 to {max})")),
        }
    }
    Ok(ip)
}

/// Role names and the synonyms registers use for them, compared after
/// [`fold`]. Names as `crates/inventory/src/classify.rs` gives them.
const ROLE_SYNONYMS: &[(Role, &[&str])] = &[
    (Role::Controller, &["controller", "plc", "pac", "programmable logic controller", "dcs controller"]),
    (Role::SafetyController, &["safety controller", "safety plc", "sis", "sis controller", "logic solver"]),
    (Role::Rtu, &["rtu", "remote terminal unit", "outstation"]),
    (
        Role::Ied,
        &["ied", "intelligent electronic device", "protection relay", "relay", "merging unit", "bay controller"],
    ),
    (Role::Hmi, &["hmi", "human machine interface", "operator panel", "operator station", "operator terminal"]),
    (Role::ScadaServer, &["scada server", "scada", "scada master", "master station"]),
    (Role::OpcServer, &["opc server", "opc ua server", "opc da server"]),
    (Role::Historian, &["historian", "data historian", "process historian"]),
    (
        Role::EngineeringWorkstation,
        &["engineering workstation", "ews", "engineering station", "engineering pc", "programming station"],
    ),
    (
        Role::NetworkDevice,
        &[
            "network device",
            "switch",
            "router",
            "gateway",
            "firewall",
            "network switch",
            "layer 3 switch",
            "access point",
            "wireless access point",
        ],
    ),
    (Role::ItHost, &["it host", "it", "office pc", "printer"]),
    (Role::Unknown, &["unknown"]),
];

/// Lower case, every run of non-alphanumerics as one space, trimmed.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The inventory role a register's role names, by name or synonym, any case
/// ("PLC", "Engineering Workstation", "network_device").
pub(crate) fn parse_role(s: &str) -> Result<Role, String> {
    let folded = fold(s);
    ROLE_SYNONYMS
        .iter()
        .find(|(role, synonyms)| fold(role.name()) == folded || synonyms.contains(&folded.as_str()))
        .map(|(role, _)| *role)
        .ok_or_else(|| {
            format!(
                "{s:?} is not a role otposture knows: use controller (PLC), rtu, hmi, scada_server, \
                 engineering_workstation (EWS), network_device (switch, router, firewall), it_host or unknown, \
                 or leave roles out with --map role="
            )
        })
}

/// Serials that registers write when they have none.
pub(crate) fn is_placeholder_serial(s: &str) -> bool {
    let f = fold(s);
    let digits = serial_key(s);
    matches!(f.as_str(), "" | "n a" | "na" | "none" | "unknown" | "tbd" | "not available")
        || digits.chars().all(|c| c == '0')
        || digits.chars().all(|c| c == 'f')
}

/// A serial as serials are compared: trimmed, any case, without a `0x` prefix
/// or leading zeros (CIP writes `0x00a1b2c3`, registers `A1B2C3`).
pub(crate) fn serial_key(s: &str) -> String {
    let t = s.trim().to_lowercase();
    let t = t.strip_prefix("0x").unwrap_or(&t);
    let stripped = t.trim_start_matches('0');
    if stripped.is_empty() {
        t.to_string()
    } else {
        stripped.to_string()
    }
}

/// A firmware version as versions are compared: any case, without a leading
/// `v`, `version` or `fw`, spaces collapsed (`V4.2.1` and `4.2.1` agree).
pub(crate) fn firmware_key(s: &str) -> String {
    let t = s.trim().to_lowercase();
    let mut t = t.as_str();
    for prefix in ["firmware", "version", "fw", "v"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            if rest.starts_with(|c: char| c.is_ascii_digit() || c == ' ' || c == '.' || c == ':') {
                t = rest.trim_start_matches([' ', ':', '.']);
            }
        }
    }
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text compared any case, spaces collapsed.
pub(crate) fn text_key(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A host name and its first label (`plc1.plant.local` -> `plc1`), any case.
pub(crate) fn name_keys(s: &str) -> Vec<String> {
    let full = text_key(s);
    if full.is_empty() {
        return Vec::new();
    }
    let mut keys = vec![full.clone()];
    if full.parse::<IpAddr>().is_err() {
        if let Some((short, _)) = full.split_once('.') {
            if !short.is_empty() {
                keys.push(short.to_string());
            }
        }
    }
    keys
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_usual_mac_spelling_in_any_case() {
        let want = MacAddr([0x00, 0x1b, 0x1b, 0x0a, 0xbc, 0xde]);
        for s in ["00:1b:1b:0a:bc:de", "00-1B-1B-0A-BC-DE", "001b.1b0a.bcde", "001B1B0ABCDE", "00:1B:1b:0A:bc:DE"] {
            assert_eq!(parse_mac(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn refuses_macs_that_are_not_six_two_digit_bytes() {
        for s in [
            "00:1b:1b:0a:bc",
            "00:1b:1b:0a:bc:de:ff",
            "00:1b-1b:0a:bc:de",
            "0:1b:1b:0a:bc:de:",
            "00:1b:1b:0a:bc:dg",
            "001b1b0abcd",
            "001b.1b0a-bcde",
            "+0:1b:1b:0a:bc:de",
            "00 1b 1b 0a bc de",
            "",
            "00:1b:1b:0a:bc:d\u{e9}",
        ] {
            assert!(parse_mac(s).is_err(), "{s:?}");
        }
        assert!(parse_mac("zz:1b:1b:0a:bc:de").unwrap_err().contains("not two hex digits"));
    }

    #[test]
    fn ip_lists_split_on_semicolons_commas_and_spaces() {
        let ips: Vec<&str> = split_list(" 10.0.0.5; 10.0.0.6,fe80::1\t10.0.0.7 ").collect();
        assert_eq!(ips, ["10.0.0.5", "10.0.0.6", "fe80::1", "10.0.0.7"]);
    }

    #[test]
    fn drops_a_netbox_prefix_length_and_checks_it() {
        assert_eq!(parse_ip("10.0.0.5/24"), Ok("10.0.0.5".parse().unwrap()));
        assert_eq!(parse_ip("2001:db8::5/64"), Ok("2001:db8::5".parse().unwrap()));
        assert!(parse_ip("10.0.0.5/33").unwrap_err().contains("prefix length"));
        assert!(parse_ip("10.0.0.5/+8").is_err());
        assert!(parse_ip("10.0.0.5/").is_err());
        assert!(parse_ip("10.0.0.256").unwrap_err().contains("not an IP address"));
        assert!(parse_ip("plc-1").is_err());
    }

    #[test]
    fn roles_by_name_or_synonym_in_any_case() {
        for (s, role) in [
            ("PLC", Role::Controller),
            ("controller", Role::Controller),
            ("HMI", Role::Hmi),
            ("EWS", Role::EngineeringWorkstation),
            ("Engineering Workstation", Role::EngineeringWorkstation),
            ("engineering_workstation", Role::EngineeringWorkstation),
            ("Switch", Role::NetworkDevice),
            ("router", Role::NetworkDevice),
            ("network_device", Role::NetworkDevice),
            ("Historian", Role::Historian),
            ("Protection relay", Role::Ied),
            ("Safety PLC", Role::SafetyController),
            ("OPC UA server", Role::OpcServer),
            ("opc_server", Role::OpcServer),
            ("scada_server", Role::ScadaServer),
            ("RTU", Role::Rtu),
            ("it_host", Role::ItHost),
        ] {
            assert_eq!(parse_role(s), Ok(role), "{s}");
        }
        let err = parse_role("Coffee machine").unwrap_err();
        assert!(err.contains("\"Coffee machine\" is not a role") && err.contains("--map role="), "{err}");
    }

    #[test]
    fn serials_compare_without_case_prefix_or_leading_zeros() {
        assert_eq!(serial_key("0x00A1B2C3"), serial_key(" a1b2c3 "));
        assert_ne!(serial_key("A1B2C3"), serial_key("A1B2C4"));
        for s in ["N/A", "n/a", "0", "0x00000000", "FFFFFFFF", "unknown", "-", " "] {
            assert!(is_placeholder_serial(s), "{s:?}");
        }
        assert!(!is_placeholder_serial("S C-X4U012345"));
    }

    #[test]
    fn firmware_versions_compare_without_their_prefix() {
        assert_eq!(firmware_key("V4.2.1"), "4.2.1");
        assert_eq!(firmware_key("v 4.2.1"), "4.2.1");
        assert_eq!(firmware_key("FW: 2.11"), "2.11");
        assert_eq!(firmware_key("Version 20.11"), "20.11");
        assert_eq!(firmware_key("vx-1"), "vx-1", "a v that does not start a number stays");
        assert_ne!(firmware_key("4.2.1"), firmware_key("4.2.2"));
    }

    #[test]
    fn names_match_by_full_name_or_first_label() {
        assert_eq!(name_keys("PLC1.plant.local"), ["plc1.plant.local", "plc1"]);
        assert_eq!(name_keys("10.0.0.5"), ["10.0.0.5"]);
        assert!(name_keys("  ").is_empty());
    }
}
