//! CISA's SSVC decision for one vulnerability on one asset: Track, Track*,
//! Attend or Act, with the path of decision points that led there.
//!
//! The table is CISA's coordinator decision table 2.0.3 (`DT_CO`, decision
//! points Exploitation 1.1.0, Automatable 2.0.0, Technical Impact 1.0.0,
//! Mission and Well-Being Impact 1.0.0), from CERTCC/SSVC `data/` (MIT-style
//! licence, SEI), 36 rows typed from its CSV; a test compares it with
//! `../shared/catalogs/ssvc/csv/cisa_coordinator_2_0_3.csv` row by row.
//! Mission and Well-Being derives from Mission Prevalence and Public
//! Well-Being Impact as CISA's guide does.

use serde::Serialize;

/// Exploitation 1.1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exploitation {
    /// No evidence of exploitation.
    None,
    /// A public proof of concept.
    PublicPoc,
    /// Active exploitation.
    Active,
}

/// Automatable 2.0.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Automatable {
    /// Steps 1-4 of the kill chain cannot be reliably automated.
    No,
    /// They can.
    Yes,
}

/// Technical Impact 1.0.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TechnicalImpact {
    /// Limited control or information.
    Partial,
    /// Total control, or total disclosure.
    Total,
}

/// Mission and Well-Being Impact 1.0.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionWellbeing {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// Mission Prevalence (CISA 1.0.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionPrevalence {
    /// Minimal.
    Minimal,
    /// Support.
    Support,
    /// Essential.
    Essential,
}

/// Public Well-Being Impact 1.1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicWellbeing {
    /// Minimal.
    Minimal,
    /// Material.
    Material,
    /// Irreversible.
    Irreversible,
}

/// CISA Levels 1.1.0: the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Decision {
    /// Remediate within standard update timelines.
    #[serde(rename = "track")]
    Track,
    /// Track, and monitor for changes.
    #[serde(rename = "track*")]
    TrackStar,
    /// Supervisory attention; remediate sooner than standard.
    #[serde(rename = "attend")]
    Attend,
    /// Leadership; remediate as soon as possible.
    #[serde(rename = "act")]
    Act,
}

impl Decision {
    /// `track`, `track*`, `attend`, `act`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Track => "track",
            Decision::TrackStar => "track*",
            Decision::Attend => "attend",
            Decision::Act => "act",
        }
    }
}

/// Mission and Well-Being from Mission Prevalence and Public Well-Being:
/// high if either is at its top; low only if both are minimal.
pub fn mission_wellbeing(mp: MissionPrevalence, pwb: PublicWellbeing) -> MissionWellbeing {
    use MissionPrevalence as M;
    use PublicWellbeing as P;
    match (mp, pwb) {
        (M::Essential, _) | (_, P::Irreversible) => MissionWellbeing::High,
        (M::Minimal, P::Minimal) => MissionWellbeing::Low,
        _ => MissionWellbeing::Medium,
    }
}

/// CISA's coordinator table 2.0.3, in its row order: Exploitation, then
/// Automatable, then Technical Impact, then Mission and Well-Being vary,
/// slowest first.
const TABLE: [Decision; 36] = {
    use Decision::{Act as X, Attend as A, Track as T, TrackStar as S};
    [
        T, T, T, T, T, S, T, T, A, T, T, A, // none
        T, T, S, T, S, A, T, T, A, T, S, A, // public poc
        T, T, A, T, A, X, A, A, X, A, X, X, // active
    ]
};

/// The decision for the four points.
pub fn decide(e: Exploitation, a: Automatable, t: TechnicalImpact, m: MissionWellbeing) -> Decision {
    let e = match e {
        Exploitation::None => 0,
        Exploitation::PublicPoc => 1,
        Exploitation::Active => 2,
    };
    let a = match a {
        Automatable::No => 0,
        Automatable::Yes => 1,
    };
    let t = match t {
        TechnicalImpact::Partial => 0,
        TechnicalImpact::Total => 1,
    };
    let m = match m {
        MissionWellbeing::Low => 0,
        MissionWellbeing::Medium => 1,
        MissionWellbeing::High => 2,
    };
    TABLE.get(e * 12 + a * 6 + t * 3 + m).copied().unwrap_or(Decision::Act)
}

/// Exploitation from what is known: in KEV is active; else CISA's
/// vulnrichment point (`none`, `poc`, `active`); else what the advisory's
/// notes say (`none`, `public poc`, `active`; crates/intel `csaf::exploitation`).
pub fn exploitation(
    in_kev: bool,
    vulnrichment: Option<&str>,
    csaf: Option<&str>,
) -> Option<(Exploitation, &'static str)> {
    if in_kev {
        return Some((Exploitation::Active, "in CISA KEV"));
    }
    let point = |p: &str| match p {
        "none" => Some(Exploitation::None),
        "poc" | "public poc" => Some(Exploitation::PublicPoc),
        "active" => Some(Exploitation::Active),
        _ => None,
    };
    vulnrichment
        .and_then(point)
        .map(|e| (e, "CISA vulnrichment"))
        .or_else(|| csaf.and_then(point).map(|e| (e, "CSAF advisory note")))
}

