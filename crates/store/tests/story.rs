//! The store's behaviour story, told against a temporary database file: a capture
//! is analysed, analysed again, checkpointed, named by DHCP, queried, broken into
//! and reopened; at no point may a count double or stored data be lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_model::{
    Direction, Event, EventKind, FlowEnd, FlowId, FlowKey, FlowRecord, HostSighting, HostSource, InitiatorBasis,
    MacAddr, MessageStat, Observation, OperationClass, StreamAnomalies, TcpState, Timestamp, Transport,
};
use otposture_store::{
    CaptureId, CaptureStats, ConversationFilter, EventFilter, FlowFilter, HostFilter, MessageFilter, RunStatus, Store,
    StoreError, SCHEMA_VERSION,
};
use std::borrow::Cow;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * SEC;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    // A nested path: open must create the missing directories.
    let path = dir.path().join("nested").join("otposture.db");
    (dir, path)
}

fn host(m: Option<&str>, addr: Option<&str>, vlan: Option<u16>, first: i64, last: i64) -> Observation {
    Observation::Host(HostSighting {
        mac: m.map(mac),
        ip: addr.map(ip),
        vlan,
        first_seen: Timestamp(first),
        last_seen: Timestamp(last),
        source: HostSource::Ip,
    })
}

fn key(client: &str, cport: u16, server: &str, sport: u16) -> FlowKey {
    FlowKey {
        vlan: None,
        transport: Transport::Tcp,
        client_ip: ip(client),
        client_port: cport,
        server_ip: ip(server),
        server_port: sport,
    }
}

/// A Modbus/TCP flow record with `packets` each way, 100 bytes per packet.
fn flow(key: FlowKey, first: i64, last: i64, packets: u64, end: FlowEnd, state: TcpState) -> FlowRecord {
    FlowRecord {
        source: 0,
        id: FlowId::derive(&key, Timestamp(first)),
        key,
        initiator: InitiatorBasis::Handshake,
        first_seen: Timestamp(first),
        last_seen: Timestamp(last),
        packets_to_server: packets,
        bytes_to_server: packets * 100,
        packets_to_client: packets,
        bytes_to_client: packets * 100,
        payload_to_server: packets * 12,
        payload_to_client: packets * 10,
        tcp_state: Some(state),
        app_protocol: Some("modbus".into()),
        anomalies: StreamAnomalies { retransmissions: u32::try_from(packets / 10).unwrap(), ..Default::default() },
        end,
        to_group: false,
    }
}

fn message(flow: Option<FlowId>, operation: &'static str, class: OperationClass, count: u64, last: i64) -> Observation {
    Observation::Message(MessageStat {
        source: 0,
        flow,
        protocol: "modbus".into(),
        operation: operation.into(),
        class,
        direction: flow.map(|_| Direction::ToServer),
        count,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(last),
    })
}

