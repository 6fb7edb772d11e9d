//! Which format an input is, told from its content (the file name is not
//! trusted: a KEV catalog saved as `kev.txt` is still a catalog), and the
//! parse into a [`Document`].

use crate::error::{Problem, ProblemKind};
use crate::record::{Document, Kind};
use crate::{attack, csaf, cve, epss, kev};

/// How much of an input is looked at first for the format's marks.
const SNIFF: usize = 64 * 1024;

/// What an input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// CSAF JSON.
    Csaf,
    /// The KEV catalog as JSON.
    KevJson,
    /// The KEV catalog as CSV.
    KevCsv,
    /// EPSS CSV.
    Epss,
    /// A CVE JSON 5 record.
    Cve,
    /// An ATT&CK STIX bundle.
    Attack,
    /// Something otposture recognises as not intel (a ROLIE feed index, a JSON
    /// schema, a CSAF provider metadata file): ignored, with the reason.
    NotIntel(&'static str),
}

impl Format {
    /// The kind of intel, if it is intel.
    pub fn kind(self) -> Option<Kind> {
        match self {
            Format::Csaf => Some(Kind::Csaf),
            Format::KevJson | Format::KevCsv => Some(Kind::Kev),
            Format::Epss => Some(Kind::Epss),
            Format::Cve => Some(Kind::Cve),
            Format::Attack => Some(Kind::Attack),
            Format::NotIntel(_) => None,
        }
    }
}

/// The format of `bytes`, or `None` when nothing marks it.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let body = bytes.get(start..).unwrap_or_default();
    match body.first() {
        Some(b'{') => {
            let head = String::from_utf8_lossy(body.get(..SNIFF.min(body.len())).unwrap_or_default());
            json_format(&head).or_else(|| {
                // The marks may come after a long first member: look at everything.
                (body.len() > SNIFF).then(|| json_format(&String::from_utf8_lossy(body))).flatten()
            })
        }
        Some(_) => csv_format(body),
        None => None,
    }
}

fn json_format(text: &str) -> Option<Format> {
    let has = |key: &str| text.contains(key);
    // A JSON schema names the fields of a format without being one.
    if has("\"$schema\"") && has("json-schema.org/") && has("\"properties\"") {
        return Some(Format::NotIntel("a JSON schema, not intel"));
    }
    if has("\"csaf_version\"") {
        Some(Format::Csaf)
    } else if has("\"cveMetadata\"") || has("\"CVE_RECORD\"") {
        Some(Format::Cve)
    } else if has("\"catalogVersion\"") || (has("\"vulnerabilities\"") && has("\"cveID\"")) {
        Some(Format::KevJson)
    } else if has("\"objects\"") && has("\"bundle\"") {
        Some(Format::Attack)
    } else if has("\"feed\"") && has("\"entry\"") {
        Some(Format::NotIntel("a ROLIE feed (an index of advisories), not an advisory"))
    } else if has("\"canonical_url\"") && has("\"distributions\"") {
        Some(Format::NotIntel("a CSAF provider metadata file, not an advisory"))
    } else if has("\"document\"") && (has("\"tracking\"") || has("\"publisher\"")) {
        // A CSAF document missing its csaf_version: parsed to say so.
        Some(Format::Csaf)
    } else {
        None
    }
}

fn csv_format(body: &[u8]) -> Option<Format> {
    let head = String::from_utf8_lossy(body.get(..SNIFF.min(body.len())).unwrap_or_default());
    let header = head.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let lower = header.to_ascii_lowercase();
    if lower.contains("cveid") && lower.contains("vendorproject") {
        Some(Format::KevCsv)
    } else if lower.starts_with("cve,epss") {
        Some(Format::Epss)
    } else {
        None
    }
}

/// Parses `bytes` as `format`.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Document, Problem> {
    Ok(match format {
        Format::Csaf => Document::Csaf(Box::new(csaf::parse(bytes)?)),
        Format::KevJson => Document::Kev(kev::parse_json(bytes)?),
        Format::KevCsv => Document::Kev(kev::parse_csv(bytes)?),
        Format::Epss => Document::Epss(epss::parse(bytes)?),
        Format::Cve => Document::Cve(Box::new(cve::parse(bytes)?)),
        Format::Attack => Document::Attack(attack::parse(bytes)?),
        Format::NotIntel(reason) => return Err(Problem::new(ProblemKind::Unrecognised, "", reason)),
    })
}
