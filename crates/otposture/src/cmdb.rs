//! `otposture cmdb`: importing an asset register (CMDB export), reconciling
//! it with the stored inventory, and exporting the reconciled inventory.
//! Parsing and matching live in crates/cmdb; this module reads the file,
//! stores the register and prints.

use crate::output::{print, Format};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use otposture_cmdb::export::{self, Row, RowStatus};
use otposture_cmdb::register::{self, Field, Mapping, Parsed, Preset};
use otposture_cmdb::{Reconciliation, RegisterError, RowError};
use otposture_model::Timestamp;
use otposture_store::{AssetFilter, InventoryBuild, RegisterImport, RegisterSource, Store};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Versions of the `otposture.cmdb-import`, `otposture.reconcile` and
/// `otposture.cmdb-export` JSON schemas (docs/json-schema.md).
const IMPORT_SCHEMA: u32 = 1;
const RECONCILE_SCHEMA: u32 = 1;
const EXPORT_SCHEMA: u32 = 1;

/// Row errors printed before the rest are only counted.
const MAX_ERRORS_SHOWN: usize = 50;
/// Flagged values printed before the rest are only counted.
const MAX_FLAGS_SHOWN: usize = 20;

#[derive(Args, Debug)]
pub(crate) struct CmdbArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Import an asset register (CSV or JSON) as the register in force; a bad file imports nothing.
    Import(ImportArgs),
    /// Compare the register with the inventory: matched (and conflicting), discovered-only, register-only, ambiguous.
    Reconcile(ReconcileArgs),
    /// Write the reconciled inventory: every asset and every register entry, one row each, both sides.
    Export(ExportArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum InputFormat {
    Csv,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PresetArg {
    /// ServiceNow cmdb_ci / cmdb_ci_hardware list export.
    Servicenow,
    /// NetBox device list export.
    Netbox,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SummaryFormat {
    Text,
    Json,
}

fn parse_map(s: &str) -> Result<(Field, String), String> {
    let (field, column) = s.split_once('=').ok_or_else(|| format!("{s:?} is not FIELD=COLUMN"))?;
    let field = Field::parse(field).ok_or_else(|| {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        format!("{field:?} is not a register field: {}", names.join(", "))
    })?;
    Ok((field, column.to_string()))
}

#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// The register file (`-` for standard input, with --format).
    file: PathBuf,
    /// Input format [default: from the file's extension: .csv, .tsv, .txt, .json].
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    /// Column names of a common export: servicenow (cmdb_ci) or netbox (devices).
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Read FIELD from COLUMN (repeatable; overrides the preset; `FIELD=` leaves it out). Fields: name, mac, ip, serial, vendor, model, firmware, role, site, location, owner, asset_tag, criticality, notes.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_map)]
    map: Vec<(Field, String)>,
    /// Import the good rows and report the bad ones (default: a bad row imports nothing).
    #[arg(long)]
    skip_bad_rows: bool,
    /// How to report the import: text on stderr, or otposture.cmdb-import/1 JSON on stdout.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    summary: SummaryFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Class {
    /// Entries matched to an asset (conflicting ones too).
    Matched,
    /// Matched entries with at least one attribute that differs.
    Conflicting,
    /// Assets no entry matches: unmanaged devices.
    DiscoveredOnly,
    /// Entries no asset matches: not seen.
    RegisterOnly,
    /// Entries whose keys point at assets without one clear match.
    Ambiguous,
}

#[derive(Args, Debug)]
pub(crate) struct ReconcileArgs {
    /// Only this class.
    #[arg(long, value_enum)]
    only: Option<Class>,
    /// Output format: table, json (otposture.reconcile/1) or csv (the export's columns).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// Output format [default: from --output's extension, else csv].
    #[arg(long, value_enum)]
    format: Option<ExportFormat>,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub(crate) fn run(a: CmdbArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    match a.action {
        Action::Import(a) => import(a, db),
        Action::Reconcile(a) => reconcile(a, db),
        Action::Export(a) => export(a, db),
    }
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).context("reading the register from standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("reading register {}", path.display()))
}

/// The import's record, as the JSON outputs show it.
fn import_json(i: &RegisterImport) -> Value {
    json!({
        "id": i.id,
        "file": i.file,
        "format": i.format,
        "preset": i.preset,
        "mapping": serde_json::from_str::<Value>(&i.mapping).unwrap_or(Value::Null),
        "imported_at": Timestamp::from_parts(i.imported_at_secs, 0).to_rfc3339(),
        "imported_at_secs": i.imported_at_secs,
        "rows": i.rows,
        "skipped": i.skipped,
    })
}

/// A flagged value of an entry, for reports.
#[derive(Serialize)]
struct FlagLine<'a> {
    row: u64,
    flag: &'a str,
    column: &'a str,
    value: &'a str,
}

