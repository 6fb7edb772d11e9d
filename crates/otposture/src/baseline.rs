//! `otposture baseline accept|show|diff`: accepting the inventory as the
//! expected state (stored and logged), listing what was accepted, and the
//! deviations of the inventory from the baseline in force (crates/drift).
//!
//! The inventory compared is built from everything the database holds (every
//! capture analysed so far), as `assets` builds it, not from the last capture.

use crate::output::{print, Format};
use anyhow::Context;
use clap::{Args, Subcommand};
use otposture_drift::{compare, ConversationKey, Deviation, DeviationKind, Snapshot};
use otposture_model::{OperationClass, Timestamp};
use otposture_store::{BaselineSummary, Store};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// Version of the `otposture.baselines` listing and `otposture.drift` JSON schemas.
const DRIFT_SCHEMA: u32 = 1;

fn parse_kind(s: &str) -> Result<DeviationKind, String> {
    DeviationKind::parse(s).ok_or_else(|| {
        let names: Vec<&str> = DeviationKind::ALL.iter().map(|k| k.name()).collect();
        format!("{s:?} is not a deviation kind: {}", names.join(", "))
    })
}

#[derive(Args, Debug)]
pub(crate) struct BaselineArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Accepts the inventory as it stands (assets, identities, conversations) as the baseline; logged.
    Accept {
        /// Why (kept with the baseline and in the audit log).
        #[arg(long)]
        note: Option<String>,
    },
    /// The baselines accepted, newest (in force) first; `--format json` prints the snapshot in force (or `--id`).
    Show {
        /// The baseline to print with `--format json` (default: the one in force).
        #[arg(long)]
        id: Option<i64>,
        /// Output format: table and csv list the baselines; json prints a snapshot (otposture.baseline/1).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// How the inventory now deviates from the baseline in force.
    Diff {
        /// Output format (json: otposture.drift/1).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Only these kinds (comma separated or repeated): new_asset, vanished_asset, address_change, identity_change, identity_learned, new_conversation, vanished_conversation, new_operation.
        #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
        kind: Vec<DeviationKind>,
    },
}

pub(crate) fn run(a: BaselineArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let mut store = crate::query::open(db)?;
    match a.action {
        Action::Accept { note } => accept(&mut store, note.as_deref()),
        Action::Show { id, format } => show(&store, id, format),
        Action::Diff { format, kind } => diff(&store, format, &kind),
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The inventory as `assets` builds it, as a snapshot taken now.
fn snapshot_now(store: &Store) -> anyhow::Result<Snapshot> {
    let inventory = crate::assets::build(store)?;
    Ok(Snapshot::of(&inventory, now_ns()))
}

fn accept(store: &mut Store, note: Option<&str>) -> anyhow::Result<u8> {
    crate::access::require(store, crate::access::Role::Engineer, "accept a baseline")?;
    let snapshot = snapshot_now(store)?;
    if snapshot.assets.is_empty() {
        anyhow::bail!("the inventory is empty: run `otposture analyze <capture>` before accepting a baseline");
    }
    let doc = serde_json::to_string(&snapshot)?;
    let (assets, conversations) = (snapshot.assets.len() as u64, snapshot.conversations.len() as u64);
    let actor = crate::assets::actor();
    let id = store.accept_baseline(&doc, assets, conversations, note, &actor, crate::assets::now_secs())?;
    println!("baseline {id} accepted: {assets} assets, {conversations} conversations, by {actor} (logged)");
    Ok(crate::exit::OK)
}

/// A baseline as listed and as named in a drift report.
#[derive(Serialize)]
struct Line {
    id: i64,
    accepted_at: String,
    accepted_at_secs: i64,
    actor: String,
    note: Option<String>,
    assets: u64,
    conversations: u64,
    in_force: bool,
}

impl Line {
    fn of(b: &BaselineSummary, in_force: bool) -> Self {
        Line {
            id: b.id,
            accepted_at: Timestamp::from_parts(b.accepted_at_secs, 0).to_rfc3339(),
            accepted_at_secs: b.accepted_at_secs,
            actor: b.actor.clone(),
            note: b.note.clone(),
            assets: b.assets,
            conversations: b.conversations,
            in_force,
        }
    }
}

const NO_BASELINE: &str = "no baseline has been accepted: run `otposture baseline accept` first";

fn show(store: &Store, id: Option<i64>, format: Format) -> anyhow::Result<u8> {
    if format == Format::Json {
        let found = match id {
            Some(id) => store
                .baseline(id)?
                .with_context(|| format!("no baseline {id}: `otposture baseline show` lists them"))?,
            None => store.current_baseline()?.context(NO_BASELINE)?,
        };
        // The document as it was accepted, byte for byte.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        writeln!(out, "{}", found.doc)?;
        out.flush()?;
        return Ok(crate::exit::OK);
    }
    if id.is_some() {
        anyhow::bail!("--id picks the snapshot `--format json` prints; the table and CSV list every baseline");
    }
    let all = store.baselines()?;
    let lines: Vec<Line> = all.iter().enumerate().map(|(i, b)| Line::of(b, i == 0)).collect();
    print(
        &lines,
        "baselines",
        DRIFT_SCHEMA,
        format,
        &[
            ("id", "ID"),
            ("accepted_at", "ACCEPTED"),
            ("actor", "BY"),
            ("assets", "ASSETS"),
            ("conversations", "CONVERSATIONS"),
            ("in_force", "IN FORCE"),
            ("note", "NOTE"),
        ],
    )?;
    Ok(crate::exit::OK)
}

fn time(ns: Option<i64>) -> Option<String> {
    ns.map(|n| Timestamp(n).to_rfc3339())
}

/// A deviation in JSON: the drift crate's fields, and each time also as text.
#[derive(Serialize)]
struct JsonDeviation<'a> {
    kind: DeviationKind,
    asset: Option<&'a str>,
    conversation: Option<&'a ConversationKey>,
    module: Option<&'a str>,
    field: Option<&'a str>,
    operation: Option<OperationClass>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    first_seen: Option<String>,
    first_seen_ns: Option<i64>,
    last_seen: Option<String>,
    last_seen_ns: Option<i64>,
    explanation: &'a str,
}

impl<'a> JsonDeviation<'a> {
    fn of(d: &'a Deviation) -> Self {
        JsonDeviation {
            kind: d.kind,
            asset: d.asset.as_deref(),
            conversation: d.conversation.as_ref(),
            module: d.module.as_deref(),
            field: d.field.as_deref(),
            operation: d.operation,
            before: d.before.as_deref(),
            after: d.after.as_deref(),
            first_seen: time(d.first_seen_ns),
            first_seen_ns: d.first_seen_ns,
            last_seen: time(d.last_seen_ns),
            last_seen_ns: d.last_seen_ns,
            explanation: &d.explanation,
        }
    }
}

/// A deviation as one table or CSV line: the conversation's ends as columns.
#[derive(Serialize)]
struct FlatDeviation<'a> {
    kind: &'static str,
    asset: Option<&'a str>,
    client: Option<&'a str>,
    server: Option<&'a str>,
    protocol: Option<&'a str>,
    module: Option<&'a str>,
    field: Option<&'a str>,
    operation: Option<&'static str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    first_seen: Option<String>,
    first_seen_ns: Option<i64>,
    last_seen: Option<String>,
    last_seen_ns: Option<i64>,
    explanation: &'a str,
}