fn event(
    ts: i64,
    packet: u64,
    protocol: &'static str,
    kind: EventKind,
    name: &'static str,
    attrs: &[(&'static str, &str)],
) -> Event {
    Event {
        source: 0,
        ts: Timestamp(ts),
        packet,
        flow: None,
        protocol: protocol.into(),
        kind,
        name: name.into(),
        class: None,
        src_mac: None,
        src_ip: None,
        dst_ip: None,
        attributes: attrs.iter().map(|(k, v)| (Cow::Borrowed(*k), (*v).into())).collect(),
    }
}

fn dhcp_identity(ts: i64, packet: u64, attrs: &[(&'static str, &str)]) -> Observation {
    Observation::Event(event(ts, packet, "dhcp", EventKind::Identity, "dhcp.ack", attrs))
}

/// A small but complete capture: two hosts, one Modbus flow, its messages, a write event.
fn plant_batch() -> (Vec<Observation>, FlowId) {
    let k = key("10.0.0.10", 50_000, "10.0.0.20", 502);
    let f = flow(k, T0, T0 + 10 * SEC, 40, FlowEnd::Closed, TcpState::Closed);
    let id = f.id;
    let mut write = event(
        T0 + 5 * SEC,
        7,
        "modbus",
        EventKind::Operation,
        "modbus.write_single_register",
        &[("unit", "1"), ("address", "40001"), ("value", "7")],
    );
    write.flow = Some(id);
    write.class = Some(OperationClass::Write);
    write.src_ip = Some(ip("10.0.0.10"));
    write.dst_ip = Some(ip("10.0.0.20"));
    write.src_mac = Some(mac("00:00:bc:00:00:0a"));
    let batch = vec![
        host(Some("00:00:bc:00:00:0a"), Some("10.0.0.10"), None, T0, T0 + 10 * SEC),
        host(Some("00:00:bc:00:00:14"), Some("10.0.0.20"), None, T0 + SEC, T0 + 10 * SEC),
        Observation::Flow(f),
        message(Some(id), "read_holding_registers", OperationClass::Read, 39, T0 + 10 * SEC),
        message(Some(id), "write_single_register", OperationClass::Write, 1, T0 + 5 * SEC),
        // Outside any flow (say, a layer-2 protocol): scoped by capture.
        message(None, "broadcast", OperationClass::Discovery, 3, T0 + 2 * SEC),
        Observation::Event(write),
    ];
    (batch, id)
}

fn begin(store: &mut Store, fingerprint: &str) -> CaptureId {
    store.begin_capture(fingerprint, Path::new("/captures/plant.pcapng"), 4096, 1_700_000_100).unwrap()
}

#[test]
fn writing_the_same_batch_twice_doubles_nothing() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let capture = begin(&mut store, "sha256:plant");
    let (batch, flow_id) = plant_batch();
    store.write_batch(capture, &batch).unwrap();
    let once = (
        store.counts().unwrap(),
        store.hosts(&HostFilter::default()).unwrap(),
        store.flows(&FlowFilter::default()).unwrap(),
        store.messages(&MessageFilter::default()).unwrap(),
        store.events(&EventFilter::default()).unwrap(),
        store.protocol_counts().unwrap(),
    );
    assert_eq!(once.0.hosts, 2);
    assert_eq!(once.0.flows, 1);
    assert_eq!(once.0.messages, 39 + 1 + 3);
    assert_eq!(once.0.events, 1);

    // Analyse the same capture again, in the same process and after a reopen.
    store.write_batch(capture, &batch).unwrap();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let again = begin(&mut store, "sha256:plant");
    assert_eq!(again, capture, "the same fingerprint reuses the capture row");
    store.write_batch(again, &batch).unwrap();
    let twice = (
        store.counts().unwrap(),
        store.hosts(&HostFilter::default()).unwrap(),
        store.flows(&FlowFilter::default()).unwrap(),
        store.messages(&MessageFilter::default()).unwrap(),
        store.events(&EventFilter::default()).unwrap(),
        store.protocol_counts().unwrap(),
    );
    assert_eq!(once, twice);

    // And the numbers are the ones written.
    let flows = &twice.2;
    assert_eq!(flows[0].flow_id, flow_id);
    assert_eq!(flows[0].packets_to_server, 40);
    let client = &twice.1[0];
    assert_eq!(client.ip, Some(ip("10.0.0.10")));
    assert_eq!((client.flows_as_client, client.flows_as_server), (1, 0));
    assert_eq!((client.packets_sent, client.bytes_sent), (40, 4000));
    let server = &twice.1[1];
    assert_eq!((server.flows_as_client, server.flows_as_server), (0, 1));
    assert_eq!((server.packets_received, server.bytes_received), (40, 4000));
    let modbus = &twice.5[0];
    assert_eq!((modbus.protocol.as_str(), modbus.messages, modbus.flows, modbus.events), ("modbus", 43, 1, 1));
    assert_eq!(modbus.operations.len(), 3);
}

#[test]
fn a_second_capture_adds_its_own_flowless_counts() {
    let mut store = Store::open_in_memory().unwrap();
    let first = begin(&mut store, "sha256:first");
    let second = begin(&mut store, "sha256:second");
    assert_ne!(first, second);
    let batch = [message(None, "broadcast", OperationClass::Discovery, 3, T0)];
    store.write_batch(first, &batch).unwrap();
    store.write_batch(second, &batch).unwrap();
    store.write_batch(second, &batch).unwrap();
    let rows = store.messages(&MessageFilter::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].count, 6, "3 per capture, each capture counted once");
    assert_eq!(rows[0].flow_id, None);
    assert_eq!(rows[0].direction, None);
}

/// Two plants that reuse one address space, analysed into one database: each
/// capture keeps its network, and what was seen in one does not merge with
/// what was seen in the other.
#[test]
fn two_networks_keep_one_address_apart() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let at = |store: &mut Store, network: Option<&str>, fingerprint: &str| {
        store.begin_capture_in(network, fingerprint, Path::new("/captures/x.pcap"), 1, 1_700_000_100).unwrap()
    };
    let a = at(&mut store, Some("plant-a"), "sha256:a");
    let b = at(&mut store, Some("plant-b"), "sha256:b");
    let unnamed = begin(&mut store, "sha256:unnamed");
    // The same router MAC, the same address and VLAN behind it, in each network;
    // the flow starts a second later in plant B, so it is a flow of its own.
    let sighting = |first: i64| host(Some("00:00:bc:00:00:01"), Some("10.0.0.5"), Some(10), first, first + SEC);
    let k = FlowKey { vlan: Some(10), ..key("10.0.0.5", 50_000, "10.0.0.20", 502) };
    let flow_at = |first: i64, packets: u64| {
        Observation::Flow(flow(k, first, first + SEC, packets, FlowEnd::Closed, TcpState::Closed))
    };
    let mut identity = event(T0, 3, "enip", EventKind::Identity, "enip.list_identity", &[("serial", "1")]);
    identity.src_ip = Some(ip("10.0.0.5"));
    store.write_batch(a, &[sighting(T0), flow_at(T0, 10), Observation::Event(identity.clone())]).unwrap();
    store.write_batch(b, &[sighting(T0 + SEC), flow_at(T0 + SEC, 20)]).unwrap();
    // A DHCP assignment in plant B makes a host row in plant B only.
    let dhcp = [("client_mac", "00:00:bc:00:00:07"), ("assigned_ip", "10.0.0.7")];
    store.write_batch(b, &[dhcp_identity(T0 + 2 * SEC, 4, &dhcp)]).unwrap();
    store.write_batch(unnamed, &[sighting(T0 + 3 * SEC)]).unwrap();

    let hosts = store.hosts(&HostFilter { ip: Some("10.0.0.5".parse().unwrap()), ..HostFilter::default() }).unwrap();
    let seen: Vec<(Option<&str>, u64, u64)> =
        hosts.iter().map(|h| (h.network.as_deref(), h.flows_as_client, h.packets_sent)).collect();
    // Ordered by address, MAC and VLAN: the network is the tie, in any order.
    let mut seen = seen;
    seen.sort();
    assert_eq!(
        seen,
        [(None, 0, 0), (Some("plant-a"), 1, 10), (Some("plant-b"), 1, 20)],
        "one row per network, each with its own network's traffic"
    );
    let assigned = store.hosts(&HostFilter { ip: Some("10.0.0.7".parse().unwrap()), ..HostFilter::default() });
    assert_eq!(assigned.unwrap().iter().map(|h| h.network.as_deref()).collect::<Vec<_>>(), [Some("plant-b")]);

    let conversations = store.conversations(&ConversationFilter::default()).unwrap();
    let networks: Vec<(Option<&str>, u64)> = conversations.iter().map(|c| (c.network.as_deref(), c.packets)).collect();
    assert_eq!(networks, [(Some("plant-a"), 20), (Some("plant-b"), 40)]);
    let events = store.events(&EventFilter::default()).unwrap();
    let identity = events.iter().find(|e| e.name == "enip.list_identity").unwrap();
    assert_eq!(identity.network.as_deref(), Some("plant-a"), "an event is in its capture's network");

    // A capture keeps its network: analysing it under another is refused and
    // changes nothing; under its own it goes on as before.
    let before = store.captures().unwrap();
    let err = store.begin_capture_in(Some("plant-b"), "sha256:a", Path::new("/x"), 1, 1).unwrap_err();
    assert!(
        matches!(&err, StoreError::NetworkMismatch { stored: Some(s), given: Some(g), .. } if s == "plant-a" && g == "plant-b"),
        "{err:?}"
    );
    assert!(err.to_string().contains("pass --network plant-a"), "{err}");
    let err = begin_err(&mut store, "sha256:a");
    assert!(err.to_string().contains("not the unnamed network"), "{err}");
    let err = store.begin_capture_in(Some("plant-a"), "sha256:unnamed", Path::new("/x"), 1, 1).unwrap_err();
    assert!(err.to_string().contains("leave out --network"), "{err}");
    assert_eq!(store.captures().unwrap(), before, "a refused capture is left as it was");
    assert_eq!(at(&mut store, Some("plant-a"), "sha256:a"), a);
    assert!(store.check_capture_network(Some("plant-a"), "sha256:a").is_ok());
    assert!(store.check_capture_network(None, "sha256:unnamed").is_ok());
    assert!(store.check_capture_network(Some("plant-c"), "sha256:never").is_ok(), "a new capture takes any network");
    let err = store.check_capture_network(None, "sha256:b").unwrap_err();
    assert!(
        matches!(err, StoreError::NetworkMismatch { ref stored, given: None, .. } if stored.as_deref() == Some("plant-b"))
    );
}

fn begin_err(store: &mut Store, fingerprint: &str) -> StoreError {
    store.begin_capture(fingerprint, Path::new("/x"), 1, 1).unwrap_err()
}

#[test]
fn checkpoints_then_final_records_keep_the_maxima_in_any_order() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:checkpoints");
    let k = key("10.0.0.10", 50_001, "10.0.0.20", 502);
    let checkpoint = flow(k, T0, T0 + 5 * SEC, 20, FlowEnd::Open, TcpState::Established);
    let mut last = flow(k, T0, T0 + 9 * SEC, 35, FlowEnd::Closed, TcpState::Closed);
    last.app_protocol = None; // a final record without the protocol must not erase it
    last.anomalies.gaps = 0;
    let mut checkpoint_gap = checkpoint.clone();
    checkpoint_gap.anomalies.gaps = 2;

    for order in [[&checkpoint_gap, &last], [&last, &checkpoint_gap]] {
        let mut store_order = Store::open_in_memory().unwrap();
        let c = begin(&mut store_order, "sha256:order");
        for record in order {
            store_order.write_batch(c, &[Observation::Flow(record.clone())]).unwrap();
        }
        let row = store_order.flow(last.id).unwrap().expect("flow stored");
        assert_eq!(row.packets_to_server, 35);
        assert_eq!(row.bytes_to_client, 3500);
        assert_eq!(row.retransmissions, 3);
        assert_eq!(row.gaps, 2, "each counter keeps its own maximum");
        assert_eq!((row.first_seen_ns, row.last_seen_ns), (T0, T0 + 9 * SEC));
        assert_eq!(row.end_reason, FlowEnd::Closed, "an ending is never replaced by `open`");
        assert_eq!(row.tcp_state, Some(TcpState::Closed), "state comes from the record that saw most");
        assert_eq!(row.app_protocol.as_deref(), Some("modbus"));
    }

    // Several checkpoints of a long flow, then the end.
    for n in [10u64, 20, 30] {
        let record = flow(k, T0, T0 + i64::try_from(n).unwrap() * SEC, n, FlowEnd::Open, TcpState::Established);
        store.write_batch(capture, &[Observation::Flow(record)]).unwrap();
        assert_eq!(store.flow(checkpoint.id).unwrap().unwrap().packets_to_server, n);
    }
    let end = flow(k, T0, T0 + 31 * SEC, 31, FlowEnd::IdleTimeout, TcpState::Established);
    store.write_batch(capture, &[Observation::Flow(end)]).unwrap();
    let row = store.flow(checkpoint.id).unwrap().unwrap();
    assert_eq!((row.packets_to_server, row.end_reason), (31, FlowEnd::IdleTimeout));
    assert_eq!(store.counts().unwrap().flows, 1);
}

