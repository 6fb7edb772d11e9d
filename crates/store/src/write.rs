//! The write path: observation batches, and the bookkeeping of captures and runs.
//!
//! Every write is an upsert whose merge rule makes it idempotent and, as far as the
//! data allows, independent of order (see `docs/store.md`):
//! - flows: largest of every counter, earliest `first_seen`, latest `last_seen`;
//!   state (`tcp_state`, `app_protocol`, `initiator`) from the record that saw the
//!   most of the flow; an ending other than `open` is never replaced by `open`;
//! - messages: largest cumulative count per (flow, protocol, operation, direction);
//! - hosts: widest time span, `source` of the earliest sighting; keyed by the
//!   capture's network too, so one address in two networks stays two rows;
//! - events: `INSERT OR IGNORE` on the event's identity.
//!
//! A batch is one `BEGIN IMMEDIATE` transaction using cached prepared statements;
//! if any statement fails the whole batch rolls back and earlier batches stay.

use crate::codes::{self, int};
use crate::digest::EventKey;
use crate::error::{sql, StoreError};
use crate::ipnet::IpKey;
use crate::records::OperationBatches;
use crate::rows::{AttributesRef, CaptureId, CaptureStats, RunId, RunStatus};
use crate::text::{ip_string, ip_text};
use crate::Store;
use otposture_model::{
    Event, EventKind, FlowEnd, FlowRecord, HostSighting, HostSource, MacAddr, MessageStat, Observation, Timestamp,
};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// "The incoming record has seen at least as much of the flow as the stored one":
/// a later last packet, or the same last packet and at least as many packets.
/// Decides whose state (TCP state, app protocol, initiator, ending) is kept.
macro_rules! newer_flow {
    () => {
        "(excluded.last_seen > flows.last_seen OR (excluded.last_seen = flows.last_seen AND \
         excluded.packets_to_server + excluded.packets_to_client >= \
         flows.packets_to_server + flows.packets_to_client))"
    };
}

const UPSERT_FLOW: &str = concat!(
    "INSERT INTO flows (flow_id, capture_id, vlan, transport, client_ip, client_ip_key, client_port,
        server_ip, server_ip_key, server_port, initiator, first_seen, last_seen,
        packets_to_server, bytes_to_server, packets_to_client, bytes_to_client,
        payload_to_server, payload_to_client, tcp_state, app_protocol,
        gap_bytes, gaps, retransmissions, overlaps, conflicting_overlaps, out_of_order,
        buffer_cap_hits, malformed, end_reason, to_group)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)
     ON CONFLICT (flow_id) DO UPDATE SET
        initiator = CASE WHEN ",
    newer_flow!(),
    " THEN excluded.initiator ELSE flows.initiator END,
        to_group = CASE WHEN ",
    newer_flow!(),
    " THEN excluded.to_group ELSE flows.to_group END,
        tcp_state = CASE WHEN excluded.tcp_state IS NOT NULL AND (flows.tcp_state IS NULL OR ",
    newer_flow!(),
    ") THEN excluded.tcp_state ELSE flows.tcp_state END,
        app_protocol = CASE WHEN excluded.app_protocol IS NOT NULL AND (flows.app_protocol IS NULL OR ",
    newer_flow!(),
    ") THEN excluded.app_protocol ELSE flows.app_protocol END,
        end_reason = CASE
            WHEN excluded.end_reason = 'open' THEN flows.end_reason
            WHEN flows.end_reason = 'open' THEN excluded.end_reason
            WHEN ",
    newer_flow!(),
    " THEN excluded.end_reason
            ELSE flows.end_reason END,
        first_seen = MIN(flows.first_seen, excluded.first_seen),
        last_seen = MAX(flows.last_seen, excluded.last_seen),
        packets_to_server = MAX(flows.packets_to_server, excluded.packets_to_server),
        bytes_to_server = MAX(flows.bytes_to_server, excluded.bytes_to_server),
        packets_to_client = MAX(flows.packets_to_client, excluded.packets_to_client),
        bytes_to_client = MAX(flows.bytes_to_client, excluded.bytes_to_client),
        payload_to_server = MAX(flows.payload_to_server, excluded.payload_to_server),
        payload_to_client = MAX(flows.payload_to_client, excluded.payload_to_client),
        gap_bytes = MAX(flows.gap_bytes, excluded.gap_bytes),
        gaps = MAX(flows.gaps, excluded.gaps),
        retransmissions = MAX(flows.retransmissions, excluded.retransmissions),
        overlaps = MAX(flows.overlaps, excluded.overlaps),
        conflicting_overlaps = MAX(flows.conflicting_overlaps, excluded.conflicting_overlaps),
        out_of_order = MAX(flows.out_of_order, excluded.out_of_order),
        buffer_cap_hits = MAX(flows.buffer_cap_hits, excluded.buffer_cap_hits),
        malformed = MAX(flows.malformed, excluded.malformed)"
);

// A new host row takes any names already learned for its MAC.
const UPSERT_HOST: &str =
    "INSERT INTO hosts (mac, ip, ip_key, vlan, first_seen, last_seen, source, network, host_name, vendor_class)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
        (SELECT host_name FROM host_names WHERE mac = ?1 AND ?1 <> ''),
        (SELECT vendor_class FROM host_names WHERE mac = ?1 AND ?1 <> ''))
     ON CONFLICT (mac, ip, vlan, network) DO UPDATE SET
        source = CASE WHEN excluded.first_seen < hosts.first_seen THEN excluded.source ELSE hosts.source END,
        first_seen = MIN(hosts.first_seen, excluded.first_seen),
        last_seen = MAX(hosts.last_seen, excluded.last_seen)";

