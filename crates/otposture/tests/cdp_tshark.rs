//! Cross-check of the CDP dissector (and of the LLC/SNAP decode in front of
//! it) against tshark on every shared capture whose INDEX `protocols` column
//! lists `cdp`: per frame, device ID, platform, port ID, the first line of the
//! software version, capabilities, the first IPv4 address, checksum status,
//! native VLAN and duplex, ours against `tshark -Y cdp -T fields` of the same
//! fields. Ours are read by the public functions in a wrapper the engine hands
//! each CDP frame (so a frame the wire decode does not route to CDP is missing
//! on our side). Then `otposture analyze` of each capture must file every
//! device ID and platform tshark shows as the name and model of the asset
//! holding the sending MAC.
//!
//! Last run: 12 of 12 frames agree over 6 captures; 6 of 6 (name, model) found
//! on the sending MAC's asset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::support;

use otposture_dissect::cdp::{self, tlv, tlvs, Cdp};
use otposture_dissect::{Emit, FrameDissector, FrameSelector, PacketCtx, Registry};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Device ID, platform, port ID, software version first line, capabilities,
/// first IPv4 address, checksum status, native VLAN, duplex.
type Key = [String; 9];
type PerPacket = BTreeMap<u64, Vec<Key>>;

struct Recording {
    seen: Arc<Mutex<PerPacket>>,
}

impl FrameDissector for Recording {
    fn protocol(&self) -> &'static str {
        Cdp.protocol()
    }
    fn selector(&self) -> FrameSelector {
        Cdp.selector()
    }
    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        let mut k = Key::default();
        if let Ok((_, rest)) = cdp::header(data) {
            k[6] = if cdp::checksum_ok(data) { "1" } else { "0" }.to_string();
            for (kind, v) in tlvs(rest).flatten() {
                match kind {
                    tlv::DEVICE_ID => k[0] = cdp::text(v),
                    tlv::PLATFORM => k[1] = cdp::text(v),
                    tlv::PORT_ID => k[2] = cdp::text(v),
                    // tshark shows each line of the banner as one field.
                    tlv::SOFTWARE_VERSION => k[3] = cdp::text(v).lines().next().unwrap_or_default().to_string(),
                    tlv::CAPABILITIES if v.len() == 4 => {
                        k[4] = format!("{:#010x}", u32::from_be_bytes(v.try_into().unwrap()))
                    }
                    tlv::ADDRESSES | tlv::MANAGEMENT_ADDRESSES if k[5].is_empty() => {
                        k[5] = cdp::addresses(v).0.into_iter().find(|a| a.contains('.')).unwrap_or_default()
                    }
                    tlv::NATIVE_VLAN if v.len() == 2 => k[7] = u16::from_be_bytes([v[0], v[1]]).to_string(),
                    tlv::DUPLEX if v.len() == 1 => k[8] = v[0].min(1).to_string(),
                    _ => {}
                }
            }
        }
        self.seen.lock().unwrap().entry(ctx.packet).or_default().push(k);
        Cdp.frame(ctx, data, emit);
    }
}

fn tshark(path: &std::path::Path) -> (PerPacket, BTreeSet<(String, String, String)>) {
    let fields = [
        "cdp.deviceid",
        "cdp.platform",
        "cdp.portid",
        "cdp.software_version",
        "cdp.capabilities",
        "cdp.nrgyz.ip_address",
        "cdp.checksum.status",
        "cdp.native_vlan",
        "cdp.duplex",
        "eth.src",
    ];
    let mut per = PerPacket::new();
    let mut identities = BTreeSet::new();
    for (frame, mut f) in support::tshark_fields(path, &[], "cdp", &fields) {
        let mac = f.pop().unwrap();
        identities.insert((mac, f[0].clone(), f[1].clone()));
        per.entry(frame).or_default().push(<Key>::try_from(f).unwrap());
    }
    (per, identities)
}

#[test]
fn cdp_agrees_with_tshark_on_every_shared_capture() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut total = support::Agreement::default();
    let (mut found, mut shown) = (0, 0);
    let captures = support::captures_with(&pcaps, "cdp");
    assert!(!captures.is_empty(), "the shared captures hold CDP");
    for c in captures {
        let seen = Arc::new(Mutex::new(PerPacket::new()));
        let registry = Registry { frames: vec![Box::new(Recording { seen: seen.clone() })], ..Registry::default() };
        support::run_engine(&c.path, registry);
        let (theirs, identities) = tshark(&c.path);
        total.add(support::compare(&c.dest, &seen.lock().unwrap(), &theirs));

        // The inventory files the device ID as the name and the platform as
        // the model of the asset holding the sending MAC.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cdp.db");
        loopback::analyze(&db, &c.path);
        let assets = loopback::json(&db, &["assets"]);
        let assets = assets["assets"].as_array().unwrap();
        let ours: BTreeSet<(String, String, String)> = identities
            .iter()
            .filter_map(|(mac, _, _)| {
                let a = assets.iter().find(|a| a["macs"].as_array().unwrap().iter().any(|m| m == mac.as_str()))?;
                let field =
                    |f: &str| a["attributes"].as_array().unwrap().iter().find(|x| x["field"] == f).map(|x| &x["value"]);
                let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
                Some((mac.clone(), text(field("name")), text(field("model"))))
            })
            .collect();
        let (f, s) = support::identity_recovered(&c.dest, &identities, &ours);
        found += f;
        shown += s;
    }
    total.check("cdp", "frames");
    assert_eq!(found, shown, "every device ID and platform tshark shows must reach the sender's asset");
}