#[test]
fn message_counts_are_cumulative_and_keep_the_largest() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:messages");
    let id = FlowId(42);
    for count in [5, 9, 7] {
        store
            .write_batch(capture, &[message(Some(id), "read_coils", OperationClass::Read, count, T0 + count as i64)])
            .unwrap();
    }
    let rows = store.messages(&MessageFilter { flow: Some(id), ..Default::default() }).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].count, 9);
    assert_eq!(rows[0].last_seen_ns, T0 + 9);
    assert_eq!(rows[0].direction, Some(Direction::ToServer));
}

#[test]
fn migrations_apply_to_a_fresh_file_and_are_no_ops_on_reopen() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let capture = begin(&mut store, "sha256:kept");
    store.write_batch(capture, &plant_batch().0).unwrap();
    let before = store.counts().unwrap();
    drop(store);

    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.counts().unwrap(), before, "reopening keeps every row");
    }

    let raw = rusqlite::Connection::open(&path).unwrap();
    let journal: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "wal");
    let app_id: i64 = raw.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app_id, 0x4F54_5053);
}

#[test]
fn a_database_from_a_newer_otposture_is_refused_clearly() {
    let (_dir, path) = temp_db();
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 98).unwrap();

    let err = Store::open(&path).expect_err("a newer schema must be refused");
    assert!(
        matches!(err, StoreError::TooNew { found, known, .. } if found == SCHEMA_VERSION + 98 && known == SCHEMA_VERSION)
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("schema version {}", SCHEMA_VERSION + 98)), "{message}");
    assert!(message.contains("use a newer otposture"), "{message}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_naming_it() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"this is a pcap, not a database, and long enough to have a header.....").unwrap();
    let err = Store::open(&path).expect_err("not a database");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn hosts_filter_by_cidr_mac_vlan_and_time() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:hosts");
    store
        .write_batch(
            capture,
            &[
                host(Some("00:00:00:00:00:02"), Some("10.0.0.2"), None, T0, T0 + SEC),
                host(Some("00:00:00:00:00:10"), Some("10.0.0.10"), None, T0 + 5 * SEC, T0 + 6 * SEC),
                host(Some("00:00:00:00:00:11"), Some("10.1.2.3"), Some(20), T0, T0 + SEC),
                host(Some("00:00:00:00:00:12"), Some("192.168.1.5"), None, T0, T0 + SEC),
                host(Some("00:00:00:00:00:13"), Some("fe80::1"), None, T0, T0 + SEC),
                host(Some("00:00:00:00:00:14"), Some("2001:db8::1"), None, T0, T0 + SEC),
                host(Some("00:00:00:00:00:15"), None, None, T0, T0 + SEC),
                // The same MAC and IP on two VLANs are two hosts.
                host(Some("00:00:00:00:00:11"), Some("10.1.2.3"), Some(30), T0, T0 + SEC),
            ],
        )
        .unwrap();
    let ips = |filter: HostFilter| -> Vec<String> {
        store.hosts(&filter).unwrap().iter().map(|h| h.ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())).collect()
    };
    // Order: IPv4 numerically (10.0.0.2 before 10.0.0.10), then IPv6, then no IP.
    assert_eq!(
        ips(HostFilter::default()),
        ["10.0.0.2", "10.0.0.10", "10.1.2.3", "10.1.2.3", "192.168.1.5", "2001:db8::1", "fe80::1", "-"]
    );
    let net = |s: &str| Some(s.parse().unwrap());
    assert_eq!(
        ips(HostFilter { ip: net("10.0.0.0/8"), ..Default::default() }),
        ["10.0.0.2", "10.0.0.10", "10.1.2.3", "10.1.2.3"]
    );
    assert_eq!(ips(HostFilter { ip: net("10.0.0.0/24"), ..Default::default() }), ["10.0.0.2", "10.0.0.10"]);
    assert_eq!(ips(HostFilter { ip: net("10.0.0.10"), ..Default::default() }), ["10.0.0.10"]);
    assert_eq!(ips(HostFilter { ip: net("fe80::/64"), ..Default::default() }), ["fe80::1"]);
    assert_eq!(ips(HostFilter { ip: net("::/0"), ..Default::default() }), ["2001:db8::1", "fe80::1"]);
    assert_eq!(
        ips(HostFilter { ip: net("0.0.0.0/0"), limit: Some(2), ..Default::default() }),
        ["10.0.0.2", "10.0.0.10"]
    );
    assert_eq!(ips(HostFilter { mac: Some(mac("00:00:00:00:00:11")), ..Default::default() }), ["10.1.2.3", "10.1.2.3"]);
    let on_30 = store.hosts(&HostFilter { vlan: Some(30), ..Default::default() }).unwrap();
    assert_eq!((on_30.len(), on_30[0].vlan), (1, Some(30)));
    assert_eq!(ips(HostFilter { since: Some(Timestamp(T0 + 2 * SEC)), ..Default::default() }), ["10.0.0.10"]);
    assert_eq!(
        ips(HostFilter { until: Some(Timestamp(T0 + 2 * SEC)), ip: net("10.0.0.0/24"), ..Default::default() }),
        ["10.0.0.2"]
    );
}

