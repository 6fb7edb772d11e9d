//! Conversations: flows between the same endpoints on the same service, summed,
//! with their messages counted per operation class and direction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_model::{
    Direction, FlowEnd, FlowId, FlowKey, FlowRecord, InitiatorBasis, MessageStat, Observation, OperationClass,
    StreamAnomalies, TcpState, Timestamp, Transport,
};
use otposture_store::{ClassCount, ConversationFilter, ConversationRow, Store};
use std::net::IpAddr;
use std::path::Path;

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * SEC;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn key(vlan: Option<u16>, client: &str, cport: u16, server: &str, sport: u16) -> FlowKey {
    FlowKey {
        vlan,
        transport: Transport::Tcp,
        client_ip: ip(client),
        client_port: cport,
        server_ip: ip(server),
        server_port: sport,
    }
}

/// A Modbus/TCP flow from `first` to `last` with `to_server` and `to_client`
/// packets, 100 bytes each.
fn flow(key: FlowKey, first: i64, last: i64, to_server: u64, to_client: u64) -> FlowRecord {
    FlowRecord {
        source: 0,
        id: FlowId::derive(&key, Timestamp(first)),
        key,
        initiator: InitiatorBasis::Handshake,
        first_seen: Timestamp(first),
        last_seen: Timestamp(last),
        packets_to_server: to_server,
        bytes_to_server: to_server * 100,
        packets_to_client: to_client,
        bytes_to_client: to_client * 100,
        payload_to_server: to_server * 12,
        payload_to_client: to_client * 10,
        tcp_state: Some(TcpState::Closed),
        app_protocol: Some("modbus".into()),
        anomalies: StreamAnomalies::default(),
        end: FlowEnd::Closed,
        to_group: false,
    }
}

fn message(
    flow: Option<FlowId>,
    direction: Option<Direction>,
    operation: &'static str,
    class: OperationClass,
    count: u64,
) -> Observation {
    Observation::Message(MessageStat {
        source: 0,
        flow,
        protocol: "modbus".into(),
        operation: operation.into(),
        class,
        direction,
        count,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0 + SEC),
    })
}

fn request(flow: &FlowRecord, operation: &'static str, class: OperationClass, count: u64) -> Observation {
    message(Some(flow.id), Some(Direction::ToServer), operation, class, count)
}

fn response(flow: &FlowRecord, operation: &'static str, class: OperationClass, count: u64) -> Observation {
    message(Some(flow.id), Some(Direction::ToClient), operation, class, count)
}

fn store_with(batch: &[Observation]) -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let capture = store.begin_capture("sha256:conversations", Path::new("/captures/c.pcap"), 1, 1).unwrap();
    store.write_batch(capture, batch).unwrap();
    store
}

fn counts(list: &[(OperationClass, u64)]) -> Vec<ClassCount> {
    list.iter().map(|&(class, messages)| ClassCount { class, messages }).collect()
}

/// (client, server, VLAN, port, flows, packets, bytes) of a conversation.
type Summary = (String, String, Option<u16>, u16, u64, u64, u64);

/// Each conversation's [`Summary`], in order.
fn summary(rows: &[ConversationRow]) -> Vec<Summary> {
    rows.iter()
        .map(|c| (c.client_ip.to_string(), c.server_ip.to_string(), c.vlan, c.server_port, c.flows, c.packets, c.bytes))
        .collect()
}

