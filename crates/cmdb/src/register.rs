//! Reading an asset register: CSV or JSON, its columns mapped to the
//! register's fields (by name, by a preset for ServiceNow or NetBox exports,
//! or by the user's `--map`), every value checked, every problem located by
//! row and column.
//!
//! Reading is all or nothing by default: [`Parsed::accept`] refuses a file
//! with any bad row and returns every error; with `skip_bad_rows` it keeps
//! the good rows. Values that are understood but not recognised (a vendor the
//! inventory's vendor table does not know, a placeholder MAC or serial) are
//! kept as written and flagged, never dropped. Pure: no I/O, the caller reads
//! the file.

use crate::error::{RegisterError, RowError, RowErrorKind};
use crate::values;
use otposture_inventory::vendor;
use otposture_store::{Attributes, RegisterEntry, RegisterFlag};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// A field of the register; its name is also the canonical column name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Name (host name, tag).
    Name,
    /// One or several MAC addresses.
    Mac,
    /// One or several IP addresses.
    Ip,
    /// Serial number.
    Serial,
    /// Vendor (manufacturer).
    Vendor,
    /// Model.
    Model,
    /// Firmware version.
    Firmware,
    /// Role (an inventory role or a synonym).
    Role,
    /// Site.
    Site,
    /// Location.
    Location,
    /// Owner.
    Owner,
    /// Asset tag.
    AssetTag,
    /// Criticality.
    Criticality,
    /// Notes.
    Notes,
    /// The network its addresses are in (`analyze --network`).
    Network,
}

impl Field {
    /// Every field, in column order.
    pub const ALL: [Field; 15] = [
        Field::Name,
        Field::Mac,
        Field::Ip,
        Field::Serial,
        Field::Vendor,
        Field::Model,
        Field::Firmware,
        Field::Role,
        Field::Site,
        Field::Location,
        Field::Owner,
        Field::AssetTag,
        Field::Criticality,
        Field::Notes,
        Field::Network,
    ];

    /// The canonical column name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Mac => "mac",
            Field::Ip => "ip",
            Field::Serial => "serial",
            Field::Vendor => "vendor",
            Field::Model => "model",
            Field::Firmware => "firmware",
            Field::Role => "role",
            Field::Site => "site",
            Field::Location => "location",
            Field::Owner => "owner",
            Field::AssetTag => "asset_tag",
            Field::Criticality => "criticality",
            Field::Notes => "notes",
            Field::Network => "network",
        }
    }

    /// Parses [`Field::name`], any case.
    pub fn parse(s: &str) -> Option<Field> {
        let s = s.trim();
        Field::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(s))
    }

    /// Fields that identify a device: a row needs one of them.
    fn identifies(self) -> bool {
        matches!(self, Field::Name | Field::Mac | Field::Ip | Field::Serial)
    }

    /// Fields that hold several values (every mapped column is read).
    fn is_list(self) -> bool {
        matches!(self, Field::Mac | Field::Ip)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Column names of common exports, per field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// ServiceNow `cmdb_ci` / `cmdb_ci_hardware` list exports: field names
    /// (`ip_address`) or their labels (`IP Address`).
    ServiceNow,
    /// NetBox device list exports (`Name`, `Serial number`, `IPv4 Address`,
    /// `Primary IPv4`, ...); IP prefix lengths are dropped.
    NetBox,
}

