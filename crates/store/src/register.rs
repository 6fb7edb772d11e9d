//! The asset register (schema 5): the user's CMDB export as last imported,
//! the history of imports, and their audit entries.
//!
//! An import replaces the register whole, in one transaction with its audit
//! entry: a failed import leaves the previous register in force. Every import
//! stays listed in `register_imports`; only the newest keeps its entries.
//! Parsing, validation and reconciliation live in crates/cmdb, not here.

use crate::error::{sql, StoreError};
use crate::inventory::{count, log};
use crate::rows::{Attributes, RegisterEntry, RegisterFlag, RegisterImport, RegisterSource};
use crate::Store;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// The audit log's target for register imports.
const AUDIT_TARGET: &str = "register";

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `None` for an empty or blank text, so listings show null rather than "".
fn text(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.trim().is_empty())
}

fn import_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RegisterImport> {
    Ok(RegisterImport {
        id: r.get(0)?,
        file: r.get(1)?,
        format: r.get(2)?,
        preset: r.get(3)?,
        mapping: r.get(4)?,
        imported_at_secs: r.get(5)?,
        rows: count(r.get(6)?),
        skipped: count(r.get(7)?),
    })
}

const IMPORT_COLUMNS: &str = "id, file, format, preset, mapping, imported_at, rows, skipped";

