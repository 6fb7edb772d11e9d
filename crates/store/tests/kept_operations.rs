//! Kept operations (writes, controls, ...) are stored in batches per flow and
//! operation (`operation_records`) and listed as events: whatever the batching,
//! each operation is listed once, in time order, with its attributes, and every
//! event filter selects exactly what it selected when each was a row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_model::runs::{OperationRun, RunKey};
use otposture_model::{
    Event, EventKind, FlowEnd, FlowId, FlowKey, FlowRecord, InitiatorBasis, Observation, OperationClass,
    StreamAnomalies, TcpState, Timestamp, Transport,
};
use otposture_store::{CaptureId, EventFilter, EventRow, Store, StoreError};
use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * SEC;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn flow(id: i64, client: &str, server: &str) -> FlowRecord {
    FlowRecord {
        source: 0,
        id: FlowId(id),
        key: FlowKey {
            vlan: None,
            transport: Transport::Tcp,
            client_ip: ip(client),
            client_port: 50_000,
            server_ip: ip(server),
            server_port: 502,
        },
        initiator: InitiatorBasis::Handshake,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0 + 100 * SEC),
        packets_to_server: 1,
        bytes_to_server: 1,
        packets_to_client: 1,
        bytes_to_client: 1,
        payload_to_server: 1,
        payload_to_client: 1,
        tcp_state: Some(TcpState::Established),
        app_protocol: Some("modbus".into()),
        anomalies: StreamAnomalies::default(),
        end: FlowEnd::Open,
        to_group: false,
    }
}

/// Operation `i`: flows 1 and 2 alternate, names and directions vary, two share
/// packet 30 (two PDUs in one segment), times are not in packet order.
fn operation(i: u64) -> Event {
    let (flow, client, server) = if i % 2 == 0 { (1, "10.0.0.1", "10.0.1.1") } else { (2, "10.0.0.2", "10.0.1.2") };
    let answer = i % 5 == 4;
    let (src, dst) = if answer { (server, client) } else { (client, server) };
    Event {
        source: 0,
        ts: Timestamp(T0 + (i as i64 % 7) * SEC + i as i64),
        packet: if i == 31 { 30 } else { i },
        flow: Some(FlowId(flow)),
        protocol: Cow::Borrowed("modbus"),
        kind: EventKind::Operation,
        name: Cow::Borrowed(if i % 3 == 0 { "write_single_register" } else { "write_multiple_coils" }),
        class: Some(OperationClass::Write),
        src_mac: None,
        src_ip: Some(ip(src)),
        dst_ip: Some(ip(dst)),
        attributes: vec![
            (Cow::Borrowed("message"), (if answer { "exception" } else { "request" }.to_owned()).into()),
            (Cow::Borrowed("address"), ((i * 10).to_string()).into()),
        ],
    }
}

fn identity(ts: i64, packet: u64) -> Event {
    Event {
        source: 0,
        ts: Timestamp(ts),
        packet,
        flow: Some(FlowId(1)),
        protocol: Cow::Borrowed("modbus"),
        kind: EventKind::Identity,
        name: Cow::Borrowed("modbus.device_identification"),
        class: None,
        src_mac: None,
        src_ip: Some(ip("10.0.1.1")),
        dst_ip: Some(ip("10.0.0.1")),
        attributes: vec![(Cow::Borrowed("vendor"), ("Schneider Electric".to_owned()).into())],
    }
}

fn store_with(batches: &[std::ops::Range<u64>]) -> (Store, CaptureId) {
    let mut store = Store::open_in_memory().unwrap();
    let capture = store.begin_capture("sha256:ops", Path::new("/c.pcap"), 1, 1).unwrap();
    store.write_batch(capture, &[Observation::Flow(flow(1, "10.0.0.1", "10.0.1.1"))]).unwrap();
    store.write_batch(capture, &[Observation::Flow(flow(2, "10.0.0.2", "10.0.1.2"))]).unwrap();
    for range in batches {
        let mut batch: Vec<Observation> = range.clone().map(|i| Observation::Event(operation(i))).collect();
        batch.push(Observation::Event(identity(T0 + 3 * SEC, 500 + range.start)));
        store.write_batch(capture, &batch).unwrap();
    }
    (store, capture)
}