const UPSERT_MESSAGE: &str =
    "INSERT INTO messages (flow_id, capture_scope, protocol, operation, direction, class, count,
        first_seen, last_seen)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
     ON CONFLICT (flow_id, capture_scope, protocol, operation, direction, class) DO UPDATE SET
        count = MAX(messages.count, excluded.count),
        first_seen = MIN(messages.first_seen, excluded.first_seen),
        last_seen = MAX(messages.last_seen, excluded.last_seen)";

const INSERT_EVENT: &str = "INSERT OR IGNORE INTO events (capture_id, ts, packet, flow_id, protocol, kind, name, class,
        src_mac, src_ip, src_ip_key, dst_ip, dst_ip_key, attributes, digest)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

// Per field, the newest identity event's non-null value wins; an older event only
// fills a gap. That keeps the result independent of the order events are written.
const UPSERT_HOST_NAMES: &str = "INSERT INTO host_names (mac, host_name, vendor_class, seen) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (mac) DO UPDATE SET
        host_name = CASE WHEN excluded.seen >= host_names.seen
            THEN COALESCE(excluded.host_name, host_names.host_name)
            ELSE COALESCE(host_names.host_name, excluded.host_name) END,
        vendor_class = CASE WHEN excluded.seen >= host_names.seen
            THEN COALESCE(excluded.vendor_class, host_names.vendor_class)
            ELSE COALESCE(host_names.vendor_class, excluded.vendor_class) END,
        seen = MAX(host_names.seen, excluded.seen)";

const COPY_HOST_NAMES: &str = "UPDATE hosts SET host_name = n.host_name, vendor_class = n.vendor_class
     FROM host_names AS n WHERE n.mac = ?1 AND hosts.mac = ?1";

// Events carry no VLAN: take it from a row already known for the MAC in the
// capture's network (the one with the assigned address, else the most recently
// seen), else from another network's row, else untagged.
const DHCP_HOST_VLAN: &str =
    "SELECT vlan FROM hosts WHERE mac = ?1 ORDER BY network = ?3 DESC, ip = ?2 DESC, last_seen DESC LIMIT 1";

const STORED_CAPTURE: &str = "SELECT id, network FROM captures WHERE fingerprint = ?1";

/// Names and address a DHCP identity event teaches about a MAC.
#[derive(Debug)]
struct DhcpIdentity<'a> {
    mac: MacAddr,
    host_name: Option<&'a str>,
    vendor_class: Option<&'a str>,
    assigned_ip: Option<IpAddr>,
    ts: i64,
}

impl<'a> DhcpIdentity<'a> {
    /// Reads a `dhcp` identity event: `client_mac` is required; `host_name`,
    /// `vendor_class` and `assigned_ip` are optional. Unparseable values are skipped
    /// (the event itself is still stored as given). The address in a `dhcp.offer`
    /// is only offered (the client may take another server's), so it makes no host.
    fn from_event(event: &'a Event) -> Option<Self> {
        if event.protocol != "dhcp" || event.kind != EventKind::Identity {
            return None;
        }
        let attr = |name: &str| event.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let non_empty = |name: &str| attr(name).map(str::trim).filter(|v| !v.is_empty());
        Some(DhcpIdentity {
            mac: attr("client_mac")?.trim().parse().ok()?,
            host_name: non_empty("host_name"),
            vendor_class: non_empty("vendor_class"),
            assigned_ip: attr("assigned_ip")
                .filter(|_| event.name != "dhcp.offer")
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
                .filter(|ip| !ip.is_unspecified()),
            ts: event.ts.0,
        })
    }
}

/// The capture a source index names among `captures` (past the list, its last).
fn capture_of(captures: &[i64], source: u32) -> i64 {
    let at = usize::try_from(source).unwrap_or(usize::MAX);
    captures.get(at).or(captures.last()).copied().unwrap_or_default()
}

/// The statements of one batch, prepared (from the cache) once per batch.
struct BatchWriter<'t> {
    path: &'t Path,
    /// The captures observations' `source` indices name, in order.
    captures: &'t [i64],
    /// The capture's network ('' unnamed): host rows are keyed by it.
    network: &'t str,
    host: CachedStatement<'t>,
    flow: CachedStatement<'t>,
    message: CachedStatement<'t>,
    event: CachedStatement<'t>,
    /// Text of an event's columns, reused from event to event: a batch has
    /// hundreds of thousands, and a fresh `String` per column was a tenth of
    /// the writer's time.
    text: EventText,
}

#[derive(Default)]
struct EventText {
    src_ip: String,
    dst_ip: String,
    src_mac: String,
    attributes: Vec<u8>,
}

/// Writes `e`'s attributes as the JSON object stored in `events.attributes` into
/// `buf` (cleared first) and returns it.
pub(crate) fn attributes_json<'b>(buf: &'b mut Vec<u8>, e: &Event) -> &'b str {
    buf.clear();
    if serde_json::to_writer(&mut *buf, &AttributesRef(&e.attributes)).is_err() {
        buf.clear();
        buf.extend_from_slice(b"{}");
    }
    // serde_json writes valid UTF-8.
    std::str::from_utf8(buf).unwrap_or("{}")
}