#[test]
fn host_sightings_merge_into_the_widest_span() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:span");
    let a = Some("00:00:00:00:00:01");
    let mut late_arp = host(a, Some("10.0.0.1"), None, T0 + 5 * SEC, T0 + 9 * SEC);
    if let Observation::Host(h) = &mut late_arp {
        h.source = HostSource::Arp;
    }
    store.write_batch(capture, &[host(a, Some("10.0.0.1"), None, T0 + 3 * SEC, T0 + 4 * SEC), late_arp]).unwrap();
    let mut early_arp = host(a, Some("10.0.0.1"), None, T0, T0 + SEC);
    if let Observation::Host(h) = &mut early_arp {
        h.source = HostSource::Arp;
    }
    store.write_batch(capture, &[early_arp]).unwrap();
    let rows = store.hosts(&HostFilter::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].first_seen_ns, rows[0].last_seen_ns), (T0, T0 + 9 * SEC));
    assert_eq!(rows[0].source, HostSource::Arp, "source of the earliest sighting");
}

#[test]
fn a_dhcp_identity_names_the_hosts_with_its_mac() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:dhcp");
    let plc = "00:1d:9c:00:00:01";
    // The client's DISCOVER (no IP yet) on VLAN 10, then the ACK naming it, in one batch.
    store
        .write_batch(
            capture,
            &[
                dhcp_identity(
                    T0 + SEC,
                    2,
                    &[
                        ("client_mac", plc),
                        ("host_name", "plc-line-1"),
                        ("vendor_class", "Rockwell"),
                        ("assigned_ip", "10.0.10.50"),
                    ],
                ),
                host(Some(plc), None, Some(10), T0, T0),
            ],
        )
        .unwrap();
    let rows = store.hosts(&HostFilter { mac: Some(mac(plc)), ..Default::default() }).unwrap();
    assert_eq!(rows.len(), 2, "the DISCOVER sighting and the assigned address: {rows:?}");
    for row in &rows {
        assert_eq!(row.host_name.as_deref(), Some("plc-line-1"));
        assert_eq!(row.vendor_class.as_deref(), Some("Rockwell"));
        assert_eq!(row.vlan, Some(10), "the assigned address inherits the MAC's VLAN");
    }
    let assigned = &rows[0];
    assert_eq!(assigned.ip, Some(ip("10.0.10.50")));
    assert_eq!(assigned.source, HostSource::Dhcp);

    // Later traffic from the assigned address joins that row, names intact.
    store.write_batch(capture, &[host(Some(plc), Some("10.0.10.50"), Some(10), T0 + 2 * SEC, T0 + 60 * SEC)]).unwrap();
    let rows = store.hosts(&HostFilter { ip: Some("10.0.10.50".parse().unwrap()), ..Default::default() }).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].host_name.as_deref(), Some("plc-line-1"));
    assert_eq!(rows[0].last_seen_ns, T0 + 60 * SEC);

    // A host first seen after its name was learned takes the name too.
    store.write_batch(capture, &[host(Some(plc), Some("10.0.99.1"), Some(99), T0 + 70 * SEC, T0 + 70 * SEC)]).unwrap();
    let row = &store.hosts(&HostFilter { vlan: Some(99), ..Default::default() }).unwrap()[0];
    assert_eq!(row.host_name.as_deref(), Some("plc-line-1"));

    // A newer identity renames; an older one, written afterwards, does not undo it,
    // but fills a field the newer one lacked.
    store
        .write_batch(capture, &[dhcp_identity(T0 + 100 * SEC, 9, &[("client_mac", plc), ("host_name", "plc-renamed")])])
        .unwrap();
    store
        .write_batch(capture, &[dhcp_identity(T0 + 50 * SEC, 5, &[("client_mac", plc), ("host_name", "plc-old")])])
        .unwrap();
    for row in store.hosts(&HostFilter { mac: Some(mac(plc)), ..Default::default() }).unwrap() {
        assert_eq!(row.host_name.as_deref(), Some("plc-renamed"));
        assert_eq!(row.vendor_class.as_deref(), Some("Rockwell"));
    }

    // Identity events are stored as events too, attributes in the order given.
    let events = store.events(&EventFilter { protocol: Some("dhcp".into()), ..Default::default() }).unwrap();
    assert_eq!(events.len(), 3);
    let keys: Vec<&str> = events[0].attributes.0.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["client_mac", "host_name", "vendor_class", "assigned_ip"]);
    let json = serde_json::to_string(&events[0].attributes).unwrap();
    assert!(json.starts_with(r#"{"client_mac":"00:1d:9c:00:00:01","host_name":"plc-line-1""#), "{json}");
}

#[test]
fn a_dhcp_identity_without_sightings_uses_an_untagged_row() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:dhcp-alone");
    store
        .write_batch(
            capture,
            &[
                dhcp_identity(T0, 1, &[("client_mac", "00:00:00:00:00:aa"), ("assigned_ip", "10.9.9.9")]),
                // Garbage is stored as an event but teaches nothing.
                dhcp_identity(T0, 2, &[("client_mac", "not-a-mac"), ("host_name", "x")]),
                dhcp_identity(T0, 3, &[("client_mac", "00:00:00:00:00:bb"), ("assigned_ip", "0.0.0.0")]),
                // An offer is not an assignment.
                Observation::Event(event(
                    T0,
                    4,
                    "dhcp",
                    EventKind::Identity,
                    "dhcp.offer",
                    &[("client_mac", "00:00:00:00:00:cc"), ("assigned_ip", "10.9.9.10")],
                )),
            ],
        )
        .unwrap();
    let rows = store.hosts(&HostFilter::default()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].ip, rows[0].vlan, rows[0].host_name.as_deref()), (Some(ip("10.9.9.9")), None, None));
    assert_eq!(store.counts().unwrap().events, 4);
}

