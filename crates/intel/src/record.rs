//! The typed records an intel import produces, one [`Document`] per input:
//! what the store keeps and what matching, SSVC and remediation will read.
//! Version strings are kept exactly as written (a separate crate parses ranges).

use serde::Serialize;

/// The formats otposture imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A CSAF 2.0 advisory (CISA ICS advisories, vendor PSIRT feeds).
    Csaf,
    /// The CISA Known Exploited Vulnerabilities catalog (JSON or CSV).
    Kev,
    /// FIRST EPSS scores (CSV, plain or gzip).
    Epss,
    /// A CVE JSON 5 record (with CISA vulnrichment ADP: SSVC, CVSS).
    Cve,
    /// MITRE ATT&CK for ICS (STIX 2 bundle).
    Attack,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 5] = [Kind::Csaf, Kind::Kev, Kind::Epss, Kind::Cve, Kind::Attack];

    /// The kind's name in output and in the store.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Csaf => "csaf",
            Kind::Kev => "kev",
            Kind::Epss => "epss",
            Kind::Cve => "cve",
            Kind::Attack => "attack",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One imported document.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Document {
    /// A CSAF advisory.
    Csaf(Box<Advisory>),
    /// A KEV catalog.
    Kev(KevCatalog),
    /// An EPSS score file.
    Epss(EpssScores),
    /// A CVE record.
    Cve(Box<CveRecord>),
    /// An ATT&CK bundle.
    Attack(AttackBundle),
}

impl Document {
    /// The document's format.
    pub fn kind(&self) -> Kind {
        match self {
            Document::Csaf(_) => Kind::Csaf,
            Document::Kev(_) => Kind::Kev,
            Document::Epss(_) => Kind::Epss,
            Document::Cve(_) => Kind::Cve,
            Document::Attack(_) => Kind::Attack,
        }
    }

    /// The date the document says its content is current as of (RFC 3339 or
    /// a date), for "intel as of ...": the advisory's current release, the
    /// catalog's release, the score date, the record's last update, the
    /// bundle's newest modification.
    pub fn as_of(&self) -> Option<&str> {
        match self {
            Document::Csaf(a) => Some(&a.current_release_date),
            Document::Kev(k) => k.date_released.as_deref(),
            Document::Epss(e) => e.score_date.as_deref(),
            Document::Cve(c) => c.date_updated.as_deref().or(c.date_published.as_deref()),
            Document::Attack(a) => a.modified.as_deref(),
        }
    }

    /// The records it holds (products and vulnerabilities of an advisory,
    /// catalog entries, scores, one record, techniques).
    pub fn records(&self) -> u64 {
        let n = match self {
            Document::Csaf(a) => a.vulnerabilities.len(),
            Document::Kev(k) => k.entries.len(),
            Document::Epss(e) => e.scores.len(),
            Document::Cve(_) => 1,
            Document::Attack(a) => a.techniques.len(),
        };
        u64::try_from(n).unwrap_or(u64::MAX)
    }
}

/// A CSAF 2.0 security advisory, as far as otposture keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Advisory {
    /// `/document/tracking/id`, e.g. `ICSA-24-004-01`: unique per publisher.
    pub tracking_id: String,
    /// `/document/tracking/version`: integer (`"3"`) or semantic (`"1.2.0"`) versioning.
    pub version: String,
    /// `/document/tracking/status`: draft, interim, final.
    pub status: String,
    /// `/document/category`, e.g. `csaf_security_advisory`.
    pub category: String,
    /// `/document/csaf_version` (always 2.0 once validated).
    pub csaf_version: String,
    /// `/document/title`.
    pub title: String,
    /// `/document/publisher/name`.
    pub publisher: String,
    /// `/document/publisher/namespace`.
    pub publisher_namespace: String,
    /// `/document/tracking/initial_release_date`.
    pub initial_release_date: String,
    /// `/document/tracking/current_release_date`.
    pub current_release_date: String,
    /// `/document/aggregate_severity/text`, when given.
    pub severity: Option<String>,
    /// SSVC Exploitation from the advisory's notes (`none`, `public poc`,
    /// `active`) and the sentence that says it ([`crate::csaf::exploitation`]).
    pub exploitation: Option<(String, String)>,
    /// `/document/tracking/revision_history`, as written.
    pub revisions: Vec<Revision>,
    /// Every product defined in the product tree: branch leaves, full product
    /// names and relationships.
    pub products: Vec<Product>,
    /// `/vulnerabilities`, in order.
    pub vulnerabilities: Vec<Vulnerability>,
}

