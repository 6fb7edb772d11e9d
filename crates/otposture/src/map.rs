//! `otposture map`: the communication map between assets, as a table, JSON,
//! CSV, Graphviz DOT, or an SVG laid out by Purdue level.

use crate::output::{print, Format};
use clap::{Args, ValueEnum};
use otposture_inventory::{Asset, Edge, Field, Inventory};
use otposture_model::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
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
    /// Graphviz DOT (`dot -Tsvg`), assets ranked by Purdue level.
    Dot,
    /// A self-contained SVG, assets in rows by Purdue level; opens in any browser.
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = MapFormat::Table)]
    format: MapFormat,
}

/// An edge flattened for the table and CSV.
#[derive(Serialize)]
struct Line<'a> {
    client: &'a str,
    server: &'a str,
    protocol: &'a str,
    ports: String,
    flows: u64,
    packets: u64,
    bytes: u64,
    operations: String,
    trust: String,
    first_seen: String,
    last_seen: String,
}

pub(crate) fn run(a: MapArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let inv = crate::assets::inventory(db)?;
    let edges: Vec<&Edge> = inv
        .edges
        .iter()
        .filter(|e| a.protocol.as_ref().is_none_or(|p| &e.protocol == p))
        .filter(|e| a.trust.as_ref().is_none_or(|t| e.trust.iter().any(|x| x == t)))
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.format {
        MapFormat::Table | MapFormat::Csv => {
            drop(out);
            let lines: Vec<Line<'_>> = edges.iter().map(|e| line(e)).collect();
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
        MapFormat::Json => {
            let ids = endpoints(&edges);
            let assets: Vec<&Asset> = inv.assets.iter().filter(|x| ids.contains_key(x.id.as_str())).collect();
            let doc = serde_json::json!({
                "schema": format!("otposture.map/{MAP_SCHEMA}"),
                "assets": assets,
                "edges": edges,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        MapFormat::Dot => out.write_all(dot(&inv, &edges).as_bytes())?,
        MapFormat::Svg => out.write_all(svg(&inv, &edges).as_bytes())?,
    }
    out.flush()?;
    Ok(crate::exit::OK)
}

fn line<'a>(e: &'a Edge) -> Line<'a> {
    Line {
        client: &e.client.id,
        server: &e.server.id,
        protocol: &e.protocol,
        ports: e.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(" "),
        flows: e.flows,
        packets: e.packets,
        bytes: e.bytes,
        operations: e.operations.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
        trust: e.trust.join(" "),
        first_seen: Timestamp(e.first_seen_ns).to_rfc3339(),
        last_seen: Timestamp(e.last_seen_ns).to_rfc3339(),
    }
}

/// The ids on the map, in order of first appearance.
fn endpoints<'a>(edges: &[&'a Edge]) -> BTreeMap<&'a str, usize> {
    let mut ids = BTreeMap::new();
    for e in edges {
        for id in [e.client.id.as_str(), e.server.id.as_str()] {
            let n = ids.len();
            ids.entry(id).or_insert(n);
        }
    }
    ids
}

/// Purdue level of an asset id on the map (`None`: no level or not an asset).
fn level_of(inv: &Inventory, id: &str) -> Option<u8> {
    inv.assets.iter().find(|a| a.id == id).and_then(|a| a.role.level)
}

/// Node label lines: id, role, vendor and model.
fn label(inv: &Inventory, id: &str) -> Vec<String> {
    let mut lines = vec![id.to_string()];
    if let Some(a) = inv.assets.iter().find(|a| a.id == id) {
        let mut role = a.role.role.name().replace('_', " ");
        if let Some(ip) = a.ips.first() {
            let _ = write!(role, " {ip}");
        }
        lines.push(role);
        let identity: Vec<&str> = [Field::Vendor, Field::Model].into_iter().filter_map(|f| a.get(f)).collect();
        if !identity.is_empty() {
            lines.push(identity.join(" "));
        }
    }
    lines
}

/// Edges that can change the process: drawn red.
fn changes_process(e: &Edge) -> bool {
    e.trust.iter().any(|t| matches!(*t, "programs" | "updates_firmware" | "controls" | "writes"))
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(inv: &Inventory, edges: &[&Edge]) -> String {
    let ids = endpoints(edges);
    let mut by_level: BTreeMap<Option<u8>, Vec<&str>> = BTreeMap::new();
    for id in ids.keys() {
        by_level.entry(level_of(inv, id)).or_default().push(id);
    }
    let mut s =
        String::from("digraph otposture {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
    // Higher levels first, so level 4 is drawn at the top.
    for (level, nodes) in by_level.iter().rev() {
        let name = level.map_or_else(|| "no level".to_string(), |l| format!("Purdue level {l}"));
        let _ = writeln!(s, "  subgraph \"cluster_{name}\" {{\n    label=\"{name}\"; rank=same;");
        for id in nodes {
            let _ = writeln!(s, "    \"{}\" [label=\"{}\"];", dot_escape(id), dot_escape(&label(inv, id).join("\\n")));
        }
        s.push_str("  }\n");
    }
    for e in edges {
        let mut text = e.protocol.clone();
        if !e.trust.is_empty() {
            let _ = write!(text, ": {}", e.trust.join(", "));
        }
        let color = if changes_process(e) { "red" } else { "gray40" };
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [label=\"{}\", color={color}, fontsize=9];",
            dot_escape(&e.client.id),
            dot_escape(&e.server.id),
            dot_escape(&text)
        );
    }
    s.push_str("}\n");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A layered drawing: one row per Purdue level (highest at the top, assets
/// without a level at the bottom), assets evenly spaced in their row, edges as
/// straight arrows. Written here because no maintained crate lays out a graph
/// by given layers as self-contained SVG; a user wanting a tuned layout runs
/// `--format dot` through Graphviz.
fn svg(inv: &Inventory, edges: &[&Edge]) -> String {
    const BOX_W: usize = 230;
    const BOX_H: usize = 48;
    const GAP_X: usize = 30;
    const ROW_H: usize = 130;
    const MARGIN: usize = 110;
    let ids = endpoints(edges);
    let mut rows: BTreeMap<std::cmp::Reverse<Option<u8>>, Vec<&str>> = BTreeMap::new();
    for id in ids.keys() {
        rows.entry(std::cmp::Reverse(level_of(inv, id))).or_default().push(id);
    }
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
        for (col, id) in nodes.iter().enumerate() {
            at.insert(id, (MARGIN + col * (BOX_W + GAP_X), y));
        }
    }
    for e in edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (at.get(e.client.id.as_str()), at.get(e.server.id.as_str())) else {
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
        let mut title = format!("{} -> {} {}", e.client.id, e.server.id, e.protocol);
        if !e.trust.is_empty() {
            let _ = write!(title, " ({})", e.trust.join(", "));
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
            xml_escape(&e.protocol)
        );
    }
    for (id, (x, y)) in &at {
        let known = inv.assets.iter().any(|a| a.id == *id);
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
