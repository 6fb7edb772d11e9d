//! Which security advisories name a device, and whether its firmware is
//! affected.
//!
//! One job: given what the inventory knows of an asset ([`Identity`]: vendor,
//! model, order number, firmware) and the product nodes an advisory gives one
//! vulnerability status for ([`Product`] with its [`Status`]), decide
//! [`Outcome::Affected`], [`Outcome::NotAffected`] or
//! [`Outcome::NeedsReview`], with the evidence: which identity field matched
//! which product node, and which version rule held ([`assess`]).
//!
//! The rules, in the order they apply (docs/vulns.md):
//! - **Vendor**: both normalised by the inventory's vendor table; a different
//!   vendor is no match. An asset without a vendor matches only by order number.
//! - **Product**: the order number against the node's model numbers and SKUs,
//!   or written in its name (high confidence); else the model's words all in
//!   the node's name, or the node's product words all in the model, one of them
//!   with a digit (medium). A node that lists model numbers or SKUs the asset's
//!   order number is not among does not match, however its name reads: a
//!   family name never makes a device affected that the advisory's own list
//!   contradicts.
//! - **Version** (`otposture-versions`): a known-affected node's range or
//!   version decides; a fixed or known-not-affected node that holds the
//!   firmware makes the device not affected, and wins over every affected
//!   node; under investigation needs review; an unknown or unreadable firmware
//!   needs review. Nothing is guessed.
//!
//! Pure: no I/O, no store. The caller loads advisories and assets.

use otposture_versions::{check, fixed, Range, Verdict, Version};
use serde::Serialize;

mod catalog;
pub mod ssvc;
pub use catalog::{Catalog, Finding, Matcher, Node, Vulnerability};

/// What the inventory knows of one asset.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity<'a> {
    /// Manufacturer, as the inventory gives it (normalised again here).
    pub vendor: Option<&'a str>,
    /// Product or model name.
    pub model: Option<&'a str>,
    /// Vendor order number (Siemens MLFB, Rockwell catalogue number).
    pub order_number: Option<&'a str>,
    /// Firmware or software version.
    pub firmware: Option<&'a str>,
}

/// One product node of an advisory's product tree.
#[derive(Clone, Copy, Debug, Default)]
pub struct Product<'a> {
    /// The advisory's id for it (`CSAFPID-0001`).
    pub product_id: &'a str,
    /// `full_product_name.name`.
    pub name: &'a str,
    /// The vendor branch.
    pub vendor: Option<&'a str>,
    /// The product family branches.
    pub family: Option<&'a str>,
    /// The product name branch.
    pub product: Option<&'a str>,
    /// A `product_version` branch: one version, a list, or a pattern.
    pub version: Option<&'a str>,
    /// A `product_version_range` branch: `vers:` or free text.
    pub version_range: Option<&'a str>,
    /// `product_identification_helper.model_numbers`.
    pub model_numbers: &'a [String],
    /// `product_identification_helper.skus`.
    pub skus: &'a [String],
}

/// What the advisory says of a product for one vulnerability (CSAF product
/// status, the categories folded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `known_affected`, `first_affected`, `last_affected`.
    Affected,
    /// `fixed`, `first_fixed`, `recommended`.
    Fixed,
    /// `known_not_affected`.
    NotAffected,
    /// `under_investigation`.
    UnderInvestigation,
}

impl Status {
    /// The status of a CSAF product status category; `None` for one this
    /// build does not know.
    pub fn of_csaf(category: &str) -> Option<Status> {
        Some(match category {
            "known_affected" | "first_affected" | "last_affected" => Status::Affected,
            "fixed" | "first_fixed" | "recommended" => Status::Fixed,
            "known_not_affected" => Status::NotAffected,
            "under_investigation" => Status::UnderInvestigation,
            _ => return None,
        })
    }
}

/// The answer for one asset and one vulnerability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A product node names the device and its firmware is inside the
    /// affected versions.
    Affected,
    /// The device runs a fixed or not-affected version, or a version outside
    /// every affected range.
    NotAffected,
    /// A node names the device but its version cannot be decided (unknown or
    /// unreadable firmware, a range that could not be read, under
    /// investigation).
    NeedsReview,
}

