//! Whether an observed version is inside an advisory's range, with an honest
//! third answer.
//!
//! `Affected` only when every comparison that decides it is definite;
//! `NotAffected` when a definite comparison puts the version outside (an
//! exclusive upper bound is the advisory's fixed version, so the fixed version
//! itself is never affected); `NeedsReview` otherwise, with the reason.

use crate::range::{Constraint, Op, Range, RangeKind};
use crate::version::{clip, Version};
use std::cmp::Ordering;
use std::fmt;

/// The answer for one observed version and one range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The version is inside the range: the reason names the constraint that
    /// held.
    Affected {
        /// Which constraint held, for the user.
        reason: String,
    },
    /// The version is outside the range: the reason names the bound.
    NotAffected {
        /// Which bound excluded the version, for the user.
        reason: String,
    },
    /// No definite answer: the range was not read, or a comparison that
    /// decides it is not defined.
    NeedsReview {
        /// What a person has to look at.
        reason: String,
    },
}

impl Verdict {
    /// The reason shown to users.
    pub fn reason(&self) -> &str {
        match self {
            Verdict::Affected { reason } | Verdict::NotAffected { reason } | Verdict::NeedsReview { reason } => reason,
        }
    }

    /// `affected`, `not_affected` or `needs_review`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Affected { .. } => "affected",
            Verdict::NotAffected { .. } => "not_affected",
            Verdict::NeedsReview { .. } => "needs_review",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.label(), self.reason())
    }
}

/// Whether one bound admits `v`: `Some(true)` inside, `Some(false)` outside,
/// `None` when the versions cannot be compared.
///
/// A bound written with fewer components than the observed version, which
/// extends it (`3.2.1` against `3.2`), is `None` for `<=`, `>`, `=` and `!=`:
/// advisories write `3.2` both for the 3.2 release and for the whole 3.2
/// line, and those comparators answer differently for the two. `<` and `>=`
/// answer the same either way, so they decide.
fn admits(c: &Constraint, v: &Version) -> Option<bool> {
    let o = v.compare(&c.version)?;
    if ambiguous_line(c, v, o) {
        return None;
    }
    Some(match c.op {
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
    })
}

/// The intervals of sorted, alternating bounds (purl vers containment):
/// a leading upper bound is open below, a trailing lower bound open above,
/// and each lower bound pairs with the next upper bound.
fn intervals(bounds: &[Constraint]) -> Vec<(Option<&Constraint>, Option<&Constraint>)> {
    let mut out = Vec::new();
    let mut open: Option<&Constraint> = None;
    for (i, c) in bounds.iter().enumerate() {
        if matches!(c.op, Op::Lt | Op::Le) {
            out.push((open.take(), Some(c)));
        } else {
            open = Some(c);
            if i + 1 == bounds.len() {
                out.push((open.take(), None));
            }
        }
    }
    out
}

/// Whether `c` reads differently for `v` as a release or as a line.
fn ambiguous_line(c: &Constraint, v: &Version, o: Ordering) -> bool {
    matches!(c.op, Op::Le | Op::Gt | Op::Eq | Op::Ne) && o == Ordering::Greater && v.extends(&c.version)
}

/// Why `c` cannot decide for `v`.
fn doubt_reason(c: &Constraint, v: &Version) -> String {
    if v.compare(&c.version).is_some_and(|o| ambiguous_line(c, v, o)) {
        format!("'{c}' may or may not cover '{}' (the release or its whole line)", clip(v.raw()))
    } else {
        format!("'{}' cannot be compared with '{}'", clip(v.raw()), clip(c.version.raw()))
    }
}

fn describe(lo: Option<&Constraint>, hi: Option<&Constraint>) -> String {
    match (lo, hi) {
        (Some(l), Some(h)) => format!("{l}, {h}"),
        (Some(c), None) | (None, Some(c)) => c.to_string(),
        (None, None) => "all versions".to_owned(),
    }
}

