//! The advisories in force, indexed so an asset meets only the
//! vulnerabilities whose product nodes could name it.

use crate::{assess, fine_words, order_key, Assessment, Identity, Product, Status, FAMILIES};
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
    /// Advisory title.
    pub title: String,
    /// CVE id.
    pub cve: Option<String>,
    /// Highest CVSS base score.
    pub cvss: Option<f64>,
    /// The nodes.
    pub nodes: Vec<Node>,
}

/// What an asset meets: one vulnerability and the answer.
#[derive(Debug)]
pub struct Finding<'c> {
    /// The vulnerability.
    pub vulnerability: &'c Vulnerability,
    /// The answer with its evidence.
    pub assessment: Assessment,
}

/// The vulnerabilities, indexed by the distinctive words (holding a digit)
/// of their nodes' names, their listed order numbers and the families they
/// name, per normalised vendor.
#[derive(Debug, Default)]
pub struct Catalog {
    vulns: Vec<Vulnerability>,
    by_key: HashMap<String, Vec<usize>>,
    /// Vulnerabilities with a node the index cannot key (a wildcard model
    /// number): checked for every asset.
    unkeyed: Vec<usize>,
}

fn keys_of_identity(id: &Identity<'_>) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    if let Some(model) = id.model {
        keys.extend(fine_words(model).into_iter().filter(|w| w.chars().any(|c| c.is_ascii_digit())));
    }
    for text in [id.order_number, id.model].into_iter().flatten() {
        let key = order_key(text);
        if let Some((_, family)) = FAMILIES.iter().find(|(prefix, _)| key.starts_with(prefix)) {
            keys.insert(format!("family:{}", family.to_lowercase()));
        }
    }
    if let Some(order) = id.order_number {
        keys.insert(order_key(order).to_lowercase());
    }
    keys
}

impl Catalog {
    /// Indexes `vulns`.
    pub fn new(vulns: Vec<Vulnerability>) -> Self {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unkeyed = Vec::new();
        for (i, v) in vulns.iter().enumerate() {
            let mut keys = BTreeSet::new();
            let mut wild = false;
            for n in &v.nodes {
                let words = fine_words(&n.text());
                for (_, family) in FAMILIES {
                    if fine_words(family).iter().all(|w| words.contains(w)) {
                        keys.insert(format!("family:{}", family.to_lowercase()));
                    }
                }
                keys.extend(words.into_iter().filter(|w| w.chars().any(|c| c.is_ascii_digit())));
                for m in n.model_numbers.iter().chain(&n.skus) {
                    if m.contains(['*', '?']) {
                        wild = true;
                    } else {
                        keys.insert(order_key(m).to_lowercase());
                    }
                }
            }
            if wild {
                unkeyed.push(i);
            }
            for k in keys {
                by_key.entry(k).or_default().push(i);
            }
        }
        Catalog { vulns, by_key, unkeyed }
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
    /// advisory order.
    pub fn findings(&self, id: &Identity<'_>) -> Vec<Finding<'_>> {
        let mut candidates: BTreeSet<usize> = self.unkeyed.iter().copied().collect();
        for k in keys_of_identity(id) {
            if let Some(list) = self.by_key.get(&k) {
                candidates.extend(list);
            }
        }
        candidates
            .into_iter()
            .filter_map(|i| {
                let v = self.vulns.get(i)?;
                let nodes: Vec<(Product<'_>, Status)> =
                    v.nodes.iter().filter_map(|n| Some((n.product(), n.status?))).collect();
                assess(id, &nodes).map(|assessment| Finding { vulnerability: v, assessment })
            })
            .collect()
    }
}