#[test]
fn two_flows_on_one_service_are_one_conversation_with_summed_traffic_and_classes() {
    use OperationClass::{Diagnostic, Discovery, Read, Session, Write};
    let a = flow(key(None, "10.0.0.10", 50_000, "10.0.0.20", 502), T0, T0 + 10 * SEC, 10, 8);
    let b = flow(key(None, "10.0.0.10", 50_001, "10.0.0.20", 502), T0 + 60 * SEC, T0 + 90 * SEC, 20, 15);
    let batch = vec![
        request(&a, "write_single_register", Write, 1),
        request(&a, "write_multiple_registers", Write, 2),
        request(&a, "read_holding_registers", Read, 2),
        request(&a, "report_server_id", Diagnostic, 1),
        response(&a, "read_holding_registers", Read, 2),
        response(&a, "write_single_register", Write, 1),
        Observation::Flow(a),
        request(&b, "read_holding_registers", Read, 3),
        response(&b, "read_holding_registers", Read, 3),
        response(&b, "keep_alive", Session, 4),
        Observation::Flow(b),
        // Outside any flow: belongs to no conversation.
        message(None, None, "broadcast", Discovery, 9),
    ];
    let store = store_with(&batch);
    let rows = store.conversations(&ConversationFilter::default()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let c = &rows[0];
    assert_eq!(
        c,
        &ConversationRow {
            network: None,
            to_group: false,
            client_ip: ip("10.0.0.10"),
            server_ip: ip("10.0.0.20"),
            vlan: None,
            transport: "tcp".into(),
            server_port: 502,
            app_protocol: Some("modbus".into()),
            flows: 2,
            packets: 10 + 8 + 20 + 15,
            bytes: (10 + 8 + 20 + 15) * 100,
            first_seen_ns: T0,
            last_seen_ns: T0 + 90 * SEC,
            // By class name: diagnostic < read < write (not the enum's order).
            requests: counts(&[(Diagnostic, 1), (Read, 5), (Write, 3)]),
            responses: counts(&[(Read, 5), (Session, 4), (Write, 1)]),
        }
    );

    // Writing the same batch again changes nothing.
    let mut store = store;
    let capture = store.begin_capture("sha256:conversations", Path::new("/captures/c.pcap"), 1, 2).unwrap();
    store.write_batch(capture, &batch).unwrap();
    assert_eq!(store.conversations(&ConversationFilter::default()).unwrap(), rows);

    let json = serde_json::to_value(c).unwrap();
    assert_eq!(json["client_ip"], "10.0.0.10");
    assert_eq!(json["requests"][1]["class"], "read");
    assert_eq!(json["requests"][1]["messages"], 5);
}

#[test]
fn another_server_port_or_protocol_is_another_conversation() {
    let mut iec = flow(key(None, "10.0.0.10", 50_002, "10.0.0.20", 2404), T0, T0 + SEC, 3, 3);
    iec.app_protocol = Some("iec104".into());
    let mut unknown = flow(key(None, "10.0.0.10", 50_003, "10.0.0.20", 502), T0, T0 + SEC, 1, 0);
    unknown.app_protocol = None;
    let batch = [
        Observation::Flow(flow(key(None, "10.0.0.10", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 4, 4)),
        Observation::Flow(iec),
        Observation::Flow(unknown),
        Observation::Flow(flow(key(None, "10.0.0.10", 50_001, "10.0.0.20", 502), T0, T0 + SEC, 2, 2)),
    ];
    let rows = store_with(&batch).conversations(&ConversationFilter::default()).unwrap();
    // Ports in numeric order (502 before 2404); the flow without a protocol first.
    assert_eq!(
        rows.iter().map(|c| (c.server_port, c.app_protocol.as_deref(), c.flows, c.packets)).collect::<Vec<_>>(),
        vec![(502, None, 1, 1), (502, Some("modbus"), 2, 12), (2404, Some("iec104"), 1, 6)]
    );
    assert!(rows.iter().all(|c| c.requests.is_empty() && c.responses.is_empty()));
}

#[test]
fn the_same_endpoints_on_two_vlans_are_two_conversations() {
    let on = |vlan, port, packets| {
        let f = flow(key(vlan, "10.0.0.10", port, "10.0.0.20", 502), T0, T0 + SEC, packets, packets);
        let read = request(&f, "read_holding_registers", OperationClass::Read, packets);
        [Observation::Flow(f), read]
    };
    let batch: Vec<Observation> =
        [on(Some(20), 50_000, 1), on(Some(10), 50_001, 2), on(Some(10), 50_002, 3), on(None, 50_003, 7)]
            .into_iter()
            .flatten()
            .collect();
    let rows = store_with(&batch).conversations(&ConversationFilter::default()).unwrap();
    assert_eq!(
        summary(&rows),
        vec![
            ("10.0.0.10".into(), "10.0.0.20".into(), None, 502, 1, 14, 1400),
            ("10.0.0.10".into(), "10.0.0.20".into(), Some(10), 502, 2, 10, 1000),
            ("10.0.0.10".into(), "10.0.0.20".into(), Some(20), 502, 1, 2, 200),
        ]
    );
    let reads: Vec<Vec<ClassCount>> = rows.iter().map(|c| c.requests.clone()).collect();
    assert_eq!(
        reads,
        vec![
            counts(&[(OperationClass::Read, 7)]),
            counts(&[(OperationClass::Read, 5)]),
            counts(&[(OperationClass::Read, 1)])
        ]
    );
}

#[test]
fn conversations_are_ordered_by_client_then_server_address_text() {
    let batch = [
        Observation::Flow(flow(key(None, "10.0.0.9", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 1, 1)),
        Observation::Flow(flow(key(None, "10.0.0.10", 50_000, "10.0.0.3", 502), T0, T0 + SEC, 1, 1)),
        Observation::Flow(flow(key(None, "10.0.0.10", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 1, 1)),
    ];
    let rows = store_with(&batch).conversations(&ConversationFilter::default()).unwrap();
    let pairs: Vec<(String, String)> =
        rows.iter().map(|c| (c.client_ip.to_string(), c.server_ip.to_string())).collect();
    assert_eq!(
        pairs,
        vec![
            ("10.0.0.10".into(), "10.0.0.20".into()),
            ("10.0.0.10".into(), "10.0.0.3".into()),
            ("10.0.0.9".into(), "10.0.0.20".into()),
        ]
    );
}

#[test]
fn the_window_selects_the_flows_summed_and_their_messages() {
    let k = |port| key(None, "10.0.0.10", port, "10.0.0.20", 502);
    let early = flow(k(50_000), T0, T0 + 10 * SEC, 1, 1);
    let middle = flow(k(50_001), T0 + 100 * SEC, T0 + 110 * SEC, 10, 10);
    let late = flow(k(50_002), T0 + 200 * SEC, T0 + 210 * SEC, 100, 100);
    let batch = vec![
        request(&early, "write_single_register", OperationClass::Write, 1),
        request(&middle, "write_single_register", OperationClass::Write, 10),
        request(&late, "write_single_register", OperationClass::Write, 100),
        Observation::Flow(early),
        Observation::Flow(middle),
        Observation::Flow(late),
    ];
    let store = store_with(&batch);
    let window = |since: Option<i64>, until: Option<i64>| {
        let filter = ConversationFilter { since: since.map(Timestamp), until: until.map(Timestamp) };
        store
            .conversations(&filter)
            .unwrap()
            .iter()
            .map(|c| (c.flows, c.packets, c.first_seen_ns, c.last_seen_ns, c.requests.clone()))
            .collect::<Vec<_>>()
    };
    let writes = |n| counts(&[(OperationClass::Write, n)]);

    assert_eq!(window(None, None), vec![(3, 222, T0, T0 + 210 * SEC, writes(111))]);
    // `since` keeps flows last seen at or after it: the boundary is inclusive.
    assert_eq!(window(Some(T0 + 110 * SEC), None), vec![(2, 220, T0 + 100 * SEC, T0 + 210 * SEC, writes(110))]);
    assert_eq!(window(Some(T0 + 110 * SEC + 1), None), vec![(1, 200, T0 + 200 * SEC, T0 + 210 * SEC, writes(100))]);
    // `until` keeps flows first seen at or before it.
    assert_eq!(window(None, Some(T0 + 100 * SEC)), vec![(2, 22, T0, T0 + 110 * SEC, writes(11))]);
    assert_eq!(window(None, Some(T0 + 100 * SEC - 1)), vec![(1, 2, T0, T0 + 10 * SEC, writes(1))]);
    // Both: the flows overlapping the window.
    assert_eq!(
        window(Some(T0 + 105 * SEC), Some(T0 + 105 * SEC)),
        vec![(1, 20, T0 + 100 * SEC, T0 + 110 * SEC, writes(10))]
    );
    assert_eq!(window(Some(T0 + 300 * SEC), None), vec![]);
}

#[test]
fn message_classes_this_build_cannot_read_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otposture.db");
    let f = flow(key(None, "10.0.0.10", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 1, 1);
    let batch = [
        request(&f, "read_holding_registers", OperationClass::Read, 4),
        request(&f, "vendor_specific", OperationClass::Unknown, 2),
        Observation::Flow(f),
    ];
    {
        let mut store = Store::open(&path).unwrap();
        let capture = store.begin_capture("sha256:future", Path::new("/captures/c.pcap"), 1, 1).unwrap();
        store.write_batch(capture, &batch).unwrap();
    }
    // As a newer otposture with a new class would have written it.
    let changed = rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE messages SET class = 'teleport' WHERE operation = 'vendor_specific'", [])
        .unwrap();
    assert_eq!(changed, 1);
    let rows = Store::open(&path).unwrap().conversations(&ConversationFilter::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].requests, counts(&[(OperationClass::Read, 4)]));
    assert_eq!(rows[0].packets, 2);
}

#[test]
fn conversations_read_one_at_a_time_keep_each_its_own_counts() {
    use OperationClass::{Read, Write};
    // Sorted by client then server text: .10 -> .20, .11 -> .20 (no messages), .12 -> .20.
    let a = flow(key(None, "10.0.0.10", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 4, 4);
    let quiet = flow(key(None, "10.0.0.11", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 3, 3);
    let c = flow(key(Some(7), "10.0.0.12", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 2, 2);
    let batch = vec![
        request(&c, "write_single_register", Write, 5),
        request(&a, "read_holding_registers", Read, 2),
        response(&a, "read_holding_registers", Read, 2),
        Observation::Flow(c),
        Observation::Flow(quiet),
        Observation::Flow(a),
    ];
    let store = store_with(&batch);
    let mut streamed = Vec::new();
    let n = store.each_conversation(&ConversationFilter::default(), |c| streamed.push(c)).unwrap();
    assert_eq!(n, 3);
    assert_eq!(streamed, store.conversations(&ConversationFilter::default()).unwrap());
    let classes = |c: &ConversationRow| (c.client_ip.to_string(), c.requests.clone(), c.responses.clone());
    assert_eq!(
        streamed.iter().map(classes).collect::<Vec<_>>(),
        [
            ("10.0.0.10".to_string(), counts(&[(Read, 2)]), counts(&[(Read, 2)])),
            ("10.0.0.11".to_string(), vec![], vec![]),
            ("10.0.0.12".to_string(), counts(&[(Write, 5)]), vec![]),
        ]
    );
}
