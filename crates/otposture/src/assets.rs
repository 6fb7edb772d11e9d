//! `otposture assets`: the inventory as last built into the database, the
//! user's role overrides (logged), and rebuilding it.
// The stored documents are read with `value["key"]`: serde_json returns Null for
// a missing key or a non-object, so this indexing cannot panic.
#![allow(clippy::indexing_slicing)]

use crate::output::{array_end, array_item, network_column, print, Format};
use clap::{Args, Subcommand};
use otposture_inventory::{Inventory, Role};
use otposture_model::{EventKind, Timestamp};
use otposture_store::{AssetFilter, ConversationFilter, EventFilter, HostFilter, InventoryBuild, Store};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

/// Version of the `otposture.assets` and `otposture.asset` JSON schemas.
const ASSETS_SCHEMA: u32 = 1;
/// Version of the `otposture.audit` JSON schema.
const AUDIT_SCHEMA: u32 = 1;

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
        format!("{s:?} is not a role: {}", names.join(", "))
    })
}

#[derive(Args, Debug)]
pub(crate) struct AssetsArgs {
    #[command(subcommand)]
    action: Option<Action>,
    /// Only assets of this role: controller, safety_controller, rtu, ied, hmi, scada_server, opc_server, historian, engineering_workstation, network_device, it_host, unknown.
    #[arg(long, value_parser = parse_role)]
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
    /// Only assets seen in this network (`analyze --network NAME`).
    #[arg(long, value_name = "NAME", value_parser = crate::analyze::parse_network)]
    network: Option<String>,
    /// At most this many assets.
    #[arg(long)]
    limit: Option<u32>,
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
    /// Sets an asset's role, over what the rules decided; kept across analyses and logged.
    SetRole {
        /// The asset id.
        id: String,
        /// The role: controller, safety_controller, rtu, ied, hmi, scada_server, opc_server, historian, engineering_workstation, network_device, it_host, unknown.
        #[arg(value_parser = parse_role)]
        role: Role,
        /// Why (kept with the override and in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Removes a role override; the rules decide again. Logged.
    ClearRole {
        /// The asset id.
        id: String,
    },
    /// Builds the inventory again from everything stored (`analyze` does this when it ends).
    Rebuild,
}

/// Who is making a change, for the audit log: the operating-system user.
pub(crate) fn actor() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_string())
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Builds the inventory from the store's hosts, identities and conversations,
/// with the user's role overrides in force.
pub(crate) fn build(store: &Store) -> anyhow::Result<Inventory> {
    let hosts = store.hosts(&HostFilter::default())?;
    let identities = store.events(&EventFilter { kind: Some(EventKind::Identity), ..EventFilter::default() })?;
    // Conversations are fed as they are read: a plant-scale map is never held as
    // conversations and edges at once.
    let mut builder = otposture_inventory::InventoryBuilder::new(&hosts, &identities);
    store.each_conversation(&ConversationFilter::default(), |c| builder.conversation(&c))?;
    let mut inv = builder.finish();
    let overrides = store.role_overrides()?;
    for o in otposture_inventory::apply_overrides(&mut inv, &overrides) {
        eprintln!("note: role override of {} ({}) names no current asset; it is kept", o.asset_id, o.role);
    }
    Ok(inv)
}

/// Builds the inventory and replaces the stored one with it.
pub(crate) fn rebuild(store: &mut Store) -> anyhow::Result<InventoryBuild> {
    let Inventory { assets, edges, unplaced_identities } = build(store)?;
    let assets = otposture_inventory::asset_records(&assets)?;
    // Edge records are made as they are written: a plant-scale map is never
    // held as records and edges at once.
    let edges = otposture_inventory::edge_records(edges);
    store.replace_inventory_from(&assets, edges, unplaced_identities, now_secs())??;
    store.latest_inventory_build()?.ok_or_else(|| anyhow::anyhow!("the inventory build was not recorded"))
}

/// The stored inventory's build, building it first when the database has none
/// (a database analysed before schema 4).
pub(crate) fn current(store: &mut Store) -> anyhow::Result<InventoryBuild> {
    match store.latest_inventory_build()? {
        Some(b) => Ok(b),
        None => rebuild(store),
    }
}

