//! `otposture intel`: importing vulnerability intelligence (CSAF advisories,
//! KEV, EPSS, CVE records with SSVC, ATT&CK for ICS) and saying what the
//! database holds and as of when. Reading and validation live in
//! crates/intel, storage in crates/store; this module prints.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use otposture_intel::{Kind, Report, Tally};
use otposture_model::Timestamp;
use otposture_store::{IntelKindStatus, IntelSourceRow, IntelWriter, Store};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Versions of the `otposture.intel-import` and `otposture.intel-status` JSON schemas.
const IMPORT_SCHEMA: u32 = 1;
const STATUS_SCHEMA: u32 = 1;

/// Errors printed before the rest are only counted (JSON carries them all).
const MAX_ERRORS_SHOWN: usize = 50;

#[derive(Args, Debug)]
pub(crate) struct IntelArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Import CSAF 2.0 advisories, the KEV catalog, EPSS scores, CVE JSON 5 records, ATT&CK for ICS: files, directories, .tar/.tar.gz/.zip.
    Import(ImportArgs),
    /// What intel the database holds, from which files, and as of when.
    Status(StatusArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SummaryFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// Files, directories (walked) or bundles; the format of each is told by its content.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// How to report the import: text on stderr, or otposture.intel-import/1 JSON on stdout.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    summary: SummaryFormat,
}

#[derive(Args, Debug)]
pub(crate) struct StatusArgs {
    /// Output format: text, or otposture.intel-status/1 JSON.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
    /// Also list every imported document (one per advisory revision, record, catalog).
    #[arg(long)]
    sources: bool,
}

pub(crate) fn run(a: IntelArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    match a.action {
        Action::Import(a) => import(a, db),
        Action::Status(a) => status(a, db),
    }
}

fn tally_json(t: &Tally) -> Value {
    json!({
        "loaded": t.loaded,
        "replaced": t.replaced,
        "older": t.older,
        "unchanged": t.unchanged,
        "skipped": t.skipped,
        "records": t.records,
    })
}

/// What a kind's records are called in the text summary.
fn records_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Csaf => "vulnerabilities",
        Kind::Kev => "catalog entries",
        Kind::Epss => "scores",
        Kind::Cve => "records",
        Kind::Attack => "techniques",
    }
}

/// 0 when every document was good, 4 when some were skipped but others are
/// in the database, 3 when nothing could be imported.
fn exit_code(report: &Report) -> u8 {
    let total = report.total();
    let good = total.loaded + total.replaced + total.older + total.unchanged;
    if report.errors.is_empty() {
        if good == 0 {
            crate::exit::BAD_INPUT
        } else {
            crate::exit::OK
        }
    } else if good == 0 {
        crate::exit::BAD_INPUT
    } else {
        crate::exit::WARNINGS
    }
}

fn import(a: ImportArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let db = crate::require_db(db)?;
    let mut store = Store::open(&db).with_context(|| format!("opening database {}", db.display()))?;
    let at = crate::assets::now_secs();
    let started = std::time::Instant::now();
    let report = otposture_intel::import(&a.paths, &mut IntelWriter::new(&mut store, at))
        .with_context(|| format!("writing intel to database {}", db.display()))?;
    let code = exit_code(&report);
    match a.summary {
        SummaryFormat::Json => {
            let kinds: serde_json::Map<String, Value> =
                report.kinds.iter().map(|(k, t)| (k.name().to_string(), tally_json(t))).collect();
            let doc = json!({
                "schema": format!("otposture.intel-import/{IMPORT_SCHEMA}"),
                "database": db.display().to_string(),
                "imported_at": Timestamp::from_parts(at, 0).to_rfc3339(),
                "inputs": report.inputs,
                "kinds": kinds,
                "total": tally_json(&report.total()),
                "errors": report.errors,
                "ignored": report.ignored,
                "exit_code": code,
            });
            crate::assets::write_json(&doc)?;
        }
        SummaryFormat::Text => {
            for e in report.errors.iter().take(MAX_ERRORS_SHOWN) {
                eprintln!("skipped: {e}");
            }
            if report.errors.len() > MAX_ERRORS_SHOWN {
                eprintln!(
                    "skipped: ... and {} more (--summary json lists them all)",
                    report.errors.len() - MAX_ERRORS_SHOWN
                );
            }
            if !report.ignored.is_empty() {
                let first =
                    report.ignored.first().map(|i| format!(" (e.g. {}: {})", i.origin, i.reason)).unwrap_or_default();
                eprintln!("ignored {} files that are not intel{first}", report.ignored.len());
            }
            for (kind, t) in &report.kinds {
                eprintln!(
                    "{}: {} loaded, {} replaced, {} older (history only), {} unchanged, {} skipped; {} {}",
                    kind.name(),
                    t.loaded,
                    t.replaced,
                    t.older,
                    t.unchanged,
                    t.skipped,
                    t.records,
                    records_name(*kind)
                );
            }
            if report.kinds.is_empty() && report.errors.is_empty() {
                eprintln!("error: no intel found in the paths given");
            }
            eprintln!(
                "read {} inputs in {:.2} s into {}",
                report.inputs,
                started.elapsed().as_secs_f64(),
                db.display()
            );
        }
    }
    Ok(code)
}

