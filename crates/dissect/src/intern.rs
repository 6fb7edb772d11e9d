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

thread_local! {
    static NAMES: RefCell<HashMap<(&'static str, u64), &'static str, foldhash::fast::RandomState>> =
        RefCell::new(HashMap::default());
}

/// The name for `(family, code)`, made by `make` the first time it is asked for.
/// `family` tells apart the name spaces of different callers (`"cip_service"`),
/// `code` packs the numbers the name is made of.
pub(crate) fn name(family: &'static str, code: u64, make: impl FnOnce() -> String) -> Cow<'static, str> {
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some(&known) = names.get(&(family, code)) {
            return Cow::Borrowed(known);
        }
        if names.len() >= MAX_NAMES {
            return Cow::Owned(make());
        }
        let kept: &'static str = Box::leak(make().into_boxed_str());
        names.insert((family, code), kept);
        Cow::Borrowed(kept)
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
