//! Cross-check of the PROFINET DCP dissector against tshark on every shared
//! capture whose INDEX `protocols` column lists `pn_dcp`: per packet, service,
//! service type, Xid, NameOfStation, VendorID, DeviceID and IP address, ours
//! against `tshark -Y pn_dcp -T fields -e frame.number -e pn_dcp.service_id -e
//! pn_dcp.service_type -e pn_dcp.xid -e pn_dcp.suboption_device_nameofstation -e
//! pn_dcp.suboption_vendor_id -e pn_dcp.suboption_device_id -e
//! pn_dcp.suboption_ip_ip` (first occurrence of each).
//!
//! Ours are recorded by a wrapper that the engine hands each PROFINET frame (by
//! EtherType, after any VLAN tags); it parses with the public parser and passes
//! the frame on to the real dissector, whose `pn_dcp.identity` events must name
//! every station tshark shows in a response.
//!
//! Last run: 8 of 8 frames agree over 2 captures; identity 2 of 2 stations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::profinet::dcp::{self, opt};
use otposture_dissect::profinet::Profinet;
use otposture_dissect::{Emit, FrameDissector, PacketCtx, Registry};
use otposture_model::{EventKind, Observation};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Service, service type, Xid, NameOfStation, VendorID, DeviceID, IP as tshark prints them.
type Key = (String, String, String, String, String, String, String);
type PerPacket = BTreeMap<u64, Vec<Key>>;

struct Recording {
    seen: Arc<Mutex<PerPacket>>,
}

impl FrameDissector for Recording {
    fn protocol(&self) -> &'static str {
        Profinet.protocol()
    }
    fn ethertype(&self) -> u16 {
        Profinet.ethertype()
    }
    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        if let Ok(p) = dcp::parse(data) {
            let (mut name, mut vendor, mut device, mut ip) =
                (String::new(), String::new(), String::new(), String::new());
            for b in p.blocks().flatten() {
                match (b.option, b.suboption) {
                    (opt::DEVICE, opt::DEVICE_NAME) if name.is_empty() => {
                        // tshark's string ends at the first NUL.
                        let end = b.value.iter().position(|&x| x == 0).unwrap_or(b.value.len());
                        name = String::from_utf8_lossy(&b.value[..end]).into_owned()
                    }
                    (opt::DEVICE, opt::DEVICE_ID) if vendor.is_empty() && b.value.len() >= 4 => {
                        vendor = format!("{:#06x}", u16::from_be_bytes([b.value[0], b.value[1]]));
                        device = format!("{:#06x}", u16::from_be_bytes([b.value[2], b.value[3]]));
                    }
                    (opt::IP, opt::IP_PARAMETER | opt::IP_SUITE) if ip.is_empty() && b.value.len() >= 4 => {
                        ip = format!("{}.{}.{}.{}", b.value[0], b.value[1], b.value[2], b.value[3]);
                    }
                    _ => {}
                }
            }
            let key = (
                p.service.0.to_string(),
                p.service_type.0.to_string(),
                format!("{:#010x}", p.xid),
                name,
                vendor,
                device,
                ip,
            );
            self.seen.lock().unwrap().entry(ctx.packet).or_default().push(key);
        }
        Profinet.frame(ctx, data, emit);
    }
}

fn tshark(path: &std::path::Path) -> PerPacket {
    let fields = [
        "pn_dcp.service_id",
        "pn_dcp.service_type",
        "pn_dcp.xid",
        "pn_dcp.suboption_device_nameofstation",
        "pn_dcp.suboption_vendor_id",
        "pn_dcp.suboption_device_id",
        "pn_dcp.suboption_ip_ip",
    ];
    let mut per = PerPacket::new();
    for (frame, f) in support::tshark_fields(path, &[], "pn_dcp", &fields) {
        let [service, stype, xid, name, vendor, device, ip] = <[String; 7]>::try_from(f).unwrap();
        per.entry(frame).or_default().push((service, stype, xid, name, vendor, device, ip));
    }
    per
}

#[test]
fn profinet_dcp_agrees_with_tshark_on_every_shared_capture() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut total = support::Agreement::default();
    let (mut found, mut shown) = (0, 0);
    let captures = support::captures_with(&pcaps, "pn_dcp");
    assert!(!captures.is_empty(), "the shared captures hold PROFINET DCP");
    for c in captures {
        let seen = Arc::new(Mutex::new(PerPacket::new()));
        let registry = Registry { frames: vec![Box::new(Recording { seen: seen.clone() })], ..Registry::default() };
        let observations = support::run_engine(&c.path, registry);
        let theirs = tshark(&c.path);
        total.add(support::compare(&c.dest, &seen.lock().unwrap(), &theirs));

        // Stations named in responses (service type 1), as tshark shows them.
        let stations: BTreeSet<String> =
            theirs.values().flatten().filter(|k| k.1 == "1" && !k.3.is_empty()).map(|k| k.3.clone()).collect();
        let ours: BTreeSet<String> = observations
            .iter()
            .filter_map(|o| match o {
                Observation::Event(e) if e.kind == EventKind::Identity && e.name == "pn_dcp.identity" => {
                    e.attributes.iter().find(|(k, _)| k == "name_of_station").map(|(_, v)| v.to_string())
                }
                _ => None,
            })
            .collect();
        let (f, s) = support::identity_recovered(&c.dest, &stations, &ours);
        found += f;
        shown += s;
    }
    total.check("pn_dcp", "frames");
    assert_eq!(found, shown, "stations tshark shows must all be named");
}