fn flag_lines(p: &Parsed) -> Vec<FlagLine<'_>> {
    p.entries
        .iter()
        .flat_map(|e| {
            e.flags.iter().map(move |f| FlagLine { row: e.row, flag: &f.flag, column: &f.column, value: &f.value })
        })
        .collect()
}

fn flag_meaning(flag: &str) -> &'static str {
    match flag {
        "vendor_unrecognised" => {
            "a vendor otposture's vendor table does not know; kept as written, compared by its own words"
        }
        "placeholder_mac" => "an all-zero or broadcast MAC; kept, not used for matching",
        "placeholder_ip" => "an unspecified address; kept, not used for matching",
        "placeholder_serial" => "a placeholder serial (N/A, zeros); kept, not used for matching",
        _ => "kept as written",
    }
}

/// Prints row errors, at most [`MAX_ERRORS_SHOWN`], then how many more.
fn print_errors(errors: &[RowError], prefix: &str) {
    for e in errors.iter().take(MAX_ERRORS_SHOWN) {
        eprintln!("{prefix}: {e}");
    }
    if errors.len() > MAX_ERRORS_SHOWN {
        eprintln!("{prefix}: ... and {} more errors", errors.len() - MAX_ERRORS_SHOWN);
    }
}

/// The import report as JSON on stdout.
fn print_import_json(
    imported: Option<&RegisterImport>,
    parsed: Option<&Parsed>,
    file_error: Option<&RegisterError>,
) -> anyhow::Result<()> {
    let doc = json!({
        "schema": format!("otposture.cmdb-import/{IMPORT_SCHEMA}"),
        "imported": imported.is_some(),
        "import": imported.map(import_json),
        "rows_read": parsed.map(|p| p.rows),
        "blank_rows": parsed.map(|p| p.blank_rows),
        "bad_rows": parsed.map(Parsed::bad_rows),
        "errors": parsed.map(|p| p.errors.as_slice()).unwrap_or_default(),
        "file_error": file_error.map(ToString::to_string),
        "flags": parsed.map(flag_lines).unwrap_or_default(),
        "unmapped_columns": parsed.map(|p| p.unmapped_columns.as_slice()).unwrap_or_default(),
    });
    crate::assets::write_json(&doc)
}