fn write_flow(
    stmt: &mut CachedStatement<'_>,
    capture: i64,
    text: &mut EventText,
    f: &FlowRecord,
) -> rusqlite::Result<()> {
    let k = &f.key;
    let a = &f.anomalies;
    let client_ip = ip_text(&mut text.src_ip, Some(k.client_ip));
    let server_ip = ip_text(&mut text.dst_ip, Some(k.server_ip));
    execute_bound!(stmt;
        f.id.0,
        capture,
        k.vlan,
        k.transport.name(),
        client_ip,
        IpKey::new(k.client_ip),
        k.client_port,
        server_ip,
        IpKey::new(k.server_ip),
        k.server_port,
        codes::initiator(f.initiator),
        f.first_seen.0,
        f.last_seen.0,
        int(f.packets_to_server),
        int(f.bytes_to_server),
        int(f.packets_to_client),
        int(f.bytes_to_client),
        int(f.payload_to_server),
        int(f.payload_to_client),
        f.tcp_state.map(|t| t.name()),
        f.app_protocol.as_deref(),
        int(a.gap_bytes),
        a.gaps,
        a.retransmissions,
        a.overlaps,
        a.conflicting_overlaps,
        a.out_of_order,
        a.buffer_cap_hits,
        a.malformed,
        f.end.name(),
        f.to_group,
    )
    .map(drop)
}

/// Open flows' records in an open group, merged per flow id. An open flow's
/// checkpoint record and its final record usually fall in one group (a group
/// is a second of analysis): written as they came, the final one rewrote the
/// row the first had just inserted, and those rewrites were 28% of the flow
/// statements on the benchmark capture (17,190 of 61,588), a flow statement
/// being the writer's costliest (31 parameters, four B-trees). An open record
/// now waits in the group; a later record of the flow merges into it by the
/// upsert's rule (a test holds the two to each other), and once the flow has
/// ended the merged record is written at once. What is still open when the
/// group commits is written then. Ended records of flows not held are written
/// as they come, so the writes stay spread over the group and a group's
/// commit writes at most the flows open at its end.
#[derive(Debug, Default)]
pub(crate) struct HeldFlows {
    /// By flow id: the capture that first wrote it, and its merged record.
    /// Unordered; [`HeldFlows::take`] gives the order.
    records: HashMap<i64, (i64, FlowRecord), foldhash::fast::RandomState>,
}

/// What to do with a flow record in a group.
enum Hold {
    /// Held (open).
    Kept,
    /// Write it as it is.
    Write,
    /// Write this: the record merged into the flow's held one, now ended.
    WriteMerged(FlowRecord),
}

impl HeldFlows {
    fn hold(&mut self, capture: i64, f: &FlowRecord) -> Hold {
        if let Some((_, held)) = self.records.get_mut(&f.id.0) {
            merge_flow(held, f);
            if held.end == FlowEnd::Open {
                return Hold::Kept;
            }
            return match self.records.remove(&f.id.0) {
                Some((_, merged)) => Hold::WriteMerged(merged),
                None => Hold::Write,
            };
        }
        if f.end != FlowEnd::Open {
            return Hold::Write;
        }
        self.records.insert(f.id.0, (capture, f.clone()));
        Hold::Kept
    }

    /// The held records in a stable order (first packet, then id), emptied.
    fn take(&mut self) -> Vec<(i64, FlowRecord)> {
        let mut records: Vec<(i64, FlowRecord)> = self.records.drain().map(|(_, r)| r).collect();
        records.sort_unstable_by_key(|(_, f)| (f.first_seen, f.id));
        records
    }

    fn clear(&mut self) {
        self.records.clear();
    }
}

/// "`incoming` has seen at least as much of the flow as `stored`": the
/// upsert's `newer_flow!` rule.
fn newer_flow(stored: &FlowRecord, incoming: &FlowRecord) -> bool {
    let packets = |f: &FlowRecord| f.packets_to_server.saturating_add(f.packets_to_client);
    incoming.last_seen > stored.last_seen
        || (incoming.last_seen == stored.last_seen && packets(incoming) >= packets(stored))
}

/// `into.field = max(into.field, from.field)` for each field: the upsert's
/// `MAX(flows.x, excluded.x)`.
macro_rules! keep_largest {
    ($into:expr, $from:expr; $($field:ident),+ $(,)?) => {
        $( $into.$field = $into.$field.max($from.$field); )+
    };
}

/// Merges `incoming` into `stored` as `UPSERT_FLOW` merges it into a row.
fn merge_flow(stored: &mut FlowRecord, incoming: &FlowRecord) {
    let newer = newer_flow(stored, incoming);
    if newer {
        stored.initiator = incoming.initiator;
        stored.to_group = incoming.to_group;
    }
    if incoming.tcp_state.is_some() && (stored.tcp_state.is_none() || newer) {
        stored.tcp_state = incoming.tcp_state;
    }
    if incoming.app_protocol.is_some() && (stored.app_protocol.is_none() || newer) {
        stored.app_protocol.clone_from(&incoming.app_protocol);
    }
    stored.end = match (stored.end, incoming.end) {
        (_, FlowEnd::Open) => stored.end,
        (FlowEnd::Open, end) => end,
        (_, end) if newer => end,
        (end, _) => end,
    };
    stored.first_seen = stored.first_seen.min(incoming.first_seen);
    stored.last_seen = stored.last_seen.max(incoming.last_seen);
    keep_largest!(stored, incoming; packets_to_server, bytes_to_server, packets_to_client, bytes_to_client,
        payload_to_server, payload_to_client);
    keep_largest!(stored.anomalies, incoming.anomalies; gap_bytes, gaps, retransmissions, overlaps,
        conflicting_overlaps, out_of_order, buffer_cap_hits, malformed);
}

