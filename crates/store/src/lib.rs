//! The embedded store: one SQLite file holding what analyses observed.
//!
//! Owns the database schema and its migrations ([`Store::open`]), the idempotent
//! write path for [`Observation`](otposture_model::Observation) batches
//! ([`Store::write_batch`]), the bookkeeping of captures and analysis runs, and the
//! read queries the CLI and server print ([`Store::hosts`], [`Store::flows`], ...).
//! It also keeps the asset inventory as last built ([`Store::replace_inventory`]),
//! the user's role overrides and the append-only audit log of their changes,
//! the asset register (CMDB) the user imported ([`Store::replace_register`]),
//! vulnerability intelligence with its provenance ([`Store::write_intel`]),
//! and the baselines the user accepted ([`Store::accept_baseline`]).
//!
//! The one rule everything here serves: **writing the same observations twice
//! changes nothing.** Flow records and message counts are cumulative and are merged
//! by maximum, host sightings by time span, events are de-duplicated by identity;
//! so re-analysing a capture, or resuming one after a crash, never double counts.
//! Each batch is one transaction: an error or a killed process loses at most the
//! batch in flight, never what was stored before (WAL journal, `synchronous=NORMAL`).
//!
//! It deliberately does not read captures, dissect, or judge posture, and it keeps
//! no state between calls besides the SQLite connection: a `Store` is a handle, one
//! per thread. Concurrent processes may share a file (SQLite locking, with a busy
//! timeout); writers take turns. See `docs/store.md` for tables and policies.

mod attempts;
#[macro_use]
mod bind;
mod baseline;
mod codes;
mod digest;
mod error;
mod findings;
mod intel;
mod inventory;
mod ipnet;
mod migrate;
mod query;
mod records;
mod register;
mod rows;
mod text;
mod users;
mod write;

pub use attempts::EmptyAttempts;
pub use baseline::{Baseline, BaselineSummary};
pub use error::StoreError;
pub use findings::{
    AssessmentContext, AssessmentOutcome, FindingFilter, FindingRow, FoundFinding, SiteRow, Transition, USER_STATES,
};
pub use intel::{
    AdvisoryProductRow, AdvisoryVulnerabilityRow, IntelAdvisory, IntelKindStatus, IntelRevision, IntelSourceRow,
    IntelWriter, ProductStatusRow, RemediationRow,
};
pub use inventory::{AssetFilter, EdgeFilter};
pub use ipnet::{IpNet, IpNetParseError};
pub use query::{ConversationFilter, EventFilter, FlowFilter, HostFilter, MessageFilter};
pub use rows::{
    AssetRecord, Attributes, AuditEntry, CaptureId, CaptureRow, CaptureStats, ClassCount, ConversationRow, Counts,
    EdgeRecord, EventRow, FlowRow, HostRow, InventoryBuild, MessageRow, OperationCount, OperationTotal,
    ProtocolSummary, RegisterEntry, RegisterFlag, RegisterImport, RegisterSource, RoleOverride, RunId, RunRow,
    RunStatus,
};
pub use users::UserRow;

use error::sql;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a statement waits for another process's lock before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page cache per connection, in KiB (SQLite's negative `cache_size`). The default
/// 2 MiB makes inserts into the flow indices re-read pages from the file once a
/// capture has some 10^4 flows; 64 MiB keeps a few million index entries hot.
const CACHE_KIB: i64 = 64 * 1024;

/// Page size of a new database file; an existing file keeps its own. 16 KiB
/// rather than SQLite's 4: an analysis appends rows to wide tables and their
/// indices, and larger pages split less often and make fewer WAL frames and
/// shallower indices. On the benchmark capture the store writer took
/// 0.49-0.51 s against 0.55-0.57 s (docs/performance.md).
const PAGE_BYTES: i64 = 16 * 1024;

/// WAL bytes before an automatic checkpoint copies them into the file. Each
/// checkpoint syncs twice; SQLite's default of 1,000 pages made a 1 GB
/// capture's analysis wait on some hundred syncs. Set in pages, of whatever
/// size the file has.
const WAL_CHECKPOINT_BYTES: i64 = 64 * 1024 * 1024;

/// Prepared statements kept per connection; the write path uses about ten.
const STATEMENT_CACHE: usize = 64;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 16;

/// A handle on one otposture database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Flow records of the open group, merged per flow until it commits.
    held_flows: write::HeldFlows,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to the
    /// current schema. Creates missing parent directories. Refuses files from a
    /// newer otposture and SQLite files that belong to another program.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(sql(path, "opening the database"))?;
        Store::init(conn, path.to_path_buf())
    }

    /// A private database in memory, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(sql(&path, "opening the database"))?;
        Store::init(conn, path)
    }

    fn init(mut conn: Connection, path: PathBuf) -> Result<Store, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(&path, "setting the busy timeout"))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Before the first write: a file's page size is fixed once it has one
        // (this is a no-op on an existing file).
        conn.pragma_update(None, "page_size", PAGE_BYTES).map_err(sql(&path, "setting the page size"))?;
        // WAL: readers never block the writer, and a killed writer leaves only an
        // uncommitted tail that the next open discards. NORMAL is durable against
        // process crashes; a power cut may lose the last committed batches, never
        // consistency. An in-memory database answers "memory" and stays so.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(sql(&path, "switching to WAL journal mode"))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql(&path, "setting synchronous=NORMAL"))?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB).map_err(sql(&path, "setting the page cache size"))?;
        conn.pragma_update(None, "foreign_keys", true).map_err(sql(&path, "enabling foreign keys"))?;
        let page_bytes: i64 = conn
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .map_err(sql(&path, "reading the page size"))?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_BYTES / page_bytes.max(512))
            .map_err(sql(&path, "setting the WAL checkpoint size"))?;
        digest::register(&conn).map_err(sql(&path, "registering the event digest function"))?;
        migrate::migrate(&mut conn, &path, migrate::MIGRATIONS)?;
        Ok(Store { conn, path, held_flows: write::HeldFlows::default() })
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (equal to [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrate::user_version(&self.conn, &self.path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_public_schema_version_is_the_last_migration() {
        assert_eq!(SCHEMA_VERSION, migrate::latest(migrate::MIGRATIONS));
    }

    fn pragma(store: &Store, name: &str) -> i64 {
        store.conn.pragma_query_value(None, name, |row| row.get(0)).unwrap()
    }

    #[test]
    fn a_new_file_gets_16_kib_pages_and_a_64_mib_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(pragma(&store, "page_size"), PAGE_BYTES);
        assert_eq!(pragma(&store, "wal_autocheckpoint") * PAGE_BYTES, WAL_CHECKPOINT_BYTES);
    }

    #[test]
    fn an_existing_file_keeps_its_page_size_and_scales_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        // A file whose page size is already fixed at SQLite's default 4 KiB, as
        // otposture made them before (VACUUM writes the header of an empty file).
        Connection::open(&path).unwrap().execute_batch("PRAGMA page_size = 4096; VACUUM;").unwrap();
        let mut store = Store::open(&path).unwrap();
        assert_eq!(pragma(&store, "page_size"), 4096);
        assert_eq!(pragma(&store, "wal_autocheckpoint") * 4096, WAL_CHECKPOINT_BYTES);
        let capture = store.begin_capture("f", Path::new("x.pcap"), 1, 0).unwrap();
        assert!(capture.0 > 0);
        drop(store);
        assert_eq!(pragma(&Store::open(&path).unwrap(), "page_size"), 4096);
    }
}
