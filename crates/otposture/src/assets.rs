//! `otposture assets`: the inventory built from what the database holds.

use crate::output::{print, Format};
use clap::{Args, Subcommand};
use otposture_inventory::{Asset, Field, Inventory, Role};
use otposture_model::{EventKind, Timestamp};
use otposture_store::{ConversationFilter, EventFilter, HostFilter};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// Version of the `otposture.assets` and `otposture.asset` JSON schemas.
const ASSETS_SCHEMA: u32 = 1;

#[derive(Args, Debug)]
pub(crate) struct AssetsArgs {
    #[command(subcommand)]
    action: Option<Action>,
    /// Only assets of this role: controller, rtu, hmi, scada_server, engineering_workstation, network_device, it_host, unknown.
    #[arg(long, value_parser = |s: &str| Role::parse(s).ok_or_else(|| format!("{s:?} is not a role")))]
    role: Option<Role>,
    /// Only assets whose vendor contains this text (any case).
    #[arg(long)]
    vendor: Option<String>,
    /// Only assets at this Purdue level (0-5).
    #[arg(long)]
    level: Option<u8>,
    /// Only assets that serve or use this application protocol (modbus, s7comm, enip, ...).
    #[arg(long)]
    protocol: Option<String>,
    /// Output format: table and csv list one line per asset; json gives every attribute with its provenance.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// One asset with every attribute, where each value came from, and why it has its role.
    Show {
        /// The asset id (`mac-00:1b:1b:...`, `ip-10.0.0.5`), as `assets` lists it.
        id: String,
        /// Output format: json only (the asset with every value's provenance).
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
}

/// One line per asset, for the table and CSV.
#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    role: &'static str,
    level: Option<u8>,
    rule: &'static str,
    vendor: Option<&'a str>,
    model: Option<&'a str>,
    order_number: Option<&'a str>,
    firmware: Option<&'a str>,
    serial: Option<&'a str>,
    name: Option<&'a str>,
    ips: String,
    macs: String,
    vlans: String,
    serves: String,
    uses: String,
    conflicts: String,
    first_seen: String,
    last_seen: String,
}

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
}

impl<'a> Line<'a> {
    fn of(a: &'a Asset) -> Self {
        let conflicts: Vec<&str> = a.attributes.iter().filter(|x| x.conflict).map(|x| x.field.name()).collect();
        Line {
            id: &a.id,
            role: a.role.role.name(),
            level: a.role.level,
            rule: a.role.rule,
            vendor: a.get(Field::Vendor),
            model: a.get(Field::Model),
            order_number: a.get(Field::OrderNumber),
            firmware: a.get(Field::Firmware),
            serial: a.get(Field::Serial),
            name: a.get(Field::Name).or(a.get(Field::HostName)),
            ips: join(&a.ips),
            macs: join(&a.macs),
            vlans: join(&a.vlans),
            serves: a.serves.join(" "),
            uses: a.uses.join(" "),
            conflicts: conflicts.join(" "),
            first_seen: Timestamp(a.first_seen_ns).to_rfc3339(),
            last_seen: Timestamp(a.last_seen_ns).to_rfc3339(),
        }
    }
}

fn write_json(doc: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Reads hosts, identity events and conversations and builds the inventory.
pub(crate) fn inventory(db: Option<PathBuf>) -> anyhow::Result<Inventory> {
    let store = crate::query::open(db)?;
    let hosts = store.hosts(&HostFilter::default())?;
    let identities = store.events(&EventFilter { kind: Some(EventKind::Identity), ..EventFilter::default() })?;
    let conversations = store.conversations(&ConversationFilter::default())?;
    Ok(otposture_inventory::build(&hosts, &identities, &conversations))
}

pub(crate) fn run(a: AssetsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let inv = inventory(db)?;
    if let Some(Action::Show { id, format }) = a.action {
        if format != Format::Json {
            anyhow::bail!("`assets show` prints JSON only; `assets --format table|csv` lists assets");
        }
        let Some(asset) = inv.assets.iter().find(|x| x.id == id) else {
            anyhow::bail!("no asset {id:?}: `otposture assets` lists the ids");
        };
        let doc = serde_json::json!({ "schema": format!("otposture.asset/{ASSETS_SCHEMA}"), "asset": asset });
        write_json(&doc)?;
        return Ok(crate::exit::OK);
    }
    let vendor = a.vendor.map(|v| v.to_lowercase());
    let keep = |x: &&Asset| {
        a.role.is_none_or(|r| x.role.role == r)
            && a.level.is_none_or(|l| x.role.level == Some(l))
            && a.protocol.as_ref().is_none_or(|p| x.serves.contains(p) || x.uses.contains(p))
            && vendor.as_ref().is_none_or(|v| x.get(Field::Vendor).is_some_and(|n| n.to_lowercase().contains(v)))
    };
    let assets: Vec<&Asset> = inv.assets.iter().filter(keep).collect();
    if a.format == Format::Json {
        let doc = serde_json::json!({
            "schema": format!("otposture.assets/{ASSETS_SCHEMA}"),
            "assets": assets,
            "unplaced_identities": inv.unplaced_identities,
        });
        write_json(&doc)?;
        return Ok(crate::exit::OK);
    }
    let lines: Vec<Line<'_>> = assets.iter().map(|x| Line::of(x)).collect();
    print(
        &lines,
        "assets",
        ASSETS_SCHEMA,
        a.format,
        &[
            ("id", "ASSET"),
            ("role", "ROLE"),
            ("level", "LEVEL"),
            ("vendor", "VENDOR"),
            ("model", "MODEL"),
            ("firmware", "FIRMWARE"),
            ("ips", "IP"),
            ("serves", "SERVES"),
            ("conflicts", "CONFLICTS"),
        ],
    )?;
    Ok(crate::exit::OK)
}