impl Preset {
    /// The preset's name (`--preset`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::ServiceNow => "servicenow",
            Preset::NetBox => "netbox",
        }
    }

    /// Parses [`Preset::name`], any case.
    pub fn parse(s: &str) -> Option<Preset> {
        [Preset::ServiceNow, Preset::NetBox].into_iter().find(|p| p.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The source columns of each field, first preferred. Fields not listed
    /// are not read; the columns they would name stay in `extra`.
    fn columns(self) -> &'static [(Field, &'static [&'static str])] {
        match self {
            Preset::ServiceNow => &[
                (Field::Name, &["name"]),
                (Field::Mac, &["mac_address", "MAC Address"]),
                (Field::Ip, &["ip_address", "IP Address"]),
                (Field::Serial, &["serial_number", "Serial number"]),
                (Field::Vendor, &["manufacturer"]),
                (Field::Model, &["model_id", "Model ID", "model_number", "Model number"]),
                (Field::Firmware, &["firmware_version", "Firmware version"]),
                (Field::Location, &["location"]),
                (Field::Owner, &["owned_by", "Owned by", "assigned_to", "Assigned to", "managed_by", "Managed by"]),
                (Field::AssetTag, &["asset_tag", "Asset tag"]),
                (Field::Notes, &["comments", "short_description", "Description"]),
            ],
            Preset::NetBox => &[
                (Field::Name, &["Name"]),
                (
                    Field::Ip,
                    &["IP Address", "Primary IP", "IPv4 Address", "Primary IPv4", "IPv6 Address", "Primary IPv6"],
                ),
                (Field::Serial, &["Serial number", "Serial"]),
                (Field::Vendor, &["Manufacturer"]),
                (Field::Model, &["Type", "Device Type"]),
                (Field::Role, &["Role", "Device Role"]),
                (Field::Site, &["Site"]),
                (Field::Location, &["Location"]),
                (Field::Owner, &["Tenant"]),
                (Field::AssetTag, &["Asset tag"]),
                (Field::Notes, &["Comments", "Description"]),
            ],
        }
    }
}

/// Which source columns feed each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    columns: BTreeMap<Field, Vec<String>>,
    preset: Option<Preset>,
    /// Fields the user mapped: their columns must exist in the file.
    by_user: BTreeMap<Field, Vec<String>>,
}

impl Default for Mapping {
    /// Each field read from the column of its own name.
    fn default() -> Self {
        Mapping {
            columns: Field::ALL.into_iter().map(|f| (f, vec![f.name().to_string()])).collect(),
            preset: None,
            by_user: BTreeMap::new(),
        }
    }
}

impl Mapping {
    /// A preset's columns.
    pub fn preset(p: Preset) -> Self {
        Mapping {
            columns: p.columns().iter().map(|(f, cols)| (*f, cols.iter().map(|c| c.to_string()).collect())).collect(),
            preset: Some(p),
            by_user: BTreeMap::new(),
        }
    }

    /// `--map FIELD=COLUMN`: the first mapping of a field replaces what the
    /// preset (or the default) reads; more mappings of it add columns (for
    /// `mac` and `ip` every column is read; for the others the first
    /// non-empty one). An empty column leaves the field out.
    pub fn map(&mut self, field: Field, column: &str) {
        let column = column.trim();
        let user = self.by_user.entry(field).or_default();
        if column.is_empty() {
            user.clear();
        } else {
            user.push(column.to_string());
        }
        self.columns.insert(field, user.clone());
    }

    /// The preset, if one was chosen.
    pub fn preset_in_use(&self) -> Option<Preset> {
        self.preset
    }

    /// Field -> columns, for the record of an import.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.columns
                .iter()
                .filter(|(_, c)| !c.is_empty())
                .map(|(f, c)| (f.name().to_string(), Value::from(c.clone())))
                .collect(),
        )
    }

    /// Folded column name -> (field, preference) for every mapped column.
    fn lookup(&self) -> HashMap<String, Vec<(Field, usize)>> {
        let mut out: HashMap<String, Vec<(Field, usize)>> = HashMap::new();
        for (field, cols) in &self.columns {
            for (i, c) in cols.iter().enumerate() {
                out.entry(header_key(c)).or_default().push((*field, i));
            }
        }
        out
    }
}

/// A header as headers are matched: trimmed, any case.
fn header_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The register's file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Comma, semicolon or tab separated, with a header row.
    Csv,
    /// An array of objects, or an object holding one.
    Json,
}

impl Format {
    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// The format a file name's extension implies (`.csv`, `.tsv`, `.txt`, `.json`).
    pub fn from_file_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// What reading a register gave: the good entries, every row error, and
/// what the file held besides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The file as the user named it.
    pub file: String,
    /// Good rows, by row.
    pub entries: Vec<RegisterEntry>,
    /// Every error, by row then column.
    pub errors: Vec<RowError>,
    /// Rows read (without blank rows).
    pub rows: u64,
    /// Rows with every cell empty, passed over.
    pub blank_rows: u64,
    /// Columns no field maps: kept per entry in `extra`.
    pub unmapped_columns: Vec<String>,
    /// The columns each field was read from in this file.
    pub columns_used: BTreeMap<Field, Vec<String>>,
}

