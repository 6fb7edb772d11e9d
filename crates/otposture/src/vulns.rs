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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
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

/// The SSVC mission and well-being input of an asset: the gravest consequence
/// the site file declares for it or its zone, else its role's default.
fn consequence_of(site: Option<&Site>, asset: &AssetRecord) -> Consequence {
    let Some(site) = site else { return Consequence::of_role(&asset.role) };
    let doc: Value = serde_json::from_str(&asset.doc).unwrap_or_default();
    let list = |k: &str| doc.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let ips: Vec<std::net::IpAddr> = list("ips").iter().filter_map(|v| v.as_str()?.parse().ok()).collect();
    let vlans: Vec<u16> = list("vlans").iter().filter_map(|v| u16::try_from(v.as_u64()?).ok()).collect();
    let zone = otposture_posture::zone_for(site, &asset.id, &ips, &vlans).map(|(z, _)| z.name.as_str());
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
                    v.cvss_vector.as_deref(),
                    &consequence,
                );
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
                    ssvc: ssvc.decision.map(|d| d.name().to_owned()),
                    ssvc_path: ssvc.path,
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
            ("outcome", "OUTCOME"),
            ("confidence", "CONF"),
            ("firmware", "FIRMWARE"),
            ("product", "PRODUCT"),
        ],
    )?;
    Ok(crate::exit::OK)
}