/// One line per asset, for the table and CSV.
#[derive(Serialize)]
struct Line {
    id: String,
    role: String,
    level: Option<u64>,
    rule: String,
    vendor: Option<String>,
    model: Option<String>,
    order_number: Option<String>,
    firmware: Option<String>,
    serial: Option<String>,
    name: Option<String>,
    ips: String,
    macs: String,
    vlans: String,
    serves: String,
    uses: String,
    conflicts: String,
    first_seen: String,
    last_seen: String,
    /// Left out for an asset seen in the unnamed network only, so listings
    /// without named networks read as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    networks: Option<String>,
}

fn words(v: &Value) -> String {
    v.as_array().map_or_else(String::new, |a| {
        a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect::<Vec<_>>().join(" ")
    })
}

impl Line {
    fn of(a: &Value) -> Self {
        let attributes = a["attributes"].as_array().map(Vec::as_slice).unwrap_or_default();
        let field = |name: &str| field(a, name).map(str::to_string);
        let conflicts: Vec<&str> =
            attributes.iter().filter(|x| x["conflict"] == true).filter_map(|x| x["field"].as_str()).collect();
        Line {
            id: a["id"].as_str().unwrap_or_default().to_string(),
            role: a["role"]["role"].as_str().unwrap_or_default().to_string(),
            level: a["role"]["level"].as_u64(),
            rule: a["role"]["rule"].as_str().unwrap_or_default().to_string(),
            vendor: field("vendor"),
            model: field("model"),
            order_number: field("order_number"),
            firmware: field("firmware"),
            serial: field("serial"),
            name: field("name").or_else(|| field("host_name")),
            ips: words(&a["ips"]),
            macs: words(&a["macs"]),
            vlans: words(&a["vlans"]),
            serves: words(&a["serves"]),
            uses: words(&a["uses"]),
            conflicts: conflicts.join(" "),
            first_seen: Timestamp(a["first_seen_ns"].as_i64().unwrap_or_default()).to_rfc3339(),
            last_seen: Timestamp(a["last_seen_ns"].as_i64().unwrap_or_default()).to_rfc3339(),
            networks: a["networks"].as_array().map(|list| {
                let name = |n: &Value| n.as_str().filter(|n| !n.is_empty()).unwrap_or("(unnamed)").to_string();
                list.iter().map(name).collect::<Vec<_>>().join(" ")
            }),
        }
    }
}

/// The networks a stored asset document was seen in, `""` for the unnamed
/// one. A document without `networks` was seen in the unnamed network only.
pub(crate) fn networks(asset: &Value) -> Vec<String> {
    match asset["networks"].as_array() {
        Some(list) => list.iter().filter_map(Value::as_str).map(String::from).collect(),
        None => vec![String::new()],
    }
}

/// Whether a stored asset document was seen in the named network.
pub(crate) fn in_network(asset: &Value, network: &str) -> bool {
    networks(asset).iter().any(|n| n == network)
}

/// The headline value of an identity field in a stored asset document.
pub(crate) fn field<'a>(asset: &'a Value, name: &str) -> Option<&'a str> {
    asset["attributes"].as_array()?.iter().find(|x| x["field"] == name)?["value"].as_str()
}

pub(crate) fn write_json(doc: &Value) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// The stored assets matching `filter`, as their JSON documents.
pub(crate) fn stored_assets(store: &Store, filter: &AssetFilter) -> anyhow::Result<Vec<Value>> {
    store.assets(filter)?.iter().map(|r| Ok(serde_json::from_str(&r.doc)?)).collect()
}

