//! The store's error type: every variant names the database file and what the
//! store was doing, so a message is actionable without a backtrace.

use std::path::{Path, PathBuf};

/// What went wrong, on which database, while doing what.
///
/// The underlying cause (an I/O or SQLite error) is the [`std::error::Error::source`],
/// not repeated in the message: print the chain (`{:#}` with anyhow) to see both.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory that should hold the database could not be created.
    #[error("cannot create directory {} for database {}", dir.display(), path.display())]
    CreateDir {
        /// The database file.
        path: PathBuf,
        /// The directory that could not be created.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused an operation; `op` says which.
    #[error("{op} failed on database {}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What the store was doing, e.g. "writing a flow record".
        op: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A schema migration failed; it was rolled back and the database keeps its earlier version.
    #[error(
        "migrating database {} to schema version {version} ({name}) failed; it was rolled back and \
         the database is unchanged",
        path.display()
    )]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version the failed migration would have produced.
        version: i64,
        /// The migration's name.
        name: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer otposture whose schema this build does not know.
    #[error(
        "database {} has schema version {found}, newer than version {known} that this otposture \
         knows; use a newer otposture, or a different database file",
        path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// The file is an SQLite database that belongs to something else.
    #[error("database {} is not an otposture database ({reason}); choose another file", path.display())]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// Why it was not recognised.
        reason: String,
    },
    /// A capture id that no `begin_capture` returned on this database.
    #[error("capture {id} does not exist in database {}; call begin_capture first", path.display())]
    UnknownCapture {
        /// The database file.
        path: PathBuf,
        /// The capture id given.
        id: i64,
    },
    /// A capture analysed before under another network: its hosts are stored
    /// there, so it is not moved silently.
    #[error("{}", network_mismatch(path, *capture, stored.as_deref(), given.as_deref()))]
    NetworkMismatch {
        /// The database file.
        path: PathBuf,
        /// The capture's row id.
        capture: i64,
        /// The network it is stored in (`None`: the unnamed network).
        stored: Option<String>,
        /// The network asked for.
        given: Option<String>,
    },
    /// A run id that no `begin_run` returned on this database.
    #[error("analysis run {id} does not exist in database {}; call begin_run first", path.display())]
    UnknownRun {
        /// The database file.
        path: PathBuf,
        /// The run id given.
        id: i64,
    },
    /// A stored value this build cannot read back (a corrupted or hand-edited row).
    #[error("database {} holds an unreadable value {value:?} in {table}.{column}", path.display())]
    BadValue {
        /// The database file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The stored text.
        value: String,
    },
}

fn network_mismatch(path: &Path, capture: i64, stored: Option<&str>, given: Option<&str>) -> String {
    let label = |n: Option<&str>| n.map_or_else(|| "the unnamed network".to_string(), |n| format!("network {n:?}"));
    let hint = stored.map_or_else(|| "leave out --network".to_string(), |n| format!("pass --network {n}"));
    format!(
        "capture {capture} in database {} was analysed in {}, not {}; a capture keeps its network \
         (its hosts are stored there): {hint}, or analyse it into another database",
        path.display(),
        label(stored),
        label(given)
    )
}

/// Builds the `map_err` adaptor that names the database and the operation.
pub(crate) fn sql<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sqlite { path: path.to_path_buf(), op, source }
}
