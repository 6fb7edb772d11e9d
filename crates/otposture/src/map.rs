//! `otposture map`: the communication map between assets, as a table, JSON,
//! CSV, Graphviz DOT, or an SVG laid out by Purdue level and, when a site file
//! is in force (`otposture site apply`), by zone within each level.
// The stored documents are read with `value["key"]`: serde_json returns Null for
// a missing key or a non-object, so this indexing cannot panic.
#![allow(clippy::indexing_slicing)]

use crate::output::{array_end, array_item, print, Format};
use clap::{Args, ValueEnum};
use otposture_model::Timestamp;
use otposture_site::Site;
use otposture_store::{AssetFilter, EdgeFilter};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

/// Version of the `otposture.map` JSON schema.
const MAP_SCHEMA: u32 = 1;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum MapFormat {
    /// Aligned columns, one edge per line.
    Table,
    /// `otposture.map/1`: the assets on the map and the edges.
    Json,
    /// One edge per line, every field.
    Csv,
    /// Graphviz DOT (`dot -Tsvg`), assets ranked by Purdue level, clustered by zone.
    Dot,
    /// A self-contained SVG, assets in rows by Purdue level, grouped by zone; opens in any browser.
    Svg,
}

#[derive(Args, Debug)]
pub(crate) struct MapArgs {
    /// Only edges of this application protocol (modbus, s7comm, enip, dnp3, ...).
    #[arg(long)]
    protocol: Option<String>,
    /// Only edges that carry this trust: writes, programs, updates_firmware, controls, configures, authenticates.
    #[arg(long)]
    trust: Option<String>,
    /// Only edges within this network (`analyze --network NAME`): both ends seen in it.
    #[arg(long, value_name = "NAME", value_parser = crate::analyze::parse_network)]
    network: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MapFormat::Table)]
    format: MapFormat,
}

/// An edge flattened for the table and CSV.
#[derive(Serialize)]
struct Line {
    client: String,
    server: String,
    protocol: String,
    ports: String,
    flows: u64,
    packets: u64,
    bytes: u64,
    operations: String,
    trust: String,
    first_seen: String,
    last_seen: String,
}

/// Stored assets by id, as their documents.
type Assets = BTreeMap<String, Value>;

/// One network's part of the map: the assets seen in it, and the addresses
/// no asset holds that were met in it (`ip-<address>@<network>`).
struct Scope {
    network: String,
    assets: std::collections::BTreeSet<String>,
}

impl Scope {
    /// Reads which stored assets were seen in `network`, one document at a time.
    fn load(store: &otposture_store::Store, network: String) -> anyhow::Result<Scope> {
        let mut assets = std::collections::BTreeSet::new();
        store.each_asset(&AssetFilter::default(), |r| -> anyhow::Result<()> {
            if crate::assets::in_network(&serde_json::from_str(&r.doc)?, &network) {
                assets.insert(r.id.clone());
            }
            Ok(())
        })??;
        Ok(Scope { network, assets })
    }

    /// Whether an edge end (an asset id or an address id) is in the network.
    fn holds(&self, id: &str) -> bool {
        self.assets.contains(id)
            || otposture_inventory::parse_address_id(id).and_then(|(_, n)| n) == Some(self.network.as_str())
    }

    /// Whether both ends of an edge are in the network (with no scope: every edge).
    fn edge(scope: Option<&Scope>, client: &str, server: &str) -> bool {
        scope.is_none_or(|s| s.holds(client) && s.holds(server))
    }
}

