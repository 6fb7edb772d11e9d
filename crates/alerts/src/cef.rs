//! ArcSight Common Event Format (CEF:0) text for one alert.
//!
//! Header: `CEF:0|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`.
//! Escaping follows the spec's "Character encoding" rules: in header fields
//! `\` and `|` are backslash-escaped; in extension values `\` and `=` are, and
//! newlines are written as `\n` / `\r` (the only place multi-line text may go).
//! The header has no multi-line form, so CR and LF there become spaces.
//! Keys are the spec's own dictionary names (rt, src, dst, app, act, externalId,
//! cat, cs1-cs4 with labels, c6a2/c6a3 for IPv6, msg), so a SIEM maps them without a parser.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::Alert;

/// Spec length limits (characters) of the fields we fill from free text.
const NAME_MAX: usize = 512;
const MSG_MAX: usize = 1023;
const CS_MAX: usize = 4000;

/// The CEF record of an alert (no syslog header).
pub fn cef_message(alert: &Alert) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("CEF:0|otposture|otposture|");
    push_header(&mut out, crate::VERSION);
    out.push('|');
    push_header(&mut out, &alert.check);
    out.push('|');
    push_header(&mut out, truncate(&alert.title, NAME_MAX));
    let _ = write!(out, "|{}|", alert.severity.cef_code());

    let mut ext = Extension { out: &mut out, first: true };
    // rt: "The time at which the event related to the activity was received", ms since the epoch.
    ext.pair("rt", &alert.time_ns.div_euclid(1_000_000).to_string());
    ext.pair("act", &alert.event);
    ext.pair("cat", &alert.check);
    ext.pair("externalId", &alert.finding_id);
    // src and dst are IPv4 in the dictionary; IPv6 goes in the custom IPv6 fields
    // the spec reserves for it (c6a2 source, c6a3 destination).
    match alert.source {
        Some(IpAddr::V4(a)) => ext.pair("src", &a.to_string()),
        Some(IpAddr::V6(a)) => {
            ext.pair("c6a2Label", "Source IPv6 Address");
            ext.pair("c6a2", &a.to_string());
        }
        None => {}
    }
    match alert.destination {
        Some(IpAddr::V4(a)) => ext.pair("dst", &a.to_string()),
        Some(IpAddr::V6(a)) => {
            ext.pair("c6a3Label", "Destination IPv6 Address");
            ext.pair("c6a3", &a.to_string());
        }
        None => {}
    }
    if let Some(p) = &alert.protocol {
        ext.pair("app", p);
    }
    if !alert.assets.is_empty() {
        ext.pair("cs1Label", "assets");
        ext.pair("cs1", truncate(&alert.assets.join(","), CS_MAX));
    }
    if !alert.attack.is_empty() {
        ext.pair("cs2Label", "attack");
        ext.pair("cs2", truncate(&alert.attack.join(","), CS_MAX));
    }
    if let Some(site) = &alert.site {
        ext.pair("cs3Label", "site");
        ext.pair("cs3", truncate(site, CS_MAX));
    }
    ext.pair("cs4Label", "alertId");
    ext.pair("cs4", truncate(&alert.id, CS_MAX));
    if let Some(r) = &alert.remediation {
        ext.pair("msg", truncate(r, MSG_MAX));
    }
    out
}

struct Extension<'a> {
    out: &'a mut String,
    first: bool,
}

impl Extension<'_> {
    /// `key=value`, space-separated. Keys are ours and need no escaping.
    fn pair(&mut self, key: &str, value: &str) {
        if !self.first {
            self.out.push(' ');
        }
        self.first = false;
        self.out.push_str(key);
        self.out.push('=');
        push_extension_value(self.out, value);
    }
}

