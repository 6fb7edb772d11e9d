//! Driving an import: every input found ([`crate::read`]) is hashed, skipped
//! when the sink already holds that exact content, told apart by content
//! ([`crate::detect`]), parsed and validated, and handed to the [`Sink`] one
//! document at a time. A bad document is reported and skipped; the rest
//! loads. Only the sink's own failure (the database) stops the run.

use crate::detect::{self, Format};
use crate::error::{ImportError, Origin, Problem, ProblemKind};
use crate::read::{self, Input};
use crate::record::{Document, Kind};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Where a document came from, as the store records it (provenance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The format.
    pub kind: Kind,
    /// The file, and `!member` inside a bundle.
    pub name: String,
    /// SHA-256 of the document's bytes (after decompression), lowercase hex.
    pub sha256: String,
    /// The date the document is current as of ([`Document::as_of`]).
    pub as_of: Option<String>,
    /// The document's size in bytes.
    pub bytes: u64,
}

/// What writing one document did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// New: nothing of its identity was stored before.
    Loaded,
    /// A newer revision (or catalog, score file, record) than the one stored: now in force.
    Replaced,
    /// Not newer than the one in force: recorded in the history, not in force.
    Older,
    /// This exact content was imported before: nothing to do.
    Unchanged,
}

/// Where documents go (the store).
pub trait Sink {
    /// The sink's failure; it stops the import.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The kind of the document with this SHA-256, if one was imported before.
    fn known(&mut self, sha256: &str) -> Result<Option<Kind>, Self::Error>;
    /// Stores one document, all or nothing.
    fn write(&mut self, source: &Source, doc: &Document) -> Result<Outcome, Self::Error>;
}

/// Per kind: what happened to its documents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// New documents stored.
    pub loaded: u64,
    /// Documents that replaced an older one.
    pub replaced: u64,
    /// Documents kept in the history only (an older revision).
    pub older: u64,
    /// Documents already imported with the same content.
    pub unchanged: u64,
    /// Bad documents, reported in [`Report::errors`].
    pub skipped: u64,
    /// Records in the documents stored (loaded, replaced or older): vulnerabilities
    /// of advisories, catalog entries, scores, CVE records, techniques.
    pub records: u64,
}

impl Tally {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Loaded => self.loaded += 1,
            Outcome::Replaced => self.replaced += 1,
            Outcome::Older => self.older += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// An input that is not intel, left alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// The file and member.
    #[serde(flatten)]
    pub origin: Origin,
    /// Why it was left alone.
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Inputs read (files and bundle members).
    pub inputs: u64,
    /// Per kind.
    pub kinds: BTreeMap<Kind, Tally>,
    /// Every document not imported, and why.
    pub errors: Vec<ImportError>,
    /// Inputs found in directories or bundles that are not intel.
    pub ignored: Vec<Ignored>,
}

impl Report {
    /// The tally of `kind`.
    pub fn tally(&self, kind: Kind) -> Tally {
        self.kinds.get(&kind).copied().unwrap_or_default()
    }

    /// The sum over all kinds.
    pub fn total(&self) -> Tally {
        self.kinds.values().fold(Tally::default(), |a, t| Tally {
            loaded: a.loaded + t.loaded,
            replaced: a.replaced + t.replaced,
            older: a.older + t.older,
            unchanged: a.unchanged + t.unchanged,
            skipped: a.skipped + t.skipped,
            records: a.records + t.records,
        })
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Imports everything under `paths` into `sink`.
pub fn import<S: Sink>(paths: &[impl AsRef<Path>], sink: &mut S) -> Result<Report, S::Error> {
    let mut report = Report::default();
    read::walk(paths, &mut |input| {
        report.inputs += 1;
        match input {
            Ok(input) => one(input, sink, &mut report),
            Err(e) => {
                report.errors.push(e);
                Ok(())
            }
        }
    })?;
    Ok(report)
}

/// Imports one input.
fn one<S: Sink>(input: Input, sink: &mut S, report: &mut Report) -> Result<(), S::Error> {
    let Input { origin, bytes, explicit } = input;
    let sha256 = sha256_hex(&bytes);
    if let Some(kind) = sink.known(&sha256)? {
        report.kinds.entry(kind).or_default().count(Outcome::Unchanged);
        return Ok(());
    }
    let format = match detect::detect(&bytes) {
        Some(Format::NotIntel(reason)) => {
            report.ignored.push(Ignored { origin, reason: reason.to_string() });
            return Ok(());
        }
        Some(f) => f,
        None if explicit => {
            let reason = "not a format otposture reads (CSAF 2.0 JSON, KEV JSON or CSV, EPSS CSV, CVE JSON 5, \
                          ATT&CK STIX bundle, or a .tar/.tar.gz/.zip of them)";
            report.errors.push(Problem::new(ProblemKind::Unrecognised, "", reason).at(&origin, None));
            return Ok(());
        }
        None => {
            report.ignored.push(Ignored { origin, reason: "not recognised as intel".into() });
            return Ok(());
        }
    };
    let Some(kind) = format.kind() else { return Ok(()) };
    let tally = report.kinds.entry(kind).or_default();
    let doc = match detect::parse(format, &bytes) {
        Ok(doc) => doc,
        Err(problem) => {
            tally.skipped += 1;
            report.errors.push(problem.at(&origin, Some(kind.name())));
            return Ok(());
        }
    };
    let source = Source {
        kind,
        name: origin.to_string(),
        sha256,
        as_of: doc.as_of().map(str::to_string),
        bytes: bytes.len() as u64,
    };
    drop(bytes);
    let outcome = sink.write(&source, &doc)?;
    tally.count(outcome);
    if outcome != Outcome::Unchanged {
        tally.records += doc.records();
    }
    Ok(())
}
