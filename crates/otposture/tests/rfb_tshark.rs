//! Cross-check of the RFB (VNC) dissector against tshark on every shared
//! capture whose INDEX `protocols` column lists `vnc`: the protocol versions
//! each server announced (tshark `vnc.server_proto_ver`, one per handshake)
//! against the `server_version` of our `rfb.server` events (the first per flow).
//! tshark marks parts of both captures malformed (a scanner's failed login, and
//! Apple's security types 30 and 35 that it does not follow), so only the
//! versions are compared.
//!
//! Last run: 4 of 4 handshakes agree over 2 captures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::rfb::Rfb;
use otposture_dissect::Registry;
use otposture_model::{FlowId, Observation};
use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn rfb_versions_agree_with_tshark_on_every_shared_capture() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut total = support::Agreement::default();
    let captures = support::captures_with(&pcaps, "vnc");
    assert!(!captures.is_empty(), "the shared captures hold VNC");
    for c in captures {
        let observations =
            support::run_engine(&c.path, Registry { streams: vec![Box::new(Rfb)], ..Registry::default() });
        let mut first: BTreeMap<Option<FlowId>, String> = BTreeMap::new();
        for o in &observations {
            if let Observation::Event(e) = o {
                if e.name == "rfb.server" {
                    let v = e.attributes.iter().find(|(k, _)| k == "server_version").map(|(_, v)| v.clone());
                    first.entry(e.flow).or_insert((v.unwrap_or_default()).to_string());
                }
            }
        }
        let mut ours: Vec<String> = first.into_values().collect();
        ours.sort();
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&c.path)
            .args(["-Y", "vnc.server_proto_ver", "-T", "fields", "-e", "vnc.server_proto_ver"])
            .output()
            .unwrap();
        // "003.889" -> "3.889", as ours.
        let mut theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let (a, b) = l.split_once('.').unwrap();
                format!("{}.{}", a.parse::<u16>().unwrap(), b.parse::<u16>().unwrap())
            })
            .collect();
        theirs.sort();
        let as_map = |v: &[String]| -> BTreeMap<u64, Vec<String>> { BTreeMap::from([(0, v.to_vec())]) };
        total.add(support::compare(&c.dest, &as_map(&ours), &as_map(&theirs)));
    }
    total.check("rfb", "handshakes");
}
