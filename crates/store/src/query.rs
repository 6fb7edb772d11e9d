//! Read queries: filters in, serialisable rows out.
//!
//! Time filters select rows whose span overlaps the window: `since` keeps rows last
//! seen at or after it, `until` rows first seen at or before it. Address filters
//! take an [`IpNet`] (a CIDR block or one address) and run as index range scans over
//! the stored address keys. A `limit` of `None` returns every row.

use crate::codes::{self, uint};
use crate::error::{sql, StoreError};
use crate::ipnet::{IpKey, IpNet};
use crate::records;
use crate::rows::{
    Attributes, CaptureId, CaptureRow, ClassCount, ConversationRow, Counts, EventRow, FlowRow, HostRow, MessageRow,
    OperationCount, OperationTotal, ProtocolSummary, RunId, RunRow, RunStatus,
};
use crate::Store;
use otposture_model::{EventKind, FlowId, MacAddr, OperationClass, Timestamp, Transport};
use rusqlite::types::{Type, Value};
use rusqlite::{params_from_iter, Row};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// foldhash: these maps are probed once per flow or count read, with short keys;
/// SipHash was half of summing the conversations.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// Which hosts to list. Empty (the default) lists all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFilter {
    /// Hosts whose IP is in this block.
    pub ip: Option<IpNet>,
    /// Hosts with this MAC.
    pub mac: Option<MacAddr>,
    /// Hosts on this VLAN.
    pub vlan: Option<u16>,
    /// Hosts seen in this network (`''` the unnamed one).
    pub network: Option<String>,
    /// Hosts last seen at or after this time.
    pub since: Option<Timestamp>,
    /// Hosts first seen at or before this time.
    pub until: Option<Timestamp>,
    /// At most this many rows.
    pub limit: Option<u32>,
}

/// Which flows to list. Empty (the default) lists all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowFilter {
    /// Flows with either endpoint in this block.
    pub ip: Option<IpNet>,
    /// Flows with this port at either end.
    pub port: Option<u16>,
    /// Flows of this transport.
    pub transport: Option<Transport>,
    /// Flows recognised as this application protocol (`modbus`).
    pub app_protocol: Option<String>,
    /// Flows on this VLAN.
    pub vlan: Option<u16>,
    /// Flows last seen at or after this time.
    pub since: Option<Timestamp>,
    /// Flows first seen at or before this time.
    pub until: Option<Timestamp>,
    /// At most this many rows.
    pub limit: Option<u32>,
}

/// Which conversations to list. Empty (the default) lists all. The window
/// selects the flows summed, by the same rule as [`FlowFilter`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Flows last seen at or after this time.
    pub since: Option<Timestamp>,
    /// Flows first seen at or before this time.
    pub until: Option<Timestamp>,
}

/// Which events to list. Empty (the default) lists all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Events whose sender or receiver IP is in this block.
    pub ip: Option<IpNet>,
    /// Events sent by this MAC.
    pub mac: Option<MacAddr>,
    /// Events of this flow.
    pub flow: Option<FlowId>,
    /// Events of this protocol.
    pub protocol: Option<String>,
    /// Events of this kind.
    pub kind: Option<EventKind>,
    /// Events with this name (`dhcp.request`).
    pub name: Option<String>,
    /// Events of this operation class.
    pub class: Option<OperationClass>,
    /// Events at or after this time.
    pub since: Option<Timestamp>,
    /// Events at or before this time.
    pub until: Option<Timestamp>,
    /// At most this many rows.
    pub limit: Option<u32>,
}

/// Which message counts to list. Empty (the default) lists all. The flow and
/// address filters match only messages that travelled in a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageFilter {
    /// Messages of this flow.
    pub flow: Option<FlowId>,
    /// Messages in flows with either endpoint in this block.
    pub ip: Option<IpNet>,
    /// Messages of this protocol.
    pub protocol: Option<String>,
    /// Messages of this operation class.
    pub class: Option<OperationClass>,
    /// Messages last seen at or after this time.
    pub since: Option<Timestamp>,
    /// Messages first seen at or before this time.
    pub until: Option<Timestamp>,
    /// At most this many rows.
    pub limit: Option<u32>,
}

/// The join and WHERE clause that select the message counts `filter` asks
/// for, over `messages AS m` (joined to `flows AS f` for an address filter).
fn message_where(filter: &MessageFilter) -> (&'static str, Where) {
    let mut w = Where::default();
    let join = if filter.ip.is_some() { " JOIN flows AS f ON f.flow_id = m.flow_id" } else { "" };
    w.ip(filter.ip.as_ref(), &["f.client_ip_key", "f.server_ip_key"]);
    w.eq("m.flow_id", filter.flow.map(|f| Value::Integer(f.0)));
    w.eq("m.protocol", text(filter.protocol.as_deref()));
    w.eq("m.class", filter.class.map(|c| Value::Text(c.name().to_owned())));
    w.window("m.first_seen", "m.last_seen", filter.since, filter.until);
    (join, w)
}

/// A WHERE clause under construction, with its positional parameters in order.
#[derive(Debug, Default)]
struct Where {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Where {
    fn add(&mut self, clause: impl Into<String>, params: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.into());
        self.params.extend(params);
    }

    /// `col BETWEEN lo AND hi` over each of `cols` (OR-ed) for the block.
    fn ip(&mut self, net: Option<&IpNet>, cols: &[&str]) {
        let Some(net) = net else { return };
        let (lo, hi) = net.key_range();
        let clause = cols.iter().map(|c| format!("{c} BETWEEN ? AND ?")).collect::<Vec<_>>().join(" OR ");
        self.add(format!("({clause})"), cols.iter().flat_map(|_| [blob(lo), blob(hi)]).collect::<Vec<_>>());
    }

    fn eq(&mut self, col: &str, value: Option<Value>) {
        if let Some(value) = value {
            self.add(format!("{col} = ?"), [value]);
        }
    }

    /// Rows whose `[first, last]` span overlaps `[since, until]`.
    fn window(&mut self, first: &str, last: &str, since: Option<Timestamp>, until: Option<Timestamp>) {
        if let Some(since) = since {
            self.add(format!("{last} >= ?"), [Value::Integer(since.0)]);
        }
        if let Some(until) = until {
            self.add(format!("{first} <= ?"), [Value::Integer(until.0)]);
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn blob(key: IpKey) -> Value {
    Value::Blob(key.as_bytes().to_vec())
}

fn text(s: Option<&str>) -> Option<Value> {
    s.map(|s| Value::Text(s.to_owned()))
}

fn limit(limit: Option<u32>) -> Value {
    Value::Integer(limit.map_or(-1, i64::from))
}

/// A stored text this build cannot parse; carried through rusqlite's row mapping
/// and turned into [`StoreError::BadValue`].
#[derive(Debug)]
struct BadText {
    table: &'static str,
    column: &'static str,
    value: String,
}

impl fmt::Display for BadText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unreadable value {:?} in {}.{}", self.value, self.table, self.column)
    }
}

impl std::error::Error for BadText {}

/// Reads a text column through `parse`.
fn parsed<T>(
    row: &Row<'_>,
    idx: usize,
    (table, column): (&'static str, &'static str),
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let value: String = row.get(idx)?;
    parse(&value).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(BadText { table, column, value }))
    })
}

/// Reads a nullable text column through `parse`; NULL and `''` are `None`.
fn parsed_opt<T>(
    row: &Row<'_>,
    idx: usize,
    at: (&'static str, &'static str),
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<Option<T>> {
    let value: Option<String> = row.get(idx)?;
    match value.as_deref() {
        None | Some("") => Ok(None),
        Some(_) => parsed(row, idx, at, parse).map(Some),
    }
}

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

fn mac(s: &str) -> Option<MacAddr> {
    s.parse().ok()
}

fn rfc3339(ns: i64) -> String {
    Timestamp(ns).to_rfc3339()
}

fn wall_clock(secs: i64) -> String {
    Timestamp::from_parts(secs, 0).to_rfc3339()
}

/// Maps a query error, recognising unreadable stored values.
pub(crate) fn read_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |err| match err {
        rusqlite::Error::FromSqlConversionFailure(idx, ty, source) => match source.downcast::<BadText>() {
            Ok(bad) => StoreError::BadValue {
                path: path.to_path_buf(),
                table: bad.table,
                column: bad.column,
                value: bad.value,
            },
            Err(source) => sql(path, op)(rusqlite::Error::FromSqlConversionFailure(idx, ty, source)),
        },
        other => sql(path, op)(other),
    }
}

