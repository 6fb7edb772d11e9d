//! Finding the inputs: files, directories (walked in name order, hidden
//! entries skipped), and `.tar`, `.tar.gz`/`.tgz` and `.zip` bundles (told by
//! their magic bytes, not their names; a gzip file holding one document, as
//! EPSS publishes, is read through). Each input reaches the caller with its
//! [`Origin`]: the file and, inside a bundle, the member.
//!
//! Bounded: a file or member over [`MAX_FILE_BYTES`] after decompression,
//! more than [`MAX_MEMBERS`] members, or bundles nested deeper than
//! [`MAX_BUNDLE_DEPTH`] are reported and skipped. A bundle is read whole into
//! memory (within the file bound); its members one at a time.

use crate::error::{ImportError, Origin, Problem, ProblemKind};
use crate::limits::{MAX_BUNDLE_DEPTH, MAX_DIR_DEPTH, MAX_FILE_BYTES, MAX_MEMBERS};
use std::io::Read;
use std::path::Path;

/// One input to import.
#[derive(Debug)]
pub struct Input {
    /// Where it came from.
    pub origin: Origin,
    /// Its bytes (decompressed).
    pub bytes: Vec<u8>,
    /// Named on the command line itself (not found in a directory or bundle):
    /// unrecognised content is then an error, not silently ignored.
    pub explicit: bool,
}

fn io_error(origin: &Origin, what: &str, e: impl std::fmt::Display) -> ImportError {
    Problem::new(ProblemKind::Io, "", format!("{what}: {e}")).at(origin, None)
}

fn too_large(origin: &Origin) -> ImportError {
    Problem::new(ProblemKind::TooLarge, "", format!("larger than otposture's limit of {MAX_FILE_BYTES} bytes"))
        .at(origin, None)
}

/// Reads at most the bound, failing past it.
fn read_bounded(r: impl Read, origin: &Origin, what: &str) -> Result<Vec<u8>, ImportError> {
    let mut out = Vec::new();
    r.take(MAX_FILE_BYTES + 1).read_to_end(&mut out).map_err(|e| io_error(origin, what, e))?;
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(origin));
    }
    Ok(out)
}

/// Calls `visit` with every input under `paths`, in order. A file that cannot
/// be read is passed as an error; `visit`'s own error stops the walk.
pub fn walk<E>(
    paths: &[impl AsRef<Path>],
    visit: &mut impl FnMut(Result<Input, ImportError>) -> Result<(), E>,
) -> Result<(), E> {
    for path in paths {
        let path = path.as_ref();
        visit_path(path, 0, true, visit)?;
    }
    Ok(())
}

fn visit_path<E>(
    path: &Path,
    depth: usize,
    explicit: bool,
    visit: &mut impl FnMut(Result<Input, ImportError>) -> Result<(), E>,
) -> Result<(), E> {
    let origin = Origin::file(path.display().to_string());
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return visit(Err(io_error(&origin, "cannot read", e))),
    };
    if meta.is_dir() {
        if depth >= MAX_DIR_DEPTH {
            return visit(Err(Problem::new(
                ProblemKind::TooLarge,
                "",
                format!("directory nested deeper than {MAX_DIR_DEPTH} levels (a symbolic link loop?)"),
            )
            .at(&origin, None)));
        }
        let mut entries: Vec<_> = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) => return visit(Err(io_error(&origin, "cannot list directory", e))),
        };
        entries.sort();
        for entry in entries {
            let hidden = entry.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if !hidden {
                visit_path(&entry, depth + 1, false, visit)?;
            }
        }
        return Ok(());
    }
    if meta.len() > MAX_FILE_BYTES {
        return visit(Err(too_large(&origin)));
    }
    let bytes = match std::fs::File::open(path).map_err(|e| io_error(&origin, "cannot open", e)) {
        Ok(f) => match read_bounded(f, &origin, "cannot read") {
            Ok(b) => b,
            Err(e) => return visit(Err(e)),
        },
        Err(e) => return visit(Err(e)),
    };
    content(origin, bytes, 0, explicit, visit)
}

fn is_gzip(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b])
}

fn is_zip(b: &[u8]) -> bool {
    b.starts_with(b"PK\x03\x04") || b.starts_with(b"PK\x05\x06")
}

/// POSIX ustar and GNU tar headers carry "ustar" at offset 257.
fn is_tar(b: &[u8]) -> bool {
    b.get(257..262) == Some(b"ustar")
}

