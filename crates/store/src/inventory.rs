//! The stored inventory (schema 4): assets and edges replaced whole by each
//! build, the user's role overrides, and the append-only audit log.

use crate::error::{sql, StoreError};
use crate::rows::{AssetRecord, AuditEntry, EdgeRecord, InventoryBuild, RoleOverride};
use crate::Store;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// Which stored assets to list; empty lists all, ordered by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssetFilter {
    /// This asset only.
    pub id: Option<String>,
    /// Assets of this role.
    pub role: Option<String>,
    /// Assets at this Purdue level.
    pub level: Option<u8>,
    /// Assets whose vendor contains this text, any case.
    pub vendor_contains: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
}

/// Which stored edges to list; empty lists all, ordered by client, server, protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeFilter {
    /// Edges with this asset at either end.
    pub asset: Option<String>,
    /// Edges of this protocol.
    pub protocol: Option<String>,
    /// Edges carrying this trust word.
    pub trust: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
}

pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `%` and `_` in a LIKE pattern taken literally.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The query (and its arguments) for the assets matching `filter`, in id order.
fn asset_query(filter: &AssetFilter) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql_text = String::from(
        "SELECT id, role, level, rule, vendor, model, firmware, first_seen, last_seen, doc FROM assets WHERE 1",
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(id) = &filter.id {
        sql_text.push_str(" AND id = ?");
        args.push(id.clone().into());
    }
    if let Some(role) = &filter.role {
        sql_text.push_str(" AND role = ?");
        args.push(role.clone().into());
    }
    if let Some(level) = filter.level {
        sql_text.push_str(" AND level = ?");
        args.push(i64::from(level).into());
    }
    if let Some(v) = &filter.vendor_contains {
        sql_text.push_str(" AND vendor LIKE ? ESCAPE '\\'");
        args.push(format!("%{}%", like_escape(v)).into());
    }
    sql_text.push_str(" ORDER BY id");
    if let Some(limit) = filter.limit {
        sql_text.push_str(" LIMIT ?");
        args.push(i64::from(limit).into());
    }
    (sql_text, args)
}

/// The query (and its arguments) for the edges matching `filter`, ordered by
/// client, server and protocol.
fn edge_query(filter: &EdgeFilter) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql_text = String::from("SELECT client, server, protocol, trust, doc FROM edges WHERE 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(a) = &filter.asset {
        sql_text.push_str(" AND (client = ? OR server = ?)");
        args.push(a.clone().into());
        args.push(a.clone().into());
    }
    if let Some(p) = &filter.protocol {
        sql_text.push_str(" AND protocol = ?");
        args.push(p.clone().into());
    }
    if let Some(t) = &filter.trust {
        sql_text.push_str(" AND (' ' || trust || ' ') LIKE ? ESCAPE '\\'");
        args.push(format!("% {} %", like_escape(t)).into());
    }
    sql_text.push_str(" ORDER BY client, server, protocol");
    if let Some(limit) = filter.limit {
        sql_text.push_str(" LIMIT ?");
        args.push(i64::from(limit).into());
    }
    (sql_text, args)
}

/// An edge row as a record.
fn edge_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<EdgeRecord> {
    let trust: String = r.get(3)?;
    Ok(EdgeRecord {
        client: r.get(0)?,
        server: r.get(1)?,
        protocol: r.get(2)?,
        trust: trust.split_whitespace().map(str::to_string).collect(),
        doc: r.get(4)?,
    })
}

/// An asset row as a record.
fn asset_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<AssetRecord> {
    Ok(AssetRecord {
        id: r.get(0)?,
        role: r.get(1)?,
        level: r.get::<_, Option<i64>>(2)?.and_then(|l| u8::try_from(l).ok()),
        rule: r.get(3)?,
        vendor: r.get(4)?,
        model: r.get(5)?,
        firmware: r.get(6)?,
        first_seen_ns: r.get(7)?,
        last_seen_ns: r.get(8)?,
        doc: r.get(9)?,
    })
}

impl Store {
    /// Runs a read query and maps every row; `what` names it in errors.
    pub(crate) fn rows<T>(
        &self,
        sql_text: &str,
        args: Vec<rusqlite::types::Value>,
        what: &'static str,
        map: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let walked = self.each_row(sql_text, args, what, map, |row| {
            out.push(row);
            Ok::<_, std::convert::Infallible>(())
        })?;
        if let Err(never) = walked {
            match never {}
        }
        Ok(out)
    }