fn import(a: ImportArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let name = a.file.display().to_string();
    let format = match a.format {
        Some(InputFormat::Csv) => register::Format::Csv,
        Some(InputFormat::Json) => register::Format::Json,
        None => match register::Format::from_file_name(&name) {
            Some(f) => f,
            None => {
                eprintln!("error: cannot tell the format of {name} from its name: pass --format csv or --format json");
                return Ok(crate::exit::USAGE);
            }
        },
    };
    let db = crate::require_db(db)?;
    let bytes = read_input(&a.file)?;
    let preset = a.preset.map(|p| match p {
        PresetArg::Servicenow => Preset::ServiceNow,
        PresetArg::Netbox => Preset::NetBox,
    });
    let mut mapping = preset.map_or_else(Mapping::default, Mapping::preset);
    for (field, column) in &a.map {
        mapping.map(*field, column);
    }
    let json_summary = a.summary == SummaryFormat::Json;
    let parsed = match register::parse(&bytes, format, &mapping, &name) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("nothing imported; the register in force is unchanged");
            if json_summary {
                print_import_json(None, None, Some(&e))?;
            }
            return Ok(crate::exit::BAD_INPUT);
        }
    };
    let entries = match parsed.accept(a.skip_bad_rows) {
        Ok(entries) => entries,
        Err(e) => {
            print_errors(&parsed.errors, "error");
            eprintln!("error: {e}");
            eprintln!("the register in force is unchanged");
            if json_summary {
                print_import_json(None, Some(&parsed), Some(&e))?;
            }
            return Ok(crate::exit::BAD_INPUT);
        }
    };
    print_errors(&parsed.errors, "skipped");
    if entries.is_empty() {
        eprintln!("error: {name}: every row is bad; nothing imported, the register in force is unchanged");
        if json_summary {
            print_import_json(None, Some(&parsed), None)?;
        }
        return Ok(crate::exit::BAD_INPUT);
    }
    let mut store = Store::open(&db).with_context(|| format!("opening database {}", db.display()))?;
    let source = RegisterSource {
        file: name.clone(),
        format: format.name().to_string(),
        preset: preset.map(|p| p.name().to_string()),
        mapping: mapping.to_json().to_string(),
        skipped: parsed.bad_rows(),
    };
    crate::access::require(&store, crate::access::Role::Engineer, "import the asset register")?;
    store.replace_register(&source, entries, &crate::assets::actor(), crate::assets::now_secs())?;
    let imported = store.latest_register_import()?.ok_or_else(|| anyhow::anyhow!("the import was not recorded"))?;
    let flags = flag_lines(&parsed);
    for f in flags.iter().take(MAX_FLAGS_SHOWN) {
        eprintln!("note: {name}: row {}, column {:?}: {:?} is {}", f.row, f.column, f.value, flag_meaning(f.flag));
    }
    if flags.len() > MAX_FLAGS_SHOWN {
        eprintln!("note: ... and {} more flagged values", flags.len() - MAX_FLAGS_SHOWN);
    }
    if json_summary {
        print_import_json(Some(&imported), Some(&parsed), None)?;
    } else {
        eprintln!(
            "imported {} register entries from {name} (import {}){}{}",
            imported.rows,
            imported.id,
            if imported.skipped > 0 { format!("; skipped {} bad rows", imported.skipped) } else { String::new() },
            if parsed.unmapped_columns.is_empty() {
                String::new()
            } else {
                format!("; columns kept as extra: {}", parsed.unmapped_columns.join(", "))
            },
        );
    }
    Ok(crate::exit::OK)
}

/// The stored inventory and register, reconciled.
struct Reconciled {
    build: InventoryBuild,
    import: RegisterImport,
    result: Reconciliation,
}

fn load(db: Option<PathBuf>) -> anyhow::Result<Reconciled> {
    let mut store = crate::query::open(db)?;
    let build = match store.latest_inventory_build()? {
        Some(b) => b,
        None if store.counts()?.captures == 0 => anyhow::bail!(
            "database {} has no inventory to reconcile with: run `otposture analyze <capture>` first",
            store.path().display()
        ),
        // A database analysed before the inventory was stored.
        None => crate::assets::rebuild(&mut store)?,
    };
    let Some(import) = store.latest_register_import()? else {
        anyhow::bail!(
            "database {} has no asset register: import one with `otposture cmdb import FILE` first",
            store.path().display()
        );
    };
    let assets = store.assets(&AssetFilter::default())?;
    let entries = store.register()?;
    let result = otposture_cmdb::reconcile(&entries, &assets)?;
    Ok(Reconciled { build, import, result })
}

fn inventory_json(b: &InventoryBuild) -> Value {
    json!({
        "built_at": Timestamp::from_parts(b.built_at_secs, 0).to_rfc3339(),
        "built_at_secs": b.built_at_secs,
        "assets": b.assets,
    })
}

/// Keeps only the class asked for (the summary stays whole).
fn keep_only(r: &mut Reconciliation, only: Option<Class>) {
    let Some(only) = only else { return };
    match only {
        Class::Matched => {}
        Class::Conflicting => r.matched.retain(|m| m.conflicting),
        _ => r.matched.clear(),
    }
    if only != Class::DiscoveredOnly {
        r.discovered_only.clear();
    }
    if only != Class::RegisterOnly {
        r.register_only.clear();
    }
    if only != Class::Ambiguous {
        r.ambiguous.clear();
    }
}