pub(crate) fn run(a: MapArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let mut store = crate::query::open(db)?;
    crate::assets::current(&mut store)?;
    let filter = EdgeFilter { protocol: a.protocol, trust: a.trust, ..EdgeFilter::default() };
    let scope = a.network.map(|n| Scope::load(&store, n)).transpose()?;
    if a.format == MapFormat::Json {
        return json(&store, &filter, scope.as_ref());
    }
    let edges: Vec<Value> = store
        .edges(&filter)?
        .iter()
        .filter(|r| Scope::edge(scope.as_ref(), &r.client, &r.server))
        .map(|r| serde_json::from_str(&r.doc))
        .collect::<Result<_, _>>()?;
    let all: Assets = crate::assets::stored_assets(&store, &AssetFilter::default())?
        .into_iter()
        .map(|v| (v["id"].as_str().unwrap_or_default().to_string(), v))
        .collect();
    let edges: Vec<&Value> = edges.iter().collect();
    let site = match a.format {
        MapFormat::Dot | MapFormat::Svg => crate::vulns::site_in_force(&store)?,
        _ => None,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.format {
        MapFormat::Table | MapFormat::Csv => {
            drop(out);
            let lines: Vec<Line> = edges.iter().map(|e| line(e)).collect();
            let format = if a.format == MapFormat::Csv { Format::Csv } else { Format::Table };
            print(
                &lines,
                "edges",
                MAP_SCHEMA,
                format,
                &[
                    ("client", "CLIENT"),
                    ("server", "SERVER"),
                    ("protocol", "PROTO"),
                    ("ports", "PORTS"),
                    ("flows", "FLOWS"),
                    ("operations", "OPERATIONS"),
                    ("trust", "TRUST"),
                ],
            )?;
            return Ok(crate::exit::OK);
        }
        // Streamed before anything is loaded (see `json`).
        MapFormat::Json => {}
        MapFormat::Dot => out.write_all(dot(&all, &edges, site.as_ref()).as_bytes())?,
        MapFormat::Svg => out.write_all(svg(&all, &edges, site.as_ref()).as_bytes())?,
    }
    out.flush()?;
    Ok(crate::exit::OK)
}

/// The map as `otposture.map/1`, streamed: the stored documents are copied
/// out one at a time (the assets on the map, then the edges), so a
/// plant-scale map is never held in memory. Each document is one line.
fn json(store: &otposture_store::Store, filter: &EdgeFilter, scope: Option<&Scope>) -> anyhow::Result<u8> {
    let mut ids = std::collections::BTreeSet::new();
    store
        .each_edge(filter, |e| {
            if Scope::edge(scope, &e.client, &e.server) {
                ids.insert(e.client);
                ids.insert(e.server);
            }
            Ok::<_, std::convert::Infallible>(())
        })?
        .unwrap_or_else(|never| match never {});
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write!(out, "{{\n  \"schema\": \"otposture.map/{MAP_SCHEMA}\",\n  \"assets\": [")?;
    let mut n = 0;
    store.each_asset(&AssetFilter::default(), |r| {
        if ids.contains(&r.id) {
            array_item(&mut out, &mut n, &r.doc)
        } else {
            Ok(())
        }
    })??;
    array_end(&mut out, n)?;
    write!(out, ",\n  \"edges\": [")?;
    let mut n = 0;
    store.each_edge(filter, |e| {
        if Scope::edge(scope, &e.client, &e.server) {
            array_item(&mut out, &mut n, &e.doc)
        } else {
            Ok(())
        }
    })??;
    array_end(&mut out, n)?;
    writeln!(out, "\n}}")?;
    out.flush()?;
    Ok(crate::exit::OK)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn line(e: &Value) -> Line {
    let list = |v: &Value| -> Vec<String> {
        v.as_array().map_or_else(Vec::new, |a| {
            a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect()
        })
    };
    let operations = e["operations"]
        .as_object()
        .map_or_else(String::new, |o| o.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
    Line {
        client: text(&e["client"]["id"]),
        server: text(&e["server"]["id"]),
        protocol: text(&e["protocol"]),
        ports: list(&e["ports"]).join(" "),
        flows: e["flows"].as_u64().unwrap_or_default(),
        packets: e["packets"].as_u64().unwrap_or_default(),
        bytes: e["bytes"].as_u64().unwrap_or_default(),
        operations,
        trust: list(&e["trust"]).join(" "),
        first_seen: Timestamp(e["first_seen_ns"].as_i64().unwrap_or_default()).to_rfc3339(),
        last_seen: Timestamp(e["last_seen_ns"].as_i64().unwrap_or_default()).to_rfc3339(),
    }
}

/// The ids on the map, in order of first appearance.
fn endpoints<'a>(edges: &[&'a Value]) -> BTreeMap<&'a str, usize> {
    let mut ids = BTreeMap::new();
    for e in edges {
        for id in [e["client"]["id"].as_str().unwrap_or_default(), e["server"]["id"].as_str().unwrap_or_default()] {
            let n = ids.len();
            ids.entry(id).or_insert(n);
        }
    }
    ids
}

