//! Flow records written in a group are merged per flow and written when the
//! group commits (`Store::begin_group`). The rows must be the ones writing each
//! record on its own would have left, whatever the grouping, and whatever an
//! earlier analysis of the same traffic stored before.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use otposture_model::{
    FlowEnd, FlowId, FlowKey, FlowRecord, InitiatorBasis, Observation, StreamAnomalies, TcpState, Timestamp, Transport,
};
use otposture_store::{FlowFilter, FlowRow, Store};
use proptest::prelude::*;
use std::path::Path;

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * SEC;

fn key(n: u16) -> FlowKey {
    FlowKey {
        vlan: (n % 2 == 0).then_some(n),
        transport: Transport::Tcp,
        client_ip: format!("10.0.0.{}", 10 + n).parse().unwrap(),
        client_port: 50_000 + n,
        server_ip: "10.0.0.2".parse().unwrap(),
        server_port: 502,
    }
}

/// One step of a flow as the engine reports it: counts only grow.
#[derive(Clone, Debug)]
struct Step {
    dt: i64,
    to_server: u64,
    to_client: u64,
    gaps: u32,
    state: Option<TcpState>,
    app: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0i64..3,
        0u64..4,
        0u64..4,
        0u32..2,
        prop::option::of(prop::sample::select(vec![TcpState::Established, TcpState::Closed, TcpState::Reset])),
        any::<bool>(),
    )
        .prop_map(|(dt, to_server, to_client, gaps, state, app)| Step {
            dt,
            to_server,
            to_client,
            gaps,
            state,
            app,
        })
}

/// The cumulative records of flow `n` after each step; every one `open` but
/// the last, which ends the flow when `ended`.
fn records(n: u16, steps: &[Step], ended: bool) -> Vec<FlowRecord> {
    let k = key(n);
    let mut r = FlowRecord {
        source: 0,
        id: FlowId::derive(&k, Timestamp(T0)),
        key: k,
        initiator: InitiatorBasis::PortHeuristic,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0),
        packets_to_server: 1,
        bytes_to_server: 60,
        packets_to_client: 0,
        bytes_to_client: 0,
        payload_to_server: 0,
        payload_to_client: 0,
        tcp_state: None,
        app_protocol: None,
        anomalies: StreamAnomalies::default(),
        end: FlowEnd::Open,
        to_group: false,
    };
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        r.last_seen = Timestamp(r.last_seen.0 + s.dt * SEC);
        r.packets_to_server += s.to_server;
        r.bytes_to_server += s.to_server * 70;
        r.payload_to_server += s.to_server * 12;
        r.packets_to_client += s.to_client;
        r.bytes_to_client += s.to_client * 80;
        r.payload_to_client += s.to_client * 20;
        r.anomalies.gaps += s.gaps;
        r.anomalies.gap_bytes += u64::from(s.gaps) * 100;
        r.tcp_state = s.state.or(r.tcp_state);
        if s.app {
            r.app_protocol = Some("modbus".into());
        }
        if r.packets_to_client > 0 {
            r.initiator = InitiatorBasis::Handshake;
        }
        r.end = if ended && i + 1 == steps.len() { FlowEnd::Closed } else { FlowEnd::Open };
        out.push(r.clone());
    }
    out
}

fn rows(store: &Store) -> Vec<FlowRow> {
    store.flows(&FlowFilter { limit: Some(1000), ..Default::default() }).unwrap()
}

fn new_store(earlier: &[FlowRecord]) -> (Store, otposture_store::CaptureId) {
    let mut store = Store::open_in_memory().unwrap();
    let capture = store.begin_capture("sha256:grouped", Path::new("/c.pcap"), 1, 1).unwrap();
    for r in earlier {
        store.write_batch(capture, &[Observation::Flow(r.clone())]).unwrap();
    }
    (store, capture)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn grouped_flow_records_leave_the_rows_one_by_one_writes_leave(
        flows in prop::collection::vec((prop::collection::vec(step(), 1..8), any::<bool>()), 1..4),
        earlier in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        batch in 1usize..4,
    ) {
        let per_flow: Vec<Vec<FlowRecord>> = flows
            .iter()
            .enumerate()
            .map(|(n, (steps, ended))| records(u16::try_from(n).unwrap(), steps, *ended))
            .collect();
        // The engine's order: records of all flows interleaved.
        let mut all: Vec<FlowRecord> = Vec::new();
        let longest = per_flow.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..longest {
            all.extend(per_flow.iter().filter_map(|f| f.get(i).cloned()));
        }
        // An earlier analysis stored some prefix of some flows.
        let stored: Vec<FlowRecord> = earlier.iter().map(|i| {
            let f = i.get(&per_flow);
            i.get(f).clone()
        }).collect();

        let (mut one_by_one, capture) = new_store(&stored);
        for r in &all {
            one_by_one.write_batch(capture, &[Observation::Flow(r.clone())]).unwrap();
        }

        let (mut grouped, capture) = new_store(&stored);
        let mut cut_at: Vec<usize> = cuts.iter().map(|c| c.index(all.len() + 1)).collect();
        cut_at.sort_unstable();
        grouped.begin_group().unwrap();
        for (i, chunk) in all.chunks(batch).enumerate() {
            if cut_at.contains(&(i * batch)) {
                grouped.commit_group().unwrap();
                grouped.begin_group().unwrap();
            }
            let chunk: Vec<Observation> = chunk.iter().cloned().map(Observation::Flow).collect();
            grouped.write_batch(capture, &chunk).unwrap();
        }
        grouped.commit_group().unwrap();

        prop_assert_eq!(rows(&grouped), rows(&one_by_one));
    }
}

