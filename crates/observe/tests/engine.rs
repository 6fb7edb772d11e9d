//! The engine end to end on captures the fixtures build: what reaches the
//! dissectors, and what the observations say about hosts and flows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_dissect::{
    DatagramDissector, DatagramSession, Emit, PacketCtx, Probe, Registry, StreamDissector, StreamSession,
};
use otposture_fixtures::{
    packet::{eth_ipv4_udp, ipv4_udp_fragments},
    Endpoint, Eth, Frame, Side, TcpConversation, Vlan,
};
use otposture_model::{
    Direction, EventKind, FlowEnd, FlowRecord, HostSource, InitiatorBasis, Observation, TcpState, Timestamp,
};
use otposture_observe::{Engine, EngineConfig, RawPacket};
use std::sync::{Arc, Mutex};

const PLC: [u8; 6] = [0x00, 0x1b, 0x1b, 0, 0, 0x14];
const HMI: [u8; 6] = [0x00, 0xd0, 0xc9, 0, 0, 0x1e];
const T0: Timestamp = Timestamp(1_709_280_000_000_000_000);

/// What the recording dissector saw, per direction: bytes, with gaps as `[gap N]`.
type Seen = Arc<Mutex<[Vec<u8>; 2]>>;

/// Claims streams whose first bytes are "REC".
fn rec_probe(data: &[u8]) -> Probe {
    match data.len() {
        0..=2 if b"REC".starts_with(data) => Probe::NeedMore,
        _ if data.starts_with(b"REC") => Probe::Match,
        _ => Probe::NoMatch,
    }
}

/// A stream dissector for tests: claims streams whose first bytes are "REC" and
/// records everything it is given.
struct Recorder(Seen);
struct RecorderSession(Seen);

impl StreamDissector for Recorder {
    fn protocol(&self) -> &'static str {
        "rec"
    }
    fn port_hint(&self, port: u16) -> bool {
        port == 9999
    }
    fn probe(&self, _d: Direction, data: &[u8]) -> Probe {
        rec_probe(data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(RecorderSession(self.0.clone()))
    }
}

impl StreamSession for RecorderSession {
    fn data(&mut self, _c: &PacketCtx<'_>, d: Direction, data: &[u8], _e: &mut dyn Emit) {
        self.0.lock().unwrap()[d.index()].extend_from_slice(data);
    }
    fn gap(&mut self, _c: &PacketCtx<'_>, d: Direction, len: u64, _e: &mut dyn Emit) {
        self.0.lock().unwrap()[d.index()].extend_from_slice(format!("[gap {len}]").as_bytes());
    }
}

/// A datagram dissector for tests: records every payload of UDP port 7777.
struct Datagrams(Arc<Mutex<Vec<Vec<u8>>>>);
struct DatagramsSession(Arc<Mutex<Vec<Vec<u8>>>>);

impl DatagramDissector for Datagrams {
    fn protocol(&self) -> &'static str {
        "dgram"
    }
    fn port_hint(&self, s: u16, d: u16) -> bool {
        s == 7777 || d == 7777
    }
    fn probe(&self, data: &[u8]) -> Probe {
        if data.starts_with(b"DG") {
            Probe::Match
        } else {
            Probe::NoMatch
        }
    }
    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(DatagramsSession(self.0.clone()))
    }
}

impl DatagramSession for DatagramsSession {
    fn datagram(&mut self, c: &PacketCtx<'_>, _d: Direction, data: &[u8], e: &mut dyn Emit) {
        self.0.lock().unwrap().push(data.to_vec());
        // "DG id=X" reports an identity X.
        if let Some(id) = data.strip_prefix(b"DG id=") {
            let mut event = c.event("dgram", EventKind::Identity, "dgram.identity");
            event.attributes.push(("id".into(), String::from_utf8_lossy(id).into_owned().into()));
            e.event(event);
        }
    }
}

fn engine_with(config: EngineConfig) -> (Engine, Seen, Arc<Mutex<Vec<Vec<u8>>>>) {
    let seen: Seen = Arc::default();
    let dgrams = Arc::default();
    let mut reg = Registry::with_defaults();
    reg.streams.push(Box::new(Recorder(seen.clone())));
    reg.datagrams.push(Box::new(Datagrams(Arc::clone(&dgrams))));
    (Engine::new(config, reg), seen, dgrams)
}

fn run(engine: &mut Engine, frames: &[Frame]) -> Vec<Observation> {
    feed(engine, frames, 1);
    let mut out = Vec::new();
    engine.finish(&mut out);
    out
}

fn flows(obs: &[Observation]) -> Vec<FlowRecord> {
    obs.iter().filter_map(|o| if let Observation::Flow(f) = o { Some(f.clone()) } else { None }).collect()
}

fn conversation() -> TcpConversation {
    TcpConversation::new(
        Endpoint::new(HMI, [192, 168, 10, 30], 50123),
        Endpoint::new(PLC, [192, 168, 10, 20], 9999),
        T0,
    )
}

const REQUEST: &[u8] = b"REC request: read holding registers 0..10";
const RESPONSE: &[u8] = b"REC response: 0001 0002 0003 0004 0005 0006 0007";

#[test]
fn delivers_the_same_streams_whatever_the_segment_size() {
    for size in 1..=REQUEST.len() {
        let mut c = conversation().with_segment_size(size);
        c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
        let (mut e, seen, _) = engine_with(EngineConfig::default());
        let obs = run(&mut e, c.frames());
        let s = seen.lock().unwrap();
        assert_eq!(s[0], REQUEST, "segment size {size}");
        assert_eq!(s[1], RESPONSE, "segment size {size}");
        let f = flows(&obs);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].app_protocol.as_deref(), Some("rec"));
        assert_eq!(f[0].tcp_state, Some(TcpState::Closed));
        assert_eq!(f[0].end, FlowEnd::Closed);
    }
}

#[test]
fn delivers_reordered_and_retransmitted_segments_once_and_in_order() {
    let mut c = conversation().with_segment_size(8);
    c.handshake().send_reordered(Side::Client, REQUEST).retransmit_last().server_sends(RESPONSE).close();
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, c.frames()));
    assert_eq!(seen.lock().unwrap()[0], REQUEST);
    assert_eq!(f[0].anomalies.out_of_order, 1);
    assert_eq!(f[0].anomalies.retransmissions, 1);
    assert_eq!(f[0].anomalies.gaps, 0);
}

#[test]
fn reports_a_missing_segment_as_a_gap_and_resumes_after_it() {
    let mut c = conversation().with_segment_size(10);
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let mut frames = c.into_frames();
    // Drop the client's second data segment (frames: SYN, SYN-ACK, ACK, data...).
    let dropped = frames.remove(4);
    assert_eq!(dropped.data.len(), 14 + 20 + 20 + 10);
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    let mut expected = REQUEST[..10].to_vec();
    expected.extend_from_slice(b"[gap 10]");
    expected.extend_from_slice(&REQUEST[20..]);
    assert_eq!(String::from_utf8_lossy(&seen.lock().unwrap()[0]), String::from_utf8_lossy(&expected));
    assert_eq!(seen.lock().unwrap()[1], RESPONSE, "the other direction is untouched");
    assert_eq!((f[0].anomalies.gaps, f[0].anomalies.gap_bytes), (1, 10));
}

#[test]
fn counts_packets_and_bytes_each_way_and_knows_the_initiator() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let frames = c.into_frames();
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.initiator, InitiatorBasis::Handshake);
    assert_eq!(f.key.client_port, 50123);
    assert_eq!(f.key.server_port, 9999);
    let client_ip = [192, 168, 10, 30];
    let (mut to_s, mut to_c, mut b_s, mut b_c) = (0, 0, 0, 0);
    for fr in &frames {
        if fr.data[26..30] == client_ip {
            to_s += 1;
            b_s += fr.data.len() as u64;
        } else {
            to_c += 1;
            b_c += fr.data.len() as u64;
        }
    }
    assert_eq!((f.packets_to_server, f.packets_to_client), (to_s, to_c));
    assert_eq!((f.bytes_to_server, f.bytes_to_client), (b_s, b_c));
    assert_eq!((f.payload_to_server, f.payload_to_client), (REQUEST.len() as u64, RESPONSE.len() as u64));
    assert_eq!(f.first_seen, frames[0].ts);
    assert_eq!(f.last_seen, frames.last().unwrap().ts);
}