/// The CVSS 3.x base metrics of a vector (`CVSS:3.1/AV:N/AC:L/...`).
fn metric<'v>(vector: &'v str, name: &str) -> Option<&'v str> {
    vector.split('/').find_map(|part| part.split_once(':').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// Automatable from CISA's vulnrichment point, else from a CVSS 3.x vector:
/// reachable over the network, low complexity, no privileges, no user
/// interaction is automatable; anything else is not.
pub fn automatable(vulnrichment: Option<&str>, cvss_vector: Option<&str>) -> Option<(Automatable, &'static str)> {
    match vulnrichment {
        Some("yes") => return Some((Automatable::Yes, "CISA vulnrichment")),
        Some("no") => return Some((Automatable::No, "CISA vulnrichment")),
        _ => {}
    }
    let v = cvss_vector.filter(|v| v.starts_with("CVSS:3"))?;
    let yes = metric(v, "AV") == Some("N")
        && metric(v, "AC") == Some("L")
        && metric(v, "PR") == Some("N")
        && metric(v, "UI") == Some("N");
    Some((if yes { Automatable::Yes } else { Automatable::No }, "CVSS vector"))
}

/// Technical Impact from CISA's vulnrichment point, else from a CVSS 3.x
/// vector: high confidentiality, integrity and availability impact is total;
/// anything else is partial.
pub fn technical_impact(
    vulnrichment: Option<&str>,
    cvss_vector: Option<&str>,
) -> Option<(TechnicalImpact, &'static str)> {
    match vulnrichment {
        Some("total") => return Some((TechnicalImpact::Total, "CISA vulnrichment")),
        Some("partial") => return Some((TechnicalImpact::Partial, "CISA vulnrichment")),
        _ => {}
    }
    let v = cvss_vector.filter(|v| v.starts_with("CVSS:3"))?;
    let total = ["C", "I", "A"].iter().all(|m| metric(v, m) == Some("H"));
    Some((if total { TechnicalImpact::Total } else { TechnicalImpact::Partial }, "CVSS vector"))
}

/// Mission Prevalence and Public Well-Being by an asset's role, until the
/// site file declares the asset's consequences (crates/site): a controller, RTU, IED or safety
/// controller is essential to its process with material public well-being
/// impact; an HMI, SCADA server, engineering workstation, historian, OPC
/// server or network device supports it; an IT host or unknown device is
/// minimal on both.
pub fn role_default(role: &str) -> (MissionPrevalence, PublicWellbeing) {
    match role {
        "controller" | "rtu" | "ied" | "safety_controller" => (MissionPrevalence::Essential, PublicWellbeing::Material),
        "hmi" | "scada_server" | "engineering_workstation" | "historian" | "opc_server" | "network_device" => {
            (MissionPrevalence::Support, PublicWellbeing::Material)
        }
        _ => (MissionPrevalence::Minimal, PublicWellbeing::Minimal),
    }
}

/// A decision with the points and where each came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SsvcDecision {
    /// The decision, or `None` when a point is unknown.
    pub decision: Option<Decision>,
    /// `E=active (in CISA KEV) -> A=yes (CVSS vector) -> TI=total (CISA vulnrichment) -> MWI=high (role controller default) -> act`.
    pub path: String,
}

fn point(name: &str, v: Option<(&str, &str)>) -> String {
    match v {
        Some((value, from)) => format!("{name}={value} ({from})"),
        None => format!("{name}=unknown"),
    }
}

/// Mission Prevalence and Public Well-Being of one asset, and where they
/// came from (the site file's consequences, or the role's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consequence {
    /// How much the mission depends on the asset.
    pub mission: MissionPrevalence,
    /// What its failure does to people.
    pub wellbeing: PublicWellbeing,
    /// Where they came from, for the decision's path (`role controller default`,
    /// `site: process chlorination`).
    pub source: String,
}

impl Consequence {
    /// The role's default ([`role_default`]).
    pub fn of_role(role: &str) -> Self {
        let (mission, wellbeing) = role_default(role);
        Consequence { mission, wellbeing, source: format!("role {role} default") }
    }
}

/// The decision for one vulnerability on an asset of `role`, from its KEV
/// listing, CISA's vulnrichment points (exploitation, automatable, technical
/// impact) and its CVSS vector.
pub fn assess(in_kev: bool, points: [Option<&str>; 3], cvss_vector: Option<&str>, role: &str) -> SsvcDecision {
    assess_with(in_kev, points, None, cvss_vector, &Consequence::of_role(role))
}