/// Writes `value`'s text into `buf` (cleared first) and returns it, or `None` for no value.
fn text_of<T: std::fmt::Display>(buf: &mut String, value: Option<T>) -> Option<&str> {
    use std::fmt::Write;
    buf.clear();
    let value = value?;
    write!(buf, "{value}").ok()?;
    Some(buf.as_str())
}

impl<'t> BatchWriter<'t> {
    fn new(conn: &'t Connection, path: &'t Path, captures: &'t [i64], network: &'t str) -> Result<Self, StoreError> {
        let prepare = |text| conn.prepare_cached(text).map_err(sql(path, "preparing the write statements"));
        Ok(BatchWriter {
            path,
            captures,
            network,
            host: prepare(UPSERT_HOST)?,
            flow: prepare(UPSERT_FLOW)?,
            message: prepare(UPSERT_MESSAGE)?,
            event: prepare(INSERT_EVENT)?,
            text: EventText::default(),
        })
    }

    /// The capture of an observation from input `source`; one past the list
    /// takes its last (a caller with one capture for every input).
    fn capture(&self, source: u32) -> i64 {
        capture_of(self.captures, source)
    }

    fn host(&mut self, h: &HostSighting) -> Result<(), StoreError> {
        upsert_host(&mut self.host, self.network, h).map_err(sql(self.path, "writing a host sighting"))
    }

    fn flow(&mut self, f: &FlowRecord) -> Result<(), StoreError> {
        let capture = self.capture(f.source);
        write_flow(&mut self.flow, capture, &mut self.text, f).map_err(sql(self.path, "writing a flow record"))
    }

    fn message(&mut self, m: &MessageStat) -> Result<(), StoreError> {
        // Counts are cumulative per key. A flow id already names one stretch of traffic;
        // messages outside flows are scoped by capture so two captures' counts add up.
        let (flow_id, scope) = match m.flow {
            Some(id) => (id.0, 0),
            None => (-1, self.capture(m.source)),
        };
        execute_bound!(self.message;
            flow_id,
            scope,
            m.protocol.as_ref(),
            m.operation.as_ref(),
            m.direction.map_or("", codes::direction),
            m.class.name(),
            int(m.count),
            m.first_seen.0,
            m.last_seen.0,
        )
        .map(drop)
        .map_err(sql(self.path, "writing a message count"))
    }

    fn event(&mut self, e: &Event) -> Result<(), StoreError> {
        let capture = self.capture(e.source);
        let EventText { src_ip, dst_ip, src_mac, attributes } = &mut self.text;
        let attributes = attributes_json(attributes, e);
        let src_ip_text = ip_text(src_ip, e.src_ip);
        let dst_ip_text = ip_text(dst_ip, e.dst_ip);
        let key = EventKey {
            protocol: e.protocol.as_ref(),
            kind: codes::event_kind(e.kind),
            name: e.name.as_ref(),
            flow_id: e.flow.map(|f| f.0),
            src_ip: src_ip_text,
            dst_ip: dst_ip_text,
            attributes,
        };
        execute_bound!(self.event;
            capture,
            e.ts.0,
            int(e.packet),
            key.flow_id,
            key.protocol,
            key.kind,
            key.name,
            e.class.map(|c| c.name()),
            text_of(src_mac, e.src_mac),
            key.src_ip,
            e.src_ip.map(IpKey::new),
            key.dst_ip,
            e.dst_ip.map(IpKey::new),
            key.attributes,
            key.digest(),
        )
        .map(drop)
        .map_err(sql(self.path, "writing an event"))
    }
}

fn upsert_host(stmt: &mut CachedStatement<'_>, network: &str, h: &HostSighting) -> rusqlite::Result<()> {
    execute_bound!(stmt;
        h.mac.map(|m| m.to_string()).unwrap_or_default(),
        h.ip.map(ip_string).unwrap_or_default(),
        h.ip.map(IpKey::new),
        h.vlan.map_or(-1, i64::from),
        h.first_seen.0,
        h.last_seen.0,
        codes::host_source(h.source),
        network,
    )
    .map(drop)
}

/// Applies what DHCP identity events teach: names by MAC onto every host row with
/// that MAC, and a host row for the assigned address. Runs after the rest of the
/// batch so that sightings in the same batch supply the VLAN.
fn apply_dhcp_identity(tx: &Connection, path: &Path, network: &str, id: &DhcpIdentity<'_>) -> Result<(), StoreError> {
    let fail = sql(path, "applying a DHCP identity to hosts");
    let mac = id.mac.to_string();
    let inner = || -> rusqlite::Result<()> {
        if id.host_name.is_some() || id.vendor_class.is_some() {
            tx.prepare_cached(UPSERT_HOST_NAMES)?.execute(params![mac, id.host_name, id.vendor_class, id.ts])?;
        }
        if let Some(ip) = id.assigned_ip {
            let vlan: Option<i64> = tx
                .prepare_cached(DHCP_HOST_VLAN)?
                .query_row(params![mac, ip.to_string(), network], |row| row.get(0))
                .optional()?;
            let sighting = HostSighting {
                mac: Some(id.mac),
                ip: Some(ip),
                vlan: vlan.and_then(|v| u16::try_from(v).ok()),
                first_seen: Timestamp(id.ts),
                last_seen: Timestamp(id.ts),
                source: HostSource::Dhcp,
            };
            upsert_host(&mut tx.prepare_cached(UPSERT_HOST)?, network, &sighting)?;
        }
        tx.prepare_cached(COPY_HOST_NAMES)?.execute(params![mac])?;
        Ok(())
    };
    inner().map_err(fail)
}

