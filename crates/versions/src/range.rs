//! Version ranges as advisories write them: purl `vers:` URIs and the free
//! text of ICS advisories, read into one shape (a sorted list of
//! constraints, a list of per-release-line fixes, or "all versions"), or
//! marked as needing review with the reason and the raw text.
//!
//! Follows the purl `vers` specification (package-url/purl-spec,
//! `VERSION-RANGE-SPEC.rst`, "Version range specification" and "Version
//! containment"): `|`-separated constraints, sorted by version, read as
//! alternating lower and upper bounds; `=` and `!=` apart. The ICS free text is
//! mapped onto the same constraints (docs/versions.md lists every form).
//!
//! It does not decide containment (crate::check) and never guesses: a form it
//! does not know is `NeedsReview`.

use crate::version::{clip, Version};
use std::cmp::Ordering;
use std::fmt;

/// Longest range text read (bytes).
pub const MAX_RANGE_LEN: usize = 1024;
/// Most constraints in one range.
pub const MAX_CONSTRAINTS: usize = 64;

/// A comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=` (or a bare version)
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// The comparator as written in `vers:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "=",
            Op::Ne => "!=",
        }
    }
    fn is_upper(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
}

/// One comparator and its version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Constraint {
    /// The comparator.
    pub op: Op,
    /// The version compared with.
    pub version: Version,
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.version.raw())
    }
}

/// What a range says, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeKind {
    /// Every version (`vers:all/*`, `All versions`, `*`).
    All,
    /// purl `vers` constraints: `bounds` sorted by version, alternating lower
    /// and upper as the spec requires (an upper may open the list, a lower
    /// may close it); `equal` and `not_equal` apart.
    Constraints {
        /// `<`, `<=`, `>`, `>=` constraints, sorted by version.
        bounds: Vec<Constraint>,
        /// `=` constraints (bare versions).
        equal: Vec<Constraint>,
        /// `!=` constraints.
        not_equal: Vec<Constraint>,
    },
    /// One upper bound per release line, sorted ascending: the CISA
    /// multi-branch form `<v36.011_v35.013_v34.014` and unions of upper
    /// bounds only (`<= 4.2.21 | <= 5.0.27`), which purl `vers` rejects. On a
    /// listed line (the bound's components but the last), the bound decides;
    /// below every listed line, affected; above every listed line, not
    /// affected; on an unlisted line between them, needs review.
    Lines(Vec<Constraint>),
    /// Not read: why.
    NeedsReview {
        /// What did not fit, for the user.
        reason: String,
    },
}

/// A version range with its raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    raw: String,
    kind: RangeKind,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Range {
    /// Reads a range from a `vers:` URI or advisory free text. Never fails:
    /// what cannot be read is [`RangeKind::NeedsReview`] with the reason.
    pub fn parse(text: &str) -> Range {
        let kind = read(text).unwrap_or_else(|reason| RangeKind::NeedsReview { reason });
        Range { raw: text.to_owned(), kind }
    }

    /// The text as given.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// What the range says.
    pub fn kind(&self) -> &RangeKind {
        &self.kind
    }

    /// Whether the range was read (it is not `NeedsReview`).
    pub fn is_definite(&self) -> bool {
        !matches!(self.kind, RangeKind::NeedsReview { .. })
    }

    /// A `vers:`-like spelling of what was read, for reports and tests:
    /// `vers:all/*`, `vers:all/>=V3.0|<V3.2`, `lines:<V34.014|<V35.013`,
    /// `review:<reason>`.
    pub fn canonical(&self) -> String {
        match &self.kind {
            RangeKind::All => "vers:all/*".to_owned(),
            RangeKind::Constraints { bounds, equal, not_equal } => {
                let parts: Vec<String> = equal
                    .iter()
                    .chain(not_equal)
                    .chain(bounds)
                    .map(|c| format!("{}{}", c.op.as_str(), c.version.canonical()))
                    .collect();
                format!("vers:all/{}", parts.join("|"))
            }
            RangeKind::Lines(fixes) => {
                let parts: Vec<String> =
                    fixes.iter().map(|f| format!("{}{}", f.op.as_str(), f.version.canonical())).collect();
                format!("lines:{}", parts.join("|"))
            }
            RangeKind::NeedsReview { reason } => format!("review:{reason}"),
        }
    }
}

