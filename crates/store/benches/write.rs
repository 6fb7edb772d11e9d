//! Write-path throughput: `cargo bench -p otposture-store`.
//!
//! Writes a realistic mix of observations (flow checkpoints, message counts,
//! host sightings, events) in batches to a temporary database file, then writes
//! it all again (the re-analysis case: every row conflicts and merges), and
//! prints observations per second for both passes. No assertion on timing.
//! `OTPOSTURE_BENCH_OBSERVATIONS=4000000` runs a larger capture.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use otposture_model::{
    Direction, Event, EventKind, FlowEnd, FlowId, FlowKey, FlowRecord, HostSighting, HostSource, InitiatorBasis,
    MacAddr, MessageStat, Observation, OperationClass, StreamAnomalies, TcpState, Timestamp, Transport,
};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

const DEFAULT_OBSERVATIONS: u64 = 200_000;
const BATCH: usize = 10_000;

fn observation(i: u64) -> Observation {
    let host = u32::try_from(i % 5_000).unwrap();
    let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + host));
    let ts = Timestamp(1_700_000_000_000_000_000 + i64::try_from(i).unwrap() * 1_000);
    let key = FlowKey {
        vlan: None,
        transport: Transport::Tcp,
        client_ip: ip,
        client_port: u16::try_from(i % 60_000).unwrap() + 1024,
        server_ip: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)),
        server_port: 502,
    };
    let flow = FlowId::derive(&key, ts);
    match i % 10 {
        0..=3 => Observation::Flow(FlowRecord {
            source: 0,
            id: flow,
            key,
            initiator: InitiatorBasis::Handshake,
            first_seen: ts,
            last_seen: ts,
            packets_to_server: i,
            bytes_to_server: i * 60,
            packets_to_client: i,
            bytes_to_client: i * 60,
            payload_to_server: i * 12,
            payload_to_client: i * 12,
            tcp_state: Some(TcpState::Established),
            app_protocol: Some("modbus".into()),
            anomalies: StreamAnomalies::default(),
            end: FlowEnd::Open,
            to_group: false,
        }),
        4..=6 => Observation::Message(MessageStat {
            source: 0,
            flow: Some(flow),
            protocol: "modbus".into(),
            operation: "read_holding_registers".into(),
            class: OperationClass::Read,
            direction: Some(Direction::ToServer),
            count: i,
            first_seen: ts,
            last_seen: ts,
        }),
        7..=8 => Observation::Event(Event {
            source: 0,
            ts,
            packet: i + 1,
            flow: Some(flow),
            protocol: "modbus".into(),
            kind: EventKind::Operation,
            name: "modbus.write_single_register".into(),
            class: Some(OperationClass::Write),
            src_mac: Some(MacAddr([0, 0, 0, 0, 0, 1])),
            src_ip: Some(ip),
            dst_ip: Some(key.server_ip),
            attributes: vec![
                (Cow::Borrowed("address"), "40001".into()),
                (Cow::Borrowed("value"), i.to_string().into()),
            ],
        }),
        _ => Observation::Host(HostSighting {
            mac: Some(MacAddr([0, 0, 0, 0, 0x10, u8::try_from(host % 256).unwrap()])),
            ip: Some(ip),
            vlan: None,
            first_seen: ts,
            last_seen: ts,
            source: HostSource::Ip,
        }),
    }
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: then it is a
    // smoke run of the same code on a small load, not a measurement.
    let measuring = std::env::args().any(|a| a == "--bench");
    let default = if measuring { DEFAULT_OBSERVATIONS } else { 2_000 };
    let total = std::env::var("OTPOSTURE_BENCH_OBSERVATIONS").map_or(default, |s| s.parse().unwrap());
    let observations: Vec<Observation> = (0..total).map(observation).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut store = otposture_store::Store::open(&dir.path().join("bench.db")).unwrap();
    let capture = store.begin_capture("bench", dir.path(), 0, 0).unwrap();
    for pass in ["first write", "rewrite (all merges)"] {
        let start = Instant::now();
        for batch in observations.chunks(BATCH) {
            store.write_batch(capture, batch).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "write_batch {pass}: {total} observations in {secs:.2} s = {:.0} observations/s (batches of {BATCH})",
            total as f64 / secs
        );
    }
    println!("{:?}", store.counts().unwrap());
}