/// [`assess`] with the asset's declared consequence.
/// `csaf_exploitation` is what the advisory's notes say, used when neither
/// KEV nor vulnrichment says anything.
pub fn assess_with(
    in_kev: bool,
    points: [Option<&str>; 3],
    csaf_exploitation: Option<&str>,
    cvss_vector: Option<&str>,
    consequence: &Consequence,
) -> SsvcDecision {
    let e = exploitation(in_kev, points[0], csaf_exploitation);
    let a = automatable(points[1], cvss_vector);
    let t = technical_impact(points[2], cvss_vector);
    let m = mission_wellbeing(consequence.mission, consequence.wellbeing);
    let decision = match (e, a, t) {
        (Some((e, _)), Some((a, _)), Some((t, _))) => Some(decide(e, a, t, m)),
        _ => None,
    };
    let e_name = e.map(|(v, from)| {
        let v = match v {
            Exploitation::None => "none",
            Exploitation::PublicPoc => "public poc",
            Exploitation::Active => "active",
        };
        (v, from)
    });
    let a_name = a.map(|(v, from)| (if v == Automatable::Yes { "yes" } else { "no" }, from));
    let t_name = t.map(|(v, from)| (if v == TechnicalImpact::Total { "total" } else { "partial" }, from));
    let m_name = match m {
        MissionWellbeing::Low => "low",
        MissionWellbeing::Medium => "medium",
        MissionWellbeing::High => "high",
    };
    let path = [
        point("E", e_name),
        point("A", a_name),
        point("TI", t_name),
        format!("MWI={m_name} ({})", consequence.source),
        decision.map_or("no decision: a point is unknown".to_owned(), |d| d.name().to_owned()),
    ];
    SsvcDecision { decision, path: path.join(" -> ") }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_advisory_note_decides_exploitation_only_when_kev_and_vulnrichment_are_silent() {
        assert_eq!(
            exploitation(false, None, Some("public poc")),
            Some((Exploitation::PublicPoc, "CSAF advisory note"))
        );
        assert_eq!(exploitation(false, Some("none"), Some("active")), Some((Exploitation::None, "CISA vulnrichment")));
        assert_eq!(exploitation(true, None, Some("none")), Some((Exploitation::Active, "in CISA KEV")));
        assert_eq!(exploitation(false, None, None), None);
        let d = assess_with(
            false,
            [None, None, None],
            Some("none"),
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            &Consequence::of_role("controller"),
        );
        assert_eq!(d.decision, Some(Decision::Attend));
        assert!(d.path.starts_with("E=none (CSAF advisory note) -> A=yes (CVSS vector)"), "{}", d.path);
    }

    #[test]
    fn the_table_is_cisas_coordinator_table_row_for_row() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/catalogs/ssvc/csv/cisa_coordinator_2_0_3.csv");
        let Ok(csv) = std::fs::read_to_string(path) else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared/catalogs is missing and CI=true");
            eprintln!("skipping: ../shared/catalogs not found (set CI=true to make this a failure)");
            return;
        };
        let mut rows = 0;
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let e = match f[1] {
                "none" => Exploitation::None,
                "public poc" => Exploitation::PublicPoc,
                _ => Exploitation::Active,
            };
            let a = if f[2] == "yes" { Automatable::Yes } else { Automatable::No };
            let t = if f[3] == "total" { TechnicalImpact::Total } else { TechnicalImpact::Partial };
            let m = match f[4] {
                "low" => MissionWellbeing::Low,
                "medium" => MissionWellbeing::Medium,
                _ => MissionWellbeing::High,
            };
            assert_eq!(decide(e, a, t, m).name(), f[5], "row {}", f[0]);
            rows += 1;
        }
        assert_eq!(rows, 36);
    }

    #[test]
    fn points_come_from_kev_vulnrichment_or_the_cvss_vector_and_unknown_gives_no_decision() {
        let v = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let d = assess(true, [None, None, None], Some(v), "controller");
        assert_eq!(d.decision, Some(Decision::Act));
        assert!(
            d.path.starts_with("E=active (in CISA KEV) -> A=yes (CVSS vector) -> TI=total (CVSS vector)"),
            "{}",
            d.path
        );
        let d = assess(false, [Some("none"), Some("no"), Some("partial")], Some(v), "it_host");
        assert_eq!(d.decision, Some(Decision::Track), "vulnrichment wins over the vector: {}", d.path);
        let d = assess(
            false,
            [Some("none"), None, None],
            Some("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
            "controller",
        );
        assert_eq!(d.decision, Some(Decision::Track));
        let d = assess(false, [None, None, None], Some(v), "controller");
        assert_eq!(d.decision, None, "exploitation unknown: {}", d.path);
        assert!(d.path.ends_with("no decision: a point is unknown"));
        assert_eq!(
            mission_wellbeing(MissionPrevalence::Support, PublicWellbeing::Irreversible),
            MissionWellbeing::High
        );
        assert_eq!(mission_wellbeing(MissionPrevalence::Minimal, PublicWellbeing::Minimal), MissionWellbeing::Low);
        assert_eq!(mission_wellbeing(MissionPrevalence::Support, PublicWellbeing::Minimal), MissionWellbeing::Medium);
    }
}
