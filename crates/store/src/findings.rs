//! Findings and their lifecycle, assessments, and the site files applied
//! (schema 9, `0009_findings.sql`).

use crate::error::{sql, StoreError};
use crate::inventory::log;
use crate::Store;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A finding as an assessment produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundFinding {
    /// Stable id (check and key hashed).
    pub id: String,
    /// The check.
    pub check: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// One line.
    pub title: String,
    /// Earliest evidence, ns since the epoch.
    pub first_seen_ns: i64,
    /// Latest evidence.
    pub last_seen_ns: i64,
    /// Asset ids it concerns.
    pub assets: Vec<String>,
    /// The finding as JSON.
    pub doc: String,
}

/// A stored finding with its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    /// Stable id.
    pub id: String,
    /// The check.
    pub check: String,
    /// Severity name.
    pub severity: String,
    /// `open`, `acknowledged`, `accepted` or `resolved`.
    pub state: String,
    /// One line.
    pub title: String,
    /// Earliest evidence, ns since the epoch.
    pub first_seen_ns: i64,
    /// Latest evidence.
    pub last_seen_ns: i64,
    /// Unix seconds it was first found.
    pub opened_at_secs: i64,
    /// Unix seconds it was last found or changed.
    pub updated_at_secs: i64,
    /// Unix seconds it was resolved, while resolved.
    pub resolved_at_secs: Option<i64>,
    /// Times it was found again after being resolved (or an acceptance expired).
    pub reopened: i64,
    /// Who acknowledged or accepted it.
    pub state_by: Option<String>,
    /// Why.
    pub state_reason: Option<String>,
    /// Unix seconds the acceptance ends.
    pub accepted_until_secs: Option<i64>,
    /// The finding as JSON.
    pub doc: String,
}

/// A change of state an assessment made (what alerts are sent for).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The finding.
    pub finding_id: String,
    /// `opened`, `reopened` or `resolved`.
    pub event: &'static str,
}

/// What one assessment changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AssessmentOutcome {
    /// The assessment's row id.
    pub id: i64,
    /// Findings produced (and not stale).
    pub found: usize,
    /// State changes, in finding id order.
    pub transitions: Vec<Transition>,
    /// Findings in each state after it, by state name.
    pub states: BTreeMap<String, u64>,
}

/// Which findings to list.
#[derive(Clone, Debug, Default)]
pub struct FindingFilter {
    /// States wanted (empty: all).
    pub states: Vec<String>,
    /// Severities wanted (empty: all).
    pub severities: Vec<String>,
    /// Checks whose id starts with this.
    pub check_prefix: Option<String>,
    /// Findings concerning this asset.
    pub asset: Option<String>,
}

/// A site file applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SiteRow {
    /// Row id.
    pub id: i64,
    /// Unix seconds.
    pub applied_at_secs: i64,
    /// Who applied it.
    pub actor: String,
    /// The site's name.
    pub name: String,
    /// SHA-256 of the text, hex.
    pub sha256: String,
    /// Where it was read from.
    pub path: String,
    /// The file.
    pub text: String,
}

/// What an assessment is told about itself.
#[derive(Clone, Copy, Debug)]
pub struct AssessmentContext<'a> {
    /// Unix seconds now.
    pub at_secs: i64,
    /// Who runs it.
    pub actor: &'a str,
    /// The site in force: (name, sha256).
    pub site: Option<(&'a str, &'a str)>,
}

const FINDING_COLUMNS: &str = "id, check_id, severity, state, title, first_seen, last_seen, opened_at, updated_at, \
    resolved_at, reopened, state_by, state_reason, accepted_until, doc";

fn finding_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FindingRow> {
    Ok(FindingRow {
        id: r.get(0)?,
        check: r.get(1)?,
        severity: r.get(2)?,
        state: r.get(3)?,
        title: r.get(4)?,
        first_seen_ns: r.get(5)?,
        last_seen_ns: r.get(6)?,
        opened_at_secs: r.get(7)?,
        updated_at_secs: r.get(8)?,
        resolved_at_secs: r.get(9)?,
        reopened: r.get(10)?,
        state_by: r.get(11)?,
        state_reason: r.get(12)?,
        accepted_until_secs: r.get(13)?,
        doc: r.get(14)?,
    })
}

/// States a user may set.
pub const USER_STATES: [&str; 3] = ["open", "acknowledged", "accepted"];

