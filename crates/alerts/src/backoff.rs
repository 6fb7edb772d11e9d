//! How long to wait before the next attempt: exponential backoff with jitter.
//!
//! Attempt n (n >= 1 failed attempts so far) waits `base = min(initial * 2^(n-1), max)`
//! less a random part of up to half of it ("equal jitter"): somewhere in
//! `(base/2, base]`. The jitter keeps several otposture instances (or targets)
//! from retrying against a recovering receiver in lockstep; the floor of half
//! keeps the schedule from collapsing to immediate retries.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The wait after `failures` failed attempts (1 = after the first), for a jitter in `[0, 1)`.
pub fn backoff_delay(failures: u32, initial_ms: u64, max_ms: u64, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(63);
    let base = initial_ms.saturating_mul(1u64 << doublings).min(max_ms);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
    // Float to integer: `as` saturates, and the product is at most base / 2.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let cut = ((base / 2) as f64 * jitter) as u64;
    Duration::from_millis(base - cut.min(base / 2))
}

/// A jitter in `[0, 1)`. Drawn from std's randomly keyed hasher: jitter needs no
/// more quality than that, and it saves a dependency.
pub(crate) fn random_jitter() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(crate::clock::now_ns().unsigned_abs());
    // 53 random bits make an f64 in [0, 1).
    #[allow(clippy::cast_precision_loss)]
    let unit = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_initial_wait_up_to_the_cap_without_jitter() {
        let ms: Vec<u128> = (1..=10).map(|n| backoff_delay(n, 500, 60_000, 0.0).as_millis()).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    }

    #[test]
    fn jitter_takes_off_at_most_half() {
        assert_eq!(backoff_delay(1, 500, 60_000, 0.5).as_millis(), 375);
        assert_eq!(backoff_delay(3, 500, 60_000, 0.999_999).as_millis(), 1001);
        assert_eq!(backoff_delay(20, 500, 60_000, 1.0).as_millis(), 30_000);
        assert_eq!(backoff_delay(2, 500, 60_000, f64::NAN).as_millis(), 1000);
    }

    #[test]
    fn survives_huge_attempt_counts_and_zero_initial() {
        assert_eq!(backoff_delay(u32::MAX, 500, 60_000, 0.0).as_millis(), 60_000);
        assert_eq!(backoff_delay(0, 500, 60_000, 0.0).as_millis(), 500);
        assert_eq!(backoff_delay(5, 0, 60_000, 0.3).as_millis(), 0);
    }

    #[test]
    fn random_jitter_stays_in_range_and_varies() {
        let draws: Vec<f64> = (0..64).map(|_| random_jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(draws.iter().any(|j| (j - draws[0]).abs() > 1e-9), "{draws:?}");
    }
}
