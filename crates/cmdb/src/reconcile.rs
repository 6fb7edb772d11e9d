//! Reconciling the register with the discovered inventory: which register
//! entry is which asset, which assets nobody registered, which entries were
//! not seen, and where the two disagree.
//!
//! Matching, strongest key first (see docs/cmdb.md):
//! 1. **serial** (any case, without `0x` or leading zeros) and **MAC** identify
//!    a device. When they point at different assets, or a key points at
//!    several, the entry is `ambiguous` and matches nothing.
//! 2. **IP**, only when no serial or MAC matched: one asset with one of the
//!    entry's addresses (in the entry's network, when it names one); several
//!    (the same address on two VLANs or in two networks) are told apart by
//!    name, else the entry is ambiguous.
//! 3. **name**, only when nothing above matched: the asset's configured name
//!    or DHCP host name, any case, in full or by its first label.
//!
//! One entry matches at most one asset and one asset at most one entry: when
//! two entries reach one asset, the stronger key wins and the other entry is
//! ambiguous (`asset_taken`); two of equal strength are both ambiguous,
//! unless (by IP) the name tells them apart. Weaker keys that point at
//! another asset are listed with the match (`also_points_to`), not followed.
//! Every asset is a candidate, whatever its role; modules behind a device
//! (cards in its rack) are not assets and are not matched.

use crate::error::ReconcileError;
use crate::values;
use otposture_model::Timestamp;
use otposture_store::{AssetRecord, RegisterEntry};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// A key an entry was matched by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// Serial number.
    Serial,
    /// MAC address.
    Mac,
    /// IP address.
    Ip,
    /// Name or host name.
    Name,
}

impl Key {
    /// The key's name in output.
    pub fn name(self) -> &'static str {
        match self {
            Key::Serial => "serial",
            Key::Mac => "mac",
            Key::Ip => "ip",
            Key::Name => "name",
        }
    }
}

/// How a register value compares with the discovered one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Both sides have it and agree.
    Agree,
    /// Both sides have it and disagree.
    Differs,
    /// Only the register has it.
    RegisterOnlyValue,
    /// Only the traffic showed it.
    DiscoveredOnlyValue,
}

/// One attribute of a matched pair, both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// `vendor`, `model`, `firmware`, `serial`, `role`, `ip`, `mac`.
    pub field: &'static str,
    /// How they compare.
    pub status: Status,
    /// The register's value (lists space-separated).
    pub register: Option<String>,
    /// The discovered value: the asset's headline (lists space-separated).
    pub discovered: Option<String>,
    /// Where the discovered value came from: the protocol or `mac_prefix`,
    /// `dhcp`; for `role`, the rule that decided it.
    pub source: Option<String>,
    /// The discovered value's confidence (`high`, `medium`, `low`).
    pub confidence: Option<String>,
    /// The identity event that last gave it (`otposture events`).
    pub event_id: Option<i64>,
}

/// What the traffic showed of an asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Discovered {
    /// Asset id (`otposture assets show ID`).
    pub asset: String,
    /// Configured name, else DHCP host name.
    pub name: Option<String>,
    /// MAC addresses.
    pub macs: Vec<String>,
    /// IP addresses.
    pub ips: Vec<String>,
    /// Headline vendor.
    pub vendor: Option<String>,
    /// Headline model.
    pub model: Option<String>,
    /// Headline firmware.
    pub firmware: Option<String>,
    /// Headline serial.
    pub serial: Option<String>,
    /// Role decided.
    pub role: String,
    /// Its Purdue level.
    pub level: Option<u8>,
    /// First seen, RFC 3339.
    pub first_seen: String,
    /// First seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen, RFC 3339.
    pub last_seen: String,
    /// Last seen, ns since the epoch.
    pub last_seen_ns: i64,
    /// Register rows that are ambiguous between this asset and another.
    pub ambiguous_rows: Vec<u64>,
}

/// An asset a key of an entry points at.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Candidate {
    /// The asset.
    pub asset: String,
    /// The key.
    pub by: Key,
}