/// What a listing shows of an event, without its id: time, packet, flow, name,
/// sender, attributes.
type Shown = (i64, u64, Option<i64>, String, Option<IpAddr>, Vec<(String, String)>);

fn shown(rows: &[EventRow]) -> Vec<Shown> {
    rows.iter()
        .map(|r| (r.ts_ns, r.packet, r.flow_id.map(|f| f.0), r.name.clone(), r.src_ip, r.attributes.0.clone()))
        .collect()
}

fn expected(ops: impl Iterator<Item = u64>) -> Vec<Shown> {
    let mut rows: Vec<_> = ops
        .map(operation)
        .map(|e| {
            let attributes = e.attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            (e.ts.0, e.packet, e.flow.map(|f| f.0), e.name.to_string(), e.src_ip, attributes)
        })
        .collect();
    rows.sort_by_key(|r| (r.0, r.1));
    rows
}

#[test]
fn every_operation_is_listed_once_in_time_order_however_it_was_batched() {
    let (once, _) = store_with(std::slice::from_ref(&(1..60)));
    let (split, capture) = store_with(&[1..25, 25..60]);
    let all = EventFilter { kind: Some(EventKind::Operation), ..Default::default() };
    let listed = shown(&once.events(&all).unwrap());
    assert_eq!(listed.len(), 59);
    let mut by_time = listed.clone();
    by_time.sort_by_key(|r| (r.0, r.1));
    assert_eq!(listed.iter().map(|r| r.0).collect::<Vec<_>>(), by_time.iter().map(|r| r.0).collect::<Vec<_>>());
    assert_eq!(by_time, expected(1..60));
    assert_eq!(shown(&split.events(&all).unwrap()).len(), 59);

    // Written again, whole or in another split, nothing is added.
    let mut split = split;
    for range in [1..60, 10..40, 50..60] {
        let batch: Vec<Observation> = range.map(|i| Observation::Event(operation(i))).collect();
        split.write_batch(capture, &batch).unwrap();
    }
    let mut again = shown(&split.events(&all).unwrap());
    again.sort_by_key(|r| (r.0, r.1));
    assert_eq!(again, expected(1..60));
    assert_eq!(split.counts().unwrap().events, 59 + 2, "59 operations and the two identities");
    // A later operation of the same flow and name still gets in.
    split.write_batch(capture, &[Observation::Event(operation(60))]).unwrap();
    assert_eq!(split.events(&all).unwrap().len(), 60);
    let ids: std::collections::BTreeSet<i64> =
        split.events(&EventFilter::default()).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 62, "ids are unique");
}

/// Operations `range` in runs, as the engine hands them over: grouped by
/// flow, name and addressing in the order they came.
fn runs(range: std::ops::Range<u64>) -> Vec<Observation> {
    let mut runs: Vec<OperationRun> = Vec::new();
    for e in range.map(operation) {
        let key = RunKey::of(&e).unwrap();
        let run = match runs.iter_mut().position(|r| r.key == key) {
            Some(i) => &mut runs[i],
            None => {
                runs.push(OperationRun::new(key));
                runs.last_mut().unwrap()
            }
        };
        assert!(run.push(e.ts, e.packet, &e.attributes));
    }
    runs.into_iter().map(Observation::Operations).collect()
}