#[test]
fn picks_up_a_connection_mid_stream_and_names_the_server_by_its_port() {
    let mut c = conversation();
    c.server_sends(RESPONSE).client_sends(REQUEST);
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, c.frames()));
    assert_eq!(f[0].initiator, InitiatorBasis::PortHeuristic);
    assert_eq!(f[0].key.server_port, 9999);
    assert_eq!(f[0].tcp_state, Some(TcpState::Midstream));
    assert_eq!(seen.lock().unwrap()[1], RESPONSE);
}

#[test]
fn starts_a_new_flow_when_a_closed_connection_reuses_its_ports() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).close();
    let mut frames = c.into_frames();
    let mut again = conversation().with_isn(5_000, 9_000);
    again.wait_until(Timestamp(frames.last().unwrap().ts.0 + 1_000_000)).handshake().client_sends(REQUEST).close();
    frames.extend(again.into_frames());
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    assert_eq!(f.len(), 2);
    assert_ne!(f[0].id, f[1].id);
    assert_eq!(seen.lock().unwrap()[0], [REQUEST, REQUEST].concat());
}

#[test]
fn keeps_the_same_tuple_on_two_vlans_apart() {
    let mut frames = Vec::new();
    for vlan in [10, 20] {
        let mut c = conversation().with_vlan(Vlan::Single(vlan));
        c.handshake().client_sends(REQUEST).close();
        frames.extend(c.into_frames());
    }
    frames.sort_by_key(|f| f.ts);
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    let mut vlans: Vec<_> = f.iter().map(|f| f.key.vlan).collect();
    vlans.sort();
    assert_eq!(vlans, vec![Some(10), Some(20)]);
}

#[test]
fn reassembles_ip_fragments_before_the_datagram_dissector() {
    let payload: Vec<u8> = b"DG".iter().copied().chain((0..3000u32).map(|i| i as u8)).collect();
    let eth = Eth::new(HMI, PLC);
    let frames: Vec<Frame> = ipv4_udp_fragments([10, 0, 0, 1], [10, 0, 0, 2], 40000, 7777, &payload, 77, 1400)
        .into_iter()
        .enumerate()
        .map(|(i, ip)| Frame::new(Timestamp(T0.0 + i as i64), eth.ip(&ip)))
        .collect();
    assert!(frames.len() >= 3);
    let (mut e, _, dgrams) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    assert_eq!(*dgrams.lock().unwrap(), vec![payload]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].packets_to_server, 1, "one datagram, counted on the frame that completed it");
    assert_eq!(e.stats().defrag.reassembled, 1);
}

#[test]
fn ends_idle_flows_and_counts_every_packet_once() {
    let eth = Eth::new(HMI, PLC);
    let mut frames = Vec::new();
    for i in 0..4i64 {
        // Two bursts 10 minutes apart: the UDP idle timeout (120 s) splits them.
        let ts = Timestamp(T0.0 + i * 300_000_000_000);
        frames.push(Frame::new(ts, eth_ipv4_udp(&eth, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 7777, b"DG x")));
    }
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    assert_eq!(f.len(), 4);
    assert_eq!(f.iter().map(|f| f.packets_to_server).sum::<u64>(), 4);
    assert_eq!(f.iter().filter(|f| f.end == FlowEnd::IdleTimeout).count(), 3);
}

#[test]
fn evicts_under_the_memory_cap_without_losing_counts() {
    let mut config = EngineConfig::default();
    config.flows.max_memory = 64 << 10;
    let eth = Eth::new(HMI, PLC);
    let frames: Vec<Frame> = (0..2_000u16)
        .map(|i| {
            Frame::new(
                Timestamp(T0.0 + i64::from(i)),
                eth_ipv4_udp(&eth, [10, 0, 0, 1], [10, 0, 0, 2], 10_000 + i, 7777, b"DG"),
            )
        })
        .collect();
    let (mut e, _, _) = engine_with(config);
    let f = flows(&run(&mut e, &frames));
    let s = e.stats();
    assert!(s.flow_table.cap_hits > 0);
    assert!(s.flow_table.cap_evictions > 0);
    assert!(s.flow_table.peak_flows < 2_000);
    assert_eq!(f.len(), 2_000, "every flow is recorded, evicted or not");
    assert_eq!(f.iter().filter(|f| f.end == FlowEnd::Evicted).count() as u64, s.flow_table.cap_evictions);
}

#[test]
fn names_hosts_from_ip_arp_and_dhcp() {
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, &otposture_fixtures::sample_frames());
    let hosts: Vec<_> =
        obs.iter().filter_map(|o| if let Observation::Host(h) = o { Some(h.clone()) } else { None }).collect();
    let plc: std::net::IpAddr = "192.168.10.20".parse().unwrap();
    assert!(hosts.iter().any(|h| h.ip == Some(plc) && h.source == HostSource::Arp));
    // The PLC talks Modbus on VLAN 10 and ARPs untagged: two sightings, kept apart.
    assert!(hosts.iter().any(|h| h.ip == Some(plc) && h.vlan == Some(10)));
    assert!(hosts.iter().all(|h| h.mac.is_none_or(|m| !m.is_group())));
    let dhcp_names: Vec<_> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Event(ev) if ev.protocol == "dhcp" => {
                ev.attributes.iter().find(|(k, _)| k == "host_name").map(|(_, v)| v.clone())
            }
            _ => None,
        })
        .collect();
    assert!(dhcp_names.iter().any(|n| n == "EWS-01"), "{dhcp_names:?}");
}

/// Feeds `frames` spaced `gap_ns` apart, checkpointing after each, and returns
/// every observation, the final ones included.
fn fed_with_checkpoints(frames: &[Frame], gap_ns: i64) -> Vec<Observation> {
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let mut all = Vec::new();
    let start = frames.first().unwrap().ts;
    for (i, f) in frames.iter().enumerate() {
        e.packet(&RawPacket {
            source: 0,
            ts: Timestamp(start.0 + gap_ns * i as i64),
            linktype: 1,
            data: &f.data,
            orig_len: f.data.len() as u32,
            record: i as u64 + 1,
        });
        e.checkpoint(&mut all);
    }
    e.finish(&mut all);
    all
}

#[test]
fn an_open_flow_is_recorded_once_until_it_ends_or_runs_on_a_minute() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let frames = c.into_frames();
    // A second apart: the first checkpoint records the flow, the next ones do
    // not rewrite it, and its end supersedes the first record.
    let recs = flows(&fed_with_checkpoints(&frames, 1_000_000_000));
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0].packets_to_server + recs[0].packets_to_client, 1);
    assert_eq!(recs[1].packets_to_server + recs[1].packets_to_client, frames.len() as u64);
    assert_eq!(recs[1].end, FlowEnd::Closed);
}

#[test]
fn a_long_running_flow_is_recorded_again_with_cumulative_counts() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let frames = c.into_frames();
    // 31 s apart: every second checkpoint is a minute after the last record.
    // (The last ACK comes half a minute after the close and opens a flow of its own.)
    let all = flows(&fed_with_checkpoints(&frames, 31_000_000_000));
    let recs: Vec<_> = all.iter().filter(|r| r.id == all[0].id).collect();
    let open: Vec<_> = recs.iter().filter(|r| r.end == FlowEnd::Open).collect();
    assert!(open.len() >= 3, "{recs:?}");
    assert!(open.windows(2).all(|w| w[1].last_seen.0 - w[0].last_seen.0 >= 60_000_000_000), "{open:?}");
    assert!(recs.windows(2).all(|w| w[0].packets_to_server <= w[1].packets_to_server));
    assert_eq!(recs.last().unwrap().end, FlowEnd::Closed);
}

/// Feeds `frames` to `e` as they are timed, numbering them from `first`.
fn feed(e: &mut Engine, frames: &[Frame], first: u64) {
    for (i, f) in frames.iter().enumerate() {
        e.packet(&RawPacket {
            source: 0,
            ts: f.ts,
            linktype: 1,
            data: &f.data,
            orig_len: f.data.len() as u32,
            record: first + i as u64,
        });
    }
}

#[test]
fn a_connection_closed_before_a_checkpoint_is_recorded_once_as_closed() {
    for reset in [false, true] {
        let mut c = conversation();
        c.handshake().client_sends(REQUEST).server_sends(RESPONSE);
        if reset {
            c.reset(Side::Client);
        } else {
            c.close();
        }
        let frames = c.into_frames();
        let (mut e, _, _) = engine_with(EngineConfig::default());
        feed(&mut e, &frames, 1);
        // The connection lingers in the table for late packets: the
        // checkpoint writes it as it ended, and its end writes nothing more.
        let mut all = Vec::new();
        e.checkpoint(&mut all);
        e.finish(&mut all);
        let recs = flows(&all);
        assert_eq!(recs.len(), 1, "reset {reset}: {recs:?}");
        assert_eq!(recs[0].end, FlowEnd::Closed);
        assert_eq!(recs[0].packets_to_server + recs[0].packets_to_client, frames.len() as u64);
        assert_eq!(recs[0].tcp_state, Some(if reset { TcpState::Reset } else { TcpState::Closed }));
    }
}