/// One entry of an advisory's revision history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// The revision's version number.
    pub number: String,
    /// When it was released.
    pub date: String,
    /// What changed.
    pub summary: String,
}

/// One branch step of a product's path in the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Branch {
    /// `vendor`, `product_family`, `product_name`, `product_version`,
    /// `product_version_range`, `architecture`, ...
    pub category: String,
    /// The branch's name (a version or range string for the version categories, raw).
    pub name: String,
}

/// One product defined by an advisory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Product {
    /// The advisory-local id the statuses and remediations refer to.
    pub product_id: String,
    /// `full_product_name.name`.
    pub name: String,
    /// The full branch path from the root (empty for top-level full product
    /// names and relationships).
    pub path: Vec<Branch>,
    /// The path's `vendor` step.
    pub vendor: Option<String>,
    /// The path's `product_family` step(s), joined with " / " when nested.
    pub family: Option<String>,
    /// The path's `product_name` step.
    pub product: Option<String>,
    /// The path's `product_version` step, raw.
    pub version: Option<String>,
    /// The path's `product_version_range` step, raw (vers or free text).
    pub version_range: Option<String>,
    /// `product_identification_helper.cpe`.
    pub cpe: Option<String>,
    /// `product_identification_helper.purl`.
    pub purl: Option<String>,
    /// `product_identification_helper.model_numbers`.
    pub model_numbers: Vec<String>,
    /// `product_identification_helper.skus`.
    pub skus: Vec<String>,
    /// `product_identification_helper.serial_numbers`.
    pub serial_numbers: Vec<String>,
    /// For a relationship: its category and the two product ids it joins
    /// (`installed_on`, product, relates-to product).
    pub relationship: Option<(String, String, String)>,
}

/// One vulnerability of an advisory.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Vulnerability {
    /// The CVE id, when it has one.
    pub cve: Option<String>,
    /// `cwe.id`, e.g. `CWE-787`.
    pub cwe: Option<String>,
    /// `cwe.name`.
    pub cwe_name: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// CVSS scores, each with the products it applies to.
    pub scores: Vec<Score>,
    /// `product_status`: (status, product id) in document order, e.g. (`known_affected`, `CSAFPID-0001`).
    pub product_status: Vec<(String, String)>,
    /// `remediations`.
    pub remediations: Vec<Remediation>,
    /// SSVC Exploitation from its notes, else the document's (`none`,
    /// `public poc`, `active`), with the sentence that says it.
    pub exploitation: Option<(String, String)>,
}

/// A CVSS score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Score {
    /// CVSS version: `2.0`, `3.0`, `3.1`, `4.0`.
    pub version: String,
    /// Base score, 0.0 to 10.0.
    pub base_score: f64,
    /// Base severity, when given.
    pub severity: Option<String>,
    /// The vector string.
    pub vector: Option<String>,
    /// The products it applies to (CSAF), empty elsewhere.
    pub products: Vec<String>,
    /// Who gave it (CVE records: `cna` or the ADP's short name), empty in CSAF.
    pub provider: String,
}

/// A remediation of an advisory's vulnerability.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Remediation {
    /// `vendor_fix`, `workaround`, `mitigation`, `none_available`, `no_fix_planned`.
    pub category: String,
    /// What to do.
    pub details: String,
    /// Where to read more or download the fix.
    pub url: Option<String>,
    /// When it became available.
    pub date: Option<String>,
    /// The products it applies to.
    pub product_ids: Vec<String>,
    /// The product groups it applies to.
    pub group_ids: Vec<String>,
}

/// The CISA KEV catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KevCatalog {
    /// `catalogVersion` (JSON only), e.g. `2025.08.25`.
    pub catalog_version: Option<String>,
    /// `dateReleased` (JSON), or the newest `dateAdded` (CSV).
    pub date_released: Option<String>,
    /// The entries.
    pub entries: Vec<KevEntry>,
}

