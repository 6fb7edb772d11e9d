//! The advisories in force, indexed so an asset meets only the
//! vulnerabilities whose product nodes could name it.

use crate::{
    assess_prepared, fine_words, order_key, Assessment, IdFacts, Identity, NodeFacts, Product, Status, FAMILIES,
};
use std::collections::{BTreeSet, HashMap};

/// A product node as the store keeps it, with its status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    /// The advisory's product id.
    pub product_id: String,
    /// Full product name.
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
    /// Status for this vulnerability.
    pub status: Option<Status>,
}

impl Node {
    fn product(&self) -> Product<'_> {
        Product {
            product_id: &self.product_id,
            name: &self.name,
            vendor: self.vendor.as_deref(),
            family: self.family.as_deref(),
            product: self.product.as_deref(),
            version: self.version.as_deref(),
            version_range: self.version_range.as_deref(),
            model_numbers: &self.model_numbers,
            skus: &self.skus,
        }
    }

    fn text(&self) -> String {
        [self.family.as_deref(), self.product.as_deref(), Some(self.name.as_str())]
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One vulnerability of one advisory, with every product node it gives a
/// status for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vulnerability {
    /// Advisory tracking id.
    pub tracking_id: String,
    /// Its index among the advisory's vulnerabilities.
    pub ordinal: i64,
    /// Advisory title.
    pub title: String,
    /// CVE id.
    pub cve: Option<String>,
    /// Highest CVSS base score.
    pub cvss: Option<f64>,
    /// Its vector.
    pub cvss_vector: Option<String>,
    /// When CISA added the CVE to the KEV catalog, if it did.
    pub kev_date_added: Option<String>,
    /// EPSS score.
    pub epss: Option<f64>,
    /// CISA's SSVC points: exploitation, automatable, technical impact.
    pub ssvc: [Option<String>; 3],
    /// What the advisory's notes say of exploitation (`none`, `public poc`, `active`).
    pub csaf_exploitation: Option<String>,
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Vulnerability {
    /// The vulnerabilities of a CSAF advisory as the intel crate read it,
    /// each with the product nodes it gives a status for (statuses this build
    /// does not know are kept as `None` and take no part).
    pub fn of_advisory(a: &otposture_intel::Advisory) -> Vec<Vulnerability> {
        a.vulnerabilities
            .iter()
            .enumerate()
            .map(|(ordinal, v)| Vulnerability {
                tracking_id: a.tracking_id.clone(),
                ordinal: i64::try_from(ordinal).unwrap_or(i64::MAX),
                title: a.title.clone(),
                cve: v.cve.clone(),
                cvss: v.scores.iter().map(|s| s.base_score).reduce(f64::max),
                cvss_vector: v
                    .scores
                    .iter()
                    .max_by(|a, b| a.base_score.total_cmp(&b.base_score))
                    .and_then(|s| s.vector.clone()),
                kev_date_added: None,
                epss: None,
                ssvc: [None, None, None],
                csaf_exploitation: v.exploitation.as_ref().map(|e| e.0.clone()),
                nodes: v
                    .product_status
                    .iter()
                    .filter_map(|(status, pid)| {
                        let p = a.products.iter().find(|p| &p.product_id == pid)?;
                        Some(Node {
                            product_id: p.product_id.clone(),
                            name: p.name.clone(),
                            vendor: p.vendor.clone(),
                            family: p.family.clone(),
                            product: p.product.clone(),
                            version: p.version.clone(),
                            version_range: p.version_range.clone(),
                            model_numbers: p.model_numbers.clone(),
                            skus: p.skus.clone(),
                            status: Status::of_csaf(status),
                        })
                    })
                    .collect(),
            })
            .collect()
    }
}

/// What an asset meets: one vulnerability and the answer.
#[derive(Clone, Debug)]
pub struct Finding<'c> {
    /// The vulnerability.
    pub vulnerability: &'c Vulnerability,
    /// The answer with its evidence.
    pub assessment: Assessment,
}

/// The vulnerabilities' product nodes, indexed by the distinctive words
/// (holding a digit) of their names, their listed order numbers and the
/// families they name. Every way a node can name an asset goes through one of
/// these keys (docs/vulns.md), so an asset is matched against the nodes under
/// its own keys only, grouped by vulnerability.
#[derive(Debug, Default)]
pub struct Catalog {
    vulns: Vec<Vulnerability>,
    /// Per vulnerability, per node: what matching needs, worked out once.
    facts: Vec<Vec<NodeFacts>>,
    by_key: HashMap<String, Vec<(u32, u32)>>,
    /// Nodes the index cannot key (a wildcard model number): matched against
    /// every asset.
    unkeyed: Vec<(u32, u32)>,
}