/// The stored columns a conversation groups its flows by (`flows AS f`, and
/// its capture `captures AS cap` for the network), in output order; NULL VLANs
/// and NULL protocols each group together. The network comes last, so a
/// database of one network is ordered as before networks existed.
const CONVERSATION_KEY: &str =
    "f.client_ip, f.server_ip, f.server_port, f.transport, f.vlan, f.app_protocol, cap.network";

/// Flows with their capture, flows first: the captures are a handful of rows,
/// and with them first the planner could scan the flows once per capture.
pub(crate) const FLOWS_WITH_CAPTURE: &str = "flows AS f CROSS JOIN captures AS cap ON cap.id = f.capture_id";

/// [`CONVERSATION_KEY`] as read back: the text and integers as stored.
type ConversationKey = (String, String, i64, String, Option<i64>, Option<String>, String);

/// Columns after the key.
const AFTER_KEY: usize = 7;

/// Conversations [`Store::each_conversation`] sums in memory before it turns
/// to SQLite's sorted grouping, which holds none: about 200 bytes each.
const CONVERSATIONS_HELD: usize = 65_536;

/// A conversation's key with its texts interned ([`Interned`]): hashed and
/// compared as integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct SummedKey {
    client_ip: u32,
    server_ip: u32,
    server_port: i64,
    transport: u32,
    vlan: Option<i64>,
    app_protocol: Option<u32>,
    network: u32,
}

/// A conversation's sums, as SQLite would sum them (64-bit signed).
#[derive(Debug, Default)]
struct Summed {
    /// Every flow so far had a group end ([`ConversationRow::to_group`]).
    to_group: bool,
    flows: i64,
    packets: i64,
    bytes: i64,
    first_seen: i64,
    last_seen: i64,
    requests: Vec<(OperationClass, i64)>,
    responses: Vec<(OperationClass, i64)>,
}

/// Values read while summing, each kept once (addresses, transports,
/// protocols and networks repeat on every flow of a conversation), so that
/// a sum's key is a few integers.
#[derive(Debug)]
struct Interned<K> {
    ids: FastMap<K, u32>,
    values: Vec<K>,
}

impl<K> Default for Interned<K> {
    fn default() -> Self {
        Interned { ids: FastMap::default(), values: Vec::new() }
    }
}

impl<K: Hash + Eq + Clone> Interned<K> {
    fn id<Q>(&mut self, value: &Q) -> u32
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.ids.insert(value.to_owned(), id);
        self.values.push(value.to_owned());
        id
    }

    /// The id of a value already interned.
    fn get<Q>(&self, value: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ids.get(value).copied()
    }
}

impl Interned<String> {
    fn text(&self, id: u32) -> &str {
        self.values.get(id as usize).map_or("", String::as_str)
    }
}

/// The hosts' columns [`host_row`] reads, in its order.
const HOST_COLUMNS: &str =
    "h.id, h.mac, h.ip, h.vlan, h.first_seen, h.last_seen, h.source, h.host_name, h.vendor_class, h.network";

/// A host row of [`HOST_COLUMNS`] with its traffic: flows as client, as
/// server, packets and bytes sent, packets and bytes received.
fn host_row(row: &Row<'_>, stored_network: String, traffic: [i64; 6]) -> rusqlite::Result<HostRow> {
    let first_seen: i64 = row.get(4)?;
    let last_seen: i64 = row.get(5)?;
    let vlan: i64 = row.get(3)?;
    let [flows_as_client, flows_as_server, packets_sent, bytes_sent, packets_received, bytes_received] =
        traffic.map(uint);
    Ok(HostRow {
        id: row.get(0)?,
        mac: parsed_opt(row, 1, ("hosts", "mac"), mac)?,
        ip: parsed_opt(row, 2, ("hosts", "ip"), ip)?,
        vlan: u16::try_from(vlan).ok(),
        first_seen: rfc3339(first_seen),
        first_seen_ns: first_seen,
        last_seen: rfc3339(last_seen),
        last_seen_ns: last_seen,
        source: parsed(row, 6, ("hosts", "source"), codes::parse_host_source)?,
        host_name: row.get(7)?,
        vendor_class: row.get(8)?,
        flows_as_client,
        flows_as_server,
        packets_sent,
        bytes_sent,
        packets_received,
        bytes_received,
        network: network(stored_network),
    })
}

/// One side of a host's flows: how many, and packets and bytes sent and
/// received (in that order).
#[derive(Clone, Copy, Debug, Default)]
struct HostSide {
    flows: i64,
    sent_received: [i64; 4],
}

/// Flows per (IP key, VLAN or -1, network), as client and as server.
#[derive(Debug, Default)]
struct HostTraffic {
    ips: Interned<Vec<u8>>,
    networks: Interned<String>,
    sums: FastMap<(u32, i64, u32), [HostSide; 2]>,
}

impl HostTraffic {
    fn of(&self, ip_key: &[u8], vlan: i64, network: &str) -> [HostSide; 2] {
        let (Some(ip), Some(net)) = (self.ips.get(ip_key), self.networks.get(network)) else {
            return [HostSide::default(); 2];
        };
        self.sums.get(&(ip, vlan, net)).copied().unwrap_or_default()
    }
}

fn conversation_key(row: &Row<'_>) -> rusqlite::Result<ConversationKey> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
}

/// A stored network ('' unnamed) as the rows carry it.
fn network(stored: String) -> Option<String> {
    (!stored.is_empty()).then_some(stored)
}

const FLOW_COLUMNS: &str = "flow_id, capture_id, vlan, transport, client_ip, client_port, server_ip, server_port,
    initiator, first_seen, last_seen, packets_to_server, bytes_to_server, packets_to_client, bytes_to_client,
    payload_to_server, payload_to_client, tcp_state, app_protocol, gap_bytes, gaps, retransmissions, overlaps,
    conflicting_overlaps, out_of_order, buffer_cap_hits, malformed, end_reason, to_group";

fn flow_row(row: &Row<'_>) -> rusqlite::Result<FlowRow> {
    let n = |i: usize| row.get::<_, i64>(i).map(uint);
    let first_seen: i64 = row.get(9)?;
    let last_seen: i64 = row.get(10)?;
    Ok(FlowRow {
        flow_id: FlowId(row.get(0)?),
        capture_id: CaptureId(row.get(1)?),
        vlan: row.get(2)?,
        transport: row.get(3)?,
        client_ip: parsed(row, 4, ("flows", "client_ip"), ip)?,
        client_port: row.get(5)?,
        server_ip: parsed(row, 6, ("flows", "server_ip"), ip)?,
        server_port: row.get(7)?,
        initiator: parsed(row, 8, ("flows", "initiator"), codes::parse_initiator)?,
        first_seen: rfc3339(first_seen),
        first_seen_ns: first_seen,
        last_seen: rfc3339(last_seen),
        last_seen_ns: last_seen,
        packets_to_server: n(11)?,
        bytes_to_server: n(12)?,
        packets_to_client: n(13)?,
        bytes_to_client: n(14)?,
        payload_to_server: n(15)?,
        payload_to_client: n(16)?,
        tcp_state: parsed_opt(row, 17, ("flows", "tcp_state"), codes::parse_tcp_state)?,
        app_protocol: row.get(18)?,
        gap_bytes: n(19)?,
        gaps: n(20)?,
        retransmissions: n(21)?,
        overlaps: n(22)?,
        conflicting_overlaps: n(23)?,
        out_of_order: n(24)?,
        buffer_cap_hits: n(25)?,
        malformed: n(26)?,
        end_reason: parsed(row, 27, ("flows", "end_reason"), codes::parse_flow_end)?,
        to_group: row.get(28)?,
    })
}