#[test]
fn events_are_kept_once_and_told_apart_by_attributes() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:events");
    let a = event(T0, 10, "modbus", EventKind::Operation, "modbus.write", &[("address", "1")]);
    // Two PDUs in one segment: same packet and name, different attributes.
    let b = event(T0, 10, "modbus", EventKind::Operation, "modbus.write", &[("address", "2")]);
    // An event in a flow has the flow's endpoints; the address filter finds it
    // through the flow.
    let mut gap_flow =
        flow(key("10.0.0.1", 40000, "192.168.0.1", 502), T0, T0 + SEC, 2, FlowEnd::Open, TcpState::Established);
    gap_flow.id = FlowId(7);
    let mut gap = event(T0 + SEC, 11, "tcp", EventKind::Anomaly, "tcp.gap", &[]);
    gap.flow = Some(FlowId(7));
    gap.src_ip = Some(ip("10.0.0.1"));
    gap.dst_ip = Some(ip("192.168.0.1"));
    // Outside any flow, the event's own addresses are indexed.
    let mut arp = event(T0 + 2 * SEC, 12, "arp", EventKind::Identity, "arp.sender", &[]);
    arp.src_ip = Some(ip("192.168.7.7"));
    let batch: Vec<Observation> =
        [a, b, gap, arp].into_iter().map(Observation::Event).chain([Observation::Flow(gap_flow)]).collect();
    store.write_batch(capture, &batch).unwrap();
    store.write_batch(capture, &batch).unwrap();
    assert_eq!(store.counts().unwrap().events, 4);

    let by = |filter: EventFilter| store.events(&filter).unwrap().len();
    assert_eq!(by(EventFilter { ip: Some("192.168.0.0/16".parse().unwrap()), ..Default::default() }), 2);
    assert_eq!(by(EventFilter { ip: Some("192.168.0.1/32".parse().unwrap()), ..Default::default() }), 1);
    assert_eq!(by(EventFilter { ip: Some("10.0.0.1/32".parse().unwrap()), ..Default::default() }), 1);
    assert_eq!(by(EventFilter { ip: Some("192.168.7.0/24".parse().unwrap()), ..Default::default() }), 1);
    assert_eq!(by(EventFilter { flow: Some(FlowId(7)), ..Default::default() }), 1);
    assert_eq!(by(EventFilter { kind: Some(EventKind::Operation), ..Default::default() }), 2);
    assert_eq!(by(EventFilter { name: Some("tcp.gap".into()), ..Default::default() }), 1);
    assert_eq!(by(EventFilter { since: Some(Timestamp(T0 + 1)), ..Default::default() }), 2);
    assert_eq!(by(EventFilter { limit: Some(1), ..Default::default() }), 1);
    let gap_row = &store.events(&EventFilter { protocol: Some("tcp".into()), ..Default::default() }).unwrap()[0];
    assert_eq!(gap_row.attributes.0, Vec::<(String, String)>::new());
    assert_eq!(gap_row.packet, 11);
    assert_eq!(gap_row.capture_id, capture);
}