impl Store {
    /// Makes `entries` the register, recording the import and an
    /// `import_register` audit entry, in one transaction: on any error (two
    /// entries on one row, a full disk) the previous register stays in force.
    /// Entries of earlier imports are deleted; their import rows stay as
    /// history. Returns the import's id.
    pub fn replace_register(
        &mut self,
        source: &RegisterSource,
        entries: &[RegisterEntry],
        actor: &str,
        at_secs: i64,
    ) -> Result<i64, StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the register transaction"))?;
        let previous: Option<(i64, i64)> = tx
            .query_row("SELECT id, rows FROM register_imports ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(sql(path, "reading the previous register import"))?;
        tx.execute("DELETE FROM register_entries", []).map_err(sql(path, "clearing the previous register"))?;
        tx.execute(
            "INSERT INTO register_imports (file, format, preset, mapping, imported_at, rows, skipped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                source.file,
                source.format,
                source.preset,
                source.mapping,
                at_secs,
                int(entries.len() as u64),
                int(source.skipped)
            ],
        )
        .map_err(sql(path, "recording the register import"))?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO register_entries (import_id, row, name, macs, ips, serial, vendor, vendor_raw,
                        model, firmware, role, site, location, owner, asset_tag, criticality, notes, extra, flags,
                        network)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                        ?20)",
                )
                .map_err(sql(path, "preparing the register entry insert"))?;
            for e in entries {
                let extra = serde_json::to_string(&e.extra).unwrap_or_else(|_| "{}".into());
                let flags = serde_json::to_string(&e.flags).unwrap_or_else(|_| "[]".into());
                insert
                    .execute(params![
                        id,
                        int(e.row),
                        text(&e.name),
                        e.macs.join(" "),
                        e.ips.join(" "),
                        text(&e.serial),
                        text(&e.vendor),
                        text(&e.vendor_raw),
                        text(&e.model),
                        text(&e.firmware),
                        text(&e.role),
                        text(&e.site),
                        text(&e.location),
                        text(&e.owner),
                        text(&e.asset_tag),
                        text(&e.criticality),
                        text(&e.notes),
                        extra,
                        flags,
                        text(&e.network)
                    ])
                    .map_err(sql(path, "writing a register entry"))?;
            }
        }
        let detail = serde_json::json!({
            "import_id": id,
            "file": source.file,
            "format": source.format,
            "preset": source.preset,
            "rows": entries.len(),
            "skipped": source.skipped,
            "previous": previous.map(|(id, rows)| serde_json::json!({ "import_id": id, "rows": rows })),
        });
        log(&tx, path, (at_secs, actor), "import_register", AUDIT_TARGET, &detail)?;
        tx.commit().map_err(sql(path, "committing the register"))?;
        Ok(id)
    }

    /// The newest import (the register in force), if any.
    pub fn latest_register_import(&self) -> Result<Option<RegisterImport>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {IMPORT_COLUMNS} FROM register_imports ORDER BY id DESC LIMIT 1"),
                [],
                import_row,
            )
            .optional()
            .map_err(sql(&self.path, "reading the latest register import"))
    }

    /// Every import, newest first (only the newest still has entries).
    pub fn register_imports(&self) -> Result<Vec<RegisterImport>, StoreError> {
        let q = format!("SELECT {IMPORT_COLUMNS} FROM register_imports ORDER BY id DESC");
        self.rows(&q, Vec::new(), "listing register imports", import_row)
    }

    /// The register in force: the newest import's entries, by row. Empty when
    /// nothing was imported.
    pub fn register(&self) -> Result<Vec<RegisterEntry>, StoreError> {
        let q = "SELECT row, name, macs, ips, serial, vendor, vendor_raw, model, firmware, role, site, location,
                    owner, asset_tag, criticality, notes, extra, flags, network
                 FROM register_entries
                 WHERE import_id = (SELECT max(id) FROM register_imports)
                 ORDER BY row";
        let raw = self.rows(q, Vec::new(), "reading the register", |r| {
            let words = |s: String| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
            let entry = RegisterEntry {
                row: count(r.get(0)?),
                name: r.get(1)?,
                macs: words(r.get(2)?),
                ips: words(r.get(3)?),
                serial: r.get(4)?,
                vendor: r.get(5)?,
                vendor_raw: r.get(6)?,
                model: r.get(7)?,
                firmware: r.get(8)?,
                role: r.get(9)?,
                site: r.get(10)?,
                location: r.get(11)?,
                owner: r.get(12)?,
                asset_tag: r.get(13)?,
                criticality: r.get(14)?,
                notes: r.get(15)?,
                network: r.get(18)?,
                extra: Attributes::default(),
                flags: Vec::new(),
            };
            Ok((entry, r.get::<_, String>(16)?, r.get::<_, String>(17)?))
        })?;
        raw.into_iter()
            .map(|(mut entry, extra, flags)| {
                let bad = |column: &'static str, value: String| StoreError::BadValue {
                    path: self.path.clone(),
                    table: "register_entries",
                    column,
                    value,
                };
                entry.extra = serde_json::from_str::<Attributes>(&extra).map_err(|_| bad("extra", extra.clone()))?;
                entry.flags =
                    serde_json::from_str::<Vec<RegisterFlag>>(&flags).map_err(|_| bad("flags", flags.clone()))?;
                Ok(entry)
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::inventory::AssetFilter;

    /// A schema 4 file holding an inventory, an override and an audit entry
    /// migrates to 5 keeping them all, and takes a register.
    #[test]
    fn a_schema_4_file_migrates_to_the_register_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        {
            let conn = crate::migrate::file_at(&path, 4);
            conn.execute_batch(
                "INSERT INTO assets (id, role, level, rule, first_seen, last_seen, doc)
                     VALUES ('mac-a', 'controller', 1, 'r', 0, 0, '{}');
                 INSERT INTO inventory_builds (built_at, assets, edges, unplaced_identities) VALUES (7, 1, 0, 0);
                 INSERT INTO role_overrides VALUES ('mac-a', 'hmi', 'why', 'me', 8);
                 INSERT INTO audit_log (at, actor, action, target, detail) VALUES (8, 'me', 'set_role', 'mac-a', '{}');",
            )
            .unwrap();
            assert_eq!(crate::migrate::user_version(&conn, &path).unwrap(), 4);
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        assert_eq!(
            store.assets(&AssetFilter::default()).unwrap().iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["mac-a"]
        );
        assert_eq!(store.role_overrides().unwrap().len(), 1);
        assert_eq!(store.latest_register_import().unwrap(), None);
        assert!(store.register().unwrap().is_empty());

        let entry = RegisterEntry { row: 2, name: Some("PLC-1".into()), ..RegisterEntry::default() };
        let source =
            RegisterSource { file: "r.csv".into(), format: "csv".into(), mapping: "{}".into(), ..Default::default() };
        store.replace_register(&source, std::slice::from_ref(&entry), "me", 9).unwrap();
        assert_eq!(store.register().unwrap(), [entry]);
        let actions: Vec<String> = store.audit_log(None).unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["import_register", "set_role"], "the schema 4 audit entry is kept");
    }
}
