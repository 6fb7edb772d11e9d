//! MITRE ATT&CK for ICS as a STIX 2.0/2.1 bundle (`enterprise-attack`'s
//! sibling `ics-attack.json` from mitre/cti). Keeps the techniques
//! (`attack-pattern` objects): ATT&CK id, name, tactics (kill chain phase
//! names), platforms, page, and the deprecated/revoked marks. Mitigations,
//! groups, software and relationships are not read yet.

use crate::error::{quote, Problem, ProblemKind};
use crate::json;
use crate::record::{AttackBundle, Technique};
use serde::Deserialize;

/// The external reference naming a technique's ATT&CK id: `mitre-attack`
/// today, `mitre-ics-attack` in older ICS releases (and some deprecated techniques).
const ATTACK_SOURCES: [&str; 2] = ["mitre-attack", "mitre-ics-attack"];

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    objects: Vec<WObject>,
}

#[derive(Deserialize)]
struct WObject {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    x_mitre_deprecated: bool,
    #[serde(default)]
    kill_chain_phases: Vec<WPhase>,
    #[serde(default)]
    x_mitre_platforms: Vec<String>,
    #[serde(default)]
    external_references: Vec<WReference>,
}

#[derive(Deserialize)]
struct WPhase {
    phase_name: String,
}

#[derive(Deserialize)]
struct WReference {
    source_name: String,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// Parses one bundle.
pub fn parse(bytes: &[u8]) -> Result<AttackBundle, Problem> {
    let w: Wire = json::from_slice(bytes)?;
    if w.kind != "bundle" {
        return Err(Problem::new(ProblemKind::Schema, "/type", format!("{} is not a STIX bundle", quote(&w.kind))));
    }
    let mut out = AttackBundle { id: w.id, ..AttackBundle::default() };
    for (i, o) in w.objects.into_iter().enumerate() {
        if o.kind != "attack-pattern" {
            continue;
        }
        let path = format!("/objects/{i}");
        let Some(reference) = o.external_references.iter().find(|r| ATTACK_SOURCES.contains(&r.source_name.as_str()))
        else {
            return Err(Problem::new(
                ProblemKind::Invalid,
                format!("{path}/external_references"),
                format!("technique {} has no mitre-attack external id", quote(&o.id)),
            ));
        };
        let Some(id) = reference.external_id.clone() else {
            return Err(Problem::new(
                ProblemKind::Invalid,
                format!("{path}/external_references"),
                format!("technique {} has no mitre-attack external id", quote(&o.id)),
            ));
        };
        let Some(name) = o.name else {
            return Err(Problem::new(ProblemKind::Schema, format!("{path}/name"), "a technique without a name"));
        };
        if o.modified.as_deref() > out.modified.as_deref() {
            out.modified.clone_from(&o.modified);
        }
        out.techniques.push(Technique {
            id,
            stix_id: o.id,
            name,
            tactics: o.kill_chain_phases.into_iter().map(|p| p.phase_name).collect(),
            platforms: o.x_mitre_platforms,
            url: reference.url.clone(),
            modified: o.modified,
            deprecated: o.x_mitre_deprecated,
            revoked: o.revoked,
        });
    }
    Ok(out)
}