/// One KEV entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KevEntry {
    /// `cveID`.
    pub cve: String,
    /// `vendorProject`.
    pub vendor: String,
    /// `product`.
    pub product: String,
    /// `vulnerabilityName`.
    pub name: String,
    /// `dateAdded`.
    pub date_added: String,
    /// `dueDate`.
    pub due_date: Option<String>,
    /// `knownRansomwareCampaignUse`: Known or Unknown.
    pub ransomware: Option<String>,
    /// `requiredAction`.
    pub required_action: Option<String>,
    /// `shortDescription`.
    pub description: Option<String>,
    /// `notes`.
    pub notes: Option<String>,
    /// `cwes`.
    pub cwes: Vec<String>,
}

/// An EPSS score file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EpssScores {
    /// `model_version` from the leading comment, e.g. `v2025.03.14`.
    pub model_version: Option<String>,
    /// `score_date` from the leading comment.
    pub score_date: Option<String>,
    /// The scores.
    pub scores: Vec<EpssScore>,
}

/// One EPSS score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EpssScore {
    /// The CVE.
    pub cve: String,
    /// Probability of exploitation in the next 30 days, 0 to 1.
    pub epss: f64,
    /// Percentile among all scored CVEs, 0 to 1.
    pub percentile: f64,
}

/// A CVE JSON 5 record.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CveRecord {
    /// `cveMetadata.cveId`.
    pub cve: String,
    /// `cveMetadata.state`: PUBLISHED or REJECTED.
    pub state: String,
    /// `dataVersion`, e.g. 5.1.
    pub data_version: String,
    /// `cveMetadata.assignerShortName`.
    pub assigner: Option<String>,
    /// `cveMetadata.datePublished`.
    pub date_published: Option<String>,
    /// `cveMetadata.dateUpdated`.
    pub date_updated: Option<String>,
    /// The CNA's title.
    pub title: Option<String>,
    /// The CNA's English description.
    pub description: Option<String>,
    /// CWE ids from every problem type.
    pub cwes: Vec<String>,
    /// CVSS scores from the CNA and the ADPs (CISA's among them).
    pub scores: Vec<Score>,
    /// CISA's SSVC decision points, when the vulnrichment ADP gave them.
    pub ssvc: Option<Ssvc>,
    /// The date CISA's ADP says the CVE was added to KEV, when it does.
    pub kev_date_added: Option<String>,
}

/// SSVC decision points as CISA's vulnrichment ADP states them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ssvc {
    /// Exploitation: none, poc, active.
    pub exploitation: Option<String>,
    /// Automatable: yes, no.
    pub automatable: Option<String>,
    /// Technical Impact: partial, total.
    pub technical_impact: Option<String>,
    /// The SSVC version, e.g. 2.0.3.
    pub version: Option<String>,
    /// When CISA decided.
    pub timestamp: Option<String>,
    /// The role, e.g. CISA Coordinator.
    pub role: Option<String>,
}

/// An ATT&CK for ICS bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AttackBundle {
    /// The bundle's STIX id.
    pub id: String,
    /// The newest `modified` of its techniques.
    pub modified: Option<String>,
    /// Techniques (`attack-pattern` objects), deprecated and revoked ones flagged.
    pub techniques: Vec<Technique>,
}

/// One ATT&CK technique.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Technique {
    /// The ATT&CK id, e.g. `T0803`.
    pub id: String,
    /// The STIX id.
    pub stix_id: String,
    /// The name.
    pub name: String,
    /// Tactic short names (kill chain phases), e.g. `inhibit-response-function`.
    pub tactics: Vec<String>,
    /// `x_mitre_platforms`.
    pub platforms: Vec<String>,
    /// The ATT&CK page.
    pub url: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `x_mitre_deprecated`.
    pub deprecated: bool,
    /// `revoked`.
    pub revoked: bool,
}

impl AttackBundle {
    /// Techniques neither deprecated nor revoked.
    pub fn active(&self) -> usize {
        self.techniques.iter().filter(|t| !t.deprecated && !t.revoked).count()
    }
}
