//! Cross-check of the IEEE C37.118 dissector against tshark's synchrophasor
//! dissector on every shared capture whose INDEX `protocols` column lists
//! `synphasor`, per packet and per field of every frame:
//! - `frame_type` (`synphasor.frtype`), `frame_size` (`synphasor.frsize`),
//!   `stream_id` (`synphasor.idcode_stream_source`) and a command's code
//!   (`synphasor.command`).
//!
//! Each field is compared as the multiset of its values in a packet and must
//! agree for 99% of the values. Ours are recorded by a wrapper around the
//! real dissector: the engine chooses it by the real probe and feeds it the
//! real reassembled streams; the wrapper hands the same bytes to the real
//! session and to the public [`frame::Scanner`], recording each frame that
//! passes its check with the packet that completed it.
//!
//! Identity: every station name tshark shows in a configuration frame
//! (`Station #N: "..."` in its packet details) is the `station` of one of
//! our `c37118.pmu` events.
//!
//! Status: a capture has a `c37118.pmu_status` event saying a PMU is not
//! synchronised exactly when tshark flags a data frame's PMU sync bit
//! (`synphasor.data.sync`) in it.
//!
//! Every disagreement is printed. Last run (tshark 4.0.17): three captures,
//! 7,173 frames, every field 100%; all 6 station names recovered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::c37118::{frame, C37118};
use otposture_dissect::{PacketCtx, Registry};
use otposture_model::Observation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// The fields compared: ours, tshark's.
const FIELDS: [(&str, &str); 4] = [
    ("frame_type", "synphasor.frtype"),
    ("frame_size", "synphasor.frsize"),
    ("stream_id", "synphasor.idcode_stream_source"),
    ("command", "synphasor.command"),
];

type PerPacket = BTreeMap<u64, [Vec<u64>; 4]>;

/// Checked frames as the dissector's own scanner cuts them, per packet.
#[derive(Default)]
struct Recording(frame::Scanner);

impl support::SideTap<PerPacket> for Recording {
    fn data(&mut self, ctx: &PacketCtx<'_>, data: &[u8], sink: &mut PerPacket) {
        self.0.push(data, &mut |h, body, ok| {
            if !ok {
                return;
            }
            let e = sink.entry(ctx.packet).or_default();
            e[0].push(u64::from(h.kind.number()));
            e[1].push(u64::from(h.size));
            e[2].push(u64::from(h.idcode));
            if h.kind == frame::FrameType::Command {
                if let Some(c) = body.first_chunk::<2>() {
                    e[3].push(u64::from(u16::from_be_bytes(*c)));
                }
            }
        });
    }
    fn gap(&mut self, _len: u64) {
        self.0.gap();
    }
}

/// Whether any PMU of the capture reported lost synchronisation: ours (an
/// event) and tshark's (a data frame's sync bit).
fn sync_lost(path: &Path) -> (bool, bool) {
    let ours = support::run_engine(path, Registry::with_defaults()).iter().any(|o| {
        matches!(o, Observation::Event(e) if e.name == "c37118.pmu_status"
            && e.attributes.iter().any(|(k, v)| k == "synchronised" && v == "false"))
    });
    let rows = support::tshark_fields(path, &[], "synphasor.frtype == 0", &["synphasor.data.sync"]);
    let theirs = rows.iter().any(|(_, v)| v[0].split(',').any(|x| x == "1" || x == "True"));
    (ours, theirs)
}

fn ours(path: &Path) -> (PerPacket, BTreeSet<String>) {
    let sink = Arc::new(Mutex::new(PerPacket::new()));
    let mut registry = Registry::with_defaults();
    let at = registry.streams.iter().position(|d| d.protocol() == "c37118").unwrap();
    registry.streams[at] = Box::new(support::Tapped::<_, Recording, _>::new(C37118, sink.clone()));
    let stations = support::run_engine(path, registry)
        .iter()
        .filter_map(|o| match o {
            Observation::Event(e) if e.name == "c37118.pmu" => {
                e.attributes.iter().find(|(k, _)| k == "station").map(|(_, v)| v.to_string())
            }
            _ => None,
        })
        .collect();
    let map = sink.lock().unwrap().clone();
    (map, stations)
}

fn number(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or(u64::MAX),
        None => s.parse().unwrap_or(u64::MAX),
    }
}

fn theirs(path: &Path) -> (PerPacket, BTreeSet<String>) {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-Y", "synphasor", "-T", "fields", "-E", "occurrence=a", "-e", "frame.number"]);
    for (_, f) in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.arg("-r").arg(path).output().unwrap();
    let mut map = PerPacket::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        let e = map.entry(frame).or_default();
        for (i, values) in e.iter_mut().enumerate() {
            let column = f.get(i + 1).copied().unwrap_or_default();
            values.extend(column.split(',').filter(|x| !x.is_empty()).map(number));
        }
    }
    // Station names appear only in the packet details.
    let details = Command::new("tshark")
        .args(["-n", "-Y", "synphasor.frtype == 2 || synphasor.frtype == 3", "-V", "-r"])
        .arg(path)
        .output()
        .unwrap();
    let mut stations = BTreeSet::new();
    for line in String::from_utf8_lossy(&details.stdout).lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Station #") {
            if let Some((_, quoted)) = rest.split_once(": \"") {
                stations.insert(quoted.trim_end_matches('"').trim().to_string());
            }
        }
    }
    (map, stations)
}

fn field(map: &PerPacket, i: usize) -> BTreeMap<u64, Vec<u64>> {
    map.iter().map(|(frame, v)| (*frame, v[i].clone())).filter(|(_, v)| !v.is_empty()).collect()
}

#[test]
fn c37118_frames_match_tshark_per_packet_and_field_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut totals: Vec<support::Agreement> = vec![support::Agreement::default(); FIELDS.len()];
    let (mut frames, mut stations) = (0, 0);
    let captures = support::captures_with(&dir, "synphasor");
    assert!(!captures.is_empty(), "INDEX.tsv lists no capture with C37.118");
    for c in captures {
        let ((ours, our_names), (theirs, their_names)) = (ours(&c.path), theirs(&c.path));
        frames += ours.values().map(|v| v[0].len()).sum::<usize>();
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            let label = format!("{} [{name}]", c.dest);
            let (matched, union) = support::compare(&label, &field(&ours, i), &field(&theirs, i));
            println!("{label}: {matched}/{union} values agree ({:.2}%)", support::percent(matched, union));
            totals[i].add((matched, union));
        }
        let (found, shown) = support::identity_recovered(&c.dest, &their_names, &our_names);
        assert_eq!(found, shown, "{}: every station name tshark shows is recovered", c.dest);
        stations += shown;
        let (our_sync, their_sync) = sync_lost(&c.path);
        println!("{}: a PMU not synchronised: ours {our_sync}, tshark {their_sync}", c.dest);
        assert_eq!(our_sync, their_sync, "{}: lost synchronisation reported as tshark flags it", c.dest);
    }
    println!("c37118: {frames} frames compared, {stations} station names recovered");
    assert!(frames > 0 && stations > 0);
    for (i, (name, _)) in FIELDS.iter().enumerate() {
        totals[i].check(&format!("c37118 {name}"), "values");
    }
}