fn time(secs: Option<i64>) -> Value {
    secs.map_or(Value::Null, |s| Value::from(Timestamp::from_parts(s, 0).to_rfc3339()))
}

fn source_json(s: &IntelSourceRow) -> Value {
    json!({
        "kind": s.kind,
        "name": s.name,
        "sha256": s.sha256,
        "subject": s.subject,
        "as_of": s.as_of,
        "imported_at": time(Some(s.imported_at_secs)),
        "bytes": s.bytes,
        "records": s.records,
        "outcome": s.outcome,
    })
}

fn kind_json(k: &IntelKindStatus) -> Value {
    json!({
        "kind": k.kind,
        "sources": k.sources,
        "documents": k.documents,
        "records": k.records,
        "as_of": k.as_of,
        "last_import": time(k.last_import_secs),
        "current": k.current.as_ref().map(source_json),
    })
}

fn status(a: StatusArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = crate::query::open(db)?;
    let kinds = store.intel_status()?;
    let sources = if a.sources { Some(store.intel_sources()?) } else { None };
    let as_of: serde_json::Map<String, Value> =
        kinds.iter().filter(|k| k.sources > 0).map(|k| (k.kind.clone(), Value::from(k.as_of.clone()))).collect();
    match a.format {
        SummaryFormat::Json => {
            let doc = json!({
                "schema": format!("otposture.intel-status/{STATUS_SCHEMA}"),
                "database": store.path().display().to_string(),
                "intel_as_of": as_of,
                "kinds": kinds.iter().map(kind_json).collect::<Vec<_>>(),
                "sources": sources.as_ref().map(|s| s.iter().map(source_json).collect::<Vec<_>>()),
            });
            crate::assets::write_json(&doc)?;
        }
        SummaryFormat::Text => {
            if as_of.is_empty() {
                println!("no intel imported: run `otposture intel import PATH...`");
                return Ok(crate::exit::OK);
            }
            let line: Vec<String> =
                as_of.iter().map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("(undated)"))).collect();
            println!("intel as of: {}", line.join("; "));
            println!("{:<7} {:>8} {:>9} {:>8}  {:<28} LAST IMPORT", "KIND", "SOURCES", "IN FORCE", "RECORDS", "AS OF");
            for k in &kinds {
                println!(
                    "{:<7} {:>8} {:>9} {:>8}  {:<28} {}",
                    k.kind,
                    k.sources,
                    k.documents,
                    k.records,
                    k.as_of.as_deref().unwrap_or("-"),
                    time(k.last_import_secs).as_str().unwrap_or("-")
                );
            }
            for k in kinds.iter().filter_map(|k| k.current.as_ref()) {
                println!(
                    "{} in force: {} (sha256 {}, as of {})",
                    k.kind,
                    k.name,
                    k.sha256,
                    k.as_of.as_deref().unwrap_or("-")
                );
            }
            for s in sources.iter().flatten() {
                println!(
                    "{:<7} {} {} {} {} {}",
                    s.kind,
                    s.outcome,
                    s.as_of.as_deref().unwrap_or("-"),
                    &s.sha256.get(..16).unwrap_or(&s.sha256),
                    s.subject.as_deref().unwrap_or("-"),
                    s.name
                );
            }
        }
    }
    Ok(crate::exit::OK)
}