/// Purdue level of an asset id on the map (`None`: no level or not an asset).
fn level_of(assets: &Assets, id: &str) -> Option<u8> {
    assets.get(id).and_then(|a| a["role"]["level"].as_u64()).and_then(|l| u8::try_from(l).ok())
}

/// Where an endpoint is drawn: the level (its zone's, else its role's, as
/// `assess` places it) and the zone holding it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Spot {
    level: Option<u8>,
    zone: Option<String>,
}

/// The spot of every endpoint on the map. With a site in force, a zone holds
/// an asset by id, block or VLAN within the networks it was seen in, and an
/// address no asset holds by block within its network (`posture::zone_for`).
fn spots<'a>(inv: &Assets, ids: impl Iterator<Item = &'a str>, site: Option<&Site>) -> BTreeMap<&'a str, Spot> {
    ids.map(|id| {
        let zone = site.and_then(|site| match inv.get(id) {
            Some(a) => {
                let networks = crate::assets::networks(a);
                let ips: Vec<IpAddr> = a["ips"]
                    .as_array()
                    .map_or_else(Vec::new, |v| v.iter().filter_map(|ip| ip.as_str()?.parse().ok()).collect());
                let vlans: Vec<u16> = a["vlans"]
                    .as_array()
                    .map_or_else(Vec::new, |v| v.iter().filter_map(|x| x.as_u64()?.try_into().ok()).collect());
                otposture_posture::zone_for(site, id, &networks, &ips, &vlans).map(|(zone, _)| zone)
            }
            None => otposture_inventory::parse_address_id(id)
                .and_then(|(ip, network)| otposture_posture::zone_of_address(site, ip, network))
                .map(|(zone, _)| zone),
        });
        let spot = match zone {
            Some(zone) => Spot { level: Some(zone.level), zone: Some(zone.name.clone()) },
            None => Spot { level: level_of(inv, id), zone: None },
        };
        (id, spot)
    })
    .collect()
}

/// Node label lines: id, role and address, vendor and model.
fn label(assets: &Assets, id: &str) -> Vec<String> {
    let mut lines = vec![id.to_string()];
    if let Some(a) = assets.get(id) {
        let mut role = a["role"]["role"].as_str().unwrap_or_default().replace('_', " ");
        if let Some(ip) = a["ips"].get(0).and_then(Value::as_str) {
            let _ = write!(role, " {ip}");
        }
        lines.push(role);
        let identity: Vec<&str> = ["vendor", "model"].into_iter().filter_map(|f| crate::assets::field(a, f)).collect();
        if !identity.is_empty() {
            lines.push(identity.join(" "));
        }
    }
    lines
}

/// Edges that can change the process: drawn red.
fn changes_process(e: &Value) -> bool {
    e["trust"].as_array().is_some_and(|t| {
        t.iter().any(|t| matches!(t.as_str(), Some("programs" | "updates_firmware" | "controls" | "writes")))
    })
}

