//! Posture checks: what the asset owner must act on, from the inventory, the
//! communication map, the kept observations, the vulnerability matches and
//! the site file.
//!
//! Each check produces [`Finding`]s with evidence (edges and observations with
//! their times), a severity, the assets concerned, ATT&CK for ICS technique ids
//! and remediation text. A finding's id is a hash of its check and its key (what
//! it is about, never when), so the same problem found again by a later
//! analysis is the same finding: the store keeps its lifecycle (open,
//! acknowledged, accepted, resolved).
//!
//! The checks (docs/posture.md lists them with their rules):
//! - `segmentation.*`: traffic between zones that no conduit allows, or that a
//!   conduit carries but with operations it does not allow; IT or internet
//!   addresses talking to levels 0-2; controllers talking to the internet;
//!   level 3 and level 4 talking without a DMZ;
//! - `exposure.remote_access`: remote access into OT assets (RDP, VNC, SSH,
//!   Telnet, web admin pages, remote-support tools), with who used it and when;
//! - `insecure.*`: cleartext logins, SNMP v1/v2c communities, OPC UA without
//!   security or with anonymous sessions, RDP without NLA, DNP3 control without
//!   secure authentication from outside the outstation's zone;
//! - `firmware.vulnerable`: assets with vulnerabilities whose SSVC decision is
//!   act or attend;
//! - `operations.*`: program transfers, firmware updates, run-state changes,
//!   and writes from hosts that are neither HMI nor engineering workstation;
//! - `drift.*`: deviations from the accepted baseline (new and vanished
//!   assets, new conversations, new operation classes on known ones, identity
//!   changes); a new source of writes, program transfers or run-state
//!   commands to a controller is `operations.new_control_source`.

mod checks;
mod place;
#[cfg(test)]
mod tests;

pub use place::{ip_of_id, is_global, zone_for, zone_of_address, Place, Placement, Placing};

use otposture_inventory::Inventory;
use otposture_site::Site;
use otposture_store::EventRow;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How urgent a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no direct path to harm.
    Low,
    /// Weakens a defence.
    Medium,
    /// A path to the process, or an operation that changes it.
    High,
    /// Harm is one step away (internet-reachable controllers, exploited firmware).
    Critical,
}

impl Severity {
    /// Its name in output and filters.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses [`Severity::name`].
    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|v| v.name() == s)
    }
}

/// One piece of evidence: an edge of the map or a kept observation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    /// What was seen, in words.
    pub what: String,
    /// The initiating side (asset id or `ip-<address>`).
    pub client: Option<String>,
    /// The answering side.
    pub server: Option<String>,
    /// Application protocol.
    pub protocol: Option<String>,
    /// How many messages or flows it stands for.
    pub count: u64,
    /// First seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen.
    pub last_seen_ns: i64,
    /// The first kept observation (`otposture events`), when from one.
    pub event_id: Option<i64>,
    /// Its flow.
    pub flow_id: Option<i64>,
    /// Its capture.
    pub capture_id: Option<i64>,
    /// Its packet in that capture.
    pub packet: Option<u64>,
}

/// Evidence items kept per finding; the rest are counted.
pub const MAX_EVIDENCE: usize = 20;

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id: `F` and 16 hex digits of a hash of `check` and `key`.
    pub id: String,
    /// The check that made it (`segmentation.no_conduit`, ...).
    pub check: &'static str,
    /// What it is about, without times: the same key is the same finding.
    pub key: String,
    /// One line.
    pub title: String,
    /// How urgent.
    pub severity: Severity,
    /// Assets concerned (ids), in order.
    pub assets: Vec<String>,
    /// Zones concerned, in order.
    pub zones: Vec<String>,
    /// MITRE ATT&CK for ICS techniques it enables or shows.
    pub attack: Vec<&'static str>,
    /// What to do.
    pub remediation: String,
    /// Why, item by item (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<Evidence>,
    /// Evidence items found in all (`evidence` holds the first ones).
    pub evidence_total: u64,
    /// Earliest evidence, ns since the epoch.
    pub first_seen_ns: i64,
    /// Latest evidence.
    pub last_seen_ns: i64,
}

