//! Reads every real capture in `../shared/pcaps` and checks the packet count
//! against the index (which tshark produced).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_capture::{FileSource, PacketSource};

#[test]
fn reads_every_shared_capture_with_the_indexed_packet_count() {
    let Some(dir) = otposture_fixtures::shared_pcaps() else { return };
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut truncated = Vec::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (dest, packets) = (cols[0], cols[6].parse::<u64>().unwrap());
        let mut src = FileSource::open(&dir.join(dest), 0).unwrap_or_else(|e| panic!("{e}"));
        let mut n = 0;
        let mut last_record = 0;
        loop {
            match src.next_packet() {
                Ok(Some(p)) => {
                    n += 1;
                    assert_eq!(p.record, last_record + 1);
                    last_record = p.record;
                    assert!(p.data.len() <= p.orig_len as usize || p.orig_len == 0, "{dest} record {}", p.record);
                }
                Ok(None) => break,
                // A file cut in the middle of a record is an error after every
                // whole record was read (tshark says "cut short" for the same files).
                Err(otposture_capture::CaptureError::Truncated { record, .. }) if record == n + 1 => {
                    truncated.push(dest.to_string());
                    break;
                }
                Err(e) => {
                    failures.push(format!("{dest}: {e}"));
                    break;
                }
            }
        }
        if n != packets {
            failures.push(format!("{dest}: read {n} packets, index says {packets}"));
        }
        checked += 1;
    }
    assert!(checked >= 180, "only {checked} captures listed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The one capture the index knows to be cut short.
    assert_eq!(truncated, vec!["other_ics/melsoft_129_clean.pcap".to_string()]);
}
