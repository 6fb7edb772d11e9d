//! Every posture check at plant scale: `cargo bench -p otposture-posture`.
//!
//! Builds an inventory in memory of 100,000 assets and 1,000,000 conversations
//! (a tenth of the hosts controllers, polled over Modbus by the others; one
//! conversation in fifty writes, one in a thousand transfers a program; a
//! thousand RDP sessions into the level 2 zone), with 10,000 kept write
//! operations, a site file of five zones and three conduits, then runs every
//! check. Prints the build time, the checks' time, the findings and the peak
//! memory; no assertion on timing. `OTPOSTURE_BENCH_ASSETS` and
//! `OTPOSTURE_BENCH_EDGES` change the size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use otposture_fixtures::bench::{peak_rss_mib, size};
use otposture_model::{EventKind, FlowId, HostSource, MacAddr, OperationClass};
use otposture_posture::{assess, Facts};
use otposture_site::Site;
use otposture_store::{Attributes, CaptureId, ClassCount, ConversationRow, EventRow, HostRow};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

/// Host i: controllers (every tenth) in 10.1.0.0/16, the others spread over
/// the level 2 (10.2/16), level 3 (10.3/16) and level 4 (10.4/16) zones.
fn ip(i: u64) -> IpAddr {
    let zone = if i % 10 == 0 { 1 } else { 2 + (i % 3) as u32 };
    IpAddr::V4(Ipv4Addr::from((10 << 24) | (zone << 16) | (i as u32 & 0xffff)))
}

fn mac(i: u64) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x00, 0x00, 0xbc, b[5], b[6], b[7]])
}

const SITE: &str = "
[site]
name = 'bench'
[[zone]]
name = 'cells'
level = 1
cidrs = ['10.1.0.0/16']
[[zone]]
name = 'supervisory'
level = 2
cidrs = ['10.2.0.0/16']
[[zone]]
name = 'operations'
level = 3
cidrs = ['10.3.0.0/16']
[[zone]]
name = 'enterprise'
level = 4
cidrs = ['10.4.0.0/16']
[[zone]]
name = 'dmz'
level = 3
dmz = true
cidrs = ['10.5.0.0/16']
[[conduit]]
name = 'poll'
from = 'supervisory'
to = 'cells'
protocols = ['modbus']
operations = ['read', 'write']
[[conduit]]
name = 'historian'
from = 'operations'
to = 'cells'
protocols = ['modbus']
operations = ['read']
[[conduit]]
name = 'remote'
from = 'enterprise'
to = 'supervisory'
protocols = ['rdp']
";

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a smoke run at a hundredth.
    let scale = if std::env::args().any(|a| a == "--bench") { 1 } else { 100 };
    let assets = size("OTPOSTURE_BENCH_ASSETS", 100_000) / scale;
    let edges = size("OTPOSTURE_BENCH_EDGES", 1_000_000) / scale;
    let site = Site::parse(SITE).unwrap();
    let hosts: Vec<HostRow> = (0..assets)
        .map(|i| HostRow {
            network: None,
            id: i as i64,
            mac: Some(mac(i)),
            ip: Some(ip(i)),
            vlan: None,
            first_seen: String::new(),
            first_seen_ns: 0,
            last_seen: String::new(),
            last_seen_ns: 1_000,
            source: HostSource::Ip,
            host_name: None,
            vendor_class: None,
            flows_as_client: 0,
            flows_as_server: 0,
            packets_sent: 0,
            bytes_sent: 0,
            packets_received: 0,
            bytes_received: 0,
        })
        .collect();
    let controllers = (assets / 10).max(1);
    let t = Instant::now();
    let mut builder = otposture_inventory::InventoryBuilder::new(&hosts, &[]);
    for k in 0..edges {
        let client = k % assets;
        let server = ((k / assets + k) % controllers) * 10;
        let (protocol, port, requests) = if k % 1_000 == 1 {
            ("rdp", 3389, vec![])
        } else if k % 1_000 == 2 {
            ("s7comm", 102, vec![ClassCount { class: OperationClass::Program, messages: 3 }])
        } else if k % 50 == 3 {
            (
                "modbus",
                502,
                vec![
                    ClassCount { class: OperationClass::Read, messages: 20 },
                    ClassCount { class: OperationClass::Write, messages: 2 },
                ],
            )
        } else {
            ("modbus", 502, vec![ClassCount { class: OperationClass::Read, messages: 20 }])
        };
        builder.conversation(&ConversationRow {
            network: None,
            to_group: false,
            client_ip: ip(client),
            server_ip: if protocol == "rdp" { ip(client + 1 - (client % 3)) } else { ip(server) },
            vlan: None,
            transport: "tcp".into(),
            server_port: port,
            app_protocol: Some(protocol.into()),
            flows: 1,
            packets: 10,
            bytes: 1_000,
            first_seen_ns: 10,
            last_seen_ns: 900,
            requests,
            responses: Vec::new(),
        });
    }
    let inventory = builder.finish();
    let built = t.elapsed().as_secs_f64();
    let events: Vec<EventRow> = (0..edges / 100)
        .map(|k| {
            let client = (k * 50 + 3) % assets;
            EventRow {
                network: None,
                id: k as i64,
                capture_id: CaptureId(1),
                ts: String::new(),
                ts_ns: 500,
                packet: k,
                flow_id: Some(FlowId(k as i64)),
                protocol: "modbus".into(),
                kind: EventKind::Operation,
                name: "write_single_register".into(),
                class: Some(OperationClass::Write),
                src_mac: Some(mac(client)),
                src_ip: Some(ip(client)),
                dst_ip: Some(ip(((k * 50 + 3) / assets + k * 50 + 3) % controllers * 10)),
                attributes: Attributes(vec![("address".into(), "40001".into())]),
            }
        })
        .collect();
    println!(
        "inventory: {} assets, {} edges built in {built:.2} s; {} kept operations; peak RSS {:.0} MiB",
        inventory.assets.len(),
        inventory.edges.len(),
        events.len(),
        peak_rss_mib()
    );
    let t = Instant::now();
    let findings = assess(&Facts {
        site: Some(&site),
        inventory: &inventory,
        events: &events,
        vulns: &[],
        deviations: &[],
        attempts: &[],
    });
    let checked = t.elapsed().as_secs_f64();
    let mut by_check = std::collections::BTreeMap::<&str, usize>::new();
    for f in &findings {
        *by_check.entry(f.check).or_default() += 1;
    }
    println!("checks: {} findings in {checked:.2} s; peak RSS {:.0} MiB", findings.len(), peak_rss_mib());
    for (check, n) in by_check {
        println!("  {check:<40} {n}");
    }
    assert!(!findings.is_empty());
}