#[test]
fn a_late_packet_after_the_closed_record_is_recorded_when_the_flow_ends() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).reset(Side::Client);
    c.advance(std::time::Duration::from_secs(1)).ack(Side::Server);
    let frames = c.into_frames();
    let (early, late) = frames.split_at(frames.len() - 1);
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let mut all = Vec::new();
    feed(&mut e, early, 1);
    e.checkpoint(&mut all);
    feed(&mut e, late, early.len() as u64 + 1);
    // Within the minute an open flow waits between records: not written here.
    e.checkpoint(&mut all);
    assert_eq!(flows(&all).len(), 1);
    e.finish(&mut all);
    let recs = flows(&all);
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(
        recs.iter().map(|r| r.packets_to_server + r.packets_to_client).collect::<Vec<_>>(),
        [early.len() as u64, frames.len() as u64]
    );
    assert!(recs.iter().all(|r| r.end == FlowEnd::Closed));
}

#[test]
fn follows_ipv6_flows_behind_extension_headers() {
    use otposture_fixtures::packet::ipv6_udp;
    use otposture_fixtures::Ipv6Ext;
    let eth = Eth::new(HMI, PLC);
    let a = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let b = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let frames = vec![
        Frame::new(T0, eth.ip(&ipv6_udp(a, b, 40000, 7777, b"DG hop", Some(Ipv6Ext::HopByHop)))),
        Frame::new(
            Timestamp(T0.0 + 1),
            eth.ip(&ipv6_udp(a, b, 40000, 7777, b"DG dst", Some(Ipv6Ext::DestinationOptions))),
        ),
        Frame::new(Timestamp(T0.0 + 2), eth.reply().ip(&ipv6_udp(b, a, 7777, 40000, b"DG plain", None))),
    ];
    let (mut e, _, dgrams) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].key.client_port, f[0].key.server_port), (40000, 7777));
    assert_eq!((f[0].packets_to_server, f[0].packets_to_client), (2, 1));
    assert_eq!(dgrams.lock().unwrap().len(), 3);
}

#[test]
fn a_flow_repeating_an_unchanged_identity_keeps_it_once_and_every_change() {
    let eth = Eth::new(HMI, PLC);
    let at = |i: i64, port: u16, id: &str| {
        let payload = format!("DG id={id}");
        Frame::new(
            Timestamp(T0.0 + i),
            eth_ipv4_udp(&eth, [10, 0, 0, 1], [10, 0, 0, 2], port, 7777, payload.as_bytes()),
        )
    };
    // One flow says A, A, B, A, A; another flow says A. Kept: each change, and
    // the first on each flow.
    let frames = [
        at(0, 40000, "A"),
        at(1, 40000, "A"),
        at(2, 40000, "B"),
        at(3, 40000, "A"),
        at(4, 40000, "A"),
        at(5, 40001, "A"),
    ];
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, &frames);
    let ids: Vec<(u64, String)> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Event(ev) if ev.kind == EventKind::Identity && ev.protocol == "dgram" => {
                Some((ev.packet, ev.attributes[0].1.to_string()))
            }
            _ => None,
        })
        .collect();
    let kept = [(1, "A"), (3, "B"), (4, "A"), (6, "A")].map(|(p, id)| (p, id.to_string()));
    assert_eq!(ids, kept);
    assert_eq!(e.stats().identities_repeated, 2);
}

/// Each delivery of stream bytes with the context it came with: the direction
/// given, the context's direction and sender, and the packet.
type Deliveries = Arc<Mutex<Vec<(Direction, Option<Direction>, Option<std::net::IpAddr>, u64, Vec<u8>)>>>;

struct Addressed(Deliveries);
struct AddressedSession(Deliveries);

impl StreamDissector for Addressed {
    fn protocol(&self) -> &'static str {
        "addressed"
    }
    fn port_hint(&self, port: u16) -> bool {
        port == 9999
    }
    fn probe(&self, _d: Direction, data: &[u8]) -> Probe {
        rec_probe(data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(AddressedSession(self.0.clone()))
    }
}

impl StreamSession for AddressedSession {
    fn data(&mut self, c: &PacketCtx<'_>, d: Direction, data: &[u8], _e: &mut dyn Emit) {
        self.0.lock().unwrap().push((d, c.direction, c.src_ip, c.packet, data.to_vec()));
    }
    fn gap(&mut self, _c: &PacketCtx<'_>, _d: Direction, _len: u64, _e: &mut dyn Emit) {}
}

/// A request held behind a hole is released by the server's acknowledgement:
/// it arrives with the client as sender and before the server's answer, which
/// is what lets a dissector pair the two and address its record correctly.
#[test]
fn bytes_released_by_the_peers_acknowledgement_carry_their_senders_addressing() {
    let mut c = conversation().with_segment_size(10);
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let mut frames = c.into_frames();
    frames.remove(4); // the client's second data segment: the rest waits behind it
    let deliveries: Deliveries = Arc::default();
    let mut reg = Registry::with_defaults();
    reg.streams.insert(0, Box::new(Addressed(deliveries.clone())));
    let mut e = Engine::new(EngineConfig::default(), reg);
    run(&mut e, &frames);
    let d = deliveries.lock().unwrap();
    let client: std::net::IpAddr = [192, 168, 10, 30].into();
    let server: std::net::IpAddr = [192, 168, 10, 20].into();
    let first_answer = d.iter().position(|x| x.0 == Direction::ToClient).unwrap();
    let released: Vec<_> = d.iter().filter(|x| x.0 == Direction::ToServer && x.3 > 5).collect();
    assert!(!released.is_empty(), "the held request bytes are delivered: {d:?}");
    for (i, (dir, ctx_dir, src, packet, _)) in d.iter().enumerate() {
        let sender = if *dir == Direction::ToServer { client } else { server };
        assert_eq!((*ctx_dir, *src), (Some(*dir), Some(sender)), "delivery {i} (packet {packet})");
        if *dir == Direction::ToServer {
            assert!(i < first_answer, "request bytes come before the answer: {d:?}");
        }
    }
}

/// Claims streams that open with "HOLD" once "REC" follows in the same
/// direction: until then both directions' opening bytes wait in the probe,
/// as a COTP connection request and confirm wait for the first data to say
/// whether they carry S7comm or MMS.
struct Holding(Deliveries);

impl StreamDissector for Holding {
    fn protocol(&self) -> &'static str {
        "holding"
    }
    fn port_hint(&self, port: u16) -> bool {
        port == 9999
    }
    fn probe(&self, _d: Direction, data: &[u8]) -> Probe {
        match data {
            d if !(d.starts_with(b"HOLD") || b"HOLD".starts_with(d)) => Probe::NoMatch,
            d if d.windows(3).any(|w| w == b"REC") => Probe::Match,
            _ => Probe::NeedMore,
        }
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(AddressedSession(self.0.clone()))
    }
}

#[test]
fn what_both_directions_held_while_probing_reaches_the_session_with_its_senders_addressing() {
    let mut c = conversation();
    c.handshake().client_sends(b"HOLD 1").server_sends(b"HOLD 2").client_sends(b"REC 3").close();
    let deliveries: Deliveries = Arc::default();
    let mut reg = Registry::with_defaults();
    reg.streams.insert(0, Box::new(Holding(deliveries.clone())));
    let mut e = Engine::new(EngineConfig::default(), reg);
    let obs = run(&mut e, &c.into_frames());
    assert_eq!(flows(&obs)[0].app_protocol.as_deref(), Some("holding"));
    let d = deliveries.lock().unwrap();
    let client: std::net::IpAddr = [192, 168, 10, 30].into();
    let server: std::net::IpAddr = [192, 168, 10, 20].into();
    let got: Vec<_> = d.iter().map(|x| (x.0, x.1, x.2, x.4.as_slice())).collect();
    assert_eq!(
        got,
        [
            (Direction::ToServer, Some(Direction::ToServer), Some(client), &b"HOLD 1"[..]),
            (Direction::ToClient, Some(Direction::ToClient), Some(server), &b"HOLD 2"[..]),
            (Direction::ToServer, Some(Direction::ToServer), Some(client), &b"REC 3"[..]),
        ]
    );
}

