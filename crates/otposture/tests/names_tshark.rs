//! Cross-check of the name-service dissectors against tshark on every shared
//! capture whose INDEX `protocols` column lists `dns`, `mdns`, `llmnr`,
//! `nbns` or `browser`: per packet the engine hands a DNS-family, NBNS or
//! NetBIOS datagram dissector, the fields read by the crate's public parsers
//! against `tshark -T fields` of the same packet, field by field:
//! - DNS, mDNS, LLMNR: `dns.id`, `dns.flags.response`, `dns.flags.opcode`,
//!   `dns.flags.rcode` (responses only: tshark shows none for queries),
//!   `dns.qry.name` (`<Root>` for the root), `dns.qry.type`, `dns.count.answers`;
//! - NBNS: `nbns.id`, `nbns.flags.response`, `nbns.flags.opcode`, `nbns.name`
//!   (tshark appends what the suffix is for, ` (Server service)`, which is
//!   cut, and writes the suffix in lower case), `nbns.addr`;
//! - browser: `browser.command`, `browser.server`, `browser.os_major`,
//!   `browser.os_minor`, `browser.server_type`.
//!
//! Then identity: every host name tshark shows in an NBNS registration or
//! positive answer (unique `<00>`/`<20>` names, at `nbns.addr`) and in a host
//! or local master announcement (`browser.server`, at `nbdgm.src.ip`) must be
//! a `host_name` of the asset holding that address in `otposture assets`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::support;

use otposture_dissect::dns::wire;
use otposture_dissect::netbios::{dgm, ns};
use otposture_dissect::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe, Registry};
use otposture_model::Direction;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Field values per packet, per protocol family.
type PerPacket = BTreeMap<u64, Vec<Vec<String>>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Dns,
    Nbns,
    Browser,
}

const DNS_FIELDS: &[&str] = &[
    "dns.id",
    "dns.flags.response",
    "dns.flags.opcode",
    "dns.flags.rcode",
    "dns.qry.name",
    "dns.qry.type",
    "dns.count.answers",
];
const NBNS_FIELDS: &[&str] = &["nbns.id", "nbns.flags.response", "nbns.flags.opcode", "nbns.name", "nbns.addr"];
const BROWSER_FIELDS: &[&str] =
    &["browser.command", "browser.server", "browser.os_major", "browser.os_minor", "browser.server_type"];

fn b(v: bool) -> String {
    if v { "1" } else { "0" }.to_string()
}

/// What our parsers read from one datagram, in the order of the family's fields.
fn ours(family: Family, data: &[u8]) -> Option<Vec<String>> {
    match family {
        Family::Dns => {
            let (h, _) = wire::check(data).ok()?;
            let q = wire::items(data, &h).flatten().next().filter(|i| i.section == wire::Section::Question);
            let name = q.map(|q| if q.name.is_root() { "<Root>".to_string() } else { q.name.text() });
            Some(vec![
                format!("{:#06x}", h.id),
                b(h.qr()),
                h.opcode().0.to_string(),
                if h.qr() { h.rcode().0.to_string() } else { String::new() },
                name.unwrap_or_default(),
                q.map(|q| q.rtype.0.to_string()).unwrap_or_default(),
                h.ancount.to_string(),
            ])
        }
        Family::Nbns => {
            let s = ns::summary(data).ok()?;
            Some(vec![
                format!("{:#06x}", s.header.id),
                b(s.response),
                s.opcode.0.to_string(),
                s.first_name.map(|n| format!("{}<{:02x}>", n.text(), n.suffix)).unwrap_or_default(),
                s.first_address.map(|a| a.to_string()).unwrap_or_default(),
            ])
        }
        Family::Browser => {
            let d = dgm::parse(data).ok()?;
            let slot = dgm::mailslot(d.user_data).ok()??;
            if slot.name != dgm::BROWSE {
                return None;
            }
            let command = *slot.data.first()?;
            let a = dgm::announcement(slot.data).ok()?;
            Some(vec![
                format!("{command:#04x}"),
                a.map(|a| String::from_utf8_lossy(a.server_name).into_owned()).unwrap_or_default(),
                a.map(|a| a.os_major.to_string()).unwrap_or_default(),
                a.map(|a| a.os_minor.to_string()).unwrap_or_default(),
                a.map(|a| format!("{:#010x}", a.server_type)).unwrap_or_default(),
            ])
        }
    }
}

/// Wraps a real datagram dissector: records what our parsers read from each
/// datagram the engine hands it, then lets it dissect.
struct Recording {
    inner: Box<dyn DatagramDissector>,
    family: Family,
    seen: Arc<Mutex<BTreeMap<&'static str, PerPacket>>>,
}

struct RecordingSession {
    inner: Box<dyn DatagramSession>,
    family: Family,
    seen: Arc<Mutex<BTreeMap<&'static str, PerPacket>>>,
}

impl DatagramDissector for Recording {
    fn protocol(&self) -> &'static str {
        self.inner.protocol()
    }
    fn port_hint(&self, s: u16, d: u16) -> bool {
        self.inner.port_hint(s, d)
    }
    fn probe(&self, data: &[u8]) -> Probe {
        self.inner.probe(data)
    }
    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(RecordingSession { inner: self.inner.new_session(), family: self.family, seen: self.seen.clone() })
    }
}

impl DatagramSession for RecordingSession {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let tag = match self.family {
            Family::Dns => "dns",
            Family::Nbns => "nbns",
            Family::Browser => "browser",
        };
        if let Some(k) = ours(self.family, data) {
            self.seen.lock().unwrap().entry(tag).or_default().entry(ctx.packet).or_default().push(k);
        }
        self.inner.datagram(ctx, direction, data, emit);
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.inner.close(ctx, emit);
    }
}