#[test]
fn flows_filter_by_endpoint_port_transport_protocol_vlan_and_time() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:flows");
    let modbus = flow(key("10.0.0.10", 50_000, "10.0.0.20", 502), T0, T0 + SEC, 4, FlowEnd::Closed, TcpState::Closed);
    let mut dns = flow(
        key("10.0.0.10", 53_000, "8.8.8.8", 53),
        T0 + 2 * SEC,
        T0 + 3 * SEC,
        1,
        FlowEnd::IdleTimeout,
        TcpState::Closed,
    );
    dns.key.transport = Transport::Udp;
    dns.key.vlan = Some(5);
    dns.tcp_state = None;
    dns.app_protocol = Some("dns".into());
    dns.id = FlowId::derive(&dns.key, dns.first_seen);
    let v6 = flow(
        key("fe80::1", 40_000, "fe80::2", 20_000),
        T0 + 4 * SEC,
        T0 + 5 * SEC,
        2,
        FlowEnd::Open,
        TcpState::Established,
    );
    store.write_batch(capture, &[modbus.clone(), dns.clone(), v6.clone()].map(Observation::Flow)).unwrap();

    let ids = |filter: FlowFilter| -> Vec<FlowId> { store.flows(&filter).unwrap().iter().map(|f| f.flow_id).collect() };
    assert_eq!(ids(FlowFilter::default()), [modbus.id, dns.id, v6.id], "ordered by first packet");
    assert_eq!(ids(FlowFilter { ip: Some("8.8.8.8".parse().unwrap()), ..Default::default() }), [dns.id]);
    assert_eq!(ids(FlowFilter { ip: Some("10.0.0.0/24".parse().unwrap()), ..Default::default() }), [modbus.id, dns.id]);
    assert_eq!(ids(FlowFilter { ip: Some("fe80::/10".parse().unwrap()), ..Default::default() }), [v6.id]);
    assert_eq!(ids(FlowFilter { port: Some(502), ..Default::default() }), [modbus.id]);
    assert_eq!(ids(FlowFilter { port: Some(50_000), ..Default::default() }), [modbus.id], "either end");
    assert_eq!(ids(FlowFilter { transport: Some(Transport::Udp), ..Default::default() }), [dns.id]);
    assert_eq!(ids(FlowFilter { app_protocol: Some("modbus".into()), ..Default::default() }), [modbus.id, v6.id]);
    assert_eq!(ids(FlowFilter { vlan: Some(5), ..Default::default() }), [dns.id]);
    assert_eq!(
        ids(FlowFilter {
            since: Some(Timestamp(T0 + 2 * SEC)),
            until: Some(Timestamp(T0 + 3 * SEC)),
            ..Default::default()
        }),
        [dns.id]
    );
    assert_eq!(ids(FlowFilter { limit: Some(1), ..Default::default() }), [modbus.id]);

    let row = store.flow(dns.id).unwrap().unwrap();
    assert_eq!((row.transport.as_str(), row.vlan, row.server_port), ("udp", Some(5), 53));
    assert_eq!(row.tcp_state, None);
    assert_eq!(store.flow(FlowId(1)).unwrap(), None);

    // Messages can be narrowed by their flow's endpoints.
    store
        .write_batch(
            capture,
            &[
                message(Some(modbus.id), "read_coils", OperationClass::Read, 2, T0 + SEC),
                message(Some(v6.id), "read_coils", OperationClass::Read, 1, T0 + 5 * SEC),
                message(None, "broadcast", OperationClass::Discovery, 1, T0),
            ],
        )
        .unwrap();
    let msgs = store.messages(&MessageFilter { ip: Some("10.0.0.20".parse().unwrap()), ..Default::default() }).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!((msgs[0].flow_id, msgs[0].count), (Some(modbus.id), 2));
    let discovery =
        store.messages(&MessageFilter { class: Some(OperationClass::Discovery), ..Default::default() }).unwrap();
    assert_eq!(discovery.len(), 1);
}