fn read(text: &str) -> Result<RangeKind, String> {
    let s = text.trim();
    if s.len() > MAX_RANGE_LEN {
        return Err(format!("longer than {MAX_RANGE_LEN} bytes"));
    }
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    if !s.is_ascii() {
        return Err("holds a non-ASCII character".to_owned());
    }
    match strip_ci(s, "vers:") {
        Some(rest) => read_vers(rest),
        None => read_free(s),
    }
}

/// `s` without `prefix` (ASCII case ignored).
fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| s.get(prefix.len()..)).flatten()
}

/// `s` without `suffix` (ASCII case ignored).
fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(suffix.len())?;
    let tail = s.get(at..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| s.get(..at)).flatten()
}

/// `vers:<scheme>/<constraints>`.
///
/// Schemes read: `all`, `generic` (vendor rules, crate::version), `intdot`
/// (dot-separated integers only) and `semver` (`MAJOR.MINOR.PATCH` only: a
/// pre-release or build suffix has its own precedence rules and is sent to
/// review). CISA writes `vers:all/<V4.3.8` although the spec allows only
/// `vers:all/*`: there `all` means "scheme not declared", read with the
/// vendor rules. CISA also glues two constraints without `|`
/// (`vers:all/>=V7.80<V9.40`); that is read as the two constraints.
fn read_vers(rest: &str) -> Result<RangeKind, String> {
    let Some((scheme, list)) = rest.split_once('/') else {
        return Err("a vers: URI without '/' after the scheme".to_owned());
    };
    let scheme = scheme.trim();
    let check: fn(&Version) -> Result<(), String> = match scheme {
        "all" | "generic" => |_| Ok(()),
        "intdot" => |v| {
            if v.raw().bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                Ok(())
            } else {
                Err(format!("'{}' is not an intdot version (integers and dots)", clip(v.raw())))
            }
        },
        "semver" => |v| {
            let plain = v.raw().bytes().all(|b| b.is_ascii_digit() || b == b'.') && v.release().len() == 3;
            if plain {
                Ok(())
            } else {
                Err(format!("'{}' is not a plain MAJOR.MINOR.PATCH semver version", clip(v.raw())))
            }
        },
        other => return Err(format!("vers scheme '{}' is not supported", clip(other))),
    };
    let list = list.trim();
    if list == "*" {
        return Ok(RangeKind::All);
    }
    if list.contains('%') {
        return Err("percent-encoded vers: versions are not read".to_owned());
    }
    let mut acc = Acc::default();
    for part in list.split('|') {
        let part = part.trim();
        if part == "*" {
            return Err("'*' must stand alone in a vers: range".to_owned());
        }
        let tokens = tokenize(part);
        if !matches!(tokens.first(), Some(Tok::Op(_)) | Some(Tok::Text(_))) {
            return Err("an empty constraint".to_owned());
        }
        let cons = read_part(&tokens, part)?;
        for c in cons {
            check(&c.version)?;
            acc.push(c)?;
        }
    }
    acc.finish()
}

/// Constraints gathered from the parts of one range.
#[derive(Default)]
struct Acc {
    bounds: Vec<Constraint>,
    equal: Vec<Constraint>,
    not_equal: Vec<Constraint>,
}

impl Acc {
    fn push(&mut self, c: Constraint) -> Result<(), String> {
        if self.bounds.len() + self.equal.len() + self.not_equal.len() >= MAX_CONSTRAINTS {
            return Err(format!("more than {MAX_CONSTRAINTS} constraints"));
        }
        match c.op {
            Op::Eq => self.equal.push(c),
            Op::Ne => self.not_equal.push(c),
            _ => self.bounds.push(c),
        }
        Ok(())
    }

