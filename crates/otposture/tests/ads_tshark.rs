//! Cross-check of the ADS dissector against tshark's AMS dissector on every
//! shared capture whose INDEX `protocols` column lists `ams`, per packet and
//! per field of every AMS/TCP message:
//! - `command`, `state_flags`: the ADS command and AMS state flags
//!   (`ams.cmdid`, `ams.stateflags`);
//! - `target_port`, `source_port`, `target_net_id`, `source_net_id`,
//!   `invoke_id` (`ams.targetport`, `ams.senderport`, `ams.targetnetid`,
//!   `ams.sendernetid`, `ams.invokeid`);
//! - `index_group`: the index group of Read, Write, ReadWrite and Add Device
//!   Notification requests (`ams.ads_indexgroup`).
//!
//! Each field is compared as the multiset of its values in a packet and must
//! agree for 99% of the values. Ours are recorded by a wrapper around the
//! real dissector: the engine chooses it by the real probe and feeds it the
//! real reassembled streams; the wrapper hands the same bytes to the real
//! session and to the public [`ams::Framer`], recording each message with
//! the packet that completed it.
//!
//! Identity: every device name tshark shows in a Read Device Info response
//! (`ams.ads_devicename`) is one of our `ads.device_info` events, with its
//! version (`ams.ads_versionversion`, `.ads_versionrevision`,
//! `.ads_versionbuild`).
//!
//! Every disagreement is printed. Last run (tshark 4.0.17): two captures
//! (`other_ics/beckoffiplink.pcapng`, `other_ics/addroute.pcapng`), 4,182
//! messages, every field 4,182/4,182 (index group 1,048/1,048); both device
//! names and versions recovered. tshark has no dissector for
//! the router's UDP service on 48899 (discovery, add route), so it is not
//! compared; its unit tests read the capture's own datagrams.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::ads::ams::{self, Framed};
use otposture_dissect::ads::Ads;
use otposture_dissect::{PacketCtx, Registry};
use otposture_model::Observation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The fields compared: ours, tshark's.
const FIELDS: [(&str, &str); 8] = [
    ("command", "ams.cmdid"),
    ("state_flags", "ams.stateflags"),
    ("target_port", "ams.targetport"),
    ("source_port", "ams.senderport"),
    ("target_net_id", "ams.targetnetid"),
    ("source_net_id", "ams.sendernetid"),
    ("invoke_id", "ams.invokeid"),
    ("index_group", "ams.ads_indexgroup"),
];

type PerPacket = BTreeMap<u64, [Vec<String>; 8]>;

/// The values of one message, per field.
fn message_values(h: &ams::Header, body: &[u8]) -> [Vec<String>; 8] {
    let mut v: [Vec<String>; 8] = Default::default();
    v[0].push(h.command.to_string());
    v[1].push(format!("{:#06x}", h.state));
    v[2].push(h.target_port.to_string());
    v[3].push(h.source_port.to_string());
    v[4].push(h.target.text().to_string());
    v[5].push(h.source.text().to_string());
    v[6].push(format!("{:#010x}", h.invoke_id));
    // Requests that name an index group: Read, Write, Add Device Notification, ReadWrite.
    if !h.is_response() && matches!(h.command, 2 | 3 | 6 | 9) {
        if let Some(g) = body.first_chunk::<4>() {
            v[7].push(format!("{:#010x}", u32::from_le_bytes(*g)));
        }
    }
    v
}

/// AMS messages as the dissector's own framer cuts them, per packet.
struct Recording(ams::Framer);

impl Default for Recording {
    fn default() -> Self {
        Recording(ams::Framer::new())
    }
}

impl support::SideTap<PerPacket> for Recording {
    fn data(&mut self, ctx: &PacketCtx<'_>, data: &[u8], sink: &mut PerPacket) {
        self.0.push(data, &mut |f| {
            if let Framed::Frame(h, body) = f {
                let e = sink.entry(ctx.packet).or_default();
                for (all, one) in e.iter_mut().zip(message_values(&h, body)) {
                    all.extend(one);
                }
            }
        });
    }
    fn gap(&mut self, len: u64) {
        self.0.gap(len);
    }
}

