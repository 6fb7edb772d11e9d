//! CVE JSON 5 records (CVE Record Format 5.x, `dataType: CVE_RECORD`), as
//! published by the CVE Program and enriched by CISA's vulnrichment ADP
//! container: its SSVC decision points (Exploitation, Automatable, Technical
//! Impact, `metrics[].other.type == "ssvc"`), its CVSS scores, and its KEV
//! mark (`other.type == "kev"`). The CNA's CVSS, CWEs, title and English
//! description are kept too; affected-product lists are not (the CSAF
//! advisories carry the product trees).

use crate::csaf::is_cve;
use crate::error::{quote, Problem, ProblemKind};
use crate::json;
use crate::record::{CveRecord, Score, Ssvc};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    data_type: String,
    data_version: Value,
    cve_metadata: WMeta,
    containers: WContainers,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WMeta {
    cve_id: String,
    state: String,
    #[serde(default)]
    assigner_short_name: Option<String>,
    #[serde(default)]
    date_published: Option<String>,
    #[serde(default)]
    date_updated: Option<String>,
}

#[derive(Deserialize)]
struct WContainers {
    cna: WContainer,
    #[serde(default)]
    adp: Vec<WContainer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WContainer {
    #[serde(default)]
    provider_metadata: Option<WProvider>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    descriptions: Vec<WDescription>,
    #[serde(default)]
    problem_types: Vec<WProblemType>,
    #[serde(default)]
    metrics: Vec<WMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WProvider {
    #[serde(default)]
    short_name: Option<String>,
}

#[derive(Deserialize)]
struct WDescription {
    lang: String,
    value: String,
}

#[derive(Deserialize)]
struct WProblemType {
    #[serde(default)]
    descriptions: Vec<WProblemDescription>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WProblemDescription {
    #[serde(default)]
    cwe_id: Option<String>,
}

#[derive(Deserialize)]
struct WMetric {
    #[serde(rename = "cvssV4_0", default)]
    v4_0: Option<WCvss>,
    #[serde(rename = "cvssV3_1", default)]
    v3_1: Option<WCvss>,
    #[serde(rename = "cvssV3_0", default)]
    v3_0: Option<WCvss>,
    #[serde(rename = "cvssV2_0", default)]
    v2_0: Option<WCvss>,
    #[serde(default)]
    other: Option<WOther>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WCvss {
    version: Value,
    base_score: f64,
    #[serde(default)]
    base_severity: Option<String>,
    vector_string: String,
}

#[derive(Deserialize)]
struct WOther {
    #[serde(rename = "type")]
    kind: String,
    content: Value,
}

/// Parses and validates one CVE record.
pub fn parse(bytes: &[u8]) -> Result<CveRecord, Problem> {
    let w: Wire = json::from_slice(bytes)?;
    if w.data_type != "CVE_RECORD" {
        return Err(Problem::new(
            ProblemKind::Schema,
            "/dataType",
            format!("{} is not CVE_RECORD", quote(&w.data_type)),
        ));
    }
    let data_version = match &w.data_version {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // CVE Record Format 5.x; 4.0 records have another layout altogether.
    if !data_version.starts_with("5.") {
        return Err(Problem::new(
            ProblemKind::UnsupportedVersion,
            "/dataVersion",
            format!("CVE record format {} is not supported; otposture reads 5.x", quote(&data_version)),
        ));
    }
    let m = w.cve_metadata;
    if !is_cve(&m.cve_id) {
        return Err(Problem::new(
            ProblemKind::Invalid,
            "/cveMetadata/cveId",
            format!("{} is not a CVE id", quote(&m.cve_id)),
        ));
    }
    let cna = &w.containers.cna;
    let mut record = CveRecord {
        cve: m.cve_id,
        state: m.state,
        data_version,
        assigner: m.assigner_short_name,
        date_published: m.date_published,
        date_updated: m.date_updated,
        title: cna.title.clone(),
        description: cna.descriptions.iter().find(|d| d.lang.starts_with("en")).map(|d| d.value.clone()),
        ..CveRecord::default()
    };
    let containers = std::iter::once(("/containers/cna".to_string(), cna))
        .chain(w.containers.adp.iter().enumerate().map(|(i, a)| (format!("/containers/adp/{i}"), a)));
    for (path, c) in containers {
        let provider = if path.ends_with("cna") {
            "cna".to_string()
        } else {
            c.provider_metadata.as_ref().and_then(|p| p.short_name.clone()).unwrap_or_else(|| "adp".into())
        };
        for p in &c.problem_types {
            for d in &p.descriptions {
                if let Some(cwe) = &d.cwe_id {
                    if !record.cwes.contains(cwe) {
                        record.cwes.push(cwe.clone());
                    }
                }
            }
        }
        for (i, metric) in c.metrics.iter().enumerate() {
            let mpath = format!("{path}/metrics/{i}");
            for (field, cvss) in [
                ("cvssV4_0", &metric.v4_0),
                ("cvssV3_1", &metric.v3_1),
                ("cvssV3_0", &metric.v3_0),
                ("cvssV2_0", &metric.v2_0),
            ] {
                let Some(cvss) = cvss else { continue };
                if !(0.0..=10.0).contains(&cvss.base_score) {
                    return Err(Problem::new(
                        ProblemKind::Invalid,
                        format!("{mpath}/{field}/baseScore"),
                        format!("base score {} is outside 0.0 to 10.0", cvss.base_score),
                    ));
                }
                record.scores.push(Score {
                    version: match &cvss.version {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                    base_score: cvss.base_score,
                    severity: cvss.base_severity.clone(),
                    vector: Some(cvss.vector_string.clone()),
                    products: Vec::new(),
                    provider: provider.clone(),
                });
            }
            if let Some(other) = &metric.other {
                match other.kind.as_str() {
                    "ssvc" => record.ssvc = Some(ssvc(&other.content, &format!("{mpath}/other/content"))?),
                    "kev" => {
                        record.kev_date_added =
                            other.content.get("dateAdded").and_then(Value::as_str).map(str::to_string);
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(record)
}

/// `{"options": [{"Exploitation": "active"}, {"Automatable": "no"}, {"Technical Impact": "total"}], ...}`.
fn ssvc(content: &Value, path: &str) -> Result<Ssvc, Problem> {
    let text = |key: &str| content.get(key).and_then(Value::as_str).map(str::to_string);
    let mut out =
        Ssvc { version: text("version"), timestamp: text("timestamp"), role: text("role"), ..Ssvc::default() };
    let Some(options) = content.get("options").and_then(Value::as_array) else {
        return Err(Problem::new(
            ProblemKind::Schema,
            format!("{path}/options"),
            "SSVC content without an options list",
        ));
    };
    for (i, option) in options.iter().enumerate() {
        let Some(map) = option.as_object() else {
            return Err(Problem::new(
                ProblemKind::Schema,
                format!("{path}/options/{i}"),
                "an SSVC option is not an object",
            ));
        };
        for (key, value) in map {
            let Some(value) = value.as_str() else {
                return Err(Problem::new(
                    ProblemKind::Schema,
                    format!("{path}/options/{i}/{}", crate::error::segment(key)),
                    format!("SSVC {key} is not text"),
                ));
            };
            let value = Some(value.to_ascii_lowercase());
            match key.as_str() {
                "Exploitation" => out.exploitation = value,
                "Automatable" => out.automatable = value,
                "Technical Impact" => out.technical_impact = value,
                _ => {}
            }
        }
    }
    Ok(out)
}