/// A register entry and the asset it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Match {
    /// Register row.
    pub row: u64,
    /// Asset id.
    pub asset: String,
    /// The key that decided the match.
    pub matched_by: Key,
    /// Other keys of the entry that point at the same asset.
    pub confirmed_by: Vec<Key>,
    /// True when at least one attribute differs.
    pub conflicting: bool,
    /// Fields that differ.
    pub differs: Vec<&'static str>,
    /// Every attribute compared.
    pub attributes: Vec<Comparison>,
    /// Weaker keys of the entry that point at other assets (not followed).
    pub also_points_to: Vec<Candidate>,
    /// The register's side.
    pub register: RegisterEntry,
    /// The traffic's side.
    pub discovered: Discovered,
}

/// Why an entry matches nothing though its keys found assets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ambiguity {
    /// Serial and MAC point at different assets.
    KeysDisagree,
    /// The deciding key points at several assets.
    SeveralAssets,
    /// Its asset is matched by another entry, by a stronger key.
    AssetTaken,
    /// Several entries reach one asset by equally strong keys.
    SeveralEntries,
}

/// An entry that could not be matched to one asset without guessing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ambiguous {
    /// Register row.
    pub row: u64,
    /// Why.
    pub reason: Ambiguity,
    /// The assets its keys point at.
    pub candidates: Vec<Candidate>,
    /// Other register rows involved (the entry holding the asset, or competing for it).
    pub rows: Vec<u64>,
    /// The register's side.
    pub register: RegisterEntry,
}

/// How many of each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Entries in the register.
    pub register_entries: u64,
    /// Assets in the inventory.
    pub assets: u64,
    /// Entries matched to an asset.
    pub matched: u64,
    /// Of which with at least one attribute that differs.
    pub conflicting: u64,
    /// Assets no entry matches: unmanaged devices.
    pub discovered_only: u64,
    /// Entries that match no asset: not seen (stale, or quiet during the capture).
    pub register_only: u64,
    /// Entries whose keys point at assets without one clear match.
    pub ambiguous: u64,
}

/// The register and the inventory side by side.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Counts.
    pub summary: Summary,
    /// Entries and their assets, by row.
    pub matched: Vec<Match>,
    /// Assets no entry matches, by id.
    pub discovered_only: Vec<Discovered>,
    /// Entries no asset matches, by row.
    pub register_only: Vec<RegisterEntry>,
    /// Entries that could not be matched without guessing, by row.
    pub ambiguous: Vec<Ambiguous>,
}