#[test]
fn a_malformed_layer_2_frame_is_the_runs_not_the_next_flows() {
    // An LLDPDU cut after its chassis ID (no port ID, no TTL), then a clean flow.
    let lldp = Eth { src: PLC, dst: [0x01, 0x80, 0xc2, 0, 0, 0x0e], vlan: Vlan::None }
        .frame(0x88cc, &[0x02, 0x07, 0x04, 0x00, 0x1b, 0x1b, 0, 0, 0x14]);
    let mut frames = vec![Frame { ts: T0, data: lldp }];
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    frames.extend(c.into_frames());
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, &frames);
    let f = flows(&obs);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].anomalies.malformed, 0, "the LLDPDU is not the flow's");
    assert_eq!(e.stats().anomalies.malformed, 1, "it is counted for the run");
    assert!(obs
        .iter()
        .any(|o| matches!(o, Observation::Event(ev) if ev.protocol == "lldp" && ev.kind == EventKind::Anomaly)));
}

/// TLS 1.2 application data records with the given body lengths.
fn tls_records(bodies: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, n) in bodies.iter().enumerate() {
        out.extend([23, 3, 3]);
        out.extend((*n as u16).to_be_bytes());
        out.extend((0..*n).map(|j| (i * 31 + j * 7) as u8));
    }
    out
}

fn tls_conversation() -> TcpConversation {
    TcpConversation::new(Endpoint::new(HMI, [192, 168, 10, 30], 50124), Endpoint::new(PLC, [192, 168, 10, 20], 443), T0)
}

fn tls_messages(obs: &[Observation]) -> Vec<(Option<Direction>, String, u64)> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Message(m) if m.protocol == "tls" => Some((m.direction, m.operation.to_string(), m.count)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_tls_connection_picked_up_mid_record_is_named_where_a_segment_starts_the_next() {
    let s2c = tls_records(&[3000, 800]);
    let mut c = tls_conversation();
    // The capture begins 700 bytes into a 3,005-byte record.
    c.server_sends(&s2c[700..1460]).server_sends(&s2c[1460..3005]);
    c.client_sends(&tls_records(&[60])).server_sends(&s2c[3005..]);
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, c.frames());
    let f = flows(&obs);
    assert_eq!((f.len(), f[0].app_protocol.as_deref()), (1, Some("tls")));
    assert_eq!(f[0].initiator, InitiatorBasis::PortHeuristic);
    assert_eq!(f[0].anomalies.malformed, 0);
    let mut m = tls_messages(&obs);
    m.sort_by_key(|(d, ..)| d.map(Direction::index));
    assert_eq!(
        m,
        vec![
            (Some(Direction::ToServer), "application_data".to_string(), 1),
            (Some(Direction::ToClient), "application_data".to_string(), 1)
        ]
    );
}

#[test]
fn a_stream_no_probe_took_is_offered_for_a_bounded_number_of_segments() {
    // `noise` segments that start no record, then one that does.
    let named_after = |noise: usize| {
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 13 + 5) as u8).collect();
        let mut c = tls_conversation();
        for _ in 0..noise {
            c.server_sends(&bytes);
        }
        c.server_sends(&tls_records(&[40]));
        let (mut e, _, _) = engine_with(EngineConfig::default());
        let obs = run(&mut e, c.frames());
        (flows(&obs)[0].app_protocol.clone(), tls_messages(&obs).len())
    };
    assert_eq!(named_after(63), (Some("tls".to_string()), 1), "63 are within the bound");
    assert_eq!(named_after(64), (None, 0), "the 65th segment is too late");
}

/// A connection picked up in the middle of a long answer: `tail` is the end
/// of that answer, then the client sends `request` and the server `answer`.
fn picked_up_mid_answer(port: u16, tail: &[u8], request: &[u8], answer: &[u8]) -> Vec<Observation> {
    let mut c = TcpConversation::new(
        Endpoint::new(HMI, [192, 168, 10, 30], 50125),
        Endpoint::new(PLC, [192, 168, 10, 20], port),
        T0,
    );
    c.server_sends(tail).client_sends(request).server_sends(answer);
    let (mut e, _, _) = engine_with(EngineConfig::default());
    run(&mut e, c.frames())
}

fn operations(obs: &[Observation], protocol: &str) -> Vec<String> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Message(m) if m.protocol == protocol => Some(m.operation.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_poll_picked_up_in_the_middle_of_an_answer_is_taken_up_at_the_next_request() {
    // Modbus/TCP: the last 200 bytes of a 125-register answer, then a read of
    // 2 registers and its answer.
    let mut long = vec![0, 7, 0, 0, 0, 253, 1, 3, 250];
    long.extend([0x11; 250]);
    let request = [0, 8, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
    let answer = [0, 8, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2];
    let obs = picked_up_mid_answer(502, &long[59..], &request, &answer);
    let f = flows(&obs);
    assert_eq!((f[0].app_protocol.as_deref(), f[0].anomalies.malformed), (Some("modbus"), 0));
    assert!(operations(&obs, "modbus").iter().any(|o| o == "read_holding_registers"), "{obs:?}");

    // S7comm: the end of a read answer, then a read var job (TPKT, COTP DT,
    // S7 job 0x04 with one item, DB1.DBB0) and its answer.
    let request = [
        0x03, 0x00, 0x00, 0x1f, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x09, 0x00, 0x0e, 0x00, 0x00, 0x04,
        0x01, 0x12, 0x0a, 0x10, 0x02, 0x00, 0x01, 0x00, 0x01, 0x84, 0x00, 0x00, 0x00,
    ];
    let answer = [
        0x03, 0x00, 0x00, 0x1a, 0x02, 0xf0, 0x80, 0x32, 0x03, 0x00, 0x00, 0x00, 0x09, 0x00, 0x02, 0x00, 0x05, 0x00,
        0x00, 0x04, 0x01, 0xff, 0x04, 0x00, 0x08, 0x2a,
    ];
    let obs = picked_up_mid_answer(102, &[0x5a; 300], &request, &answer);
    let f = flows(&obs);
    assert_eq!((f[0].app_protocol.as_deref(), f[0].anomalies.malformed), (Some("s7comm"), 0), "{obs:?}");
    assert!(operations(&obs, "s7comm").iter().any(|o| o == "read_var"), "{obs:?}");

    // The same bytes on a port that is not theirs: no probe is trusted mid-way.
    let obs = picked_up_mid_answer(40_000, &long[59..], &request, &answer);
    assert_eq!(flows(&obs)[0].app_protocol, None);
}

const HMI_IP: [u8; 4] = [192, 168, 10, 30];
const PLC_IP: [u8; 4] = [192, 168, 10, 20];

/// The `port.unexpected_protocol` events of a run, each checked to be a
/// `transport` anomaly from the HMI to the PLC: (port, expected, found).
fn unexpected_on(obs: &[Observation], transport: &str) -> Vec<(String, String, String)> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Event(e) if e.name == "port.unexpected_protocol" => {
                assert_eq!((e.protocol.as_ref(), e.kind), (transport, EventKind::Anomaly));
                assert_eq!((e.src_ip, e.dst_ip), (Some(HMI_IP.into()), Some(PLC_IP.into())), "client to server");
                let a = |k: &str| e.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string()).unwrap();
                Some((a("port"), a("expected"), a("found")))
            }
            _ => None,
        })
        .collect()
}

fn unexpected(obs: &[Observation]) -> Vec<(String, String, String)> {
    unexpected_on(obs, "tcp")
}

/// A connection from its handshake to `port`, the client sending `request`
/// and the server `answer`. The run's count of such flows agrees with its events.
fn on_port(port: u16, request: &[u8], answer: &[u8]) -> Vec<Observation> {
    let mut c = TcpConversation::new(Endpoint::new(HMI, HMI_IP, 50126), Endpoint::new(PLC, PLC_IP, port), T0);
    c.handshake().client_sends(request).server_sends(answer).close();
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, &c.into_frames());
    assert_eq!(e.stats().unexpected_protocols, unexpected(&obs).len() as u64);
    obs
}

fn triple(port: &str, expected: &str, found: &str) -> Vec<(String, String, String)> {
    vec![(port.to_string(), expected.to_string(), found.to_string())]
}