/// The index keys an identity can be named under, from its facts: the
/// distinctive model words, the family its order number or model starts as,
/// and its order number.
fn keys_of_identity(id: &IdFacts<'_>) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> =
        id.model_words.iter().filter(|w| w.chars().any(|c| c.is_ascii_digit())).cloned().collect();
    keys.extend(id.families.iter().map(|(_, _, family, _)| format!("family:{}", family.to_lowercase())));
    keys.extend(id.order.as_ref().map(|o| o.to_lowercase()));
    keys
}

fn keys_of_node(n: &Node) -> (BTreeSet<String>, bool) {
    let mut keys = BTreeSet::new();
    let words = fine_words(&n.text());
    for (_, family) in FAMILIES {
        if fine_words(family).iter().all(|w| words.contains(w)) {
            keys.insert(format!("family:{}", family.to_lowercase()));
        }
    }
    keys.extend(words.into_iter().filter(|w| w.chars().any(|c| c.is_ascii_digit())));
    let mut wild = false;
    for m in n.model_numbers.iter().chain(&n.skus) {
        if m.contains(['*', '?']) {
            wild = true;
        } else {
            keys.insert(order_key(m).to_lowercase());
        }
    }
    (keys, wild)
}

impl Catalog {
    /// Indexes `vulns`.
    pub fn new(vulns: Vec<Vulnerability>) -> Self {
        let mut by_key: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut unkeyed = Vec::new();
        for (i, v) in vulns.iter().enumerate() {
            for (j, n) in v.nodes.iter().enumerate() {
                let (Ok(i), Ok(j)) = (u32::try_from(i), u32::try_from(j)) else { continue };
                let (keys, wild) = keys_of_node(n);
                if wild {
                    unkeyed.push((i, j));
                }
                for k in keys {
                    by_key.entry(k).or_default().push((i, j));
                }
            }
        }
        let facts = vulns.iter().map(|v| v.nodes.iter().map(|n| NodeFacts::of(&n.product())).collect()).collect();
        Catalog { vulns, facts, by_key, unkeyed }
    }

    /// Vulnerabilities indexed.
    pub fn len(&self) -> usize {
        self.vulns.len()
    }

    /// True when no vulnerability is indexed.
    pub fn is_empty(&self) -> bool {
        self.vulns.is_empty()
    }

    /// Every vulnerability whose nodes name the asset, with the answer; in
    /// the order the vulnerabilities were given.
    pub fn findings(&self, id: &Identity<'_>) -> Vec<Finding<'_>> {
        let idf = IdFacts::of(id);
        let mut candidates: Vec<(u32, u32)> = self.unkeyed.clone();
        for k in keys_of_identity(&idf) {
            if let Some(list) = self.by_key.get(&k) {
                candidates.extend(list);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut out = Vec::new();
        let mut nodes: Vec<(Product<'_>, Status, &NodeFacts)> = Vec::new();
        let mut candidates = candidates.into_iter().peekable();
        while let Some((i, j)) = candidates.next() {
            nodes.clear();
            let mut take = |j: u32| {
                let n = self.vulns.get(i as usize).and_then(|v| v.nodes.get(j as usize));
                let f = self.facts.get(i as usize).and_then(|f| f.get(j as usize));
                if let (Some(n), Some(f)) = (n, f) {
                    if let Some(status) = n.status {
                        nodes.push((n.product(), status, f));
                    }
                }
            };
            take(j);
            while let Some((_, j)) = candidates.next_if(|(next, _)| *next == i) {
                take(j);
            }
            let Some(v) = self.vulns.get(i as usize) else { continue };
            if let Some(assessment) = assess_prepared(&idf, &nodes) {
                out.push(Finding { vulnerability: v, assessment });
            }
        }
        out
    }
}

/// Identities remembered by a [`Matcher`] before it starts afresh.
const MAX_REMEMBERED: usize = 1 << 16;

/// Matches many assets against one catalogue, answering an identity it has
/// met before from memory: a plant has thousands of devices but few distinct
/// (vendor, model, order number, firmware) combinations. Bounded: past
/// [`MAX_REMEMBERED`] identities the memory is cleared.
#[derive(Debug)]
pub struct Matcher<'c> {
    catalog: &'c Catalog,
    seen: HashMap<[Option<String>; 4], Vec<Finding<'c>>>,
}

impl<'c> Matcher<'c> {
    /// A matcher over `catalog`.
    pub fn new(catalog: &'c Catalog) -> Self {
        Matcher { catalog, seen: HashMap::new() }
    }

    /// [`Catalog::findings`] for `id`, from memory when it was asked before.
    pub fn findings(&mut self, id: &Identity<'_>) -> Vec<Finding<'c>> {
        let key = [id.vendor, id.model, id.order_number, id.firmware].map(|f| f.map(str::to_owned));
        if let Some(found) = self.seen.get(&key) {
            return found.clone();
        }
        let found = self.catalog.findings(id);
        if self.seen.len() >= MAX_REMEMBERED {
            self.seen.clear();
        }
        self.seen.insert(key, found.clone());
        found
    }
}
