//! The measuring instrument every contender shares, so that its cost is the same for all.
//!
//! Each task of the parked scenario calls [`Probe::park`] once it runs, right before it waits
//! for the stop signal; the task that brings the count to `n` records the instant and wakes
//! the owner. No sleeps, no polling.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// What the parked scenario measures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parked {
    /// From the first spawn to the last task parked.
    pub(crate) spawn: Duration,
    /// Resident-set growth over the spawn, in bytes.
    pub(crate) rss_growth: i64,
    /// From the stop signal to the owner knowing that every task has finished.
    pub(crate) shutdown: Duration,
}

/// Counts the parked tasks of one round, and carries the instants of the round between the
/// code that spawns (sometimes inside a service or subsystem) and the owner.
#[derive(Debug)]
pub(crate) struct Probe {
    n: usize,
    parked: AtomicUsize,
    all_parked: Notify,
    parked_at: OnceLock<Instant>,
    began: OnceLock<(Instant, u64)>,
    spawned: OnceLock<(Duration, i64)>,
    fired_at: OnceLock<Instant>,
}

impl Probe {
    /// A probe for a round of `n` tasks. Leaked (one per round, a few hundred bytes) so that
    /// tasks hold a `&'static Probe` and pay no reference counting for it.
    pub(crate) fn leak(n: usize) -> &'static Self {
        assert!(n > 0, "a round needs at least one task");
        Box::leak(Box::new(Self {
            n,
            parked: AtomicUsize::new(0),
            all_parked: Notify::new(),
            parked_at: OnceLock::new(),
            began: OnceLock::new(),
            spawned: OnceLock::new(),
            fired_at: OnceLock::new(),
        }))
    }

    /// Right before the first spawn: records the resident set and the instant.
    pub(crate) fn begin(&self) {
        // The resident set first: reading /proc is not part of the spawn time.
        let rss = resident_bytes().unwrap_or(0);
        let _ = self.began.set((Instant::now(), rss));
    }

    /// The instant [`begin`](Self::begin) was called.
    pub(crate) fn began_at(&self) -> Instant {
        self.began.get().expect("Probe::begin was not called").0
    }

    /// Called by each task once it runs, right before it waits for the stop signal.
    pub(crate) fn park(&self) {
        if self.parked.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            let _ = self.parked_at.set(Instant::now());
            self.all_parked.notify_one();
        }
    }

    /// Waits until all `n` tasks have parked; records the spawn time and the resident-set
    /// growth, and returns them.
    pub(crate) async fn all_parked(&self) {
        self.all_parked.notified().await;
        let rss = resident_bytes().unwrap_or(0);
        let (began, rss_before) = *self.began.get().expect("Probe::begin was not called");
        let parked_at = *self.parked_at.get().expect("woken before the last park");
        let spawned = (
            parked_at.saturating_duration_since(began),
            rss as i64 - rss_before as i64,
        );
        let _ = self.spawned.set(spawned);
    }

    /// Records the instant the stop signal is fired.
    pub(crate) fn fire(&self) {
        let _ = self.fired_at.set(Instant::now());
    }

    /// The result of the round, once the owner knows every task has finished: call it right
    /// then, since the shutdown time is measured up to now.
    pub(crate) fn finish(&self) -> Result<Parked, String> {
        let now = Instant::now();
        let (spawn, rss_growth) = *self.spawned.get().ok_or("the tasks never all parked")?;
        let fired_at = *self.fired_at.get().ok_or("the stop was never fired")?;
        Ok(Parked {
            spawn,
            rss_growth,
            shutdown: now.saturating_duration_since(fired_at),
        })
    }
}

/// The resident set of this process, in bytes (`VmRSS` in `/proc/self/status`); `None` where
/// there is no procfs.
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_resident_set() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().unwrap() > 0);
        }
    }
}
