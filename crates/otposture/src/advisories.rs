//! `otposture advisories show ID`: one imported advisory as it is in force —
//! its revisions, products, vulnerabilities with their product statuses, and
//! the vendor fixes, workarounds and mitigations. Storage is crates/store;
//! this module prints.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use otposture_store::Store;
use serde_json::json;
use std::path::PathBuf;

/// Version of the `otposture.advisory` JSON schema.
const SCHEMA: u32 = 1;

#[derive(Args, Debug)]
pub(crate) struct AdvisoriesArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// One advisory: revisions, products, vulnerabilities, statuses, remediations.
    Show(ShowArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ShowFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct ShowArgs {
    /// Tracking id (`ICSA-18-079-02`), as `otposture vulns` shows it.
    id: String,
    /// Output format: text, or otposture.advisory/1 JSON.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    format: ShowFormat,
}

pub(crate) fn run(a: AdvisoriesArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let Action::Show(a) = a.action;
    let store = Store::open(&crate::require_db(db)?)?;
    let advisory = store
        .intel_advisory(&a.id)?
        .with_context(|| format!("no advisory {} in the database (otposture intel import loads them)", a.id))?;
    let revisions = store.intel_advisory_revisions(&a.id)?;
    let products = store.advisory_products(&a.id)?;
    let vulns = store.advisory_vulnerabilities(&a.id)?;
    match a.format {
        ShowFormat::Json => {
            let doc = json!({
                "schema": format!("otposture.advisory/{SCHEMA}"),
                "advisory": advisory,
                "revisions": revisions,
                "products": products,
                "vulnerabilities": vulns,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        ShowFormat::Text => {
            println!("{}  {}", advisory.tracking_id, advisory.title);
            println!(
                "  version {}, released {}, from {}",
                advisory.version, advisory.current_release_date, advisory.source
            );
            println!("  revisions imported: {}", revisions.len());
            println!("products ({}):", products.len());
            for p in &products {
                let version = p.version_range.as_deref().or(p.version.as_deref()).unwrap_or("every version");
                println!("  {}  {}  [{version}]", p.product_id, p.name);
                if !p.model_numbers.is_empty() {
                    println!("      model numbers: {}", p.model_numbers.join(", "));
                }
            }
            println!("vulnerabilities ({}):", vulns.len());
            for v in &vulns {
                let cvss = v.cvss_score.map(|s| format!(" CVSS {s}")).unwrap_or_default();
                println!("  {}{cvss}  {}", v.cve.as_deref().unwrap_or("(no CVE)"), v.title.as_deref().unwrap_or(""));
                let mut by_status: Vec<(&str, Vec<&str>)> = Vec::new();
                for (status, product) in &v.statuses {
                    match by_status.iter_mut().find(|(s, _)| s == status) {
                        Some((_, list)) => list.push(product),
                        None => by_status.push((status, vec![product])),
                    }
                }
                for (status, list) in by_status {
                    println!("      {status}: {}", list.join(", "));
                }
                for r in &v.remediations {
                    let flat = r.details.split_whitespace().collect::<Vec<_>>().join(" ");
                    let details: String = flat.chars().take(160).collect();
                    println!("      {}: {details}", r.category);
                }
            }
        }
    }
    Ok(crate::exit::OK)
}
