//! CSAF 2.0 security advisories (OASIS CSAF Version 2.0, 18 November 2022).
//!
//! Reads what matching, SSVC and remediation need: the tracking block and its
//! revision history, every product of the product tree with its full branch
//! path and identification helpers, and per vulnerability the CVE, CWE, CVSS
//! scores, product status and remediations. Notes, references, threats and
//! acknowledgments are not kept. Validation applies the schema's required
//! fields and value sets, and the mandatory tests otposture depends on
//! (section 6.1.1 missing definition of product id, 6.1.2 multiple definition
//! of product id), plus otposture's own bounds ([`crate::limits`]). Version
//! strings are kept raw: parsing ranges is another crate's job.

use crate::error::{quote, segment, Problem, ProblemKind};
use crate::json;
use crate::limits::{MAX_BRANCH_DEPTH, MAX_PRODUCTS, MAX_TEXT, MAX_VERSION};
use crate::record::{Advisory, Branch, Product, Remediation, Revision, Score, Vulnerability};
use serde::Deserialize;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// The one CSAF version this build reads (section 3.2.1.2).
pub const CSAF_VERSION: &str = "2.0";

/// Remediation categories of CSAF 2.0 (section 3.2.3.12.1).
const REMEDIATION_CATEGORIES: [&str; 5] =
    ["mitigation", "no_fix_planned", "none_available", "vendor_fix", "workaround"];

#[derive(Deserialize)]
struct Wire {
    document: WDocument,
    #[serde(default)]
    product_tree: Option<WTree>,
    #[serde(default)]
    vulnerabilities: Vec<WVuln>,
}

#[derive(Deserialize)]
struct WDocument {
    category: String,
    csaf_version: String,
    title: String,
    publisher: WPublisher,
    tracking: WTracking,
    #[serde(default)]
    aggregate_severity: Option<WSeverity>,
    #[serde(default)]
    notes: Vec<WNote>,
}