impl Store {
    /// Writes a batch of observations for `capture` in one transaction.
    ///
    /// Idempotent: writing the same observations again (a re-analysis, a resumed run,
    /// a checkpoint followed by the final record) leaves the same data. On error the
    /// whole batch is rolled back and earlier batches are untouched. Inside a
    /// group ([`Store::begin_group`]) an error leaves the group unfinished: the
    /// caller abandons it ([`Store::rollback_group`], or dropping the store),
    /// and earlier groups are untouched.
    pub fn write_batch(&mut self, capture: CaptureId, observations: &[Observation]) -> Result<(), StoreError> {
        self.write_batch_of(&[capture], observations)
    }

    /// [`Store::write_batch`] for observations of several captures analysed
    /// together: each is written under the capture its `source` names in
    /// `captures` (a source past the list takes the last). The captures share
    /// one network (an `analyze` run's); host sightings, which name no input,
    /// are written in the first one's. Nothing is written when `captures` is
    /// empty.
    pub fn write_batch_of(&mut self, captures: &[CaptureId], observations: &[Observation]) -> Result<(), StoreError> {
        if captures.is_empty() {
            return Ok(());
        }
        let path = self.path.as_path();
        // Inside a group (`begin_group`) the batch is written in the group's
        // transaction and committed with it. Not as a savepoint: SQLite then
        // journals every page a statement changes to a temporary file (66 MB
        // on the benchmark capture), so that the savepoint could be undone.
        if !self.conn.is_autocommit() {
            return write_batch_in(&self.conn, path, captures, observations, Some(&mut self.held_flows));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting a write transaction"))?;
        write_batch_in(&tx, path, captures, observations, None)?;
        tx.commit().map_err(sql(path, "committing a batch"))
    }

    /// Starts a group of writes: the batches and progress written until
    /// [`Store::commit_group`] are committed together, in one transaction.
    /// Flow records of the group are merged per flow and written when it
    /// commits, so this connection reads them only after that.
    /// `analyze`'s writer groups a second's worth of checkpoints: every commit
    /// writes each page it dirtied to the WAL, and the indices' pages are
    /// dirtied again by every batch.
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(sql(&self.path, "starting a group of writes"))?;
        // Only once the group is open: a refused BEGIN (a group already
        // open) must not drop that group's waiting flows.
        self.held_flows.clear();
        Ok(())
    }

    /// Abandons the group [`Store::begin_group`] started: nothing of it is
    /// kept. Nothing when none is open.
    pub fn rollback_group(&mut self) -> Result<(), StoreError> {
        self.held_flows.clear();
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(sql(&self.path, "abandoning a group of writes"))
    }

    /// Commits the group [`Store::begin_group`] started; nothing when none is open.
    pub fn commit_group(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        if !self.held_flows.records.is_empty() {
            let path = self.path.as_path();
            let fail = || sql(path, "writing a flow record");
            let mut stmt = self.conn.prepare_cached(UPSERT_FLOW).map_err(fail())?;
            let mut text = EventText::default();
            for (capture, f) in &self.held_flows.take() {
                write_flow(&mut stmt, *capture, &mut text, f).map_err(fail())?;
            }
        }
        self.conn.execute_batch("COMMIT").map_err(sql(&self.path, "committing a group of writes"))
    }
}

/// One batch of observations, written on `tx`: the batch's own transaction, or
/// the open group's.
fn write_batch_in(
    tx: &Connection,
    path: &Path,
    captures: &[CaptureId],
    observations: &[Observation],
    mut held: Option<&mut HeldFlows>,
) -> Result<(), StoreError> {
    // Checked are the first capture (its network is the batch's, and host
    // sightings are written in it) and those the observations name: a run
    // over thousands of rotated files writes each batch under a few of them.
    let mut named = vec![false; captures.len()];
    if let Some(first) = named.first_mut() {
        *first = true;
    }
    for o in observations {
        let source = match o {
            Observation::Host(_) => continue,
            Observation::Flow(f) => f.source,
            Observation::Message(m) => m.source,
            Observation::Event(e) => e.source,
            Observation::Operations(run) => run.key.source,
        };
        let at = usize::try_from(source).unwrap_or(usize::MAX).min(captures.len().saturating_sub(1));
        if let Some(n) = named.get_mut(at) {
            *n = true;
        }
    }
    let mut network = None;
    for (&capture, _) in captures.iter().zip(&named).filter(|(_, &n)| n) {
        let n = ensure_capture(tx, path, capture)?;
        network.get_or_insert(n);
    }
    let network = network.unwrap_or_default();
    let mut identities = Vec::new();
    let mut operations = OperationBatches::default();
    let ids: Vec<i64> = captures.iter().map(|c| c.0).collect();
    {
        let mut w = BatchWriter::new(tx, path, &ids, &network)?;
        for observation in observations {
            match observation {
                Observation::Host(h) => w.host(h)?,
                Observation::Flow(f) => match held.as_deref_mut().map(|h| h.hold(w.capture(f.source), f)) {
                    Some(Hold::Kept) => {}
                    Some(Hold::WriteMerged(merged)) => w.flow(&merged)?,
                    Some(Hold::Write) | None => w.flow(f)?,
                },
                Observation::Message(m) => w.message(m)?,
                Observation::Operations(run) => operations.take_run(run),
                Observation::Event(e) if operations.take(e) => {}
                Observation::Event(e) => {
                    w.event(e)?;
                    identities.extend(DhcpIdentity::from_event(e));
                }
            }
        }
    }
    operations.write(tx, path, |source| capture_of(&ids, source))?;
    for identity in &identities {
        apply_dhcp_identity(tx, path, &network, identity)?;
    }
    Ok(())
}