// The parts of an asset document (`otposture.asset/1`) reconciliation reads.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Doc {
    id: String,
    macs: Vec<String>,
    ips: Vec<String>,
    /// Named networks it was seen in (`""` the unnamed one); absent: the unnamed one only.
    networks: Vec<String>,
    attributes: Vec<DocAttribute>,
    role: DocDecision,
    first_seen_ns: i64,
    last_seen_ns: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocAttribute {
    field: String,
    value: String,
    values: Vec<DocValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocValue {
    value: String,
    confidence: String,
    last: DocProvenance,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocProvenance {
    source: String,
    event_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocDecision {
    role: String,
    level: Option<u8>,
    rule: String,
}

impl Doc {
    fn attribute(&self, field: &str) -> Option<&DocAttribute> {
        self.attributes.iter().find(|a| a.field == field)
    }

    fn headline(&self, field: &str) -> Option<&str> {
        self.attribute(field).map(|a| a.value.as_str()).filter(|v| !v.trim().is_empty())
    }

    /// Every value stated for a field.
    fn values<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes.iter().filter(move |a| a.field == field).flat_map(|a| a.values.iter().map(|v| v.value.as_str()))
    }

    fn name(&self) -> Option<&str> {
        self.headline("name").or_else(|| self.headline("host_name"))
    }

    fn discovered(&self) -> Discovered {
        let own = |s: Option<&str>| s.map(str::to_string);
        Discovered {
            asset: self.id.clone(),
            name: own(self.name()),
            macs: self.macs.clone(),
            ips: self.ips.clone(),
            vendor: own(self.headline("vendor")),
            model: own(self.headline("model")),
            firmware: own(self.headline("firmware")),
            serial: own(self.headline("serial")),
            role: self.role.role.clone(),
            level: self.role.level,
            first_seen: Timestamp(self.first_seen_ns).to_rfc3339(),
            first_seen_ns: self.first_seen_ns,
            last_seen: Timestamp(self.last_seen_ns).to_rfc3339(),
            last_seen_ns: self.last_seen_ns,
            ambiguous_rows: Vec::new(),
        }
    }
}

/// An IP as text in canonical form; text that is not an address as given.
fn ip_key(s: &str) -> String {
    s.trim().parse::<IpAddr>().map_or_else(|_| s.trim().to_lowercase(), |ip| ip.to_string())
}

/// Assets by each key.
#[derive(Default)]
struct Index {
    serial: HashMap<String, BTreeSet<usize>>,
    mac: HashMap<String, BTreeSet<usize>>,
    ip: HashMap<String, BTreeSet<usize>>,
    /// By (named network, IP), for entries that name their network.
    ip_in: HashMap<(String, String), BTreeSet<usize>>,
    name: HashMap<String, BTreeSet<usize>>,
}

impl Index {
    fn new(docs: &[Doc]) -> Self {
        let mut ix = Index::default();
        for (i, d) in docs.iter().enumerate() {
            for s in d.values("serial").filter(|s| !values::is_placeholder_serial(s)) {
                ix.serial.entry(values::serial_key(s)).or_default().insert(i);
            }
            for m in &d.macs {
                ix.mac.entry(m.to_lowercase()).or_default().insert(i);
            }
            for ip in &d.ips {
                ix.ip.entry(ip_key(ip)).or_default().insert(i);
                for n in d.networks.iter().filter(|n| !n.is_empty()) {
                    ix.ip_in.entry((n.clone(), ip_key(ip))).or_default().insert(i);
                }
            }
            for n in d.values("name").chain(d.values("host_name")) {
                for k in values::name_keys(n) {
                    ix.name.entry(k).or_default().insert(i);
                }
            }
        }
        ix
    }

    fn find<'a>(
        map: &HashMap<String, BTreeSet<usize>>,
        keys: impl IntoIterator<Item = String> + 'a,
    ) -> BTreeSet<usize> {
        keys.into_iter().filter_map(|k| map.get(&k)).flatten().copied().collect()
    }

    /// The assets each key of an entry points at.
    fn lookup(&self, e: &RegisterEntry) -> Hits {
        Hits {
            serial: Index::find(&self.serial, e.serial.as_deref().map(values::serial_key)),
            mac: Index::find(&self.mac, e.macs.iter().map(|m| m.to_lowercase())),
            ip: match &e.network {
                Some(n) => {
                    e.ips.iter().filter_map(|ip| self.ip_in.get(&(n.clone(), ip_key(ip)))).flatten().copied().collect()
                }
                None => Index::find(&self.ip, e.ips.iter().map(|ip| ip_key(ip))),
            },
            name: Index::find(&self.name, e.name.as_deref().map(values::name_keys).unwrap_or_default()),
        }
    }
}

/// The assets each key of one entry points at.
#[derive(Debug, Default)]
struct Hits {
    serial: BTreeSet<usize>,
    mac: BTreeSet<usize>,
    ip: BTreeSet<usize>,
    name: BTreeSet<usize>,
}

impl Hits {
    fn by(&self, key: Key) -> &BTreeSet<usize> {
        match key {
            Key::Serial => &self.serial,
            Key::Mac => &self.mac,
            Key::Ip => &self.ip,
            Key::Name => &self.name,
        }
    }

    fn candidates(&self, keys: &[Key], docs: &[Doc]) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = keys
            .iter()
            .flat_map(|&k| {
                self.by(k).iter().filter_map(move |&i| docs.get(i).map(|d| Candidate { asset: d.id.clone(), by: k }))
            })
            .collect();
        out.sort();
        out
    }
}

/// What one entry's keys decide before entries compete for assets.
enum Proposal {
    /// This asset, by this key.
    Asset(usize, Key),
    /// No clear asset.
    Ambiguous(Ambiguity, Vec<Key>),
    /// Nothing found.
    Nothing,
}