fn trust_text(e: &Value) -> String {
    e["trust"]
        .as_array()
        .map_or_else(String::new, |t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(inv: &Assets, edges: &[&Value], site: Option<&Site>) -> String {
    let ids = endpoints(edges);
    let mut by_level: BTreeMap<Option<u8>, BTreeMap<Option<String>, Vec<&str>>> = BTreeMap::new();
    for (id, spot) in spots(inv, ids.keys().copied(), site) {
        by_level.entry(spot.level).or_default().entry(spot.zone).or_default().push(id);
    }
    let mut s =
        String::from("digraph otposture {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
    // Higher levels first, so level 4 is drawn at the top; a zone is a
    // cluster inside its level's.
    for (level, zones) in by_level.iter().rev() {
        let name = level.map_or_else(|| "no level".to_string(), |l| format!("Purdue level {l}"));
        // One row per level, unless zones inside it are clusters of their own.
        let rank = if zones.keys().all(Option::is_none) { " rank=same;" } else { "" };
        let _ = writeln!(s, "  subgraph \"cluster_{name}\" {{\n    label=\"{name}\";{rank}");
        for (zone, nodes) in zones {
            let indent = if zone.is_some() { "      " } else { "    " };
            if let Some(zone) = zone {
                let zone = dot_escape(zone);
                let _ =
                    writeln!(s, "    subgraph \"cluster_zone_{zone}\" {{\n      label=\"zone {zone}\"; style=dashed;");
            }
            for id in nodes {
                let _ = writeln!(
                    s,
                    "{indent}\"{}\" [label=\"{}\"];",
                    dot_escape(id),
                    // Escaped line by line: the `\\n` between them is DOT's line break.
                    label(inv, id).iter().map(|l| dot_escape(l)).collect::<Vec<_>>().join("\\n")
                );
            }
            if zone.is_some() {
                s.push_str("    }\n");
            }
        }
        s.push_str("  }\n");
    }
    for e in edges {
        let mut label = text(&e["protocol"]);
        let trust = trust_text(e);
        if !trust.is_empty() {
            let _ = write!(label, ": {trust}");
        }
        let color = if changes_process(e) { "red" } else { "gray40" };
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [label=\"{}\", color={color}, fontsize=9];",
            dot_escape(&text(&e["client"]["id"])),
            dot_escape(&text(&e["server"]["id"])),
            dot_escape(&label)
        );
    }
    s.push_str("}\n");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A layered drawing: one row per Purdue level (highest at the top, assets
/// without a level at the bottom), assets evenly spaced in their row and, with
/// a site in force, side by side by zone inside a dashed frame named after it;
/// edges as straight arrows. Written here because no maintained crate lays out
/// a graph by given layers as self-contained SVG; a user wanting a tuned
/// layout runs `--format dot` through Graphviz.
fn svg(inv: &Assets, edges: &[&Value], site: Option<&Site>) -> String {
    const BOX_W: usize = 230;
    const BOX_H: usize = 48;
    const GAP_X: usize = 30;
    const ROW_H: usize = 130;
    const MARGIN: usize = 110;
    let ids = endpoints(edges);
    let placed = spots(inv, ids.keys().copied(), site);
    // Highest level first; each row's (zone, id) pairs.
    type Row<'i> = Vec<(Option<&'i str>, &'i str)>;
    let mut rows: BTreeMap<std::cmp::Reverse<Option<u8>>, Row<'_>> = BTreeMap::new();
    for (id, spot) in &placed {
        rows.entry(std::cmp::Reverse(spot.level)).or_default().push((spot.zone.as_deref(), id));
    }
    // Assets in no zone first, then zone by zone.
    rows.values_mut().for_each(|row| row.sort_unstable());
    let widest = rows.values().map(Vec::len).max().unwrap_or(0);
    let width = MARGIN + widest.max(1) * (BOX_W + GAP_X) + GAP_X;
    let height = rows.len().max(1) * ROW_H + 40;
    let mut at: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">"
    );
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>\n");
    s.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    for (row, (level, nodes)) in rows.iter().enumerate() {
        let y = 20 + row * ROW_H;
        let name = level.0.map_or_else(|| "no level".to_string(), |l| format!("Level {l}"));
        let _ = writeln!(s, "<line x1=\"0\" y1=\"{}\" x2=\"{width}\" y2=\"{}\" stroke=\"#ddd\"/>", y - 10, y - 10);
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{}\" font-weight=\"bold\" fill=\"#555\">{}</text>",
            y + BOX_H / 2,
            xml_escape(&name)
        );
        for (col, (_, id)) in nodes.iter().enumerate() {
            at.insert(id, (MARGIN + col * (BOX_W + GAP_X), y));
        }
        // A frame around each zone's run of assets, drawn behind them.
        let mut col = 0;
        for run in nodes.chunk_by(|a, b| a.0 == b.0) {
            if let Some((Some(zone), _)) = run.first() {
                let x = MARGIN + col * (BOX_W + GAP_X) - 8;
                let w = run.len() * (BOX_W + GAP_X) - GAP_X + 16;
                let _ = writeln!(
                    s,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{}\" rx=\"6\" fill=\"#fbfbf4\" stroke=\"#b7950b\" stroke-dasharray=\"5,3\"><title>zone {}</title></rect>",
                    y - 6,
                    BOX_H + 26,
                    xml_escape(zone)
                );
                let _ = writeln!(
                    s,
                    "<text x=\"{}\" y=\"{}\" fill=\"#7d6608\" font-size=\"10\">zone {}</text>",
                    x + 6,
                    y + BOX_H + 15,
                    xml_escape(zone)
                );
            }
            col += run.len();
        }
    }
    for e in edges {
        let (client, server) = (text(&e["client"]["id"]), text(&e["server"]["id"]));
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (at.get(client.as_str()), at.get(server.as_str())) else {
            continue;
        };
        let (cx1, cy1, cx2, cy2) = (x1 + BOX_W / 2, y1 + BOX_H / 2, x2 + BOX_W / 2, y2 + BOX_H / 2);
        // Leave the boxes from their top or bottom edge toward the other end.
        let (sy, ey) = match cy2.cmp(&cy1) {
            std::cmp::Ordering::Greater => (y1 + BOX_H, y2),
            std::cmp::Ordering::Less => (y1, y2 + BOX_H),
            std::cmp::Ordering::Equal => (cy1 + BOX_H / 2, cy2 + BOX_H / 2),
        };
        let color = if changes_process(e) { "#c0392b" } else { "#7f8c8d" };
        let mut title = format!("{client} -> {server} {}", text(&e["protocol"]));
        let trust = trust_text(e);
        if !trust.is_empty() {
            let _ = write!(title, " ({trust})");
        }
        let _ = writeln!(
            s,
            "<line x1=\"{cx1}\" y1=\"{sy}\" x2=\"{cx2}\" y2=\"{ey}\" stroke=\"{color}\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>{}</title></line>",
            xml_escape(&title)
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" fill=\"{color}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            (cx1 + cx2) / 2,
            (sy + ey) / 2,
            xml_escape(&text(&e["protocol"]))
        );
    }
    for (id, (x, y)) in &at {
        let known = inv.contains_key(*id);
        let fill = if known { "#eef4fb" } else { "#f4f4f4" };
        let _ = writeln!(s, "<rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\" fill=\"{fill}\" stroke=\"#34495e\"/>");
        for (i, text) in label(inv, id).iter().enumerate() {
            let weight = if i == 0 { " font-weight=\"bold\"" } else { "" };
            let clipped: String = text.chars().take(38).collect();
            let _ =
                writeln!(s, "<text x=\"{}\" y=\"{}\"{weight}>{}</text>", x + 6, y + 14 + i * 14, xml_escape(&clipped));
        }
    }
    s.push_str("</svg>\n");
    s
}
