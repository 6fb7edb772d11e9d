//! Vulnerability intelligence (schema 7): each imported document's
//! provenance, and what is in force — CSAF advisories with their product
//! trees, statuses, scores and remediations; the KEV catalog; EPSS scores;
//! CVE records with CISA's SSVC decision points; ATT&CK for ICS techniques.
//!
//! One transaction per document: a failing document (or a killed process)
//! never loses one written before. Writing is idempotent: a document whose
//! SHA-256 is known is not written again ([`IntelWriter`] asks first). A newer
//! revision of an advisory replaces the one in force and both stay in
//! `advisory_revisions`; an older one is recorded there only. Catalogs, score
//! files and bundles replace the one in force when their as-of date is later.
//! Parsing and validation live in crates/intel, not here.

use crate::error::{sql, StoreError};
use crate::inventory::count;
use crate::Store;
use otposture_intel::csaf::compare_revisions;
use otposture_intel::{
    Advisory, AttackBundle, CveRecord, Document, EpssScores, KevCatalog, Kind, Outcome, Score, Sink, Source,
};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use std::cmp::Ordering;
use std::path::Path;

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// The columns of `advisory_products p` that [`product_row`] reads, in order.
const PRODUCT_COLUMNS: &str =
    "p.product_id, p.name, p.vendor, p.family, p.product, p.version, p.version_range, p.model_numbers, p.skus";

/// A JSON array of strings as stored; empty when absent or unreadable.
fn json_list(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

/// The [`PRODUCT_COLUMNS`] of a row, from column `at` on.
fn product_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<AdvisoryProductRow> {
    Ok(AdvisoryProductRow {
        product_id: r.get(at)?,
        name: r.get(at + 1)?,
        vendor: r.get(at + 2)?,
        family: r.get(at + 3)?,
        product: r.get(at + 4)?,
        version: r.get(at + 5)?,
        version_range: r.get(at + 6)?,
        model_numbers: json_list(r.get(at + 7)?),
        skus: json_list(r.get(at + 8)?),
    })
}

/// One vulnerability of an advisory ([`Store::advisory_vulnerabilities`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdvisoryVulnerabilityRow {
    /// Index in the advisory.
    pub ordinal: i64,
    /// CVE id.
    pub cve: Option<String>,
    /// CWE id and name.
    pub cwe: Option<String>,
    /// CWE name.
    pub cwe_name: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// CVSS version of the highest base score.
    pub cvss_version: Option<String>,
    /// Highest CVSS base score.
    pub cvss_score: Option<f64>,
    /// Its vector.
    pub cvss_vector: Option<String>,
    /// (CSAF status category, product id).
    pub statuses: Vec<(String, String)>,
    /// Vendor fixes, workarounds and mitigations.
    pub remediations: Vec<RemediationRow>,
}

/// One remediation of a vulnerability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemediationRow {
    /// `vendor_fix`, `workaround`, `mitigation`, `none_available`, `no_fix_planned`.
    pub category: String,
    /// What to do.
    pub details: String,
    /// Where to read more.
    pub url: Option<String>,
    /// When it was published.
    pub date: Option<String>,
    /// The products it is for.
    pub product_ids: Vec<String>,
}

/// One product node of an advisory ([`Store::advisory_products`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdvisoryProductRow {
    /// The advisory's product id.
    pub product_id: String,
    /// Full name.
    pub name: String,
    /// Vendor branch.
    pub vendor: Option<String>,
    /// Product family branches.
    pub family: Option<String>,
    /// Product name branch.
    pub product: Option<String>,
    /// `product_version`.
    pub version: Option<String>,
    /// `product_version_range`.
    pub version_range: Option<String>,
    /// Helper model numbers.
    pub model_numbers: Vec<String>,
    /// Helper SKUs.
    pub skus: Vec<String>,
}

/// A product node with one vulnerability's status for it ([`Store::product_statuses`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductStatusRow {
    /// Advisory tracking id (`ICSA-24-228-04`).
    pub tracking_id: String,
    /// Advisory title.
    pub title: String,
    /// The vulnerability's index in the advisory.
    pub ordinal: i64,
    /// Its CVE id.
    pub cve: Option<String>,
    /// Its highest CVSS base score.
    pub cvss_score: Option<f64>,
    /// CSAF product status category (`known_affected`, `fixed`, ...).
    pub status: String,
    /// The product node.
    pub product: AdvisoryProductRow,
    /// The vector of its highest CVSS base score.
    pub cvss_vector: Option<String>,
    /// When CISA added the CVE to KEV (the KEV catalog, else the CVE
    /// record's KEV mark); `None` when it is not known exploited.
    pub kev_date_added: Option<String>,
    /// The CVE's EPSS score.
    pub epss: Option<f64>,
    /// CISA's SSVC points from the CVE record: exploitation, automatable,
    /// technical impact.
    pub ssvc: [Option<String>; 3],
    /// What the advisory's notes say of exploitation (`none`, `public poc`,
    /// `active`), when they say it.
    pub csaf_exploitation: Option<String>,
}