fn propose(h: &Hits) -> Proposal {
    let strong: BTreeSet<usize> = h.serial.union(&h.mac).copied().collect();
    let mut strong_iter = strong.iter();
    match (strong_iter.next(), strong_iter.next()) {
        (Some(_), Some(_)) => {
            let reason = if !h.serial.is_empty() && !h.mac.is_empty() && h.serial != h.mac {
                Ambiguity::KeysDisagree
            } else {
                Ambiguity::SeveralAssets
            };
            return Proposal::Ambiguous(reason, vec![Key::Serial, Key::Mac]);
        }
        (Some(&a), None) => return Proposal::Asset(a, if h.serial.is_empty() { Key::Mac } else { Key::Serial }),
        (None, _) => {}
    }
    if !h.ip.is_empty() {
        if h.ip.len() == 1 {
            return h.ip.first().map_or(Proposal::Nothing, |&a| Proposal::Asset(a, Key::Ip));
        }
        let named: Vec<usize> = h.ip.intersection(&h.name).copied().collect();
        return match named.as_slice() {
            [a] => Proposal::Asset(*a, Key::Ip),
            _ => Proposal::Ambiguous(Ambiguity::SeveralAssets, vec![Key::Ip, Key::Name]),
        };
    }
    match h.name.len() {
        0 => Proposal::Nothing,
        1 => h.name.first().map_or(Proposal::Nothing, |&a| Proposal::Asset(a, Key::Name)),
        _ => Proposal::Ambiguous(Ambiguity::SeveralAssets, vec![Key::Name]),
    }
}

