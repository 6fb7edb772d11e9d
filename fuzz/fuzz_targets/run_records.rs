//! Arbitrary bytes as a stored run of kept operations (`operation_records.records`,
//! read back from a database that may be damaged): decoding must never panic,
//! and whatever it reads, the encoder writes again so that it reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_model::runs::{decode, OperationRun, RunKey};
use otposture_model::{AttrValue, FlowId, Timestamp};
use std::borrow::Cow;

fuzz_target!(|data: &[u8]| {
    let Ok(records) = decode(data) else { return };
    // Packet numbers read back as differences may be negative: those the
    // engine cannot have written are left out.
    let records: Vec<_> = records.into_iter().filter(|r| r.packet >= 0).collect();
    let key = RunKey {
        source: 0,
        flow: FlowId(1),
        protocol: Cow::Borrowed("fuzz"),
        name: Cow::Borrowed("op"),
        class: None,
        src_mac: None,
        src_ip: None,
        dst_ip: None,
    };
    let mut run = OperationRun::new(key);
    for r in &records {
        let attributes: Vec<(Cow<'static, str>, AttrValue)> =
            r.attributes.iter().map(|(k, v)| (Cow::Owned(k.clone()), AttrValue::from(v.as_str()))).collect();
        assert!(run.push(Timestamp(r.ts), r.packet as u64, &attributes));
    }
    assert_eq!(decode(run.records()).expect("an encoded run reads back"), records);
});
