//! What can be wrong with an intel input, located as the user finds it: the
//! file (and the member inside a `.tar`/`.zip` bundle), the JSON pointer
//! (RFC 6901, e.g. `/vulnerabilities/3/product_status/fixed/0`) or CSV line,
//! and the reason with the offending value.

use serde::Serialize;
use std::fmt;

/// Where an input came from: a file, or a member of a bundle file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Origin {
    /// The file as found (the path given, or a path under a directory given).
    pub file: String,
    /// The member's path inside a `.tar`, `.tar.gz` or `.zip` bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl Origin {
    /// A plain file.
    pub fn file(file: impl Into<String>) -> Self {
        Origin { file: file.into(), member: None }
    }

    /// A member of a bundle.
    pub fn member(file: impl Into<String>, member: impl Into<String>) -> Self {
        Origin { file: file.into(), member: Some(member.into()) }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            Some(m) => write!(f, "{}!{m}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// What kind of problem, for callers and JSON output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The file could not be read (I/O), or a bundle is corrupt.
    Io,
    /// The JSON or CSV does not parse: truncated, or not JSON at all.
    Syntax,
    /// It parses but a field is missing or of the wrong type for its format.
    Schema,
    /// A CSAF `csaf_version` (or another format version) this build does not read.
    UnsupportedVersion,
    /// A value breaks a rule of the format (an undefined product id, a bad CVE id...).
    Invalid,
    /// A value or structure beyond otposture's bounds (a 10 MB version string,
    /// a product tree 100 levels deep, a file over the size cap).
    TooLarge,
    /// Nothing in it is intel otposture reads (named explicitly on the command line).
    Unrecognised,
}

impl ProblemKind {
    /// The kind's name in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::Io => "io",
            ProblemKind::Syntax => "syntax",
            ProblemKind::Schema => "schema",
            ProblemKind::UnsupportedVersion => "unsupported_version",
            ProblemKind::Invalid => "invalid",
            ProblemKind::TooLarge => "too_large",
            ProblemKind::Unrecognised => "unrecognised",
        }
    }
}

/// A problem inside one document, before the file is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// JSON pointer to the offending value (`""` for the whole document), or
    /// `line N` for CSV input.
    pub path: String,
    /// What is wrong, with the offending value (shortened when long).
    pub reason: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(kind: ProblemKind, path: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem { kind, path: path.into(), reason: reason.into() }
    }

    /// Locates the problem in a file.
    pub fn at(self, origin: &Origin, format: Option<&'static str>) -> ImportError {
        ImportError { origin: origin.clone(), format, kind: self.kind, path: self.path, reason: self.reason }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "at {}: {}", self.path, self.reason)
        }
    }
}

/// A document that was not imported, and why: the file, the member, the
/// JSON path and the reason. Everything else in the run is still imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ImportError {
    /// The file and bundle member.
    #[serde(flatten)]
    pub origin: Origin,
    /// The format it was recognised as (`csaf`, `kev`, ...), when it was.
    pub format: Option<&'static str>,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// JSON pointer (`""` for the whole document) or `line N` (CSV).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(format) = self.format {
            write!(f, " ({format})")?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Escapes one JSON pointer segment (RFC 6901 section 3: `~` as `~0`, `/` as `~1`).
pub(crate) fn segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A value quoted for a message, cut to 80 characters with its full length said.
pub(crate) fn quote(value: &str) -> String {
    const SHOWN: usize = 80;
    if value.chars().count() <= SHOWN {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(SHOWN).collect();
        format!("{head:?}... ({} bytes)", value.len())
    }
}