/// How sure the product match is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The node names a product family (its name says family, series, all
    /// ..., controllers, CPUs) that the asset's order number or model belongs
    /// to by [`FAMILIES`].
    Low,
    /// The model's words, or the node's product words, match.
    Medium,
    /// The order number matches.
    High,
}

/// Why one product node bears on the asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The node's product id.
    pub product_id: String,
    /// The node's full name.
    pub product: String,
    /// Its status in the advisory.
    pub status: Status,
    /// Which identity field matched it, and how.
    pub identity: String,
    /// How sure that match is.
    pub confidence: Confidence,
    /// The version rule that held (or why none could).
    pub version: String,
    /// What this node says on its own: `None` when it says nothing (a fixed
    /// version the device does not run).
    pub outcome: Option<Outcome>,
}

/// The answer and every node that bears on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The combined answer.
    pub outcome: Outcome,
    /// The confidence of the nodes that decided it.
    pub confidence: Confidence,
    /// The deciding node first, then the others that name the device.
    pub evidence: Vec<Evidence>,
}

/// Product families by the start of an order number or model, per vendor
/// numbering: Siemens order numbers (MLFB) name the product line in their
/// first digits (6ES7 21x S7-1200, 6ES7 31x S7-300, 6ES7 41x S7-400,
/// 6ES7 51x S7-1500; 6AG1 is the SIPLUS variant of the same number);
/// Rockwell catalogue numbers name the platform and generation (1756-L6/L7/L8
/// ControlLogix 5560/5570/5580, 1769-L3 CompactLogix 5370, 5069-L3
/// CompactLogix 5380, 1762/1763/1764/1766 MicroLogix 1200/1100/1500/1400);
/// Schneider references name the range (BMEP58 M580, BMXP34 M340,
/// TM221/TM241/TM251 M221/M241/M251, TSXP57 Premium, 140CPU Quantum); ABB
/// Relion IED types name their series (REL670, RED670, ... Relion 670;
/// REL650, ... Relion 650). Compared without spaces, upper case. A family the
/// table does not know is simply not matched.
pub const FAMILIES: &[(&str, &str)] = &[
    ("6ES721", "S7-1200"),
    ("6AG121", "S7-1200"),
    ("6ES731", "S7-300"),
    ("6AG131", "S7-300"),
    ("6ES741", "S7-400"),
    ("6AG141", "S7-400"),
    ("6ES751", "S7-1500"),
    ("6AG151", "S7-1500"),
    ("1762-L", "MicroLogix 1200"),
    ("1763-L", "MicroLogix 1100"),
    ("1764-L", "MicroLogix 1500"),
    ("1766-L", "MicroLogix 1400"),
    ("1756-L6", "ControlLogix 5560"),
    ("1756-L7", "ControlLogix 5570"),
    ("1756-L8", "ControlLogix 5580"),
    ("1769-L3", "CompactLogix 5370"),
    ("5069-L3", "CompactLogix 5380"),
    ("BMEP58", "M580"),
    ("BMXP34", "M340"),
    ("TM221", "M221"),
    ("TM241", "M241"),
    ("TM251", "M251"),
    ("TSXP57", "Premium"),
    ("140CPU", "Quantum"),
    ("REL670", "Relion 670"),
    ("RED670", "Relion 670"),
    ("REC670", "Relion 670"),
    ("RET670", "Relion 670"),
    ("REB670", "Relion 670"),
    ("REG670", "Relion 670"),
    ("RES670", "Relion 670"),
    ("REL650", "Relion 650"),
    ("RED650", "Relion 650"),
    ("REC650", "Relion 650"),
    ("RET650", "Relion 650"),
    ("REB650", "Relion 650"),
    ("REG650", "Relion 650"),
];

/// Words by which a product node names a whole family rather than models.
const FAMILY_WORDS: &[&str] = &["family", "series", "all", "controller", "controllers", "cpus", "plcs"];

/// Brand words before a family name (`SIMATIC S7-1500`, `Modicon M580`): a
/// node that says only a brand and a family names the family.
const BRANDS: &[&str] = &["simatic", "siplus", "modicon", "allen-bradley"];