/// One imported document's provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntelSourceRow {
    /// Row id.
    pub id: i64,
    /// csaf, kev, epss, cve, attack.
    pub kind: String,
    /// The file, and `!member` inside a bundle.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Tracking id, CVE id, catalog version or bundle id.
    pub subject: Option<String>,
    /// The date it is current as of.
    pub as_of: Option<String>,
    /// When it was imported, unix seconds.
    pub imported_at_secs: i64,
    /// Its size.
    pub bytes: u64,
    /// Records in it.
    pub records: u64,
    /// loaded, replaced or older.
    pub outcome: String,
}

/// What the store holds of one kind of intel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntelKindStatus {
    /// csaf, kev, epss, cve, attack.
    pub kind: String,
    /// Documents imported (every revision and catalog, in force or not).
    pub sources: u64,
    /// Documents in force: advisories, CVE records; 1 for a catalog, score file or bundle.
    pub documents: u64,
    /// Records in force: advisory vulnerabilities, KEV entries, EPSS scores,
    /// CVE records, active ATT&CK techniques.
    pub records: u64,
    /// The newest as-of date in force: "intel as of ...".
    pub as_of: Option<String>,
    /// When this kind was last imported, unix seconds.
    pub last_import_secs: Option<i64>,
    /// The source in force, for catalogs, score files and bundles.
    pub current: Option<IntelSourceRow>,
}

/// An advisory in force, summarised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntelAdvisory {
    /// Tracking id.
    pub tracking_id: String,
    /// Its version.
    pub version: String,
    /// Title.
    pub title: String,
    /// Current release date.
    pub current_release_date: String,
    /// Products stored.
    pub products: u64,
    /// Vulnerabilities stored.
    pub vulnerabilities: u64,
    /// The source it came from.
    pub source: String,
}

/// One revision of an advisory ever imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntelRevision {
    /// `/document/tracking/version`.
    pub version: String,
    /// Current release date of that revision.
    pub current_release_date: String,
    /// The source it came from.
    pub source: String,
    /// Whether it is the revision in force.
    pub in_force: bool,
    /// The document's revision history, JSON.
    pub revision_history: String,
}

const SOURCE_COLUMNS: &str = "id, kind, name, sha256, subject, as_of, imported_at, bytes, records, outcome";

fn source_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IntelSourceRow> {
    Ok(IntelSourceRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        sha256: r.get(3)?,
        subject: r.get(4)?,
        as_of: r.get(5)?,
        imported_at_secs: r.get(6)?,
        bytes: count(r.get(7)?),
        records: count(r.get(8)?),
        outcome: r.get(9)?,
    })
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Loaded => "loaded",
        Outcome::Replaced => "replaced",
        Outcome::Older => "older",
        Outcome::Unchanged => "unchanged",
    }
}

/// Records the source row; returns its id.
fn insert_source(
    tx: &Transaction<'_>,
    path: &Path,
    source: &Source,
    subject: Option<&str>,
    records: u64,
    outcome: Outcome,
    at_secs: i64,
) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO intel_sources (kind, name, sha256, subject, as_of, imported_at, bytes, records, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            source.kind.name(),
            source.name,
            source.sha256,
            subject,
            source.as_of,
            at_secs,
            i64::try_from(source.bytes).unwrap_or(i64::MAX),
            i64::try_from(records).unwrap_or(i64::MAX),
            outcome_name(outcome)
        ])
    })
    .map_err(sql(path, "recording an intel source"))?;
    Ok(tx.last_insert_rowid())
}

/// The highest base score, for the one-line listing columns.
fn highest(scores: &[Score]) -> Option<&Score> {
    scores.iter().max_by(|a, b| a.base_score.partial_cmp(&b.base_score).unwrap_or(Ordering::Equal))
}

impl Store {
    /// The kind of the imported document with this SHA-256, if there is one.
    pub fn intel_source_kind(&self, sha256: &str) -> Result<Option<Kind>, StoreError> {
        let kind: Option<String> = self
            .conn
            .prepare_cached("SELECT kind FROM intel_sources WHERE sha256 = ?1")
            .and_then(|mut s| s.query_row([sha256], |r| r.get(0)).optional())
            .map_err(sql(&self.path, "looking up an intel source"))?;
        kind.map(|k| {
            Kind::parse(&k).ok_or_else(|| StoreError::BadValue {
                path: self.path.clone(),
                table: "intel_sources",
                column: "kind",
                value: k,
            })
        })
        .transpose()
    }