#[test]
fn another_protocol_on_an_industrial_protocols_port_is_reported_once() {
    let ssh = on_port(502, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", b"SSH-2.0-OpenSSH_9.2p1\r\n");
    assert_eq!(flows(&ssh)[0].app_protocol.as_deref(), Some("ssh"), "still dissected as what it is");
    assert_eq!(unexpected(&ssh), triple("502", "modbus", "ssh"));

    let http = on_port(44818, b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(unexpected(&http), triple("44818", "enip", "http"));

    // Bytes no dissector knows, from the handshake on: reported when the flow ends.
    let noise: Vec<u8> = (0..300u32).map(|i| (i * 29 + 11) as u8).collect();
    assert_eq!(unexpected(&on_port(102, &noise, &noise)), triple("102", "s7comm,mms", "unidentified"));
    assert_eq!(unexpected(&on_port(20000, &noise, b"")), triple("20000", "dnp3", "unidentified"));
}

#[test]
fn an_industrial_protocol_on_its_port_or_other_traffic_elsewhere_is_not_reported() {
    let request = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
    let answer = [0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2];
    let modbus = on_port(502, &request, &answer);
    assert_eq!(flows(&modbus)[0].app_protocol.as_deref(), Some("modbus"));
    assert_eq!(unexpected(&modbus), vec![]);
    // Modbus on another port, SSH on a port no industrial protocol owns, and
    // TLS on 4843 (OPC UA over TLS is TLS).
    assert_eq!(unexpected(&on_port(5020, &request, &answer)), vec![]);
    assert_eq!(unexpected(&on_port(2222, b"SSH-2.0-OpenSSH_9.2p1\r\n", b"SSH-2.0-dropbear\r\n")), vec![]);
    assert_eq!(unexpected(&on_port(4843, &tls_records(&[40]), &tls_records(&[60]))), vec![]);
    let noise: Vec<u8> = (0..300u32).map(|i| (i * 29 + 11) as u8).collect();
    assert_eq!(unexpected(&on_port(40_000, &noise, &noise)), vec![]);
    // An ISO transport connection opened and closed on port 102 before any
    // data (TPKT, COTP CR and CC, TSAPs 0x0001 as MMS stacks call them): the
    // first data would have said S7comm or MMS.
    let cr = [3, 0, 0, 22, 17, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 0x0a, 0xc1, 2, 0, 1, 0xc2, 2, 0, 1];
    let mut cc = cr;
    cc[5] = 0xd0;
    assert_eq!(unexpected(&on_port(102, &cr, &cc)), vec![]);
    // The first bytes of a Modbus request, cut short: not yet anything else.
    assert_eq!(unexpected(&on_port(502, &request[..5], b"")), vec![]);
}

#[test]
fn a_flow_picked_up_mid_stream_is_reported_only_once_the_dissectors_give_it_up() {
    let noise: Vec<u8> = (0..200u32).map(|i| (i * 13 + 5) as u8).collect();
    let picked_up = |segments: usize| {
        let mut c = TcpConversation::new(Endpoint::new(HMI, HMI_IP, 50127), Endpoint::new(PLC, PLC_IP, 502), T0);
        for _ in 0..segments {
            c.client_sends(&noise);
        }
        let (mut e, _, _) = engine_with(EngineConfig::default());
        let obs = run(&mut e, c.frames());
        assert_eq!(flows(&obs)[0].initiator, InitiatorBasis::PortHeuristic);
        unexpected(&obs)
    };
    // The middle of a long Modbus answer may look like this: no verdict yet.
    assert_eq!(picked_up(3), vec![]);
    assert_eq!(picked_up(65), triple("502", "modbus", "unidentified"));
}

/// The `port.unexpected_protocol` events of UDP datagrams from the HMI
/// (port 50200) to the PLC's `port`: (port, expected, found).
fn unexpected_datagrams(port: u16, payloads: &[&[u8]]) -> Vec<(String, String, String)> {
    let eth = Eth::new(HMI, PLC);
    let frames: Vec<Frame> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| Frame::new(Timestamp(T0.0 + i as i64), eth_ipv4_udp(&eth, HMI_IP, PLC_IP, 50200, port, p)))
        .collect();
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let got = unexpected_on(&run(&mut e, &frames), "udp");
    assert_eq!(e.stats().unexpected_protocols, got.len() as u64);
    got
}

#[test]
fn a_known_protocol_in_datagrams_to_an_industrial_port_is_reported_and_noise_is_not() {
    // A DNS query for plc.local, sent to BACnet's port.
    let query: &[u8] = &[
        0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'p', b'l', b'c', 5, b'l', b'o', b'c', b'a', b'l', 0, 0, 1,
        0, 1,
    ];
    assert_eq!(unexpected_datagrams(47808, &[query]), triple("47808", "bacnet", "dns"));
    assert_eq!(unexpected_datagrams(2222, &[query]), triple("2222", "enip", "dns"));
    // The same query on DNS's port, and noise on BACnet's (RTP and the like
    // land there by chance): nothing.
    assert_eq!(unexpected_datagrams(53, &[query]), vec![]);
    let noise: Vec<u8> = (0..160u32).map(|i| (i * 29 + 11) as u8).collect();
    assert_eq!(unexpected_datagrams(47808, &[&noise, &noise, &noise, &noise, &noise]), vec![]);
}

/// A Modbus/TCP poll picked up mid-stream between the HMI on `hmi_port` and
/// the PLC on `plc_port`: the PLC's answer to a poll before the capture
/// began, then a read and its answer, and a write and its echo. With
/// `checkpoint_first`, a checkpoint runs after a bare acknowledgement that
/// comes before any data.
fn modbus_mid_stream(hmi_port: u16, plc_port: u16, checkpoint_first: bool) -> Vec<Observation> {
    let mut c = TcpConversation::new(Endpoint::new(HMI, HMI_IP, hmi_port), Endpoint::new(PLC, PLC_IP, plc_port), T0);
    if checkpoint_first {
        c.ack(Side::Client);
    }
    c.server_sends(&[0, 7, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2])
        .client_sends(&[0, 8, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2])
        .server_sends(&[0, 8, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2])
        .client_sends(&[0, 9, 0, 0, 0, 6, 1, 6, 0, 101, 1, 144])
        .server_sends(&[0, 9, 0, 0, 0, 6, 1, 6, 0, 101, 1, 144]);
    let frames = c.frames();
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let mut obs = Vec::new();
    if checkpoint_first {
        feed(&mut e, &frames[..1], 1);
        e.checkpoint(&mut obs);
        feed(&mut e, &frames[1..], 2);
    } else {
        feed(&mut e, frames, 1);
    }
    e.finish(&mut obs);
    obs
}

/// The messages `protocol`'s dissector counted: operation and direction.
fn counted(obs: &[Observation], protocol: &str) -> Vec<(String, Option<Direction>)> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Message(m) if m.protocol == protocol => Some((m.operation.to_string(), m.direction)),
            _ => None,
        })
        .collect()
}

/// The directions of the `operation` messages `protocol`'s dissector counted.
fn directions_of(obs: &[Observation], protocol: &str, operation: &str) -> Vec<Option<Direction>> {
    counted(obs, protocol).into_iter().filter(|(op, _)| op == operation).map(|(_, d)| d).collect()
}

#[test]
fn a_connection_picked_up_mid_stream_is_turned_round_when_its_requests_say_the_port_guess_was_wrong() {
    // The HMI polls from port 1500, below the PLC's 40000: the port guess
    // takes the HMI for the server.
    let obs = modbus_mid_stream(1500, 40_000, false);
    let f = flows(&obs);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f.initiator, InitiatorBasis::Protocol);
    assert_eq!((f.key.client_port, f.key.server_port), (1500, 40_000));
    assert_eq!(f.key.server_ip, std::net::IpAddr::from(PLC_IP));
    // The HMI sent two requests; the PLC three answers.
    assert_eq!((f.packets_to_server, f.packets_to_client), (2, 3));
    assert_eq!((f.payload_to_server, f.payload_to_client), (24, 38));
    let ops = counted(&obs, "modbus");
    assert!(ops.contains(&("read_holding_registers".into(), Some(Direction::ToServer))), "{ops:?}");
    assert!(ops.contains(&("write_single_register".into(), Some(Direction::ToServer))), "{ops:?}");
    // The kept write runs from the HMI to the PLC.
    let write = obs
        .iter()
        .flat_map(|o| o.events().unwrap())
        .find(|e| e.name == "write_single_register")
        .unwrap_or_else(|| panic!("{obs:?}"));
    assert_eq!((write.src_ip, write.dst_ip), (Some(HMI_IP.into()), Some(PLC_IP.into())));
    each_mac_keeps_its_address(&obs);
}

/// The PLC's and the HMI's MACs are each seen with their own address, not
/// the other's (a flow turned round turns its senders too).
fn each_mac_keeps_its_address(obs: &[Observation]) {
    let hosts: Vec<_> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Host(h) => Some((h.mac, h.ip)),
            _ => None,
        })
        .collect();
    assert!(hosts.contains(&(Some(otposture_model::MacAddr(PLC)), Some(PLC_IP.into()))), "{hosts:?}");
    assert!(hosts.contains(&(Some(otposture_model::MacAddr(HMI)), Some(HMI_IP.into()))), "{hosts:?}");
}

