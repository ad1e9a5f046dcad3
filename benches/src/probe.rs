//! The measuring instruments every contender shares, so that their cost is the same for all.
//!
//! Each task of the parked scenario calls [`Probe::park`] once it runs, right before it waits
//! for the stop signal; the task that brings the count to `n` records the instant and wakes
//! the owner. No sleeps, no polling. Each service of the service-churn scenario calls
//! [`Cycles::up`] once it runs, which wakes the owner to stop it. Each instance of the restart
//! scenario calls [`Restarts::instance`] once it runs, which counts it and tells the last one
//! that it is the last.

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

/// What the service-cycle scenario measures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cycled {
    /// From the first start to the last service fully stopped.
    pub(crate) elapsed: Duration,
    /// In a memory round, the resident-set growth per cycle over the second half of the
    /// cycles (the first half pays the fixed costs: the allocators' arenas, canstop's first
    /// stopped reports kept in full), read right after the last one, the owner's tree,
    /// `Toplevel` or tracker still alive: what a program that goes on running keeps per
    /// cycle. Zero in a timing round.
    pub(crate) retained_per_cycle: f64,
}

/// The instrument of the service-cycle scenario: `n` cycles, one service at a time, counted
/// by [`Cycles::another`]. Each service's body calls [`Cycles::up`] once it runs, right
/// before it waits for its stop; the owner waits for that ([`Cycles::wait_up`]) before it
/// stops the service, so that every cycle stops a service that is up and parked on its stop
/// signal, as a long-lived one is. The wait costs every contender the same (a `Notify`, one
/// wake-up of the owner).
#[derive(Debug)]
pub(crate) struct Cycles {
    n: usize,
    /// Whether this round measures memory (reads the resident set) rather than time.
    memory: bool,
    started: AtomicUsize,
    up: AtomicUsize,
    running: Notify,
    began: OnceLock<Instant>,
    half_rss: OnceLock<u64>,
    ended: OnceLock<Cycled>,
    failed: OnceLock<String>,
}

impl Cycles {
    /// An instrument for `n` cycles, leaked like a [`Probe`]; `memory` for a round that
    /// measures the resident set.
    pub(crate) fn leak(n: usize, memory: bool) -> &'static Self {
        assert!(n > 0, "a round needs at least one cycle");
        Box::leak(Box::new(Self {
            n,
            memory,
            started: AtomicUsize::new(0),
            up: AtomicUsize::new(0),
            running: Notify::new(),
            began: OnceLock::new(),
            half_rss: OnceLock::new(),
            ended: OnceLock::new(),
            failed: OnceLock::new(),
        }))
    }

    /// Right before the first start.
    pub(crate) fn begin(&self) {
        let _ = self.began.set(Instant::now());
    }

    /// Whether to run another cycle: `true` `n` times. In a memory round, reads the resident
    /// set once half of the cycles are done.
    pub(crate) fn another(&self) -> bool {
        let done = self.started.fetch_add(1, Ordering::Relaxed);
        if self.memory && done == self.n / 2 {
            let _ = self.half_rss.set(resident_bytes().unwrap_or(0));
        }
        done < self.n
    }

    /// Called by each service's body once it runs, right before it waits for its stop.
    pub(crate) fn up(&self) {
        self.up.fetch_add(1, Ordering::Relaxed);
        // Stores a permit when the owner is not waiting yet.
        self.running.notify_one();
    }

    /// Waits until the service just started has called [`up`](Self::up).
    pub(crate) async fn wait_up(&self) {
        self.running.notified().await;
    }

    /// Right after the last service has fully stopped: records the time and, in a memory
    /// round, the resident-set growth (call it before the owner's tree is torn down).
    pub(crate) fn end(&self) {
        let elapsed = self.began.get().map_or(Duration::ZERO, Instant::elapsed);
        let retained_per_cycle = match (self.memory, self.half_rss.get()) {
            (true, Some(&half)) => {
                let rss = resident_bytes().unwrap_or(0);
                (rss as i64 - half as i64) as f64 / (self.n - self.n / 2) as f64
            }
            _ => 0.0,
        };
        let _ = self.ended.set(Cycled {
            elapsed,
            retained_per_cycle,
        });
    }

    /// A cycle went wrong where no `Result` can carry it out (inside a subsystem).
    pub(crate) fn fail(&self, error: String) {
        let _ = self.failed.set(error);
    }

    /// The figures, once the owner has torn its tree down: every body ran, nothing failed.
    pub(crate) fn result(&self) -> Result<Cycled, String> {
        if let Some(error) = self.failed.get() {
            return Err(error.clone());
        }
        let up = self.up.load(Ordering::Relaxed);
        if up != self.n {
            return Err(format!("{up} service bodies ran, expected {}", self.n));
        }
        if self.began.get().is_none() {
            return Err("the cycles never began".to_owned());
        }
        self.ended
            .get()
            .copied()
            .ok_or_else(|| "the cycles never ended".to_owned())
    }
}

/// The instrument of the restart scenario: one service restarted `n` times in a row. Each
/// instance's body calls [`Restarts::instance`] first thing when it runs; the first call
/// starts the clock, and the `n + 1`-th (the `n`-th restart's instance) stops it and is told
/// that it is the last: it must not fail (it waits for its stop, or ends the loop). The
/// measured time is `n` times what it takes to go from one instance's start to the next one's:
/// the failed body polled to its `Err`, whatever the restart path does with it, the next body
/// built and polled for the first time. One `fetch_add` per instance, the same for everyone.
#[derive(Debug)]
pub(crate) struct Restarts {
    n: usize,
    instances: AtomicUsize,
    began: OnceLock<Instant>,
    elapsed: OnceLock<Duration>,
    failed: OnceLock<String>,
}

impl Restarts {
    /// An instrument for `n` restarts, leaked like a [`Probe`].
    pub(crate) fn leak(n: usize) -> &'static Self {
        assert!(n > 0, "a round needs at least one restart");
        Box::leak(Box::new(Self {
            n,
            instances: AtomicUsize::new(0),
            began: OnceLock::new(),
            elapsed: OnceLock::new(),
            failed: OnceLock::new(),
        }))
    }

    /// Called by each instance's body first thing when it runs: `true` for the last one (the
    /// `n`-th restart's), which must not fail.
    pub(crate) fn instance(&self) -> bool {
        let instance = self.instances.fetch_add(1, Ordering::Relaxed);
        if instance == 0 {
            let _ = self.began.set(Instant::now());
            return false;
        }
        if instance < self.n {
            return false;
        }
        if instance == self.n {
            let elapsed = self.began.get().map_or(Duration::ZERO, Instant::elapsed);
            let _ = self.elapsed.set(elapsed);
        } else {
            let _ = self
                .failed
                .set(format!("instance {instance} started after the last one"));
        }
        true
    }

    /// The time from the first instance's start to the `n`-th restart's, once the owner has
    /// torn its tree down: exactly `n + 1` instances ran.
    pub(crate) fn result(&self) -> Result<Duration, String> {
        if let Some(error) = self.failed.get() {
            return Err(error.clone());
        }
        let instances = self.instances.load(Ordering::Relaxed);
        if instances != self.n + 1 {
            return Err(format!(
                "{instances} instances ran, expected {} (n restarts)",
                self.n + 1
            ));
        }
        self.elapsed
            .get()
            .copied()
            .ok_or_else(|| "the last instance never ran".to_owned())
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
