//! One vendor firmware or software version, read from the text an advisory or
//! a device gives, and compared with another only when the comparison is
//! meaningful.
//!
//! The shape accepted (every part but the release optional):
//!
//! ```text
//! [scheme letters] release [letter | .x] [qualifier number]...
//!  V / R / SV / MX-V  3.2.17   a / .x     SP 1  Update 2  HF 3
//! ```
//!
//! It does not know any vendor's release calendar: two versions that the rules
//! below cannot order are "not comparable" (`None`), never guessed.

use std::cmp::Ordering;
use std::fmt;

/// Longest version text read (bytes); longer text is not a version.
pub const MAX_VERSION_LEN: usize = 128;
/// Most release components (`1.2.3.4...`) read.
pub const MAX_COMPONENTS: usize = 16;
/// Most qualifiers (`SP1 Update 2 HF3`) read.
pub const MAX_QUALIFIERS: usize = 4;
/// Longest scheme prefix (`V`, `SV`, `MX-V`, `Firmware`), separators included.
const MAX_SCHEME_LEN: usize = 16;

/// Month names (a scheme of "MAY" or "JAN" is a date).
const MONTHS: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];

/// A post-release (or build) marker after the release numbers.
///
/// The kinds are kept apart: `V16 SP1` and `V16 Update 1` are not ordered
/// against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QualifierKind {
    /// `SP1`, `SP 3`: service pack.
    ServicePack,
    /// `Update 1`, `Upd 4`, `UPD1`, `u1`.
    Update,
    /// `HF3`, `Hotfix 2`, `HotfixRev14`.
    Hotfix,
    /// `P006`, `Patch 2`.
    Patch,
    /// `SR 1`: service release.
    ServiceRelease,
    /// `MP5`: maintenance pack.
    MaintenancePack,
    /// `R3` in `2020 R3`, `r1` in `4.7.2.35-r1`: release or revision.
    Revision,
    /// `Build 13`, `BN 830`, `build221223`: a build number, which says nothing
    /// about whether the build is before or after the bare release.
    Build,
}

impl QualifierKind {
    /// Reads a qualifier word, any case.
    fn from_word(word: &str) -> Option<Self> {
        let w = word.to_ascii_uppercase();
        Some(match w.as_str() {
            "SP" | "SERVICEPACK" => QualifierKind::ServicePack,
            "UPDATE" | "UPD" | "U" => QualifierKind::Update,
            "HF" | "HOTFIX" | "HOTFIXREV" => QualifierKind::Hotfix,
            "P" | "PATCH" => QualifierKind::Patch,
            "SR" => QualifierKind::ServiceRelease,
            "MP" => QualifierKind::MaintenancePack,
            "R" | "REV" => QualifierKind::Revision,
            "BUILD" | "BN" => QualifierKind::Build,
            _ => return None,
        })
    }

    /// Whether the bare release comes before any version carrying this
    /// qualifier (`V16` < `V16 Update 1`). False for build numbers.
    fn is_post_release(self) -> bool {
        !matches!(self, QualifierKind::Build)
    }

    fn label(self) -> &'static str {
        match self {
            QualifierKind::ServicePack => "SP",
            QualifierKind::Update => "Update",
            QualifierKind::Hotfix => "HF",
            QualifierKind::Patch => "Patch",
            QualifierKind::ServiceRelease => "SR",
            QualifierKind::MaintenancePack => "MP",
            QualifierKind::Revision => "R",
            QualifierKind::Build => "Build",
        }
    }
}

/// One qualifier and its number (`SP1` is `ServicePack`, 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Qualifier {
    /// What the qualifier is.
    pub kind: QualifierKind,
    /// Its number.
    pub number: u64,
}

/// Why a text is not read as a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAVersion {
    /// The text as given.
    pub raw: String,
    /// What did not fit, for the user.
    pub reason: String,
}

impl fmt::Display for NotAVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a version: {}", clip(&self.raw), self.reason)
    }
}

impl std::error::Error for NotAVersion {}

/// A vendor version: scheme prefix, release numbers, an optional revision
/// letter or `.x` wildcard, and qualifiers; the raw text is kept for reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    raw: String,
    scheme: String,
    release: Vec<u64>,
    sep: Option<u8>,
    letter: Option<u8>,
    wildcard: bool,
    qualifiers: Vec<Qualifier>,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl std::str::FromStr for Version {
    type Err = NotAVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

/// A byte cursor over ASCII text (checked reads only).
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn peek_at(&self, n: usize) -> Option<u8> {
        self.b.get(self.i + n).copied()
    }
    /// Reads a run of digits as a number; `Err` when it does not fit in u64.
    fn number(&mut self) -> Result<u64, &'static str> {
        let mut n: u64 = 0;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d - b'0'))).ok_or("a number is too large")?;
            self.i += 1;
        }
        Ok(n)
    }
    /// Reads a run of letters.
    fn word(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        let b: &'a [u8] = self.b;
        std::str::from_utf8(b.get(start..self.i).unwrap_or_default()).unwrap_or_default()
    }
}