pub(crate) fn run(a: AssetsArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let mut store = crate::query::open(db)?;
    match a.action {
        Some(Action::Rebuild) => {
            let b = rebuild(&mut store)?;
            println!("inventory rebuilt: {} assets, {} edges", b.assets, b.edges);
            return Ok(crate::exit::OK);
        }
        Some(Action::SetRole { id, role, reason }) => {
            crate::access::require(&store, crate::access::Role::Engineer, "set asset roles")?;
            current(&mut store)?;
            if store.assets(&AssetFilter { id: Some(id.clone()), ..AssetFilter::default() })?.is_empty() {
                anyhow::bail!("no asset {id:?}: `otposture assets` lists the ids");
            }
            store.set_role_override(&id, role.name(), &reason, &actor(), now_secs())?;
            rebuild(&mut store)?;
            println!("{id}: role {} (override by {}, logged)", role.name(), actor());
            return Ok(crate::exit::OK);
        }
        Some(Action::ClearRole { id }) => {
            crate::access::require(&store, crate::access::Role::Engineer, "set asset roles")?;
            if !store.clear_role_override(&id, &actor(), now_secs())? {
                anyhow::bail!("{id:?} has no role override");
            }
            rebuild(&mut store)?;
            println!("{id}: role override removed (logged)");
            return Ok(crate::exit::OK);
        }
        Some(Action::Show { id, format }) => {
            if format != Format::Json {
                anyhow::bail!("`assets show` prints JSON only; `assets --format table|csv` lists assets");
            }
            current(&mut store)?;
            let found = stored_assets(&store, &AssetFilter { id: Some(id.clone()), ..AssetFilter::default() })?;
            let Some(asset) = found.into_iter().next() else {
                anyhow::bail!("no asset {id:?}: `otposture assets` lists the ids");
            };
            write_json(&serde_json::json!({ "schema": format!("otposture.asset/{ASSETS_SCHEMA}"), "asset": asset }))?;
            return Ok(crate::exit::OK);
        }
        None => {}
    }
    let build = current(&mut store)?;
    let filter = AssetFilter {
        role: a.role.map(|r| r.name().to_string()),
        level: a.level,
        vendor_contains: a.vendor,
        // The protocol and network filters read the documents: no limit before them.
        limit: if a.protocol.is_some() || a.network.is_some() { None } else { a.limit },
        ..AssetFilter::default()
    };
    let speaks = |doc: &Value, p: &str| {
        let has = |v: &Value| v.as_array().is_some_and(|l| l.iter().any(|x| x == p));
        has(&doc["serves"]) || has(&doc["uses"])
    };
    let wanted = |doc: &Value| {
        a.protocol.as_deref().is_none_or(|p| speaks(doc, p)) && a.network.as_deref().is_none_or(|n| in_network(doc, n))
    };
    if a.format == Format::Json {
        // Streamed one asset at a time: a plant-scale listing never holds the
        // inventory. Each asset is its stored document, one per line.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let schema = format!("otposture.assets/{ASSETS_SCHEMA}");
        let built_at = Timestamp::from_parts(build.built_at_secs, 0).to_rfc3339();
        write!(
            out,
            "{{\n  \"schema\": {},\n  \"built_at\": {},\n  \"assets\": [",
            Value::from(schema),
            Value::from(built_at)
        )?;
        let mut written: u64 = 0;
        let limit = a.limit.map(u64::from);
        let walked = store.each_asset(&filter, |r| -> anyhow::Result<()> {
            if limit.is_some_and(|l| written >= l) {
                return Ok(());
            }
            if (a.protocol.is_some() || a.network.is_some()) && !wanted(&serde_json::from_str(&r.doc)?) {
                return Ok(());
            }
            Ok(array_item(&mut out, &mut written, &r.doc)?)
        })?;
        walked?;
        array_end(&mut out, written)?;
        writeln!(out, ",\n  \"unplaced_identities\": {}\n}}", build.unplaced_identities)?;
        out.flush()?;
        return Ok(crate::exit::OK);
    }
    let mut assets = stored_assets(&store, &filter)?;
    if a.protocol.is_some() || a.network.is_some() {
        assets.retain(|x| wanted(x));
        if let Some(limit) = a.limit {
            assets.truncate(limit as usize);
        }
    }
    let lines: Vec<Line> = assets.iter().map(Line::of).collect();
    let columns = network_column(
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
        ("networks", 7),
        lines.iter().any(|l| l.networks.is_some()),
    );
    print(&lines, "assets", ASSETS_SCHEMA, a.format, &columns)?;
    Ok(crate::exit::OK)
}

#[derive(Args, Debug)]
pub(crate) struct AuditArgs {
    /// At most this many entries (newest first).
    #[arg(long)]
    limit: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// `otposture audit`: every change a user made (role overrides), newest first.
pub(crate) fn audit(a: AuditArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = crate::query::open(db)?;
    let rows = store.audit_log(a.limit)?;
    print(
        &rows,
        "audit",
        AUDIT_SCHEMA,
        a.format,
        &[("at_secs", "AT"), ("actor", "ACTOR"), ("action", "ACTION"), ("target", "TARGET"), ("detail", "DETAIL")],
    )?;
    Ok(crate::exit::OK)
}