    /// Sorts the bounds by version and checks that they alternate (purl vers,
    /// "Version range validation"); an unordered pair is a review, not a guess.
    fn finish(self) -> Result<RangeKind, String> {
        let Acc { bounds, equal, not_equal } = self;
        if bounds.is_empty() && equal.is_empty() {
            return Err(if not_equal.is_empty() {
                "no constraint".to_owned()
            } else {
                "only '!=' constraints: no version is named as affected".to_owned()
            });
        }
        // Insertion sort (at most MAX_CONSTRAINTS items): the order is partial.
        let mut sorted: Vec<Constraint> = Vec::with_capacity(bounds.len());
        for c in bounds {
            let mut at = sorted.len();
            for (i, s) in sorted.iter().enumerate() {
                let ord = c.version.compare(&s.version).ok_or_else(|| {
                    format!("bounds '{}' and '{}' cannot be ordered", clip(s.version.raw()), clip(c.version.raw()))
                })?;
                let before = match ord {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    // One version may close one interval and open the next
                    // ("< 1.6 | >= 1.6"): the upper bound goes first.
                    Ordering::Equal => {
                        // Touching intervals ("<= 4.03 | >= 4.03") are
                        // allowed too: the check reads each interval apart.
                        let pair = c.op.is_upper() != s.op.is_upper();
                        if !pair {
                            return Err(format!(
                                "two bounds on '{}' ({} and {})",
                                clip(s.version.raw()),
                                s.op.as_str(),
                                c.op.as_str()
                            ));
                        }
                        c.op.is_upper()
                    }
                };
                if before {
                    at = i;
                    break;
                }
            }
            sorted.insert(at, c);
        }
        if sorted.len() >= 2 && equal.is_empty() && not_equal.is_empty() && sorted.iter().all(|c| c.op.is_upper()) {
            return lines(sorted);
        }
        for w in sorted.windows(2) {
            if let [a, b] = w {
                if a.op.is_upper() == b.op.is_upper() {
                    let side = if a.op.is_upper() { "upper" } else { "lower" };
                    return Err(format!("two {side} bounds in a row ({a}, {b}): the range has no single reading"));
                }
            }
        }
        Ok(RangeKind::Constraints { bounds: sorted, equal, not_equal })
    }
}

/// A piece of one `|` part: a comparator or the text between comparators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Op(Op),
    Text(&'a str),
}

/// Splits a part at comparators (`<=`, `>=`, `!=`, `==`, `<`, `>`, `=`).
/// Linear in the part's length.
fn tokenize(part: &str) -> Vec<Tok<'_>> {
    let b = part.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        let op = match (c, next) {
            (b'<', Some(b'=')) => Some((Op::Le, 2)),
            (b'>', Some(b'=')) => Some((Op::Ge, 2)),
            (b'!', Some(b'=')) => Some((Op::Ne, 2)),
            (b'=', Some(b'=')) => Some((Op::Eq, 2)),
            (b'<', _) => Some((Op::Lt, 1)),
            (b'>', _) => Some((Op::Gt, 1)),
            (b'=', _) => Some((Op::Eq, 1)),
            _ => None,
        };
        match op {
            Some((op, n)) => {
                push_text(&mut out, part.get(start..i).unwrap_or_default());
                out.push(Tok::Op(op));
                i += n;
                start = i;
            }
            None => i += 1,
        }
    }
    push_text(&mut out, part.get(start..).unwrap_or_default());
    out
}

/// Adds the text between comparators, without the connectors `and` and `,`.
fn push_text<'a>(out: &mut Vec<Tok<'a>>, t: &'a str) {
    let mut t = t.trim();
    loop {
        let before = t.len();
        t = t.trim_end_matches(',').trim();
        if let Some(x) = strip_suffix_ci(t, " and").or_else(|| (t.eq_ignore_ascii_case("and")).then_some("")) {
            t = x.trim();
        }
        if t.len() == before {
            break;
        }
    }
    if !t.is_empty() {
        out.push(Tok::Text(t));
    }
}

