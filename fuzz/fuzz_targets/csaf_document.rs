//! Arbitrary bytes as a CSAF document: format detection, then the CSAF
//! parser and validator. Neither may panic, and an advisory that validates
//! must hold what validation promises: every product a status refers to is
//! defined, every version string is within the bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_intel::limits::MAX_VERSION;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let _ = otposture_intel::detect(data);
    let Ok(advisory) = otposture_intel::csaf::parse(data) else { return };
    let defined: HashSet<&str> = advisory.products.iter().map(|p| p.product_id.as_str()).collect();
    assert_eq!(defined.len(), advisory.products.len(), "a product id defined twice");
    for v in &advisory.vulnerabilities {
        for (_, id) in &v.product_status {
            assert!(defined.contains(id.as_str()), "status refers to undefined {id}");
        }
        for s in &v.scores {
            assert!((0.0..=10.0).contains(&s.base_score));
        }
    }
    for p in &advisory.products {
        for b in &p.path {
            if b.category == "product_version" || b.category == "product_version_range" {
                assert!(b.name.len() <= MAX_VERSION);
            }
        }
    }
});