/// One line of the reconciliation table.
#[derive(Serialize)]
struct Line {
    status: &'static str,
    row: Option<u64>,
    asset: Option<String>,
    name: Option<String>,
    matched_by: Option<&'static str>,
    differs: String,
    register_ips: String,
    /// The network a register row names (shown when some row names one).
    network: Option<String>,
    discovered_ips: String,
}

impl Line {
    fn of(r: &Row) -> Self {
        let register_name = r.register.as_ref().and_then(|e| e.name.clone());
        let discovered_name = r.discovered.as_ref().and_then(|d| d.name.clone());
        let mut differs = r.differs.join(" ");
        if r.status == RowStatus::Ambiguous {
            differs =
                r.candidates.iter().map(|c| format!("{}?({})", c.asset, c.by.name())).collect::<Vec<_>>().join(" ");
        }
        Line {
            status: r.status.name(),
            row: r.row,
            asset: r.asset.clone(),
            name: register_name.or(discovered_name),
            matched_by: r.matched_by.map(|k| k.name()),
            differs,
            register_ips: r.register.as_ref().map(|e| e.ips.join(" ")).unwrap_or_default(),
            network: r.register.as_ref().and_then(|e| e.network.clone()),
            discovered_ips: r.discovered.as_ref().map(|d| d.ips.join(" ")).unwrap_or_default(),
        }
    }
}

fn reconcile(a: ReconcileArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let Reconciled { build, import, mut result } = load(db)?;
    keep_only(&mut result, a.only);
    match a.format {
        Format::Json => {
            let mut doc = serde_json::to_value(&result)?;
            if let Value::Object(map) = &mut doc {
                let mut out = serde_json::Map::new();
                out.insert("schema".into(), format!("otposture.reconcile/{RECONCILE_SCHEMA}").into());
                out.insert("register".into(), import_json(&import));
                out.insert("inventory".into(), inventory_json(&build));
                out.append(map);
                doc = Value::Object(out);
            }
            crate::assets::write_json(&doc)?;
        }
        Format::Csv => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            export::write_csv(&export::rows(&result), &mut out)?;
            out.flush()?;
        }
        Format::Table => {
            let lines: Vec<Line> = export::rows(&result).iter().map(Line::of).collect();
            let columns = crate::output::network_column(
                &[
                    ("status", "STATUS"),
                    ("row", "ROW"),
                    ("asset", "ASSET"),
                    ("name", "NAME"),
                    ("matched_by", "BY"),
                    ("differs", "DIFFERS / CANDIDATES"),
                    ("register_ips", "REGISTER IP"),
                    ("discovered_ips", "SEEN IP"),
                ],
                ("network", 7),
                lines.iter().any(|l| l.network.is_some()),
            );
            print(&lines, "rows", RECONCILE_SCHEMA, Format::Table, &columns)?;
            let s = result.summary;
            println!(
                "register {} entries, inventory {} assets: matched {} (conflicting {}), discovered only {}, register only {}, ambiguous {}",
                s.register_entries,
                s.assets,
                s.matched,
                s.conflicting,
                s.discovered_only,
                s.register_only,
                s.ambiguous
            );
        }
    }
    Ok(crate::exit::OK)
}

fn export(a: ExportArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let format = a.format.unwrap_or_else(|| {
        let json = a.output.as_ref().and_then(|p| p.extension()).is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json {
            ExportFormat::Json
        } else {
            ExportFormat::Csv
        }
    });
    let Reconciled { build, import, result } = load(db)?;
    let rows = export::rows(&result);
    let mut out: Box<dyn Write> = match &a.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match format {
        ExportFormat::Csv => export::write_csv(&rows, &mut out)?,
        ExportFormat::Json => {
            let doc = json!({
                "schema": format!("otposture.cmdb-export/{EXPORT_SCHEMA}"),
                "register": import_json(&import),
                "inventory": inventory_json(&build),
                "summary": result.summary,
                "rows": rows,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    if let Some(path) = &a.output {
        eprintln!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(crate::exit::OK)
}