/// Whether `version` is inside `range`.
///
/// The observed version must be one version (not a `4.x` pattern). See
/// docs/versions.md for the rules; in short: inside a definite interval or
/// equal to an `=` version is `Affected` (unless a `!=` cannot be checked);
/// excluded by a definite comparison is `NotAffected`; anything else is
/// `NeedsReview`.
pub fn check(range: &Range, version: &Version) -> Verdict {
    let v = version;
    if v.is_wildcard() {
        return Verdict::NeedsReview {
            reason: format!("the observed '{}' is a pattern, not one version", clip(v.raw())),
        };
    }
    match range.kind() {
        RangeKind::All => Verdict::Affected { reason: "all versions are affected".to_owned() },
        RangeKind::NeedsReview { reason } => {
            Verdict::NeedsReview { reason: format!("range '{}' not read: {reason}", clip(range.raw())) }
        }
        RangeKind::Lines(fixes) => check_lines(fixes, v),
        RangeKind::Constraints { bounds, equal, not_equal } => {
            let mut ne_doubt = None;
            for c in not_equal {
                match admits(c, v) {
                    Some(false) => return Verdict::NotAffected { reason: format!("{} is excluded ({c})", v.raw()) },
                    Some(true) => {}
                    None => ne_doubt = Some(c),
                }
            }
            let mut hit = None;
            let mut doubts: Vec<String> = Vec::new();
            let mut doubt = |c: &Constraint| {
                if doubts.len() < 4 {
                    doubts.push(doubt_reason(c, v));
                }
            };
            for c in equal {
                match admits(c, v) {
                    Some(true) => hit = Some(format!("{} {c}", v.raw())),
                    Some(false) => {}
                    None => doubt(c),
                }
                if hit.is_some() {
                    break;
                }
            }
            if hit.is_none() {
                for (lo, hi) in intervals(bounds) {
                    let l = lo.map_or(Some(true), |c| admits(c, v));
                    let h = hi.map_or(Some(true), |c| admits(c, v));
                    match (l, h) {
                        (Some(false), _) | (_, Some(false)) => {}
                        (Some(true), Some(true)) => {
                            hit = Some(format!("{} is in {}", v.raw(), describe(lo, hi)));
                            break;
                        }
                        _ => {
                            for c in [lo, hi].into_iter().flatten().filter(|c| admits(c, v).is_none()) {
                                doubt(c);
                            }
                        }
                    }
                }
            }
            match (hit, ne_doubt) {
                (Some(_), Some(c)) => Verdict::NeedsReview {
                    reason: format!(
                        "'{}' cannot be compared with the excluded '{}'",
                        clip(v.raw()),
                        clip(c.version.raw())
                    ),
                },
                (Some(reason), None) => Verdict::Affected { reason },
                (None, _) if !doubts.is_empty() => Verdict::NeedsReview { reason: doubts.join("; ") },
                (None, _) => Verdict::NotAffected { reason: outside(v, bounds, equal) },
            }
        }
    }
}

/// Why `v` is outside: the bound that excludes it, as the user reads it.
fn outside(v: &Version, bounds: &[Constraint], equal: &[Constraint]) -> String {
    let parts: Vec<String> = equal.iter().chain(bounds).map(|c| c.to_string()).collect();
    match bounds {
        [c] if c.op == Op::Lt && equal.is_empty() => {
            format!("{} is not below {} (the fixed version or later)", v.raw(), c.version.raw())
        }
        _ => format!("{} is outside {}", v.raw(), parts.join(" | ")),
    }
}