impl Parsed {
    /// Rows with at least one error.
    pub fn bad_rows(&self) -> u64 {
        let mut rows: Vec<u64> = self.errors.iter().map(|e| e.row).collect();
        rows.dedup();
        rows.len() as u64
    }

    /// The entries to import: all of them when no row is bad; else, with
    /// `skip_bad_rows`, the good ones, otherwise none (an error with every
    /// row error).
    pub fn accept(&self, skip_bad_rows: bool) -> Result<&[RegisterEntry], RegisterError> {
        if self.errors.is_empty() || skip_bad_rows {
            return Ok(&self.entries);
        }
        Err(RegisterError::BadRows {
            file: self.file.clone(),
            bad_rows: self.bad_rows(),
            good: self.entries.len() as u64,
            errors: self.errors.clone(),
        })
    }
}

/// One cell as read: text, several texts (a JSON array), or a value that
/// could not be read as text (with why).
#[derive(Clone, Debug)]
enum Cell {
    Text(String),
    List(Vec<String>),
    /// Why it cannot be read as a value, and its JSON text when it can still
    /// be kept in `extra` (an object or nested list in an unmapped column).
    Bad(RowErrorKind, String, Option<String>),
}

impl Cell {
    fn is_empty(&self) -> bool {
        match self {
            Cell::Text(t) => is_blank(t),
            Cell::List(l) => l.iter().all(|t| is_blank(t)),
            Cell::Bad(..) => false,
        }
    }
}

/// Empty, spaces, or NetBox's em dash for "no value".
fn is_blank(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t == "\u{2014}"
}

/// One row before its values are checked.
struct RawRow {
    row: u64,
    line: Option<u64>,
    /// (column as the file names it, cell), in file order.
    cells: Vec<(String, Cell)>,
}