/// The constraints of one `|` part.
fn read_part(tokens: &[Tok<'_>], part: &str) -> Result<Vec<Constraint>, String> {
    let mut out = Vec::new();
    match tokens {
        // A bare version: `=`.
        [Tok::Text(v)] => bound(Op::Eq, v, &mut out)?,
        // `V3.0 <= x < V3.2`
        [Tok::Text(a), Tok::Op(o1), Tok::Text(x), Tok::Op(o2), Tok::Text(b)]
            if o1.is_upper() && o2.is_upper() && is_placeholder(x) =>
        {
            bound(if *o1 == Op::Lt { Op::Gt } else { Op::Ge }, a, &mut out)?;
            bound(*o2, b, &mut out)?;
        }
        [Tok::Text(t), ..] => {
            return Err(format!("text before the comparator: '{}'", clip(t)));
        }
        _ => {
            let mut it = tokens.iter();
            while let Some(t) = it.next() {
                let (Tok::Op(op), Some(Tok::Text(v))) = (t, it.next()) else {
                    return Err(format!("a comparator without a version in '{}'", clip(part)));
                };
                bound(*op, v, &mut out)?;
            }
        }
    }
    Ok(out)
}

fn is_placeholder(x: &str) -> bool {
    ["x", "v", "version", "versions"].iter().any(|p| x.eq_ignore_ascii_case(p))
}

/// One constraint from a comparator and version text; a wildcard version
/// becomes its bounds (`<= V7.x` is `< V8`, `= 4.x` is `>= 4, < 5`).
fn bound(op: Op, text: &str, out: &mut Vec<Constraint>) -> Result<(), String> {
    let v = Version::parse(text).map_err(|e| e.to_string())?;
    let Some((lo, hi)) = v.wildcard_bounds() else {
        if v.is_wildcard() {
            return Err(format!("cannot bound the pattern '{}'", clip(text)));
        }
        out.push(Constraint { op, version: v });
        return Ok(());
    };
    match op {
        Op::Lt => out.push(Constraint { op: Op::Lt, version: lo }),
        Op::Le => out.push(Constraint { op: Op::Lt, version: hi }),
        Op::Gt => out.push(Constraint { op: Op::Ge, version: hi }),
        Op::Ge => out.push(Constraint { op: Op::Ge, version: lo }),
        Op::Eq => {
            out.push(Constraint { op: Op::Ge, version: lo });
            out.push(Constraint { op: Op::Lt, version: hi });
        }
        Op::Ne => return Err(format!("'!= {}' excludes a whole release line", clip(text))),
    }
    Ok(())
}

/// Words that open a range and say nothing more ("All versions < V2.1").
const LEADS: [&str; 8] = [
    "all bios versions",
    "all firmware versions",
    "all versions",
    "firmware versions",
    "bios",
    "versions",
    "version",
    "all",
];

/// Phrases after a version: `<= v` (inclusive upper bound).
const AND_PRIOR: [&str; 9] = [
    " and prior",
    " and earlier",
    " and before",
    " and below",
    " and older",
    " and lower",
    " or earlier",
    " or older",
    " or lower",
];
/// Phrases after a version: `>= v`.
const AND_LATER: [&str; 7] =
    [" and later", " and above", " and newer", " and higher", " or later", " or newer", " or higher"];

/// ICS advisory free text.
fn read_free(s: &str) -> Result<RangeKind, String> {
    let mut t = s.trim();
    if t == "*" {
        return Ok(RangeKind::All);
    }
    for lead in LEADS {
        if let Some(rest) = strip_ci(t, lead) {
            // The lead must end at a word boundary.
            if rest.is_empty() || rest.starts_with([' ', '<', '>', '=', ':']) {
                t = rest.trim_start_matches(':').trim();
                break;
            }
        }
    }
    if t.is_empty() {
        return Ok(RangeKind::All);
    }
    let mut acc = Acc::default();
    // "between V2.5 (including) and V2.7 (excluding)"
    if let Some(rest) = strip_ci(t, "between ") {
        let (a, b) = split_word(rest, " and ").ok_or("'between' without 'and'")?;
        let (a, a_in) = inclusion(a).ok_or("'between' without (including) or (excluding) on the first version")?;
        let (b, b_in) = inclusion(b).ok_or("'between' without (including) or (excluding) on the second version")?;
        bound_into(if a_in { Op::Ge } else { Op::Gt }, a, &mut acc)?;
        bound_into(if b_in { Op::Le } else { Op::Lt }, b, &mut acc)?;
        return acc.finish();
    }
    // "prior to V2.1", "before V4.0"
    for p in ["prior to ", "before ", "earlier than ", "older than "] {
        if let Some(rest) = strip_ci(t, p) {
            bound_into(Op::Lt, rest, &mut acc)?;
            return acc.finish();
        }
    }
    // "2.1 and prior", "4.0 and later"
    for (phrases, op) in [(&AND_PRIOR[..], Op::Le), (&AND_LATER[..], Op::Ge)] {
        for p in phrases {
            if let Some(v) = strip_suffix_ci(t, p) {
                bound_into(op, v, &mut acc)?;
                return acc.finish();
            }
        }
    }
    // "2.00 to 6.11", "1.0 through 1.4"
    for w in [" to ", " through "] {
        if let Some((a, b)) = split_word(t, w) {
            if !a.contains(['<', '>', '=', '|']) && !b.contains(['<', '>', '=', '|']) {
                bound_into(Op::Ge, a, &mut acc)?;
                bound_into(Op::Le, b, &mut acc)?;
                return acc.finish();
            }
        }
    }
    // One part: maybe the CISA release-line list.
    if !t.contains('|') {
        if let Some(lines) = release_lines(t)? {
            return Ok(lines);
        }
    }
    for part in t.split('|') {
        let part = part.trim();
        if part.is_empty() {
            return Err("an empty part between '|'".to_owned());
        }
        if part == "*" {
            return Err("'*' inside a union".to_owned());
        }
        for c in read_part(&tokenize(part), part)? {
            acc.push(c)?;
        }
    }
    acc.finish()
}

fn bound_into(op: Op, text: &str, acc: &mut Acc) -> Result<(), String> {
    let mut out = Vec::new();
    bound(op, text.trim(), &mut out)?;
    out.into_iter().try_for_each(|c| acc.push(c))
}

/// Splits at the first `word` (ASCII case ignored).
fn split_word<'a>(s: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    let lower = s.to_ascii_lowercase();
    let at = lower.find(word)?;
    Some((s.get(..at)?.trim(), s.get(at + word.len()..)?.trim()))
}