#[derive(Deserialize)]
struct WNote {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct WPublisher {
    name: String,
    namespace: String,
}

#[derive(Deserialize)]
struct WSeverity {
    text: String,
}

#[derive(Deserialize)]
struct WTracking {
    id: String,
    version: String,
    status: String,
    initial_release_date: String,
    current_release_date: String,
    revision_history: Vec<WRevision>,
}

#[derive(Deserialize)]
struct WRevision {
    number: String,
    date: String,
    summary: String,
}

#[derive(Deserialize, Default)]
struct WTree {
    #[serde(default)]
    branches: Vec<WBranch>,
    #[serde(default)]
    full_product_names: Vec<WFullName>,
    #[serde(default)]
    relationships: Vec<WRelationship>,
    #[serde(default)]
    product_groups: Vec<WGroup>,
}

#[derive(Deserialize)]
struct WBranch {
    category: String,
    name: String,
    #[serde(default)]
    product: Option<WFullName>,
    #[serde(default)]
    branches: Vec<WBranch>,
}

#[derive(Deserialize)]
struct WFullName {
    name: String,
    product_id: String,
    #[serde(default)]
    product_identification_helper: Option<WHelper>,
}

#[derive(Deserialize, Default)]
struct WHelper {
    #[serde(default)]
    cpe: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    model_numbers: Vec<String>,
    #[serde(default)]
    skus: Vec<String>,
    #[serde(default)]
    serial_numbers: Vec<String>,
}

#[derive(Deserialize)]
struct WRelationship {
    category: String,
    full_product_name: WFullName,
    product_reference: String,
    relates_to_product_reference: String,
}

#[derive(Deserialize)]
struct WGroup {
    group_id: String,
    product_ids: Vec<String>,
}

#[derive(Deserialize)]
struct WVuln {
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    cwe: Option<WCwe>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    scores: Vec<WScore>,
    #[serde(default)]
    product_status: Option<WStatus>,
    #[serde(default)]
    remediations: Vec<WRemediation>,
    #[serde(default)]
    notes: Vec<WNote>,
}

#[derive(Deserialize)]
struct WCwe {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct WScore {
    products: Vec<String>,
    #[serde(default)]
    cvss_v3: Option<WCvss>,
    #[serde(default)]
    cvss_v2: Option<WCvss>,
}

#[derive(Deserialize)]
struct WCvss {
    version: String,
    #[serde(rename = "baseScore")]
    base_score: f64,
    #[serde(rename = "baseSeverity", default)]
    base_severity: Option<String>,
    #[serde(rename = "vectorString")]
    vector_string: String,
}

/// Section 3.2.3.9: exactly these statuses; anything else is a schema error.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WStatus {
    #[serde(default)]
    first_affected: Vec<String>,
    #[serde(default)]
    first_fixed: Vec<String>,
    #[serde(default)]
    fixed: Vec<String>,
    #[serde(default)]
    known_affected: Vec<String>,
    #[serde(default)]
    known_not_affected: Vec<String>,
    #[serde(default)]
    last_affected: Vec<String>,
    #[serde(default)]
    recommended: Vec<String>,
    #[serde(default)]
    under_investigation: Vec<String>,
}

impl WStatus {
    fn lists(&self) -> [(&'static str, &Vec<String>); 8] {
        [
            ("first_affected", &self.first_affected),
            ("first_fixed", &self.first_fixed),
            ("fixed", &self.fixed),
            ("known_affected", &self.known_affected),
            ("known_not_affected", &self.known_not_affected),
            ("last_affected", &self.last_affected),
            ("recommended", &self.recommended),
            ("under_investigation", &self.under_investigation),
        ]
    }
}

#[derive(Deserialize)]
struct WRemediation {
    category: String,
    details: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    product_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
}

/// Only `/document/csaf_version`, read when the full document does not
/// deserialise: a CSAF 2.1 or 1.x document fails as an unknown version, not
/// as a schema error.
#[derive(Deserialize)]
struct Head {
    document: HeadDocument,
}

#[derive(Deserialize)]
struct HeadDocument {
    csaf_version: serde_json::Value,
}

fn unsupported(version: &serde_json::Value) -> Problem {
    Problem::new(
        ProblemKind::UnsupportedVersion,
        "/document/csaf_version",
        format!("CSAF version {version} is not supported; otposture reads CSAF {CSAF_VERSION}"),
    )
}

/// Parses and validates one CSAF document.
pub fn parse(bytes: &[u8]) -> Result<Advisory, Problem> {
    let wire: Wire = match json::from_slice(bytes) {
        Ok(w) => w,
        Err(e) => {
            // A document of another CSAF version is reported as such.
            if e.kind == ProblemKind::Schema {
                if let Ok(head) = serde_json::from_slice::<Head>(bytes) {
                    if head.document.csaf_version != CSAF_VERSION {
                        return Err(unsupported(&head.document.csaf_version));
                    }
                }
            }
            return Err(e);
        }
    };
    if wire.document.csaf_version != CSAF_VERSION {
        return Err(unsupported(&serde_json::Value::from(wire.document.csaf_version)));
    }
    Validator::default().advisory(wire)
}

/// Section 3.1.11: integer versioning (`^(0|[1-9][0-9]*)$`) or semantic
/// versioning; the numeric parts as numbers, so `10` is after `9`.
#[derive(Debug, PartialEq, Eq)]
enum TrackingVersion<'a> {
    Integer(&'a str),
    Semantic([&'a str; 3], Option<&'a str>),
}

fn numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn tracking_version(v: &str) -> Option<TrackingVersion<'_>> {
    if numeric(v) {
        return Some(TrackingVersion::Integer(v));
    }
    let core = v.split('+').next().unwrap_or(v);
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) if !p.is_empty() => (c, Some(p)),
        Some(_) => return None,
        None => (core, None),
    };
    let mut parts = core.split('.');
    let (Some(a), Some(b), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    [a, b, c].iter().all(|p| numeric(p)).then_some(TrackingVersion::Semantic([a, b, c], pre))
}

/// Compares decimal digit strings without leading zeros by value.
fn cmp_num(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Orders two revisions of one tracking id: by `/document/tracking/version`
/// when both use the same versioning scheme, then by current release date.
/// `Greater` means `a` is the newer revision.
pub fn compare_revisions(a_version: &str, a_date: &str, b_version: &str, b_date: &str) -> Ordering {
    let by_version = match (tracking_version(a_version), tracking_version(b_version)) {
        (Some(TrackingVersion::Integer(x)), Some(TrackingVersion::Integer(y))) => cmp_num(x, y),
        (Some(TrackingVersion::Semantic(x, xp)), Some(TrackingVersion::Semantic(y, yp))) => {
            let core =
                x.iter().zip(y.iter()).map(|(p, q)| cmp_num(p, q)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal);
            // A pre-release is before its release (semver 2.0.0 rule 11).
            core.then_with(|| match (xp, yp) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(p), Some(q)) => p.cmp(q),
            })
        }
        _ => Ordering::Equal,
    };
    by_version.then_with(|| a_date.cmp(b_date))
}