/// Reads a register file. A problem with the whole file is an error; problems
/// with rows are collected in [`Parsed::errors`], all of them.
pub fn parse(bytes: &[u8], format: Format, mapping: &Mapping, file: &str) -> Result<Parsed, RegisterError> {
    let (columns, raw, blank_rows) = match format {
        Format::Csv => read_csv(bytes, file)?,
        Format::Json => read_json(bytes, file)?,
    };
    let total_rows = raw.len() as u64;
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(raw.len());
    for r in raw {
        match r {
            Ok(r) => rows.push(r),
            Err(e) => errors.push(e),
        }
    }
    if total_rows == 0 {
        return Err(RegisterError::Empty { file: file.to_string(), what: "no data row" });
    }
    let lookup = mapping.lookup();
    let listed = || columns.join(", ");
    // A column name twice is ambiguous when it feeds a field (unmapped ones both go to `extra`).
    for (i, h) in columns.iter().enumerate() {
        let key = header_key(h);
        if !lookup.contains_key(&key) {
            continue;
        }
        if let Some(j) = columns.iter().take(i).position(|x| header_key(x) == key) {
            let (first, second) = (j + 1, i + 1);
            return Err(RegisterError::DuplicateColumn { file: file.to_string(), column: h.clone(), first, second });
        }
    }

    // Every column the user mapped must exist; some column must identify.
    let present: HashMap<String, usize> = columns.iter().enumerate().map(|(i, c)| (header_key(c), i)).collect();
    for (field, cols) in &mapping.by_user {
        if let Some(c) = cols.iter().find(|c| !present.contains_key(&header_key(c))) {
            return Err(RegisterError::MissingColumn {
                file: file.to_string(),
                field: field.name(),
                column: c.clone(),
                columns: listed(),
            });
        }
    }
    let mut columns_used: BTreeMap<Field, Vec<String>> = BTreeMap::new();
    let mut unmapped_columns = Vec::new();
    for c in &columns {
        match lookup.get(&header_key(c)) {
            Some(fields) => {
                for (f, _) in fields {
                    columns_used.entry(*f).or_default().push(c.clone());
                }
            }
            None => unmapped_columns.push(c.clone()),
        }
    }
    if !columns_used.keys().any(|f| f.identifies()) {
        return Err(RegisterError::NoIdentityColumn { file: file.to_string(), columns: listed() });
    }

    let mut built = Vec::new();
    for r in &rows {
        match entry(r, &lookup, file) {
            Ok(b) => built.push(b),
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    // A MAC or serial names one device: a later row repeating one is bad.
    let mut entries = Vec::with_capacity(built.len());
    let mut mac_rows: HashMap<String, u64> = HashMap::new();
    let mut serial_rows: HashMap<String, u64> = HashMap::new();
    let lines: HashMap<u64, Option<u64>> = rows.iter().map(|r| (r.row, r.line)).collect();
    for Built { entry: e, mac_column, serial_column } in built {
        let line = lines.get(&e.row).copied().flatten();
        let mut dup = Vec::new();
        for m in &e.macs {
            if let Some(first) = mac_rows.get(m) {
                let why = format!("MAC {m} is also on row {first}; a MAC names one device");
                dup.push(row_error(file, e.row, line, mac_column.clone(), RowErrorKind::DuplicateMac, why));
            }
        }
        let serial = e.serial.as_deref().map(values::serial_key);
        if let Some(first) = serial.as_ref().and_then(|s| serial_rows.get(s)) {
            let why = format!(
                "serial {:?} is also on row {first}; a serial names one device",
                e.serial.as_deref().unwrap_or_default()
            );
            dup.push(row_error(file, e.row, line, serial_column.clone(), RowErrorKind::DuplicateSerial, why));
        }
        if dup.is_empty() {
            for m in &e.macs {
                mac_rows.insert(m.clone(), e.row);
            }
            if let Some(s) = serial {
                serial_rows.insert(s, e.row);
            }
            entries.push(e);
        } else {
            errors.append(&mut dup);
        }
    }
    let position = |c: &Option<String>| c.as_ref().and_then(|c| present.get(&header_key(c)).copied());
    errors.sort_by_key(|e| (e.row, position(&e.column).map_or(0, |p| p + 1)));
    Ok(Parsed { file: file.to_string(), entries, errors, rows: total_rows, blank_rows, unmapped_columns, columns_used })
}

fn row_error(
    file: &str,
    row: u64,
    line: Option<u64>,
    column: Option<String>,
    kind: RowErrorKind,
    message: String,
) -> RowError {
    RowError { file: file.to_string(), row, line, column, kind, message }
}

/// A row's entry, with the columns its MACs and serial came from (for
/// duplicate errors).
struct Built {
    entry: RegisterEntry,
    mac_column: Option<String>,
    serial_column: Option<String>,
}

/// Each field's cells in a row, in the mapping's order of preference.
struct FieldCells<'a>(BTreeMap<Field, Vec<(usize, &'a str, &'a Cell)>>);

impl<'a> FieldCells<'a> {
    fn cells(&self, f: Field) -> &[(usize, &'a str, &'a Cell)] {
        self.0.get(&f).map(Vec::as_slice).unwrap_or_default()
    }

    /// The first non-empty value of a one-value field, with its column (a
    /// one-element JSON list counts as its element).
    fn one(&self, f: Field) -> Option<(&'a str, String)> {
        self.cells(f).iter().find_map(|(_, col, c)| match c {
            Cell::Text(t) if !is_blank(t) => Some((*col, t.trim().to_string())),
            Cell::List(l) if l.len() == 1 => l.first().filter(|v| !is_blank(v)).map(|v| (*col, v.trim().to_string())),
            _ => None,
        })
    }

    /// Every value of a list field, with its column.
    fn many(&self, f: Field) -> Vec<(&'a str, String)> {
        let mut out = Vec::new();
        for (_, col, c) in self.cells(f) {
            let texts: &[String] = match c {
                Cell::Text(t) => std::slice::from_ref(t),
                Cell::List(l) => l,
                Cell::Bad(..) => &[],
            };
            for t in texts.iter().filter(|t| !is_blank(t)) {
                out.extend(values::split_list(t).filter(|v| !is_blank(v)).map(|v| (*col, v.to_string())));
            }
        }
        out
    }
}

/// The entry of a row with every value checked; or every error of the row.
fn entry(r: &RawRow, lookup: &HashMap<String, Vec<(Field, usize)>>, file: &str) -> Result<Built, Vec<RowError>> {
    let mut errors = Vec::new();
    let err =
        |column: &str, kind, message: String| row_error(file, r.row, r.line, Some(column.to_string()), kind, message);
    let mut by_field: BTreeMap<Field, Vec<(usize, &str, &Cell)>> = BTreeMap::new();
    let mut extra = Vec::new();
    for (column, cell) in &r.cells {
        let fields = lookup.get(&header_key(column));
        match (cell, fields) {
            (Cell::Bad(_, _, Some(raw)), None) => extra.push((column.clone(), raw.clone())),
            (Cell::Bad(kind, why, _), _) => errors.push(err(column, *kind, why.clone())),
            (_, Some(fields)) => {
                for (f, pref) in fields {
                    by_field.entry(*f).or_default().push((*pref, column.as_str(), cell));
                }
            }
            (Cell::Text(t), None) if !is_blank(t) => extra.push((column.clone(), t.trim().to_string())),
            (Cell::List(l), None) if !cell.is_empty() => extra.push((column.clone(), l.join(" "))),
            (_, None) => {}
        }
    }
    for cells in by_field.values_mut() {
        cells.sort_by_key(|(pref, _, _)| *pref);
    }
    for (f, cells) in &by_field {
        for (_, col, c) in cells {
            if let Cell::List(l) = c {
                if !f.is_list() && l.len() > 1 {
                    errors.push(err(
                        col,
                        RowErrorKind::BadValue,
                        format!("holds a list of {} values; {f} takes one", l.len()),
                    ));
                }
            }
        }
    }
    let fields = FieldCells(by_field);

    let mut e = RegisterEntry { row: r.row, ..RegisterEntry::default() };
    let mut flags = Vec::new();
    let mut mac_col = None;
    // Addresses once each, in the order written (a set: a cell may hold thousands).
    let mut seen = HashSet::new();
    for (col, v) in fields.many(Field::Mac) {
        match values::parse_mac(&v) {
            // All zeros or a group address: a placeholder, not a device's MAC.
            Ok(m) if !m.names_a_station() => flags.push(flag("placeholder_mac", col, &v)),
            Ok(m) => {
                let text = m.to_string();
                if seen.insert(text.clone()) {
                    e.macs.push(text);
                }
                mac_col.get_or_insert_with(|| col.to_string());
            }
            Err(why) => errors.push(err(col, RowErrorKind::BadMac, why)),
        }
    }
    for (col, v) in fields.many(Field::Ip) {
        match values::parse_ip(&v) {
            Ok(ip) if ip.is_unspecified() => flags.push(flag("placeholder_ip", col, &v)),
            Ok(ip) => {
                let text = ip.to_string();
                if seen.insert(text.clone()) {
                    e.ips.push(text);
                }
            }
            Err(why) => errors.push(err(col, RowErrorKind::BadIp, why)),
        }
    }
    let mut serial_col = None;
    if let Some((col, v)) = fields.one(Field::Serial) {
        if values::is_placeholder_serial(&v) {
            flags.push(flag("placeholder_serial", col, &v));
        } else {
            e.serial = Some(v);
            serial_col = Some(col.to_string());
        }
    }
    if let Some((col, v)) = fields.one(Field::Vendor) {
        if vendor::canonical(&v).is_none() {
            flags.push(flag("vendor_unrecognised", col, &v));
        }
        e.vendor = vendor::normalise(&v);
        e.vendor_raw = Some(v);
    }
    if let Some((col, v)) = fields.one(Field::Role) {
        match values::parse_role(&v) {
            Ok(role) => e.role = Some(role.name().to_string()),
            Err(why) => errors.push(err(col, RowErrorKind::UnknownRole, why)),
        }
    }
    // A network the inventory could not have (not a network name) is kept
    // as written, flagged, and the entry's addresses match in any network.
    if let Some((col, v)) = fields.one(Field::Network) {
        match otposture_model::check_network_name(&v) {
            Ok(()) => e.network = Some(v),
            Err(_) => flags.push(flag("network_unrecognised", col, &v)),
        }
    }
    let text = |f: Field| fields.one(f).map(|(_, v)| v);
    e.name = text(Field::Name);
    e.model = text(Field::Model);
    e.firmware = text(Field::Firmware);
    e.site = text(Field::Site);
    e.location = text(Field::Location);
    e.owner = text(Field::Owner);
    e.asset_tag = text(Field::AssetTag);
    e.criticality = text(Field::Criticality);
    e.notes = text(Field::Notes);
    e.extra = Attributes(extra);
    e.flags = flags;
    let identified = e.name.is_some() || !e.macs.is_empty() || !e.ips.is_empty() || e.serial.is_some();
    if !identified && errors.is_empty() {
        let placeholders = e.flags.iter().any(|f| f.flag.starts_with("placeholder"));
        errors.push(row_error(
            file,
            r.row,
            r.line,
            None,
            RowErrorKind::NoIdentity,
            if placeholders {
                "has only placeholder identities (an all-zero MAC, N/A serial...): nothing to match it by".to_string()
            } else {
                "has no name, mac, ip or serial: nothing to match it by".to_string()
            },
        ));
    }
    if errors.is_empty() {
        Ok(Built { entry: e, mac_column: mac_col, serial_column: serial_col })
    } else {
        Err(errors)
    }
}

fn flag(kind: &str, column: &str, value: &str) -> RegisterFlag {
    RegisterFlag { flag: kind.to_string(), column: column.to_string(), value: value.to_string() }
}

/// The header's columns, each data row (or its error), and how many blank rows were passed over.
type Table = (Vec<String>, Vec<Result<RawRow, RowError>>, u64);

/// The delimiter the header line uses most: `,`, `;` (spreadsheets in many
/// locales) or tab; quoted text is not counted.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let (mut comma, mut semi, mut tab) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => comma += 1,
            b';' if !quoted => semi += 1,
            b'\t' if !quoted => tab += 1,
            _ => {}
        }
    }
    if tab > comma && tab >= semi {
        b'\t'
    } else if semi > comma {
        b';'
    } else {
        b','
    }
}