/// Ours: per packet, per field; and the device names and versions of the
/// identity events.
fn ours(path: &Path) -> (PerPacket, BTreeSet<(String, String)>) {
    let sink = Arc::new(Mutex::new(PerPacket::new()));
    let mut registry = Registry::with_defaults();
    let at = registry.streams.iter().position(|d| d.protocol() == "ads").unwrap();
    registry.streams[at] = Box::new(support::Tapped::<_, Recording, _>::new(Ads, sink.clone()));
    let identities = support::run_engine(path, registry)
        .iter()
        .filter_map(|o| match o {
            Observation::Event(e) if e.name == "ads.device_info" => {
                let get = |k: &str| e.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
                Some((get("device_name")?, get("version")?))
            }
            _ => None,
        })
        .collect();
    let map = sink.lock().unwrap().clone();
    (map, identities)
}

/// tshark's: per packet, per field; and the device names and versions it shows.
fn theirs(path: &Path) -> (PerPacket, BTreeSet<(String, String)>) {
    let mut fields: Vec<&str> = FIELDS.iter().map(|(_, f)| *f).collect();
    fields.extend(["ams.ads_devicename", "ams.ads_versionversion", "ams.ads_versionrevision", "ams.ads_versionbuild"]);
    let mut cmd = std::process::Command::new("tshark");
    cmd.args(["-n", "-Y", "ams", "-T", "fields", "-E", "occurrence=a", "-e", "frame.number"]);
    for f in &fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.arg("-r").arg(path).output().unwrap();
    let mut map = PerPacket::new();
    let mut identities = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        let e = map.entry(frame).or_default();
        for (i, values) in e.iter_mut().enumerate() {
            let column = f.get(i + 1).copied().unwrap_or_default();
            values.extend(column.split(',').filter(|x| !x.is_empty()).map(|x| normalise(i, x)));
        }
        let col = |i: usize| f.get(FIELDS.len() + 1 + i).copied().unwrap_or_default();
        if !col(0).is_empty() {
            let name = col(0).trim_end_matches('\0').trim().to_string();
            identities.insert((name, format!("{}.{}.{}", col(1), col(2), col(3))));
        }
    }
    (map, identities)
}

/// tshark's text as ours: numbers in the same base and width.
fn normalise(field: usize, text: &str) -> String {
    let number = |t: &str| match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or(u64::MAX),
        None => t.parse().unwrap_or(u64::MAX),
    };
    match field {
        1 => format!("{:#06x}", number(text)),
        6 | 7 => format!("{:#010x}", number(text)),
        4 | 5 => text.to_string(),
        _ => number(text).to_string(),
    }
}

fn field(map: &PerPacket, i: usize) -> BTreeMap<u64, Vec<String>> {
    map.iter().map(|(frame, v)| (*frame, v[i].clone())).filter(|(_, v)| !v.is_empty()).collect()
}

#[test]
fn ads_messages_match_tshark_per_packet_and_field_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut totals: Vec<support::Agreement> = vec![support::Agreement::default(); FIELDS.len()];
    let mut messages = 0;
    let captures = support::captures_with(&dir, "ams");
    assert!(!captures.is_empty(), "INDEX.tsv lists no capture with AMS");
    for c in captures {
        let ((ours, our_ids), (theirs, their_ids)) = (ours(&c.path), theirs(&c.path));
        messages += ours.values().map(|v| v[0].len()).sum::<usize>();
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            let label = format!("{} [{name}]", c.dest);
            let (matched, union) = support::compare(&label, &field(&ours, i), &field(&theirs, i));
            println!("{label}: {matched}/{union} values agree ({:.2}%)", support::percent(matched, union));
            totals[i].add((matched, union));
        }
        let (found, shown) = support::identity_recovered(&c.dest, &their_ids, &our_ids);
        assert_eq!(found, shown, "{}: every device name and version tshark shows is recovered", c.dest);
        println!("{}: {found}/{shown} device names and versions recovered", c.dest);
    }
    println!("ads: {messages} messages compared");
    assert!(messages > 0);
    for (i, (name, _)) in FIELDS.iter().enumerate() {
        totals[i].check(&format!("ads {name}"), "values");
    }
}
