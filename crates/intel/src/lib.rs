//! Vulnerability intelligence import: read advisories, catalogs and scores
//! into typed, validated records.
//!
//! One job: turn files (plain, in directories, or in `.tar`, `.tar.gz` and
//! `.zip` bundles) into [`Document`]s, each format told by its content:
//! CSAF 2.0 advisories ([`csaf`]), the CISA KEV catalog ([`kev`], JSON or
//! CSV), FIRST EPSS scores ([`epss`], CSV, plain or gzip), CVE JSON 5 records
//! with CISA's vulnrichment SSVC points ([`cve`]), and MITRE ATT&CK for ICS
//! ([`attack`]); and drive an import ([`import`]) that hands each document
//! to a [`Sink`] (the store) and reports every bad one by file, bundle
//! member, JSON pointer and reason while the rest loads.
//!
//! It does not open the database, match advisories to assets, parse version
//! ranges (kept raw; the `versions` crate's job) or judge priority. Parsers
//! are pure functions over bytes and bounded ([`limits`]): hostile input is
//! an error, never a panic or an unbounded allocation. See docs/intel.md.

pub mod attack;
pub mod csaf;
pub mod cve;
pub mod detect;
pub mod epss;
mod error;
pub mod import;
mod json;
pub mod kev;
pub mod read;
mod record;

pub use detect::{detect, Format};
pub use error::{ImportError, Origin, Problem, ProblemKind};
pub use import::{import, Ignored, Outcome, Report, Sink, Source, Tally};
pub use record::{
    Advisory, AttackBundle, Branch, CveRecord, Document, EpssScore, EpssScores, KevCatalog, KevEntry, Kind, Product,
    Remediation, Revision, Score, Ssvc, Technique, Vulnerability,
};

/// otposture's bounds on intel input: beyond them a document is reported as
/// too large and skipped, so a hostile file cannot exhaust memory.
pub mod limits {
    /// Bytes of one file or bundle member, after decompression (real EPSS
    /// files are about 10 MB, the largest CISA advisory under 1 MB).
    pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
    /// Members read from one bundle.
    pub const MAX_MEMBERS: usize = 200_000;
    /// Bundles inside bundles.
    pub const MAX_BUNDLE_DEPTH: usize = 3;
    /// Directory levels below a path given.
    pub const MAX_DIR_DEPTH: usize = 32;
    /// Bytes of a version, version range, model number, CPE or purl string.
    pub const MAX_VERSION: usize = 1024;
    /// Bytes of any other kept text (names, titles, details).
    pub const MAX_TEXT: usize = 1024 * 1024;
    /// Branch levels of a CSAF product tree (real ones have 3 to 5).
    pub const MAX_BRANCH_DEPTH: usize = 32;
    /// Products defined in one advisory.
    pub const MAX_PRODUCTS: usize = 100_000;
}