fn member_origin(outer: &Origin, name: &str) -> Origin {
    match &outer.member {
        Some(m) => Origin::member(outer.file.clone(), format!("{m}!{name}")),
        None => Origin::member(outer.file.clone(), name),
    }
}

/// Unwraps gzip, opens bundles, passes documents on.
fn content<E>(
    origin: Origin,
    bytes: Vec<u8>,
    depth: usize,
    explicit: bool,
    visit: &mut impl FnMut(Result<Input, ImportError>) -> Result<(), E>,
) -> Result<(), E> {
    if (is_gzip(&bytes) || is_zip(&bytes) || is_tar(&bytes)) && depth >= MAX_BUNDLE_DEPTH {
        return visit(Err(Problem::new(
            ProblemKind::TooLarge,
            "",
            format!("archives nested deeper than otposture's limit of {MAX_BUNDLE_DEPTH}"),
        )
        .at(&origin, None)));
    }
    if is_gzip(&bytes) {
        let inner = match read_bounded(flate2::read::GzDecoder::new(bytes.as_slice()), &origin, "corrupt gzip") {
            Ok(b) => b,
            Err(e) => return visit(Err(e)),
        };
        drop(bytes);
        return content(origin, inner, depth + 1, explicit, visit);
    }
    if is_zip(&bytes) {
        return zip_members(&origin, &bytes, depth, visit);
    }
    if is_tar(&bytes) {
        return tar_members(&origin, &bytes, depth, visit);
    }
    visit(Ok(Input { origin, bytes, explicit }))
}

fn zip_members<E>(
    origin: &Origin,
    bytes: &[u8],
    depth: usize,
    visit: &mut impl FnMut(Result<Input, ImportError>) -> Result<(), E>,
) -> Result<(), E> {
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => return visit(Err(io_error(origin, "corrupt zip archive", e))),
    };
    if archive.len() > MAX_MEMBERS {
        return visit(Err(Problem::new(
            ProblemKind::TooLarge,
            "",
            format!("{} members, over otposture's limit of {MAX_MEMBERS}", archive.len()),
        )
        .at(origin, None)));
    }
    for i in 0..archive.len() {
        let (member, data) = match archive.by_index(i) {
            Ok(file) if file.is_dir() => continue,
            Ok(file) => {
                let name = file.name().to_string();
                let member = member_origin(origin, &name);
                if file.size() > MAX_FILE_BYTES {
                    visit(Err(too_large(&member)))?;
                    continue;
                }
                let data = read_bounded(file, &member, "corrupt zip member");
                (member, data)
            }
            Err(e) => {
                visit(Err(io_error(origin, &format!("corrupt zip member {i}"), e)))?;
                continue;
            }
        };
        let hidden = member.member.as_deref().and_then(|m| m.rsplit('/').next()).is_some_and(|n| n.starts_with('.'));
        match data {
            Ok(_) if hidden => {}
            Ok(data) => content(member, data, depth + 1, false, visit)?,
            Err(e) => visit(Err(e))?,
        }
    }
    Ok(())
}

fn tar_members<E>(
    origin: &Origin,
    bytes: &[u8],
    depth: usize,
    visit: &mut impl FnMut(Result<Input, ImportError>) -> Result<(), E>,
) -> Result<(), E> {
    let mut archive = tar::Archive::new(bytes);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => return visit(Err(io_error(origin, "corrupt tar archive", e))),
    };
    for (n, entry) in entries.enumerate() {
        if n >= MAX_MEMBERS {
            return visit(Err(Problem::new(
                ProblemKind::TooLarge,
                "",
                format!("more than otposture's limit of {MAX_MEMBERS} members; the rest is not read"),
            )
            .at(origin, None)));
        }
        let entry = match entry {
            Ok(e) => e,
            // A corrupt header: what follows cannot be found; what came before is kept.
            Err(e) => return visit(Err(io_error(origin, &format!("corrupt tar archive at member {n}"), e))),
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map(|p| p.display().to_string()).unwrap_or_else(|_| format!("member {n}"));
        let member = member_origin(origin, &name);
        if name.rsplit('/').next().is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        match read_bounded(entry, &member, "corrupt tar member") {
            Ok(data) => content(member, data, depth + 1, false, visit)?,
            Err(e) => visit(Err(e))?,
        }
    }
    Ok(())
}
