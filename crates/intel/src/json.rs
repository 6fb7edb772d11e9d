//! Reading JSON into typed records with the location of every failure: serde
//! with the path tracked ([`serde_path_to_error`]) and turned into an RFC 6901
//! pointer, and syntax errors (truncated files) told apart from schema errors.
//! serde_json's recursion limit (128 levels) bounds nesting: a deeper document
//! is an error, never a stack overflow.

use crate::error::{segment, Problem, ProblemKind};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// The path serde was at, as a JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for s in path.iter() {
        match s {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&segment(key));
            }
            Segment::Enum { variant } => {
                out.push('/');
                out.push_str(&segment(variant));
            }
            // Inside a value serde had not named yet (a truncated document): the path so far.
            Segment::Unknown => {}
        }
    }
    out
}

/// Turns a serde_json failure at `path` into a problem.
pub(crate) fn problem(path: String, e: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => Problem::new(
            ProblemKind::Syntax,
            path,
            format!("truncated JSON: the input ends at line {}, column {} inside a value", e.line(), e.column()),
        ),
        Category::Syntax if e.to_string().contains("recursion limit") => Problem::new(
            ProblemKind::TooLarge,
            path,
            format!("nested more than 128 levels deep (line {}, column {})", e.line(), e.column()),
        ),
        Category::Syntax | Category::Io => Problem::new(ProblemKind::Syntax, path, format!("JSON syntax error: {e}")),
        Category::Data => Problem::new(ProblemKind::Schema, path, e.to_string()),
    }
}

/// Deserialises `bytes` as `T`, failing with the JSON pointer of the first problem.
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = pointer(e.path());
        problem(path, e.inner())
    })?;
    de.end().map_err(|e| problem(String::new(), &e))?;
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct T {
        a: Vec<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        #[serde(rename = "x/y")]
        b: u8,
    }

    #[test]
    fn a_wrong_type_is_located_by_json_pointer() {
        let e = from_slice::<T>(br#"{"a": [{"x/y": 1}, {"x/y": "no"}]}"#).unwrap_err();
        assert_eq!(e.kind, ProblemKind::Schema);
        assert_eq!(e.path, "/a/1/x~1y");
    }

    #[test]
    fn a_truncated_document_is_a_syntax_error_not_a_schema_error() {
        let e = from_slice::<T>(br#"{"a": [{"x/y": 1}"#).unwrap_err();
        assert_eq!(e.kind, ProblemKind::Syntax);
        assert!(e.reason.starts_with("truncated JSON"), "{}", e.reason);
    }

    #[test]
    fn nesting_beyond_the_limit_is_reported_not_overflowed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = from_slice::<serde_json::Value>(deep.as_bytes()).unwrap_err();
        assert_eq!(e.kind, ProblemKind::TooLarge, "{e:?}");
    }

    #[test]
    fn trailing_garbage_is_a_syntax_error() {
        let e = from_slice::<serde_json::Value>(b"{} x").unwrap_err();
        assert_eq!(e.kind, ProblemKind::Syntax);
    }
}