/// A record of flow 0 with arbitrary contents: two of them may disagree in
/// every way the merge rule has to settle.
fn arbitrary_record() -> impl Strategy<Value = FlowRecord> {
    let state =
        prop::option::of(prop::sample::select(vec![TcpState::SynSent, TcpState::Established, TcpState::Closed]));
    let end = prop::sample::select(vec![FlowEnd::Open, FlowEnd::Closed, FlowEnd::IdleTimeout]);
    let initiator = prop::sample::select(vec![InitiatorBasis::Handshake, InitiatorBasis::FirstPacket]);
    let app = prop::option::of(prop::sample::select(vec!["modbus", "s7comm"]));
    (
        (0i64..3, 0i64..3, 0u64..3, 0u64..3, 0u64..500, 0u64..500),
        (0u64..50, 0u64..50, prop::collection::vec(0u32..3, 7), 0u64..300),
        (state, end, initiator, app),
    )
        .prop_map(
            |((first, last, ps, pc, bs, bc), (ls, lc, anomalies, gap_bytes), (state, end, initiator, app))| {
                let k = key(0);
                FlowRecord {
                    source: 0,
                    id: FlowId::derive(&k, Timestamp(T0)),
                    key: k,
                    initiator,
                    first_seen: Timestamp(T0 + first * SEC),
                    last_seen: Timestamp(T0 + (first + last) * SEC),
                    packets_to_server: ps,
                    bytes_to_server: bs,
                    packets_to_client: pc,
                    bytes_to_client: bc,
                    payload_to_server: ls,
                    payload_to_client: lc,
                    tcp_state: state,
                    app_protocol: app.map(str::to_string),
                    anomalies: StreamAnomalies {
                        gap_bytes,
                        gaps: anomalies[0],
                        retransmissions: anomalies[1],
                        overlaps: anomalies[2],
                        conflicting_overlaps: anomalies[3],
                        out_of_order: anomalies[4],
                        buffer_cap_hits: anomalies[5],
                        malformed: anomalies[6],
                    },
                    end,
                    to_group: false,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Two records of one flow merged in a group, against the upsert merging
    /// the second into the first's row: the same row, field by field.
    #[test]
    fn the_groups_merge_is_the_upserts_merge(a in arbitrary_record(), b in arbitrary_record()) {
        let (mut one_by_one, capture) = new_store(&[]);
        one_by_one.write_batch(capture, &[Observation::Flow(a.clone())]).unwrap();
        one_by_one.write_batch(capture, &[Observation::Flow(b.clone())]).unwrap();
        let (mut grouped, capture) = new_store(&[]);
        grouped.begin_group().unwrap();
        grouped.write_batch(capture, &[Observation::Flow(a), Observation::Flow(b)]).unwrap();
        grouped.commit_group().unwrap();
        prop_assert_eq!(rows(&grouped), rows(&one_by_one));
    }
}

#[test]
fn a_flow_written_in_a_group_is_stored_when_the_group_commits_and_not_when_it_is_abandoned() {
    let mut store = Store::open_in_memory().unwrap();
    let capture = store.begin_capture("sha256:g", Path::new("/c.pcap"), 1, 1).unwrap();
    let steps =
        vec![Step { dt: 1, to_server: 1, to_client: 1, gaps: 0, state: Some(TcpState::Established), app: true }; 3];
    let recs = records(0, &steps, true);
    store.begin_group().unwrap();
    store.write_batch(capture, &[Observation::Flow(recs[0].clone())]).unwrap();
    store.write_batch(capture, &[Observation::Flow(recs[2].clone())]).unwrap();
    store.rollback_group().unwrap();
    assert!(rows(&store).is_empty(), "an abandoned group leaves no flow");
    store.begin_group().unwrap();
    store.write_batch(capture, &[Observation::Flow(recs[0].clone())]).unwrap();
    store.write_batch(capture, &[Observation::Flow(recs[1].clone())]).unwrap();
    assert!(store.flow(recs[0].id).unwrap().is_none(), "an open flow waits for the commit");
    // A second BEGIN is refused, and the open group keeps what waits in it.
    assert!(store.begin_group().is_err());
    // A record held from the abandoned group must not come back with this one.
    store.commit_group().unwrap();
    let row = store.flow(recs[0].id).unwrap().expect("stored at commit");
    assert_eq!(row.packets_to_server, recs[1].packets_to_server);
    assert_eq!(row.end_reason, FlowEnd::Open);

    // Once a held flow ends, its merged record is written at once, not at
    // the commit: the group's writes stay spread over it.
    let other = records(1, &steps, true);
    store.begin_group().unwrap();
    store.write_batch(capture, &[Observation::Flow(other[0].clone())]).unwrap();
    assert!(store.flow(other[0].id).unwrap().is_none());
    store.write_batch(capture, &[Observation::Flow(other[2].clone())]).unwrap();
    let row = store.flow(other[0].id).unwrap().expect("written when it ended, before the commit");
    assert_eq!(row.end_reason, FlowEnd::Closed);
    store.commit_group().unwrap();
}
