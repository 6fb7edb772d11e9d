//! Connection attempts that carried nothing or got no answer, per client and
//! hour: what a port scan or a host sweep leaves in the flows table.

use crate::query::{read_err, FLOWS_WITH_CAPTURE};
use crate::{Store, StoreError};

/// One client's attempts that got nothing within one hour of capture time:
/// TCP connections opened by a handshake seen from its start (so the client is
/// known to have called), none with a byte of payload either way; and UDP
/// flows to a device (not to a broadcast or multicast address) that never
/// answered, which is what a UDP scan or a sweep of unicast discovery requests
/// leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmptyAttempts {
    /// The network of the captures they were seen in.
    pub network: String,
    /// The client that called.
    pub client_ip: String,
    /// The first attempt's first packet, ns.
    pub first_seen_ns: i64,
    /// The last attempt's last packet, ns.
    pub last_seen_ns: i64,
    /// Distinct servers called.
    pub hosts: u64,
    /// Distinct (transport, server, port) triples called.
    pub targets: u64,
    /// Distinct ports called.
    pub ports: u64,
    /// Attempts (a target called twice counts twice).
    pub attempts: u64,
    /// Of `attempts`, the unanswered UDP flows.
    pub udp: u64,
    /// The lowest ports called (at most eight).
    pub sample_ports: Vec<u16>,
    /// The lowest addresses called (at most eight).
    pub sample_hosts: Vec<String>,
}

/// Ports and hosts kept in [`EmptyAttempts`] as examples.
pub(crate) const SAMPLE: usize = 8;

/// An hour of capture time, in ns: a scan of a subnet or of a host's common
/// ports takes minutes, and a client failing to reach a few dead devices now
/// and then over a month is not one.
const HOUR_NS: i64 = 3_600_000_000_000;