    /// Runs a read query and hands each mapped row to `f` without collecting
    /// them; an error from `f` stops the walk and is returned inside `Ok`.
    fn each_row<T, E>(
        &self,
        sql_text: &str,
        args: Vec<rusqlite::types::Value>,
        what: &'static str,
        map: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        mut f: impl FnMut(T) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let mut stmt = self.conn.prepare(sql_text).map_err(sql(&self.path, what))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args)).map_err(sql(&self.path, what))?;
        while let Some(r) = rows.next().map_err(sql(&self.path, what))? {
            if let Err(e) = f(map(r).map_err(sql(&self.path, what))?) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }

    /// Replaces the stored inventory with a new build, in one transaction: on
    /// any error the previous inventory stays. Role overrides are untouched.
    /// Returns the build's id.
    pub fn replace_inventory(
        &mut self,
        assets: &[AssetRecord],
        edges: &[EdgeRecord],
        unplaced_identities: u64,
        built_at_secs: i64,
    ) -> Result<i64, StoreError> {
        let edges = edges.iter().map(Ok::<_, std::convert::Infallible>);
        match self.replace_inventory_from(assets, edges, unplaced_identities, built_at_secs)? {
            Ok(id) => Ok(id),
            Err(never) => match never {},
        }
    }

    /// [`Store::replace_inventory`] with the edges made while they are
    /// written, so a plant-scale map is never held whole as records. An error
    /// from `edges` rolls the transaction back (the previous inventory stays)
    /// and is returned inside `Ok`; the outer error is the store's.
    pub fn replace_inventory_from<R, E>(
        &mut self,
        assets: &[AssetRecord],
        edges: impl IntoIterator<Item = Result<R, E>>,
        unplaced_identities: u64,
        built_at_secs: i64,
    ) -> Result<Result<i64, E>, StoreError>
    where
        R: std::borrow::Borrow<EdgeRecord>,
    {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the inventory transaction"))?;
        tx.execute("DELETE FROM assets", []).map_err(sql(path, "clearing the previous assets"))?;
        tx.execute("DELETE FROM edges", []).map_err(sql(path, "clearing the previous edges"))?;
        let mut edge_count: u64 = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO assets (id, role, level, rule, vendor, model, firmware, first_seen, last_seen, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql(path, "preparing the asset insert"))?;
            for a in assets {
                insert
                    .execute(params![
                        a.id,
                        a.role,
                        a.level,
                        a.rule,
                        a.vendor,
                        a.model,
                        a.firmware,
                        a.first_seen_ns,
                        a.last_seen_ns,
                        a.doc
                    ])
                    .map_err(sql(path, "writing an asset"))?;
            }
            let mut insert = tx
                .prepare_cached("INSERT INTO edges (client, server, protocol, trust, doc) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql(path, "preparing the edge insert"))?;
            for e in edges {
                let e = match e {
                    Ok(e) => e,
                    // Dropping the transaction rolls it back.
                    Err(err) => return Ok(Err(err)),
                };
                let e = e.borrow();
                insert
                    .execute(params![e.client, e.server, e.protocol, e.trust.join(" "), e.doc])
                    .map_err(sql(path, "writing an edge"))?;
                edge_count += 1;
            }
        }
        tx.execute(
            "INSERT INTO inventory_builds (built_at, assets, edges, unplaced_identities) VALUES (?1, ?2, ?3, ?4)",
            params![
                built_at_secs,
                i64::try_from(assets.len()).unwrap_or(i64::MAX),
                i64::try_from(edge_count).unwrap_or(i64::MAX),
                i64::try_from(unplaced_identities).unwrap_or(i64::MAX)
            ],
        )
        .map_err(sql(path, "recording the inventory build"))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(sql(path, "committing the inventory"))?;
        Ok(Ok(id))
    }

    /// The latest inventory build, if any.
    pub fn latest_inventory_build(&self) -> Result<Option<InventoryBuild>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, built_at, assets, edges, unplaced_identities FROM inventory_builds ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(InventoryBuild {
                        id: r.get(0)?,
                        built_at_secs: r.get(1)?,
                        assets: count(r.get(2)?),
                        edges: count(r.get(3)?),
                        unplaced_identities: count(r.get(4)?),
                    })
                },
            )
            .optional()
            .map_err(sql(&self.path, "reading the latest inventory build"))
    }

    /// Stored assets matching `filter`, ordered by id.
    pub fn assets(&self, filter: &AssetFilter) -> Result<Vec<AssetRecord>, StoreError> {
        let (q, args) = asset_query(filter);
        self.rows(&q, args, "listing assets", asset_record)
    }

    /// Hands each stored asset matching `filter` to `f`, in id order, without
    /// holding them all: a plant-scale listing runs in the memory of one
    /// asset. An error from `f` stops the walk and is returned inside `Ok`.
    pub fn each_asset<E>(
        &self,
        filter: &AssetFilter,
        f: impl FnMut(AssetRecord) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let (q, args) = asset_query(filter);
        self.each_row(&q, args, "listing assets", asset_record, f)
    }

    /// Stored edges matching `filter`, ordered by client, server and protocol.
    pub fn edges(&self, filter: &EdgeFilter) -> Result<Vec<EdgeRecord>, StoreError> {
        let (q, args) = edge_query(filter);
        self.rows(&q, args, "listing edges", edge_record)
    }

    /// Hands each stored edge matching `filter` to `f`, in order, without
    /// holding them all (a plant-scale map has a million). An error from `f`
    /// stops the walk and is returned inside `Ok`.
    pub fn each_edge<E>(
        &self,
        filter: &EdgeFilter,
        f: impl FnMut(EdgeRecord) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let (q, args) = edge_query(filter);
        self.each_row(&q, args, "listing edges", edge_record, f)
    }

    /// Sets (or changes) the user's role for an asset and logs the change with
    /// the previous override, in one transaction.
    pub fn set_role_override(
        &mut self,
        asset_id: &str,
        role: &str,
        reason: &str,
        actor: &str,
        at_secs: i64,
    ) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the override transaction"))?;
        let previous = override_of(&tx, path, asset_id)?;
        tx.execute(
            "INSERT INTO role_overrides (asset_id, role, reason, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (asset_id) DO UPDATE SET role = excluded.role, reason = excluded.reason,
                set_by = excluded.set_by, set_at = excluded.set_at",
            params![asset_id, role, reason, actor, at_secs],
        )
        .map_err(sql(path, "writing the override"))?;
        let detail = serde_json::json!({ "role": role, "reason": reason, "previous": previous });
        log(&tx, path, (at_secs, actor), "set_role", asset_id, &detail)?;
        tx.commit().map_err(sql(path, "committing the override"))
    }

    /// Removes the user's role for an asset, logging it; false when there was none.
    pub fn clear_role_override(&mut self, asset_id: &str, actor: &str, at_secs: i64) -> Result<bool, StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the override transaction"))?;
        let Some(previous) = override_of(&tx, path, asset_id)? else { return Ok(false) };
        tx.execute("DELETE FROM role_overrides WHERE asset_id = ?1", [asset_id])
            .map_err(sql(path, "removing the override"))?;
        log(&tx, path, (at_secs, actor), "clear_role", asset_id, &serde_json::json!({ "previous": previous }))?;
        tx.commit().map_err(sql(path, "committing the removal"))?;
        Ok(true)
    }

    /// Every role override, by asset id.
    pub fn role_overrides(&self) -> Result<Vec<RoleOverride>, StoreError> {
        let q = "SELECT asset_id, role, reason, set_by, set_at FROM role_overrides ORDER BY asset_id";
        self.rows(q, Vec::new(), "listing role overrides", |r| {
            Ok(RoleOverride {
                asset_id: r.get(0)?,
                role: r.get(1)?,
                reason: r.get(2)?,
                set_by: r.get(3)?,
                set_at_secs: r.get(4)?,
            })
        })
    }

    /// The audit log, newest first.
    pub fn audit_log(&self, limit: Option<u32>) -> Result<Vec<AuditEntry>, StoreError> {
        let q = "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1";
        self.rows(q, vec![limit.map_or(-1, i64::from).into()], "reading the audit log", |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at_secs: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: r.get(5)?,
            })
        })
    }
}

