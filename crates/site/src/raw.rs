//! The file as written (with the place of every value that can be wrong), and
//! its validation into a [`Site`].

use crate::{parse_duration, Conduit, Consequence, FindingsPolicy, Mission, Owner, Problem, Site, Wellbeing, Zone};
use ipnet::IpNet;
use otposture_model::OperationClass;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::Spanned;

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    site: Option<SiteTable>,
    #[serde(default)]
    zone: Vec<RawZone>,
    #[serde(default)]
    conduit: Vec<RawConduit>,
    #[serde(default)]
    consequence: Vec<RawConsequence>,
    #[serde(default)]
    owner: Vec<RawOwner>,
    findings: Option<RawFindings>,
    alerts: Option<S<otposture_alerts::AlertsConfig>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteTable {
    name: S<String>,
    #[allow(dead_code)] // Free text, read so the key is allowed.
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: S<String>,
    level: S<i64>,
    #[serde(default)]
    dmz: bool,
    #[serde(default)]
    external: bool,
    sl_t: Option<S<i64>>,
    #[serde(default)]
    cidrs: Vec<S<String>>,
    #[serde(default)]
    vlans: Vec<S<i64>>,
    #[serde(default)]
    assets: Vec<S<String>>,
    network: Option<S<String>>,
    owner: Option<S<String>>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConduit {
    name: S<String>,
    from: S<String>,
    to: S<String>,
    #[serde(default)]
    protocols: Vec<S<String>>,
    operations: Option<Vec<S<String>>>,
    #[serde(default)]
    bidirectional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsequence {
    process: S<String>,
    #[serde(default)]
    zones: Vec<S<String>>,
    #[serde(default)]
    assets: Vec<S<String>>,
    mission: S<String>,
    wellbeing: Option<S<String>>,
    #[serde(default)]
    safety: bool,
    downtime_tolerance: Option<S<String>>,
    owner: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOwner {
    name: S<String>,
    contact: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFindings {
    resolve_after: Option<S<String>>,
}

/// Collects problems with their places.
struct Problems<'t> {
    text: &'t str,
    found: Vec<(usize, Problem)>,
}

impl Problems<'_> {
    fn at(&mut self, span: Range<usize>, message: String) {
        let (line, column) = line_column(self.text, span.start);
        self.found.push((span.start, Problem { line: Some(line), column: Some(column), message }));
    }

    fn nowhere(&mut self, message: String) {
        self.found.push((0, Problem { line: None, column: None, message }));
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(crate) fn parse(text: &str) -> Result<Site, Vec<Problem>> {
    let mut problems = Problems { text, found: Vec::new() };
    let file: File = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let message = e.message().trim().to_string();
            match e.span() {
                Some(span) => problems.at(span, message),
                None => problems.nowhere(message),
            }
            return Err(problems.found.into_iter().map(|(_, p)| p).collect());
        }
    };
    let site = validate(file, &mut problems);
    if problems.found.is_empty() {
        Ok(site)
    } else {
        problems.found.sort_by_key(|(offset, _)| *offset);
        Err(problems.found.into_iter().map(|(_, p)| p).collect())
    }
}

fn validate(file: File, p: &mut Problems<'_>) -> Site {
    let name = match &file.site {
        Some(s) if s.name.get_ref().trim().is_empty() => {
            p.at(s.name.span(), "the site's name is empty".to_string());
            String::new()
        }
        Some(s) => s.name.get_ref().trim().to_string(),
        None => {
            p.nowhere("no [site] table: it names the site (`[site]` then `name = \"...\"`)".to_string());
            String::new()
        }
    };

    let mut owners = BTreeMap::new();
    for o in &file.owner {
        let n = o.name.get_ref();
        if !valid_name(n) {
            p.at(o.name.span(), format!("owner name {n:?}: use letters, digits, '-', '_' or '.' (at most 64)"));
        } else if owners.contains_key(n) {
            p.at(o.name.span(), format!("owner {n:?} is defined twice"));
        } else {
            owners.insert(n.clone(), Owner { name: n.clone(), contact: o.contact.clone() });
        }
    }
    let check_owner = |p: &mut Problems<'_>, owner: &Option<S<String>>| -> Option<String> {
        let o = owner.as_ref()?;
        if !owners.contains_key(o.get_ref()) {
            p.at(o.span(), format!("owner {:?} is not defined (add an [[owner]] with that name)", o.get_ref()));
        }
        Some(o.get_ref().clone())
    };

    let mut zones = Vec::new();
    let mut zone_names = BTreeSet::new();
    // A block or VLAN belongs to one zone per network: two plants that reuse
    // 10.0.0.0/24 have a zone each.
    let mut blocks: BTreeMap<(Option<String>, IpNet), String> = BTreeMap::new();
    let mut vlans_seen: BTreeMap<(Option<String>, u16), String> = BTreeMap::new();
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for z in &file.zone {
        let zname = z.name.get_ref().clone();
        if !valid_name(&zname) {
            p.at(z.name.span(), format!("zone name {zname:?}: use letters, digits, '-', '_' or '.' (at most 64)"));
        } else if !zone_names.insert(zname.clone()) {
            p.at(z.name.span(), format!("zone {zname:?} is defined twice"));
        }
        let level = match u8::try_from(*z.level.get_ref()) {
            Ok(l) if l <= 5 => l,
            _ => {
                p.at(
                    z.level.span(),
                    format!(
                        "zone {zname:?}: level {} is not a Purdue level 0-5 (a DMZ is `level = 3` with `dmz = true`)",
                        z.level.get_ref()
                    ),
                );
                0
            }
        };
        if z.dmz && level != 3 {
            p.at(
                z.level.span(),
                format!("zone {zname:?}: a DMZ sits between levels 3 and 4: give it level 3 (it is level {level})"),
            );
        }
        let sl_t = z.sl_t.as_ref().and_then(|s| match u8::try_from(*s.get_ref()) {
            Ok(v @ 1..=4) => Some(v),
            _ => {
                p.at(s.span(), format!("zone {zname:?}: sl_t {} is not a security level 1-4", s.get_ref()));
                None
            }
        });
        let network = z.network.as_ref().map(|n| {
            if let Err(why) = otposture_model::check_network_name(n.get_ref()) {
                p.at(n.span(), format!("zone {zname:?}: {why}"));
            }
            n.get_ref().clone()
        });
        let in_network = |what: &str| match &network {
            Some(n) => format!("{what} of network {n:?}"),
            None => what.to_string(),
        };
        let mut cidrs = Vec::new();
        for c in &z.cidrs {
            let text = c.get_ref().trim();
            let net = text.parse::<IpNet>().or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
            match net {
                Ok(net) if net != net.trunc() => {
                    p.at(c.span(), format!("zone {zname:?}: {text} has host bits set (the block is {})", net.trunc()))
                }
                Ok(net) => {
                    if let Some(other) = blocks.insert((network.clone(), net), zname.clone()) {
                        let net = in_network(&net.to_string());
                        p.at(c.span(), format!("zone {zname:?}: {net} is already in zone {other:?} (a block belongs to one zone; nest a smaller block to carve out a part)"));
                    }
                    cidrs.push(net);
                }
                Err(_) => p.at(
                    c.span(),
                    format!("zone {zname:?}: {text:?} is not an address block like 10.1.0.0/16 or an address"),
                ),
            }
        }
        let mut vlans = Vec::new();
        for v in &z.vlans {
            match u16::try_from(*v.get_ref()) {
                Ok(id @ 1..=4094) => {
                    if let Some(other) = vlans_seen.insert((network.clone(), id), zname.clone()) {
                        let vlan = in_network(&format!("VLAN {id}"));
                        p.at(v.span(), format!("zone {zname:?}: {vlan} is already in zone {other:?}"));
                    }
                    vlans.push(id);
                }
                _ => p.at(v.span(), format!("zone {zname:?}: VLAN {} is not an id 1-4094", v.get_ref())),
            }
        }
        let mut assets = Vec::new();
        for a in &z.assets {
            let id = a.get_ref().trim().to_string();
            if !(id.starts_with("mac-") || id.starts_with("ip-")) {
                p.at(a.span(), format!("zone {zname:?}: {id:?} is not an asset id (`mac-<mac>` or `ip-<address>`, as `otposture assets` shows)"));
            } else if let Some(other) = listed.insert(id.clone(), zname.clone()) {
                p.at(a.span(), format!("zone {zname:?}: asset {id} is already listed in zone {other:?}"));
            }
            assets.push(id);
        }
        if cidrs.is_empty() && vlans.is_empty() && assets.is_empty() && !z.external {
            p.at(z.name.span(), format!("zone {zname:?} holds nothing: give it cidrs, vlans or assets"));
        }
        let owner = check_owner(p, &z.owner);
        zones.push(Zone {
            name: zname,
            level,
            dmz: z.dmz,
            external: z.external,
            sl_t,
            cidrs,
            vlans,
            assets,
            network,
            owner,
            description: z.description.clone(),
        });
    }

    let mut conduits = Vec::new();
    let mut conduit_names = BTreeSet::new();
    for c in &file.conduit {
        let cname = c.name.get_ref().clone();
        if !valid_name(&cname) {
            p.at(c.name.span(), format!("conduit name {cname:?}: use letters, digits, '-', '_' or '.' (at most 64)"));
        } else if !conduit_names.insert(cname.clone()) {
            p.at(c.name.span(), format!("conduit {cname:?} is defined twice"));
        }
        for end in [&c.from, &c.to] {
            if !zone_names.contains(end.get_ref()) {
                p.at(end.span(), format!("conduit {cname:?}: zone {:?} is not defined", end.get_ref()));
            }
        }
        let protocols: Vec<String> = c
            .protocols
            .iter()
            .filter_map(|pr| {
                let name = pr.get_ref().trim().to_ascii_lowercase();
                if valid_name(&name) {
                    Some(name)
                } else {
                    p.at(pr.span(), format!("conduit {cname:?}: {:?} is not a protocol name (as `otposture operations` shows it, e.g. modbus, s7comm, enip)", pr.get_ref()));
                    None
                }
            })
            .collect();
        let operations = c.operations.as_ref().map(|ops| {
            ops.iter()
                .filter_map(|o| match OperationClass::parse(o.get_ref().trim()) {
                    Some(class) => Some(class),
                    None => {
                        p.at(o.span(), format!("conduit {cname:?}: {:?} is not an operation class (read, write, program, firmware, control, configuration, diagnostic, discovery, authentication, session, unknown)", o.get_ref()));
                        None
                    }
                })
                .collect()
        });
        conduits.push(Conduit {
            name: cname,
            from: c.from.get_ref().clone(),
            to: c.to.get_ref().clone(),
            protocols,
            operations,
            bidirectional: c.bidirectional,
        });
    }

    let mut consequences = Vec::new();
    for c in &file.consequence {
        let process = c.process.get_ref().trim().to_string();
        if process.is_empty() {
            p.at(c.process.span(), "a consequence names no process".to_string());
        }
        for z in &c.zones {
            if !zone_names.contains(z.get_ref()) {
                p.at(z.span(), format!("consequence {process:?}: zone {:?} is not defined", z.get_ref()));
            }
        }
        if c.zones.is_empty() && c.assets.is_empty() {
            p.at(c.process.span(), format!("consequence {process:?} names no zones or assets"));
        }
        let mission = match c.mission.get_ref().as_str() {
            "minimal" => Mission::Minimal,
            "support" => Mission::Support,
            "essential" => Mission::Essential,
            other => {
                p.at(
                    c.mission.span(),
                    format!("consequence {process:?}: mission {other:?} is not minimal, support or essential"),
                );
                Mission::Minimal
            }
        };
        // A safety function fails irreversibly unless the file says otherwise.
        let wellbeing = match c.wellbeing.as_ref().map(|w| (w.span(), w.get_ref().as_str())) {
            None if c.safety => Wellbeing::Irreversible,
            None => Wellbeing::Minimal,
            Some((_, "minimal")) => Wellbeing::Minimal,
            Some((_, "material")) => Wellbeing::Material,
            Some((_, "irreversible")) => Wellbeing::Irreversible,
            Some((span, other)) => {
                p.at(
                    span,
                    format!("consequence {process:?}: wellbeing {other:?} is not minimal, material or irreversible"),
                );
                Wellbeing::Minimal
            }
        };
        let downtime_secs = c.downtime_tolerance.as_ref().and_then(|d| {
            let secs = parse_duration(d.get_ref());
            if secs.is_none() {
                p.at(
                    d.span(),
                    format!(
                        "consequence {process:?}: downtime_tolerance {:?} is not a duration like 0, 15m, 4h or 2d",
                        d.get_ref()
                    ),
                );
            }
            secs
        });
        let owner = check_owner(p, &c.owner);
        consequences.push(Consequence {
            process,
            zones: c.zones.iter().map(|z| z.get_ref().clone()).collect(),
            assets: c.assets.iter().map(|a| a.get_ref().trim().to_string()).collect(),
            mission,
            wellbeing,
            safety: c.safety,
            downtime_tolerance: c.downtime_tolerance.as_ref().map(|d| d.get_ref().clone()),
            downtime_secs,
            owner,
        });
    }

    let resolve_after_secs = file.findings.as_ref().and_then(|f| f.resolve_after.as_ref()).and_then(|r| {
        let secs = parse_duration(r.get_ref());
        if secs.is_none_or(|s| s == 0) {
            p.at(r.span(), format!("findings.resolve_after {:?} is not a duration like 12h, 7d or 2w", r.get_ref()));
        }
        secs
    });

    let alerts = file.alerts.map(|a| {
        let span = a.span();
        let config = a.into_inner();
        for problem in otposture_alerts::validate(&config) {
            p.at(span.clone(), format!("alerts: {problem}"));
        }
        config
    });

    Site { name, zones, conduits, consequences, owners, findings: FindingsPolicy { resolve_after_secs }, alerts }
}