/// tshark's fields per packet, normalised where it decorates them.
fn tshark(path: &Path, filter: &str, fields: &[&str]) -> PerPacket {
    let mut per = PerPacket::new();
    for (frame, mut f) in support::tshark_fields(path, &[], filter, fields) {
        if fields == NBNS_FIELDS {
            // "DBLICENSESERVER<20> (Server service)" -> "DBLICENSESERVER<20>"
            if let Some(end) = f[3].find('>') {
                f[3].truncate(end + 1);
            }
        }
        per.entry(frame).or_default().push(f);
    }
    per
}

/// Per-field agreement over packets: (matched, union) per field index.
fn per_field(dest: &str, names: &[&str], ours: &PerPacket, theirs: &PerPacket, totals: &mut [support::Agreement]) {
    for (i, name) in names.iter().enumerate() {
        let pick = |p: &PerPacket| -> BTreeMap<u64, Vec<String>> {
            p.iter().map(|(k, v)| (*k, v.iter().map(|f| f[i].clone()).collect())).collect()
        };
        println!("-- {name}");
        totals[i].add(support::compare(dest, &pick(ours), &pick(theirs)));
    }
}

/// (host name, address) pairs tshark shows naming hosts in NBNS and browser packets.
fn tshark_names(path: &Path) -> BTreeSet<(String, String)> {
    let mut want = BTreeSet::new();
    let nb = support::tshark_fields(
        path,
        &[],
        "nbns.addr and ((nbns.flags.response == 1 and nbns.flags.rcode == 0 and nbns.flags.opcode == 0) or (nbns.flags.response == 0 and nbns.flags.opcode in {5, 8, 9, 15}))",
        &["nbns.name", "nbns.addr", "nbns.nb_flags.group"],
    );
    for (_, f) in nb {
        let name = f[0].split('<').next().unwrap().to_string();
        let unique = f[2] == "0" || f[2] == "False";
        if unique && (f[0].contains("<00>") || f[0].contains("<20>")) {
            want.insert((name, f[1].clone()));
        }
    }
    let br = support::tshark_fields(path, &[], "browser.command in {0x01, 0x0f}", &["browser.server", "nbdgm.src.ip"]);
    for (_, f) in br {
        want.insert((f[0].clone(), f[1].clone()));
    }
    want
}

/// The host names the inventory gives each address.
fn inventory_names(capture: &Path) -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("names.db");
    loopback::analyze(&db, capture);
    let assets = loopback::json(&db, &["assets"]);
    let mut out = BTreeSet::new();
    for a in assets["assets"].as_array().unwrap() {
        let Some(attr) = a["attributes"].as_array().unwrap().iter().find(|x| x["field"] == "host_name") else {
            continue;
        };
        for v in attr["values"].as_array().unwrap() {
            for ip in a["ips"].as_array().unwrap() {
                out.insert((v["value"].as_str().unwrap().to_string(), ip.as_str().unwrap().to_string()));
            }
        }
    }
    out
}

#[test]
fn name_services_agree_with_tshark_on_every_shared_capture() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut files: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    for tag in ["dns", "mdns", "llmnr", "nbns", "browser"] {
        for c in support::captures_with(&pcaps, tag) {
            files.insert(c.dest, c.path);
        }
    }
    assert!(!files.is_empty(), "the shared captures hold name-service traffic");
    let mut dns_total = vec![support::Agreement::default(); DNS_FIELDS.len()];
    let mut nbns_total = vec![support::Agreement::default(); NBNS_FIELDS.len()];
    let mut browser_total = vec![support::Agreement::default(); BROWSER_FIELDS.len()];
    let (mut found, mut shown) = (0, 0);
    for (dest, path) in &files {
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let rec = |inner: Box<dyn DatagramDissector>, family| -> Box<dyn DatagramDissector> {
            Box::new(Recording { inner, family, seen: seen.clone() })
        };
        // The registry's own order, each dissector wrapped.
        let mut registry = Registry::with_defaults();
        registry.streams.clear();
        registry.frames.clear();
        registry.datagrams = registry
            .datagrams
            .into_iter()
            .map(|d| match d.protocol() {
                "dns" | "mdns" | "llmnr" => rec(d, Family::Dns),
                "nbns" => rec(d, Family::Nbns),
                "nbdgm" => rec(d, Family::Browser),
                _ => d,
            })
            .collect();
        support::run_engine(path, registry);
        let seen = seen.lock().unwrap();
        let empty = PerPacket::new();
        let get = |t: &str| seen.get(t).unwrap_or(&empty);
        per_field(dest, DNS_FIELDS, get("dns"), &tshark(path, "dns or mdns or llmnr", DNS_FIELDS), &mut dns_total);
        per_field(dest, NBNS_FIELDS, get("nbns"), &tshark(path, "nbns", NBNS_FIELDS), &mut nbns_total);
        per_field(dest, BROWSER_FIELDS, get("browser"), &tshark(path, "browser", BROWSER_FIELDS), &mut browser_total);

        let want = tshark_names(path);
        if !want.is_empty() {
            let have = inventory_names(path);
            let (f, s) = support::identity_recovered(dest, &want, &have);
            found += f;
            shown += s;
        }
    }
    for (names, totals) in [(DNS_FIELDS, &dns_total), (NBNS_FIELDS, &nbns_total), (BROWSER_FIELDS, &browser_total)] {
        for (name, t) in names.iter().zip(totals.iter()) {
            t.check(name, "packets");
        }
    }
    assert!(shown > 0, "the shared captures name hosts in NBNS and browser packets");
    assert_eq!(found, shown, "every host name tshark shows must name its address in the inventory");
}
