//! `otposture site`, `otposture assess` and `otposture findings`: the site
//! file, the posture checks over what is stored, and the findings' lifecycle.

use crate::assets::{actor, now_secs};
use crate::output::{self, Format};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use otposture_posture::{Facts, Finding, VulnFact};
use otposture_site::Site;
use otposture_store::{AssessmentContext, EventFilter, FindingFilter, FindingRow, FoundFinding, Store};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Version of the `otposture.findings` JSON schema.
const FINDINGS_SCHEMA: u32 = 1;
/// Version of the `otposture.assessment` JSON schema.
const ASSESSMENT_SCHEMA: u32 = 1;

#[derive(Args, Debug)]
pub(crate) struct SiteArgs {
    #[command(subcommand)]
    command: SiteCommand,
}

#[derive(Subcommand, Debug)]
enum SiteCommand {
    /// Validates a site file and shows where the stored assets fall in its zones; changes nothing.
    Check {
        /// The site file (TOML; docs/site.md).
        file: PathBuf,
    },
    /// Validates a site file and puts it in force (logged); `assess` then uses it.
    Apply {
        /// The site file.
        file: PathBuf,
    },
    /// Prints the site file in force.
    Show,
}

#[derive(Args, Debug)]
pub(crate) struct AssessArgs {
    /// Apply this site file first (as `site apply` does); without it, the one in force.
    #[arg(long, value_name = "FILE")]
    site: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StateArg {
    Open,
    Acknowledged,
    Accepted,
    Resolved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct FindingsArgs {
    #[command(subcommand)]
    command: Option<FindingsCommand>,
    /// Only these states (comma-separated) [default: open, acknowledged, accepted].
    #[arg(long, value_enum, value_delimiter = ',')]
    state: Vec<StateArg>,
    /// Only these severities (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    severity: Vec<SeverityArg>,
    /// Only checks whose id starts with this (`segmentation.`, `insecure.cleartext_login`).
    #[arg(long, value_name = "PREFIX")]
    check: Option<String>,
    /// Only findings concerning this asset.
    #[arg(long, value_name = "ID")]
    asset: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Subcommand, Debug)]
enum FindingsCommand {
    /// One finding whole: evidence, assets, zones, techniques, remediation, lifecycle.
    Show {
        /// The finding's id (`F` and 16 hex digits).
        id: String,
        /// Output format (table prints it as indented text).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Marks a finding as seen and being handled (logged).
    Ack {
        /// The finding's id.
        id: String,
        /// Why (a ticket, a plan).
        #[arg(long)]
        reason: String,
    },
    /// Accepts the risk of a finding until a date (logged); it reopens then if still found.
    Accept {
        /// The finding's id.
        id: String,
        /// Why the risk is accepted (compensating control, decision by whom).
        #[arg(long)]
        reason: String,
        /// Until when: a date (`2027-03-31`) or a duration from now (`90d`).
        #[arg(long, value_name = "DATE|DURATION")]
        until: String,
    },
    /// Puts an acknowledged or accepted finding back to open (logged).
    Reopen {
        /// The finding's id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and validates a site file: the site and its text.
fn load(file: &Path) -> Result<(Site, String), otposture_site::SiteError> {
    let site = Site::load(file)?;
    // Read again for storage: the text that was validated is the text stored.
    let text = std::fs::read_to_string(file).map_err(|e| otposture_site::SiteError {
        path: file.to_path_buf(),
        problems: vec![otposture_site::Problem { line: None, column: None, message: format!("cannot read it: {e}") }],
    })?;
    Ok((site, text))
}

fn apply(store: &mut Store, file: &Path) -> anyhow::Result<Result<Site, otposture_site::SiteError>> {
    crate::access::require(store, crate::access::Role::Engineer, "put a site file in force")?;
    let (site, text) = match load(file) {
        Ok(loaded) => loaded,
        Err(e) => return Ok(Err(e)),
    };
    let sha = sha256_hex(&text);
    // Stored absolute: relative paths in it (the dead-letter file) are read
    // from its directory whenever it is used.
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let stored = store.apply_site((&site.name, &sha, &file.display().to_string(), &text), (now_secs(), &actor()))?;
    if stored {
        eprintln!(
            "site {:?} from {} is in force (sha256 {}, applied by {}, logged)",
            site.name,
            file.display(),
            &sha[..12],
            actor()
        );
    }
    Ok(Ok(site))
}

pub(crate) fn site(a: SiteArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    match a.command {
        SiteCommand::Check { file } => {
            let site = match Site::load(&file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(crate::exit::BAD_INPUT);
                }
            };
            println!(
                "{}: site {:?}: {} zones, {} conduits, {} consequences, {} owners: valid",
                file.display(),
                site.name,
                site.zones.len(),
                site.conduits.len(),
                site.consequences.len(),
                site.owners.len()
            );
            let Some(db) = db.filter(|p| p.exists()) else { return Ok(crate::exit::OK) };
            let mut store = Store::open(&db)?;
            crate::assets::current(&mut store)?;
            let inventory = crate::assets::build(&store)?;
            let placing = otposture_posture::Placing::new(Some(&site), &inventory);
            let mut per_zone: std::collections::BTreeMap<String, usize> = Default::default();
            let mut unzoned = Vec::new();
            for asset in &inventory.assets {
                let place = placing.of(&asset.id);
                match place.zone {
                    Some(z) => *per_zone.entry(z).or_default() += 1,
                    None if place.external => *per_zone.entry("(internet)".into()).or_default() += 1,
                    None => unzoned.push(placing.label(&asset.id)),
                }
            }
            println!("stored assets by zone ({}):", db.display());
            for zone in &site.zones {
                println!(
                    "  {:<20} level {}{}  {} assets",
                    zone.name,
                    zone.level,
                    if zone.dmz { " (DMZ)" } else { "" },
                    per_zone.get(&zone.name).copied().unwrap_or(0)
                );
            }
            if let Some(n) = per_zone.get("(internet)") {
                println!("  {:<20} {n} assets with only global addresses", "(internet)");
            }
            if !unzoned.is_empty() {
                unzoned.sort();
                let shown: Vec<_> = unzoned.iter().take(20).cloned().collect();
                println!(
                    "  in no zone: {} assets: {}{}",
                    unzoned.len(),
                    shown.join(", "),
                    if unzoned.len() > 20 { ", ..." } else { "" }
                );
            }
            Ok(crate::exit::OK)
        }
        SiteCommand::Apply { file } => {
            let mut store = Store::open(&crate::require_db(db)?)?;
            match apply(&mut store, &file)? {
                Ok(site) => {
                    println!(
                        "site {:?} in force: {} zones, {} conduits",
                        site.name,
                        site.zones.len(),
                        site.conduits.len()
                    );
                    Ok(crate::exit::OK)
                }
                Err(e) => {
                    eprintln!("error: {e}\nnothing changed");
                    Ok(crate::exit::BAD_INPUT)
                }
            }
        }
        SiteCommand::Show => {
            let store = Store::open(&crate::require_db(db)?)?;
            match store.current_site()? {
                Some(s) => {
                    eprintln!(
                        "# site {:?} from {}, applied by {} at {} (unix), sha256 {}",
                        s.name, s.path, s.actor, s.applied_at_secs, s.sha256
                    );
                    print!("{}", s.text);
                    Ok(crate::exit::OK)
                }
                None => anyhow::bail!("no site file is in force (otposture site apply FILE)"),
            }
        }
    }
}

/// What `assess` prints.
#[derive(Serialize)]
pub(crate) struct AssessmentSummary {
    assessment: i64,
    site: Option<String>,
    found: usize,
    stale: usize,
    states: std::collections::BTreeMap<String, u64>,
    transitions: Vec<TransitionLine>,
    /// What happened to the alerts sent for the transitions, when the site
    /// file configures targets.
    alerts: Option<otposture_alerts::DeliveryReport>,
}

#[derive(Serialize)]
pub(crate) struct TransitionLine {
    finding: String,
    event: &'static str,
    severity: String,
    check: String,
    title: String,
}

/// Runs every check over what is stored and records the findings; the
/// findings are returned with the transitions the assessment made.
pub(crate) fn assess_stored(
    store: &mut Store,
    site: Option<&Site>,
    site_sha: Option<&str>,
    site_dir: Option<&Path>,
) -> anyhow::Result<(AssessmentSummary, Vec<Finding>)> {
    crate::assets::current(store)?;
    let inventory = crate::assets::build(store)?;
    let events = store.events(&EventFilter::default())?;
    let (rows, _) = crate::vulns::matches(store, site, None)?;
    let vulns: Vec<VulnFact> = rows
        .into_iter()
        .filter(|r| {
            r.outcome == otposture_vulns::Outcome::Affected && matches!(r.ssvc.as_deref(), Some("act" | "attend"))
        })
        .map(|r| VulnFact {
            asset: r.subject.asset.clone(),
            advisory: r.advisory,
            cve: r.cve,
            title: r.title,
            decision: r.ssvc.unwrap_or_default(),
            path: r.ssvc_path,
            kev: r.kev.is_some(),
        })
        .collect();
    // Deviations from the accepted baseline, when there is one.
    let deviations = match store.current_baseline()? {
        Some(base) => {
            let baseline: otposture_drift::Snapshot = serde_json::from_str(&base.doc)
                .with_context(|| format!("reading the snapshot of baseline {}", base.summary.id))?;
            let now = otposture_drift::Snapshot::of(&inventory, now_secs().saturating_mul(1_000_000_000));
            otposture_drift::compare(&baseline, &now)
        }
        None => Vec::new(),
    };
    let attempts = store.empty_attempts(otposture_posture::SCAN_TARGETS)?;
    let findings = otposture_posture::assess(&Facts {
        site,
        inventory: &inventory,
        events: &events,
        vulns: &vulns,
        deviations: &deviations,
        attempts: &attempts,
    });
    // Findings whose newest evidence is older than the site's resolve_after,
    // counted back from the newest traffic stored, are no longer observed.
    let newest = inventory.assets.iter().map(|a| a.last_seen_ns).max().unwrap_or(0);
    let horizon = site
        .and_then(|s| s.findings.resolve_after_secs)
        .map(|secs| newest.saturating_sub(i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1_000_000_000)));
    let (live, stale): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| horizon.is_none_or(|h| f.last_seen_ns >= h));
    let found: Vec<FoundFinding> = live
        .iter()
        .map(|f| {
            Ok(FoundFinding {
                id: f.id.clone(),
                check: f.check.to_string(),
                severity: f.severity.name().to_string(),
                title: f.title.clone(),
                first_seen_ns: f.first_seen_ns,
                last_seen_ns: f.last_seen_ns,
                assets: f.assets.clone(),
                doc: serde_json::to_string(f)?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let actor = actor();
    let ctx =
        AssessmentContext { at_secs: now_secs(), actor: &actor, site: site.map(|s| s.name.as_str()).zip(site_sha) };
    let outcome = store.record_assessment(&found, ctx)?;
    let report = deliver(site, site_dir, &outcome, &findings, store, &inventory)?;
    let mut transitions = Vec::new();
    for t in &outcome.transitions {
        let row = store.finding(&t.finding_id)?;
        transitions.push(TransitionLine {
            finding: t.finding_id.clone(),
            event: t.event,
            severity: row.as_ref().map(|r| r.severity.clone()).unwrap_or_default(),
            check: row.as_ref().map(|r| r.check.clone()).unwrap_or_default(),
            title: row.map(|r| r.title).unwrap_or_default(),
        });
    }
    let summary = AssessmentSummary {
        assessment: outcome.id,
        site: site.map(|s| s.name.clone()),
        found: outcome.found,
        stale: stale.len(),
        states: outcome.states,
        transitions,
        alerts: report,
    };
    Ok((summary, findings))
}

pub(crate) fn assess(a: AssessArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let mut store = Store::open(&crate::require_db(db)?)?;
    if let Some(file) = &a.site {
        if let Err(e) = apply(&mut store, file)? {
            eprintln!("error: {e}\nnothing changed");
            return Ok(crate::exit::BAD_INPUT);
        }
    }
    let site = crate::vulns::site_in_force(&store)?;
    let stored = store.current_site()?;
    let sha = stored.as_ref().map(|s| s.sha256.clone());
    let dir = stored.as_ref().and_then(|s| Path::new(&s.path).parent().map(Path::to_path_buf));
    let (summary, _) = assess_stored(&mut store, site.as_ref(), sha.as_deref(), dir.as_deref())?;
    match a.format {
        Format::Table => {
            println!(
                "assessment {}: {} findings{}{}",
                summary.assessment,
                summary.found,
                summary
                    .site
                    .as_ref()
                    .map(|s| format!(" (site {s:?})"))
                    .unwrap_or_else(|| " (no site file: zone checks skipped; otposture site apply FILE)".into()),
                if summary.stale > 0 {
                    format!(", {} older than the site's resolve_after", summary.stale)
                } else {
                    String::new()
                }
            );
            let states: Vec<String> = summary.states.iter().map(|(s, n)| format!("{s} {n}")).collect();
            println!("  findings by state: {}", states.join(", "));
            for t in &summary.transitions {
                println!("  {:<9} {} {:<8} {:<34} {}", t.event, t.finding, t.severity, t.check, t.title);
            }
            if let Some(report) = &summary.alerts {
                println!("  alerts: {report}");
            }
            println!("  (otposture findings lists them; otposture findings show ID explains one)");
        }
        Format::Json | Format::Csv => {
            let doc = serde_json::json!({
                "schema": format!("otposture.assessment/{ASSESSMENT_SCHEMA}"),
                "assessment": summary,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(crate::exit::OK)
}

fn rfc3339_secs(secs: i64) -> String {
    otposture_model::Timestamp(secs.saturating_mul(1_000_000_000)).to_string()
}

/// A stored finding as printed: its document with the lifecycle.
fn document(row: &FindingRow) -> anyhow::Result<Value> {
    let mut doc: Value =
        serde_json::from_str(&row.doc).with_context(|| format!("reading stored finding {}", row.id))?;
    if let Value::Object(m) = &mut doc {
        m.insert("state".into(), row.state.clone().into());
        m.insert("severity".into(), row.severity.clone().into());
        m.insert("first_seen_ns".into(), row.first_seen_ns.into());
        m.insert("last_seen_ns".into(), row.last_seen_ns.into());
        m.insert("first_seen".into(), otposture_model::Timestamp(row.first_seen_ns).to_string().into());
        m.insert("last_seen".into(), otposture_model::Timestamp(row.last_seen_ns).to_string().into());
        m.insert("opened_at".into(), rfc3339_secs(row.opened_at_secs).into());
        m.insert("updated_at".into(), rfc3339_secs(row.updated_at_secs).into());
        m.insert("resolved_at".into(), row.resolved_at_secs.map(rfc3339_secs).into());
        m.insert("reopened".into(), row.reopened.into());
        m.insert("state_by".into(), row.state_by.clone().into());
        m.insert("state_reason".into(), row.state_reason.clone().into());
        m.insert("accepted_until".into(), row.accepted_until_secs.map(rfc3339_secs).into());
    }
    Ok(doc)
}

/// One line per finding, for the table and CSV.
#[derive(Serialize)]
struct FindingLine {
    id: String,
    severity: String,
    state: String,
    check: String,
    title: String,
    assets: String,
    zones: String,
    attack: String,
    first_seen: String,
    last_seen: String,
    evidence_total: u64,
    state_by: Option<String>,
    state_reason: Option<String>,
    accepted_until: Option<String>,
}

fn joined(doc: &Value, key: &str) -> String {
    doc.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Reads `--until`: a date (`2027-03-31`, end of that day UTC) or a duration from now.
fn until_secs(text: &str, now: i64) -> anyhow::Result<i64> {
    if let Some(secs) = otposture_site::parse_duration(text) {
        return Ok(now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)));
    }
    // A date is the end of that day, UTC.
    if let Ok(end) = crate::query::parse_time(&format!("{text}T23:59:59Z")) {
        let at = end.0.div_euclid(1_000_000_000);
        anyhow::ensure!(at > now, "--until {text} is in the past");
        return Ok(at);
    }
    anyhow::bail!("--until {text:?} is neither a date like 2027-03-31 nor a duration like 90d")
}

pub(crate) fn findings(a: FindingsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let db = crate::require_db(db)?;
    let mut store = Store::open(&db)?;
    let change = |store: &mut Store, id: &str, state: &str, reason: &str, until: Option<i64>| -> anyhow::Result<u8> {
        if state == "accepted" {
            crate::access::require(store, crate::access::Role::Engineer, "accept a risk")?;
        } else {
            crate::access::require(store, crate::access::Role::Analyst, "acknowledge or reopen findings")?;
        }
        anyhow::ensure!(!reason.trim().is_empty(), "--reason must say why");
        if !store.set_finding_state(id, state, reason, until, (now_secs(), &actor()))? {
            anyhow::bail!("no finding {id} (otposture findings lists them)");
        }
        println!(
            "{id}: {state} by {} (logged){}",
            actor(),
            until.map(|u| format!(" until {}", rfc3339_secs(u))).unwrap_or_default()
        );
        Ok(crate::exit::OK)
    };
    match a.command {
        Some(FindingsCommand::Show { id, format }) => {
            let row = store
                .finding(&id)?
                .ok_or_else(|| anyhow::anyhow!("no finding {id} (otposture findings lists them)"))?;
            let doc = document(&row)?;
            match format {
                Format::Json | Format::Csv => {
                    let out = serde_json::json!({ "schema": format!("otposture.findings/{FINDINGS_SCHEMA}"), "findings": [doc] });
                    println!("{}", serde_json::to_string_pretty(&out)?);
                }
                Format::Table => print_finding(&doc),
            }
            Ok(crate::exit::OK)
        }
        Some(FindingsCommand::Ack { id, reason }) => change(&mut store, &id, "acknowledged", &reason, None),
        Some(FindingsCommand::Accept { id, reason, until }) => {
            let until = until_secs(&until, now_secs())?;
            change(&mut store, &id, "accepted", &reason, Some(until))
        }
        Some(FindingsCommand::Reopen { id, reason }) => change(&mut store, &id, "open", &reason, None),
        None => {
            let name = |s: StateArg| match s {
                StateArg::Open => "open",
                StateArg::Acknowledged => "acknowledged",
                StateArg::Accepted => "accepted",
                StateArg::Resolved => "resolved",
            };
            let states: Vec<String> = if a.state.is_empty() {
                vec!["open".into(), "acknowledged".into(), "accepted".into()]
            } else {
                a.state.iter().map(|s| name(*s).to_string()).collect()
            };
            let severities = a
                .severity
                .iter()
                .map(|s| match s {
                    SeverityArg::Low => "low",
                    SeverityArg::Medium => "medium",
                    SeverityArg::High => "high",
                    SeverityArg::Critical => "critical",
                })
                .map(str::to_string)
                .collect();
            let filter = FindingFilter { states, severities, check_prefix: a.check, asset: a.asset };
            let rows = store.findings(&filter)?;
            if a.format == Format::Json {
                let docs: Vec<Value> = rows.iter().map(document).collect::<anyhow::Result<_>>()?;
                output::print(&docs, "findings", FINDINGS_SCHEMA, Format::Json, &[])?;
                return Ok(crate::exit::OK);
            }
            let lines: Vec<FindingLine> = rows
                .iter()
                .map(|r| {
                    let doc = document(r)?;
                    Ok(FindingLine {
                        id: r.id.clone(),
                        severity: r.severity.clone(),
                        state: r.state.clone(),
                        check: r.check.clone(),
                        title: r.title.clone(),
                        assets: joined(&doc, "assets"),
                        zones: joined(&doc, "zones"),
                        attack: joined(&doc, "attack"),
                        first_seen: otposture_model::Timestamp(r.first_seen_ns).to_string(),
                        last_seen: otposture_model::Timestamp(r.last_seen_ns).to_string(),
                        evidence_total: doc.get("evidence_total").and_then(Value::as_u64).unwrap_or(0),
                        state_by: r.state_by.clone(),
                        state_reason: r.state_reason.clone(),
                        accepted_until: r.accepted_until_secs.map(rfc3339_secs),
                    })
                })
                .collect::<anyhow::Result<_>>()?;
            output::print(
                &lines,
                "findings",
                FINDINGS_SCHEMA,
                a.format,
                &[
                    ("id", "ID"),
                    ("severity", "SEVERITY"),
                    ("state", "STATE"),
                    ("check", "CHECK"),
                    ("last_seen", "LAST SEEN"),
                    ("title", "TITLE"),
                ],
            )?;
            Ok(crate::exit::OK)
        }
    }
}

fn print_finding(doc: &Value) {
    let s = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    println!("{}  {}  {}  {}", s("id"), s("severity"), s("state"), s("check"));
    println!("  {}", s("title"));
    println!("  seen      {} .. {}", s("first_seen"), s("last_seen"));
    println!("  assets    {}", joined(doc, "assets"));
    if !joined(doc, "zones").is_empty() {
        println!("  zones     {}", joined(doc, "zones"));
    }
    println!("  ATT&CK    {}", joined(doc, "attack"));
    println!("  fix       {}", s("remediation"));
    if doc.get("state_by").is_some_and(|v| !v.is_null()) {
        println!(
            "  {} by {}: {}{}",
            s("state"),
            s("state_by"),
            s("state_reason"),
            doc.get("accepted_until").and_then(Value::as_str).map(|u| format!(" (until {u})")).unwrap_or_default()
        );
    }
    let total = doc.get("evidence_total").and_then(Value::as_u64).unwrap_or(0);
    println!("  evidence  ({total} in all)");
    for e in doc.get("evidence").and_then(Value::as_array).into_iter().flatten() {
        let what = e.get("what").and_then(Value::as_str).unwrap_or_default();
        let first = e
            .get("first_seen_ns")
            .and_then(Value::as_i64)
            .map(|t| otposture_model::Timestamp(t).to_string())
            .unwrap_or_default();
        let event = e.get("event_id").and_then(Value::as_i64).map(|id| format!(" [event {id}]")).unwrap_or_default();
        println!("    {first}  {what}{event}");
    }
}

/// The site's alert configuration with its dead-letter path made absolute
/// (relative to the site file's directory).
fn alerts_config(site: Option<&Site>, site_dir: Option<&Path>) -> Option<otposture_alerts::AlertsConfig> {
    let mut config = site?.alerts.clone()?;
    if config.syslog.is_empty() && config.webhook.is_empty() {
        return None;
    }
    if config.dead_letter.is_relative() {
        if let Some(dir) = site_dir {
            config.dead_letter = dir.join(&config.dead_letter);
        }
    }
    Some(config)
}

/// The first address of an evidence end: an `ip-` id, else the asset's first address.
fn address_of(id: Option<&str>, inventory: &otposture_inventory::Inventory) -> Option<std::net::IpAddr> {
    let id = id?;
    if let Some(ip) = otposture_posture::ip_of_id(id) {
        return Some(ip);
    }
    inventory.assets.iter().find(|a| a.id == id).and_then(|a| a.ips.first().copied())
}

/// Sends an alert for every transition of the assessment to the site's
/// targets. Delivery runs on the dispatcher's threads; what is not delivered
/// within the configured deadline goes to the dead-letter file
/// (`otposture alerts redeliver` sends it again).
fn deliver(
    site: Option<&Site>,
    site_dir: Option<&Path>,
    outcome: &otposture_store::AssessmentOutcome,
    findings: &[Finding],
    store: &Store,
    inventory: &otposture_inventory::Inventory,
) -> anyhow::Result<Option<otposture_alerts::DeliveryReport>> {
    let Some(config) = alerts_config(site, site_dir) else { return Ok(None) };
    if outcome.transitions.is_empty() {
        return Ok(None);
    }
    let dispatcher = otposture_alerts::Dispatcher::start(&config)?;
    for t in &outcome.transitions {
        // A resolved finding is not among this assessment's: its stored document says what it was.
        let finding: Option<Value> = match findings.iter().find(|f| f.id == t.finding_id) {
            Some(f) => Some(serde_json::to_value(f)?),
            None => store.finding(&t.finding_id)?.map(|r| serde_json::from_str(&r.doc)).transpose()?,
        };
        let Some(doc) = finding else { continue };
        let text = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let list = |k: &str| -> Vec<String> {
            doc.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let first = doc.get("evidence").and_then(Value::as_array).and_then(|e| e.first());
        let end = |k: &str| first.and_then(|e| e.get(k)).and_then(Value::as_str);
        let severity = match text("severity").as_str() {
            "critical" => otposture_alerts::Severity::Critical,
            "high" => otposture_alerts::Severity::High,
            "medium" => otposture_alerts::Severity::Medium,
            _ => otposture_alerts::Severity::Low,
        };
        dispatcher.send(otposture_alerts::Alert {
            id: format!("{}:{}:{}", t.finding_id, t.event, outcome.id),
            finding_id: t.finding_id.clone(),
            event: t.event.to_string(),
            check: text("check"),
            title: text("title"),
            severity,
            time_ns: doc.get("last_seen_ns").and_then(Value::as_i64).unwrap_or(0),
            site: site.map(|s| s.name.clone()),
            assets: list("assets"),
            source: address_of(end("client"), inventory),
            destination: address_of(end("server"), inventory),
            protocol: end("protocol").map(str::to_string),
            attack: list("attack"),
            remediation: Some(text("remediation")).filter(|r| !r.is_empty()),
            detail: serde_json::json!({
                "zones": doc.get("zones"),
                "evidence_total": doc.get("evidence_total"),
                "evidence": doc.get("evidence"),
            }),
        });
    }
    Ok(Some(dispatcher.finish()))
}

#[derive(Args, Debug)]
pub(crate) struct AlertsArgs {
    #[command(subcommand)]
    command: AlertsCommand,
}

#[derive(Subcommand, Debug)]
enum AlertsCommand {
    /// Sends the dead-letter file's alerts again to the targets of the site file in force; keeps those that still fail.
    Redeliver,
}

pub(crate) fn alerts(a: AlertsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = Store::open(&crate::require_db(db)?)?;
    let site = crate::vulns::site_in_force(&store)?;
    let dir = store.current_site()?.and_then(|s| Path::new(&s.path).parent().map(Path::to_path_buf));
    match a.command {
        AlertsCommand::Redeliver => {
            let config = alerts_config(site.as_ref(), dir.as_deref()).ok_or_else(|| {
                anyhow::anyhow!("the site file in force configures no alert targets ([alerts] in docs/site.md)")
            })?;
            let report = otposture_alerts::redeliver(&config)?;
            println!("{report}");
            Ok(if report.all_delivered() { crate::exit::OK } else { crate::exit::WARNINGS })
        }
    }
}