/// The role a user set on an asset, read inside a change's transaction.
fn override_of(
    tx: &rusqlite::Transaction<'_>,
    path: &std::path::Path,
    asset_id: &str,
) -> Result<Option<String>, StoreError> {
    tx.query_row("SELECT role FROM role_overrides WHERE asset_id = ?1", [asset_id], |r| r.get(0))
        .optional()
        .map_err(sql(path, "reading the previous override"))
}

/// Appends to the audit log inside a change's transaction.
pub(crate) fn log(
    tx: &rusqlite::Transaction<'_>,
    path: &std::path::Path,
    (at_secs, actor): (i64, &str),
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at_secs, actor, action, target, detail.to_string()],
    )
    .map(drop)
    .map_err(sql(path, "logging the change"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A schema 3 file (with data) opens, migrates to the current schema
    /// (through 4 and 5) keeping its rows, and takes an inventory, an override
    /// and an audit entry.
    #[test]
    fn a_schema_3_file_migrates_to_the_inventory_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        {
            let conn = crate::migrate::file_at(&path, 3);
            conn.execute(
                "INSERT INTO captures (id, fingerprint, path, size_bytes, status, started_at)
                 VALUES (1, 'f', 'p', 0, 'complete', 0)",
                [],
            )
            .unwrap();
            assert_eq!(crate::migrate::user_version(&conn, &path).unwrap(), 3);
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        assert_eq!(store.latest_register_import().unwrap(), None, "schema 5 starts without a register");
        assert_eq!(store.counts().unwrap().captures, 1, "schema 3 rows are kept");
        assert_eq!(store.latest_inventory_build().unwrap(), None);
        let asset = AssetRecord {
            id: "mac-a".into(),
            role: "controller".into(),
            level: Some(1),
            rule: "r".into(),
            vendor: None,
            model: None,
            firmware: None,
            first_seen_ns: 0,
            last_seen_ns: 0,
            doc: "{}".into(),
        };
        let id = store.replace_inventory(std::slice::from_ref(&asset), &[], 0, 5).unwrap();
        assert_eq!(store.latest_inventory_build().unwrap().map(|b| b.id), Some(id));
        assert_eq!(store.assets(&AssetFilter::default()).unwrap(), [asset]);
        store.set_role_override("mac-a", "hmi", "why", "me", 6).unwrap();
        assert_eq!(store.audit_log(None).unwrap()[0].action, "set_role");
    }
}
