//! Broken captures: each gives one error naming the file, record and offset, and
//! never a panic or an unbounded allocation. Files under `regressions/` are
//! inputs the fuzzers found; each must keep failing cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_capture::{CaptureError, FileSource, PacketSource};
use otposture_fixtures::{pcap_bytes, sample_frames, LinkType, PcapngWriter};
use proptest::prelude::*;

fn read_all(bytes: Vec<u8>) -> (u64, Option<CaptureError>) {
    let mut src = match FileSource::from_bytes("t.pcap", bytes) {
        Ok(s) => s,
        Err(e) => return (0, Some(e)),
    };
    let mut n = 0;
    loop {
        match src.next_packet() {
            Ok(Some(_)) => n += 1,
            Ok(None) => return (n, None),
            Err(e) => return (n, Some(e)),
        }
    }
}

#[test]
fn every_fuzzer_regression_fails_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let _ = read_all(bytes);
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn a_huge_snap_length_does_not_license_a_huge_record() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let (n, err) = read_all(std::fs::read(dir.join("oom-huge-snaplen.pcap")).unwrap());
    assert_eq!(n, 0);
    let msg = err.unwrap().to_string();
    assert!(msg.contains("record 1 at byte offset 24") && msg.contains("exceeds"), "{msg}");
}

#[test]
fn a_file_cut_inside_the_header_is_truncated_at_offset_zero() {
    let bytes = pcap_bytes(LinkType::ETHERNET, &sample_frames()[..1]);
    let (_, err) = read_all(bytes[..20].to_vec());
    assert!(matches!(err, Some(CaptureError::Truncated { offset: 0, .. })), "{err:?}");
}

#[test]
fn an_idb_with_an_unknown_interface_reference_is_named() {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let i = w.add_interface(LinkType::ETHERNET, 0, None).unwrap();
    let f = &sample_frames()[0];
    w.write_packet(i, f.ts, &f.data).unwrap();
    w.write_packet(i, f.ts, &f.data).unwrap();
    let mut bytes = w.into_inner().unwrap();
    let len_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
    let idb = len_at(&bytes, 0);
    let epb1 = idb + len_at(&bytes, idb);
    let epb2 = epb1 + len_at(&bytes, epb1);
    // The second packet block names interface 7, which no IDB declared.
    bytes[epb2 + 8..epb2 + 12].copy_from_slice(&7u32.to_le_bytes());
    let (n, err) = read_all(bytes);
    assert_eq!(n, 1);
    let msg = err.unwrap().to_string();
    assert!(msg.contains("record 2") && msg.contains("interface 7"), "{msg}");
}

#[test]
fn packets_of_an_unsupported_pcapng_interface_are_counted_and_warned_about() {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let eth = w.add_interface(LinkType::ETHERNET, 0, None).unwrap();
    let odd = w.add_interface(LinkType(147), 0, None).unwrap();
    let f = &sample_frames()[0];
    w.write_packet(eth, f.ts, &f.data).unwrap();
    w.write_packet(odd, f.ts, &f.data).unwrap();
    let mut src = FileSource::from_bytes("two.pcapng", w.into_inner().unwrap()).unwrap();
    let mut links = Vec::new();
    while let Some(p) = src.next_packet().unwrap() {
        links.push(p.linktype);
    }
    assert_eq!(links, vec![1, 147]);
    assert!(src.take_warnings().iter().any(|w| w.what.contains("unsupported link type 147")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn mutated_captures_never_panic_and_keep_records_before_the_damage(
        pos in 0usize..4000, val in any::<u8>(), cut in 0usize..4000, ng in any::<bool>(),
    ) {
        let frames = &sample_frames()[..40];
        let mut bytes = if ng {
            let mut w = PcapngWriter::new(Vec::new()).unwrap();
            let i = w.add_interface(LinkType::ETHERNET, 0, None).unwrap();
            for f in frames {
                w.write_packet(i, f.ts, &f.data).unwrap();
            }
            w.into_inner().unwrap()
        } else {
            pcap_bytes(LinkType::ETHERNET, frames)
        };
        let n = bytes.len();
        bytes[pos % n] = val;
        bytes.truncate(n - cut.min(n));
        let (read, _) = read_all(bytes);
        prop_assert!(read <= 40 + 1);
    }
}
