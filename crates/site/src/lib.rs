//! The site file: what the asset owner declares about one plant, so the posture
//! checks can tell allowed traffic from traffic that crosses a boundary.
//!
//! - **zones**: address blocks, VLANs or listed assets, with a Purdue level, a
//!   target security level (IEC 62443 SL-T), whether the zone is a DMZ, and an owner;
//! - **conduits**: the zone pairs allowed to talk, with the protocols, direction
//!   and operation classes allowed ("HMI zone -> Cell A: Modbus read and write,
//!   no program");
//! - **consequences**: the processes zones and assets serve, how essential they
//!   are to the mission and what failing them does to people (the SSVC
//!   deployer's "mission and well-being" input), and the downtime they tolerate;
//! - **owners**: who answers for a zone or process;
//! - **findings**: how long a finding may go unobserved before it is resolved;
//! - **alerts**: where findings are sent (syslog and webhook targets, checked
//!   by the alerts crate; docs/alerts.md).
//!
//! Every problem names the file, line and column and what is wrong; all problems
//! are reported at once and nothing is taken from a file that has any.
//! The format is documented in docs/site.md, with `examples/site.toml`.

mod raw;
#[cfg(test)]
mod tests;

use ipnet::IpNet;
use otposture_model::OperationClass;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A validated site file.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    /// The site's name (`[site] name`).
    pub name: String,
    /// Zones, in file order.
    pub zones: Vec<Zone>,
    /// Conduits, in file order.
    pub conduits: Vec<Conduit>,
    /// Consequences, in file order.
    pub consequences: Vec<Consequence>,
    /// Owners by name.
    pub owners: BTreeMap<String, Owner>,
    /// How findings age out.
    pub findings: FindingsPolicy,
    /// Where findings are sent (`[alerts]`; docs/alerts.md).
    pub alerts: Option<otposture_alerts::AlertsConfig>,
}

/// One zone.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// Unique name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Purdue level 0-5.
    pub level: u8,
    /// A demilitarised zone between levels 3 and 4 (level 3.5).
    pub dmz: bool,
    /// The internet or an outside network the site does not run.
    pub external: bool,
    /// Target security level (IEC 62443-3-2 SL-T), 1-4.
    pub sl_t: Option<u8>,
    /// Address blocks.
    pub cidrs: Vec<IpNet>,
    /// VLAN ids.
    pub vlans: Vec<u16>,
    /// Asset ids placed here by name (they win over addresses).
    pub assets: Vec<String>,
    /// The network its blocks and VLANs are in (`analyze --network`); `None`:
    /// any network. Two plants that reuse one address space each have a zone
    /// of their own for it.
    pub network: Option<String>,
    /// Who answers for it.
    pub owner: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

/// Traffic one conduit allows: from a client zone to a server zone.
#[derive(Clone, Debug, PartialEq)]
pub struct Conduit {
    /// Unique name.
    pub name: String,
    /// The zone of the side that opens the conversation (client, master).
    pub from: String,
    /// The zone of the side that answers (server, outstation).
    pub to: String,
    /// Application protocols allowed (`modbus`, `s7comm`, ...); empty: any.
    pub protocols: Vec<String>,
    /// Operation classes allowed; `None`: any.
    pub operations: Option<Vec<OperationClass>>,
    /// Allows the same traffic opened from `to` to `from` too.
    pub bidirectional: bool,
}

impl Zone {
    /// Whether its blocks and VLANs apply to something seen in `networks`:
    /// always without a `network`, else when it is among them.
    pub fn covers<N: AsRef<str>>(&self, networks: &[N]) -> bool {
        self.network.as_ref().is_none_or(|n| networks.iter().any(|x| x.as_ref() == n))
    }
}

impl Conduit {
    /// Whether this conduit carries `protocol` opened from zone `from` to zone `to`.
    pub fn carries(&self, from: &str, to: &str, protocol: &str) -> bool {
        let direction =
            (self.from == from && self.to == to) || (self.bidirectional && self.from == to && self.to == from);
        direction && (self.protocols.is_empty() || self.protocols.iter().any(|p| p == protocol))
    }

    /// Whether it allows operations of `class` (`None` allows every class).
    pub fn allows(&self, class: OperationClass) -> bool {
        self.operations.as_ref().is_none_or(|ops| ops.contains(&class))
    }
}

/// SSVC mission prevalence: how much the mission depends on what an asset does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mission {
    /// Neither supporting nor essential.
    Minimal,
    /// Supports the mission (a degraded mission is possible without it).
    Support,
    /// The mission fails without it.
    Essential,
}

impl Mission {
    /// Its name in the file and in SSVC.
    pub fn name(self) -> &'static str {
        match self {
            Mission::Minimal => "minimal",
            Mission::Support => "support",
            Mission::Essential => "essential",
        }
    }
}

/// SSVC public well-being impact: what failing it does to people and the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wellbeing {
    /// No physical or psychological harm.
    Minimal,
    /// Harm that can be undone (injury, pollution that is cleaned up).
    Material,
    /// Loss of life or lasting harm (a safety function).
    Irreversible,
}

impl Wellbeing {
    /// Its name in the file and in SSVC.
    pub fn name(self) -> &'static str {
        match self {
            Wellbeing::Minimal => "minimal",
            Wellbeing::Material => "material",
            Wellbeing::Irreversible => "irreversible",
        }
    }
}