/// Dates in CSAF are RFC 3339 date-times (section 3.1.4 of the schema: `format: date-time`).
fn looks_like_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b.get(..4).is_some_and(|y| y.iter().all(u8::is_ascii_digit))
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
}

/// `^CVE-[0-9]{4}-[0-9]{4,}$` (section 3.2.3.2).
pub(crate) fn is_cve(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("CVE"), Some(y), Some(n))
            if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) && n.len() >= 4 && n.len() <= 19
                && n.bytes().all(|b| b.is_ascii_digit())
    )
}

/// `^CWE-[1-9]\d{0,5}$` (section 3.2.3.3).
pub(crate) fn is_cwe(s: &str) -> bool {
    s.strip_prefix("CWE-").is_some_and(|n| (1..=6).contains(&n.len()) && numeric(n) && n != "0")
}

/// Walks the wire document into an [`Advisory`], failing at the first rule broken.
#[derive(Default)]
struct Validator {
    /// Product ids defined so far, with where.
    defined: HashMap<String, String>,
    groups: HashSet<String>,
}

fn check_text(path: &str, value: &str, limit: usize, what: &str) -> Result<(), Problem> {
    if value.len() > limit {
        return Err(Problem::new(
            ProblemKind::TooLarge,
            path,
            format!("{what} of {} bytes is over otposture's limit of {limit} bytes: {}", value.len(), quote(value)),
        ));
    }
    Ok(())
}

fn required(path: &str, value: &str, what: &str) -> Result<(), Problem> {
    if value.trim().is_empty() {
        return Err(Problem::new(ProblemKind::Invalid, path, format!("{what} is empty")));
    }
    check_text(path, value, MAX_TEXT, what)
}

