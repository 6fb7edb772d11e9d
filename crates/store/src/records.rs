//! Kept operations in compact rows (`operation_records`, migration 6).
//!
//! The dissectors keep every write, program, firmware, control, configuration and
//! authentication operation individually: on the benchmark capture 617,000 of
//! them. As `events` rows they cost more than everything else the store writes
//! (about 2.8 us each inside SQLite). The engine hands them over in runs (a
//! flow's operations of one protocol, name, class and addressing between two
//! checkpoints, `otposture_model::runs`), each already encoded as the `records`
//! blob of one row holding every operation's time, packet and attributes.
//! Operation events given one by one are grouped into runs here. Listing events
//! decodes them back into the rows `events` would have given.

use crate::codes::int;
use crate::digest::EventKey;
use crate::error::{sql, StoreError};
use crate::text::ip_string;
use otposture_model::runs::{OperationRun, RunKey, Runs};
use otposture_model::Event;
use rusqlite::{params, Connection};
use std::path::Path;

pub(crate) use otposture_model::runs::decode;

/// Event ids of decoded operations start here (stored `events` rows count from 1):
/// `RECORD_ID_BASE + row id * 2^16 + position in the row` (a run holds at most
/// `otposture_model::runs::MAX_RUN_RECORDS`, 2^16).
pub(crate) const RECORD_ID_BASE: i64 = 1 << 40;

/// The kept operations of one write batch, as runs: those the engine built,
/// and those grouped here from operation events.
#[derive(Debug, Default)]
pub(crate) struct OperationBatches<'e> {
    given: Vec<&'e OperationRun>,
    grouped: Runs,
}

const SAME_KEY_RANGES: &str = "SELECT first_packet, last_packet FROM operation_records
     WHERE flow_id = ?1 AND protocol = ?2 AND name = ?3 AND first_packet <= ?4 AND last_packet >= ?5
       AND capture_id = ?6 AND class IS ?7 AND src_mac IS ?8 AND src_ip IS ?9 AND dst_ip IS ?10";

const LEGACY_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM events INDEXED BY events_legacy_operations
     WHERE kind = 'operation' AND flow_id IS NOT NULL AND packet > 0)";

const LEGACY_ROW: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE ts = ?1 AND packet = ?2 AND digest = ?3)";

const INSERT_ROW: &str = "INSERT INTO operation_records (capture_id, flow_id, protocol, name, class, src_mac,
        src_ip, dst_ip, first_ts, last_ts, first_packet, last_packet, count, records)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

impl<'e> OperationBatches<'e> {
    /// Takes `e` when it is an operation of a flow tied to a packet; the
    /// others stay `events` rows.
    pub(crate) fn take(&mut self, e: &Event) -> bool {
        let Some(key) = RunKey::of(e) else { return false };
        self.grouped.push(key, e.ts, e.packet, &e.attributes);
        true
    }

    /// Takes a run the engine built.
    pub(crate) fn take_run(&mut self, run: &'e OperationRun) {
        if !run.is_empty() {
            self.given.push(run);
        }
    }

    /// Writes the runs, each under the capture its source names, leaving out
    /// operations already stored (same key, packet inside a stored row's range).
    pub(crate) fn write(&self, tx: &Connection, path: &Path, capture: impl Fn(u32) -> i64) -> Result<(), StoreError> {
        let fail = || sql(path, "writing kept operations");
        let mut w = RowWriter {
            ranges: tx.prepare_cached(SAME_KEY_RANGES).map_err(fail())?,
            insert: tx.prepare_cached(INSERT_ROW).map_err(fail())?,
            legacy: tx.query_row(LEGACY_EXISTS, [], |row| row.get(0)).map_err(fail())?,
            legacy_row: tx.prepare_cached(LEGACY_ROW).map_err(fail())?,
            attributes: Vec::new(),
            path,
        };
        for run in self.given.iter().copied().chain(self.grouped.iter()) {
            w.run(capture(run.key.source), run)?;
        }
        Ok(())
    }
}

/// The statements that write runs as rows.
struct RowWriter<'t> {
    ranges: rusqlite::CachedStatement<'t>,
    insert: rusqlite::CachedStatement<'t>,
    /// Whether operation events were stored one per row before
    /// `operation_records` (then each operation is looked up there too).
    legacy: bool,
    legacy_row: rusqlite::CachedStatement<'t>,
    attributes: Vec<u8>,
    path: &'t Path,
}

