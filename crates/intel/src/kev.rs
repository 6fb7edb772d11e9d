//! The CISA Known Exploited Vulnerabilities catalog, in its JSON form
//! (`known_exploited_vulnerabilities_schema.json`, catalog schema 1.x) and
//! its CSV form (the same fields as columns). The CSV carries no catalog
//! version or release date: its as-of date is its newest `dateAdded`.

use crate::csaf::is_cve;
use crate::error::{quote, Problem, ProblemKind};
use crate::json;
use crate::limits::MAX_TEXT;
use crate::record::{KevCatalog, KevEntry};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    catalog_version: Option<String>,
    #[serde(default)]
    date_released: Option<String>,
    #[serde(default)]
    count: Option<u64>,
    vulnerabilities: Vec<WEntry>,
}

#[derive(Deserialize)]
struct WEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(rename = "vendorProject")]
    vendor_project: String,
    product: String,
    #[serde(rename = "vulnerabilityName")]
    vulnerability_name: String,
    #[serde(rename = "dateAdded")]
    date_added: String,
    #[serde(rename = "shortDescription", default)]
    short_description: Option<String>,
    #[serde(rename = "requiredAction", default)]
    required_action: Option<String>,
    #[serde(rename = "dueDate", default)]
    due_date: Option<String>,
    #[serde(rename = "knownRansomwareCampaignUse", default)]
    known_ransomware_campaign_use: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    cwes: Cwes,
}

/// `cwes` is a list in the JSON and one comma-separated cell in the CSV.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Cwes {
    List(Vec<String>),
    Text(String),
    #[default]
    None,
}

impl Cwes {
    fn into_vec(self) -> Vec<String> {
        match self {
            Cwes::List(v) => v,
            Cwes::Text(s) => s.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect(),
            Cwes::None => Vec::new(),
        }
    }
}

fn entries(raw: Vec<WEntry>, at: impl Fn(usize, &str) -> String) -> Result<Vec<KevEntry>, Problem> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(raw.len());
    let mut out = Vec::with_capacity(raw.len());
    for (i, e) in raw.into_iter().enumerate() {
        if !is_cve(&e.cve_id) {
            return Err(Problem::new(
                ProblemKind::Invalid,
                at(i, "cveID"),
                format!("{} is not a CVE id", quote(&e.cve_id)),
            ));
        }
        if let Some(first) = seen.insert(e.cve_id.clone(), i) {
            return Err(Problem::new(
                ProblemKind::Invalid,
                at(i, "cveID"),
                format!("{} is listed twice (first at {})", e.cve_id, at(first, "")),
            ));
        }
        for (field, v) in [("shortDescription", &e.short_description), ("notes", &e.notes)] {
            if v.as_ref().is_some_and(|v| v.len() > MAX_TEXT) {
                return Err(Problem::new(ProblemKind::TooLarge, at(i, field), "over the text limit"));
            }
        }
        let nonempty = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
        out.push(KevEntry {
            cve: e.cve_id,
            vendor: e.vendor_project,
            product: e.product,
            name: e.vulnerability_name,
            date_added: e.date_added,
            due_date: nonempty(e.due_date),
            ransomware: nonempty(e.known_ransomware_campaign_use),
            required_action: nonempty(e.required_action),
            description: nonempty(e.short_description),
            notes: nonempty(e.notes),
            cwes: e.cwes.into_vec(),
        });
    }
    Ok(out)
}

/// Parses the catalog's JSON form.
pub fn parse_json(bytes: &[u8]) -> Result<KevCatalog, Problem> {
    let w: Wire = json::from_slice(bytes)?;
    if let Some(count) = w.count {
        if count != w.vulnerabilities.len() as u64 {
            return Err(Problem::new(
                ProblemKind::Invalid,
                "/count",
                format!("the catalog says {count} entries but lists {}", w.vulnerabilities.len()),
            ));
        }
    }
    let entries = entries(w.vulnerabilities, |i, field| {
        if field.is_empty() {
            format!("/vulnerabilities/{i}")
        } else {
            format!("/vulnerabilities/{i}/{field}")
        }
    })?;
    Ok(KevCatalog { catalog_version: w.catalog_version, date_released: w.date_released, entries })
}

/// Parses the catalog's CSV form (header row first).
pub fn parse_csv(bytes: &[u8]) -> Result<KevCatalog, Problem> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let csv_problem = |e: csv::Error| {
        let line = e.position().map_or(1, csv::Position::line);
        Problem::new(ProblemKind::Syntax, format!("line {line}"), e.to_string())
    };
    let headers = reader.headers().map_err(csv_problem)?.clone();
    let mut raw = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_problem)?;
        let line = record.position().map_or(0, csv::Position::line);
        let row: WEntry = record
            .deserialize(Some(&headers))
            .map_err(|e| Problem::new(ProblemKind::Schema, format!("line {line}"), e.to_string()))?;
        lines.push(line);
        raw.push(row);
    }
    let entries = entries(raw, |i, field| {
        let line = lines.get(i).copied().unwrap_or(0);
        if field.is_empty() {
            format!("line {line}")
        } else {
            format!("line {line}, column {field}")
        }
    })?;
    let date_released = entries.iter().map(|e| e.date_added.as_str()).max().map(str::to_string);
    Ok(KevCatalog { catalog_version: None, date_released, entries })
}