/// One upper bound per release line (see [`RangeKind::Lines`]).
fn check_lines(fixes: &[Constraint], v: &Version) -> Verdict {
    let list = fixes.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ");
    if let Some(f) = fixes.iter().find(|f| f.version.same_scheme(v) && v.on_line(f.version.line())) {
        let line = f.version.line().iter().map(u64::to_string).collect::<Vec<_>>().join(".");
        return match admits(f, v) {
            Some(true) => Verdict::Affected { reason: format!("{} is on the {line}.x line, {f}", v.raw()) },
            Some(false) => Verdict::NotAffected {
                reason: format!("{} is on the {line}.x line, outside {f} (the bound on that line)", v.raw()),
            },
            None => Verdict::NeedsReview { reason: doubt_reason(f, v) },
        };
    }
    let ords: Vec<Option<Ordering>> = fixes.iter().map(|f| v.compare(&f.version)).collect();
    if ords.iter().all(|o| *o == Some(Ordering::Less)) {
        return Verdict::Affected { reason: format!("{} is older than every listed release line ({list})", v.raw()) };
    }
    if ords.iter().all(|o| *o == Some(Ordering::Greater)) {
        return Verdict::NotAffected {
            reason: format!("{} is newer than every listed release line ({list})", v.raw()),
        };
    }
    Verdict::NeedsReview {
        reason: format!("'{}' is on a release line the advisory does not list ({list})", clip(v.raw())),
    }
}

/// Reads both texts and checks; an observed text that is not a version is
/// `NeedsReview`.
pub fn check_text(range_text: &str, observed: &str) -> Verdict {
    match Version::parse(observed) {
        Ok(v) => check(&Range::parse(range_text), &v),
        Err(e) => Verdict::NeedsReview { reason: e.to_string() },
    }
}

/// The answer for a CSAF `product_version` node (one version, or a list
/// such as `7.30 | 7.40`, or a pattern such as `3.0.x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The observed version is the node's version (or one of its list).
    Same {
        /// Which version matched.
        reason: String,
    },
    /// Definitely not the node's version.
    Different {
        /// Why, for the user.
        reason: String,
    },
    /// No definite answer.
    NeedsReview {
        /// What a person has to look at.
        reason: String,
    },
}

/// Whether `observed` is the version a CSAF `product_version` node names.
///
/// The node's text is read as a range of `=` constraints (`V3.2`,
/// `7.30 | 7.40`, `3.0.x`, `All versions`); a comparator in it belongs in a
/// `product_version_range` and is sent to review. Whether a match means
/// affected or fixed is the node's product status, decided by the caller
/// (for fixed versions use [`fixed`]).
pub fn single(version_text: &str, observed: &Version) -> Match {
    if version_text.contains(['<', '>', '=']) && !version_text.trim_start().starts_with("vers:") {
        return Match::NeedsReview {
            reason: format!("product_version '{}' holds a comparison", clip(version_text.trim())),
        };
    }
    match check(&Range::parse(version_text), observed) {
        Verdict::Affected { reason } => Match::Same { reason },
        Verdict::NotAffected { reason } => Match::Different { reason },
        Verdict::NeedsReview { reason } => Match::NeedsReview { reason },
    }
}

/// The verdict from an advisory's fixed version: never `Affected`.
///
/// `NotAffected` when `observed` is the fixed version, or later on the same
/// release line (same components but the last, at least one: `V3.2.18`
/// after fix `V3.2.17`, but not `V19` after `V18 Update 2`); otherwise
/// `NeedsReview` (being below a fix, or on another line, is for the affected
/// ranges to decide).
pub fn fixed(fixed_text: &str, observed: &Version) -> Verdict {
    let f = match Version::parse(fixed_text) {
        Ok(f) if !f.is_wildcard() => f,
        Ok(_) => return Verdict::NeedsReview { reason: format!("fixed version '{}' is a pattern", clip(fixed_text)) },
        Err(e) => return Verdict::NeedsReview { reason: e.to_string() },
    };
    match observed.compare(&f) {
        Some(Ordering::Equal) => {
            Verdict::NotAffected { reason: format!("{} is the fixed version {}", observed.raw(), f.raw()) }
        }
        Some(Ordering::Greater) if !f.line().is_empty() && observed.on_line(f.line()) => Verdict::NotAffected {
            reason: format!("{} is later than the fixed {} on the same release line", observed.raw(), f.raw()),
        },
        _ => Verdict::NeedsReview {
            reason: format!(
                "{} is not the fixed version {}; the affected ranges decide",
                clip(observed.raw()),
                f.raw()
            ),
        },
    }
}