impl Store {
    /// Records the start of a capture's analysis in the unnamed network and
    /// returns its id: [`Store::begin_capture_in`] without a network.
    pub fn begin_capture(
        &mut self,
        fingerprint: &str,
        path: &Path,
        size_bytes: u64,
        started_at: i64,
    ) -> Result<CaptureId, StoreError> {
        self.begin_capture_in(None, fingerprint, path, size_bytes, started_at)
    }

    /// Records the start of a capture's analysis in `network` (`None`: the
    /// unnamed network) and returns its id. A capture with the same
    /// `fingerprint` keeps its row (and so its data): the row is reset to
    /// `running` with the new path, size and start time, and its stats cleared.
    /// Its network stays what it was: a capture analysed before under another
    /// network is refused ([`StoreError::NetworkMismatch`]) and its row left
    /// as it was, since its hosts are stored in that network.
    pub fn begin_capture_in(
        &mut self,
        network: Option<&str>,
        fingerprint: &str,
        path: &Path,
        size_bytes: u64,
        started_at: i64,
    ) -> Result<CaptureId, StoreError> {
        let network = network.unwrap_or_default();
        let id = self
            .conn
            .prepare_cached(
                "INSERT INTO captures (fingerprint, path, size_bytes, status, started_at, network)
                 VALUES (?1, ?2, ?3, 'running', ?4, ?5)
                 ON CONFLICT (fingerprint) DO UPDATE SET
                    path = excluded.path, size_bytes = excluded.size_bytes, status = 'running',
                    error = NULL, started_at = excluded.started_at, finished_at = NULL,
                    link_types = '', first_ts = NULL, last_ts = NULL, packets = 0, bytes = 0
                 WHERE captures.network = excluded.network
                 RETURNING id",
            )
            .and_then(|mut stmt| {
                let args = params![fingerprint, path.to_string_lossy(), int(size_bytes), started_at, network];
                stmt.query_row(args, |row| row.get(0)).optional()
            })
            .map_err(sql(&self.path, "recording the start of a capture"))?;
        match id {
            Some(id) => Ok(CaptureId(id)),
            // The row exists under another network: the upsert's WHERE held it back.
            None => {
                let (capture, stored) = self
                    .conn
                    .query_row(STORED_CAPTURE, [fingerprint], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(sql(&self.path, "reading a capture's network"))?;
                Err(self.mismatch(capture, stored, network))
            }
        }
    }

    /// Checks, before anything is written, that a capture with this
    /// fingerprint may be analysed in `network` (`None`: the unnamed one):
    /// it is new, or was analysed in that network before. Otherwise the error
    /// is [`StoreError::NetworkMismatch`], as [`Store::begin_capture_in`] would return.
    pub fn check_capture_network(&self, network: Option<&str>, fingerprint: &str) -> Result<(), StoreError> {
        let network = network.unwrap_or_default();
        match self.stored_capture(fingerprint)? {
            Some((capture, stored)) if stored != network => Err(self.mismatch(capture, stored, network)),
            _ => Ok(()),
        }
    }

    /// The id and network of the capture with this fingerprint.
    fn stored_capture(&self, fingerprint: &str) -> Result<Option<(i64, String)>, StoreError> {
        self.conn
            .prepare_cached(STORED_CAPTURE)
            .and_then(|mut stmt| stmt.query_row([fingerprint], |row| Ok((row.get(0)?, row.get(1)?))).optional())
            .map_err(sql(&self.path, "reading a capture's network"))
    }

    fn mismatch(&self, capture: i64, stored: String, given: &str) -> StoreError {
        StoreError::NetworkMismatch {
            path: self.path.clone(),
            capture,
            stored: (!stored.is_empty()).then_some(stored),
            given: (!given.is_empty()).then(|| given.to_string()),
        }
    }

    /// Records how far the analysis of a capture has got.
    pub fn update_capture_progress(&mut self, capture: CaptureId, stats: &CaptureStats) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE captures SET link_types = ?2, first_ts = ?3, last_ts = ?4, packets = ?5, bytes = ?6
                 WHERE id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(stats_params(capture, stats)))
            .map_err(sql(&self.path, "recording capture progress"))?;
        self.known_capture(capture, changed)
    }

    /// Records the end of a capture's analysis: its final status, the error that
    /// stopped it (if any), its stats, and the wall-clock end time (Unix seconds).
    pub fn finish_capture(
        &mut self,
        capture: CaptureId,
        status: RunStatus,
        error: Option<&str>,
        stats: &CaptureStats,
        finished_at: i64,
    ) -> Result<(), StoreError> {
        let [id, link_types, first_ts, last_ts, packets, bytes] = stats_params(capture, stats);
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE captures SET link_types = ?2, first_ts = ?3, last_ts = ?4, packets = ?5, bytes = ?6,
                    status = ?7, error = ?8, finished_at = ?9
                 WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    link_types,
                    first_ts,
                    last_ts,
                    packets,
                    bytes,
                    status.name(),
                    error,
                    finished_at
                ])
            })
            .map_err(sql(&self.path, "recording the end of a capture"))?;
        self.known_capture(capture, changed)
    }

    /// Records the start of an analysis run (wall clock, Unix seconds).
    pub fn begin_run(&mut self, started_at: i64) -> Result<RunId, StoreError> {
        self.conn
            .query_row(
                "INSERT INTO analysis_runs (started_at, status) VALUES (?1, 'running') RETURNING id",
                [started_at],
                |row| row.get(0),
            )
            .map(RunId)
            .map_err(sql(&self.path, "recording the start of an analysis run"))
    }

    /// Links a capture to the run that analysed it (again: linking twice is a no-op).
    pub fn add_run_capture(&mut self, run: RunId, capture: CaptureId) -> Result<(), StoreError> {
        self.ensure_run(run)?;
        ensure_capture(&self.conn, &self.path, capture)?;
        self.conn
            .execute("INSERT OR IGNORE INTO run_captures (run_id, capture_id) VALUES (?1, ?2)", [run.0, capture.0])
            .map(drop)
            .map_err(sql(&self.path, "linking a capture to an analysis run"))
    }

    /// Records the end of a run with the caller's summary (any JSON value).
    pub fn finish_run(
        &mut self,
        run: RunId,
        status: RunStatus,
        finished_at: i64,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE analysis_runs SET status = ?2, finished_at = ?3, summary = ?4 WHERE id = ?1",
                params![run.0, status.name(), finished_at, summary.to_string()],
            )
            .map_err(sql(&self.path, "recording the end of an analysis run"))?;
        if changed == 0 {
            return Err(StoreError::UnknownRun { path: self.path.clone(), id: run.0 });
        }
        Ok(())
    }

    fn ensure_run(&self, run: RunId) -> Result<(), StoreError> {
        let found = self
            .conn
            .query_row("SELECT 1 FROM analysis_runs WHERE id = ?1", [run.0], |_| Ok(()))
            .optional()
            .map_err(sql(&self.path, "looking up an analysis run"))?;
        found.ok_or_else(|| StoreError::UnknownRun { path: self.path.clone(), id: run.0 })
    }

    fn known_capture(&self, capture: CaptureId, changed: usize) -> Result<(), StoreError> {
        if changed == 0 {
            return Err(StoreError::UnknownCapture { path: self.path.clone(), id: capture.0 });
        }
        Ok(())
    }
}