/// Words that say nothing about which product it is.
const NOISE: &[&str] = &[
    "all",
    "and",
    "or",
    "the",
    "of",
    "for",
    "with",
    "incl",
    "including",
    "related",
    "variants",
    "family",
    "series",
    "versions",
    "version",
    "product",
    "products",
    "device",
    "devices",
    "firmware",
    "software",
    "prior",
    "to",
    "v",
];

/// Lower-case words of a name: letters, digits and the `-` `.` `+` `/` inside
/// them (`s7-1500`, `1756-en2t`), without the [`NOISE`].
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '+' | '/')))
        .map(|w| w.trim_matches(|c: char| matches!(c, '-' | '.' | '+' | '/')).to_lowercase())
        .filter(|w| !w.is_empty() && !NOISE.contains(&w.as_str()))
        .collect()
}

/// Split further at `/` (a CIP product name `1756-EN2T/D LOGIX...` carries its
/// series after the slash).
fn fine_words(text: &str) -> Vec<String> {
    words(text)
        .iter()
        .flat_map(|w| w.split('/').map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect()
}

/// An order number compared: upper case, no white space.
fn order_key(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// Whether `number` fits `pattern`, where `*` stands for any run and `?` for
/// one character (CSAF allows both in model numbers and SKUs).
fn fits(pattern: &str, number: &str) -> bool {
    fn go(p: &[u8], n: &[u8], budget: &mut u32) -> bool {
        // Bounded: a pathological pattern gives up rather than backtrack long.
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        match (p.split_first(), n.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => {
                go(rest, n, budget) || n.split_first().is_some_and(|(_, n_rest)| go(p, n_rest, budget))
            }
            (Some((b'?', rest)), Some((_, n_rest))) => go(rest, n_rest, budget),
            (Some((a, rest)), Some((b, n_rest))) if a == b => go(rest, n_rest, budget),
            _ => false,
        }
    }
    if !pattern.contains(['*', '?']) {
        return pattern == number;
    }
    go(pattern.as_bytes(), number.as_bytes(), &mut 10_000)
}

/// What matching needs of a product node, worked out once: a catalogue
/// keeps these for every node, so matching many assets does not normalise
/// vendors and split names again and again.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeFacts {
    vendor: Option<String>,
    /// Model numbers and SKUs as order keys, sorted.
    listed: Vec<String>,
    /// Those with wildcards.
    listed_wild: Vec<String>,
    /// The full name as an order key.
    name_key: String,
    /// Words of the family, product and full names.
    words: Vec<String>,
    /// Words of the product name (or the full name).
    named: Vec<String>,
    /// The same without brand words.
    named_core: Vec<String>,
    /// The node says it names a family.
    says_family: bool,
    /// `product_version_range`, read.
    range: Option<Range>,
    /// `product_version`, read as a range of equalities, or why it cannot be.
    single: Option<Result<Range, String>>,
}

impl NodeFacts {
    pub(crate) fn of(p: &Product<'_>) -> Self {
        let text = [p.family, p.product, Some(p.name)].iter().flatten().copied().collect::<Vec<_>>().join(" ");
        let named = fine_words(p.product.unwrap_or(p.name));
        let lower = text.to_lowercase();
        NodeFacts {
            vendor: p.vendor.and_then(otposture_inventory::vendor::normalise),
            listed: {
                let mut l: Vec<String> = p.model_numbers.iter().chain(p.skus).map(|m| order_key(m)).collect();
                l.sort_unstable();
                l
            },
            listed_wild: p
                .model_numbers
                .iter()
                .chain(p.skus)
                .map(|m| order_key(m))
                .filter(|m| m.contains(['*', '?']))
                .collect(),
            name_key: order_key(p.name),
            words: fine_words(&text),
            named_core: named.iter().filter(|w| !BRANDS.contains(&w.as_str())).cloned().collect(),
            named,
            says_family: lower.split(|c: char| !c.is_alphanumeric()).any(|w| FAMILY_WORDS.contains(&w)),
            range: p.version_range.map(Range::parse),
            single: p.version.map(|text| {
                // As `otposture_versions::single` reads a product_version.
                if text.contains(['<', '>', '=']) && !text.trim_start().starts_with("vers:") {
                    Err(format!("product_version '{}' holds a comparison", text.trim()))
                } else {
                    Ok(Range::parse(text))
                }
            }),
        }
    }
}

/// What matching needs of an identity, worked out once per asset.
#[derive(Debug)]
pub(crate) struct IdFacts<'a> {
    id: Identity<'a>,
    vendor: Option<String>,
    order: Option<String>,
    model_words: Vec<String>,
    /// Per text (order number, then model) that starts as a family does:
    /// the text, the family's prefix and name, and the family's words.
    families: Vec<(&'a str, &'static str, &'static str, Vec<String>)>,
    /// The firmware, read, or why it could not be.
    firmware: Option<Result<Version, String>>,
}

impl<'a> IdFacts<'a> {
    pub(crate) fn of(id: &Identity<'a>) -> Self {
        let families = [id.order_number, id.model]
            .into_iter()
            .flatten()
            .filter_map(|text| {
                let key = order_key(text);
                let (prefix, family) = FAMILIES.iter().find(|(prefix, _)| key.starts_with(prefix))?;
                Some((text, *prefix, *family, fine_words(family)))
            })
            .collect();
        IdFacts {
            id: *id,
            vendor: id.vendor.and_then(otposture_inventory::vendor::normalise),
            order: id.order_number.map(order_key).filter(|o| !o.is_empty()),
            model_words: id.model.map(fine_words).unwrap_or_default(),
            families,
            firmware: id.firmware.map(|text| {
                Version::parse(text).map_err(|e| format!("firmware '{text}' is not a version this build reads: {e}"))
            }),
        }
    }
}

fn distinctive(ws: &[String]) -> bool {
    ws.iter().any(|w| w.chars().any(|c| c.is_ascii_digit()))
}

/// Whether the node is the asset's product, and how sure; `None` when it is
/// not (or cannot be said to be).
fn product_match(id: &IdFacts<'_>, p: &Product<'_>, n: &NodeFacts) -> Option<(Confidence, String)> {
    if let Some(order) = &id.order {
        let hit = n.listed.binary_search(order).ok().and_then(|i| n.listed.get(i));
        if let Some(hit) = hit.or_else(|| n.listed_wild.iter().find(|m| fits(m, order))) {
            let shown = p
                .model_numbers
                .iter()
                .chain(p.skus)
                .find(|m| order_key(m) == *hit)
                .map_or(hit.as_str(), String::as_str);
            return Some((Confidence::High, format!("order number {order} is listed as {shown}")));
        }
        if !n.listed.is_empty() {
            // The advisory lists what it covers; this device is not among them.
            return None;
        }
        if order.len() >= 6 && n.name_key.contains(order.as_str()) {
            return Some((Confidence::High, format!("order number {order} is written in the product name")));
        }
    }
    if let Some(model) = id.id.model {
        let asset = &id.model_words;
        if !asset.is_empty() && distinctive(asset) && asset.iter().all(|w| n.words.contains(w)) {
            return Some((Confidence::Medium, format!("every word of model '{model}' is in the product name")));
        }
        if !n.named.is_empty() && distinctive(&n.named) && n.named.iter().all(|w| asset.contains(w)) {
            let shown = p.product.unwrap_or(p.name);
            return Some((Confidence::Medium, format!("every word of product '{shown}' is in model '{model}'")));
        }
    }
    family_match(id, p, n)
}

/// The family rule: the asset's order number or model starts as a family of
/// [`FAMILIES`] does, and the node names that family as a family.
fn family_match(id: &IdFacts<'_>, p: &Product<'_>, n: &NodeFacts) -> Option<(Confidence, String)> {
    if !n.listed.is_empty() {
        return None;
    }
    id.families.iter().find_map(|(text, prefix, family, family_words)| {
        let names_it = if n.says_family {
            family_words.iter().all(|w| n.words.contains(w))
        } else {
            n.named_core == *family_words
        };
        names_it.then(|| {
            (Confidence::Low, format!("{text} is of the {family} family ({prefix}...), which '{}' names", p.name))
        })
    })
}

/// Whether the node's version (or range) holds `v`: `Some(true)` it does,
/// `Some(false)` it does not, `None` undecided; with the reason.
fn holds(n: &NodeFacts, v: &Version) -> (Option<bool>, String) {
    if let Some(range) = &n.range {
        return match check(range, v) {
            Verdict::Affected { reason } => (Some(true), reason),
            Verdict::NotAffected { reason } => (Some(false), reason),
            Verdict::NeedsReview { reason } => (None, reason),
        };
    }
    match &n.single {
        Some(Ok(range)) => match check(range, v) {
            Verdict::Affected { reason } => (Some(true), reason),
            Verdict::NotAffected { reason } => (Some(false), reason),
            Verdict::NeedsReview { reason } => (None, reason),
        },
        Some(Err(why)) => (None, why.clone()),
        None => (Some(true), "the node names no version: every version".to_owned()),
    }
}

/// What one matched node says about firmware `v`.
fn node_outcome(
    p: &Product<'_>,
    n: &NodeFacts,
    status: Status,
    firmware: Option<&Result<Version, String>>,
) -> (Option<Outcome>, String) {
    if status == Status::UnderInvestigation {
        return (Some(Outcome::NeedsReview), "the vendor is still investigating this product".to_owned());
    }
    let v = match firmware {
        None => {
            let says = (status == Status::Affected).then_some(Outcome::NeedsReview);
            return (says, "the device's firmware version is not known".to_owned());
        }
        Some(Err(why)) => {
            let says = (status == Status::Affected).then_some(Outcome::NeedsReview);
            return (says, why.clone());
        }
        Some(Ok(v)) => v,
    };
    match status {
        Status::Affected => match holds(n, v) {
            (Some(true), why) => (Some(Outcome::Affected), why),
            (Some(false), why) => (Some(Outcome::NotAffected), why),
            (None, why) => (Some(Outcome::NeedsReview), why),
        },
        Status::Fixed => {
            let verdict = match (p.version, p.version_range) {
                (Some(version), None) => fixed(version, v),
                _ => match holds(n, v) {
                    (Some(true), why) => Verdict::NotAffected { reason: format!("a fixed version: {why}") },
                    (_, why) => Verdict::NeedsReview { reason: why },
                },
            };
            match verdict {
                Verdict::NotAffected { reason } => (Some(Outcome::NotAffected), reason),
                other => (None, other.reason().to_owned()),
            }
        }
        Status::NotAffected => match holds(n, v) {
            (Some(true), why) => (Some(Outcome::NotAffected), format!("stated not affected: {why}")),
            (_, why) => (None, why),
        },
        Status::UnderInvestigation => (Some(Outcome::NeedsReview), String::new()),
    }
}

/// Advisories often give one product several affected nodes, one upper bound
/// per release line (ABB Relion 670: `<= 1.2.3.18`, `<= 2.0.0.11`,
/// `<= 2.1.0.1`). Read one by one, the 2.1 bound would make every 1.2.3
/// version affected. When at least two matched affected nodes of one product
/// name each hold a single upper bound, they are read together as the union
/// the versions crate decides by release line, and that answer replaces theirs.
fn release_lines(id: &Identity<'_>, nodes: &[(Product<'_>, Status)], evidence: &mut [Evidence]) {
    fn upper_bound<'a>(p: &Product<'a>) -> Option<&'a str> {
        p.version_range.filter(|r| {
            let r = r.trim();
            r.starts_with('<') && !r.contains('|') && !r.contains('>')
        })
    }
    let Some(Ok(v)) = id.firmware.map(Version::parse) else { return };
    // The matched affected nodes, by the product they are versions of.
    let matched: Vec<(&str, &Product<'_>)> = nodes
        .iter()
        .filter(|(p, s)| {
            *s == Status::Affected
                && evidence.iter().any(|e| e.status == Status::Affected && e.product_id == p.product_id)
        })
        .map(|(p, _)| (p.product.or(p.family).unwrap_or(p.name), p))
        .collect();
    let mut products: Vec<&str> = matched.iter().map(|(name, _)| *name).collect();
    products.sort_unstable();
    products.dedup();
    let mut decided: Vec<(Vec<&str>, Outcome, String)> = Vec::new();
    for name in products {
        let group: Vec<&Product<'_>> = matched.iter().filter(|(n, _)| *n == name).map(|(_, p)| *p).collect();
        let bounds: Vec<&str> = group.iter().filter_map(|p| upper_bound(p)).collect();
        if bounds.len() < 2 || bounds.len() != group.len() {
            continue;
        }
        let union = bounds.join(" | ");
        let (outcome, why) = match check(&Range::parse(&union), &v) {
            Verdict::Affected { reason } => (Outcome::Affected, reason),
            Verdict::NotAffected { reason } => (Outcome::NotAffected, reason),
            Verdict::NeedsReview { reason } => (Outcome::NeedsReview, reason),
        };
        let ids = group.iter().map(|p| p.product_id).collect();
        decided.push((ids, outcome, format!("{why} (the bounds of '{name}' read as release lines: {union})")));
    }
    for (ids, outcome, why) in decided {
        for e in evidence.iter_mut().filter(|e| e.status == Status::Affected && ids.contains(&e.product_id.as_str())) {
            e.outcome = Some(outcome);
            e.version.clone_from(&why);
        }
    }
}

