//! The delay before a restart: exponential from a first delay up to a cap, with jitter.
//!
//! # The curve
//!
//! Before the `n`-th restart in a row (`n` from 0), the nominal delay is
//! `min(cap, first × 2ⁿ)`; the actual delay is that, shortened by a random jitter of up to
//! [`JITTER_PERCENT`] percent, so it lies in `[nominal × 0.8, nominal]`: never above the
//! curve or the cap, and services that failed together (a shared upstream went down) do not
//! restart in lockstep. The count `n` goes back to 0 once an instance has stayed up for the
//! intensity window (`within`): a service that failed after a healthy period restarts fast.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How much of the nominal delay the jitter may take off, in percent.
pub(crate) const JITTER_PERCENT: u32 = 20;

/// The default first delay: 100 ms...
pub(crate) const DEFAULT_FIRST: Duration = Duration::from_millis(100);
/// ...doubling up to 30 s.
pub(crate) const DEFAULT_CAP: Duration = Duration::from_secs(30);

/// Exponential backoff between restarts: `first` doubling up to `cap`, with jitter (see the
/// [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) first: Duration,
    pub(crate) cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: DEFAULT_FIRST,
            cap: DEFAULT_CAP,
        }
    }
}

impl Backoff {
    /// The nominal delay before the `attempt`-th restart in a row (from 0).
    pub(crate) fn nominal(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.cap)
    }

    /// The delay before the `attempt`-th restart in a row: the nominal one, less a jitter
    /// drawn from `random`.
    pub(crate) fn delay(&self, attempt: u32, random: u64) -> Duration {
        let nominal = self.nominal(attempt);
        let jitter_range = nominal / 100 * JITTER_PERCENT;
        let nanos = u64::try_from(jitter_range.as_nanos()).unwrap_or(u64::MAX);
        // `nanos + 1` saturates: a cap of `Duration::MAX` is a valid (if odd) backoff.
        let jitter = if nanos == 0 {
            0
        } else {
            random % nanos.saturating_add(1)
        };
        nominal - Duration::from_nanos(jitter)
    }
}

/// A random number for the jitter: std's per-process random hash keys, mixed with a counter
/// and the clock (no dependency for a few bits of spread).
pub(crate) fn random() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let backoff = Backoff {
            first: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        let nominal: Vec<u128> = (0..6).map(|n| backoff.nominal(n).as_millis()).collect();
        assert_eq!(nominal, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.nominal(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_its_range_and_spreads() {
        let backoff = Backoff::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let delay = backoff.delay(2, random());
            assert!(delay <= Duration::from_millis(400), "{delay:?}");
            assert!(delay >= Duration::from_millis(320), "{delay:?}");
            seen.insert(delay);
        }
        assert!(
            seen.len() > 100,
            "the jitter spreads: {} distinct",
            seen.len()
        );
    }

    #[test]
    fn the_longest_backoff_does_not_overflow() {
        let backoff = Backoff {
            first: Duration::MAX,
            cap: Duration::MAX,
        };
        for attempt in [0, 1, 40, u32::MAX] {
            for random in [0, 1, u64::MAX] {
                let delay = backoff.delay(attempt, random);
                assert!(delay <= Duration::MAX && delay >= Duration::MAX / 100 * 80);
            }
        }
    }

    #[test]
    fn a_zero_first_delay_restarts_at_once() {
        let backoff = Backoff {
            first: Duration::ZERO,
            cap: Duration::ZERO,
        };
        assert_eq!(backoff.delay(5, random()), Duration::ZERO);
    }
}
