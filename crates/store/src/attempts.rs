//! Connection attempts that carried nothing, per client and hour: what a port
//! scan or a host sweep leaves in the flows table.

use crate::query::{read_err, FLOWS_WITH_CAPTURE};
use crate::{Store, StoreError};

/// One client's TCP connections that carried no data within one hour of
/// capture time: each opened by a handshake seen from its start (so the
/// client is known to have called), none with a byte of payload either way.
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
    /// Distinct (server, port) pairs called.
    pub targets: u64,
    /// Distinct ports called.
    pub ports: u64,
    /// Connections (a target called twice counts twice).
    pub attempts: u64,
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
        let empty = "f.transport = 'tcp' AND f.initiator = 'handshake' AND f.payload_to_server = 0 \
                     AND f.payload_to_client = 0";
        let query = format!(
            "SELECT cap.network, f.client_ip_key, min(f.client_ip), f.first_seen / {HOUR_NS} AS hour,
                    min(f.first_seen), max(f.last_seen), count(DISTINCT f.server_ip_key),
                    count(DISTINCT f.server_ip || ' ' || f.server_port) AS targets, count(DISTINCT f.server_port),
                    count(*)
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