impl Store {
    fn select<T>(
        &self,
        op: &'static str,
        text: &str,
        params: Vec<Value>,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(text).map_err(read_err(&self.path, op))?;
        let rows = stmt.query_map(params_from_iter(params), map).map_err(read_err(&self.path, op))?;
        rows.collect::<rusqlite::Result<Vec<T>>>().map_err(read_err(&self.path, op))
    }

    /// Hosts matching `filter`, ordered by IP (IPv4 numerically, then IPv6, then
    /// hosts without IP), then MAC and VLAN. Traffic totals come from the flows
    /// whose client or server is the host's IP on the host's VLAN (flows carry no
    /// MAC), over all time: two rows with one IP and VLAN show the same totals.
    pub fn hosts(&self, filter: &HostFilter) -> Result<Vec<HostRow>, StoreError> {
        self.hosts_holding(filter, CONVERSATIONS_HELD)
    }

    /// [`Store::hosts`], the traffic summed in memory for at most `held`
    /// (IP, VLAN, network) keys, else grouped by SQLite.
    fn hosts_holding(&self, filter: &HostFilter, held: usize) -> Result<Vec<HostRow>, StoreError> {
        let vlan = filter.vlan.map(|v| Value::Integer(i64::from(v)));
        // The IP and VLAN filters also narrow the flows aggregated, which is exact
        // (a host only joins flows with its own IP and VLAN) and keeps lookups cheap.
        let mut client = Where::default();
        client.ip(filter.ip.as_ref(), &["f.client_ip_key"]);
        client.eq("f.vlan", vlan.clone());
        let mut server = Where::default();
        server.ip(filter.ip.as_ref(), &["f.server_ip_key"]);
        server.eq("f.vlan", vlan.clone());
        let mut hosts = Where::default();
        hosts.ip(filter.ip.as_ref(), &["h.ip_key"]);
        hosts.eq("h.mac", filter.mac.map(|m| Value::Text(m.to_string())));
        hosts.eq("h.vlan", vlan);
        hosts.eq("h.network", text(filter.network.as_deref()));
        hosts.window("h.first_seen", "h.last_seen", filter.since, filter.until);
        // The sums and the hosts read one snapshot (unless the caller's
        // transaction already is one).
        let snapshot = if self.conn.is_autocommit() {
            Some(self.conn.unchecked_transaction().map_err(sql(&self.path, "listing hosts"))?)
        } else {
            None
        };
        let traffic = self.host_traffic_summed(&client, &server, held)?;
        let rows = match traffic {
            Some(traffic) => self.hosts_with(&hosts, filter.limit, &traffic)?,
            None => self.hosts_grouped(client, server, hosts, filter.limit)?,
        };
        drop(snapshot);
        Ok(rows)
    }

    /// Each (IP, VLAN, network)'s flows as client and as server, summed in
    /// memory from one pass over the flows per side; `None` past `held`
    /// keys or on a sum SQLite would refuse (the
    /// grouped query then answers). SQLite grouped them by sorting every
    /// flow twice: on the benchmark capture 43,236 flows for 217 hosts, a
    /// third of the inventory build.
    fn host_traffic_summed(
        &self,
        client: &Where,
        server: &Where,
        held: usize,
    ) -> Result<Option<HostTraffic>, StoreError> {
        const OP: &str = "listing hosts";
        let err = || read_err(&self.path, OP);
        let mut t = HostTraffic::default();
        for (side, w) in [client, server].into_iter().enumerate() {
            let (ip, sent, received) = if side == 0 {
                ("f.client_ip_key", "f.packets_to_server, f.bytes_to_server", "f.packets_to_client, f.bytes_to_client")
            } else {
                ("f.server_ip_key", "f.packets_to_client, f.bytes_to_client", "f.packets_to_server, f.bytes_to_server")
            };
            let query = format!(
                "SELECT {ip}, IFNULL(f.vlan, -1), cap.network, {sent}, {received} FROM {FLOWS_WITH_CAPTURE}{}",
                w.sql()
            );
            let mut stmt = self.conn.prepare(&query).map_err(err())?;
            let mut rows = stmt.query(params_from_iter(w.params.iter())).map_err(err())?;
            while let Some(row) = rows.next().map_err(err())? {
                let (Ok(ip), Ok(net)) =
                    (row.get_ref(0).map_err(err())?.as_blob(), row.get_ref(2).map_err(err())?.as_str())
                else {
                    return Ok(None);
                };
                let key = (t.ips.id(ip), row.get::<_, i64>(1).map_err(err())?, t.networks.id(net));
                if t.sums.len() >= held && !t.sums.contains_key(&key) {
                    return Ok(None);
                }
                let sums = t.sums.entry(key).or_default();
                let Some(side) = sums.get_mut(side) else { return Ok(None) };
                let mut values = [0i64; 4];
                for (i, v) in values.iter_mut().enumerate() {
                    *v = row.get(3 + i).map_err(err())?;
                }
                let Some(flows) = side.flows.checked_add(1) else { return Ok(None) };
                side.flows = flows;
                for (sum, v) in side.sent_received.iter_mut().zip(values) {
                    let Some(s) = sum.checked_add(v) else { return Ok(None) };
                    *sum = s;
                }
            }
        }
        Ok(Some(t))
    }

    /// The hosts `hosts` selects, with the traffic summed in `traffic`.
    fn hosts_with(
        &self,
        hosts: &Where,
        limit_to: Option<u32>,
        traffic: &HostTraffic,
    ) -> Result<Vec<HostRow>, StoreError> {
        let query = format!(
            "SELECT {HOST_COLUMNS}, h.ip_key FROM hosts AS h{}
             ORDER BY h.ip_key IS NULL, h.ip_key, h.mac, h.vlan
             LIMIT ?",
            hosts.sql()
        );
        let mut params = hosts.params.clone();
        params.push(limit(limit_to));
        self.select("listing hosts", &query, params, |row| {
            let vlan: i64 = row.get(3)?;
            let network: String = row.get(9)?;
            let ip_key = row.get_ref(10)?;
            let sides = match ip_key.as_blob_or_null() {
                Ok(Some(k)) => traffic.of(k, vlan, &network),
                _ => [HostSide::default(); 2],
            };
            let [c, s] = sides;
            let [cps, cbs, cpr, cbr] = c.sent_received;
            let [sps, sbs, spr, sbr] = s.sent_received;
            let sum = |a: i64, b: i64| a.saturating_add(b);
            host_row(row, network, [c.flows, s.flows, sum(cps, sps), sum(cbs, sbs), sum(cpr, spr), sum(cbr, sbr)])
        })
    }