/// The id of the finding a check makes for a key.
pub fn finding_id(check: &str, key: &str) -> String {
    let mut text = String::with_capacity(check.len() + key.len() + 1);
    text.push_str(check);
    text.push('\0');
    text.push_str(key);
    format!("F{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

/// A vulnerability matched to an asset, with its SSVC decision.
#[derive(Clone, Debug, PartialEq)]
pub struct VulnFact {
    /// The asset id.
    pub asset: String,
    /// The advisory's tracking id.
    pub advisory: String,
    /// The CVE, when the advisory names one.
    pub cve: Option<String>,
    /// The vulnerability's title.
    pub title: String,
    /// `act`, `attend`, `track*` or `track`.
    pub decision: String,
    /// How SSVC reached it.
    pub path: String,
    /// CISA KEV lists it.
    pub kev: bool,
}

/// What the checks read.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The site file, when one is applied (without it, zone checks do not run
    /// and levels come from roles).
    pub site: Option<&'a Site>,
    /// The inventory and its map.
    pub inventory: &'a Inventory,
    /// Kept observations: operations, anomalies and identities.
    pub events: &'a [EventRow],
    /// Vulnerability matches.
    pub vulns: &'a [VulnFact],
    /// Deviations from the accepted baseline (empty without one).
    pub deviations: &'a [otposture_drift::Deviation],
    /// Clients whose connection attempts that carried nothing reached many
    /// hosts or ports within an hour ([`SCAN_TARGETS`] or more).
    pub attempts: &'a [otposture_store::EmptyAttempts],
}

/// Distinct (server, port) pairs a client must call within an hour, with no
/// data on any of the connections, before it counts as scanning. Across the 180
/// shared captures no client called more than one such pair; an HMI polling a
/// dead controller calls the same pair again and again.
pub const SCAN_TARGETS: u64 = 20;

/// Runs every check. Findings come ordered by severity (gravest first), then id.
pub fn assess(facts: &Facts<'_>) -> Vec<Finding> {
    let placing = Placing::new(facts.site, facts.inventory);
    let mut out = Collector::default();
    checks::run(facts, &placing, &mut out);
    out.finish()
}

/// Findings being gathered, by (check, key).
#[derive(Debug, Default)]
pub(crate) struct Collector {
    findings: BTreeMap<(&'static str, String), Gathering>,
}

/// A finding being gathered, with its assets and zones as sets.
type Gathering = (Finding, BTreeSet<String>, BTreeSet<String>);

/// What a check says about one finding, before evidence.
#[derive(Debug)]
pub(crate) struct Draft {
    pub(crate) check: &'static str,
    pub(crate) key: String,
    pub(crate) title: String,
    pub(crate) severity: Severity,
    pub(crate) attack: &'static [&'static str],
    pub(crate) remediation: String,
}

impl Collector {
    /// Adds evidence to the finding `draft` describes (made on first use; a
    /// graver severity seen later raises it).
    pub(crate) fn add(&mut self, draft: Draft, assets: &[&str], zones: &[&str], evidence: Evidence) {
        let (finding, all_assets, all_zones) =
            self.findings.entry((draft.check, draft.key.clone())).or_insert_with(|| {
                let finding = Finding {
                    id: finding_id(draft.check, &draft.key),
                    check: draft.check,
                    key: draft.key,
                    title: draft.title,
                    severity: draft.severity,
                    assets: Vec::new(),
                    zones: Vec::new(),
                    attack: draft.attack.to_vec(),
                    remediation: draft.remediation,
                    evidence: Vec::new(),
                    evidence_total: 0,
                    first_seen_ns: evidence.first_seen_ns,
                    last_seen_ns: evidence.last_seen_ns,
                };
                (finding, BTreeSet::new(), BTreeSet::new())
            });
        finding.severity = finding.severity.max(draft.severity);
        // Sets, not lists: one finding can gather a zone pair's every edge.
        for a in assets.iter().filter(|a| !a.is_empty()) {
            if !all_assets.contains(*a) {
                all_assets.insert((*a).to_string());
            }
        }
        for z in zones.iter().filter(|z| !z.is_empty()) {
            if !all_zones.contains(*z) {
                all_zones.insert((*z).to_string());
            }
        }
        finding.first_seen_ns = finding.first_seen_ns.min(evidence.first_seen_ns);
        finding.last_seen_ns = finding.last_seen_ns.max(evidence.last_seen_ns);
        finding.evidence_total += 1;
        if finding.evidence.len() < MAX_EVIDENCE {
            finding.evidence.push(evidence);
        }
    }

    fn finish(self) -> Vec<Finding> {
        let mut all: Vec<Finding> = self
            .findings
            .into_values()
            .map(|(mut f, assets, zones)| {
                f.assets = assets.into_iter().collect();
                f.zones = zones.into_iter().collect();
                f
            })
            .collect();
        all.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
        all
    }
}