impl Validator {
    fn advisory(mut self, w: Wire) -> Result<Advisory, Problem> {
        let d = w.document;
        let t = d.tracking;
        required("/document/tracking/id", &t.id, "the tracking id")?;
        check_text("/document/tracking/id", &t.id, 1_000, "the tracking id")?;
        required("/document/title", &d.title, "the title")?;
        required("/document/publisher/name", &d.publisher.name, "the publisher name")?;
        if tracking_version(&t.version).is_none() {
            return Err(Problem::new(
                ProblemKind::Invalid,
                "/document/tracking/version",
                format!("{} is neither an integer nor a semantic version (section 3.1.11)", quote(&t.version)),
            ));
        }
        for (field, value) in
            [("initial_release_date", &t.initial_release_date), ("current_release_date", &t.current_release_date)]
        {
            if !looks_like_date_time(value) {
                return Err(Problem::new(
                    ProblemKind::Invalid,
                    format!("/document/tracking/{field}"),
                    format!("{} is not an RFC 3339 date-time", quote(value)),
                ));
            }
        }
        if t.revision_history.is_empty() {
            return Err(Problem::new(
                ProblemKind::Invalid,
                "/document/tracking/revision_history",
                "the revision history is empty; it needs at least one revision (section 3.2.1.12.6)",
            ));
        }
        let mut revisions = Vec::with_capacity(t.revision_history.len());
        for (i, r) in t.revision_history.into_iter().enumerate() {
            let path = format!("/document/tracking/revision_history/{i}");
            check_text(&format!("{path}/number"), &r.number, 1_000, "a revision number")?;
            check_text(&format!("{path}/summary"), &r.summary, MAX_TEXT, "a revision summary")?;
            revisions.push(Revision { number: r.number, date: r.date, summary: r.summary });
        }

        let tree = w.product_tree.unwrap_or_default();
        let mut products = Vec::new();
        for (i, b) in tree.branches.iter().enumerate() {
            self.branch(b, &format!("/product_tree/branches/{i}"), &mut Vec::new(), &mut products)?;
        }
        for (i, f) in tree.full_product_names.iter().enumerate() {
            let p = self.full_name(f, &format!("/product_tree/full_product_names/{i}"), Vec::new())?;
            products.push(p);
        }
        for (i, r) in tree.relationships.iter().enumerate() {
            let path = format!("/product_tree/relationships/{i}");
            let mut p = self.full_name(&r.full_product_name, &format!("{path}/full_product_name"), Vec::new())?;
            p.relationship =
                Some((r.category.clone(), r.product_reference.clone(), r.relates_to_product_reference.clone()));
            products.push(p);
        }
        // References are checked once every definition is known: a relationship may refer forward.
        for (i, r) in tree.relationships.iter().enumerate() {
            let path = format!("/product_tree/relationships/{i}");
            self.refers(&format!("{path}/product_reference"), &r.product_reference)?;
            self.refers(&format!("{path}/relates_to_product_reference"), &r.relates_to_product_reference)?;
        }
        for (i, g) in tree.product_groups.iter().enumerate() {
            let path = format!("/product_tree/product_groups/{i}");
            for (j, id) in g.product_ids.iter().enumerate() {
                self.refers(&format!("{path}/product_ids/{j}"), id)?;
            }
            self.groups.insert(g.group_id.clone());
        }

        let mut vulnerabilities = Vec::with_capacity(w.vulnerabilities.len());
        for (i, v) in w.vulnerabilities.into_iter().enumerate() {
            vulnerabilities.push(self.vulnerability(v, &format!("/vulnerabilities/{i}"))?);
        }
        // A vulnerability's own notes win; else what the document says of all.
        let document_exploitation = exploitation(d.notes.iter().map(|n| n.text.as_str()));
        for v in &mut vulnerabilities {
            if v.exploitation.is_none() {
                v.exploitation.clone_from(&document_exploitation);
            }
        }
        Ok(Advisory {
            tracking_id: t.id,
            version: t.version,
            status: t.status,
            category: d.category,
            csaf_version: d.csaf_version,
            title: d.title,
            publisher: d.publisher.name,
            publisher_namespace: d.publisher.namespace,
            initial_release_date: t.initial_release_date,
            current_release_date: t.current_release_date,
            severity: d.aggregate_severity.map(|s| s.text),
            exploitation: document_exploitation,
            revisions,
            products,
            vulnerabilities,
        })
    }

    fn branch(
        &mut self,
        b: &WBranch,
        path: &str,
        trail: &mut Vec<Branch>,
        out: &mut Vec<Product>,
    ) -> Result<(), Problem> {
        if trail.len() >= MAX_BRANCH_DEPTH {
            return Err(Problem::new(
                ProblemKind::TooLarge,
                path,
                format!("the product tree is nested deeper than otposture's limit of {MAX_BRANCH_DEPTH} branches"),
            ));
        }
        let version_like = matches!(b.category.as_str(), "product_version" | "product_version_range");
        let (limit, what) = if version_like { (MAX_VERSION, "a version string") } else { (MAX_TEXT, "a branch name") };
        check_text(&format!("{path}/name"), &b.name, limit, what)?;
        trail.push(Branch { category: b.category.clone(), name: b.name.clone() });
        if let Some(p) = &b.product {
            let product = self.full_name(p, &format!("{path}/product"), trail.clone())?;
            out.push(product);
        }
        for (i, child) in b.branches.iter().enumerate() {
            self.branch(child, &format!("{path}/branches/{i}"), trail, out)?;
        }
        trail.pop();
        Ok(())
    }