/// Matches the register with the stored inventory.
pub fn reconcile(entries: &[RegisterEntry], assets: &[AssetRecord]) -> Result<Reconciliation, ReconcileError> {
    let docs: Vec<Doc> = assets
        .iter()
        .map(|a| {
            let mut d: Doc = serde_json::from_str(&a.doc)
                .map_err(|e| ReconcileError::BadAsset { id: a.id.clone(), message: e.to_string() })?;
            if d.id.is_empty() {
                d.id.clone_from(&a.id);
            }
            Ok(d)
        })
        .collect::<Result<_, ReconcileError>>()?;
    let index = Index::new(&docs);
    let hits: Vec<Hits> = entries.iter().map(|e| index.lookup(e)).collect();

    // Proposals, then entries compete for assets, strongest key first.
    let mut ambiguous: BTreeMap<usize, (Ambiguity, Vec<Key>, Vec<u64>)> = BTreeMap::new();
    let mut by_key: BTreeMap<Key, BTreeMap<usize, Vec<usize>>> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        match propose(h) {
            Proposal::Asset(a, k) => by_key.entry(k).or_default().entry(a).or_default().push(i),
            Proposal::Ambiguous(reason, keys) => {
                ambiguous.insert(i, (reason, keys, Vec::new()));
            }
            Proposal::Nothing => {}
        }
    }
    let row = |i: usize| entries.get(i).map_or(0, |e| e.row);
    let mut taken: HashMap<usize, (usize, Key)> = HashMap::new();
    for (key, proposals) in by_key {
        for (asset, mut proposers) in proposals {
            if let Some(&(holder, _)) = taken.get(&asset) {
                for p in proposers {
                    ambiguous.insert(p, (Ambiguity::AssetTaken, vec![key], vec![row(holder)]));
                }
                continue;
            }
            if proposers.len() > 1 && key == Key::Ip {
                // The name tells entries sharing an address apart.
                let named: Vec<usize> = proposers
                    .iter()
                    .copied()
                    .filter(|&p| hits.get(p).is_some_and(|h| h.name.contains(&asset)))
                    .collect();
                if let [winner] = named.as_slice() {
                    let winner = *winner;
                    for p in proposers.iter().copied().filter(|&p| p != winner) {
                        ambiguous.insert(p, (Ambiguity::AssetTaken, vec![key], vec![row(winner)]));
                    }
                    proposers = vec![winner];
                }
            }
            match proposers.as_slice() {
                [one] => {
                    taken.insert(asset, (*one, key));
                }
                several => {
                    for &p in several {
                        let others = several.iter().filter(|&&o| o != p).map(|&o| row(o)).collect();
                        ambiguous.insert(p, (Ambiguity::SeveralEntries, vec![key], others));
                    }
                }
            }
        }
    }

    let mut out = Reconciliation::default();
    let by_id: HashMap<&str, usize> = docs.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();
    let mut ambiguous_rows: HashMap<usize, Vec<u64>> = HashMap::new();
    for (&i, (reason, keys, rows)) in &ambiguous {
        let (Some(e), Some(h)) = (entries.get(i), hits.get(i)) else { continue };
        let candidates = h.candidates(keys, &docs);
        for c in &candidates {
            if let Some(&a) = by_id.get(c.asset.as_str()) {
                let list = ambiguous_rows.entry(a).or_default();
                if !list.contains(&e.row) {
                    list.push(e.row);
                }
            }
        }
        out.ambiguous.push(Ambiguous {
            row: e.row,
            reason: *reason,
            candidates,
            rows: rows.clone(),
            register: e.clone(),
        });
    }
    let mut matched_entries = BTreeSet::new();
    for (&asset, &(i, key)) in &taken {
        let (Some(e), Some(h), Some(d)) = (entries.get(i), hits.get(i), docs.get(asset)) else { continue };
        matched_entries.insert(i);
        let all = [Key::Serial, Key::Mac, Key::Ip, Key::Name];
        let confirmed_by = all.iter().copied().filter(|&k| k != key && h.by(k).contains(&asset)).collect();
        let also_points_to = h.candidates(&all, &docs).into_iter().filter(|c| c.asset != d.id).collect::<Vec<_>>();
        let attributes = compare(e, d);
        let differs: Vec<&'static str> =
            attributes.iter().filter(|c| c.status == Status::Differs).map(|c| c.field).collect();
        out.matched.push(Match {
            row: e.row,
            asset: d.id.clone(),
            matched_by: key,
            confirmed_by,
            conflicting: !differs.is_empty(),
            differs,
            attributes,
            also_points_to,
            register: e.clone(),
            discovered: d.discovered(),
        });
    }
    out.matched.sort_by_key(|m| m.row);
    for (i, e) in entries.iter().enumerate() {
        if !matched_entries.contains(&i) && !ambiguous.contains_key(&i) {
            out.register_only.push(e.clone());
        }
    }
    let matched_assets: BTreeSet<usize> = taken.keys().copied().collect();
    for (a, d) in docs.iter().enumerate() {
        if !matched_assets.contains(&a) {
            let mut disc = d.discovered();
            disc.ambiguous_rows = ambiguous_rows.remove(&a).unwrap_or_default();
            disc.ambiguous_rows.sort_unstable();
            out.discovered_only.push(disc);
        }
    }
    out.discovered_only.sort_by(|a, b| a.asset.cmp(&b.asset));
    out.summary = Summary {
        register_entries: entries.len() as u64,
        assets: docs.len() as u64,
        matched: out.matched.len() as u64,
        conflicting: out.matched.iter().filter(|m| m.conflicting).count() as u64,
        discovered_only: out.discovered_only.len() as u64,
        register_only: out.register_only.len() as u64,
        ambiguous: out.ambiguous.len() as u64,
    };
    Ok(out)
}

/// Compares one attribute: `same` decides agreement of two present values.
fn comparison(
    field: &'static str,
    register: Option<String>,
    discovered: Option<String>,
    same: bool,
    provenance: Option<&DocValue>,
) -> Option<Comparison> {
    let status = match (&register, &discovered) {
        (None, None) => return None,
        (Some(_), None) => Status::RegisterOnlyValue,
        (None, Some(_)) => Status::DiscoveredOnlyValue,
        (Some(_), Some(_)) if same => Status::Agree,
        (Some(_), Some(_)) => Status::Differs,
    };
    let source = provenance.map(|v| v.last.source.clone()).filter(|s| !s.is_empty());
    let confidence = provenance.map(|v| v.confidence.clone()).filter(|s| !s.is_empty());
    let event_id = provenance.and_then(|v| v.last.event_id);
    Some(Comparison { field, status, register, discovered, source, confidence, event_id })
}