impl Store {
    /// Records what one assessment found, in one transaction: new findings
    /// open; resolved ones found again reopen, as do accepted ones whose
    /// acceptance has expired; open, acknowledged and accepted findings it did
    /// not find are resolved. Acknowledged and accepted findings found again
    /// keep their state.
    pub fn record_assessment(
        &mut self,
        found: &[FoundFinding],
        ctx: AssessmentContext<'_>,
    ) -> Result<AssessmentOutcome, StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the assessment transaction"))?;
        let mut transitions = Vec::new();
        let mut seen = BTreeSet::new();
        {
            let mut get = tx
                .prepare("SELECT state, accepted_until FROM findings WHERE id = ?1")
                .map_err(sql(path, "reading a finding"))?;
            let mut insert = tx
                .prepare(
                    "INSERT INTO findings (id, check_id, severity, state, title, first_seen, last_seen, opened_at, updated_at, doc)
                     VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, ?7, ?7, ?8)",
                )
                .map_err(sql(path, "preparing the finding insert"))?;
            let mut update = tx
                .prepare(
                    "UPDATE findings SET severity = ?2, title = ?3, first_seen = min(first_seen, ?4), last_seen = max(last_seen, ?5),
                        updated_at = ?6, doc = ?7 WHERE id = ?1",
                )
                .map_err(sql(path, "preparing the finding update"))?;
            let mut reopen = tx
                .prepare(
                    "UPDATE findings SET state = 'open', reopened = reopened + 1, resolved_at = NULL, state_by = NULL,
                        state_reason = NULL, accepted_until = NULL WHERE id = ?1",
                )
                .map_err(sql(path, "preparing the finding reopen"))?;
            let mut clear_assets = tx
                .prepare("DELETE FROM finding_assets WHERE finding = ?1")
                .map_err(sql(path, "preparing asset links"))?;
            let mut link = tx
                .prepare("INSERT OR IGNORE INTO finding_assets (asset, finding) VALUES (?1, ?2)")
                .map_err(sql(path, "preparing asset links"))?;
            for f in found {
                if !seen.insert(f.id.as_str()) {
                    continue;
                }
                let prior: Option<(String, Option<i64>)> = get
                    .query_row([&f.id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(sql(path, "reading a finding"))?;
                match prior {
                    None => {
                        insert
                            .execute(params![
                                f.id,
                                f.check,
                                f.severity,
                                f.title,
                                f.first_seen_ns,
                                f.last_seen_ns,
                                ctx.at_secs,
                                f.doc
                            ])
                            .map_err(sql(path, "inserting a finding"))?;
                        transitions.push(Transition { finding_id: f.id.clone(), event: "opened" });
                    }
                    Some((state, until)) => {
                        update
                            .execute(params![
                                f.id,
                                f.severity,
                                f.title,
                                f.first_seen_ns,
                                f.last_seen_ns,
                                ctx.at_secs,
                                f.doc
                            ])
                            .map_err(sql(path, "updating a finding"))?;
                        let expired = state == "accepted" && until.is_some_and(|u| u <= ctx.at_secs);
                        if state == "resolved" || expired {
                            reopen.execute([&f.id]).map_err(sql(path, "reopening a finding"))?;
                            transitions.push(Transition { finding_id: f.id.clone(), event: "reopened" });
                        }
                    }
                }
                clear_assets.execute([&f.id]).map_err(sql(path, "relinking assets"))?;
                for a in &f.assets {
                    link.execute([a, &f.id]).map_err(sql(path, "linking an asset"))?;
                }
            }
            let mut live = tx
                .prepare("SELECT id FROM findings WHERE state != 'resolved' ORDER BY id")
                .map_err(sql(path, "listing live findings"))?;
            let ids: Vec<String> = live
                .query_map([], |r| r.get(0))
                .map_err(sql(path, "listing live findings"))?
                .collect::<Result<_, _>>()
                .map_err(sql(path, "listing live findings"))?;
            let mut resolve = tx
                .prepare("UPDATE findings SET state = 'resolved', resolved_at = ?2, updated_at = ?2 WHERE id = ?1")
                .map_err(sql(path, "preparing the resolve"))?;
            for id in ids.iter().filter(|id| !seen.contains(id.as_str())) {
                resolve.execute(params![id, ctx.at_secs]).map_err(sql(path, "resolving a finding"))?;
                transitions.push(Transition { finding_id: id.clone(), event: "resolved" });
            }
        }
        transitions.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
        let count = |e: &str| transitions.iter().filter(|t| t.event == e).count() as i64;
        tx.execute(
            "INSERT INTO assessments (at, actor, site, site_sha256, findings, opened, reopened, resolved)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ctx.at_secs,
                ctx.actor,
                ctx.site.map(|s| s.0),
                ctx.site.map(|s| s.1),
                seen.len() as i64,
                count("opened"),
                count("reopened"),
                count("resolved")
            ],
        )
        .map_err(sql(path, "recording the assessment"))?;
        let id = tx.last_insert_rowid();
        let mut states = BTreeMap::new();
        {
            let mut q = tx
                .prepare("SELECT state, count(*) FROM findings GROUP BY state")
                .map_err(sql(path, "counting findings"))?;
            let rows = q
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(sql(path, "counting findings"))?;
            for row in rows {
                let (state, n) = row.map_err(sql(path, "counting findings"))?;
                states.insert(state, u64::try_from(n).unwrap_or(0));
            }
        }
        tx.commit().map_err(sql(path, "committing the assessment"))?;
        Ok(AssessmentOutcome { id, found: seen.len(), transitions, states })
    }

    /// Findings matching the filter, gravest first, then newest evidence first.
    pub fn findings(&self, filter: &FindingFilter) -> Result<Vec<FindingRow>, StoreError> {
        let mut q = format!("SELECT {FINDING_COLUMNS} FROM findings f WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut any_of = |q: &mut String, column: &str, values: &[String]| {
            if values.is_empty() {
                return;
            }
            q.push_str(&format!(" AND {column} IN ("));
            for (i, v) in values.iter().enumerate() {
                q.push_str(if i == 0 { "?" } else { ", ?" });
                args.push(v.clone().into());
            }
            q.push(')');
        };
        any_of(&mut q, "state", &filter.states);
        any_of(&mut q, "severity", &filter.severities);
        if let Some(prefix) = &filter.check_prefix {
            q.push_str(" AND substr(check_id, 1, length(?)) = ?");
            args.push(prefix.clone().into());
            args.push(prefix.clone().into());
        }
        if let Some(asset) = &filter.asset {
            q.push_str(" AND id IN (SELECT finding FROM finding_assets WHERE asset = ?)");
            args.push(asset.clone().into());
        }
        q.push_str(
            " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, last_seen DESC, id",
        );
        self.rows(&q, args, "listing findings", finding_row)
    }

    /// One finding.
    pub fn finding(&self, id: &str) -> Result<Option<FindingRow>, StoreError> {
        let q = format!("SELECT {FINDING_COLUMNS} FROM findings WHERE id = ?1");
        Ok(self.rows(&q, vec![id.to_string().into()], "reading a finding", finding_row)?.into_iter().next())
    }

    /// Sets a finding's state (`open`, `acknowledged` or `accepted`, this one
    /// with an end) with the reason, logging the change with the state before;
    /// false when there is no such finding.
    pub fn set_finding_state(
        &mut self,
        id: &str,
        state: &str,
        reason: &str,
        accepted_until_secs: Option<i64>,
        (at_secs, actor): (i64, &str),
    ) -> Result<bool, StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the finding change"))?;
        let before: Option<(String, Option<String>, Option<i64>)> = tx
            .query_row("SELECT state, state_reason, accepted_until FROM findings WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(sql(path, "reading the finding"))?;
        let Some((previous, previous_reason, previous_until)) = before else { return Ok(false) };
        let (by, why) = if state == "open" { (None, None) } else { (Some(actor), Some(reason)) };
        tx.execute(
            "UPDATE findings SET state = ?2, state_by = ?3, state_reason = ?4, accepted_until = ?5, updated_at = ?6 WHERE id = ?1",
            params![id, state, by, why, accepted_until_secs, at_secs],
        )
        .map_err(sql(path, "changing the finding"))?;
        let detail = serde_json::json!({
            "state": state,
            "reason": reason,
            "accepted_until": accepted_until_secs,
            "previous": { "state": previous, "reason": previous_reason, "accepted_until": previous_until },
        });
        let action = match state {
            "accepted" => "accept_finding",
            "acknowledged" => "acknowledge_finding",
            _ => "reopen_finding",
        };
        log(&tx, path, (at_secs, actor), action, id, &detail)?;
        tx.commit().map_err(sql(path, "committing the finding change"))?;
        Ok(true)
    }

    /// Stores a site file as the one in force and logs it; unchanged text
    /// (same SHA-256 as the one in force) is not stored again: false.
    pub fn apply_site(
        &mut self,
        (name, sha256, path_text, text): (&str, &str, &str, &str),
        (at_secs, actor): (i64, &str),
    ) -> Result<bool, StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the site change"))?;
        let current: Option<String> = tx
            .query_row("SELECT sha256 FROM sites ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
            .optional()
            .map_err(sql(path, "reading the site in force"))?;
        if current.as_deref() == Some(sha256) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO sites (applied_at, actor, name, sha256, path, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![at_secs, actor, name, sha256, path_text, text],
        )
        .map_err(sql(path, "storing the site file"))?;
        let detail =
            serde_json::json!({ "name": name, "sha256": sha256, "path": path_text, "previous_sha256": current });
        log(&tx, path, (at_secs, actor), "apply_site", name, &detail)?;
        tx.commit().map_err(sql(path, "committing the site change"))?;
        Ok(true)
    }

    /// The site file in force.
    pub fn current_site(&self) -> Result<Option<SiteRow>, StoreError> {
        let q = "SELECT id, applied_at, actor, name, sha256, path, text FROM sites ORDER BY id DESC LIMIT 1";
        Ok(self
            .rows(q, Vec::new(), "reading the site in force", |r| {
                Ok(SiteRow {
                    id: r.get(0)?,
                    applied_at_secs: r.get(1)?,
                    actor: r.get(2)?,
                    name: r.get(3)?,
                    sha256: r.get(4)?,
                    path: r.get(5)?,
                    text: r.get(6)?,
                })
            })?
            .into_iter()
            .next())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn found(id: &str, last: i64) -> FoundFinding {
        FoundFinding {
            id: id.into(),
            check: "segmentation.no_conduit".into(),
            severity: "high".into(),
            title: format!("finding {id}"),
            first_seen_ns: 10,
            last_seen_ns: last,
            assets: vec!["mac-a".into(), format!("mac-{id}")],
            doc: "{}".into(),
        }
    }

    fn ctx(at: i64) -> AssessmentContext<'static> {
        AssessmentContext { at_secs: at, actor: "tester", site: Some(("plant", "abc")) }
    }

    fn events(o: &AssessmentOutcome) -> Vec<(&str, &str)> {
        o.transitions.iter().map(|t| (t.finding_id.as_str(), t.event)).collect()
    }

    #[test]
    fn the_lifecycle_opens_resolves_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("f.db")).unwrap();
        let o = store.record_assessment(&[found("F1", 20), found("F2", 20)], ctx(100)).unwrap();
        assert_eq!(events(&o), [("F1", "opened"), ("F2", "opened")]);
        // Found again: no transition, evidence times widen.
        let o = store.record_assessment(&[found("F1", 30), found("F2", 25)], ctx(200)).unwrap();
        assert!(o.transitions.is_empty());
        let f1 = store.finding("F1").unwrap().unwrap();
        assert_eq!((f1.state.as_str(), f1.last_seen_ns, f1.opened_at_secs, f1.updated_at_secs), ("open", 30, 100, 200));
        // F2 no longer found: resolved; then found again: reopened.
        let o = store.record_assessment(&[found("F1", 30)], ctx(300)).unwrap();
        assert_eq!(events(&o), [("F2", "resolved")]);
        assert_eq!(store.finding("F2").unwrap().unwrap().resolved_at_secs, Some(300));
        let o = store.record_assessment(&[found("F1", 30), found("F2", 40)], ctx(400)).unwrap();
        assert_eq!(events(&o), [("F2", "reopened")]);
        let f2 = store.finding("F2").unwrap().unwrap();
        assert_eq!((f2.state.as_str(), f2.reopened, f2.resolved_at_secs), ("open", 1, None));
        assert_eq!(o.states.get("open"), Some(&2));
    }

    #[test]
    fn acceptance_holds_until_it_expires_and_every_change_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("f.db")).unwrap();
        store.record_assessment(&[found("F1", 20), found("F2", 20)], ctx(100)).unwrap();
        assert!(store
            .set_finding_state("F1", "accepted", "compensating control: firewall", Some(500), (110, "alice"))
            .unwrap());
        assert!(store.set_finding_state("F2", "acknowledged", "ticket 42", None, (111, "bob")).unwrap());
        assert!(!store.set_finding_state("F9", "accepted", "x", Some(1), (112, "bob")).unwrap());
        let o = store.record_assessment(&[found("F1", 20), found("F2", 20)], ctx(400)).unwrap();
        assert!(o.transitions.is_empty(), "accepted and acknowledged stay so: {:?}", o.transitions);
        let f1 = store.finding("F1").unwrap().unwrap();
        assert_eq!(
            (f1.state.as_str(), f1.state_by.as_deref(), f1.accepted_until_secs),
            ("accepted", Some("alice"), Some(500))
        );
        let o = store.record_assessment(&[found("F1", 20), found("F2", 20)], ctx(500)).unwrap();
        assert_eq!(events(&o), [("F1", "reopened")], "the acceptance expired");
        let f1 = store.finding("F1").unwrap().unwrap();
        assert_eq!((f1.state.as_str(), f1.state_by.as_deref()), ("open", None));
        let log = store.audit_log(None).unwrap();
        let actions: Vec<_> = log.iter().map(|e| (e.action.as_str(), e.target.as_str(), e.actor.as_str())).collect();
        assert_eq!(actions, [("acknowledge_finding", "F2", "bob"), ("accept_finding", "F1", "alice")]);
        assert!(log[1].detail.contains("compensating control") && log[1].detail.contains("\"previous\""));
    }

    #[test]
    fn findings_filter_by_state_severity_check_and_asset() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("f.db")).unwrap();
        let mut low = found("F3", 50);
        low.severity = "low".into();
        low.check = "site.unzoned_asset".into();
        store.record_assessment(&[found("F1", 20), found("F2", 30), low], ctx(100)).unwrap();
        store.set_finding_state("F2", "acknowledged", "seen", None, (101, "bob")).unwrap();
        let ids = |f: FindingFilter| store.findings(&f).unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(FindingFilter::default()), ["F2", "F1", "F3"], "gravest, then newest evidence");
        assert_eq!(ids(FindingFilter { states: vec!["open".into()], ..Default::default() }), ["F1", "F3"]);
        assert_eq!(ids(FindingFilter { severities: vec!["low".into()], ..Default::default() }), ["F3"]);
        assert_eq!(
            ids(FindingFilter { check_prefix: Some("segmentation.".into()), ..Default::default() }),
            ["F2", "F1"]
        );
        assert_eq!(ids(FindingFilter { asset: Some("mac-F1".into()), ..Default::default() }), ["F1"]);
        assert_eq!(ids(FindingFilter { asset: Some("mac-a".into()), ..Default::default() }).len(), 3);
    }

    #[test]
    fn a_site_file_is_stored_once_per_text_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("f.db")).unwrap();
        assert!(store.current_site().unwrap().is_none());
        assert!(store.apply_site(("plant", "aa", "site.toml", "[site]"), (1, "alice")).unwrap());
        assert!(!store.apply_site(("plant", "aa", "site.toml", "[site]"), (2, "alice")).unwrap());
        assert!(store.apply_site(("plant", "bb", "site.toml", "[site]\n"), (3, "bob")).unwrap());
        let s = store.current_site().unwrap().unwrap();
        assert_eq!((s.sha256.as_str(), s.actor.as_str()), ("bb", "bob"));
        let log = store.audit_log(None).unwrap();
        assert_eq!(log.iter().filter(|e| e.action == "apply_site").count(), 2);
        assert!(log[0].detail.contains("\"previous_sha256\":\"aa\""), "{}", log[0].detail);
    }

    /// A schema 8 file holding a baseline migrates, keeps it and takes findings.
    #[test]
    fn a_schema_8_file_migrates_to_the_findings_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v8.db");
        {
            let conn = crate::migrate::file_at(&path, 8);
            conn.execute(
                "INSERT INTO baselines (accepted_at, actor, note, assets, conversations, doc)
                 VALUES (9, 'me', 'before findings', 0, 0, '{}')",
                [],
            )
            .unwrap();
            assert_eq!(crate::migrate::user_version(&conn, &path).unwrap(), 8);
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        assert_eq!(store.current_baseline().unwrap().unwrap().summary.note.as_deref(), Some("before findings"));
        let o = store.record_assessment(&[found("F1", 20)], ctx(100)).unwrap();
        assert_eq!(events(&o), [("F1", "opened")]);
    }
}