#[test]
fn a_port_guess_the_requests_confirm_is_kept_and_a_protocols_own_port_is_not_questioned() {
    // The HMI's port above the PLC's: the guess was right, and the requests say so.
    let f = flows(&modbus_mid_stream(50_000, 40_000, false));
    assert_eq!((f[0].initiator, f[0].key.server_port), (InitiatorBasis::Protocol, 40_000));
    // On port 502 the port decides.
    let f = flows(&modbus_mid_stream(50_000, 502, false));
    assert_eq!((f[0].initiator, f[0].key.server_port), (InitiatorBasis::PortHeuristic, 502));
}

#[test]
fn a_flow_stored_before_its_protocol_was_named_keeps_its_ends() {
    // Stored at a checkpoint as the port guess had it: the store keys a
    // flow's ends by its first record, so it is not turned later.
    let obs = modbus_mid_stream(1500, 40_000, true);
    let f = flows(&obs);
    assert!(f.len() >= 2, "{f:?}");
    assert!(f.iter().all(|f| f.initiator == InitiatorBasis::PortHeuristic && f.key.server_port == 1500), "{f:?}");
    assert!(f.iter().all(|r| r.id == f[0].id));
}

#[test]
fn a_remote_desktop_picked_up_mid_stream_from_an_old_windows_client_port_names_its_server() {
    // Windows before Vista takes client ports from 1025-5000, below RDP's
    // 3389 and VNC's 5900: the lower port was taken for the server.
    for (client, server) in [(1100, 3389), (4500, 5900), (1200, 1433)] {
        let mut c = TcpConversation::new(Endpoint::new(HMI, HMI_IP, client), Endpoint::new(PLC, PLC_IP, server), T0);
        c.server_sends(&[0x5a; 40]).client_sends(&[0x5b; 20]);
        let (mut e, _, _) = engine_with(EngineConfig::default());
        let f = flows(&run(&mut e, c.frames()));
        assert_eq!((f[0].key.client_port, f[0].key.server_port), (client, server));
        assert_eq!(f[0].initiator, InitiatorBasis::PortHeuristic);
    }
}

/// A DNP3 link frame carrying one whole application fragment: DIR set (from
/// the master, address 1, to outstation 10) or not (from the outstation).
fn dnp3_frame(from_master: bool, app: &[u8]) -> Vec<u8> {
    use otposture_dissect::dnp3::link::crc;
    let (control, dst, src): (u8, u16, u16) = if from_master { (0xc4, 10, 1) } else { (0x44, 1, 10) };
    let mut user = vec![0xc0]; // transport: FIR, FIN, seq 0
    user.extend_from_slice(app);
    let mut f = vec![0x05, 0x64, 5 + user.len() as u8, control];
    f.extend_from_slice(&dst.to_le_bytes());
    f.extend_from_slice(&src.to_le_bytes());
    f.extend_from_slice(&crc(&f).to_le_bytes());
    for block in user.chunks(16) {
        f.extend_from_slice(block);
        f.extend_from_slice(&crc(block).to_le_bytes());
    }
    f
}

/// DNP3 over UDP between the master (the HMI, on `master_port`) and the
/// outstation (the PLC, on `outstation_port`). The capture opens on the
/// outstation's unsolicited null response; the master confirms it and polls
/// class 0, and the outstation answers.
fn dnp3_udp(master_port: u16, outstation_port: u16) -> Vec<Observation> {
    let to_master = Eth::new(PLC, HMI);
    let to_outstation = Eth::new(HMI, PLC);
    let grams = [
        (false, dnp3_frame(false, &[0xf0, 0x82, 0x00, 0x00])), // unsolicited response, null
        (true, dnp3_frame(true, &[0xd0, 0x00])),               // confirm
        (true, dnp3_frame(true, &[0xc1, 0x01, 0x3c, 0x01, 0x06])), // read class 0
        (false, dnp3_frame(false, &[0xc1, 0x81, 0x00, 0x00])), // response
    ];
    let frames: Vec<Frame> = grams
        .iter()
        .enumerate()
        .map(|(i, (from_master, p))| {
            let ts = Timestamp(T0.0 + i as i64 * 1_000_000);
            Frame::new(
                ts,
                if *from_master {
                    eth_ipv4_udp(&to_outstation, HMI_IP, PLC_IP, master_port, outstation_port, p)
                } else {
                    eth_ipv4_udp(&to_master, PLC_IP, HMI_IP, outstation_port, master_port, p)
                },
            )
        })
        .collect();
    let (mut e, _, _) = engine_with(EngineConfig::default());
    run(&mut e, &frames)
}

#[test]
fn a_datagram_flow_that_opens_on_an_outstations_unsolicited_response_is_turned_round() {
    // Port 20000 at both ends: the first datagram's sender, the outstation,
    // was taken for the client.
    let obs = dnp3_udp(20_000, 20_000);
    let f = flows(&obs);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f.app_protocol.as_deref(), Some("dnp3"));
    assert_eq!(f.initiator, InitiatorBasis::Protocol);
    assert_eq!((f.key.client_ip, f.key.server_ip), (HMI_IP.into(), PLC_IP.into()));
    assert_eq!((f.packets_to_server, f.packets_to_client), (2, 2));
    // The read, and its answer counted under it.
    let read = directions_of(&obs, "dnp3", "read");
    assert_eq!(read.len(), 2, "{obs:?}");
    assert!(read.contains(&Some(Direction::ToServer)) && read.contains(&Some(Direction::ToClient)), "{obs:?}");
    each_mac_keeps_its_address(&obs);
}

#[test]
fn a_datagram_flow_the_ports_or_the_protocol_already_agree_on_is_not_turned() {
    // The outstation on 20000, the master on an ephemeral port: the port decides.
    let f = flows(&dnp3_udp(50_000, 20_000));
    assert_eq!((f[0].initiator, f[0].key.server_port), (InitiatorBasis::FirstPacket, 20_000));
    assert_eq!(f[0].key.server_ip, std::net::IpAddr::from(PLC_IP));
    // Two unregistered ports, the master's the higher: the guess was right,
    // and the outstation's frame says so.
    let f = flows(&dnp3_udp(40_000, 30_000));
    assert_eq!((f[0].initiator, f[0].key.server_port), (InitiatorBasis::Protocol, 30_000));
}

#[test]
fn a_datagram_to_a_broadcast_address_is_never_turned() {
    // A BACnet I-Am from the PLC to its subnet's broadcast address and to
    // 255.255.255.255: only the MAC says the first is a broadcast.
    let i_am = [0x81, 0x0b, 0x00, 0x08, 0x01, 0x00, 0x10, 0x00];
    let bcast = Eth::new(PLC, [0xff; 6]);
    let frames = [
        Frame::new(T0, eth_ipv4_udp(&bcast, PLC_IP, [192, 168, 10, 255], 47808, 47808, &i_am)),
        Frame::new(T0, eth_ipv4_udp(&bcast, PLC_IP, [255, 255, 255, 255], 47808, 47808, &i_am)),
    ];
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let f = flows(&run(&mut e, &frames));
    assert_eq!(f.len(), 2, "{f:?}");
    for f in f {
        assert_eq!(f.app_protocol.as_deref(), Some("bacnet"));
        assert_eq!((f.initiator, f.key.client_ip), (InitiatorBasis::FirstPacket, PLC_IP.into()), "{f:?}");
    }
}

/// An HTTP connection picked up mid-stream between a browser on
/// `browser_port` and a device's web server on `server_port`: the end of an
/// answer whose request came before the capture, then a request and its answer.
fn http_mid_stream(browser_port: u16, server_port: u16) -> Vec<Observation> {
    let mut c =
        TcpConversation::new(Endpoint::new(HMI, HMI_IP, browser_port), Endpoint::new(PLC, PLC_IP, server_port), T0);
    c.server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: plc-web/2.1\r\n\r\nok")
        .client_sends(b"GET /status.html HTTP/1.1\r\nHost: plc\r\nUser-Agent: hmi\r\n\r\n")
        .server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: plc-web/2.1\r\n\r\nrun");
    let (mut e, _, _) = engine_with(EngineConfig::default());
    run(&mut e, c.frames())
}

