//! Operation names made at run time, kept once.
//!
//! A service no table names is reported by number (`class_0x72_service_0x4c`).
//! Real traffic repeats a few such services millions of times (the benchmark
//! capture: 3.5 M messages of three unpublished CIP services), and formatting a
//! fresh `String` for each, then hashing and freeing it in the aggregator, was a
//! tenth of the packet path. Interned, the name is a `&'static str` like a known
//! one. The names are leaked on purpose, at most [`MAX_NAMES`] per thread
//! (about 200 KiB): past the cap a name is formatted each time, as before, so a
//! flood of distinct unknown codes costs speed, never memory.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

/// Names kept per thread.
pub(crate) const MAX_NAMES: usize = 4096;

/// Slots of the cache of names last asked for.
const RECENT: usize = 64;

/// A cached name: the family's address and length, the code, the name.
type Recent = ((usize, usize), u64, &'static str);

/// The names kept, and in front of them a direct-mapped cache of the names
/// last asked for, keyed by the family's address: a hit costs a compare, where
/// hashing the family's text for the map was most of the lookup.
struct Names {
    kept: HashMap<(&'static str, u64), &'static str, foldhash::fast::RandomState>,
    recent: [Option<Recent>; RECENT],
}

thread_local! {
    static NAMES: RefCell<Names> = RefCell::new(Names { kept: HashMap::default(), recent: [None; RECENT] });
}

/// The name for `(family, code)`, made by `make` the first time it is asked for.
/// `family` tells apart the name spaces of different callers (`"cip_service"`),
/// `code` packs the numbers the name is made of.
pub(crate) fn name(family: &'static str, code: u64, make: impl FnOnce() -> String) -> Cow<'static, str> {
    let at = (family.as_ptr() as usize, family.len());
    let slot = (at.0 ^ code as usize).wrapping_mul(0x9e37_79b9_7f4a_7c15_u64 as usize) >> (usize::BITS - 6);
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some(Some((a, c, known))) = names.recent.get(slot) {
            if (*a, *c) == (at, code) {
                return Cow::Borrowed(*known);
            }
        }
        let known = match names.kept.get(&(family, code)) {
            Some(&known) => known,
            None if names.kept.len() >= MAX_NAMES => return Cow::Owned(make()),
            None => {
                let kept: &'static str = Box::leak(make().into_boxed_str());
                names.kept.insert((family, code), kept);
                kept
            }
        };
        if let Some(r) = names.recent.get_mut(slot) {
            *r = Some((at, code, known));
        }
        Cow::Borrowed(known)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_made_once_and_then_borrowed() {
        let mut made = 0;
        let mut ask = |code| {
            name("test_once", code, || {
                made += 1;
                format!("op_{code}")
            })
        };
        let a = ask(7);
        let b = ask(7);
        assert!(matches!((&a, &b), (Cow::Borrowed(_), Cow::Borrowed(_))));
        assert_eq!((a.as_ref(), b.as_ref()), ("op_7", "op_7"));
        assert_eq!(made, 1);
        assert_eq!(name("test_other_family", 7, || "other".into()), "other");
    }

    #[test]
    fn names_that_share_a_cache_slot_stay_apart() {
        for round in 0..2 {
            for code in 0..500u64 {
                let n = name("test_slots", code, || format!("op_{code}"));
                assert_eq!(n, format!("op_{code}"), "round {round}");
                assert_eq!(name("test_slots_b", code, || format!("b_{code}")), format!("b_{code}"));
            }
        }
    }

    #[test]
    fn past_the_cap_names_are_made_each_time() {
        // Runs on its own test thread, so the table starts empty.
        for code in 0..MAX_NAMES as u64 {
            let _ = name("test_cap", code, || format!("op_{code}"));
        }
        let over = name("test_cap", u64::MAX, || "over".into());
        assert!(matches!(over, Cow::Owned(ref s) if s == "over"));
        assert!(matches!(name("test_cap", 3, String::new), Cow::Borrowed("op_3")));
    }
}