impl Store {
    /// Clients whose empty connection attempts ([`EmptyAttempts`]) reached at
    /// least `min_targets` distinct (server, port) pairs within one clock hour
    /// of capture time, by network, client and hour.
    pub fn empty_attempts(&self, min_targets: u64) -> Result<Vec<EmptyAttempts>, StoreError> {
        const OP: &str = "listing empty connection attempts";
        let err = || read_err(&self.path, OP);
        // A UDP flow without an answer counts only from a client that received
        // something in the capture (an answer elsewhere, an ICMP port
        // unreachable): a capture of one direction only (a SPAN port set to
        // one way) leaves every UDP flow unanswered. The receivers are one
        // uncorrelated set, built once: looked up per flow (`EXISTS` over
        // either address index) it took `assess` on the benchmark's database
        // from 1.4 s to 22 s.
        let empty = "((f.transport = 'tcp' AND f.initiator = 'handshake' AND f.payload_to_server = 0 \
                     AND f.payload_to_client = 0) \
                     OR (f.transport = 'udp' AND f.packets_to_client = 0 AND f.to_group = 0 \
                         AND (f.client_ip_key, f.capture_id) IN \
                             (SELECT client_ip_key, capture_id FROM flows WHERE packets_to_client > 0 \
                              UNION SELECT server_ip_key, capture_id FROM flows WHERE packets_to_server > 0)))";
        let query = format!(
            "SELECT cap.network, f.client_ip_key, min(f.client_ip), f.first_seen / {HOUR_NS} AS hour,
                    min(f.first_seen), max(f.last_seen), count(DISTINCT f.server_ip_key),
                    count(DISTINCT f.transport || ' ' || f.server_ip || ' ' || f.server_port) AS targets,
                    count(DISTINCT f.server_port), count(*), sum(f.transport = 'udp')
             FROM {FLOWS_WITH_CAPTURE} WHERE {empty}
             GROUP BY cap.network, f.client_ip_key, hour
             HAVING targets >= ?1
             ORDER BY cap.network, f.client_ip_key, hour"
        );
        let mut stmt = self.conn.prepare(&query).map_err(err())?;
        let limit = i64::try_from(min_targets).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map([limit], |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
                Ok((
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(3)?,
                    EmptyAttempts {
                        network: r.get(0)?,
                        client_ip: r.get(2)?,
                        first_seen_ns: r.get(4)?,
                        last_seen_ns: r.get(5)?,
                        hosts: n(6)?,
                        targets: n(7)?,
                        ports: n(8)?,
                        attempts: n(9)?,
                        udp: n(10)?,
                        sample_ports: Vec::new(),
                        sample_hosts: Vec::new(),
                    },
                ))
            })
            .map_err(err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err())?;
        // Examples for each: few rows (scanners are few), each found by the
        // client address index.
        let within = format!(
            "FROM {FLOWS_WITH_CAPTURE} WHERE {empty} AND f.client_ip_key = ?1 AND cap.network = ?2
             AND f.first_seen >= ?3 AND f.first_seen < ?4"
        );
        let mut ports = self
            .conn
            .prepare(&format!("SELECT DISTINCT f.server_port {within} ORDER BY f.server_port LIMIT {SAMPLE}"))
            .map_err(err())?;
        let mut hosts = self
            .conn
            .prepare(&format!(
                "SELECT f.server_ip FROM (SELECT DISTINCT f.server_ip_key AS k, f.server_ip {within}) AS f
                 ORDER BY f.k LIMIT {SAMPLE}"
            ))
            .map_err(err())?;
        rows.into_iter()
            .map(|(key, hour, mut a)| {
                let window = (hour.saturating_mul(HOUR_NS), hour.saturating_add(1).saturating_mul(HOUR_NS));
                let args = rusqlite::params![key, a.network, window.0, window.1];
                a.sample_ports = ports.query_map(args, |r| r.get::<_, u16>(0))?.collect::<Result<_, _>>()?;
                a.sample_hosts = hosts.query_map(args, |r| r.get::<_, String>(0))?.collect::<Result<_, _>>()?;
                Ok(a)
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use crate::{CaptureId, Store};
    use otposture_model::{
        FlowEnd, FlowId, FlowKey, FlowRecord, InitiatorBasis, Observation, StreamAnomalies, Timestamp, Transport,
    };

    /// A UDP flow from 10.0.0.50 to `server`:`port`, `answers` datagrams back.
    fn udp(server: &str, port: u16, answers: u64, to_group: bool) -> Observation {
        let key = FlowKey {
            vlan: None,
            transport: Transport::Udp,
            client_ip: "10.0.0.50".parse().unwrap(),
            client_port: 40_000,
            server_ip: server.parse().unwrap(),
            server_port: port,
        };
        Observation::Flow(FlowRecord {
            id: FlowId::derive(&key, Timestamp(1_000)),
            key,
            initiator: InitiatorBasis::FirstPacket,
            first_seen: Timestamp(1_000),
            last_seen: Timestamp(2_000),
            packets_to_server: 1,
            bytes_to_server: 60,
            packets_to_client: answers,
            bytes_to_client: 60 * answers,
            payload_to_server: 8,
            payload_to_client: 8 * answers,
            tcp_state: None,
            app_protocol: None,
            anomalies: StreamAnomalies::default(),
            end: FlowEnd::IdleTimeout,
            source: 0,
            to_group,
        })
    }

    fn store(flows: &[Observation]) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let capture: CaptureId = store.begin_capture("f", std::path::Path::new("p"), 0, 0).unwrap();
        store.write_batch(capture, flows).unwrap();
        store
    }

    /// Unanswered UDP datagrams to 25 ports of one device are 25 empty
    /// attempts from a client that received something (here an answer from
    /// another device); answered ones, those to a subnet's broadcast address,
    /// and those of a client nothing was seen reaching (a capture of one
    /// direction) are none.
    #[test]
    fn unanswered_udp_to_a_device_is_an_empty_attempt() {
        let mut scan: Vec<Observation> = (1..=25).map(|port| udp("10.0.0.9", port, 0, false)).collect();
        assert!(store(&scan).empty_attempts(20).unwrap().is_empty(), "one direction only");
        scan.push(udp("10.0.0.53", 53, 1, false));
        let found = store(&scan).empty_attempts(20).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let a = &found[0];
        assert_eq!(
            (a.client_ip.as_str(), a.attempts, a.udp, a.targets, a.hosts, a.ports),
            ("10.0.0.50", 25, 25, 25, 1, 25)
        );
        assert_eq!(a.sample_ports, [1, 2, 3, 4, 5, 6, 7, 8]);
        let answered: Vec<Observation> = (1..=25).map(|port| udp("10.0.0.9", port, 1, false)).collect();
        assert!(store(&answered).empty_attempts(20).unwrap().is_empty());
        let mut broadcast: Vec<Observation> = (1..=25).map(|port| udp("10.0.0.255", port, 0, true)).collect();
        broadcast.push(udp("10.0.0.53", 53, 1, false));
        assert!(store(&broadcast).empty_attempts(20).unwrap().is_empty());
    }
}