/// The headline value of a field, with its provenance.
fn headline<'a>(d: &'a Doc, field: &str) -> (Option<String>, Option<&'a DocValue>) {
    let Some(a) = d.attribute(field).filter(|a| !a.value.trim().is_empty()) else { return (None, None) };
    (Some(a.value.clone()), a.values.iter().find(|v| v.value == a.value))
}

/// Every attribute of a matched pair, compared.
fn compare(e: &RegisterEntry, d: &Doc) -> Vec<Comparison> {
    let mut out = Vec::new();
    // Vendor: normalised on both sides; any vendor the traffic stated agrees
    // (a MAC prefix names the network card's maker, which may be another).
    let reg_vendor = e.vendor.as_deref().map(values::text_key);
    let stated = reg_vendor.as_ref().and_then(|r| {
        d.attributes
            .iter()
            .filter(|a| a.field == "vendor")
            .flat_map(|a| &a.values)
            .find(|v| values::text_key(&v.value) == *r)
    });
    out.extend(match stated {
        Some(v) => comparison("vendor", e.vendor.clone(), Some(v.value.clone()), true, Some(v)),
        None => {
            let (vendor, p) = headline(d, "vendor");
            comparison("vendor", e.vendor.clone(), vendor, false, p)
        }
    });
    // Model: the model or the order number (Siemens registers often hold the MLFB).
    let (model, model_p) = headline(d, "model");
    let (order, order_p) = headline(d, "order_number");
    let reg_model = e.model.as_deref().map(values::text_key);
    let model_same = reg_model.is_some() && model.as_deref().map(values::text_key) == reg_model;
    let order_same = reg_model.is_some() && order.as_deref().map(values::text_key) == reg_model;
    let (shown, shown_p) =
        if order_same && !model_same { (order, order_p) } else { (model.or(order), model_p.or(order_p)) };
    out.extend(comparison("model", e.model.clone(), shown, model_same || order_same, shown_p));
    // Firmware: the headline only; an older value seen means the register is behind.
    let (firmware, firmware_p) = headline(d, "firmware");
    let same = match (&e.firmware, &firmware) {
        (Some(r), Some(f)) => values::firmware_key(r) == values::firmware_key(f),
        _ => false,
    };
    out.extend(comparison("firmware", e.firmware.clone(), firmware, same, firmware_p));
    // Serial: any serial the device stated.
    let (serial, serial_p) = headline(d, "serial");
    let reg_serial = e.serial.as_deref().map(values::serial_key);
    let same = reg_serial.as_ref().is_some_and(|r| d.values("serial").any(|s| values::serial_key(s) == *r));
    out.extend(comparison("serial", e.serial.clone(), serial, same, serial_p));
    // Role: the rules' (or the user's) decision; `unknown` is no value.
    let role = Some(d.role.role.clone()).filter(|r| !r.is_empty() && r != "unknown");
    let same = e.role.is_some() && e.role == role;
    let mut c = comparison("role", e.role.clone(), role, same, None);
    if let Some(c) = &mut c {
        c.source = Some(d.role.rule.clone()).filter(|r| !r.is_empty() && c.discovered.is_some());
    }
    out.extend(c);
    // Addresses: agree when every registered one was seen on the asset.
    let list = |l: &[String]| Some(l.join(" ")).filter(|s| !s.is_empty());
    let seen_ips: BTreeSet<String> = d.ips.iter().map(|ip| ip_key(ip)).collect();
    let same = e.ips.iter().all(|ip| seen_ips.contains(&ip_key(ip)));
    out.extend(comparison("ip", list(&e.ips), list(&d.ips), same, None));
    let seen_macs: BTreeSet<String> = d.macs.iter().map(|m| m.to_lowercase()).collect();
    let same = e.macs.iter().all(|m| seen_macs.contains(&m.to_lowercase()));
    out.extend(comparison("mac", list(&e.macs), list(&d.macs), same, None));
    out
}