    /// Stores one document and its provenance in one transaction, and says
    /// what that did. A document whose SHA-256 is already stored is
    /// [`Outcome::Unchanged`] and writes nothing.
    pub fn write_intel(&mut self, source: &Source, doc: &Document, at_secs: i64) -> Result<Outcome, StoreError> {
        if self.intel_source_kind(&source.sha256)?.is_some() {
            return Ok(Outcome::Unchanged);
        }
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting an intel transaction"))?;
        let outcome = match doc {
            Document::Csaf(a) => write_advisory(&tx, path, source, a, at_secs)?,
            Document::Cve(c) => write_cve(&tx, path, source, c, at_secs)?,
            Document::Kev(k) => {
                write_catalog(&tx, path, source, doc, k.catalog_version.as_deref(), at_secs, |tx, id| {
                    write_kev(tx, path, k, id)
                })?
            }
            Document::Epss(e) => {
                write_catalog(&tx, path, source, doc, e.model_version.as_deref(), at_secs, |tx, id| {
                    write_epss(tx, path, e, id)
                })?
            }
            Document::Attack(b) => {
                write_catalog(&tx, path, source, doc, Some(&b.id), at_secs, |tx, id| write_attack(tx, path, b, id))?
            }
            _ => return Ok(Outcome::Unchanged),
        };
        tx.commit().map_err(sql(path, "committing an intel document"))?;
        Ok(outcome)
    }

    /// Every imported document's provenance, oldest first.
    pub fn intel_sources(&self) -> Result<Vec<IntelSourceRow>, StoreError> {
        let q = format!("SELECT {SOURCE_COLUMNS} FROM intel_sources ORDER BY id");
        self.rows(&q, Vec::new(), "listing intel sources", source_row)
    }