/// A process and what its failure costs.
#[derive(Clone, Debug, PartialEq)]
pub struct Consequence {
    /// The process (`chlorination`, `boiler 2`).
    pub process: String,
    /// Zones that run it.
    pub zones: Vec<String>,
    /// Assets that run it (by id).
    pub assets: Vec<String>,
    /// How essential it is to the mission.
    pub mission: Mission,
    /// What its failure does to people.
    pub wellbeing: Wellbeing,
    /// Whether it carries a safety function.
    pub safety: bool,
    /// How long it may be down, as written (`4h`, `15m`, `0`).
    pub downtime_tolerance: Option<String>,
    /// Seconds of `downtime_tolerance`.
    pub downtime_secs: Option<u64>,
    /// Who answers for it.
    pub owner: Option<String>,
}

/// Someone who answers for zones or processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Name referenced by zones and consequences.
    pub name: String,
    /// How to reach them.
    pub contact: Option<String>,
}

/// How findings age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FindingsPolicy {
    /// A finding whose evidence is older than this, measured back from the
    /// newest traffic stored, is resolved as no longer observed. `None`: only
    /// findings no check produces any more are resolved.
    pub resolve_after_secs: Option<u64>,
}

/// One problem in a site file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when the problem has a place.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// A site file that could not be taken: every problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SiteError {
    /// The file.
    pub path: PathBuf,
    /// Its problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for SiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{}: {n} problem{} in the site file", self.path.display(), if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {}", self.path.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
                if let Some(column) = p.column {
                    write!(f, ":{column}")?;
                }
            }
            write!(f, ": {}", p.message)?;
        }
        Ok(())
    }
}

impl Site {
    /// Reads and validates a site file.
    pub fn load(path: &Path) -> Result<Site, SiteError> {
        let text = std::fs::read_to_string(path).map_err(|e| SiteError {
            path: path.to_path_buf(),
            problems: vec![Problem { line: None, column: None, message: format!("cannot read it: {e}") }],
        })?;
        Site::parse(&text).map_err(|problems| SiteError { path: path.to_path_buf(), problems })
    }

    /// Validates the text of a site file.
    pub fn parse(text: &str) -> Result<Site, Vec<Problem>> {
        raw::parse(text)
    }

    /// The zone named `name`.
    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.name == name)
    }

    /// The most specific zone whose address blocks hold `ip` (an address of
    /// the unnamed network), with the block: [`Site::zone_of_ip_in`] without networks.
    pub fn zone_of_ip(&self, ip: IpAddr) -> Option<(&Zone, IpNet)> {
        self.zone_of_ip_in::<&str>(ip, &[])
    }

    /// The most specific zone whose address blocks hold `ip` seen in one of
    /// `networks` (by name; the unnamed network needs none), with the block.
    /// Of two equally specific blocks, the zone of a named network wins over
    /// one of any network.
    pub fn zone_of_ip_in<N: AsRef<str>>(&self, ip: IpAddr, networks: &[N]) -> Option<(&Zone, IpNet)> {
        let mut best: Option<(&Zone, IpNet)> = None;
        for zone in self.zones.iter().filter(|z| z.covers(networks)) {
            for net in &zone.cidrs {
                let better = |(z, b): (&Zone, IpNet)| {
                    (net.prefix_len(), zone.network.is_some()) > (b.prefix_len(), z.network.is_some())
                };
                if net.contains(&ip) && best.is_none_or(better) {
                    best = Some((zone, *net));
                }
            }
        }
        best
    }

    /// The zone that lists `vlan` (in the unnamed network).
    pub fn zone_of_vlan(&self, vlan: u16) -> Option<&Zone> {
        self.zone_of_vlan_in::<&str>(vlan, &[])
    }

    /// The zone that lists `vlan` seen in one of `networks`; a zone of a named
    /// network before one of any network.
    pub fn zone_of_vlan_in<N: AsRef<str>>(&self, vlan: u16, networks: &[N]) -> Option<&Zone> {
        let mut holding = self.zones.iter().filter(|z| z.vlans.contains(&vlan) && z.covers(networks));
        let first = holding.next()?;
        Some(if first.network.is_some() { first } else { holding.find(|z| z.network.is_some()).unwrap_or(first) })
    }

    /// The zone that lists the asset id.
    pub fn zone_listing(&self, asset: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.assets.iter().any(|a| a == asset))
    }

    /// The conduits that carry `protocol` from zone `from` to zone `to`.
    pub fn conduits_for<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
        protocol: &'a str,
    ) -> impl Iterator<Item = &'a Conduit> + 'a {
        self.conduits.iter().filter(move |c| c.carries(from, to, protocol))
    }

    /// The consequences that name the asset or its zone, the gravest first.
    pub fn consequences_of<'a>(&'a self, asset: &str, zone: Option<&str>) -> Vec<&'a Consequence> {
        let mut found: Vec<&Consequence> = self
            .consequences
            .iter()
            .filter(|c| c.assets.iter().any(|a| a == asset) || zone.is_some_and(|z| c.zones.iter().any(|cz| cz == z)))
            .collect();
        found.sort_by_key(|c| std::cmp::Reverse((c.wellbeing, c.mission)));
        found
    }
}

/// Reads a duration written as a number and a unit (`90s`, `15m`, `4h`, `7d`,
/// `2w`; `0` alone): seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let t = text.trim();
    if t == "0" {
        return Some(0);
    }
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(scale)
}