#[test]
fn a_web_server_above_its_browsers_port_is_named_and_turned_by_its_status_line() {
    // The browser on an old Windows client port below the server's: the
    // guess takes the browser for the server, and HTTP's probe takes a
    // status line only from the server.
    let obs = http_mid_stream(1500, 40_000);
    let f = flows(&obs);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].app_protocol.as_deref(), Some("http"), "{f:?}");
    assert_eq!((f[0].initiator, f[0].key.client_port, f[0].key.server_port), (InitiatorBasis::Protocol, 1500, 40_000));
    assert_eq!(directions_of(&obs, "http", "get"), [Some(Direction::ToServer)], "{obs:?}");
    // Guessed right, the request confirms it.
    let f = flows(&http_mid_stream(50_000, 40_000));
    assert_eq!(
        (f[0].initiator, f[0].key.server_port, f[0].app_protocol.as_deref()),
        (InitiatorBasis::Protocol, 40_000, Some("http"))
    );
}

/// An engineering tool's FTP session with a controller, picked up after the
/// login: it changes directory, then puts a firmware image.
fn ftp_mid_stream(tool_port: u16, controller_port: u16) -> Vec<Observation> {
    let mut c =
        TcpConversation::new(Endpoint::new(HMI, HMI_IP, tool_port), Endpoint::new(PLC, PLC_IP, controller_port), T0);
    c.client_sends(b"CWD /firmware\r\n")
        .server_sends(b"250 Directory changed\r\n")
        .client_sends(b"STOR cpu-fw-4.2.bin\r\n")
        .server_sends(b"150 Ok to send data\r\n")
        .server_sends(b"226 Transfer complete\r\n");
    let (mut e, _, _) = engine_with(EngineConfig::default());
    run(&mut e, c.frames())
}

fn kept_stor(obs: &[Observation]) -> Vec<(Option<std::net::IpAddr>, String)> {
    obs.iter()
        .flat_map(|o| o.events().unwrap())
        .filter(|e| e.name == "stor")
        .map(|e| {
            (e.dst_ip, e.attributes.iter().find(|(k, _)| k == "path").map(|(_, v)| v.to_string()).unwrap_or_default())
        })
        .collect()
}

#[test]
fn an_ftp_session_picked_up_after_its_login_is_named_and_its_firmware_upload_kept() {
    // On port 21: taken up at the first line only FTP sends.
    let obs = ftp_mid_stream(50_000, 21);
    let f = flows(&obs);
    assert_eq!(f[0].app_protocol.as_deref(), Some("ftp"), "{f:?}");
    assert_eq!(kept_stor(&obs), [(Some(PLC_IP.into()), "cpu-fw-4.2.bin".to_string())]);
    // A controller's FTP server on 2121, the tool on an old Windows port
    // below it: turned by the command.
    let obs = ftp_mid_stream(1100, 2121);
    let f = flows(&obs);
    assert_eq!((f[0].app_protocol.as_deref(), f[0].initiator), (Some("ftp"), InitiatorBasis::Protocol), "{f:?}");
    assert_eq!((f[0].key.client_port, f[0].key.server_port), (1100, 2121));
    assert_eq!(kept_stor(&obs), [(Some(PLC_IP.into()), "cpu-fw-4.2.bin".to_string())]);
}

#[test]
fn counts_outside_flows_and_events_keep_the_input_they_came_from() {
    // Two rotated files read together: the same ARP request in each.
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let arp = otposture_fixtures::packet::arp_request(Vlan::None, HMI, HMI_IP, [192, 168, 10, 20]);
    for (source, record) in [(0, 1), (1, 1), (1, 2)] {
        e.packet(&RawPacket {
            ts: Timestamp(T0.0 + i64::from(source) * 1_000_000 + record as i64),
            linktype: 1,
            data: &arp,
            orig_len: arp.len() as u32,
            record,
            source,
        });
    }
    let mut obs = Vec::new();
    e.finish(&mut obs);
    // (input, count) of the ARP counts and (input, packet) of the ARP senders, sorted.
    let mut counts = Vec::new();
    let mut events = Vec::new();
    for o in &obs {
        match o {
            Observation::Message(m) if m.protocol == "arp" => counts.push((m.source, m.count)),
            Observation::Event(ev) if ev.name == "arp.sender" => events.push((ev.source, ev.packet)),
            _ => {}
        }
    }
    counts.sort();
    events.sort();
    assert_eq!(counts, [(0, 1), (1, 2)], "{obs:?}");
    assert_eq!(events.first(), Some(&(0, 1)), "{obs:?}");
    assert!(events.iter().all(|&(s, p)| (s, p) == (0, 1) || s == 1), "{events:?}");
}

/// A subnet's broadcast address is told by the MAC its frames go to: 10.0.0.255
/// is a plain address to the IP layer. A flow one of whose ends received only
/// group-addressed frames and sent nothing says so; a unicast exchange does not,
/// nor does a group address that answers (it is a device behind a multicast MAC).
#[test]
fn a_flow_to_a_subnets_broadcast_address_is_to_a_group() {
    let unicast = Eth::new(HMI, PLC);
    let broadcast = Eth::new(HMI, otposture_fixtures::packet::BROADCAST);
    let ts = |i: i64| Timestamp(T0.0 + i * 1_000_000);
    let frames = [
        // NetBIOS datagrams to the subnet's broadcast address.
        Frame::new(ts(0), eth_ipv4_udp(&broadcast, [10, 0, 0, 1], [10, 0, 0, 255], 138, 138, b"browse")),
        Frame::new(ts(1), eth_ipv4_udp(&broadcast, [10, 0, 0, 1], [10, 0, 0, 255], 138, 138, b"browse")),
        // A unicast exchange.
        Frame::new(ts(2), eth_ipv4_udp(&unicast, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 7777, b"DG")),
        Frame::new(ts(3), eth_ipv4_udp(&unicast.reply(), [10, 0, 0, 2], [10, 0, 0, 1], 7777, 40000, b"DG")),
        // To a group MAC, and answered from the address it went to.
        Frame::new(ts(4), eth_ipv4_udp(&broadcast, [10, 0, 0, 1], [10, 0, 0, 9], 40001, 7778, b"DG")),
        Frame::new(ts(5), eth_ipv4_udp(&unicast.reply(), [10, 0, 0, 9], [10, 0, 0, 1], 7778, 40001, b"DG")),
    ];
    let (mut e, _, _) = engine_with(EngineConfig::default());
    let mut got: Vec<(std::net::IpAddr, std::net::IpAddr, bool)> =
        flows(&run(&mut e, &frames)).iter().map(|f| (f.key.client_ip, f.key.server_ip, f.to_group)).collect();
    got.sort();
    let ip = |d: u8| std::net::IpAddr::from([10, 0, 0, d]);
    assert_eq!(got, [(ip(1), ip(2), false), (ip(1), ip(9), false), (ip(1), ip(255), true)]);
}

/// `frame` as a switch at 10.99.0.1 mirrors it to a sensor at 10.99.0.2:
/// ERSPAN type I (GRE 0x88BE, no header of its own).
fn in_erspan(frame: &[u8]) -> Vec<u8> {
    let mut gre = vec![0, 0, 0x88, 0xbe];
    gre.extend_from_slice(frame);
    let len = u16::try_from(20 + gre.len()).unwrap();
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 47, 0, 0, 10, 99, 0, 1, 10, 99, 0, 2];
    ip[2..4].copy_from_slice(&len.to_be_bytes());
    ip.extend(gre);
    Eth::new([0x00, 0x1e, 0xf6, 0, 0, 1], [0x00, 0x1e, 0xf6, 0, 0, 2]).frame(0x0800, &ip)
}

/// `frame` in VXLAN (network identifier 100) from 10.99.0.3 to the sensor.
fn in_vxlan(frame: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0, 0, 0, 100, 0];
    v.extend_from_slice(frame);
    let eth = Eth::new([0x00, 0x1e, 0xf6, 0, 0, 3], [0x00, 0x1e, 0xf6, 0, 0, 2]);
    eth_ipv4_udp(&eth, [10, 99, 0, 3], [10, 99, 0, 2], 40_000, 4789, &v)
}