    /// What is held of each kind, in [`Kind::ALL`] order.
    pub fn intel_status(&self) -> Result<Vec<IntelKindStatus>, StoreError> {
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let name = kind.name();
            let (sources, last): (i64, Option<i64>) = self
                .conn
                .query_row("SELECT count(*), max(imported_at) FROM intel_sources WHERE kind = ?1", [name], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(sql(&self.path, "counting intel sources"))?;
            let one = |q: &str| -> Result<(i64, Option<String>), StoreError> {
                self.conn.query_row(q, [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql(&self.path, "summarising intel"))
            };
            let current = self
                .conn
                .query_row(
                    &format!(
                        "SELECT {SOURCE_COLUMNS} FROM intel_sources
                         WHERE id = (SELECT source_id FROM intel_current WHERE kind = ?1)"
                    ),
                    [name],
                    source_row,
                )
                .optional()
                .map_err(sql(&self.path, "reading the intel source in force"))?;
            let (documents, records, as_of) = match kind {
                Kind::Csaf => {
                    let (docs, as_of) = one("SELECT count(*), max(current_release_date) FROM advisories")?;
                    let (vulns, _) = one("SELECT count(*), NULL FROM advisory_vulnerabilities")?;
                    (docs, vulns, as_of)
                }
                Kind::Cve => {
                    let (docs, as_of) =
                        one("SELECT count(*), max(coalesce(date_updated, date_published)) FROM cve_records")?;
                    (docs, docs, as_of)
                }
                Kind::Kev | Kind::Epss | Kind::Attack => {
                    let table = match kind {
                        Kind::Kev => "SELECT count(*), NULL FROM kev_entries",
                        Kind::Epss => "SELECT count(*), NULL FROM epss_scores",
                        _ => "SELECT count(*), NULL FROM attack_techniques WHERE deprecated = 0 AND revoked = 0",
                    };
                    let (records, _) = one(table)?;
                    (i64::from(current.is_some()), records, current.as_ref().and_then(|c| c.as_of.clone()))
                }
            };
            out.push(IntelKindStatus {
                kind: name.to_string(),
                sources: count(sources),
                documents: count(documents),
                records: count(records),
                as_of,
                last_import_secs: last,
                current,
            });
        }
        Ok(out)
    }

    /// The advisory in force under `tracking_id`.
    pub fn intel_advisory(&self, tracking_id: &str) -> Result<Option<IntelAdvisory>, StoreError> {
        self.conn
            .query_row(
                "SELECT a.tracking_id, a.version, a.title, a.current_release_date,
                    (SELECT count(*) FROM advisory_products p WHERE p.tracking_id = a.tracking_id),
                    (SELECT count(*) FROM advisory_vulnerabilities v WHERE v.tracking_id = a.tracking_id),
                    s.name
                 FROM advisories a JOIN intel_sources s ON s.id = a.source_id WHERE a.tracking_id = ?1",
                [tracking_id],
                |r| {
                    Ok(IntelAdvisory {
                        tracking_id: r.get(0)?,
                        version: r.get(1)?,
                        title: r.get(2)?,
                        current_release_date: r.get(3)?,
                        products: count(r.get(4)?),
                        vulnerabilities: count(r.get(5)?),
                        source: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(sql(&self.path, "reading an advisory"))
    }

    /// Every product node the advisories in force give a vulnerability status
    /// for, with that vulnerability's CVE and highest CVSS base score: what
    /// matching assets to advisories reads. Ordered by advisory, vulnerability
    /// and product, so one vulnerability's nodes are adjacent.
    pub fn product_statuses(&self) -> Result<Vec<ProductStatusRow>, StoreError> {
        self.rows(
            &format!(
                "SELECT s.tracking_id, a.title, s.ordinal, v.cve, v.cvss_score, s.status, {PRODUCT_COLUMNS}, v.cvss_vector,
                COALESCE(k.date_added, c.kev_date_added), e.epss, c.ssvc_exploitation, c.ssvc_automatable,
                c.ssvc_technical_impact, v.exploitation
             FROM product_status s
             JOIN advisory_products p ON p.tracking_id = s.tracking_id AND p.product_id = s.product_id
             JOIN advisories a ON a.tracking_id = s.tracking_id
             LEFT JOIN advisory_vulnerabilities v ON v.tracking_id = s.tracking_id AND v.ordinal = s.ordinal
             LEFT JOIN kev_entries k ON k.cve = v.cve
             LEFT JOIN epss_scores e ON e.cve = v.cve
             LEFT JOIN cve_records c ON c.cve = v.cve
             ORDER BY s.tracking_id, s.ordinal, s.product_id, s.status"
            ),
            Vec::new(),
            "listing product statuses",
            |r| {
                Ok(ProductStatusRow {
                    tracking_id: r.get(0)?,
                    title: r.get(1)?,
                    ordinal: r.get(2)?,
                    cve: r.get(3)?,
                    cvss_score: r.get(4)?,
                    status: r.get(5)?,
                    product: product_row(r, 6)?,
                    cvss_vector: r.get(15)?,
                    kev_date_added: r.get(16)?,
                    epss: r.get(17)?,
                    ssvc: [r.get(18)?, r.get(19)?, r.get(20)?],
                    csaf_exploitation: r.get(21)?,
                })
            },
        )
    }

    /// The vulnerabilities of the advisory in force under `tracking_id`, each
    /// with its product statuses and remediations, in advisory order.
    pub fn advisory_vulnerabilities(&self, tracking_id: &str) -> Result<Vec<AdvisoryVulnerabilityRow>, StoreError> {
        let mut vulns = self.rows(
            "SELECT ordinal, cve, cwe, cwe_name, title, cvss_version, cvss_score, cvss_vector
             FROM advisory_vulnerabilities WHERE tracking_id = ?1 ORDER BY ordinal",
            vec![tracking_id.to_string().into()],
            "listing an advisory's vulnerabilities",
            |r| {
                Ok(AdvisoryVulnerabilityRow {
                    ordinal: r.get(0)?,
                    cve: r.get(1)?,
                    cwe: r.get(2)?,
                    cwe_name: r.get(3)?,
                    title: r.get(4)?,
                    cvss_version: r.get(5)?,
                    cvss_score: r.get(6)?,
                    cvss_vector: r.get(7)?,
                    statuses: Vec::new(),
                    remediations: Vec::new(),
                })
            },
        )?;
        let statuses: Vec<(i64, String, String)> = self.rows(
            "SELECT ordinal, status, product_id FROM product_status WHERE tracking_id = ?1
             ORDER BY ordinal, status, product_id",
            vec![tracking_id.to_string().into()],
            "listing an advisory's product statuses",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let remediations: Vec<(i64, RemediationRow)> = self.rows(
            "SELECT ordinal, category, details, url, date, product_ids FROM remediations WHERE tracking_id = ?1
             ORDER BY ordinal, n",
            vec![tracking_id.to_string().into()],
            "listing an advisory's remediations",
            |r| {
                Ok((
                    r.get(0)?,
                    RemediationRow {
                        category: r.get(1)?,
                        details: r.get(2)?,
                        url: r.get(3)?,
                        date: r.get(4)?,
                        product_ids: json_list(r.get(5)?),
                    },
                ))
            },
        )?;
        for v in &mut vulns {
            v.statuses = statuses.iter().filter(|s| s.0 == v.ordinal).map(|s| (s.1.clone(), s.2.clone())).collect();
            v.remediations = remediations.iter().filter(|r| r.0 == v.ordinal).map(|r| r.1.clone()).collect();
        }
        Ok(vulns)
    }

    /// Every remediation of the advisories in force, keyed by advisory and
    /// vulnerability ordinal, in advisory order.
    pub fn all_remediations(&self) -> Result<Vec<(String, i64, RemediationRow)>, StoreError> {
        self.rows(
            "SELECT tracking_id, ordinal, category, details, url, date, product_ids FROM remediations
             ORDER BY tracking_id, ordinal, n",
            Vec::new(),
            "listing remediations",
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    RemediationRow {
                        category: r.get(2)?,
                        details: r.get(3)?,
                        url: r.get(4)?,
                        date: r.get(5)?,
                        product_ids: json_list(r.get(6)?),
                    },
                ))
            },
        )
    }

    /// The product nodes of the advisory in force under `tracking_id`.
    pub fn advisory_products(&self, tracking_id: &str) -> Result<Vec<AdvisoryProductRow>, StoreError> {
        self.rows(
            &format!("SELECT {PRODUCT_COLUMNS} FROM advisory_products p WHERE tracking_id = ?1 ORDER BY product_id"),
            vec![tracking_id.to_string().into()],
            "listing an advisory's products",
            |r| product_row(r, 0),
        )
    }

    /// Every revision of `tracking_id` imported, in import order.
    pub fn intel_advisory_revisions(&self, tracking_id: &str) -> Result<Vec<IntelRevision>, StoreError> {
        self.rows(
            "SELECT r.version, r.current_release_date, s.name,
                r.source_id = (SELECT source_id FROM advisories a WHERE a.tracking_id = r.tracking_id),
                r.revision_history
             FROM advisory_revisions r JOIN intel_sources s ON s.id = r.source_id
             WHERE r.tracking_id = ?1 ORDER BY r.source_id",
            vec![tracking_id.to_string().into()],
            "listing advisory revisions",
            |r| {
                Ok(IntelRevision {
                    version: r.get(0)?,
                    current_release_date: r.get(1)?,
                    source: r.get(2)?,
                    in_force: r.get::<_, Option<bool>>(3)?.unwrap_or(false),
                    revision_history: r.get(4)?,
                })
            },
        )
    }

    /// Rows in an intel table, for tests and status checks. `table` must be one of the intel tables.
    pub fn intel_rows(&self, table: &str) -> Result<u64, StoreError> {
        const TABLES: [&str; 14] = [
            "intel_sources",
            "intel_current",
            "advisories",
            "advisory_revisions",
            "advisory_products",
            "advisory_vulnerabilities",
            "advisory_scores",
            "product_status",
            "remediations",
            "kev_entries",
            "epss_scores",
            "cve_records",
            "cve_scores",
            "attack_techniques",
        ];
        let Some(table) = TABLES.iter().find(|t| **t == table) else {
            return Ok(0);
        };
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(sql(&self.path, "counting intel rows"))?;
        Ok(count(n))
    }
}

fn write_advisory(
    tx: &Transaction<'_>,
    path: &Path,
    source: &Source,
    a: &Advisory,
    at_secs: i64,
) -> Result<Outcome, StoreError> {
    let current: Option<(String, String)> = tx
        .prepare_cached("SELECT version, current_release_date FROM advisories WHERE tracking_id = ?1")
        .and_then(|mut s| s.query_row([&a.tracking_id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(sql(path, "reading the advisory in force"))?;
    let outcome = match &current {
        None => Outcome::Loaded,
        Some((version, date)) => match compare_revisions(&a.version, &a.current_release_date, version, date) {
            Ordering::Greater => Outcome::Replaced,
            _ => Outcome::Older,
        },
    };
    let records = a.vulnerabilities.len() as u64;
    let source_id = insert_source(tx, path, source, Some(&a.tracking_id), records, outcome, at_secs)?;
    tx.prepare_cached(
        "INSERT INTO advisory_revisions (tracking_id, source_id, version, current_release_date, revision_history)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![a.tracking_id, source_id, a.version, a.current_release_date, json(&a.revisions)])
    })
    .map_err(sql(path, "recording an advisory revision"))?;
    if outcome == Outcome::Older {
        return Ok(outcome);
    }
    if outcome == Outcome::Replaced {
        for table in
            ["advisory_products", "advisory_vulnerabilities", "advisory_scores", "product_status", "remediations"]
        {
            tx.prepare_cached(&format!("DELETE FROM {table} WHERE tracking_id = ?1"))
                .and_then(|mut s| s.execute([&a.tracking_id]))
                .map_err(sql(path, "removing the replaced advisory's rows"))?;
        }
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO advisories (tracking_id, version, status, category, csaf_version, title, publisher,
            publisher_namespace, initial_release_date, current_release_date, severity, source_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut s| {
        s.execute(params![
            a.tracking_id,
            a.version,
            a.status,
            a.category,
            a.csaf_version,
            a.title,
            a.publisher,
            a.publisher_namespace,
            a.initial_release_date,
            a.current_release_date,
            a.severity,
            source_id
        ])
    })
    .map_err(sql(path, "writing an advisory"))?;
    let id = &a.tracking_id;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO advisory_products (tracking_id, product_id, name, vendor, family, product, version,
                    version_range, path, cpe, purl, model_numbers, skus, serial_numbers, relationship)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .map_err(sql(path, "preparing the product insert"))?;
        for p in &a.products {
            insert
                .execute(params![
                    id,
                    p.product_id,
                    p.name,
                    p.vendor,
                    p.family,
                    p.product,
                    p.version,
                    p.version_range,
                    json(&p.path),
                    p.cpe,
                    p.purl,
                    json(&p.model_numbers),
                    json(&p.skus),
                    json(&p.serial_numbers),
                    p.relationship.as_ref().map(|(c, a, b)| json(&[c, a, b]))
                ])
                .map_err(sql(path, "writing an advisory product"))?;
        }
    }
    let mut vuln = tx
        .prepare_cached(
            "INSERT INTO advisory_vulnerabilities (tracking_id, ordinal, cve, cwe, cwe_name, title, cvss_version,
                cvss_score, cvss_vector, exploitation, exploitation_note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(sql(path, "preparing the vulnerability insert"))?;
    let mut score = tx
        .prepare_cached(
            "INSERT INTO advisory_scores (tracking_id, ordinal, n, version, base_score, severity, vector, products)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(sql(path, "preparing the score insert"))?;
    let mut status = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO product_status (tracking_id, ordinal, status, product_id) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql(path, "preparing the product status insert"))?;
    let mut remediation = tx
        .prepare_cached(
            "INSERT INTO remediations (tracking_id, ordinal, n, category, details, url, date, product_ids, group_ids)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(sql(path, "preparing the remediation insert"))?;
    for (i, v) in a.vulnerabilities.iter().enumerate() {
        let top = highest(&v.scores);
        vuln.execute(params![
            id,
            int(i),
            v.cve,
            v.cwe,
            v.cwe_name,
            v.title,
            top.map(|s| s.version.as_str()),
            top.map(|s| s.base_score),
            top.and_then(|s| s.vector.as_deref()),
            v.exploitation.as_ref().map(|e| e.0.as_str()),
            v.exploitation.as_ref().map(|e| e.1.as_str())
        ])
        .map_err(sql(path, "writing an advisory vulnerability"))?;
        for (n, s) in v.scores.iter().enumerate() {
            score
                .execute(params![id, int(i), int(n), s.version, s.base_score, s.severity, s.vector, json(&s.products)])
                .map_err(sql(path, "writing a CVSS score"))?;
        }
        for (st, product) in &v.product_status {
            status.execute(params![id, int(i), st, product]).map_err(sql(path, "writing a product status"))?;
        }
        for (n, r) in v.remediations.iter().enumerate() {
            remediation
                .execute(params![
                    id,
                    int(i),
                    int(n),
                    r.category,
                    r.details,
                    r.url,
                    r.date,
                    json(&r.product_ids),
                    json(&r.group_ids)
                ])
                .map_err(sql(path, "writing a remediation"))?;
        }
    }
    Ok(outcome)
}

fn write_cve(
    tx: &Transaction<'_>,
    path: &Path,
    source: &Source,
    c: &CveRecord,
    at_secs: i64,
) -> Result<Outcome, StoreError> {
    let current: Option<Option<String>> = tx
        .prepare_cached("SELECT coalesce(date_updated, date_published) FROM cve_records WHERE cve = ?1")
        .and_then(|mut s| s.query_row([&c.cve], |r| r.get(0)).optional())
        .map_err(sql(path, "reading the CVE record in force"))?;
    let date = c.date_updated.as_deref().or(c.date_published.as_deref());
    let outcome = match current {
        None => Outcome::Loaded,
        Some(stored) if date > stored.as_deref() => Outcome::Replaced,
        Some(_) => Outcome::Older,
    };
    let source_id = insert_source(tx, path, source, Some(&c.cve), 1, outcome, at_secs)?;
    if outcome == Outcome::Older {
        return Ok(outcome);
    }
    tx.prepare_cached("DELETE FROM cve_scores WHERE cve = ?1")
        .and_then(|mut s| s.execute([&c.cve]))
        .map_err(sql(path, "removing replaced CVE scores"))?;
    let ssvc = c.ssvc.as_ref();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO cve_records (cve, state, data_version, assigner, date_published, date_updated, title,
            description, cwes, ssvc_exploitation, ssvc_automatable, ssvc_technical_impact, ssvc_version,
            ssvc_timestamp, ssvc_role, kev_date_added, source_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )
    .and_then(|mut s| {
        s.execute(params![
            c.cve,
            c.state,
            c.data_version,
            c.assigner,
            c.date_published,
            c.date_updated,
            c.title,
            c.description,
            json(&c.cwes),
            ssvc.and_then(|s| s.exploitation.as_deref()),
            ssvc.and_then(|s| s.automatable.as_deref()),
            ssvc.and_then(|s| s.technical_impact.as_deref()),
            ssvc.and_then(|s| s.version.as_deref()),
            ssvc.and_then(|s| s.timestamp.as_deref()),
            ssvc.and_then(|s| s.role.as_deref()),
            c.kev_date_added,
            source_id
        ])
    })
    .map_err(sql(path, "writing a CVE record"))?;
    let mut score = tx
        .prepare_cached(
            "INSERT INTO cve_scores (cve, n, provider, version, base_score, severity, vector)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(sql(path, "preparing the CVE score insert"))?;
    for (n, s) in c.scores.iter().enumerate() {
        score
            .execute(params![c.cve, int(n), s.provider, s.version, s.base_score, s.severity, s.vector])
            .map_err(sql(path, "writing a CVE score"))?;
    }
    Ok(outcome)
}

/// A catalog-like document (KEV, EPSS, ATT&CK): replaces the one in force
/// when its as-of date is later, else is recorded as older.
fn write_catalog(
    tx: &Transaction<'_>,
    path: &Path,
    source: &Source,
    doc: &Document,
    subject: Option<&str>,
    at_secs: i64,
    fill: impl FnOnce(&Transaction<'_>, i64) -> Result<(), StoreError>,
) -> Result<Outcome, StoreError> {
    let kind = source.kind.name();
    let current: Option<Option<String>> = tx
        .prepare_cached("SELECT as_of FROM intel_current WHERE kind = ?1")
        .and_then(|mut s| s.query_row([kind], |r| r.get(0)).optional())
        .map_err(sql(path, "reading the intel in force"))?;
    let outcome = match current {
        None => Outcome::Loaded,
        Some(stored) if source.as_of.as_deref() > stored.as_deref() => Outcome::Replaced,
        Some(_) => Outcome::Older,
    };
    let source_id = insert_source(tx, path, source, subject, doc.records(), outcome, at_secs)?;
    if outcome == Outcome::Older {
        return Ok(outcome);
    }
    let table = match source.kind {
        Kind::Kev => "kev_entries",
        Kind::Epss => "epss_scores",
        _ => "attack_techniques",
    };
    tx.execute(&format!("DELETE FROM {table}"), []).map_err(sql(path, "removing the replaced intel"))?;
    tx.prepare_cached("INSERT OR REPLACE INTO intel_current (kind, source_id, as_of) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![kind, source_id, source.as_of]))
        .map_err(sql(path, "recording the intel in force"))?;
    fill(tx, source_id)?;
    Ok(outcome)
}

fn write_kev(tx: &Transaction<'_>, path: &Path, k: &KevCatalog, source_id: i64) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO kev_entries (cve, vendor, product, name, date_added, due_date, ransomware, required_action,
                description, notes, cwes, source_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(sql(path, "preparing the KEV insert"))?;
    for e in &k.entries {
        insert
            .execute(params![
                e.cve,
                e.vendor,
                e.product,
                e.name,
                e.date_added,
                e.due_date,
                e.ransomware,
                e.required_action,
                e.description,
                e.notes,
                json(&e.cwes),
                source_id
            ])
            .map_err(sql(path, "writing a KEV entry"))?;
    }
    Ok(())
}

fn write_epss(tx: &Transaction<'_>, path: &Path, e: &EpssScores, source_id: i64) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached("INSERT INTO epss_scores (cve, epss, percentile, source_id) VALUES (?1, ?2, ?3, ?4)")
        .map_err(sql(path, "preparing the EPSS insert"))?;
    for s in &e.scores {
        insert.execute(params![s.cve, s.epss, s.percentile, source_id]).map_err(sql(path, "writing an EPSS score"))?;
    }
    Ok(())
}

fn write_attack(tx: &Transaction<'_>, path: &Path, b: &AttackBundle, source_id: i64) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO attack_techniques (id, stix_id, name, tactics, platforms, url, modified, deprecated,
                revoked, source_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(sql(path, "preparing the technique insert"))?;
    for t in &b.techniques {
        insert
            .execute(params![
                t.id,
                t.stix_id,
                t.name,
                json(&t.tactics),
                json(&t.platforms),
                t.url,
                t.modified,
                t.deprecated,
                t.revoked,
                source_id
            ])
            .map_err(sql(path, "writing an ATT&CK technique"))?;
    }
    Ok(())
}

/// The store as an import's [`Sink`]: every document written at one wall-clock time.
#[derive(Debug)]
pub struct IntelWriter<'a> {
    store: &'a mut Store,
    at_secs: i64,
}

impl<'a> IntelWriter<'a> {
    /// Writes into `store`, stamping sources as imported at `at_secs`.
    pub fn new(store: &'a mut Store, at_secs: i64) -> Self {
        IntelWriter { store, at_secs }
    }
}

impl Sink for IntelWriter<'_> {
    type Error = StoreError;

    fn known(&mut self, sha256: &str) -> Result<Option<Kind>, StoreError> {
        self.store.intel_source_kind(sha256)
    }

    fn write(&mut self, source: &Source, doc: &Document) -> Result<Outcome, StoreError> {
        self.store.write_intel(source, doc, self.at_secs)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use otposture_intel::import::sha256_hex;

    const REV1: &[u8] = include_bytes!("../../intel/tests/fixtures/csaf-rev1.json");
    const CVE: &[u8] = include_bytes!("../../intel/tests/fixtures/cve-2024-0001.json");

    fn source(kind: Kind, bytes: &[u8], doc: &Document) -> Source {
        Source {
            kind,
            name: "fixture".into(),
            sha256: sha256_hex(bytes),
            as_of: doc.as_of().map(str::to_string),
            bytes: bytes.len() as u64,
        }
    }

    #[test]
    fn a_product_keeps_its_full_branch_path_helpers_and_statuses() {
        let mut store = Store::open_in_memory().unwrap();
        let doc = Document::Csaf(Box::new(otposture_intel::csaf::parse(REV1).unwrap()));
        assert_eq!(store.write_intel(&source(Kind::Csaf, REV1, &doc), &doc, 5).unwrap(), Outcome::Loaded);
        let row: (String, String, String, String, String, String, String) = store
            .conn
            .query_row(
                "SELECT vendor, family, product, version_range, path, model_numbers, cpe
                 FROM advisory_products WHERE product_id = 'CSAFPID-0001'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .unwrap();
        assert_eq!((row.0.as_str(), row.1.as_str(), row.2.as_str()), ("Example", "ExPLC", "ExPLC 1500"));
        assert_eq!(row.3, "vers:intdot/<2.9.7", "the range is kept raw");
        let path: Vec<serde_json::Value> = serde_json::from_str(&row.4).unwrap();
        let steps: Vec<&str> = path.iter().map(|b| b["category"].as_str().unwrap()).collect();
        assert_eq!(steps, ["vendor", "product_family", "product_name", "product_version_range"]);
        assert_eq!(
            (row.5.as_str(), row.6.as_str()),
            (r#"["6ES7-EX"]"#, "cpe:2.3:h:example:explc_1500:-:*:*:*:*:*:*:*")
        );
        let statuses: Vec<(String, String)> = store
            .rows("SELECT status, product_id FROM product_status ORDER BY status", Vec::new(), "t", |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            statuses,
            [("fixed".to_string(), "CSAFPID-0002".to_string()), ("known_affected".into(), "CSAFPID-0001".into())]
        );
        let (cvss, vector): (f64, String) = store
            .conn
            .query_row("SELECT cvss_score, cvss_vector FROM advisory_vulnerabilities", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((cvss, vector.as_str()), (9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"));
        // The same bytes again: nothing written.
        assert_eq!(store.write_intel(&source(Kind::Csaf, REV1, &doc), &doc, 6).unwrap(), Outcome::Unchanged);
        assert_eq!(store.intel_rows("intel_sources").unwrap(), 1);
    }

    #[test]
    fn a_cve_record_keeps_cisa_ssvc_decision_points() {
        let mut store = Store::open_in_memory().unwrap();
        let doc = Document::Cve(Box::new(otposture_intel::cve::parse(CVE).unwrap()));
        store.write_intel(&source(Kind::Cve, CVE, &doc), &doc, 5).unwrap();
        let ssvc: (String, String, String, String) = store
            .conn
            .query_row(
                "SELECT ssvc_exploitation, ssvc_automatable, ssvc_technical_impact, kev_date_added FROM cve_records",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(ssvc, ("active".into(), "yes".into(), "total".into(), "2024-04-30".into()));
    }

    /// A schema 5 file (with a register) migrates through 6 to 7 and keeps it.
    #[test]
    fn a_schema_5_file_migrates_to_the_intel_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        {
            let conn = crate::migrate::file_at(&path, 5);
            conn.execute_batch(
                "INSERT INTO register_imports (file, format, mapping, imported_at, rows, skipped)
                     VALUES ('r.csv', 'csv', '{}', 1, 0, 0);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        assert_eq!(store.register_imports().unwrap().len(), 1);
        assert!(store.intel_status().unwrap().iter().all(|k| k.sources == 0));
    }
}