fn is_sep(c: u8) -> bool {
    matches!(c, b' ' | b'_' | b'-' | b'.')
}

impl Version {
    /// Reads a version; `Err` says why the text is not one.
    ///
    /// Accepted: `V3.2.17`, `3.2`, `R3.08.10`, `SV3.10`, `v.32.011`, `V 4.83`,
    /// `MX-V4.0.1.15`, `V19 Update 1`, `V19_Update_1`, `V5.2 SP 3 HF 13`,
    /// `V20.2 HotfixRev14`, `1.03D`, `V22R2`, `4.x`, `2020 R3`. Release
    /// components share one separator (`.`, `_` or `-`): `1.02-05` is refused.
    pub fn parse(text: &str) -> Result<Version, NotAVersion> {
        let fail = |reason: &str| NotAVersion { raw: text.to_owned(), reason: reason.to_owned() };
        let s = text.trim();
        if s.len() > MAX_VERSION_LEN {
            return Err(fail(&format!("longer than {MAX_VERSION_LEN} bytes")));
        }
        if s.is_empty() {
            return Err(fail("empty"));
        }
        if !s.is_ascii() {
            return Err(fail("holds a non-ASCII character"));
        }
        let mut c = Cursor { b: s.as_bytes(), i: 0 };

        // Scheme: letters, with single separators between letter groups and
        // before the first digit ("MX-V4", "v.32", "V 4.83", "Firmware__20").
        let mut scheme = String::new();
        loop {
            match c.peek() {
                Some(ch) if ch.is_ascii_alphabetic() => {
                    scheme.push(char::from(ch.to_ascii_uppercase()));
                    c.i += 1;
                }
                Some(ch) if is_sep(ch) && c.i > 0 => {
                    // At most two separators in a row, then a letter or digit.
                    let n = if c.peek_at(1).is_some_and(is_sep) { 2 } else { 1 };
                    if !c.peek_at(n).is_some_and(|x| x.is_ascii_alphanumeric()) {
                        return Err(fail("no release number"));
                    }
                    c.i += n;
                }
                Some(ch) if ch.is_ascii_digit() => break,
                Some(_) => return Err(fail("unexpected character before the release number")),
                None => return Err(fail("no release number")),
            }
            if c.i > MAX_SCHEME_LEN {
                return Err(fail("the text before the release number is too long for a scheme prefix"));
            }
        }
        // "< january 2020", "<May_1_2024": a date, not a version.
        if MONTHS.iter().any(|m| scheme == *m || (scheme.len() >= 3 && m.starts_with(scheme.as_str()))) {
            return Err(fail("a date, not a version"));
        }
        // "V", "v" and "v." mean "version": the same scheme as a bare number.
        if scheme == "V" {
            scheme.clear();
        }

        // Release numbers with one separator kind.
        let mut release = Vec::new();
        let mut sep: Option<u8> = None;
        let mut wildcard = false;
        loop {
            if release.len() == MAX_COMPONENTS {
                return Err(fail(&format!("more than {MAX_COMPONENTS} release components")));
            }
            release.push(c.number().map_err(fail)?);
            match (c.peek(), c.peek_at(1)) {
                (Some(s @ (b'.' | b'_' | b'-')), Some(d)) if d.is_ascii_digit() => {
                    if sep.is_some_and(|p| p != s) {
                        return Err(fail("release components use mixed separators"));
                    }
                    sep = Some(s);
                    c.i += 1;
                }
                (Some(b'.'), Some(b'x' | b'X' | b'*')) if !c.peek_at(2).is_some_and(|x| x.is_ascii_alphanumeric()) => {
                    if sep.is_some_and(|p| p != b'.') {
                        return Err(fail("release components use mixed separators"));
                    }
                    sep = Some(b'.');
                    wildcard = true;
                    c.i += 2;
                    // "12.2.x.x" is the same pattern as "12.2.x".
                    while c.peek() == Some(b'.') && matches!(c.peek_at(1), Some(b'x' | b'X' | b'*')) {
                        c.i += 2;
                    }
                    break;
                }
                _ => break,
            }
        }

        // "2014-2016", "CVE-2019-18340": two numbers joined by '-' read as a
        // span (or an identifier) as well as a version.
        if sep == Some(b'-') && release.len() == 2 {
            return Err(fail("two numbers joined by '-' read as a span as well as a version"));
        }

        // A revision letter glued to the release ("1.03D", "V11.2a"), unless it
        // starts a qualifier ("V22R2", "V5.2SP3").
        let mut letter = None;
        if !wildcard {
            if let Some(l) = c.peek().filter(u8::is_ascii_alphabetic) {
                let next = c.peek_at(1);
                if !next.is_some_and(|x| x.is_ascii_alphanumeric()) {
                    if l.eq_ignore_ascii_case(&b'x') {
                        return Err(fail("an 'x' after a number is ambiguous (wildcard or revision)"));
                    }
                    letter = Some(l.to_ascii_uppercase());
                    c.i += 1;
                }
            }
        }

        // Qualifiers: a known word, an optional separator, a number.
        let mut qualifiers = Vec::new();
        while c.peek().is_some() {
            let before = c.i;
            while c.peek().is_some_and(|x| matches!(x, b' ' | b'_' | b'-')) {
                c.i += 1;
            }
            if c.i - before > 2 {
                return Err(fail("unexpected spacing after the release"));
            }
            // "1.03.07 (build 317)": one qualifier in parentheses.
            let paren = c.peek() == Some(b'(');
            if paren {
                c.i += 1;
            }
            let mut word = c.word();
            // "1.8.4 Service Pack 01": the two-word spelling of SP.
            if word.eq_ignore_ascii_case("service") && matches!(c.peek(), Some(b' ' | b'_')) {
                let at = c.i;
                c.i += 1;
                if c.word().eq_ignore_ascii_case("pack") {
                    word = "SP";
                } else {
                    c.i = at;
                }
            }
            let Some(kind) = QualifierKind::from_word(word) else {
                let rest = String::from_utf8_lossy(c.b.get(before..).unwrap_or_default()).trim().to_owned();
                return Err(fail(&format!("unrecognised text after the release: '{}'", clip(&rest))));
            };
            if c.peek().is_some_and(|x| matches!(x, b' ' | b'_' | b'.')) {
                c.i += 1;
            }
            if !c.peek().is_some_and(|x| x.is_ascii_digit()) {
                return Err(fail(&format!("qualifier '{word}' has no number")));
            }
            if qualifiers.len() == MAX_QUALIFIERS {
                return Err(fail(&format!("more than {MAX_QUALIFIERS} qualifiers")));
            }
            let number = c.number().map_err(fail)?;
            if paren {
                if c.peek() != Some(b')') {
                    return Err(fail("an unclosed '(' after the release"));
                }
                c.i += 1;
            }
            qualifiers.push(Qualifier { kind, number });
            if wildcard {
                return Err(fail("a wildcard release cannot carry a qualifier"));
            }
        }
        Ok(Version { raw: s.to_owned(), scheme, release, sep, letter, wildcard, qualifiers })
    }