fn stats_params(capture: CaptureId, stats: &CaptureStats) -> [rusqlite::types::Value; 6] {
    use rusqlite::types::Value;
    let ts = |t: Option<otposture_model::Timestamp>| t.map_or(Value::Null, |t| Value::Integer(t.0));
    [
        Value::Integer(capture.0),
        Value::Text(stats.link_types.join(",")),
        ts(stats.first_ts),
        ts(stats.last_ts),
        Value::Integer(int(stats.packets)),
        Value::Integer(int(stats.bytes)),
    ]
}

/// Checks that the capture exists and returns its network ('' unnamed).
fn ensure_capture(conn: &Connection, path: &Path, capture: CaptureId) -> Result<String, StoreError> {
    let found = conn
        .prepare_cached("SELECT network FROM captures WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([capture.0], |row| row.get(0)).optional())
        .map_err(sql(path, "looking up a capture"))?;
    found.ok_or_else(|| StoreError::UnknownCapture { path: path.to_path_buf(), id: capture.0 })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::migrate::{migrate, MIGRATIONS};
    use otposture_model::{FlowId, Timestamp};
    use std::borrow::Cow;

    fn event(address: &str) -> Event {
        Event {
            source: 0,
            ts: Timestamp(1_700_000_000_000_000_000),
            packet: 10,
            flow: Some(FlowId(7)),
            protocol: "modbus".into(),
            kind: EventKind::Operation,
            name: "write_single_register".into(),
            class: Some(otposture_model::OperationClass::Write),
            src_mac: None,
            src_ip: Some("10.0.0.1".parse().unwrap()),
            dst_ip: Some("10.0.0.2".parse().unwrap()),
            attributes: vec![(Cow::Borrowed("address"), address.to_string().into())],
        }
    }

    /// Observations of several inputs in one batch land under their own
    /// captures: events, kept operations and counts outside flows; a source
    /// past the list takes the last capture.
    #[test]
    fn a_batch_of_several_captures_writes_each_observation_under_its_own() {
        use otposture_model::{MessageStat, OperationClass};
        let mut store = Store::open_in_memory().unwrap();
        let a = store.begin_capture("a", Path::new("a.pcap"), 0, 0).unwrap();
        let b = store.begin_capture("b", Path::new("b.pcap"), 0, 0).unwrap();
        let identity = |source, packet| {
            let mut e = event("1");
            (e.source, e.packet, e.kind, e.name) = (source, packet, EventKind::Identity, "arp.sender".into());
            Observation::Event(e)
        };
        let operation = |source, packet| {
            let mut e = event("2");
            (e.source, e.packet) = (source, packet);
            Observation::Event(e)
        };
        let arp = |source, count| {
            Observation::Message(MessageStat {
                source,
                flow: None,
                protocol: "arp".into(),
                operation: "request".into(),
                class: OperationClass::Discovery,
                direction: None,
                count,
                first_seen: Timestamp(1),
                last_seen: Timestamp(2),
            })
        };
        let batch = [identity(0, 3), identity(1, 4), identity(7, 5), operation(1, 6), arp(0, 2), arp(1, 5)];
        store.write_batch_of(&[a, b], &batch).unwrap();
        let rows = |sql: &str| -> Vec<(i64, i64)> {
            let mut stmt = store.conn.prepare(sql).unwrap();
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            rows.collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(rows("SELECT capture_id, packet FROM events ORDER BY packet"), [(a.0, 3), (b.0, 4), (b.0, 5)]);
        assert_eq!(rows("SELECT capture_id, first_packet FROM operation_records"), [(b.0, 6)]);
        assert_eq!(
            rows("SELECT capture_scope, count FROM messages WHERE flow_id = -1 ORDER BY capture_scope"),
            [(a.0, 2), (b.0, 5)]
        );
    }

    /// A batch checks the captures it writes under, not every capture of the
    /// run: a capture no observation names is not looked up, one that is
    /// named and unknown fails the batch, and nothing of it is written.
    #[test]
    fn a_batch_checks_the_captures_its_observations_name() {
        let mut store = Store::open_in_memory().unwrap();
        let a = store.begin_capture("a", Path::new("a.pcap"), 0, 0).unwrap();
        let unknown = CaptureId(a.0 + 40);
        let mut e = event("1");
        (e.source, e.kind, e.name) = (0, EventKind::Identity, "arp.sender".into());
        store.write_batch_of(&[a, unknown], &[Observation::Event(e.clone())]).unwrap();
        e.source = 1;
        e.packet += 1;
        let err = store.write_batch_of(&[a, unknown], &[Observation::Event(e)]).expect_err("names the unknown one");
        assert!(matches!(err, StoreError::UnknownCapture { id, .. } if id == unknown.0), "{err:?}");
        let events: i64 = store.conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
        assert_eq!(events, 1);
    }

    /// Batches written in a group are seen by other connections only once the
    /// group commits; an abandoned group leaves what was committed before it.
    #[test]
    fn a_group_of_batches_commits_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let mut store = Store::open(&path).unwrap();
        let capture = store.begin_capture("f", Path::new("p"), 0, 0).unwrap();
        let reader = Store::open(&path).unwrap();
        let batch = |a: &str| {
            let mut e = event(a);
            e.packet = a.parse().unwrap();
            [Observation::Event(e)]
        };
        store.begin_group().unwrap();
        store.write_batch(capture, &batch("1")).unwrap();
        store.write_batch(capture, &batch("2")).unwrap();
        assert_eq!(reader.counts().unwrap().events, 0, "nothing is seen before the group commits");
        store.commit_group().unwrap();
        let committed = reader.counts().unwrap().events;
        assert_eq!(committed, store.counts().unwrap().events, "all of it once it commits");
        assert!(committed > 0);
        store.begin_group().unwrap();
        store.write_batch(capture, &batch("3")).unwrap();
        assert!(store.write_batch(CaptureId(99), &batch("4")).is_err(), "an unknown capture");
        store.rollback_group().unwrap();
        assert_eq!(store.counts().unwrap().events, committed, "the abandoned group left nothing");
        // Outside a group a batch is its own transaction again.
        store.write_batch(capture, &batch("5")).unwrap();
        assert!(reader.counts().unwrap().events > committed, "seen at once");
        store.commit_group().unwrap();
    }

    /// A schema 1 file with an event, as schema 1 stored it, migrates to the
    /// digest index; writing the same event again then changes nothing.
    #[test]
    fn events_stored_before_the_digest_are_still_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn, &path, MIGRATIONS.get(..1).unwrap()).unwrap();
            conn.execute(
                "INSERT INTO captures (id, fingerprint, path, size_bytes, status, started_at)
                 VALUES (1, 'f', 'p', 0, 'complete', 0)",
                [],
            )
            .unwrap();
            let e = event("1");
            conn.execute(
                "INSERT INTO events (capture_id, ts, packet, flow_id, protocol, kind, name, class, src_ip, dst_ip,
                    attributes)
                 VALUES (1, ?1, ?2, 7, 'modbus', 'operation', 'write_single_register', 'write', '10.0.0.1', '10.0.0.2',
                    ?3)",
                params![e.ts.0, 10, serde_json::to_string(&AttributesRef(&e.attributes)).unwrap()],
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        let batch = [Observation::Event(event("1")), Observation::Event(event("2"))];
        store.write_batch(CaptureId(1), &batch).unwrap();
        store.write_batch(CaptureId(1), &batch).unwrap();
        assert_eq!(store.counts().unwrap().events, 2, "the migrated event and one new one");
        // The rebuilt table (schema 3) keeps its rows, ids and the check on `kind`.
        let first: i64 = store.conn.query_row("SELECT min(id) FROM events", [], |r| r.get(0)).unwrap();
        assert_eq!(first, 1, "the migrated row keeps its id");
        let bad = store.conn.execute(
            "INSERT INTO events (capture_id, ts, packet, protocol, kind, name) VALUES (1, 0, 1, 'x', 'rumour', 'y')",
            [],
        );
        assert!(bad.is_err(), "an unknown kind is refused");
    }
}
