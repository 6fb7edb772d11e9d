//! The capture files in a directory, so `analyze DIR` reads a folder of
//! rotated captures without a glob that would also catch its notes and logs.

use crate::file::read_full;
use std::path::{Path, PathBuf};

/// What a directory holds: its capture files, and how many other entries were passed over.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DirCaptures {
    /// Regular files that begin as a capture does, sorted by name (rotated
    /// files are named in time order).
    pub captures: Vec<PathBuf>,
    /// Files that are not captures, and subdirectories (not descended into).
    pub skipped: usize,
}

/// The capture files directly in `dir`: pcap (any byte order, micro- or
/// nanoseconds), pcapng, and either gzip-compressed, told by their first bytes.
pub fn captures_in(dir: &Path) -> std::io::Result<DirCaptures> {
    let mut found = DirCaptures::default();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // Symbolic links are followed, as a path given by hand is.
        if path.is_file() && looks_like_capture(&path)? {
            found.captures.push(path);
        } else {
            found.skipped += 1;
        }
    }
    found.captures.sort();
    Ok(found)
}

/// True when the file starts with a pcap or pcapng magic number, plain or
/// inside gzip.
fn looks_like_capture(path: &Path) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    let mut head = [0u8; 4];
    let n = read_full(&mut file, &mut head)?;
    if head.get(..2) == Some(&[0x1f, 0x8b][..]) {
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(path)?);
        // A file that is not gzip after all is not a capture: not an error.
        return Ok(read_full(&mut gz, &mut head).is_ok_and(|n| n == 4 && is_magic(head)));
    }
    Ok(n == 4 && is_magic(head))
}

fn is_magic(head: [u8; 4]) -> bool {
    const MAGICS: [u32; 5] = [0xa1b2_c3d4, 0xa1b2_3c4d, 0x0a0d_0d0a, 0xd4c3_b2a1, 0x4d3c_b2a1];
    MAGICS.contains(&u32::from_be_bytes(head)) || MAGICS.contains(&u32::from_le_bytes(head))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use otposture_fixtures::{pcap_bytes, sample_frames, LinkType, PcapngWriter};
    use std::io::Write;

    #[test]
    fn finds_the_captures_of_a_directory_by_their_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pcap = pcap_bytes(LinkType::ETHERNET, &sample_frames()[..4]);
        std::fs::write(d.join("b-0002.pcap"), &pcap).unwrap();
        let mut w = PcapngWriter::new(Vec::new()).unwrap();
        let i = w.add_interface(LinkType::ETHERNET, 0, None).unwrap();
        w.write_packet(i, sample_frames()[0].ts, &sample_frames()[0].data).unwrap();
        std::fs::write(d.join("a-0001.cap"), w.into_inner().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&pcap).unwrap();
        std::fs::write(d.join("c-0003.pcap.gz"), gz.finish().unwrap()).unwrap();
        // Not captures: notes, a compressed log, an empty file, a subdirectory.
        std::fs::write(d.join("README.txt"), "site visit, line 3 SPAN").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"syslog lines").unwrap();
        std::fs::write(d.join("messages.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(d.join("empty.pcap"), b"").unwrap();
        std::fs::create_dir(d.join("older")).unwrap();
        std::fs::write(d.join("older").join("x.pcap"), &pcap).unwrap();
        let found = captures_in(d).unwrap();
        let names: Vec<_> = found.captures.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["a-0001.cap", "b-0002.pcap", "c-0003.pcap.gz"]);
        assert_eq!(found.skipped, 4);
    }

    #[test]
    fn every_pcap_magic_is_a_capture() {
        for magic in [0xa1b2_c3d4u32, 0xa1b2_3c4d] {
            assert!(is_magic(magic.to_le_bytes()) && is_magic(magic.to_be_bytes()));
        }
        assert!(is_magic([0x0a, 0x0d, 0x0d, 0x0a]));
        assert!(!is_magic(*b"%PDF") && !is_magic([0; 4]));
    }
}