    /// The text as given (trimmed).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The scheme prefix, upper case, letters only; empty for a bare number
    /// or a `V` prefix.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The release numbers (`[3, 2, 17]` for `V3.2.17`).
    pub fn release(&self) -> &[u64] {
        &self.release
    }

    /// The qualifiers, in order.
    pub fn qualifiers(&self) -> &[Qualifier] {
        &self.qualifiers
    }

    /// Whether the version ends in `.x`/`.*` (a pattern such as `4.x`, not a
    /// version a device runs).
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The revision letter glued to the release, upper case.
    pub fn letter(&self) -> Option<char> {
        self.letter.map(char::from)
    }

    /// Whether `self` lies on the release line `line` (its first components
    /// equal `line`, missing components read as 0), in the same scheme.
    pub(crate) fn on_line(&self, line: &[u64]) -> bool {
        line.iter().enumerate().all(|(i, n)| self.release.get(i).copied().unwrap_or(0) == *n)
    }

    /// Whether `self` writes more release components than `shorter` and
    /// agrees with all of them (`3.2.1` extends `3.2`); `shorter` has no
    /// letter or qualifier.
    pub(crate) fn extends(&self, shorter: &Version) -> bool {
        shorter.release.len() < self.release.len()
            && shorter.letter.is_none()
            && shorter.qualifiers.is_empty()
            && self.release.starts_with(&shorter.release)
    }