#[test]
fn operations_handed_in_runs_are_stored_as_when_handed_one_by_one() {
    let (by_event, _) = store_with(std::slice::from_ref(&(1..60)));
    let mut by_run = Store::open_in_memory().unwrap();
    let capture = by_run.begin_capture("sha256:ops", Path::new("/c.pcap"), 1, 1).unwrap();
    by_run.write_batch(capture, &[Observation::Flow(flow(1, "10.0.0.1", "10.0.1.1"))]).unwrap();
    by_run.write_batch(capture, &[Observation::Flow(flow(2, "10.0.0.2", "10.0.1.2"))]).unwrap();
    let mut batch = runs(1..60);
    batch.push(Observation::Event(identity(T0 + 3 * SEC, 501)));
    by_run.write_batch(capture, &batch).unwrap();
    let all = EventFilter::default();
    assert_eq!(shown(&by_run.events(&all).unwrap()), shown(&by_event.events(&all).unwrap()));
    let rows = |s: &Store| s.counts().unwrap().events;
    assert_eq!(rows(&by_run), 60);

    // Written again, as runs of other splits or one by one, nothing is added;
    // a later operation still gets in.
    by_run.write_batch(capture, &runs(10..40)).unwrap();
    by_run.write_batch(capture, &runs(1..60)).unwrap();
    let again: Vec<Observation> = (50..60).map(|i| Observation::Event(operation(i))).collect();
    by_run.write_batch(capture, &again).unwrap();
    assert_eq!(shown(&by_run.events(&all).unwrap()), shown(&by_event.events(&all).unwrap()));
    by_run.write_batch(capture, &runs(55..61)).unwrap();
    let ops = by_run.events(&EventFilter { kind: Some(EventKind::Operation), ..Default::default() }).unwrap();
    let mut ops = shown(&ops);
    ops.sort_by_key(|r| (r.0, r.1));
    assert_eq!(ops, expected(1..61));
}

#[test]
fn filters_select_the_same_operations_as_rows_would() {
    let (store, _) = store_with(&[1..30, 30..60]);
    let ops: Vec<u64> = (1..60).collect();
    let check = |filter: EventFilter, keep: &dyn Fn(&Event) -> bool| {
        let got = shown(&store.events(&EventFilter { kind: Some(EventKind::Operation), ..filter }).unwrap());
        let want = expected(ops.iter().copied().filter(|&i| keep(&operation(i))));
        let mut sorted = got.clone();
        sorted.sort_by_key(|r| (r.0, r.1));
        assert_eq!(sorted, want);
    };
    check(EventFilter { flow: Some(FlowId(2)), ..Default::default() }, &|e| e.flow == Some(FlowId(2)));
    check(EventFilter { name: Some("write_single_register".into()), ..Default::default() }, &|e| {
        e.name == "write_single_register"
    });
    check(EventFilter { ip: Some("10.0.0.2/32".parse().unwrap()), ..Default::default() }, &|e| {
        e.flow == Some(FlowId(2))
    });
    check(EventFilter { protocol: Some("dnp3".into()), ..Default::default() }, &|_| false);
    check(EventFilter { class: Some(OperationClass::Read), ..Default::default() }, &|_| false);
    // A window that cuts through rows.
    let (since, until) = (T0 + 2 * SEC, T0 + 4 * SEC + 30);
    check(EventFilter { since: Some(Timestamp(since)), until: Some(Timestamp(until)), ..Default::default() }, &|e| {
        (since..=until).contains(&e.ts.0)
    });
    // Other kinds leave the operations out; no kind lists both.
    assert_eq!(store.events(&EventFilter { kind: Some(EventKind::Identity), ..Default::default() }).unwrap().len(), 2);
    assert_eq!(store.events(&EventFilter::default()).unwrap().len(), 61);
}

#[test]
fn a_limit_gives_the_earliest_events_of_both_kinds() {
    let (store, _) = store_with(&[1..20, 20..40, 40..60]);
    let all = store.events(&EventFilter::default()).unwrap();
    for limit in [1, 2, 5, 17, 30, 61, 100] {
        let first = store.events(&EventFilter { limit: Some(limit), ..Default::default() }).unwrap();
        assert_eq!(first, all[..all.len().min(limit as usize)].to_vec(), "limit {limit}");
    }
}

#[test]
fn a_damaged_batch_is_an_error_naming_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.db");
    {
        let mut store = Store::open(&path).unwrap();
        let capture = store.begin_capture("sha256:ops", Path::new("/c.pcap"), 1, 1).unwrap();
        store.write_batch(capture, &[Observation::Flow(flow(1, "10.0.0.1", "10.0.1.1"))]).unwrap();
        store.write_batch(capture, &[Observation::Event(operation(2))]).unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE operation_records SET records = x'01000203'", []).unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    match store.events(&EventFilter::default()) {
        Err(StoreError::BadValue { table: "operation_records", column: "records", value, .. }) => {
            assert_eq!(value, "row 1: attribute count past the end at byte 4");
        }
        other => panic!("expected a damaged-row error, got {other:?}"),
    }
}
