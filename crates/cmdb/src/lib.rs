//! The asset register (CMDB) against the discovered inventory.
//!
//! One job: read a register export (CSV or JSON, its columns mapped by name,
//! by a ServiceNow or NetBox preset, or by the user) into checked entries
//! ([`register`]), and reconcile those entries with the stored inventory
//! ([`reconcile`]) into matched devices (with every attribute compared),
//! unmanaged devices (seen, not registered), register entries not seen, and
//! entries that cannot be matched without guessing; and lay the result out
//! as one list for export ([`export`]).
//!
//! It does not read files, open the database or print: the binary reads the
//! file, stores the entries (crates/store) and prints. Vendor names are
//! normalised with the inventory's own table, so "SIEMENS AG" in a register
//! and "Siemens" from the traffic agree. See docs/cmdb.md.

mod error;
pub mod export;
pub mod reconcile;
pub mod register;
mod values;

pub use error::{ReconcileError, RegisterError, RowError, RowErrorKind};
pub use reconcile::{reconcile, Reconciliation};
pub use register::{parse, Field, Format, Mapping, Parsed, Preset};

#[cfg(test)]
mod tests;