#[test]
fn a_failed_batch_rolls_back_alone_and_keeps_earlier_batches() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let capture = begin(&mut store, "sha256:rollback");
    let (batch, flow_id) = plant_batch();
    store.write_batch(capture, &batch).unwrap();
    let before = store.counts().unwrap();

    // Make the database refuse one kind of event, as a full disk or a bug would.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.name = 'boom'
             BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
        )
        .unwrap();
    let k = key("10.0.0.10", 50_000, "10.0.0.20", 502);
    let bigger = flow(k, T0, T0 + 20 * SEC, 80, FlowEnd::Closed, TcpState::Closed);
    assert_eq!(bigger.id, flow_id);
    let doomed = vec![
        Observation::Flow(bigger),
        host(Some("00:00:00:00:00:99"), Some("10.0.0.99"), None, T0, T0),
        Observation::Event(event(T0, 99, "test", EventKind::Anomaly, "boom", &[])),
    ];
    let err = store.write_batch(capture, &doomed).expect_err("the trigger refuses the event");
    let message = err.to_string();
    assert!(message.contains("writing an event") && message.contains(&path.display().to_string()), "{message}");

    assert_eq!(store.counts().unwrap(), before, "nothing of the failed batch remains");
    assert_eq!(store.flow(flow_id).unwrap().unwrap().packets_to_server, 40, "the earlier record stands");
    // The store is still usable.
    store.write_batch(capture, &batch).unwrap();
    assert_eq!(store.counts().unwrap(), before);
}