/// The answer for one asset against the product nodes an advisory gives one
/// vulnerability's statuses for; `None` when no node names the device.
///
/// A fixed or not-affected node holding the firmware decides first (the fixed
/// version is never affected), then an affected node, then one needing
/// review; a device outside every affected range is not affected.
pub fn assess(id: &Identity<'_>, nodes: &[(Product<'_>, Status)]) -> Option<Assessment> {
    let facts: Vec<NodeFacts> = nodes.iter().map(|(p, _)| NodeFacts::of(p)).collect();
    let prepared: Vec<(Product<'_>, Status, &NodeFacts)> =
        nodes.iter().zip(&facts).map(|((p, s), f)| (*p, *s, f)).collect();
    assess_prepared(&IdFacts::of(id), &prepared)
}

/// [`assess`] with the identity's and the nodes' facts worked out beforehand.
pub(crate) fn assess_prepared(idf: &IdFacts<'_>, nodes: &[(Product<'_>, Status, &NodeFacts)]) -> Option<Assessment> {
    let id = &idf.id;
    let mut evidence = Vec::new();
    for (p, status, facts) in nodes {
        match (&idf.vendor, &facts.vendor) {
            (Some(a), Some(n)) if a != n => continue,
            (None, _) if id.order_number.is_none() => continue,
            _ => {}
        }
        let Some((confidence, identity)) = product_match(idf, p, facts) else { continue };
        let (outcome, version) = node_outcome(p, facts, *status, idf.firmware.as_ref());
        evidence.push(Evidence {
            product_id: p.product_id.to_owned(),
            product: p.name.to_owned(),
            status: *status,
            identity,
            confidence,
            version,
            outcome,
        });
    }
    if evidence.is_empty() {
        return None;
    }
    let plain: Vec<(Product<'_>, Status)> = nodes.iter().map(|(p, s, _)| (*p, *s)).collect();
    release_lines(id, &plain, &mut evidence);
    let explicit_fix = |e: &Evidence| e.outcome == Some(Outcome::NotAffected) && e.status != Status::Affected;
    let rank = |e: &Evidence| match e.outcome {
        _ if explicit_fix(e) => 0,
        Some(Outcome::Affected) => 1,
        Some(Outcome::NeedsReview) => 2,
        Some(Outcome::NotAffected) => 3,
        None => 4,
    };
    evidence.sort_by_key(|e| (rank(e), std::cmp::Reverse(e.confidence)));
    let decider = evidence.first()?;
    let outcome = match decider.outcome {
        Some(o) => o,
        // Only fixed versions the device does not run: the advisory gives no
        // affected range for it, so nothing can be said without a person.
        None => Outcome::NeedsReview,
    };
    Some(Assessment { outcome, confidence: decider.confidence, evidence })
}

#[cfg(test)]
mod tests;
