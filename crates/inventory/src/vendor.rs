//! Vendor names: the registered owner of a MAC prefix, and one spelling per
//! vendor across protocols ("SIEMENS", "Siemens AG" and the S7 family all read
//! "Siemens").

use otposture_model::MacAddr;

/// The organisation the IEEE registered the MAC's prefix to (MA-L, MA-M, MA-S,
/// IAB, CID registries, through the `oui-data` crate), as registered.
/// Locally administered addresses have none.
pub fn mac_vendor(mac: MacAddr) -> Option<&'static str> {
    let [a, b, c, d, e, f] = mac.0;
    if a & 0x02 != 0 {
        return None;
    }
    let hex = format!("{a:02X}{b:02X}{c:02X}{d:02X}{e:02X}{f:02X}");
    oui_data::lookup(&hex).map(|r| r.organization()).filter(|o| !o.eq_ignore_ascii_case("private"))
}

/// Canonical names of vendors common on control networks, with the spellings
/// that mean them (compared after [`fold`]: lower case, punctuation as spaces).
/// A prefix match on whole words: "siemens" covers "Siemens AG" and
/// "SIEMENS AG Industry Sector".
const CANONICAL: &[(&str, &[&str])] = &[
    ("ABB", &["abb"]),
    ("Advantech", &["advantech"]),
    ("B&R Industrial Automation", &["b r industrial", "bernecker rainer", "b r automation"]),
    ("Beckhoff", &["beckhoff"]),
    ("Carrier", &["carrier", "automated logic"]),
    ("Cisco", &["cisco"]),
    ("Delta Controls", &["delta controls"]),
    ("Distech Controls", &["distech"]),
    ("Eaton", &["eaton"]),
    ("Emerson", &["emerson", "fisher rosemount"]),
    ("GE", &["ge", "ge fanuc", "general electric", "ge intelligent platforms", "ge multilin", "ge grid"]),
    ("Hewlett Packard", &["hewlett packard", "hp", "hpe"]),
    ("Hirschmann", &["hirschmann"]),
    ("HMS Industrial Networks", &["hms industrial", "hms networks", "anybus"]),
    ("Honeywell", &["honeywell"]),
    ("Johnson Controls", &["johnson controls", "jci"]),
    ("Mitsubishi Electric", &["mitsubishi electric"]),
    ("Moxa", &["moxa"]),
    ("Omron", &["omron"]),
    ("Phoenix Contact", &["phoenix contact"]),
    ("ProSoft Technology", &["prosoft"]),
    ("Red Lion Controls", &["red lion"]),
    ("Rockwell Automation", &["rockwell automation", "rockwell", "allen bradley"]),
    ("Schneider Electric", &["schneider electric", "schneider", "telemecanique", "modicon", "square d"]),
    ("Schweitzer Engineering Laboratories", &["schweitzer engineering", "sel schweitzer"]),
    ("Siemens", &["siemens"]),
    ("Trane", &["trane", "the trane company"]),
    ("WAGO", &["wago"]),
    ("Yokogawa", &["yokogawa"]),
];

/// Legal-form words dropped from the end of a name that matches no canonical vendor.
const LEGAL_FORMS: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "s a",
    "spa",
    "s p a",
    "bv",
    "b v",
    "nv",
    "srl",
    "ab",
    "oy",
    "as",
    "plc",
    "pty",
    "kk",
    "co ltd",
];

/// Lower case, every run of non-alphanumerics as one space, trimmed.
fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// True when `words` starts with the whole words of `prefix`.
fn starts_with_words(words: &str, prefix: &str) -> bool {
    words.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// The canonical name of a vendor this table knows (any of its spellings);
/// `None` for a vendor [`normalise`] can only tidy up. An asset register uses
/// it to flag vendor names it could not recognise.
pub fn canonical(name: &str) -> Option<&'static str> {
    let folded = fold(name);
    CANONICAL
        .iter()
        .find(|(_, spellings)| spellings.iter().any(|s| starts_with_words(&folded, s)))
        .map(|(canonical, _)| *canonical)
}