impl RowWriter<'_> {
    fn run(&mut self, capture: i64, run: &OperationRun) -> Result<(), StoreError> {
        let path = self.path;
        let fail = || sql(path, "writing kept operations");
        let k = &run.key;
        // One run per row written: owned texts cost nothing worth a buffer here.
        let texts = RowTexts {
            class: k.class.map(|c| c.name()),
            src_mac: k.src_mac.map(|m| m.to_string()),
            src_ip: k.src_ip.map(ip_string),
            dst_ip: k.dst_ip.map(ip_string),
        };
        let (lo, hi) = run.packet_range();
        let stored: Vec<(i64, i64)> = self
            .ranges
            .query_map(
                params![
                    k.flow.0,
                    k.protocol.as_ref(),
                    k.name.as_ref(),
                    int(hi),
                    int(lo),
                    capture,
                    texts.class,
                    texts.src_mac,
                    texts.src_ip,
                    texts.dst_ip
                ],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .and_then(|rows| rows.collect())
            .map_err(fail())?;
        if stored.is_empty() && !self.legacy {
            return self.insert(capture, run, &texts);
        }
        // Part of the run may be stored already (the capture analysed again).
        let events = run.events().map_err(|e| StoreError::BadValue {
            path: path.to_path_buf(),
            table: "operation_records",
            column: "records",
            value: format!("a run handed to the store: {} at byte {}", e.what, e.offset),
        })?;
        let mut rest = OperationRun::new(k.clone());
        for e in &events {
            let p = int(e.packet);
            if stored.iter().any(|&(a, b)| a <= p && p <= b) {
                continue;
            }
            if self.legacy {
                let key = EventKey {
                    protocol: &k.protocol,
                    kind: "operation",
                    name: &k.name,
                    flow_id: Some(k.flow.0),
                    src_ip: texts.src_ip.as_deref(),
                    dst_ip: texts.dst_ip.as_deref(),
                    attributes: crate::write::attributes_json(&mut self.attributes, e),
                };
                let known: bool =
                    self.legacy_row.query_row(params![e.ts.0, p, key.digest()], |row| row.get(0)).map_err(fail())?;
                if known {
                    continue;
                }
            }
            rest.push(e.ts, e.packet, &e.attributes);
        }
        if rest.is_empty() {
            return Ok(());
        }
        self.insert(capture, &rest, &texts)
    }

    fn insert(&mut self, capture: i64, run: &OperationRun, texts: &RowTexts) -> Result<(), StoreError> {
        let k = &run.key;
        let (first_ts, last_ts) = run.ts_range();
        let (first_packet, last_packet) = run.packet_range();
        execute_bound!(self.insert;
            capture,
            k.flow.0,
            k.protocol.as_ref(),
            k.name.as_ref(),
            texts.class,
            texts.src_mac.as_deref(),
            texts.src_ip.as_deref(),
            texts.dst_ip.as_deref(),
            first_ts.0,
            last_ts.0,
            int(first_packet),
            int(last_packet),
            run.len() as i64,
            run.records(),
        )
        .map(drop)
        .map_err(sql(self.path, "writing kept operations"))
    }
}

/// A run's key as its row's text columns.
struct RowTexts {
    class: Option<&'static str>,
    src_mac: Option<String>,
    src_ip: Option<String>,
    dst_ip: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use otposture_model::runs::MAX_RUN_RECORDS;
    use otposture_model::{EventKind, FlowId, OperationClass, Timestamp};
    use std::borrow::Cow;

    fn op(packet: u64) -> Event {
        Event {
            source: 0,
            ts: Timestamp(packet as i64 * 10),
            packet,
            flow: Some(FlowId(7)),
            protocol: Cow::Borrowed("modbus"),
            kind: EventKind::Operation,
            name: Cow::Borrowed("write_single_register"),
            class: Some(OperationClass::Write),
            src_mac: None,
            src_ip: None,
            dst_ip: None,
            attributes: vec![(Cow::Borrowed("address"), packet.to_string().into())],
        }
    }

    #[test]
    fn operation_events_past_a_full_run_start_another() {
        let events: Vec<Event> = (1..=MAX_RUN_RECORDS as u64 + 2).map(op).collect();
        let mut batches = OperationBatches::default();
        for e in &events {
            assert!(batches.take(e));
        }
        let runs: Vec<&OperationRun> = batches.grouped.iter().collect();
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), [MAX_RUN_RECORDS, 2]);
        assert_eq!(runs[1].packet_range(), (MAX_RUN_RECORDS as u64 + 1, MAX_RUN_RECORDS as u64 + 2));
        let identity = Event { kind: EventKind::Identity, ..op(1) };
        assert!(!batches.take(&identity), "an identity stays an events row");
    }
}
