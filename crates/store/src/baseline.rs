//! Baselines (schema 8): snapshots of the inventory the user accepted as the
//! expected state, each with who accepted it, when and why, and an audit
//! entry written in the same transaction.
//!
//! The snapshot is the caller's JSON document (crates/drift,
//! `otposture.baseline/1`), stored as given: the store neither reads it nor
//! depends on that crate. Baselines are never replaced or deleted; the newest
//! is the one in force.

use crate::error::{sql, StoreError};
use crate::inventory::{count, log};
use crate::Store;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

/// The audit log's target for baseline acceptances.
const AUDIT_TARGET: &str = "baseline";

/// A baseline as listed: everything but its document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BaselineSummary {
    /// Row id (increasing: the highest is in force).
    pub id: i64,
    /// When it was accepted, unix seconds.
    pub accepted_at_secs: i64,
    /// Who accepted it.
    pub actor: String,
    /// Why, as the user wrote it.
    pub note: Option<String>,
    /// Assets in the snapshot.
    pub assets: u64,
    /// Conversations in the snapshot.
    pub conversations: u64,
}

/// A baseline with its snapshot document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Baseline {
    /// Its listing.
    pub summary: BaselineSummary,
    /// The snapshot, JSON, as the caller stored it.
    pub doc: String,
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<BaselineSummary> {
    Ok(BaselineSummary {
        id: r.get(0)?,
        accepted_at_secs: r.get(1)?,
        actor: r.get(2)?,
        note: r.get(3)?,
        assets: count(r.get(4)?),
        conversations: count(r.get(5)?),
    })
}

const COLUMNS: &str = "id, accepted_at, actor, note, assets, conversations";

impl Store {
    /// Stores a snapshot as the baseline in force and appends an
    /// `accept_baseline` audit entry, in one transaction: on any error neither
    /// is written. Returns the baseline's id. `doc` must be JSON (checked).
    pub fn accept_baseline(
        &mut self,
        doc: &str,
        assets: u64,
        conversations: u64,
        note: Option<&str>,
        actor: &str,
        at_secs: i64,
    ) -> Result<i64, StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the baseline transaction"))?;
        let previous: Option<(i64, i64)> = tx
            .query_row("SELECT id, accepted_at FROM baselines ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(sql(path, "reading the previous baseline"))?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        tx.execute(
            "INSERT INTO baselines (accepted_at, actor, note, assets, conversations, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![at_secs, actor, note, int(assets), int(conversations), doc],
        )
        .map_err(sql(path, "writing the baseline"))?;
        let id = tx.last_insert_rowid();
        let detail = serde_json::json!({
            "baseline_id": id,
            "note": note,
            "assets": assets,
            "conversations": conversations,
            "previous": previous.map(|(id, at)| serde_json::json!({ "baseline_id": id, "accepted_at_secs": at })),
        });
        log(&tx, path, (at_secs, actor), "accept_baseline", AUDIT_TARGET, &detail)?;
        tx.commit().map_err(sql(path, "committing the baseline"))?;
        Ok(id)
    }

    /// The baseline in force (the newest), with its document; `None` before
    /// any was accepted.
    pub fn current_baseline(&self) -> Result<Option<Baseline>, StoreError> {
        self.baseline_where("ORDER BY id DESC LIMIT 1", None)
    }

    /// The baseline `id`, with its document.
    pub fn baseline(&self, id: i64) -> Result<Option<Baseline>, StoreError> {
        self.baseline_where("WHERE id = ?1", Some(id))
    }

    fn baseline_where(&self, clause: &str, id: Option<i64>) -> Result<Option<Baseline>, StoreError> {
        let q = format!("SELECT {COLUMNS}, doc FROM baselines {clause}");
        let args: Vec<rusqlite::types::Value> = id.into_iter().map(Into::into).collect();
        self.conn
            .query_row(&q, rusqlite::params_from_iter(args), |r| Ok(Baseline { summary: summary(r)?, doc: r.get(6)? }))
            .optional()
            .map_err(sql(&self.path, "reading a baseline"))
    }

    /// Every baseline accepted, newest (the one in force) first, without documents.
    pub fn baselines(&self) -> Result<Vec<BaselineSummary>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM baselines ORDER BY id DESC");
        self.rows(&q, Vec::new(), "listing baselines", summary)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_baseline_is_in_force_listed_and_logged() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.current_baseline().unwrap(), None);
        let first =
            store.accept_baseline(r#"{"schema":"a"}"#, 3, 4, Some(" after commissioning "), "alice", 100).unwrap();
        let second = store.accept_baseline(r#"{"schema":"b"}"#, 5, 6, None, "bob", 200).unwrap();
        let current = store.current_baseline().unwrap().unwrap();
        assert_eq!(current.summary.id, second);
        assert_eq!(current.doc, r#"{"schema":"b"}"#);
        assert_eq!(
            (current.summary.actor.as_str(), current.summary.assets, current.summary.conversations),
            ("bob", 5, 6)
        );
        let listed = store.baselines().unwrap();
        assert_eq!(listed.iter().map(|b| b.id).collect::<Vec<_>>(), [second, first]);
        assert_eq!(listed[1].note.as_deref(), Some("after commissioning"));
        assert_eq!(store.baseline(first).unwrap().unwrap().doc, r#"{"schema":"a"}"#);
        assert_eq!(store.baseline(99).unwrap(), None);

        let log = store.audit_log(None).unwrap();
        assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["accept_baseline", "accept_baseline"]);
        assert_eq!((log[0].actor.as_str(), log[0].target.as_str(), log[0].at_secs), ("bob", "baseline", 200));
        let detail: serde_json::Value = serde_json::from_str(&log[0].detail).unwrap();
        assert_eq!(detail["baseline_id"], second);
        assert_eq!(detail["previous"]["baseline_id"], first);
        let detail: serde_json::Value = serde_json::from_str(&log[1].detail).unwrap();
        assert_eq!(
            (detail["note"].as_str(), &detail["previous"]),
            (Some("after commissioning"), &serde_json::Value::Null)
        );
    }

    #[test]
    fn a_document_that_is_not_json_is_refused_and_nothing_is_logged() {
        let mut store = Store::open_in_memory().unwrap();
        let err = store.accept_baseline("{not json", 0, 0, None, "alice", 1).unwrap_err();
        let source = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
        assert!(source.contains("json_valid"), "{err}: {source}");
        assert_eq!(store.baselines().unwrap(), []);
        assert_eq!(store.audit_log(None).unwrap(), []);
    }

    /// A schema 7 file holding an audit entry migrates, keeps the entry and takes a baseline.
    #[test]
    fn a_schema_7_file_migrates_to_the_baseline_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v7.db");
        {
            let conn = crate::migrate::file_at(&path, 7);
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (8, 'me', 'set_role', 'mac-a', '{}')",
                [],
            )
            .unwrap();
            assert_eq!(crate::migrate::user_version(&conn, &path).unwrap(), 7);
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        assert_eq!(store.current_baseline().unwrap(), None);
        store.accept_baseline("{}", 0, 0, None, "me", 9).unwrap();
        let actions: Vec<String> = store.audit_log(None).unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["accept_baseline", "set_role"], "the schema 7 audit entry is kept");
    }
}