fn read_csv(bytes: &[u8], file: &str) -> Result<Table, RegisterError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(bytes))
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let read = |reader: &mut csv::Reader<&[u8]>, record: &mut csv::ByteRecord, row: u64| {
        reader.read_byte_record(record).map_err(|e| RegisterError::Csv {
            file: file.to_string(),
            row,
            message: e.to_string(),
        })
    };
    if !read(&mut reader, &mut record, 1)? {
        return Err(RegisterError::Empty { file: file.to_string(), what: "the file is empty" });
    }
    let mut header = Vec::with_capacity(record.len());
    for (i, h) in record.iter().enumerate() {
        match std::str::from_utf8(h) {
            Ok(s) if s.trim().is_empty() => header.push(format!("#{}", i + 1)),
            Ok(s) => header.push(s.trim().to_string()),
            // A header that cannot be read makes every row unreadable.
            Err(e) => {
                return Err(RegisterError::Csv {
                    file: file.to_string(),
                    row: 1,
                    message: format!(
                        "column {} of the header is not valid UTF-8 (byte {} of its name); save the file as UTF-8",
                        i + 1,
                        e.valid_up_to() + 1
                    ),
                })
            }
        }
    }
    let mut rows = Vec::new();
    let mut blank = 0u64;
    // Spreadsheet rows: one per record, and one per blank line the reader passed over.
    let mut lines = LineCursor { bytes, at: 0, line: 1 };
    let (mut row, mut next_line) = (1u64, record_end_line(&record, lines.line_of(&record)));
    loop {
        if !read(&mut reader, &mut record, row + 1)? {
            break;
        }
        let line = lines.line_of(&record);
        row += 1 + line.saturating_sub(next_line);
        next_line = record_end_line(&record, line);
        let line = (line != row).then_some(line);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            blank += 1;
            continue;
        }
        if record.len() != header.len() {
            rows.push(Err(row_error(
                file,
                row,
                line,
                None,
                RowErrorKind::FieldCount,
                format!("has {} fields, the header has {}", record.len(), header.len()),
            )));
            continue;
        }
        let cells = header
            .iter()
            .zip(record.iter())
            .map(|(h, f)| {
                let cell = match std::str::from_utf8(f) {
                    Ok(s) => Cell::Text(s.to_string()),
                    Err(e) => Cell::Bad(
                        RowErrorKind::InvalidUtf8,
                        format!(
                            "is not valid UTF-8 (byte {} of the value); save the file as UTF-8",
                            e.valid_up_to() + 1
                        ),
                        None,
                    ),
                };
                (h.clone(), cell)
            })
            .collect();
        rows.push(Ok(RawRow { row, line, cells }));
    }
    Ok((header, rows, blank))
}

