//! Vendor firmware versions and the version ranges of security advisories,
//! and whether a version is inside a range.
//!
//! One job: read a version as ICS vendors write it ([`Version`]: `V3.2.17`,
//! `32.011`, `SV3.10`, `R3.08.10`, `V19 Update 1`, `V2.9.2 HF3`), read a
//! range as advisories write it ([`Range`]: purl `vers:` URIs and the free
//! text of CISA ICS advisories such as `< V3.2.17`, `>=R3.08.10|<=R3.09.50`,
//! `All versions < V2.1` or the multi-branch `<v36.011_v35.013_v34.014`), and
//! decide containment ([`check`]) with three answers: affected, not affected,
//! needs review. What cannot be read or compared without guessing is
//! "needs review" with the raw text and the reason, never a guess.
//!
//! It does not read advisories (the intel crate imports CSAF, KEV and EPSS
//! and calls this crate per product node), does no I/O and keeps no state.
//! Inputs are bounded (text length, components, constraints), so parsing is
//! linear and never panics. Rules and coverage of the real corpus:
//! docs/versions.md.

mod check;
pub mod range;
pub mod version;

pub use check::{check, check_text, fixed, single, Match, Verdict};
pub use range::{Constraint, Op, Range, RangeKind};
pub use version::{NotAVersion, Qualifier, QualifierKind, Version};

#[cfg(test)]
mod tests;
