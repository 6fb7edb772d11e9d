//! Arbitrary bytes as an asset register, read as CSV and as JSON with the
//! default columns and with each preset, then reconciled against an empty
//! inventory: reading must never panic, and every row read must end as an
//! entry or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_cmdb::register::{parse, Format, Mapping, Preset};

fuzz_target!(|data: &[u8]| {
    for format in [Format::Csv, Format::Json] {
        for mapping in [Mapping::default(), Mapping::preset(Preset::ServiceNow), Mapping::preset(Preset::NetBox)] {
            let Ok(parsed) = parse(data, format, &mapping, "fuzz") else { continue };
            assert_eq!(parsed.entries.len() as u64 + parsed.bad_rows(), parsed.rows, "a row went missing");
            let _ = parsed.accept(false);
            if let Ok(r) = otposture_cmdb::reconcile(&parsed.entries, &[]) {
                assert_eq!(r.register_only.len(), parsed.entries.len());
            }
        }
    }
});