    /// The release numbers without the last one: the release line a fix
    /// belongs to (`[36]` for `36.011`).
    pub(crate) fn line(&self) -> &[u64] {
        self.release.split_last().map(|(_, l)| l).unwrap_or_default()
    }

    /// Whether two versions are read under one scheme.
    pub(crate) fn same_scheme(&self, other: &Version) -> bool {
        self.scheme == other.scheme && (self.release.len() < 2 || other.release.len() < 2 || self.sep == other.sep)
    }

    /// The wildcard as bounds: `4.x` is `>= 4` and `< 5`. `None` when the
    /// version is not a wildcard, or its last number cannot be incremented.
    pub(crate) fn wildcard_bounds(&self) -> Option<(Version, Version)> {
        if !self.wildcard {
            return None;
        }
        let lo = Version { raw: self.raw.clone(), wildcard: false, ..self.clone() };
        let mut hi = lo.clone();
        let last = hi.release.last_mut()?;
        *last = last.checked_add(1)?;
        hi.raw = format!("{} (next release after {})", render_release(&hi), self.raw);
        Some((lo, hi))
    }

    /// Compares two versions; `None` when the rules cannot order them.
    ///
    /// Rules (docs/versions.md):
    /// 1. Schemes must match (`V`, `v` and none are one scheme; `R`, `SV`...
    ///    each their own), and multi-component releases must use the same
    ///    separator. A wildcard (`4.x`) is compared with nothing.
    /// 2. Release numbers compare numerically (`3.08` = `3.8`), missing
    ///    components read as 0 (`V3.2` = `V3.2.0` < `V3.2.17`).
    /// 3. A letter or qualifier belongs to the release as written: a version
    ///    with one is not ordered against a release that differs only in
    ///    components it does not write (`V3.2 SP1` vs `V3.2.1`: `None`).
    /// 4. Equal releases: letters compare when both have one (`1.03D` <
    ///    `1.03E`), else `None` if only one has; then qualifiers pairwise,
    ///    same kind by number, different kinds `None`; a missing post-release
    ///    qualifier is lower (`V16` < `V16 Update 1`); a build number against
    ///    no build number is `None`.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        if !self.same_scheme(other) || self.wildcard || other.wildcard {
            return None;
        }
        let n = self.release.len().max(other.release.len());
        for i in 0..n {
            let a = self.release.get(i).copied().unwrap_or(0);
            let b = other.release.get(i).copied().unwrap_or(0);
            if a != b {
                let decorated = |v: &Version| v.letter.is_some() || !v.qualifiers.is_empty();
                if (i >= self.release.len() && decorated(self)) || (i >= other.release.len() && decorated(other)) {
                    return None;
                }
                return Some(a.cmp(&b));
            }
        }
        match (self.letter, other.letter) {
            (Some(a), Some(b)) if a != b => return Some(a.cmp(&b)),
            (Some(_), None) | (None, Some(_)) => return None,
            _ => {}
        }
        let m = self.qualifiers.len().max(other.qualifiers.len());
        for i in 0..m {
            match (self.qualifiers.get(i), other.qualifiers.get(i)) {
                (Some(a), Some(b)) if a.kind != b.kind => return None,
                (Some(a), Some(b)) if a.number != b.number => return Some(a.number.cmp(&b.number)),
                (Some(_), Some(_)) => {}
                (Some(a), None) => return a.kind.is_post_release().then_some(Ordering::Greater),
                (None, Some(b)) => return b.kind.is_post_release().then_some(Ordering::Less),
                (None, None) => {}
            }
        }
        Some(Ordering::Equal)
    }

    /// A canonical spelling (`V3.2.17 SP1`), for reasons shown to users.
    pub fn canonical(&self) -> String {
        let mut s = String::new();
        if self.scheme.is_empty() {
            s.push('V');
        } else {
            s.push_str(&self.scheme);
        }
        s.push_str(&render_release(self));
        if let Some(l) = self.letter {
            s.push(char::from(l));
        }
        if self.wildcard {
            s.push_str(".x");
        }
        for q in &self.qualifiers {
            s.push(' ');
            s.push_str(q.kind.label());
            s.push_str(&q.number.to_string());
        }
        s
    }
}

fn render_release(v: &Version) -> String {
    let sep = char::from(v.sep.unwrap_or(b'.'));
    let mut s = String::new();
    for (i, n) in v.release.iter().enumerate() {
        if i > 0 {
            s.push(sep);
        }
        s.push_str(&n.to_string());
    }
    s
}

/// At most 60 characters of `s`, for messages.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(57).collect();
        t.push_str("...");
        t
    }
}