#[test]
fn writing_to_an_unknown_capture_is_an_error() {
    let mut store = Store::open_in_memory().unwrap();
    let err = store.write_batch(CaptureId(12), &plant_batch().0).expect_err("no such capture");
    assert!(matches!(err, StoreError::UnknownCapture { id: 12, .. }), "{err:?}");
    let stats = CaptureStats::default();
    assert!(store.update_capture_progress(CaptureId(12), &stats).is_err());
}

#[test]
fn captures_and_runs_record_their_lifecycle() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(1_700_000_000).unwrap();
    let capture = begin(&mut store, "sha256:life");
    store.add_run_capture(run, capture).unwrap();
    store.add_run_capture(run, capture).unwrap();
    let mut stats = CaptureStats {
        link_types: vec!["ethernet".into()],
        first_ts: Some(Timestamp(T0)),
        last_ts: Some(Timestamp(T0 + SEC)),
        packets: 10,
        bytes: 1000,
    };
    store.update_capture_progress(capture, &stats).unwrap();
    let row = &store.captures().unwrap()[0];
    assert_eq!((row.status, row.packets, row.finished_at_secs), (RunStatus::Running, 10, None));

    stats.packets = 20;
    stats.link_types.push("linux_sll".into());
    store.finish_capture(capture, RunStatus::Interrupted, Some("stopped by Ctrl-C"), &stats, 1_700_000_200).unwrap();
    store.finish_run(run, RunStatus::Interrupted, 1_700_000_201, &serde_json::json!({"hosts": 2})).unwrap();

    let row = &store.captures().unwrap()[0];
    assert_eq!(row.status, RunStatus::Interrupted);
    assert_eq!(row.error.as_deref(), Some("stopped by Ctrl-C"));
    assert_eq!(row.link_types, ["ethernet", "linux_sll"]);
    assert_eq!(row.first_ts.as_deref(), Some("2023-11-14T22:13:20.000000Z"));
    assert_eq!(row.finished_at_secs, Some(1_700_000_200));
    assert_eq!(row.path, "/captures/plant.pcapng");

    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].captures, [capture]);
    assert_eq!(runs[0].summary, Some(serde_json::json!({"hosts": 2})));

    // Analysing it again resets the row to running, same id.
    assert_eq!(begin(&mut store, "sha256:life"), capture);
    let row = &store.captures().unwrap()[0];
    assert_eq!((row.status, row.error.as_deref(), row.packets), (RunStatus::Running, None, 0));
    assert_eq!(store.counts().unwrap().captures, 1);
}

#[test]
fn rows_print_as_the_documented_json_schema() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = begin(&mut store, "sha256:json");
    store.write_batch(capture, &plant_batch().0).unwrap();
    let keys = |v: serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort_unstable();
        keys
    };
    let sorted = |mut v: Vec<&str>| {
        v.sort_unstable();
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };

    let host = serde_json::to_value(&store.hosts(&HostFilter::default()).unwrap()[0]).unwrap();
    assert_eq!(
        keys(host.clone()),
        sorted(vec![
            "id",
            "mac",
            "ip",
            "vlan",
            "first_seen",
            "first_seen_ns",
            "last_seen",
            "last_seen_ns",
            "source",
            "host_name",
            "vendor_class",
            "flows_as_client",
            "flows_as_server",
            "packets_sent",
            "bytes_sent",
            "packets_received",
            "bytes_received",
        ])
    );
    assert_eq!(host["mac"], "00:00:bc:00:00:0a");
    assert_eq!(host["ip"], "10.0.0.10");
    assert_eq!(host["first_seen"], "2023-11-14T22:13:20.000000Z");
    assert_eq!(host["first_seen_ns"], T0);
    assert_eq!(host["source"], "ip");

    let flow = serde_json::to_value(&store.flows(&FlowFilter::default()).unwrap()[0]).unwrap();
    assert_eq!(flow["client_ip"], "10.0.0.10");
    assert_eq!(flow["transport"], "tcp");
    assert_eq!(flow["initiator"], "handshake");
    assert_eq!(flow["tcp_state"], "closed");
    assert_eq!(flow["end_reason"], "closed");
    assert_eq!(flow["retransmissions"], 4);

    let event = serde_json::to_value(&store.events(&EventFilter::default()).unwrap()[0]).unwrap();
    assert_eq!(event["kind"], "operation");
    assert_eq!(event["class"], "write");
    assert_eq!(event["attributes"]["address"], "40001");
    assert_eq!(event["ts_ns"], T0 + 5 * SEC);

    let message = serde_json::to_value(&store.messages(&MessageFilter::default()).unwrap()[0]).unwrap();
    assert_eq!(
        keys(message),
        sorted(vec![
            "flow_id",
            "protocol",
            "operation",
            "class",
            "direction",
            "count",
            "first_seen",
            "first_seen_ns",
            "last_seen",
            "last_seen_ns",
        ])
    );
}