    fn full_name(&mut self, f: &WFullName, path: &str, trail: Vec<Branch>) -> Result<Product, Problem> {
        let id_path = format!("{path}/product_id");
        required(&id_path, &f.product_id, "the product id")?;
        check_text(&id_path, &f.product_id, 1_000, "a product id")?;
        check_text(&format!("{path}/name"), &f.name, MAX_TEXT, "a product name")?;
        // Section 6.1.2: each product id is defined once.
        if let Some(first) = self.defined.get(&f.product_id) {
            return Err(Problem::new(
                ProblemKind::Invalid,
                id_path,
                format!("product id {} is already defined at {first} (section 6.1.2)", quote(&f.product_id)),
            ));
        }
        if self.defined.len() >= MAX_PRODUCTS {
            return Err(Problem::new(
                ProblemKind::TooLarge,
                path,
                format!("more than otposture's limit of {MAX_PRODUCTS} products in one advisory"),
            ));
        }
        self.defined.insert(f.product_id.clone(), path.to_string());
        let step = |category: &str| trail.iter().find(|b| b.category == category).map(|b| b.name.clone());
        let families: Vec<&str> =
            trail.iter().filter(|b| b.category == "product_family").map(|b| b.name.as_str()).collect();
        let helper = f.product_identification_helper.as_ref();
        let helper_path = format!("{path}/product_identification_helper");
        if let Some(h) = helper {
            for (field, list) in
                [("model_numbers", &h.model_numbers), ("skus", &h.skus), ("serial_numbers", &h.serial_numbers)]
            {
                for (i, v) in list.iter().enumerate() {
                    check_text(&format!("{helper_path}/{field}/{i}"), v, MAX_VERSION, "an identification helper")?;
                }
            }
            for (field, v) in [("cpe", &h.cpe), ("purl", &h.purl)] {
                if let Some(v) = v {
                    check_text(&format!("{helper_path}/{field}"), v, MAX_VERSION, "an identification helper")?;
                }
            }
        }
        Ok(Product {
            product_id: f.product_id.clone(),
            name: f.name.clone(),
            vendor: step("vendor"),
            family: (!families.is_empty()).then(|| families.join(" / ")),
            product: step("product_name"),
            version: step("product_version"),
            version_range: step("product_version_range"),
            cpe: helper.and_then(|h| h.cpe.clone()),
            purl: helper.and_then(|h| h.purl.clone()),
            model_numbers: helper.map(|h| h.model_numbers.clone()).unwrap_or_default(),
            skus: helper.map(|h| h.skus.clone()).unwrap_or_default(),
            serial_numbers: helper.map(|h| h.serial_numbers.clone()).unwrap_or_default(),
            path: trail,
            relationship: None,
        })
    }

    /// Section 6.1.1: every product id referred to is defined in the product tree.
    fn refers(&self, path: &str, id: &str) -> Result<(), Problem> {
        if self.defined.contains_key(id) {
            return Ok(());
        }
        Err(Problem::new(
            ProblemKind::Invalid,
            path,
            format!("product id {} is not defined in the product tree (section 6.1.1)", quote(id)),
        ))
    }

