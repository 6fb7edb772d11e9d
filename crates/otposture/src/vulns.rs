//! `otposture vulns`: which imported advisories name which assets (and the
//! modules in their racks), and whether their firmware is affected, with the
//! evidence. Matching lives in crates/vulns; this module loads the stored
//! inventory and advisories and prints.

use crate::output::{self, Format};
use anyhow::Context;
use clap::{Args, ValueEnum};
use otposture_site::{Mission, Site, Wellbeing};
use otposture_store::{AssetFilter, AssetRecord, ProductStatusRow, Store};
use otposture_vulns::ssvc::{Consequence, MissionPrevalence, PublicWellbeing};
use otposture_vulns::{Catalog, Evidence, Identity, Matcher, Node, Outcome, Status, Vulnerability};
use serde::Serialize;
use serde_json::Value;
use sha2::Digest;
use std::path::PathBuf;

/// Version of the `otposture.vulns` JSON schema.
const SCHEMA: u32 = 1;
/// Version of the `otposture.remediation-plan` JSON schema.
const PLAN_SCHEMA: u32 = 1;

/// One remediation of an advisory and what it closes among the rows listed.
#[derive(Debug, Serialize)]
struct PlanRow {
    advisory: String,
    /// `vendor_fix`, `workaround`, `mitigation`, `none_available`, `no_fix_planned`.
    category: String,
    /// What to do (for a vendor fix, usually the fixed version), white space folded.
    details: String,
    url: Option<String>,
    /// Vulnerabilities it addresses among the rows (counted).
    vulnerabilities: usize,
    /// Assets (or modules) it concerns (counted).
    assets: usize,
    cves: Vec<String>,
    asset_ids: Vec<String>,
}