/// Header field: `\` -> `\\`, `|` -> `\|`; CR and LF (not allowed in the header) -> space.
pub(crate) fn push_header(out: &mut String, field: &str) {
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Extension value: `\` -> `\\`, `=` -> `\=`, LF -> `\n`, CR -> `\r`. A pipe needs no escape here.
pub(crate) fn push_extension_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// At most `max` characters, cut on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => s.get(..at).unwrap_or(s),
        None => s,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::Severity;

    fn alert() -> Alert {
        Alert {
            id: "f-17:opened:1".into(),
            finding_id: "f-17".into(),
            event: "opened".into(),
            check: "exposure.cleartext_login".into(),
            title: "Telnet login in cleartext to PLC 10.0.0.5".into(),
            severity: Severity::High,
            time_ns: 1_700_000_000_123_456_789,
            site: Some("Plant 1".into()),
            assets: vec!["a1".into(), "a2".into()],
            source: Some("192.168.1.20".parse().unwrap()),
            destination: Some("10.0.0.5".parse().unwrap()),
            protocol: Some("telnet".into()),
            attack: vec!["T0886".into(), "T0859".into()],
            remediation: Some("Use SSH".into()),
            detail: serde_json::json!({}),
        }
    }

    #[test]
    fn writes_every_field_in_spec_order() {
        assert_eq!(
            cef_message(&alert()),
            format!(
                "CEF:0|otposture|otposture|{}|exposure.cleartext_login|Telnet login in cleartext to PLC 10.0.0.5|8|\
                 rt=1700000000123 act=opened cat=exposure.cleartext_login externalId=f-17 src=192.168.1.20 \
                 dst=10.0.0.5 app=telnet cs1Label=assets cs1=a1,a2 cs2Label=attack cs2=T0886,T0859 \
                 cs3Label=site cs3=Plant 1 cs4Label=alertId cs4=f-17:opened:1 msg=Use SSH",
                crate::VERSION
            )
        );
    }

    #[test]
    fn escapes_backslash_and_pipe_in_the_header_and_flattens_newlines() {
        let mut s = String::new();
        push_header(&mut s, "a\\b|c=d\ne\rf");
        assert_eq!(s, "a\\\\b\\|c=d e f");
    }

    #[test]
    fn escapes_backslash_equals_and_newlines_in_extension_values() {
        let mut s = String::new();
        push_extension_value(&mut s, "C:\\dir a=b|c\nd\re");
        assert_eq!(s, "C:\\\\dir a\\=b|c\\nd\\re");
    }

    #[test]
    fn escapes_hostile_text_in_every_field() {
        let mut a = alert();
        a.check = "x|y\\z".into();
        a.title = "t|1\n2".into();
        a.remediation = Some("k=v\\\n".into());
        a.site = Some("s=1".into());
        let m = cef_message(&a);
        assert!(m.contains("|x\\|y\\\\z|t\\|1 2|8|"), "{m}");
        assert!(m.contains(" cat=x|y\\\\z "), "{m}");
        assert!(m.ends_with(" msg=k\\=v\\\\\\n"), "{m}");
        assert!(m.contains(" cs3=s\\=1 "), "{m}");
        assert!(!m.contains('\n') && !m.contains('\r'));
    }

    #[test]
    fn puts_ipv6_addresses_in_the_custom_ipv6_fields() {
        let mut a = alert();
        a.source = Some("fd00::1".parse().unwrap());
        a.destination = None;
        let m = cef_message(&a);
        assert!(m.contains(" c6a2Label=Source IPv6 Address c6a2=fd00::1 app="), "{m}");
        assert!(!m.contains(" src=") && !m.contains(" dst="), "{m}");
    }

    #[test]
    fn leaves_out_absent_fields_and_truncates_msg() {
        let mut a = alert();
        a.site = None;
        a.assets.clear();
        a.attack.clear();
        a.protocol = None;
        a.remediation = Some("é".repeat(2000));
        a.severity = Severity::Critical;
        let m = cef_message(&a);
        assert!(!m.contains("cs1") && !m.contains("cs2") && !m.contains("cs3") && !m.contains("app="), "{m}");
        assert!(m.contains("|10|"), "{m}");
        let msg = m.split(" msg=").nth(1).unwrap();
        assert_eq!(msg.chars().count(), 1023);
    }
}
