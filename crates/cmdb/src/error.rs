//! What can be wrong with a register file: problems with one row (kept
//! together, every one of them, so the user fixes the file in one pass), and
//! problems with the whole file that stop the reading.

use serde::Serialize;
use std::fmt;

/// What is wrong with a value or a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RowErrorKind {
    /// A MAC address that does not parse.
    BadMac,
    /// An IP address that does not parse.
    BadIp,
    /// A MAC address another row already has.
    DuplicateMac,
    /// A serial number another row already has.
    DuplicateSerial,
    /// A role that is not an inventory role or one of its synonyms.
    UnknownRole,
    /// A CSV row with more or fewer fields than the header.
    FieldCount,
    /// A field that is not valid UTF-8.
    InvalidUtf8,
    /// A row with no name, MAC, IP or serial: nothing to match it by.
    NoIdentity,
    /// A JSON row that is not an object.
    NotAnObject,
    /// A JSON value of the wrong shape (a list or object where one value belongs).
    BadValue,
}

impl RowErrorKind {
    /// The kind's name in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            RowErrorKind::BadMac => "bad_mac",
            RowErrorKind::BadIp => "bad_ip",
            RowErrorKind::DuplicateMac => "duplicate_mac",
            RowErrorKind::DuplicateSerial => "duplicate_serial",
            RowErrorKind::UnknownRole => "unknown_role",
            RowErrorKind::FieldCount => "field_count",
            RowErrorKind::InvalidUtf8 => "invalid_utf8",
            RowErrorKind::NoIdentity => "no_identity",
            RowErrorKind::NotAnObject => "not_an_object",
            RowErrorKind::BadValue => "bad_value",
        }
    }
}

/// A problem with one row of a register file, located as a user finds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The file as the user named it.
    pub file: String,
    /// The row as a spreadsheet shows it (the header is row 1), or the 1-based
    /// index of the object in a JSON array.
    pub row: u64,
    /// The line of the file where the row starts, when it is not `row` (blank
    /// lines, or fields spanning lines, before it).
    pub line: Option<u64>,
    /// The column as the file names it; none for a problem with the whole row.
    pub column: Option<String>,
    /// What is wrong.
    pub kind: RowErrorKind,
    /// What is wrong, in words, with the offending value.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: row {}", self.file, self.row)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column {c:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A problem with a whole register file: nothing can be imported from it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The file has no header row, or no data row.
    #[error("{file}: {what}; a register needs a header row and at least one row")]
    Empty {
        /// The file.
        file: String,
        /// What is missing.
        what: &'static str,
    },
    /// The JSON does not parse.
    #[error("{file}: JSON syntax error at line {line}, column {column}: {message}")]
    Json {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The JSON parses but is not a list of assets.
    #[error("{file}: {reason}; expected an array of objects, or an object with an \"assets\" (or \"records\", \"result\") array")]
    NotARegister {
        /// The file.
        file: String,
        /// What was found instead.
        reason: String,
    },
    /// The CSV reader failed (an I/O error while reading).
    #[error("{file}: row {row}: {message}")]
    Csv {
        /// The file.
        file: String,
        /// The row it was reading.
        row: u64,
        /// The reader's description.
        message: String,
    },
    /// Two header columns with one name, and that name feeds a field.
    #[error("{file}: row 1: column {column:?} appears twice in the header (columns {first} and {second}); rename one")]
    DuplicateColumn {
        /// The file.
        file: String,
        /// The column name.
        column: String,
        /// Its first position (1-based).
        first: usize,
        /// Its second position.
        second: usize,
    },
    /// `--map` names a column that the file does not have.
    #[error("{file}: no column {column:?} (mapped to {field} by --map); the file's columns are: {columns}")]
    MissingColumn {
        /// The file.
        file: String,
        /// The field it was mapped to.
        field: &'static str,
        /// The column named.
        column: String,
        /// The columns the file has, comma-separated.
        columns: String,
    },
    /// No column maps to name, mac, ip or serial: no row could be matched.
    #[error(
        "{file}: no column maps to name, mac, ip or serial, so no row could ever be matched; the file's columns \
         are: {columns} (use --preset servicenow|netbox, or --map FIELD=COLUMN)"
    )]
    NoIdentityColumn {
        /// The file.
        file: String,
        /// The columns the file has, comma-separated.
        columns: String,
    },
    /// Rows had errors and bad rows were not to be skipped: nothing imported.
    #[error(
        "{file}: {} {} errors; nothing imported (fix {}, or pass --skip-bad-rows to import the {good} good {})",
        bad_rows,
        if *bad_rows == 1 { "row has" } else { "rows have" },
        if *bad_rows == 1 { "it" } else { "them" },
        if *good == 1 { "row" } else { "rows" }
    )]
    BadRows {
        /// The file.
        file: String,
        /// Rows with at least one error.
        bad_rows: u64,
        /// Rows without.
        good: u64,
        /// Every error.
        errors: Vec<RowError>,
    },
}

/// A stored inventory that reconciliation cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// An asset's stored document is not an asset (a hand-edited database).
    #[error("asset {id}: its stored document is unreadable ({message}); run `otposture assets rebuild`")]
    BadAsset {
        /// The asset id.
        id: String,
        /// serde_json's description.
        message: String,
    },
}