/// One spelling per vendor: the canonical name when the vendor is known here,
/// else the name without trailing legal forms, in title case when it was all
/// capitals. `None` for an empty name.
pub fn normalise(name: &str) -> Option<String> {
    if fold(name).is_empty() {
        return None;
    }
    if let Some(canonical) = canonical(name) {
        return Some(canonical.to_string());
    }
    // Unknown vendor: keep its own words, minus the legal form.
    let mut words: Vec<&str> = name.split_whitespace().collect();
    while let Some(last) = words.last() {
        let f = fold(last);
        if words.len() > 1 && (f.is_empty() || LEGAL_FORMS.contains(&f.as_str())) {
            words.pop();
        } else {
            break;
        }
    }
    let joined = words.join(" ");
    let trimmed = joined.trim_end_matches([',', '.', ' ']);
    let shouting = trimmed.chars().any(|c| c.is_alphabetic()) && !trimmed.chars().any(|c| c.is_lowercase());
    Some(if shouting { title_case(trimmed) } else { trimmed.to_string() })
}

/// Title case for a name registered in capitals, keeping words of up to three
/// letters as they are: they are acronyms ("NEC", "SMC", "AB").
fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if w.chars().count() <= 3 {
                return w.to_string();
            }
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_vendor_read_the_same() {
        for s in ["SIEMENS", "Siemens AG", "Siemens AG Industry Sector", "siemens"] {
            assert_eq!(normalise(s).as_deref(), Some("Siemens"), "{s}");
        }
        for s in ["Rockwell Automation/Allen-Bradley", "Allen-Bradley Company, LLC", "ROCKWELL AUTOMATION"] {
            assert_eq!(normalise(s).as_deref(), Some("Rockwell Automation"), "{s}");
        }
        assert_eq!(normalise("Schneider Electric").as_deref(), Some("Schneider Electric"));
        assert_eq!(normalise("Telemecanique").as_deref(), Some("Schneider Electric"));
        // BACnet devices state their vendor both ways: the registry's name and their own.
        assert_eq!(normalise("Johnson Controls, Inc.").as_deref(), Some("Johnson Controls"));
        assert_eq!(normalise("JCI").as_deref(), Some("Johnson Controls"));
    }

    #[test]
    fn only_vendors_of_the_table_have_a_canonical_name() {
        assert_eq!(canonical("SIEMENS AG"), Some("Siemens"));
        assert_eq!(canonical("allen-bradley"), Some("Rockwell Automation"));
        assert_eq!(canonical("ACME CONTROLS INC."), None);
        assert_eq!(canonical(""), None);
    }

    #[test]
    fn unknown_vendors_keep_their_words_without_the_legal_form() {
        assert_eq!(normalise("ACME CONTROLS INC.").as_deref(), Some("Acme Controls"));
        assert_eq!(normalise("Katun Corporation").as_deref(), Some("Katun"));
        assert_eq!(normalise("Nokia Shanghai Bell Co., Ltd.").as_deref(), Some("Nokia Shanghai Bell"));
        assert_eq!(normalise("  ").as_deref(), None);
        // Short words in capitals are acronyms, not shouting.
        assert_eq!(normalise("NEC PLATFORMS LTD").as_deref(), Some("NEC Platforms"));
        assert_eq!(normalise("GE").as_deref(), Some("GE"), "00:a0:f4 is registered to \"GE\"");
        assert_eq!(normalise("HP Inc.").as_deref(), Some("Hewlett Packard"));
        // A whole-word prefix only: "Abbott" is not ABB.
        assert_eq!(normalise("Abbott Laboratories").as_deref(), Some("Abbott Laboratories"));
    }

    #[test]
    fn a_mac_prefix_names_its_registered_owner() {
        // 00:1B:1B is registered to Siemens AG; 00:00:BC to Rockwell Automation.
        let siemens = mac_vendor(MacAddr([0x00, 0x1b, 0x1b, 0x01, 0x02, 0x03])).unwrap();
        assert_eq!(normalise(siemens).as_deref(), Some("Siemens"), "{siemens}");
        let rockwell = mac_vendor(MacAddr([0x00, 0x00, 0xbc, 0x01, 0x02, 0x03])).unwrap();
        assert_eq!(normalise(rockwell).as_deref(), Some("Rockwell Automation"), "{rockwell}");
        assert_eq!(mac_vendor(MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01])), None, "locally administered");
    }
}