    fn vulnerability(&self, v: WVuln, path: &str) -> Result<Vulnerability, Problem> {
        if let Some(cve) = &v.cve {
            if !is_cve(cve) {
                return Err(Problem::new(
                    ProblemKind::Invalid,
                    format!("{path}/cve"),
                    format!("{} is not a CVE id (CVE-YYYY-NNNN)", quote(cve)),
                ));
            }
        }
        if let Some(cwe) = &v.cwe {
            if !is_cwe(&cwe.id) {
                return Err(Problem::new(
                    ProblemKind::Invalid,
                    format!("{path}/cwe/id"),
                    format!("{} is not a CWE id (CWE-N)", quote(&cwe.id)),
                ));
            }
        }
        if let Some(title) = &v.title {
            check_text(&format!("{path}/title"), title, MAX_TEXT, "a title")?;
        }
        let mut scores = Vec::new();
        for (i, s) in v.scores.iter().enumerate() {
            let spath = format!("{path}/scores/{i}");
            for (j, id) in s.products.iter().enumerate() {
                self.refers(&format!("{spath}/products/{j}"), id)?;
            }
            for (field, cvss) in [("cvss_v3", &s.cvss_v3), ("cvss_v2", &s.cvss_v2)] {
                let Some(c) = cvss else { continue };
                if !(0.0..=10.0).contains(&c.base_score) {
                    return Err(Problem::new(
                        ProblemKind::Invalid,
                        format!("{spath}/{field}/baseScore"),
                        format!("base score {} is outside 0.0 to 10.0", c.base_score),
                    ));
                }
                check_text(&format!("{spath}/{field}/vectorString"), &c.vector_string, 1_000, "a CVSS vector")?;
                scores.push(Score {
                    version: c.version.clone(),
                    base_score: c.base_score,
                    severity: c.base_severity.clone(),
                    vector: Some(c.vector_string.clone()),
                    products: s.products.clone(),
                    provider: String::new(),
                });
            }
        }
        let mut product_status = Vec::new();
        if let Some(status) = &v.product_status {
            for (name, ids) in status.lists() {
                for (j, id) in ids.iter().enumerate() {
                    self.refers(&format!("{path}/product_status/{}/{j}", segment(name)), id)?;
                    product_status.push((name.to_string(), id.clone()));
                }
            }
        }
        let mut remediations = Vec::with_capacity(v.remediations.len());
        for (i, r) in v.remediations.into_iter().enumerate() {
            let rpath = format!("{path}/remediations/{i}");
            if !REMEDIATION_CATEGORIES.contains(&r.category.as_str()) {
                return Err(Problem::new(
                    ProblemKind::Invalid,
                    format!("{rpath}/category"),
                    format!(
                        "{} is not a CSAF 2.0 remediation category ({})",
                        quote(&r.category),
                        REMEDIATION_CATEGORIES.join(", ")
                    ),
                ));
            }
            check_text(&format!("{rpath}/details"), &r.details, MAX_TEXT, "remediation details")?;
            for (j, id) in r.product_ids.iter().enumerate() {
                self.refers(&format!("{rpath}/product_ids/{j}"), id)?;
            }
            for (j, g) in r.group_ids.iter().enumerate() {
                if !self.groups.contains(g) {
                    return Err(Problem::new(
                        ProblemKind::Invalid,
                        format!("{rpath}/group_ids/{j}"),
                        format!("product group {} is not defined in the product tree", quote(g)),
                    ));
                }
            }
            remediations.push(Remediation {
                category: r.category,
                details: r.details,
                url: r.url,
                date: r.date,
                product_ids: r.product_ids,
                group_ids: r.group_ids,
            });
        }
        Ok(Vulnerability {
            cve: v.cve,
            cwe_name: v.cwe.as_ref().map(|c| c.name.clone()),
            cwe: v.cwe.map(|c| c.id),
            title: v.title,
            scores,
            product_status,
            remediations,
            exploitation: exploitation(v.notes.iter().map(|n| n.text.as_str())),
        })
    }
}