impl<'a> FlatDeviation<'a> {
    fn of(d: &'a Deviation) -> Self {
        let c = d.conversation.as_ref();
        FlatDeviation {
            kind: d.kind.name(),
            asset: d.asset.as_deref(),
            client: c.map(|c| c.client.as_str()),
            server: c.map(|c| c.server.as_str()),
            protocol: c.map(|c| c.protocol.as_str()),
            module: d.module.as_deref(),
            field: d.field.as_deref(),
            operation: d.operation.map(OperationClass::name),
            before: d.before.as_deref(),
            after: d.after.as_deref(),
            first_seen: time(d.first_seen_ns),
            first_seen_ns: d.first_seen_ns,
            last_seen: time(d.last_seen_ns),
            last_seen_ns: d.last_seen_ns,
            explanation: &d.explanation,
        }
    }
}

fn diff(store: &Store, format: Format, kinds: &[DeviationKind]) -> anyhow::Result<u8> {
    let base = store.current_baseline()?.context(NO_BASELINE)?;
    let id = base.summary.id;
    let baseline: Snapshot =
        serde_json::from_str(&base.doc).with_context(|| format!("reading the snapshot of baseline {id}"))?;
    if baseline.schema != otposture_drift::SCHEMA {
        anyhow::bail!(
            "baseline {id} is a {:?} document, which this otposture does not read (it reads {:?}); \
             accept a new baseline with `otposture baseline accept`",
            baseline.schema,
            otposture_drift::SCHEMA
        );
    }
    let current = snapshot_now(store)?;
    let mut deviations = compare(&baseline, &current);
    if !kinds.is_empty() {
        deviations.retain(|d| kinds.contains(&d.kind));
    }
    let line = Line::of(&base.summary, true);
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "schema": format!("otposture.drift/{DRIFT_SCHEMA}"),
                "baseline": {
                    "id": line.id,
                    "accepted_at": line.accepted_at,
                    "accepted_at_secs": line.accepted_at_secs,
                    "actor": line.actor,
                    "note": line.note,
                    "assets": line.assets,
                    "conversations": line.conversations,
                },
                "current": {
                    "taken_at": Timestamp(current.taken_at_ns).to_rfc3339(),
                    "taken_at_ns": current.taken_at_ns,
                    "assets": current.assets.len(),
                    "conversations": current.conversations.len(),
                },
                "deviations": deviations.iter().map(JsonDeviation::of).collect::<Vec<_>>(),
            });
            crate::assets::write_json(&doc)?;
        }
        Format::Table | Format::Csv => {
            if format == Format::Table {
                let note = line.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                println!(
                    "baseline {id}, accepted {} by {}{note}: {} assets, {} conversations; now {} assets, {} conversations",
                    line.accepted_at,
                    line.actor,
                    line.assets,
                    line.conversations,
                    current.assets.len(),
                    current.conversations.len()
                );
            }
            let rows: Vec<FlatDeviation<'_>> = deviations.iter().map(FlatDeviation::of).collect();
            print(
                &rows,
                "deviations",
                DRIFT_SCHEMA,
                format,
                &[("kind", "KIND"), ("first_seen", "FIRST SEEN"), ("explanation", "DEVIATION")],
            )?;
        }
    }
    Ok(crate::exit::OK)
}
