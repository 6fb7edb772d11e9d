//! Output formats shared by the listing commands: an aligned text table, JSON
//! with a versioned envelope, and CSV with every field.

use serde::Serialize;
use serde_json::Value;
use std::io::Write;

/// How a listing is printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Aligned columns for people.
    Table,
    /// `{"schema": "otposture.<kind>/<version>", "<kind>": [...]}` (docs/json-schema.md).
    Json,
    /// One header row, then every field of every row.
    Csv,
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The column of a network name (`analyze --network`), for the tables that
/// show it only when some row is in a named network: without named networks
/// a table reads as before they existed.
pub(crate) fn network_column<'a>(
    columns: &[(&'a str, &'a str)],
    (field, at): (&'a str, usize),
    shown: bool,
) -> Vec<(&'a str, &'a str)> {
    let mut columns = columns.to_vec();
    if shown {
        columns.insert(at.min(columns.len()), (field, "NETWORK"));
    }
    columns
}

/// Prints rows. `table_columns` picks what the table shows; JSON and CSV carry everything.
pub(crate) fn print<T: Serialize>(
    rows: &[T],
    kind: &str,
    schema_version: u32,
    format: Format,
    table_columns: &[(&str, &str)],
) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "schema": format!("otposture.{kind}/{schema_version}"),
                kind: rows,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let values: Vec<Value> = rows.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
            let mut w = csv::Writer::from_writer(&mut out);
            // Every key of every row, in order of appearance: a field left out
            // of some rows (a host's network, in the unnamed network) is still a column.
            let mut header: Vec<String> = Vec::new();
            for v in &values {
                if let Value::Object(m) = v {
                    for k in m.keys() {
                        if !header.contains(k) {
                            header.push(k.clone());
                        }
                    }
                }
            }
            if !header.is_empty() {
                w.write_record(&header)?;
            }
            for v in &values {
                w.write_record(header.iter().map(|h| cell(v.get(h))))?;
            }
            w.flush()?;
        }
        Format::Table => {
            let values: Vec<Value> = rows.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
            let grid: Vec<Vec<String>> =
                values.iter().map(|v| table_columns.iter().map(|(field, _)| cell(v.get(*field))).collect()).collect();
            let mut widths: Vec<usize> = table_columns.iter().map(|(_, title)| title.len()).collect();
            for row in &grid {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: &mut dyn Iterator<Item = String>| -> String {
                cells
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            writeln!(out, "{}", line(&mut table_columns.iter().map(|(_, t)| t.to_string())))?;
            for row in grid {
                writeln!(out, "{}", line(&mut row.into_iter()))?;
            }
            writeln!(out, "({} {kind})", values.len())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes one pre-serialised document as the next item of a streamed JSON
/// array (one item per line); `written` counts the items so far.
pub(crate) fn array_item(out: &mut impl std::io::Write, written: &mut u64, doc: &str) -> std::io::Result<()> {
    let sep = if *written == 0 { "\n    " } else { ",\n    " };
    *written += 1;
    write!(out, "{sep}{doc}")
}

/// Closes a streamed JSON array of `written` items.
pub(crate) fn array_end(out: &mut impl std::io::Write, written: u64) -> std::io::Result<()> {
    write!(out, "{}", if written == 0 { "]" } else { "\n  ]" })
}