/// Groups the rows' remediations: for each row that is not "not affected"
/// (those need no fix), the remediations of its vulnerability that name its
/// deciding product node (or name none), merged by advisory, category and
/// text; vendor fixes first, then the most assets.
fn plan(rows: &[VulnRow], remediations: Vec<(String, i64, otposture_store::RemediationRow)>) -> Vec<PlanRow> {
    let mut out: Vec<PlanRow> = Vec::new();
    for row in rows.iter().filter(|r| r.outcome != Outcome::NotAffected) {
        let deciding = row.evidence.first().map(|e| e.product_id.as_str());
        for (advisory, ordinal, r) in &remediations {
            if *advisory != row.advisory || *ordinal != row.ordinal {
                continue;
            }
            if !r.product_ids.is_empty() && !deciding.is_some_and(|d| r.product_ids.iter().any(|p| p == d)) {
                continue;
            }
            let details = r.details.split_whitespace().collect::<Vec<_>>().join(" ");
            let at =
                out.iter().position(|p| p.advisory == *advisory && p.category == r.category && p.details == details);
            let entry = match at.and_then(|i| out.get_mut(i)) {
                Some(e) => e,
                None => {
                    out.push(PlanRow {
                        advisory: advisory.clone(),
                        category: r.category.clone(),
                        details,
                        url: r.url.clone(),
                        vulnerabilities: 0,
                        assets: 0,
                        cves: Vec::new(),
                        asset_ids: Vec::new(),
                    });
                    let Some(e) = out.last_mut() else { continue };
                    e
                }
            };
            let cve = row.cve.clone().unwrap_or_else(|| format!("{}#{}", row.advisory, row.ordinal));
            if !entry.cves.contains(&cve) {
                entry.cves.push(cve);
            }
            let asset = match &row.subject.module {
                Some(m) => format!("{} module {m}", row.subject.asset),
                None => row.subject.asset.clone(),
            };
            if !entry.asset_ids.contains(&asset) {
                entry.asset_ids.push(asset);
            }
            entry.vulnerabilities = entry.cves.len();
            entry.assets = entry.asset_ids.len();
        }
    }
    out.sort_by(|a, b| {
        (a.category != "vendor_fix", std::cmp::Reverse(a.assets), std::cmp::Reverse(a.vulnerabilities), &a.advisory)
            .cmp(&(
                b.category != "vendor_fix",
                std::cmp::Reverse(b.assets),
                std::cmp::Reverse(b.vulnerabilities),
                &b.advisory,
            ))
    });
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Wanted {
    Affected,
    NotAffected,
    NeedsReview,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SsvcWanted {
    Act,
    Attend,
    #[value(name = "track*")]
    TrackStar,
    Track,
    /// A decision point is unknown.
    Unknown,
}

#[derive(Args, Debug)]
pub(crate) struct VulnsArgs {
    /// Only this asset (its id, as `otposture assets` shows it).
    #[arg(long, value_name = "ID")]
    asset: Option<String>,
    /// Only these outcomes (repeat or comma-separate) [default: affected, needs-review].
    #[arg(long, value_enum, value_delimiter = ',')]
    outcome: Vec<Wanted>,
    /// Only vulnerabilities in CISA's Known Exploited Vulnerabilities catalog.
    #[arg(long)]
    kev: bool,
    /// Only assets of this vendor (any spelling: `siemens`, `SIEMENS AG`).
    #[arg(long, value_name = "VENDOR")]
    vendor: Option<String>,
    /// Only these CISA SSVC decisions (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',')]
    ssvc: Vec<SsvcWanted>,
    /// Print the remediation plan instead: the advisories' fixes, workarounds
    /// and mitigations for the rows selected, each with the vulnerabilities
    /// it closes and the assets it concerns (otposture.remediation-plan/1).
    #[arg(long)]
    plan: bool,
    /// Order of the rows: by asset then advisory, or by priority, highest first.
    #[arg(long, value_enum, default_value_t = Sort::Asset)]
    sort: Sort,
    /// Print the rows selected as an OpenVEX document instead (affected,
    /// fixed, not_affected, under_investigation per asset and vulnerability;
    /// add `--outcome affected,not-affected,needs-review` for every status).
    #[arg(long, conflicts_with = "plan")]
    vex: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Sort {
    /// By asset, then advisory.
    Asset,
    /// By priority, highest first.
    Priority,
}

/// One asset (or module) and one vulnerability.
#[derive(Debug, Serialize)]
pub(crate) struct VulnRow {
    /// The asset (or module) and the identity matched.
    #[serde(flatten)]
    pub(crate) subject: Subject,
    pub(crate) advisory: String,
    pub(crate) title: String,
    pub(crate) cve: Option<String>,
    cvss: Option<f64>,
    /// When CISA added the CVE to KEV; null when it is not known exploited.
    pub(crate) kev: Option<String>,
    epss: Option<f64>,
    /// CISA's SSVC decision points from the CVE record, when imported.
    ssvc_exploitation: Option<String>,
    ssvc_automatable: Option<String>,
    ssvc_technical_impact: Option<String>,
    /// CISA's SSVC decision for this asset (`track`, `track*`, `attend`,
    /// `act`); null when a decision point is unknown.
    pub(crate) ssvc: Option<String>,
    /// How it was reached, point by point.
    pub(crate) ssvc_path: String,
    /// 0-100, for sorting: SSVC, EPSS, CVSS, observed exposure and the
    /// asset's criticality, weighed (docs/vulns.md); `priority_parts` shows each.
    pub(crate) priority: f64,
    /// The parts of `priority`, each 0-1, with what they came from.
    pub(crate) priority_parts: PriorityParts,
    pub(crate) outcome: Outcome,
    confidence: otposture_vulns::Confidence,
    /// The deciding product node's name.
    product: String,
    /// Why: the identity match and the version rule of the deciding node.
    why: String,
    evidence: Vec<Evidence>,
    #[serde(skip)]
    ordinal: i64,
}

/// Groups the stored product statuses into vulnerabilities (they come ordered
/// by advisory and vulnerability). Unknown status categories are left out.
fn catalog(rows: Vec<ProductStatusRow>) -> Catalog {
    let mut vulns: Vec<Vulnerability> = Vec::new();
    let mut last: Option<(String, i64)> = None;
    for r in rows {
        let key = (r.tracking_id.clone(), r.ordinal);
        if last.as_ref() != Some(&key) {
            vulns.push(Vulnerability {
                tracking_id: r.tracking_id.clone(),
                ordinal: r.ordinal,
                title: r.title.clone(),
                cve: r.cve.clone(),
                cvss: r.cvss_score,
                cvss_vector: r.cvss_vector.clone(),
                kev_date_added: r.kev_date_added.clone(),
                epss: r.epss,
                ssvc: r.ssvc.clone(),
                csaf_exploitation: r.csaf_exploitation.clone(),
                nodes: Vec::new(),
            });
            last = Some(key);
        }
        if let Some(v) = vulns.last_mut() {
            let p = r.product;
            v.nodes.push(Node {
                product_id: p.product_id,
                name: p.name,
                vendor: p.vendor,
                family: p.family,
                product: p.product,
                version: p.version,
                version_range: p.version_range,
                model_numbers: p.model_numbers,
                skus: p.skus,
                status: Status::of_csaf(&r.status),
            });
        }
    }
    Catalog::new(vulns)
}

/// The headline value of `field` among an asset document's attributes.
fn headline(attributes: Option<&Value>, field: &str) -> Option<String> {
    attributes?
        .as_array()?
        .iter()
        .find(|a| a.get("field").and_then(Value::as_str) == Some(field))
        .and_then(|a| a.get("value")?.as_str().map(str::to_owned))
}

/// What one identity (an asset, or a module in its rack) is.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Subject {
    pub(crate) asset: String,
    /// The module's route in the asset's rack (`1/0`), when the match is a module's.
    module: Option<String>,
    vendor: Option<String>,
    model: Option<String>,
    order_number: Option<String>,
    firmware: Option<String>,
}

/// The asset and its modules, from the stored asset document.
fn subjects(id: &str, doc: &str) -> anyhow::Result<Vec<Subject>> {
    let doc: Value = serde_json::from_str(doc).with_context(|| format!("reading stored asset {id}"))?;
    let attrs = doc.get("attributes");
    let vendor = headline(attrs, "vendor");
    let mut out = vec![Subject {
        asset: id.to_owned(),
        module: None,
        vendor: vendor.clone(),
        model: headline(attrs, "model"),
        order_number: headline(attrs, "order_number"),
        firmware: headline(attrs, "firmware"),
    }];
    for m in doc.get("modules").and_then(Value::as_array).into_iter().flatten() {
        let field = |f: &str| m.get("attributes")?.get(f)?.as_str().map(str::to_owned);
        out.push(Subject {
            asset: id.to_owned(),
            module: m.get("route").and_then(Value::as_str).map(str::to_owned),
            vendor: field("vendor").or_else(|| vendor.clone()),
            model: field("model"),
            order_number: field("order_number"),
            firmware: field("firmware"),
        });
    }
    Ok(out)
}

/// The parts of a row's priority, each 0-1.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PriorityParts {
    /// Act 1, Attend 0.7, Track* 0.4, Track 0.2, no decision 0.3.
    ssvc: f64,
    /// The EPSS probability (0 when not imported).
    epss: f64,
    /// CVSS base score / 10 (0.5 when the advisory gives none).
    cvss: f64,
    /// Reached from the internet 1, from IT (level 4-5) or by remote access 0.7,
    /// from another zone 0.4, else 0.
    exposure: f64,
    /// What the exposure part saw.
    exposure_reason: String,
    /// Mission and well-being: high 1, medium 0.6, low 0.2.
    criticality: f64,
    /// Where the criticality came from (the site's process, or the role's default).
    criticality_source: String,
}

/// Weights of the priority's parts (they sum to 1).
const WEIGHTS: [f64; 5] = [0.35, 0.20, 0.15, 0.15, 0.15];

fn priority(
    ssvc: Option<&str>,
    epss: Option<f64>,
    cvss: Option<f64>,
    exposure: &Exposure,
    consequence: &Consequence,
) -> (f64, PriorityParts) {
    let ssvc = match ssvc {
        Some("act") => 1.0,
        Some("attend") => 0.7,
        Some("track*") => 0.4,
        Some("track") => 0.2,
        _ => 0.3,
    };
    let criticality = match otposture_vulns::ssvc::mission_wellbeing(consequence.mission, consequence.wellbeing) {
        otposture_vulns::ssvc::MissionWellbeing::High => 1.0,
        otposture_vulns::ssvc::MissionWellbeing::Medium => 0.6,
        otposture_vulns::ssvc::MissionWellbeing::Low => 0.2,
    };
    let parts = PriorityParts {
        ssvc,
        epss: epss.unwrap_or(0.0).clamp(0.0, 1.0),
        cvss: cvss.map_or(0.5, |c| (c / 10.0).clamp(0.0, 1.0)),
        exposure: exposure.score,
        exposure_reason: exposure.reason.clone(),
        criticality,
        criticality_source: consequence.source.clone(),
    };
    let sum = WEIGHTS[0] * parts.ssvc
        + WEIGHTS[1] * parts.epss
        + WEIGHTS[2] * parts.cvss
        + WEIGHTS[3] * parts.exposure
        + WEIGHTS[4] * parts.criticality;
    ((sum * 1000.0).round() / 10.0, parts)
}

/// How an asset is reached, from the communication map.
#[derive(Clone, Debug, Default)]
pub(crate) struct Exposure {
    score: f64,
    reason: String,
}

/// Remote access protocols as the map names them.
const REMOTE: &[&str] = &["rdp", "rfb", "ssh", "telnet"];

/// Each asset's exposure: the strongest way the map shows it reached as a
/// server (from the internet, from IT or by remote access, from another zone).
fn exposures(store: &Store, site: Option<&Site>) -> anyhow::Result<std::collections::HashMap<String, Exposure>> {
    // Where each asset sits: (level, external, zone).
    let mut places: std::collections::HashMap<String, (Option<u8>, bool, Option<String>)> = Default::default();
    store
        .each_asset(&AssetFilter::default(), |a| -> Result<(), std::convert::Infallible> {
            let (ips, vlans, networks) = addresses(&a);
            let zone =
                site.and_then(|s| otposture_posture::zone_for(s, &a.id, &networks, &ips, &vlans)).map(|(z, _)| z);
            let place = match zone {
                Some(z) => (Some(z.level), z.external, Some(z.name.clone())),
                None if !ips.is_empty() && ips.iter().all(|ip| otposture_posture::is_global(*ip)) => {
                    (Some(5), true, None)
                }
                None => (a.level, false, None),
            };
            places.insert(a.id.clone(), place);
            Ok(())
        })?
        .ok();
    let place_of = |id: &str| -> (Option<u8>, bool, Option<String>) {
        if let Some(p) = places.get(id) {
            return p.clone();
        }
        match otposture_inventory::parse_address_id(id) {
            Some((ip, network)) => match site.and_then(|s| s.zone_of_ip_in(ip, network.as_slice())) {
                Some((z, _)) => (Some(z.level), z.external, Some(z.name.clone())),
                None if otposture_posture::is_global(ip) => (Some(5), true, None),
                None => (None, false, None),
            },
            None => (None, false, None),
        }
    };
    let mut out: std::collections::HashMap<String, Exposure> = Default::default();
    store
        .each_edge(&otposture_store::EdgeFilter::default(), |e| -> Result<(), std::convert::Infallible> {
            let (client_level, client_external, client_zone) = place_of(&e.client);
            let (_, _, server_zone) = place_of(&e.server);
            let client = e.client.strip_prefix("ip-").unwrap_or(&e.client);
            let (score, reason) = if client_external {
                (1.0, format!("reached from the internet ({client}, {})", e.protocol))
            } else if client_level.is_some_and(|l| l >= 4) {
                (0.7, format!("reached from IT ({client}, level {}, {})", client_level.unwrap_or(4), e.protocol))
            } else if REMOTE.contains(&e.protocol.as_str()) {
                (0.7, format!("reached by remote access ({client}, {})", e.protocol))
            } else if client_zone.is_some() && server_zone.is_some() && client_zone != server_zone {
                (0.4, format!("reached from zone {} ({client}, {})", client_zone.unwrap_or_default(), e.protocol))
            } else {
                return Ok(());
            };
            let slot = out.entry(e.server.clone()).or_default();
            if score > slot.score {
                *slot = Exposure { score, reason };
            }
            Ok(())
        })?
        .ok();
    Ok(out)
}

/// A stored asset's addresses, VLANs and named networks, from its document.
fn addresses(asset: &AssetRecord) -> (Vec<std::net::IpAddr>, Vec<u16>, Vec<String>) {
    let doc: Value = serde_json::from_str(&asset.doc).unwrap_or_default();
    let list = |k: &str| doc.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let ips = list("ips").iter().filter_map(|v| v.as_str()?.parse().ok()).collect();
    let vlans = list("vlans").iter().filter_map(|v| u16::try_from(v.as_u64()?).ok()).collect();
    let networks = list("networks").iter().filter_map(|v| Some(v.as_str()?.to_string())).collect();
    (ips, vlans, networks)
}

/// The SSVC mission and well-being input of an asset: the gravest consequence
/// the site file declares for it or its zone, else its role's default.
fn consequence_of(site: Option<&Site>, asset: &AssetRecord) -> Consequence {
    let Some(site) = site else { return Consequence::of_role(&asset.role) };
    let (ips, vlans, networks) = addresses(asset);
    let zone = otposture_posture::zone_for(site, &asset.id, &networks, &ips, &vlans).map(|(z, _)| z.name.as_str());
    match site.consequences_of(&asset.id, zone).first() {
        Some(c) => Consequence {
            mission: match c.mission {
                Mission::Minimal => MissionPrevalence::Minimal,
                Mission::Support => MissionPrevalence::Support,
                Mission::Essential => MissionPrevalence::Essential,
            },
            wellbeing: match c.wellbeing {
                Wellbeing::Minimal => PublicWellbeing::Minimal,
                Wellbeing::Material => PublicWellbeing::Material,
                Wellbeing::Irreversible => PublicWellbeing::Irreversible,
            },
            source: format!("site: process {}", c.process),
        },
        None => Consequence::of_role(&asset.role),
    }
}

/// Every match of every stored asset (or of `only`), each with its SSVC
/// decision under the site's consequences; false when `only` is no asset.
pub(crate) fn matches(store: &Store, site: Option<&Site>, only: Option<&str>) -> anyhow::Result<(Vec<VulnRow>, bool)> {
    let catalog = catalog(store.product_statuses()?);
    let mut matcher = Matcher::new(&catalog);
    let exposure = exposures(store, site)?;
    let unexposed = Exposure { score: 0.0, reason: "not reached from outside its zone".into() };
    let mut rows = Vec::new();
    let mut seen = false;
    let walk = store.each_asset(&AssetFilter::default(), |asset| -> anyhow::Result<()> {
        if only.is_some_and(|want| want != asset.id) {
            return Ok(());
        }
        seen = true;
        let consequence = consequence_of(site, &asset);
        for s in subjects(&asset.id, &asset.doc)? {
            let identity = Identity {
                vendor: s.vendor.as_deref(),
                model: s.model.as_deref(),
                order_number: s.order_number.as_deref(),
                firmware: s.firmware.as_deref(),
            };
            for f in matcher.findings(&identity) {
                let decider = f.assessment.evidence.first();
                let v = f.vulnerability;
                let ssvc = otposture_vulns::ssvc::assess_with(
                    v.kev_date_added.is_some(),
                    [v.ssvc[0].as_deref(), v.ssvc[1].as_deref(), v.ssvc[2].as_deref()],
                    v.csaf_exploitation.as_deref(),
                    v.cvss_vector.as_deref(),
                    &consequence,
                );
                let decision = ssvc.decision.map(|d| d.name().to_owned());
                let reached = exposure.get(&asset.id).unwrap_or(&unexposed);
                let (priority, priority_parts) = priority(decision.as_deref(), v.epss, v.cvss, reached, &consequence);
                rows.push(VulnRow {
                    subject: s.clone(),
                    advisory: v.tracking_id.clone(),
                    title: v.title.clone(),
                    cve: v.cve.clone(),
                    cvss: v.cvss,
                    kev: v.kev_date_added.clone(),
                    epss: v.epss,
                    ssvc_exploitation: v.ssvc[0].clone(),
                    ssvc_automatable: v.ssvc[1].clone(),
                    ssvc_technical_impact: v.ssvc[2].clone(),
                    ssvc: decision,
                    ssvc_path: ssvc.path,
                    priority,
                    priority_parts,
                    outcome: f.assessment.outcome,
                    confidence: f.assessment.confidence,
                    product: decider.map(|e| e.product.clone()).unwrap_or_default(),
                    why: decider.map(|e| format!("{}; {}", e.identity, e.version)).unwrap_or_default(),
                    evidence: f.assessment.evidence,
                    ordinal: v.ordinal,
                });
            }
        }
        Ok(())
    })?;
    walk?;
    Ok((rows, seen))
}

/// The site file in force, parsed.
pub(crate) fn site_in_force(store: &Store) -> anyhow::Result<Option<Site>> {
    let Some(row) = store.current_site()? else { return Ok(None) };
    let site = Site::parse(&row.text).map_err(|problems| otposture_site::SiteError {
        path: format!("{} (stored site file {})", row.path, row.id).into(),
        problems,
    })?;
    Ok(Some(site))
}

pub(crate) fn run(a: VulnsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = Store::open(&crate::require_db(db)?)?;
    let site = site_in_force(&store)?;
    let wanted = if a.outcome.is_empty() { vec![Wanted::Affected, Wanted::NeedsReview] } else { a.outcome };
    let keep = |o: Outcome| {
        wanted.contains(&match o {
            Outcome::Affected => Wanted::Affected,
            Outcome::NotAffected => Wanted::NotAffected,
            Outcome::NeedsReview => Wanted::NeedsReview,
        })
    };
    let normalise = otposture_inventory::vendor::normalise;
    let vendor = a.vendor.as_deref().and_then(normalise);
    let (mut rows, seen) = matches(&store, site.as_ref(), a.asset.as_deref())?;
    rows.retain(|r| {
        let decision = r.ssvc.as_deref();
        keep(r.outcome)
            && (!a.kev || r.kev.is_some())
            && vendor.as_ref().is_none_or(|want| r.subject.vendor.as_deref().and_then(normalise).as_ref() == Some(want))
            && (a.ssvc.is_empty()
                || a.ssvc.iter().any(|w| match w {
                    SsvcWanted::Unknown => decision.is_none(),
                    SsvcWanted::TrackStar => decision == Some("track*"),
                    SsvcWanted::Act => decision == Some("act"),
                    SsvcWanted::Attend => decision == Some("attend"),
                    SsvcWanted::Track => decision == Some("track"),
                }))
    });
    if let Some(id) = a.asset.as_ref().filter(|_| !seen) {
        anyhow::bail!("no asset {id} in the stored inventory (otposture assets lists them)");
    }
    if a.sort == Sort::Priority {
        rows.sort_by(|x, y| y.priority.total_cmp(&x.priority));
    }
    if a.vex {
        let doc = vex(&rows, &store.all_remediations()?);
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(crate::exit::OK);
    }
    if a.plan {
        let plan = plan(&rows, store.all_remediations()?);
        output::print(
            &plan,
            "remediation-plan",
            PLAN_SCHEMA,
            a.format,
            &[
                ("advisory", "ADVISORY"),
                ("category", "CATEGORY"),
                ("vulnerabilities", "VULNS"),
                ("assets", "ASSETS"),
                ("details", "REMEDIATION"),
            ],
        )?;
        return Ok(crate::exit::OK);
    }
    output::print(
        &rows,
        "vulns",
        SCHEMA,
        a.format,
        &[
            ("asset", "ASSET"),
            ("module", "MODULE"),
            ("advisory", "ADVISORY"),
            ("cve", "CVE"),
            ("cvss", "CVSS"),
            ("kev", "KEV"),
            ("ssvc", "SSVC"),
            ("priority", "PRIO"),
            ("outcome", "OUTCOME"),
            ("confidence", "CONF"),
            ("firmware", "FIRMWARE"),
            ("product", "PRODUCT"),
        ],
    )?;
    Ok(crate::exit::OK)
}

/// The rows as an OpenVEX 0.2.0 document (openvex.dev/ns/v0.2.0): one
/// statement per asset (or module) and vulnerability. Affected rows carry the
/// advisory's remediations as the action; a device on a fixed version is
/// `fixed`; one the advisory lists as not affected (or outside every affected
/// range) is `not_affected` with the reason; needs review is
/// `under_investigation`.
fn vex(rows: &[VulnRow], remediations: &[(String, i64, otposture_store::RemediationRow)]) -> Value {
    let now = otposture_model::Timestamp(crate::assets::now_secs().saturating_mul(1_000_000_000)).to_string();
    let statements: Vec<Value> = rows
        .iter()
        .map(|r| {
            let product = match &r.subject.module {
                Some(m) => format!("urn:otposture:asset:{}:module:{m}", r.subject.asset),
                None => format!("urn:otposture:asset:{}", r.subject.asset),
            };
            let vulnerability = match &r.cve {
                Some(cve) => serde_json::json!({ "name": cve, "aliases": [r.advisory] }),
                None => serde_json::json!({ "name": r.advisory }),
            };
            let identity = [
                r.subject.vendor.as_deref(),
                r.subject.model.as_deref(),
                r.subject.order_number.as_deref(),
                r.subject.firmware.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            let fixed = r.evidence.first().is_some_and(|e| e.status == Status::Fixed);
            let (status, extra): (&str, Option<(&str, String)>) = match r.outcome {
                Outcome::Affected => {
                    let actions: Vec<String> = remediations
                        .iter()
                        .filter(|(adv, ordinal, rem)| {
                            *adv == r.advisory
                                && *ordinal == r.ordinal
                                && (rem.product_ids.is_empty()
                                    || r.evidence.first().is_some_and(|e| rem.product_ids.contains(&e.product_id)))
                        })
                        .map(|(_, _, rem)| format!("{}: {}", rem.category, rem.details))
                        .collect();
                    let action =
                        if actions.is_empty() { format!("see advisory {}", r.advisory) } else { actions.join("; ") };
                    ("affected", Some(("action_statement", action)))
                }
                Outcome::NotAffected if fixed => ("fixed", None),
                Outcome::NotAffected => (
                    "not_affected",
                    Some((
                        "impact_statement",
                        format!("{} (CSAF product status and version ranges of {})", r.why, r.advisory),
                    )),
                ),
                Outcome::NeedsReview => ("under_investigation", None),
            };
            let mut st = serde_json::Map::new();
            st.insert("vulnerability".into(), vulnerability);
            st.insert("products".into(), serde_json::json!([{ "@id": product }]));
            st.insert("status".into(), status.into());
            if let Some((key, text)) = extra {
                st.insert(key.into(), text.into());
            }
            st.insert("timestamp".into(), now.clone().into());
            st.insert("status_notes".into(), format!("{identity}: {} ({})", r.why, r.advisory).into());
            Value::Object(st)
        })
        .collect();
    let id_text: String = rows.iter().map(|r| format!("{}|{}|{:?};", r.subject.asset, r.advisory, r.outcome)).collect();
    let digest: String = sha2::Sha256::digest(id_text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("urn:otposture:vex:{digest}"),
        "author": "otposture",
        "role": "asset owner",
        "timestamp": now,
        "version": 1,
        "tooling": format!("otposture {}", env!("CARGO_PKG_VERSION")),
        "statements": statements,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use otposture_store::{AssetRecord, EdgeRecord};

    fn asset(id: &str, role: &str, level: Option<u8>, ips: &[&str]) -> AssetRecord {
        AssetRecord {
            id: id.into(),
            role: role.into(),
            level,
            rule: "test".into(),
            vendor: None,
            model: None,
            firmware: None,
            first_seen_ns: 0,
            last_seen_ns: 0,
            doc: serde_json::json!({ "id": id, "ips": ips, "vlans": [] }).to_string(),
        }
    }

    fn edge(client: &str, server: &str, protocol: &str) -> EdgeRecord {
        EdgeRecord {
            client: client.into(),
            server: server.into(),
            protocol: protocol.into(),
            trust: vec![],
            doc: "{}".into(),
        }
    }

    /// The strongest way each asset is reached: the internet over IT over
    /// remote access over another zone; nothing within its own zone.
    #[test]
    fn exposure_is_the_strongest_way_an_asset_is_reached() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("v.db")).unwrap();
        let assets = [
            asset("mac-plc", "controller", Some(1), &["192.168.1.10"]),
            asset("mac-hmi", "hmi", Some(2), &["192.168.2.10"]),
            asset("mac-rtu", "rtu", Some(1), &["192.168.1.20"]),
            asset("mac-ied", "ied", Some(1), &["192.168.1.30"]),
            asset("mac-pc", "it_host", Some(4), &["10.0.0.5"]),
            asset("mac-plc2", "controller", Some(1), &["192.168.1.40"]),
        ];
        let edges = [
            edge("mac-hmi", "mac-plc", "modbus"),
            edge("ip-93.184.216.34", "mac-plc", "s7comm"),
            edge("mac-pc", "mac-hmi", "http"),
            edge("mac-hmi", "mac-rtu", "ssh"),
            edge("mac-plc", "mac-ied", "iec104"),
            edge("mac-hmi", "mac-plc2", "modbus"),
        ];
        store.replace_inventory(&assets, &edges, 0, 1).unwrap();
        let site = Site::parse(
            "[site]\nname='t'\n[[zone]]\nname='cell'\nlevel=1\ncidrs=['192.168.1.0/24']\n[[zone]]\nname='hmi'\nlevel=2\ncidrs=['192.168.2.0/24']\n",
        )
        .unwrap();
        let e = exposures(&store, Some(&site)).unwrap();
        let of = |id: &str| e.get(id).map(|x| (x.score, x.reason.clone()));
        assert_eq!(of("mac-plc"), Some((1.0, "reached from the internet (93.184.216.34, s7comm)".into())));
        assert_eq!(of("mac-hmi"), Some((0.7, "reached from IT (mac-pc, level 4, http)".into())));
        assert_eq!(of("mac-rtu"), Some((0.7, "reached by remote access (mac-hmi, ssh)".into())));
        assert_eq!(of("mac-ied"), None, "PLC to IED stays inside the cell");
        assert_eq!(of("mac-plc2"), Some((0.4, "reached from zone hmi (mac-hmi, modbus)".into())));
        // Without a site file, only the internet, IT and remote access count.
        let e = exposures(&store, None).unwrap();
        assert_eq!(e.get("mac-plc").map(|x| x.score), Some(1.0));
        assert_eq!(e.len(), 3);
    }
}