/// `V2.5 (including)` is (`V2.5`, true); `(excluding)` false.
fn inclusion(s: &str) -> Option<(&str, bool)> {
    let s = s.trim();
    if let Some(v) = strip_suffix_ci(s, "(including)").or_else(|| strip_suffix_ci(s, "(inclusive)")) {
        return Some((v.trim(), true));
    }
    if let Some(v) = strip_suffix_ci(s, "(excluding)").or_else(|| strip_suffix_ci(s, "(exclusive)")) {
        return Some((v.trim(), false));
    }
    None
}

/// The CISA multi-branch form: `<` and two or more fixed versions joined by
/// `_`, each on its own release line (`<v36.011_v35.013_v34.014`,
/// ICSA-24-226-09; `<V33.017_V34.014_V35.013_V36.011`, ICSA-24-284-20).
/// `Ok(None)` when the text is not of that form.
fn release_lines(t: &str) -> Result<Option<RangeKind>, String> {
    let tokens = tokenize(t);
    let [Tok::Op(Op::Lt), Tok::Text(list)] = tokens.as_slice() else {
        return Ok(None);
    };
    if !list.contains('_') || Version::parse(list).is_ok() {
        return Ok(None);
    }
    let mut fixes: Vec<Version> = Vec::new();
    for piece in list.split('_') {
        if fixes.len() == MAX_CONSTRAINTS {
            return Err(format!("more than {MAX_CONSTRAINTS} release lines"));
        }
        // Plain release numbers only, 2 or 3 components ("36.011"): longer
        // pieces such as "14.00.15.00_51.25.00.01" name a version and a
        // component version, not release lines.
        match Version::parse(piece) {
            Ok(v)
                if (2..=3).contains(&v.release().len())
                    && !v.is_wildcard()
                    && v.letter().is_none()
                    && v.qualifiers().is_empty() =>
            {
                fixes.push(v)
            }
            _ => return Ok(None),
        }
    }
    let Some(first) = fixes.first() else { return Ok(None) };
    let same = |f: &Version| f.same_scheme(first) && f.release().len() == first.release().len();
    if fixes.len() < 2 || !fixes.iter().all(same) {
        return Ok(None);
    }
    lines(fixes.into_iter().map(|version| Constraint { op: Op::Lt, version }).collect()).map(Some)
}

/// Upper bounds, one per release line, sorted by line; two on one line, or
/// bounds that differ in scheme, are a review.
fn lines(bounds: Vec<Constraint>) -> Result<RangeKind, String> {
    let mut sorted: Vec<Constraint> = Vec::with_capacity(bounds.len());
    for f in bounds {
        if let Some(s) = sorted.iter().find(|s| !s.version.same_scheme(&f.version)) {
            return Err(format!(
                "bounds '{}' and '{}' use different schemes",
                clip(s.version.raw()),
                clip(f.version.raw())
            ));
        }
        if sorted.iter().any(|s| s.version.line() == f.version.line()) {
            return Err(format!("two upper bounds on the release line of '{}'", clip(f.version.raw())));
        }
        let at = sorted.iter().position(|s| f.version.release() < s.version.release()).unwrap_or(sorted.len());
        sorted.insert(at, f);
    }
    Ok(RangeKind::Lines(sorted))
}