/// What an advisory's notes say of exploitation, as an SSVC Exploitation
/// point (`none`, `public poc`, `active`) and the sentence that says it; the
/// gravest statement wins. CISA's ICS advisories state it in words ("No known
/// public exploits specifically target this vulnerability", "Public exploits
/// are available", "... has received reports of this vulnerability being
/// actively exploited"); CSAF 2.0 has no field for it.
pub fn exploitation<'a>(notes: impl Iterator<Item = &'a str>) -> Option<(String, String)> {
    let mut best: Option<(u8, &'static str, String)> = None;
    for text in notes {
        for sentence in text.split_inclusive(['.', '\n']) {
            let lower = sentence.to_ascii_lowercase();
            let point = if (lower.contains("actively exploited")
                || lower.contains("exploited in the wild")
                || lower.contains("known to be exploited"))
                && !lower.contains("no known")
                && !lower.contains("not been")
                && !lower.contains("no reports")
            {
                (2, "active")
            } else if lower.contains("public exploits are available")
                || lower.contains("exploits are publicly available")
                || lower.contains("are publicly available") && lower.contains("exploit") && !lower.contains("no known")
                || lower.contains("exploit code is publicly available")
            {
                (1, "public poc")
            } else if lower.contains("no known public exploits") {
                (0, "none")
            } else {
                continue;
            };
            if best.as_ref().is_none_or(|(rank, _, _)| point.0 > *rank) {
                best = Some((point.0, point.1, sentence.trim().to_string()));
            }
        }
    }
    best.map(|(_, point, sentence)| (point.to_string(), sentence))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// The sentences CISA's advisories use (counts from `../shared/intel/csaf`:
    /// "No known public exploits specifically target ..." about 1,100 times,
    /// "Public exploits are available" 13).
    #[test]
    fn exploitation_is_read_from_the_notes_gravest_first() {
        let point = |notes: &[&str]| exploitation(notes.iter().copied());
        assert_eq!(
            point(&["Successful exploitation could allow remote code execution.", "No known public exploits specifically target this vulnerability. High skill level is needed to exploit."]),
            Some(("none".into(), "No known public exploits specifically target this vulnerability.".into()))
        );
        assert_eq!(
            point(&["ATTENTION: Remotely exploitable/low skill level to exploit. Public exploits are available."])
                .map(|p| p.0),
            Some("public poc".into())
        );
        assert_eq!(
            point(&["Exploits that target these vulnerabilities are publicly available."]).map(|p| p.0),
            Some("public poc".into())
        );
        assert_eq!(
            point(&[
                "No known public exploits specifically target this vulnerability.",
                "Siemens has received reports of this vulnerability being actively exploited."
            ])
            .map(|p| p.0),
            Some("active".into()),
            "the gravest statement wins"
        );
        // Words about exploitation that state nothing, and denials, are not points.
        assert_eq!(
            point(&["CISA recommends users take defensive measures to minimize the risk of exploitation."]),
            None
        );
        assert_eq!(
            point(&["The vendor has no reports of this vulnerability being actively exploited."]).map(|p| p.0),
            None
        );
        assert_eq!(point(&[]), None);
    }

    #[test]
    fn integer_versions_compare_by_value_not_text() {
        assert_eq!(compare_revisions("10", "2024", "9", "2025"), Ordering::Greater);
        assert_eq!(compare_revisions("2", "2024", "2", "2024"), Ordering::Equal);
    }

    #[test]
    fn semantic_versions_compare_part_by_part_and_a_pre_release_comes_first() {
        assert_eq!(compare_revisions("1.10.0", "a", "1.9.3", "b"), Ordering::Greater);
        assert_eq!(compare_revisions("1.0.0-rc.1", "b", "1.0.0", "a"), Ordering::Less);
        assert_eq!(compare_revisions("1.0.0+build.7", "a", "1.0.0", "a"), Ordering::Equal);
    }

    #[test]
    fn mixed_schemes_fall_back_to_the_release_date() {
        assert_eq!(compare_revisions("2", "2024-03-01T00:00:00Z", "1.0.0", "2024-01-01T00:00:00Z"), Ordering::Greater);
    }

    #[test]
    fn tracking_versions_follow_section_3_1_11() {
        assert!(tracking_version("0").is_some());
        assert!(tracking_version("01").is_none(), "leading zero");
        assert!(tracking_version("1.2").is_none(), "two parts");
        assert!(tracking_version("v1").is_none());
        assert!(tracking_version("1.2.3-").is_none());
    }

    #[test]
    fn cve_and_cwe_ids_are_checked_by_shape() {
        assert!(is_cve("CVE-2024-12345"));
        assert!(!is_cve("CVE-24-1234") && !is_cve("CVE-2024-123") && !is_cve("cve-2024-1234"));
        assert!(is_cwe("CWE-787") && !is_cwe("CWE-0") && !is_cwe("CWE-1234567") && !is_cwe("787"));
    }

    #[test]
    fn a_missing_document_is_a_schema_error_at_the_root() {
        let e = parse(br#"{"vulnerabilities": []}"#).unwrap_err();
        assert_eq!(e.kind, ProblemKind::Schema);
        assert!(e.reason.contains("document"), "{}", e.reason);
    }

    #[test]
    fn an_unknown_product_status_is_a_schema_error_at_its_path() {
        let doc = br#"{"document": {"category": "csaf_base", "csaf_version": "2.0", "title": "t",
            "publisher": {"category": "vendor", "name": "p", "namespace": "https://p.invalid"},
            "tracking": {"id": "X-1", "version": "1", "status": "final",
                "initial_release_date": "2024-01-01T00:00:00Z", "current_release_date": "2024-01-01T00:00:00Z",
                "revision_history": [{"number": "1", "date": "2024-01-01T00:00:00Z", "summary": "s"}]}},
            "vulnerabilities": [{"product_status": {"maybe_affected": []}}]}"#;
        let e = parse(doc).unwrap_err();
        assert_eq!(
            (e.kind, e.path.as_str()),
            (ProblemKind::Schema, "/vulnerabilities/0/product_status/maybe_affected")
        );
        assert!(e.reason.contains("maybe_affected"), "{}", e.reason);
    }
}
