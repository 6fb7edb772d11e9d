//! Arbitrary text as an advisory range and an observed version (the input cut
//! at its first zero byte; without one, the whole input is both): reading and
//! checking must never panic, and the answers must hold together — the order
//! is antisymmetric, the fixed version of a single `<` bound is never
//! affected, `fixed` never says affected, and an unread range never decides.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_versions::{check, fixed, single, Op, Range, RangeKind, Verdict, Version};

fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&c| c == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let (range_text, observed_text) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let range = Range::parse(&range_text);
    let _ = range.canonical();
    let Ok(observed) = Version::parse(&observed_text) else { return };
    let verdict = check(&range, &observed);
    if !range.is_definite() {
        assert!(matches!(verdict, Verdict::NeedsReview { .. }), "an unread range decided: {verdict}");
    }
    assert!(!matches!(fixed(&range_text, &observed), Verdict::Affected { .. }), "fixed said affected");
    let _ = single(&range_text, &observed);
    if let RangeKind::Constraints { bounds, equal, not_equal } = range.kind() {
        for c in bounds.iter().chain(equal).chain(not_equal) {
            let there = observed.compare(&c.version);
            let back = c.version.compare(&observed).map(std::cmp::Ordering::reverse);
            assert_eq!(there, back, "order not antisymmetric: {} vs {}", observed.raw(), c.version.raw());
        }
        if let ([c], [], []) = (bounds.as_slice(), equal.as_slice(), not_equal.as_slice()) {
            if c.op == Op::Lt && observed.compare(&c.version) == Some(std::cmp::Ordering::Equal) {
                assert!(matches!(verdict, Verdict::NotAffected { .. }), "the fixed version was {verdict}");
            }
        }
    }
});
