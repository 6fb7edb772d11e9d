//! FIRST EPSS score files: an optional first comment line
//! `#model_version:v2025.03.14,score_date:2025-03-15T12:55:00Z`, a header
//! `cve,epss,percentile`, then one CVE per line. Gzip is undone by the reader
//! before this module sees the bytes.

use crate::csaf::is_cve;
use crate::error::{quote, Problem, ProblemKind};
use crate::record::{EpssScore, EpssScores};
use std::collections::HashSet;

/// Parses one score file.
pub fn parse(bytes: &[u8]) -> Result<EpssScores, Problem> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Problem::new(ProblemKind::Syntax, "", format!("not UTF-8 text (byte {})", e.valid_up_to())))?;
    let mut out = EpssScores::default();
    let mut header_seen = false;
    let mut seen = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}", n + 1);
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            for part in comment.split(',') {
                match part.split_once(':') {
                    Some(("model_version", v)) => out.model_version = Some(v.trim().to_string()),
                    Some(("score_date", v)) => out.score_date = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            continue;
        }
        if !header_seen {
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            if cols != ["cve", "epss", "percentile"] {
                return Err(Problem::new(
                    ProblemKind::Schema,
                    at,
                    format!("the header is {}, expected cve,epss,percentile", quote(line)),
                ));
            }
            header_seen = true;
            continue;
        }
        let mut cols = line.split(',');
        let (Some(cve), Some(epss), Some(pct), None) = (cols.next(), cols.next(), cols.next(), cols.next()) else {
            return Err(Problem::new(ProblemKind::Schema, at, format!("{} does not have 3 fields", quote(line))));
        };
        if !is_cve(cve) {
            return Err(Problem::new(
                ProblemKind::Invalid,
                at + ", column cve",
                format!("{} is not a CVE id", quote(cve)),
            ));
        }
        let prob = |column: &str, v: &str| -> Result<f64, Problem> {
            match v.trim().parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
                _ => Err(Problem::new(
                    ProblemKind::Invalid,
                    format!("line {}, column {column}", n + 1),
                    format!("{} is not a number from 0 to 1", quote(v)),
                )),
            }
        };
        let epss = prob("epss", epss)?;
        let percentile = prob("percentile", pct)?;
        if !seen.insert(cve) {
            return Err(Problem::new(ProblemKind::Invalid, at, format!("{cve} is scored twice")));
        }
        out.scores.push(EpssScore { cve: cve.to_string(), epss, percentile });
    }
    if !header_seen {
        return Err(Problem::new(ProblemKind::Schema, "", "no cve,epss,percentile header"));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_model_comment_header_and_scores() {
        let s = parse(b"#model_version:v2025.03.14,score_date:2025-03-15T12:55:00Z\ncve,epss,percentile\nCVE-1999-0001,0.01,0.5\r\n").unwrap();
        assert_eq!(s.model_version.as_deref(), Some("v2025.03.14"));
        assert_eq!(s.score_date.as_deref(), Some("2025-03-15T12:55:00Z"));
        assert_eq!(s.scores, [EpssScore { cve: "CVE-1999-0001".into(), epss: 0.01, percentile: 0.5 }]);
    }

    #[test]
    fn a_probability_over_one_is_reported_by_line_and_column() {
        let e = parse(b"cve,epss,percentile\nCVE-1999-0001,0.01,0.5\nCVE-1999-0002,7,0.5\n").unwrap_err();
        assert_eq!((e.kind, e.path.as_str()), (ProblemKind::Invalid, "line 3, column epss"));
    }

    #[test]
    fn a_file_without_the_header_is_a_schema_error() {
        let e = parse(b"CVE-1999-0001,0.01,0.5\n").unwrap_err();
        assert_eq!((e.kind, e.path.as_str()), (ProblemKind::Schema, "line 1"));
    }
}