/// Finds the line each record starts on. The reader's own line count starts
/// before the blank lines it skips, so lines are counted from byte offsets.
struct LineCursor<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl LineCursor<'_> {
    fn line_of(&mut self, record: &csv::ByteRecord) -> u64 {
        let mut start = record.position().map_or(self.at, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        while matches!(self.bytes.get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        let start = start.min(self.bytes.len()).max(self.at);
        let newlines = self.bytes.get(self.at..start).map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
        self.line += newlines as u64;
        self.at = start;
        self.line
    }
}

/// The line after a record that starts at `line`: one more than the lines its fields span.
fn record_end_line(record: &csv::ByteRecord, line: u64) -> u64 {
    let newlines: usize = record.iter().map(|f| f.iter().filter(|&&b| b == b'\n').count()).sum();
    line + 1 + newlines as u64
}

fn read_json(bytes: &[u8], file: &str) -> Result<Table, RegisterError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        RegisterError::Json {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_string(),
        }
    })?;
    let not = |reason: String| RegisterError::NotARegister { file: file.to_string(), reason };
    let items = match doc {
        Value::Array(items) => items,
        Value::Object(mut map) => {
            let key = ["assets", "records", "result"].into_iter().find(|k| map.contains_key(*k));
            match key.and_then(|k| map.remove(k)) {
                Some(Value::Array(items)) => items,
                Some(_) => return Err(not(format!("its {:?} member is not an array", key.unwrap_or_default()))),
                None => return Err(not("it is an object without an \"assets\" array".into())),
            }
        }
        other => return Err(not(format!("it is a JSON {}", kind_of(&other)))),
    };
    if items.is_empty() {
        return Err(RegisterError::Empty { file: file.to_string(), what: "the array is empty" });
    }
    let mut columns: Vec<String> = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut rows = Vec::with_capacity(items.len());
    let mut blank = 0;
    for (i, item) in items.into_iter().enumerate() {
        let row = i as u64 + 1;
        let Value::Object(map) = item else {
            rows.push(Err(row_error(
                file,
                row,
                None,
                None,
                RowErrorKind::NotAnObject,
                format!("is a JSON {}, not an object of columns", kind_of(&item)),
            )));
            continue;
        };
        let mut cells = Vec::with_capacity(map.len());
        for (k, v) in map {
            if seen.insert(header_key(&k), ()).is_none() {
                columns.push(k.trim().to_string());
            }
            cells.push((k.trim().to_string(), json_cell(v)));
        }
        if cells.iter().all(|(_, c)| c.is_empty()) {
            blank += 1;
            continue;
        }
        rows.push(Ok(RawRow { row, line: None, cells }));
    }
    Ok((columns, rows, blank))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON value as a cell: text for scalars; a list for an array of
/// scalars; for an object (a reference in ServiceNow or NetBox exports) its
/// `display_value`, `display`, `name`, `address` or `value` member.
fn json_cell(v: Value) -> Cell {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            Value::Array(_) | Value::Object(_) => None,
        }
    }
    fn reference(v: &Value) -> Option<String> {
        let map = v.as_object()?;
        ["display_value", "display", "name", "address", "value"].iter().find_map(|k| map.get(*k).and_then(scalar))
    }
    if let Some(s) = scalar(&v) {
        return Cell::Text(s);
    }
    if let Some(s) = reference(&v) {
        return Cell::Text(s);
    }
    let raw = Some(v.to_string());
    match v {
        Value::Array(items) => {
            let texts: Option<Vec<String>> = items.iter().map(|x| scalar(x).or_else(|| reference(x))).collect();
            match texts {
                Some(t) => Cell::List(t),
                None => Cell::Bad(RowErrorKind::BadValue, "holds nested lists or objects; expected values".into(), raw),
            }
        }
        _ => Cell::Bad(
            RowErrorKind::BadValue,
            "holds an object without display_value, display, name, address or value; expected a value".into(),
            raw,
        ),
    }
}