    /// The hosts `hosts` selects, their traffic grouped by SQLite (nothing held).
    fn hosts_grouped(
        &self,
        client: Where,
        server: Where,
        hosts: Where,
        limit_to: Option<u32>,
    ) -> Result<Vec<HostRow>, StoreError> {
        // Flows count for the hosts of their capture's network.
        let query = format!(
            "WITH c AS (
                SELECT client_ip_key AS k, IFNULL(vlan, -1) AS v, cap.network AS net, count(*) AS n,
                       sum(packets_to_server) AS ps, sum(bytes_to_server) AS bs,
                       sum(packets_to_client) AS pr, sum(bytes_to_client) AS br
                FROM {FLOWS_WITH_CAPTURE}{} GROUP BY k, v, net),
             s AS (
                SELECT server_ip_key AS k, IFNULL(vlan, -1) AS v, cap.network AS net, count(*) AS n,
                       sum(packets_to_client) AS ps, sum(bytes_to_client) AS bs,
                       sum(packets_to_server) AS pr, sum(bytes_to_server) AS br
                FROM {FLOWS_WITH_CAPTURE}{} GROUP BY k, v, net)
             SELECT {HOST_COLUMNS},
                    IFNULL(c.n, 0), IFNULL(s.n, 0),
                    IFNULL(c.ps, 0) + IFNULL(s.ps, 0), IFNULL(c.bs, 0) + IFNULL(s.bs, 0),
                    IFNULL(c.pr, 0) + IFNULL(s.pr, 0), IFNULL(c.br, 0) + IFNULL(s.br, 0)
             FROM hosts AS h
             LEFT JOIN c ON c.k = h.ip_key AND c.v = h.vlan AND c.net = h.network
             LEFT JOIN s ON s.k = h.ip_key AND s.v = h.vlan AND s.net = h.network{}
             ORDER BY h.ip_key IS NULL, h.ip_key, h.mac, h.vlan
             LIMIT ?",
            client.sql(),
            server.sql(),
            hosts.sql()
        );
        let mut params = client.params;
        params.extend(server.params);
        params.extend(hosts.params);
        params.push(limit(limit_to));
        self.select("listing hosts", &query, params, |row| {
            let mut sums = [0i64; 6];
            for (i, sum) in sums.iter_mut().enumerate() {
                *sum = row.get(10 + i)?;
            }
            host_row(row, row.get(9)?, sums)
        })
    }

    /// Flows matching `filter`, ordered by first packet.
    pub fn flows(&self, filter: &FlowFilter) -> Result<Vec<FlowRow>, StoreError> {
        let mut w = Where::default();
        w.ip(filter.ip.as_ref(), &["client_ip_key", "server_ip_key"]);
        if let Some(port) = filter.port {
            w.add("(client_port = ? OR server_port = ?)", [Value::Integer(port.into()), Value::Integer(port.into())]);
        }
        w.eq("transport", filter.transport.map(|t| Value::Text(t.name().into_owned())));
        w.eq("app_protocol", text(filter.app_protocol.as_deref()));
        w.eq("vlan", filter.vlan.map(|v| Value::Integer(v.into())));
        w.window("first_seen", "last_seen", filter.since, filter.until);
        let query = format!("SELECT {FLOW_COLUMNS} FROM flows{} ORDER BY first_seen, flow_id LIMIT ?", w.sql());
        let mut params = w.params;
        params.push(limit(filter.limit));
        self.select("listing flows", &query, params, flow_row)
    }

    /// One flow by id.
    pub fn flow(&self, id: FlowId) -> Result<Option<FlowRow>, StoreError> {
        let query = format!("SELECT {FLOW_COLUMNS} FROM flows WHERE flow_id = ?");
        Ok(self.select("reading a flow", &query, vec![Value::Integer(id.0)], flow_row)?.pop())
    }

    /// Events matching `filter`, ordered by time: `events` rows, and the kept
    /// operations stored in batches (`operation_records`) decoded into rows alike.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        let mut rows = self.event_rows(filter)?;
        if filter.kind.is_none_or(|k| k == EventKind::Operation) {
            rows.extend(self.operation_records(filter)?);
            rows.sort_by_key(|r| (r.ts_ns, r.id));
            if let Some(limit) = filter.limit {
                rows.truncate(limit as usize);
            }
        }
        Ok(rows)
    }

    /// The kept operations matching `filter`, ordered by time. With a limit, rows
    /// are read in order of their first operation until no further row can hold
    /// one of the first `limit`.
    fn operation_records(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        const OP: &str = "listing kept operations";
        let mut w = Where::default();
        if let Some(net) = filter.ip.as_ref() {
            let (lo, hi) = net.key_range();
            w.add(
                "flow_id IN (SELECT flow_id FROM flows
                             WHERE client_ip_key BETWEEN ? AND ? OR server_ip_key BETWEEN ? AND ?)",
                [lo, hi, lo, hi].map(blob),
            );
        }
        w.eq("src_mac", filter.mac.map(|m| Value::Text(m.to_string())));
        w.eq("flow_id", filter.flow.map(|f| Value::Integer(f.0)));
        w.eq("protocol", text(filter.protocol.as_deref()));
        w.eq("name", text(filter.name.as_deref()));
        w.eq("class", filter.class.map(|c| Value::Text(c.name().to_owned())));
        w.window("first_ts", "last_ts", filter.since, filter.until);
        let query = format!(
            "SELECT id, capture_id, flow_id, protocol, name, class, src_mac, src_ip, dst_ip, first_ts, records,
                    (SELECT network FROM captures WHERE id = operation_records.capture_id)
             FROM operation_records{} ORDER BY first_ts, id",
            w.sql()
        );
        let path = self.path.as_path();
        let mut stmt = self.conn.prepare_cached(&query).map_err(read_err(path, OP))?;
        let mut rows = stmt.query(params_from_iter(w.params)).map_err(read_err(path, OP))?;
        let limit = filter.limit.map(|l| l as usize);
        let mut out: Vec<EventRow> = Vec::new();
        let mut cutoff = None;
        while let Some(row) = rows.next().map_err(read_err(path, OP))? {
            let first_ts: i64 = row.get(9).map_err(read_err(path, OP))?;
            if cutoff.is_some_and(|c| first_ts > c) {
                break;
            }
            let id: i64 = row.get(0).map_err(read_err(path, OP))?;
            let template = (|| {
                Ok(EventRow {
                    id: 0,
                    capture_id: CaptureId(row.get(1)?),
                    ts: String::new(),
                    ts_ns: 0,
                    packet: 0,
                    flow_id: Some(FlowId(row.get(2)?)),
                    protocol: row.get(3)?,
                    kind: EventKind::Operation,
                    name: row.get(4)?,
                    class: parsed_opt(row, 5, ("operation_records", "class"), codes::parse_class)?,
                    src_mac: parsed_opt(row, 6, ("operation_records", "src_mac"), mac)?,
                    src_ip: parsed_opt(row, 7, ("operation_records", "src_ip"), ip)?,
                    dst_ip: parsed_opt(row, 8, ("operation_records", "dst_ip"), ip)?,
                    attributes: Attributes(Vec::new()),
                    network: network(row.get(11)?),
                })
            })()
            .map_err(read_err(path, OP))?;
            let blob = row.get_ref(10).and_then(|v| v.as_blob().map_err(Into::into)).map_err(read_err(path, OP))?;
            let records = records::decode(blob).map_err(|e| StoreError::BadValue {
                path: path.to_path_buf(),
                table: "operation_records",
                column: "records",
                value: format!("row {id}: {} at byte {}", e.what, e.offset),
            })?;
            let wanted = |ts: i64| filter.since.is_none_or(|s| ts >= s.0) && filter.until.is_none_or(|u| ts <= u.0);
            for (i, r) in records.into_iter().enumerate().filter(|(_, r)| wanted(r.ts)) {
                out.push(EventRow {
                    id: records::RECORD_ID_BASE + id * (1 << 16) + i as i64,
                    ts: rfc3339(r.ts),
                    ts_ns: r.ts,
                    packet: uint(r.packet),
                    attributes: Attributes(r.attributes),
                    ..template.clone()
                });
            }
            if let Some(limit) = limit.filter(|&l| out.len() >= l) {
                out.sort_by_key(|r| (r.ts_ns, r.id));
                out.truncate(limit);
                cutoff = out.last().map(|r| r.ts_ns);
            }
        }
        Ok(out)
    }

    /// Stored `events` rows matching `filter`, ordered by time.
    fn event_rows(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        let mut w = Where::default();
        if let Some(net) = filter.ip.as_ref() {
            // Events in a flow carry its endpoints: found through the flows' indices
            // (events are indexed by address only outside flows, see migration 2).
            let (lo, hi) = net.key_range();
            w.add(
                "((flow_id IS NULL AND (src_ip_key BETWEEN ? AND ? OR dst_ip_key BETWEEN ? AND ?))
                  OR flow_id IN (SELECT flow_id FROM flows
                                 WHERE client_ip_key BETWEEN ? AND ? OR server_ip_key BETWEEN ? AND ?))",
                [lo, hi, lo, hi, lo, hi, lo, hi].map(blob),
            );
        }
        w.eq("src_mac", filter.mac.map(|m| Value::Text(m.to_string())));
        w.eq("flow_id", filter.flow.map(|f| Value::Integer(f.0)));
        w.eq("protocol", text(filter.protocol.as_deref()));
        w.eq("kind", filter.kind.map(|k| Value::Text(codes::event_kind(k).to_owned())));
        w.eq("name", text(filter.name.as_deref()));
        w.eq("class", filter.class.map(|c| Value::Text(c.name().to_owned())));
        w.window("ts", "ts", filter.since, filter.until);
        let query = format!(
            "SELECT id, capture_id, ts, packet, flow_id, protocol, kind, name, class, src_mac, src_ip, dst_ip,
                    attributes, (SELECT network FROM captures WHERE id = events.capture_id)
             FROM events{} ORDER BY ts, id LIMIT ?",
            w.sql()
        );
        let mut params = w.params;
        params.push(limit(filter.limit));
        self.select("listing events", &query, params, |row| {
            let ts: i64 = row.get(2)?;
            Ok(EventRow {
                id: row.get(0)?,
                capture_id: CaptureId(row.get(1)?),
                ts: rfc3339(ts),
                ts_ns: ts,
                packet: uint(row.get(3)?),
                flow_id: row.get::<_, Option<i64>>(4)?.map(FlowId),
                protocol: row.get(5)?,
                kind: parsed(row, 6, ("events", "kind"), codes::parse_event_kind)?,
                name: row.get(7)?,
                class: parsed_opt(row, 8, ("events", "class"), codes::parse_class)?,
                src_mac: parsed_opt(row, 9, ("events", "src_mac"), mac)?,
                src_ip: parsed_opt(row, 10, ("events", "src_ip"), ip)?,
                dst_ip: parsed_opt(row, 11, ("events", "dst_ip"), ip)?,
                attributes: parsed(row, 12, ("events", "attributes"), |s| serde_json::from_str::<Attributes>(s).ok())?,
                network: network(row.get(13)?),
            })
        })
    }

    /// Message counts matching `filter`, summed over captures, ordered by first occurrence.
    pub fn messages(&self, filter: &MessageFilter) -> Result<Vec<MessageRow>, StoreError> {
        let (join, w) = message_where(filter);
        let query = format!(
            "SELECT m.flow_id, m.protocol, m.operation, m.class, m.direction, sum(m.count),
                    min(m.first_seen), max(m.last_seen)
             FROM messages AS m{join}{}
             GROUP BY m.flow_id, m.protocol, m.operation, m.direction, m.class
             ORDER BY min(m.first_seen), m.flow_id, m.protocol, m.operation, m.direction, m.class
             LIMIT ?",
            w.sql()
        );
        let mut params = w.params;
        params.push(limit(filter.limit));
        self.select("listing message counts", &query, params, |row| {
            let flow: i64 = row.get(0)?;
            let first_seen: i64 = row.get(6)?;
            let last_seen: i64 = row.get(7)?;
            Ok(MessageRow {
                flow_id: (flow >= 0).then_some(FlowId(flow)),
                protocol: row.get(1)?,
                operation: row.get(2)?,
                class: parsed(row, 3, ("messages", "class"), codes::parse_class)?,
                direction: parsed_opt(row, 4, ("messages", "direction"), codes::parse_direction)?,
                count: uint(row.get(5)?),
                first_seen: rfc3339(first_seen),
                first_seen_ns: first_seen,
                last_seen: rfc3339(last_seen),
                last_seen_ns: last_seen,
            })
        })
    }

    /// Totals per protocol, operation and class over the messages `filter` selects,
    /// ordered by protocol, then most messages first.
    pub fn operations(&self, filter: &MessageFilter) -> Result<Vec<OperationTotal>, StoreError> {
        let (join, w) = message_where(filter);
        let query = format!(
            "SELECT m.protocol, m.operation, m.class, sum(m.count),
                    sum(CASE WHEN m.direction = 'to_server' THEN m.count ELSE 0 END),
                    sum(CASE WHEN m.direction = 'to_client' THEN m.count ELSE 0 END),
                    count(DISTINCT NULLIF(m.flow_id, -1)), min(m.first_seen), max(m.last_seen)
             FROM messages AS m{join}{}
             GROUP BY m.protocol, m.operation, m.class
             ORDER BY m.protocol, sum(m.count) DESC, m.operation, m.class
             LIMIT ?",
            w.sql()
        );
        let mut params = w.params;
        params.push(limit(filter.limit));
        self.select("totalling operations", &query, params, |row| {
            let first_seen: i64 = row.get(7)?;
            let last_seen: i64 = row.get(8)?;
            Ok(OperationTotal {
                protocol: row.get(0)?,
                operation: row.get(1)?,
                class: parsed(row, 2, ("messages", "class"), codes::parse_class)?,
                messages: uint(row.get(3)?),
                to_server: uint(row.get(4)?),
                to_client: uint(row.get(5)?),
                flows: uint(row.get(6)?),
                first_seen: rfc3339(first_seen),
                first_seen_ns: first_seen,
                last_seen: rfc3339(last_seen),
                last_seen_ns: last_seen,
            })
        })
    }

    /// Conversations: the flows `filter` selects, grouped by client IP, server IP,
    /// VLAN, transport, server port and application protocol, with their traffic
    /// summed and their messages counted per operation class and direction.
    /// Ordered by client IP, server IP (as text), server port and transport.
    pub fn conversations(&self, filter: &ConversationFilter) -> Result<Vec<ConversationRow>, StoreError> {
        let mut all = Vec::new();
        self.each_conversation(filter, |c| all.push(c))?;
        Ok(all)
    }

    /// [`Store::conversations`] handed to `each` one at a time, in the same
    /// order, without holding them: a plant-scale map has a million. Returns how
    /// many there were.
    pub fn each_conversation(
        &self,
        filter: &ConversationFilter,
        each: impl FnMut(ConversationRow),
    ) -> Result<u64, StoreError> {
        self.each_conversation_holding(filter, CONVERSATIONS_HELD, each)
    }

    /// [`Store::each_conversation`], summed in memory while the flows hold at
    /// most `held` conversations, else by SQLite's sorted grouping.
    fn each_conversation_holding(
        &self,
        filter: &ConversationFilter,
        held: usize,
        mut each: impl FnMut(ConversationRow),
    ) -> Result<u64, StoreError> {
        const OP: &str = "listing conversations";
        // Every statement reads one snapshot, so the message counts belong to the
        // same flows as the totals even while another process writes.
        let snapshot = self.conn.unchecked_transaction().map_err(sql(&self.path, OP))?;
        let n = match self.conversations_summed(filter, held)? {
            Some(all) => {
                let n = all.len() as u64;
                all.into_iter().for_each(&mut each);
                n
            }
            None => self.conversations_grouped(filter, each)?,
        };
        drop(snapshot);
        Ok(n)
    }

    /// The conversations of `filter` summed in memory from one pass over the
    /// flows and one over their message counts, in [`Store::conversations`]'
    /// order; `None` past `held` conversations (or when a stored value is one
    /// this build would refuse: the grouped path then reports it).
    ///
    /// SQLite groups by sorting every input row: on the benchmark capture
    /// 43,236 flows and 81,120 counts sorted by seven columns for 217
    /// conversations, two thirds of the time `analyze` spent building the
    /// inventory. Summed by key here, only the conversations are sorted. Past
    /// `held`, the sorted grouping is used, which holds no conversation (a
    /// plant-scale map has a million).
    fn conversations_summed(
        &self,
        filter: &ConversationFilter,
        held: usize,
    ) -> Result<Option<Vec<ConversationRow>>, StoreError> {
        const OP: &str = "listing conversations";
        let err = || read_err(&self.path, OP);
        let mut texts = Interned::<String>::default();
        let mut index: FastMap<SummedKey, usize> = FastMap::default();
        let mut sums: Vec<(SummedKey, Summed)> = Vec::new();
        let key_of = |texts: &mut Interned<String>, row: &Row<'_>| -> rusqlite::Result<Option<SummedKey>> {
            let text = |i: usize| row.get_ref(i).map(|v| v.as_str_or_null());
            let (Ok(client), Ok(server), Ok(transport), Ok(app), Ok(net)) =
                (text(0)?, text(1)?, text(3)?, text(5)?, text(6)?)
            else {
                return Ok(None);
            };
            let (Some(client), Some(server), Some(transport), Some(net)) = (client, server, transport, net) else {
                return Ok(None);
            };
            Ok(Some(SummedKey {
                client_ip: texts.id(client),
                server_ip: texts.id(server),
                server_port: row.get(2)?,
                transport: texts.id(transport),
                vlan: row.get(4)?,
                app_protocol: app.map(|a| texts.id(a)),
                network: texts.id(net),
            }))
        };

        let mut flows = Where::default();
        flows.window("f.first_seen", "f.last_seen", filter.since, filter.until);
        let query = format!(
            "SELECT {CONVERSATION_KEY}, f.packets_to_server + f.packets_to_client,
                    f.bytes_to_server + f.bytes_to_client, f.first_seen, f.last_seen, f.to_group
             FROM {FLOWS_WITH_CAPTURE}{}",
            flows.sql()
        );
        let mut stmt = self.conn.prepare(&query).map_err(err())?;
        let mut rows = stmt.query(params_from_iter(flows.params)).map_err(err())?;
        while let Some(row) = rows.next().map_err(err())? {
            let Some(key) = key_of(&mut texts, row).map_err(err())? else { return Ok(None) };
            let (packets, bytes): (i64, i64) =
                (row.get(AFTER_KEY).map_err(err())?, row.get(AFTER_KEY + 1).map_err(err())?);
            let (first, last): (i64, i64) =
                (row.get(AFTER_KEY + 2).map_err(err())?, row.get(AFTER_KEY + 3).map_err(err())?);
            let to_group: bool = row.get(AFTER_KEY + 4).map_err(err())?;
            let i = match index.get(&key) {
                Some(&i) => i,
                None if sums.len() >= held => return Ok(None),
                None => {
                    index.insert(key, sums.len());
                    sums.push((key, Summed { first_seen: first, last_seen: last, to_group, ..Summed::default() }));
                    sums.len() - 1
                }
            };
            let Some((_, s)) = sums.get_mut(i) else { return Ok(None) };
            let (Some(flows), Some(packets), Some(bytes)) =
                (s.flows.checked_add(1), s.packets.checked_add(packets), s.bytes.checked_add(bytes))
            else {
                return Ok(None);
            };
            (s.flows, s.packets, s.bytes) = (flows, packets, bytes);
            s.first_seen = s.first_seen.min(first);
            s.last_seen = s.last_seen.max(last);
            s.to_group &= to_group;
        }
        drop(rows);
        drop(stmt);

        let mut messages = Where::default();
        messages.add("m.direction IN ('to_server', 'to_client')", []);
        messages.window("f.first_seen", "f.last_seen", filter.since, filter.until);
        let query = format!(
            "SELECT {CONVERSATION_KEY}, m.direction = 'to_server', m.class, m.count
             FROM {FLOWS_WITH_CAPTURE} CROSS JOIN messages AS m ON m.flow_id = f.flow_id{}",
            messages.sql()
        );
        let mut stmt = self.conn.prepare(&query).map_err(err())?;
        let mut rows = stmt.query(params_from_iter(messages.params)).map_err(err())?;
        while let Some(row) = rows.next().map_err(err())? {
            let Some(key) = key_of(&mut texts, row).map_err(err())? else { return Ok(None) };
            let Some((_, s)) = index.get(&key).and_then(|&i| sums.get_mut(i)) else { return Ok(None) };
            let to_server: bool = row.get(AFTER_KEY).map_err(err())?;
            let class = row.get_ref(AFTER_KEY + 1).map_err(err())?.as_str().ok().and_then(OperationClass::parse);
            let count: i64 = row.get(AFTER_KEY + 2).map_err(err())?;
            // A class this build cannot read is left out, as the grouped path does.
            let Some(class) = class else { continue };
            let list = if to_server { &mut s.requests } else { &mut s.responses };
            match list.iter_mut().find(|(c, _)| *c == class) {
                Some((_, n)) => match n.checked_add(count) {
                    Some(sum) => *n = sum,
                    None => return Ok(None),
                },
                None => list.push((class, count)),
            }
        }
        drop(rows);
        drop(stmt);

        // SQLite's order: text by its bytes, NULL first.
        let text = |id: u32| texts.text(id);
        sums.sort_unstable_by(|(a, _), (b, _)| {
            (
                text(a.client_ip),
                text(a.server_ip),
                a.server_port,
                text(a.transport),
                a.vlan,
                a.app_protocol.map(text),
                text(a.network),
            )
                .cmp(&(
                    text(b.client_ip),
                    text(b.server_ip),
                    b.server_port,
                    text(b.transport),
                    b.vlan,
                    b.app_protocol.map(text),
                    text(b.network),
                ))
        });
        let mut all = Vec::with_capacity(sums.len());
        for (k, s) in sums {
            let (Some(client_ip), Some(server_ip), Ok(server_port)) =
                (ip(text(k.client_ip)), ip(text(k.server_ip)), u16::try_from(k.server_port))
            else {
                return Ok(None);
            };
            let classes = |mut list: Vec<(OperationClass, i64)>| {
                list.sort_unstable_by_key(|(c, _)| c.name());
                list.into_iter().map(|(class, n)| ClassCount { class, messages: uint(n) }).collect()
            };
            all.push(ConversationRow {
                client_ip,
                server_ip,
                vlan: k.vlan.and_then(|v| u16::try_from(v).ok()),
                transport: text(k.transport).to_string(),
                server_port,
                app_protocol: k.app_protocol.map(|a| text(a).to_string()),
                flows: uint(s.flows),
                packets: uint(s.packets),
                bytes: uint(s.bytes),
                first_seen_ns: s.first_seen,
                last_seen_ns: s.last_seen,
                requests: classes(s.requests),
                responses: classes(s.responses),
                network: network(text(k.network).to_string()),
                to_group: s.to_group,
            });
        }
        Ok(Some(all))
    }

    /// [`Store::each_conversation`] by SQLite's grouping: two queries sorted by
    /// the conversation, merged in one pass; nothing is held.
    fn conversations_grouped(
        &self,
        filter: &ConversationFilter,
        mut each: impl FnMut(ConversationRow),
    ) -> Result<u64, StoreError> {
        const OP: &str = "listing conversations";
        let err = || read_err(&self.path, OP);
        let mut flows = Where::default();
        flows.window("f.first_seen", "f.last_seen", filter.since, filter.until);
        let query = format!(
            "SELECT {CONVERSATION_KEY}, count(*), sum(f.packets_to_server + f.packets_to_client),
                    sum(f.bytes_to_server + f.bytes_to_client), min(f.first_seen), max(f.last_seen),
                    min(f.to_group)
             FROM {FLOWS_WITH_CAPTURE}{}
             GROUP BY {CONVERSATION_KEY}
             ORDER BY {CONVERSATION_KEY}",
            flows.sql()
        );
        let mut groups_stmt = self.conn.prepare(&query).map_err(err())?;
        let mut groups = groups_stmt.query(params_from_iter(flows.params)).map_err(err())?;

        let mut messages = Where::default();
        messages.add("m.direction IN ('to_server', 'to_client')", []);
        messages.window("f.first_seen", "f.last_seen", filter.since, filter.until);
        // Flows outer (CROSS JOIN fixes the order): the window drops flows before
        // their messages are looked up, and the scan of flows is sequential;
        // measured 10-25% faster than the planner's choice at 1M flows. Sorted
        // like the groups, and its keys are among theirs (the same flows,
        // narrowed to those with messages), so the two are merged in one pass.
        let query = format!(
            "SELECT {CONVERSATION_KEY}, m.direction, m.class, sum(m.count)
             FROM {FLOWS_WITH_CAPTURE} CROSS JOIN messages AS m ON m.flow_id = f.flow_id{}
             GROUP BY {CONVERSATION_KEY}, m.direction, m.class
             ORDER BY {CONVERSATION_KEY}",
            messages.sql()
        );
        let mut counts_stmt = self.conn.prepare(&query).map_err(err())?;
        let mut counts = counts_stmt.query(params_from_iter(messages.params)).map_err(err())?;
        let count_of = |row: &Row<'_>| -> rusqlite::Result<(ConversationKey, String, String, u64)> {
            Ok((conversation_key(row)?, row.get(AFTER_KEY)?, row.get(AFTER_KEY + 1)?, uint(row.get(AFTER_KEY + 2)?)))
        };
        let mut next_count = counts.next().map_err(err())?.map(count_of).transpose().map_err(err())?;

        let mut n = 0;
        while let Some(row) = groups.next().map_err(err())? {
            let key = conversation_key(row).map_err(err())?;
            let vlan: Option<i64> = row.get(4).map_err(err())?;
            let mut conversation = ConversationRow {
                client_ip: parsed(row, 0, ("flows", "client_ip"), ip).map_err(err())?,
                server_ip: parsed(row, 1, ("flows", "server_ip"), ip).map_err(err())?,
                vlan: vlan.and_then(|v| u16::try_from(v).ok()),
                transport: row.get(3).map_err(err())?,
                server_port: row.get(2).map_err(err())?,
                app_protocol: row.get(5).map_err(err())?,
                flows: uint(row.get(AFTER_KEY).map_err(err())?),
                packets: uint(row.get(AFTER_KEY + 1).map_err(err())?),
                bytes: uint(row.get(AFTER_KEY + 2).map_err(err())?),
                first_seen_ns: row.get(AFTER_KEY + 3).map_err(err())?,
                last_seen_ns: row.get(AFTER_KEY + 4).map_err(err())?,
                requests: Vec::new(),
                responses: Vec::new(),
                network: network(key.6.clone()),
                to_group: row.get(AFTER_KEY + 5).map_err(err())?,
            };
            while let Some((_, direction, class, messages)) = next_count.take_if(|(k, ..)| *k == key) {
                let list = match direction.as_str() {
                    "to_server" => Some(&mut conversation.requests),
                    "to_client" => Some(&mut conversation.responses),
                    _ => None,
                };
                if let (Some(list), Some(class)) = (list, OperationClass::parse(&class)) {
                    list.push(ClassCount { class, messages });
                }
                next_count = counts.next().map_err(err())?.map(count_of).transpose().map_err(err())?;
            }
            conversation.requests.sort_unstable_by_key(|c| c.class.name());
            conversation.responses.sort_unstable_by_key(|c| c.class.name());
            each(conversation);
            n += 1;
        }
        drop((groups, counts));
        drop((groups_stmt, counts_stmt));
        Ok(n)
    }

    /// Every capture, oldest row first.
    pub fn captures(&self) -> Result<Vec<CaptureRow>, StoreError> {
        self.select(
            "listing captures",
            "SELECT id, fingerprint, path, size_bytes, link_types, first_ts, last_ts, packets, bytes, status, error,
                    started_at, finished_at, network
             FROM captures ORDER BY id",
            Vec::new(),
            |row| {
                let link_types: String = row.get(4)?;
                let first_ts: Option<i64> = row.get(5)?;
                let last_ts: Option<i64> = row.get(6)?;
                let started_at: i64 = row.get(11)?;
                let finished_at: Option<i64> = row.get(12)?;
                Ok(CaptureRow {
                    id: CaptureId(row.get(0)?),
                    fingerprint: row.get(1)?,
                    path: row.get(2)?,
                    size_bytes: uint(row.get(3)?),
                    link_types: link_types.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                    first_ts: first_ts.map(rfc3339),
                    first_ts_ns: first_ts,
                    last_ts: last_ts.map(rfc3339),
                    last_ts_ns: last_ts,
                    packets: uint(row.get(7)?),
                    bytes: uint(row.get(8)?),
                    status: parsed(row, 9, ("captures", "status"), RunStatus::parse)?,
                    error: row.get(10)?,
                    started_at: wall_clock(started_at),
                    started_at_secs: started_at,
                    finished_at: finished_at.map(wall_clock),
                    finished_at_secs: finished_at,
                    network: network(row.get(13)?),
                })
            },
        )
    }

    /// Every analysis run, oldest first, with the captures it covered.
    pub fn runs(&self) -> Result<Vec<RunRow>, StoreError> {
        self.select(
            "listing analysis runs",
            "SELECT r.id, r.started_at, r.finished_at, r.status, r.summary,
                    (SELECT group_concat(capture_id) FROM
                        (SELECT capture_id FROM run_captures WHERE run_id = r.id ORDER BY capture_id))
             FROM analysis_runs AS r ORDER BY r.id",
            Vec::new(),
            |row| {
                let started_at: i64 = row.get(1)?;
                let finished_at: Option<i64> = row.get(2)?;
                let captures: Option<String> = row.get(5)?;
                Ok(RunRow {
                    id: RunId(row.get(0)?),
                    started_at: wall_clock(started_at),
                    started_at_secs: started_at,
                    finished_at: finished_at.map(wall_clock),
                    finished_at_secs: finished_at,
                    status: parsed(row, 3, ("analysis_runs", "status"), RunStatus::parse)?,
                    captures: captures
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|id| id.parse().ok().map(CaptureId))
                        .collect(),
                    summary: parsed_opt(row, 4, ("analysis_runs", "summary"), |s| serde_json::from_str(s).ok())?,
                })
            },
        )
    }

    /// Per protocol: messages, flows and events, and counts per operation and class; by protocol name.
    pub fn protocol_counts(&self) -> Result<Vec<ProtocolSummary>, StoreError> {
        let operations = self.select(
            "summarising protocols",
            "SELECT protocol, operation, class, sum(count), count(DISTINCT NULLIF(flow_id, -1))
             FROM messages GROUP BY protocol, operation, class ORDER BY protocol, operation, class",
            Vec::new(),
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    OperationCount {
                        operation: row.get(1)?,
                        class: parsed(row, 2, ("messages", "class"), codes::parse_class)?,
                        count: uint(row.get(3)?),
                        flows: uint(row.get(4)?),
                    },
                ))
            },
        )?;
        let totals = self.select(
            "summarising protocols",
            "SELECT protocol, sum(messages), sum(flows), sum(events) FROM (
                SELECT protocol, sum(count) AS messages, count(DISTINCT NULLIF(flow_id, -1)) AS flows, 0 AS events
                FROM messages GROUP BY protocol
                UNION ALL
                SELECT protocol, 0, 0, count(*) FROM events GROUP BY protocol
                UNION ALL
                SELECT protocol, 0, 0, sum(count) FROM operation_records GROUP BY protocol)
             GROUP BY protocol ORDER BY protocol",
            Vec::new(),
            |row| {
                Ok(ProtocolSummary {
                    protocol: row.get(0)?,
                    messages: uint(row.get(1)?),
                    flows: uint(row.get(2)?),
                    events: uint(row.get(3)?),
                    operations: Vec::new(),
                })
            },
        )?;
        // Both lists are ordered by protocol: merge them in one pass.
        let mut operations = operations.into_iter().peekable();
        Ok(totals
            .into_iter()
            .map(|mut summary| {
                while let Some((_, op)) = operations.next_if(|(p, _)| *p <= summary.protocol) {
                    summary.operations.push(op);
                }
                summary
            })
            .collect())
    }

    /// Row totals.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let mut rows = self.select(
            "counting rows",
            "SELECT (SELECT count(*) FROM captures), (SELECT count(*) FROM hosts), (SELECT count(*) FROM flows),
                    (SELECT IFNULL(sum(count), 0) FROM messages),
                    (SELECT count(*) FROM events) + (SELECT IFNULL(sum(count), 0) FROM operation_records)",
            Vec::new(),
            |row| {
                let n = |i: usize| row.get::<_, i64>(i).map(uint);
                Ok(Counts { captures: n(0)?, hosts: n(1)?, flows: n(2)?, messages: n(3)?, events: n(4)? })
            },
        )?;
        Ok(rows.pop().unwrap_or_default())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use otposture_model::{
        Direction, FlowEnd, FlowKey, FlowRecord, InitiatorBasis, MessageStat, Observation, StreamAnomalies,
    };
    use proptest::prelude::*;
    use std::borrow::Cow;
    use std::path::Path;

    const SEC: i64 = 1_000_000_000;
    const T0: i64 = 1_700_000_000 * SEC;

    /// A flow of a few endpoints, ports, VLANs and protocols (so several
    /// flows share a conversation), in one of two networks.
    #[derive(Clone, Debug)]
    struct F {
        client: u8,
        server: u8,
        port: u16,
        udp: bool,
        vlan: Option<u16>,
        app: Option<&'static str>,
        named_network: bool,
        first: i64,
        len: i64,
        packets: u64,
        counts: Vec<(bool, OperationClass, u64)>,
    }

    fn flow() -> impl Strategy<Value = F> {
        let class = prop::sample::select(vec![OperationClass::Read, OperationClass::Write, OperationClass::Control]);
        (
            (0u8..3, 0u8..3, prop::sample::select(vec![502u16, 102, 44818]), any::<bool>()),
            (
                prop::option::of(1u16..3),
                prop::option::of(prop::sample::select(vec!["modbus", "s7comm"])),
                any::<bool>(),
            ),
            (0i64..20, 0i64..10, 1u64..50),
            prop::collection::vec((any::<bool>(), class, 1u64..100), 0..4),
        )
            .prop_map(
                |((client, server, port, udp), (vlan, app, named_network), (first, len, packets), counts)| F {
                    client,
                    server,
                    port,
                    udp,
                    vlan,
                    app,
                    named_network,
                    first,
                    len,
                    packets,
                    counts,
                },
            )
    }

    fn store_with(flows: &[F]) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let unnamed = store.begin_capture("sha256:u", Path::new("/u.pcap"), 1, 1).unwrap();
        let named = store.begin_capture_in(Some("plant-a"), "sha256:n", Path::new("/n.pcap"), 1, 1).unwrap();
        for (i, f) in flows.iter().enumerate() {
            let key = FlowKey {
                vlan: f.vlan,
                transport: if f.udp { otposture_model::Transport::Udp } else { otposture_model::Transport::Tcp },
                // "10.0.0.10" sorts before "10.0.0.9" as text: the order is the text's.
                client_ip: format!("10.0.0.{}", 8 + f.client).parse().unwrap(),
                client_port: 40_000 + u16::try_from(i).unwrap(),
                server_ip: format!("10.0.1.{}", 9 + f.server).parse().unwrap(),
                server_port: f.port,
            };
            let first = Timestamp(T0 + f.first * SEC);
            let id = FlowId::derive(&key, first);
            let record = FlowRecord {
                source: 0,
                id,
                key,
                initiator: InitiatorBasis::Handshake,
                first_seen: first,
                last_seen: Timestamp(first.0 + f.len * SEC),
                packets_to_server: f.packets,
                bytes_to_server: f.packets * 60,
                packets_to_client: f.packets / 2,
                bytes_to_client: f.packets * 40,
                payload_to_server: 0,
                payload_to_client: 0,
                tcp_state: None,
                app_protocol: f.app.map(str::to_string),
                anomalies: StreamAnomalies::default(),
                end: FlowEnd::Closed,
                // Some flows of a conversation with a group end, some without.
                to_group: f.first % 4 == 0 || f.packets % 3 == 0,
            };
            let mut batch = vec![Observation::Flow(record)];
            for (j, &(to_server, class, count)) in f.counts.iter().enumerate() {
                batch.push(Observation::Message(MessageStat {
                    source: 0,
                    flow: Some(id),
                    protocol: Cow::Borrowed("modbus"),
                    operation: Cow::Owned(format!("op{j}")),
                    class,
                    direction: Some(if to_server { Direction::ToServer } else { Direction::ToClient }),
                    count,
                    first_seen: first,
                    last_seen: first,
                }));
            }
            store.write_batch(if f.named_network { named } else { unnamed }, &batch).unwrap();
        }
        store
    }

    /// Host sightings for the flows' addresses (some on another VLAN or
    /// network than their flows, one without an address), written to `store`.
    fn add_hosts(store: &mut Store, flows: &[F]) {
        let captures: Vec<CaptureId> = store.captures().unwrap().iter().map(|c| c.id).collect();
        for (i, f) in flows.iter().enumerate() {
            let capture = captures[usize::from(f.named_network)];
            let sighting = |ip: String, vlan: Option<u16>, n: usize| {
                Observation::Host(otposture_model::HostSighting {
                    mac: Some(MacAddr([0, 0, 0x5e, 0, 1, u8::try_from(n % 250).unwrap()])),
                    ip: Some(ip.parse().unwrap()),
                    vlan,
                    first_seen: Timestamp(T0 + f.first * SEC),
                    last_seen: Timestamp(T0 + (f.first + f.len) * SEC),
                    source: otposture_model::HostSource::Ip,
                })
            };
            let other_vlan = if i % 3 == 0 { f.vlan.map(|v| v + 1) } else { f.vlan };
            let batch = vec![
                sighting(format!("10.0.0.{}", 8 + f.client), f.vlan, usize::from(f.client)),
                sighting(format!("10.0.1.{}", 9 + f.server), other_vlan, 10 + usize::from(f.server)),
            ];
            store.write_batch(capture, &batch).unwrap();
        }
        let mac_only = Observation::Host(otposture_model::HostSighting {
            mac: Some(MacAddr([0, 0, 0x5e, 0, 2, 1])),
            ip: None,
            vlan: None,
            first_seen: Timestamp(T0),
            last_seen: Timestamp(T0),
            source: otposture_model::HostSource::L2,
        });
        store.write_batch(captures[0], &[mac_only]).unwrap();
    }

    fn listed(store: &Store, filter: &ConversationFilter, held: usize) -> Vec<ConversationRow> {
        let mut all = Vec::new();
        let n = store.each_conversation_holding(filter, held, |c| all.push(c)).unwrap();
        assert_eq!(n, all.len() as u64);
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        /// Summed in memory, summed in memory until the cap is passed
        /// midway, and grouped by SQLite: the same conversations in the same
        /// order, whatever the window.
        #[test]
        fn conversations_summed_in_memory_are_the_ones_sqlite_groups(
            flows in prop::collection::vec(flow(), 0..40),
            since in prop::option::of(0i64..30),
            until in prop::option::of(0i64..30),
        ) {
            let store = store_with(&flows);
            let filter = ConversationFilter {
                since: since.map(|s| Timestamp(T0 + s * SEC)),
                until: until.map(|u| Timestamp(T0 + u * SEC)),
            };
            let grouped = listed(&store, &filter, 0);
            prop_assert_eq!(&listed(&store, &filter, usize::MAX), &grouped);
            prop_assert_eq!(&listed(&store, &filter, 3), &grouped);
        }

        /// Hosts with their traffic summed in memory, or grouped by SQLite
        /// (also when the cap is passed midway): the same rows, whatever the
        /// filter.
        #[test]
        fn host_traffic_summed_in_memory_is_the_traffic_sqlite_groups(
            flows in prop::collection::vec(flow(), 0..30),
            ip in prop::option::of(prop::sample::select(vec!["10.0.0.0/24", "10.0.1.10/32", "10.0.0.0/8"])),
            vlan in prop::option::of(1u16..3),
            network in prop::option::of(prop::sample::select(vec!["", "plant-a"])),
            since in prop::option::of(0i64..30),
            limit in prop::option::of(1u32..5),
        ) {
            let mut store = store_with(&flows);
            add_hosts(&mut store, &flows);
            let filter = HostFilter {
                ip: ip.map(|n| n.parse().unwrap()),
                vlan,
                network: network.map(str::to_string),
                since: since.map(|s| Timestamp(T0 + s * SEC)),
                limit,
                ..HostFilter::default()
            };
            let grouped = store.hosts_holding(&filter, 0).unwrap();
            prop_assert_eq!(&store.hosts_holding(&filter, usize::MAX).unwrap(), &grouped);
            prop_assert_eq!(&store.hosts_holding(&filter, 2).unwrap(), &grouped);
            if !flows.is_empty() && filter == HostFilter::default() {
                prop_assert!(grouped.iter().any(|h| h.flows_as_client > 0), "the test writes traffic");
            }
        }
    }
}