#[test]
fn a_mirror_inside_a_mirror_is_opened_and_no_deeper() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let wrap = |f: &dyn Fn(&[u8]) -> Vec<u8>| -> Vec<Frame> {
        c.frames().iter().map(|fr| Frame::new(fr.ts, f(&fr.data))).collect()
    };
    let n = c.frames().len() as u64;

    // ERSPAN carrying VXLAN carrying the conversation: as if captured at the switch.
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, &wrap(&|d| in_erspan(&in_vxlan(d))));
    assert_eq!(seen.lock().unwrap()[0], REQUEST);
    assert_eq!(seen.lock().unwrap()[1], RESPONSE);
    let f = flows(&obs);
    assert_eq!(f.len(), 1, "no flow of the carrying packets: {f:?}");
    assert_eq!((f[0].app_protocol.as_deref(), f[0].key.server_port), (Some("rec"), 9999));
    let stats = e.stats();
    assert_eq!(stats.decapsulated.get("erspan1"), Some(&n));
    assert_eq!(stats.decapsulated.get("vxlan"), Some(&n));
    assert_eq!((stats.packets, stats.udp), (n, 0), "each captured packet counted once");

    // Three deep: the third is taken as it comes, a VXLAN datagram.
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, &wrap(&|d| in_erspan(&in_erspan(&in_vxlan(d)))));
    assert!(seen.lock().unwrap()[0].is_empty());
    let f = flows(&obs);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].key.server_port, 4789);
    assert_eq!(e.stats().decapsulated.get("erspan1"), Some(&(2 * n)));
    assert_eq!(e.stats().decapsulated.get("vxlan"), None);
}

/// `frame` with an HSR tag (path, sequence number) after its MAC addresses.
fn in_hsr(frame: &[u8], path: u8, sequence: u16) -> Vec<u8> {
    let lsdu = u16::try_from(frame.len() - 12 + 4).unwrap();
    let mut v = frame[..12].to_vec();
    v.extend(0x892fu16.to_be_bytes());
    v.extend((u16::from(path) << 12 | lsdu).to_be_bytes());
    v.extend(sequence.to_be_bytes());
    v.extend_from_slice(&frame[12..]);
    v
}

#[test]
fn an_hsr_rings_second_copy_of_a_frame_is_passed_over() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let n = c.frames().len();
    // Both senders' numbers run across the 16-bit wrap.
    let sequence = |i: usize| (65_533 + i as u32) as u16;
    let copy = |i: usize, path: u8| Frame::new(c.frames()[i].ts, in_hsr(&c.frames()[i].data, path, sequence(i)));

    // Each frame's copies one after the other, and all of one direction round
    // the ring before the other's.
    let orders: [Vec<Frame>; 2] = [
        (0..n).flat_map(|i| [copy(i, 0), copy(i, 1)]).collect(),
        (0..n).map(|i| copy(i, 0)).chain((0..n).map(|i| copy(i, 1))).collect(),
    ];
    for frames in &orders {
        let (mut e, seen, _) = engine_with(EngineConfig::default());
        let obs = run(&mut e, frames);
        assert_eq!(seen.lock().unwrap()[0], REQUEST);
        assert_eq!(seen.lock().unwrap()[1], RESPONSE);
        let f = flows(&obs);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].packets_to_server + f[0].packets_to_client, n as u64, "each frame once");
        assert_eq!(f[0].anomalies.retransmissions, 0, "no copy is taken for a retransmission");
        let stats = e.stats();
        assert_eq!(stats.decapsulated.get("hsr"), Some(&(n as u64)));
        assert_eq!(stats.hsr_duplicates, n as u64);
        assert_eq!(stats.l2_frames, 0);
    }

    // A sender whose MAC has the group bit set (a loopback capture's made-up
    // addresses, 01:02:03:04:05:06) is no host, but its copies are still told
    // apart by it.
    let group = |i: usize, path: u8| {
        let mut d = c.frames()[i].data.clone();
        d[6] |= 0x01;
        Frame::new(c.frames()[i].ts, in_hsr(&d, path, sequence(i)))
    };
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    run(&mut e, &(0..n).flat_map(|i| [group(i, 0), group(i, 1)]).collect::<Vec<_>>());
    assert_eq!(seen.lock().unwrap()[0], REQUEST);
    assert_eq!((e.stats().hsr_duplicates, e.stats().l2_frames), (n as u64, 0));

    // The client's SYN, then its ACK numbered `gap` on, then the SYN's copy:
    // 1,000 numbers back is still within what is remembered (a busy sender,
    // or two LANs' clocks apart); 2,000 back is taken for a new frame, as
    // after the sender restarted its numbers.
    for (gap, copies) in [(1_000u16, 1u64), (2_000, 0)] {
        let (mut e, _, _) = engine_with(EngineConfig::default());
        let late: Vec<Frame> = vec![
            copy(0, 0),
            Frame::new(c.frames()[2].ts, in_hsr(&c.frames()[2].data, 0, sequence(0).wrapping_add(gap))),
            copy(0, 1),
        ];
        run(&mut e, &late);
        assert_eq!(e.stats().hsr_duplicates, copies, "{gap} back");
        assert_eq!(e.stats().decapsulated.get("hsr"), Some(&(3 - copies)), "{gap} back");
    }
}

#[test]
fn a_carried_frame_cut_by_the_snap_length_counts_its_length_on_the_wire() {
    // The conversation's packets cut 6 bytes short by the capture, as they
    // come, in an HSR tag and behind MPLS labels: each flow counts the bytes
    // the frames had on the wire, whatever carried them.
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let bytes_of = |wrap: &dyn Fn(usize, &[u8]) -> Vec<u8>| {
        let (mut e, _, _) = engine_with(EngineConfig::default());
        for (i, f) in c.frames().iter().enumerate() {
            let whole = wrap(i, &f.data);
            // Only what carries data: a bare segment cut short has no TCP header.
            let cut = if f.data.len() > 60 { 6 } else { 0 };
            let data = &whole[..whole.len() - cut];
            let orig_len = u32::try_from(whole.len()).unwrap();
            e.packet(&RawPacket { ts: f.ts, linktype: 1, data, orig_len, record: i as u64 + 1, source: 0 });
        }
        let mut out = Vec::new();
        e.finish(&mut out);
        let f = flows(&out);
        assert_eq!(f.len(), 1, "{f:?}");
        (f[0].bytes_to_server, f[0].bytes_to_client)
    };
    let plain = bytes_of(&|_, d| d.to_vec());
    assert!(plain.0 > 0 && plain.1 > 0);
    assert_eq!(bytes_of(&|i, d| in_hsr(d, 0, i as u16)), plain, "HSR");
    let mpls = |_, d: &[u8]| {
        let mut v = d[..12].to_vec();
        v.extend([0x88, 0x47, 0x00, 0x01, 0x81, 0x40, 0, 0, 0, 0]);
        v.extend_from_slice(d);
        v
    };
    assert_eq!(bytes_of(&mpls), plain, "an MPLS pseudowire");
}

/// `frame` with a PRP trailer for LAN `lan` (0xA or 0xB).
fn with_prp(frame: &[u8], lan: u8, sequence: u16) -> Vec<u8> {
    let mut v = frame.to_vec();
    v.resize(v.len().max(60), 0);
    let size = u16::try_from(v.len() - 14 + 6).unwrap();
    v.extend(sequence.to_be_bytes());
    v.extend((u16::from(lan) << 12 | size).to_be_bytes());
    v.extend([0x88, 0xfb]);
    v
}

#[test]
fn a_prp_senders_copy_from_its_other_lan_is_passed_over() {
    let mut c = conversation();
    c.handshake().client_sends(REQUEST).server_sends(RESPONSE).close();
    let n = c.frames().len();
    let copy = |i: usize, lan: u8| Frame::new(c.frames()[i].ts, with_prp(&c.frames()[i].data, lan, i as u16));
    let (mut e, seen, _) = engine_with(EngineConfig::default());
    let obs = run(&mut e, &(0..n).flat_map(|i| [copy(i, 0xa), copy(i, 0xb)]).collect::<Vec<_>>());
    assert_eq!(seen.lock().unwrap()[0], REQUEST);
    assert_eq!(seen.lock().unwrap()[1], RESPONSE);
    let f = flows(&obs);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].packets_to_server + f[0].packets_to_client, n as u64, "each frame once");
    assert_eq!(f[0].anomalies.retransmissions, 0);
    let stats = e.stats();
    assert_eq!((stats.prp_frames.get("lan_a"), stats.prp_duplicates), (Some(&(n as u64)), n as u64));

    // Frames that end in 0x88FB without a trailer's size are not PRP's: a
    // repeat of one is a retransmission, as it always was.
    let fake = |i: usize| {
        let mut d = c.frames()[i].data.clone();
        d.extend([0, 1, 0xa0, 0x01, 0x88, 0xfb]);
        Frame::new(c.frames()[i].ts, d)
    };
    let (mut e, _, _) = engine_with(EngineConfig::default());
    run(&mut e, &(0..n).flat_map(|i| [fake(i), fake(i)]).collect::<Vec<_>>());
    assert_eq!((e.stats().prp_duplicates, e.stats().prp_frames.len()), (0, 0));
}
