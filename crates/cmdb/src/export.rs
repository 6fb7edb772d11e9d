//! The reconciled inventory as one list: every register entry and every
//! asset exactly once, register and discovered values side by side, with a
//! status. Printed as JSON (`otposture.cmdb-export/1`) or CSV.

use crate::reconcile::{Ambiguous, Candidate, Discovered, Key, Match, Reconciliation};
use otposture_store::RegisterEntry;
use serde::Serialize;

/// Where a row of the reconciled inventory stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Registered and seen, every compared attribute agreeing (or on one side only).
    Matched,
    /// Registered and seen, and at least one attribute differs.
    Conflicting,
    /// Seen, not registered: an unmanaged device.
    DiscoveredOnly,
    /// Registered, not seen: stale, or quiet during the captures.
    RegisterOnly,
    /// Registered, and its keys point at assets without one clear match.
    Ambiguous,
}

impl RowStatus {
    /// The status's name in output.
    pub fn name(self) -> &'static str {
        match self {
            RowStatus::Matched => "matched",
            RowStatus::Conflicting => "conflicting",
            RowStatus::DiscoveredOnly => "discovered_only",
            RowStatus::RegisterOnly => "register_only",
            RowStatus::Ambiguous => "ambiguous",
        }
    }
}

/// One row of the reconciled inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Where it stands.
    pub status: RowStatus,
    /// Register row, when registered.
    pub row: Option<u64>,
    /// Asset id, when seen (and matched or unregistered).
    pub asset: Option<String>,
    /// The key that matched.
    pub matched_by: Option<Key>,
    /// Attributes that differ.
    pub differs: Vec<&'static str>,
    /// For an ambiguous entry, the assets its keys point at.
    pub candidates: Vec<Candidate>,
    /// The register's side.
    pub register: Option<RegisterEntry>,
    /// The traffic's side.
    pub discovered: Option<Discovered>,
}

impl Row {
    fn matched(m: &Match) -> Self {
        Row {
            status: if m.conflicting { RowStatus::Conflicting } else { RowStatus::Matched },
            row: Some(m.row),
            asset: Some(m.asset.clone()),
            matched_by: Some(m.matched_by),
            differs: m.differs.clone(),
            candidates: Vec::new(),
            register: Some(m.register.clone()),
            discovered: Some(m.discovered.clone()),
        }
    }

    fn ambiguous(a: &Ambiguous) -> Self {
        Row {
            status: RowStatus::Ambiguous,
            row: Some(a.row),
            asset: None,
            matched_by: None,
            differs: Vec::new(),
            candidates: a.candidates.clone(),
            register: Some(a.register.clone()),
            discovered: None,
        }
    }

    fn register_only(e: &RegisterEntry) -> Self {
        Row {
            status: RowStatus::RegisterOnly,
            row: Some(e.row),
            asset: None,
            matched_by: None,
            differs: Vec::new(),
            candidates: Vec::new(),
            register: Some(e.clone()),
            discovered: None,
        }
    }

    fn discovered_only(d: &Discovered) -> Self {
        Row {
            status: RowStatus::DiscoveredOnly,
            row: None,
            asset: Some(d.asset.clone()),
            matched_by: None,
            differs: Vec::new(),
            candidates: Vec::new(),
            register: None,
            discovered: Some(d.clone()),
        }
    }
}

/// Every entry (by register row), then every unregistered asset (by id).
pub fn rows(r: &Reconciliation) -> Vec<Row> {
    let mut out: Vec<Row> = r
        .matched
        .iter()
        .map(Row::matched)
        .chain(r.ambiguous.iter().map(Row::ambiguous))
        .chain(r.register_only.iter().map(Row::register_only))
        .collect();
    out.sort_by_key(|row| row.row);
    out.extend(r.discovered_only.iter().map(Row::discovered_only));
    out
}

/// The CSV header: status and keys, then the register's columns, then the traffic's.
pub const CSV_COLUMNS: &[&str] = &[
    "status",
    "row",
    "asset",
    "matched_by",
    "differs",
    "candidates",
    "register_name",
    "register_macs",
    "register_ips",
    "register_serial",
    "register_vendor",
    "register_vendor_raw",
    "register_model",
    "register_firmware",
    "register_role",
    "register_site",
    "register_network",
    "register_location",
    "register_owner",
    "register_asset_tag",
    "register_criticality",
    "register_notes",
    "register_extra",
    "register_flags",
    "discovered_name",
    "discovered_macs",
    "discovered_ips",
    "discovered_serial",
    "discovered_vendor",
    "discovered_model",
    "discovered_firmware",
    "discovered_role",
    "discovered_level",
    "discovered_first_seen",
    "discovered_last_seen",
];

/// A spreadsheet opening the file must not run a value as a formula: text
/// starting with `=`, `+`, `-`, `@`, tab or carriage return (that is not a
/// number) gets a leading `'`. Discovered names come from the network.
fn safe(s: &str) -> String {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One CSV record, in [`CSV_COLUMNS`] order.
pub fn csv_record(row: &Row) -> Vec<String> {
    let opt = |s: &Option<String>| s.as_deref().map(safe).unwrap_or_default();
    let mut out = vec![
        row.status.name().to_string(),
        row.row.map(|r| r.to_string()).unwrap_or_default(),
        opt(&row.asset),
        row.matched_by.map(|k| k.name().to_string()).unwrap_or_default(),
        row.differs.join(" "),
        row.candidates.iter().map(|c| format!("{} ({})", c.asset, c.by.name())).collect::<Vec<_>>().join(" "),
    ];
    match &row.register {
        Some(e) => {
            let extra =
                if e.extra.0.is_empty() { String::new() } else { serde_json::to_string(&e.extra).unwrap_or_default() };
            let flags = e.flags.iter().map(|f| format!("{}:{}={}", f.flag, f.column, f.value)).collect::<Vec<_>>();
            out.extend([
                opt(&e.name),
                e.macs.join(" "),
                e.ips.join(" "),
                opt(&e.serial),
                opt(&e.vendor),
                opt(&e.vendor_raw),
                opt(&e.model),
                opt(&e.firmware),
                opt(&e.role),
                opt(&e.site),
                opt(&e.network),
                opt(&e.location),
                opt(&e.owner),
                opt(&e.asset_tag),
                opt(&e.criticality),
                opt(&e.notes),
                safe(&extra),
                safe(&flags.join("; ")),
            ]);
        }
        None => out.extend(std::iter::repeat_n(String::new(), 18)),
    }
    match &row.discovered {
        Some(d) => out.extend([
            opt(&d.name),
            d.macs.join(" "),
            d.ips.join(" "),
            opt(&d.serial),
            opt(&d.vendor),
            opt(&d.model),
            opt(&d.firmware),
            safe(&d.role),
            d.level.map(|l| l.to_string()).unwrap_or_default(),
            d.first_seen.clone(),
            d.last_seen.clone(),
        ]),
        None => out.extend(std::iter::repeat_n(String::new(), 11)),
    }
    out
}

/// Writes the header and every row as CSV.
pub fn write_csv<W: std::io::Write>(rows: &[Row], w: W) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(CSV_COLUMNS)?;
    for r in rows {
        out.write_record(csv_record(r))?;
    }
    out.flush()?;
    Ok(())
}
