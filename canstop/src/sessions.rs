//! The live sessions of one scope: admission, counting and abort at the deadline.
//!
//! # What a session costs
//!
//! Spawning and finishing a session takes, beyond `tokio::spawn` itself:
//! - one [`TaskTracker`] token (an `Arc` clone and a counter increment, and both undone);
//! - two short critical sections on one of the scope's *shards*: admit-and-spawn, and settle.
//!   Shards are picked round-robin per spawning thread and padded to their own cache lines,
//!   so spawns and finishes on different cores rarely meet on one lock;
//! - two `Arc` clones of the scope (the task's guard and its `Shutdown`), a 16-byte slab
//!   entry, and no allocation of its own: the task's future is the body's plus about 40
//!   bytes (guard, and a span pointer that stays null unless a subscriber wants spans).
//!
//! Nothing is awaited per session: no shared `Notify` or `watch` is polled by every session.
//! Only a session that itself awaits [`Shutdown::requested`](crate::Shutdown::requested) joins
//! the scope's `CancellationToken` waiter list, as it would with tokio-util directly.
//!
//! # Guarantees
//!
//! - **Refused or tracked.** An admission happens under a shard lock and is refused once the
//!   shard is closed. Closing takes every shard lock, so after [`Sessions::drain`] has closed
//!   the scope, the tracker counts every session that was ever admitted, and waiting for it
//!   to be empty waits for all of them.
//! - **Counted once.** Every admitted session is settled exactly once, under its shard lock:
//!   by its own guard (finished, failed, panicked, or aborted when its task is dropped) or by
//!   the deadline sweep in [`Sessions::abort_all`] (aborted; abandoned if it is blocking work
//!   that cannot be aborted). So `started = finished + failed + panicked + aborted` holds at
//!   every moment the counts are read under the locks.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use slab::Slab;
use tokio::task::AbortHandle;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

use crate::kind::SessionKind;
use crate::report::SessionStats;

/// How many error messages are kept per session kind (the counts are always exact).
pub(crate) const ERRORS_KEPT: usize = 8;

/// The live sessions of one scope.
pub(crate) struct Sessions {
    tracker: TaskTracker,
    shards: Box<[Padded<Mutex<Shard>>]>,
}

/// Keeps each shard on its own cache lines (128 bytes covers adjacent-line prefetch).
#[repr(align(128))]
struct Padded<T>(T);

#[derive(Default)]
struct Shard {
    closed: bool,
    next_serial: u32,
    live: Slab<Live>,
    kinds: Vec<SessionStats>,
    /// For live blocking work (rare, so kept aside to keep [`Live`] small): set once it has
    /// started running. Only started work counts as abandoned; work that had not started is
    /// cancelled by its abort.
    blocking_started: Vec<(u32, Arc<AtomicBool>)>,
}

/// One live session: 16 bytes.
struct Live {
    abort: Option<AbortHandle>,
    /// Tells this admission from a later one that reuses the slab key.
    serial: u32,
    kind: u16,
    /// Counted already (by the deadline sweep); its guard only removes it.
    settled: bool,
    blocking: bool,
}

/// An admitted session's place in its scope's registry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    shard: u32,
    key: u32,
    serial: u32,
}

/// How a session ended, as its guard saw it.
#[derive(Debug)]
pub(crate) enum Settle {
    Finished,
    Failed(String),
    Panicked(String),
    Aborted,
}

impl Sessions {
    pub(crate) fn new() -> Self {
        let shards = (0..shard_count())
            .map(|_| Padded(Mutex::new(Shard::default())))
            .collect();
        Self {
            tracker: TaskTracker::new(),
            shards,
        }
    }

    /// Admits one session of `kind` and spawns its task with `spawn`, or refuses it (`None`)
    /// once the scope is closed.
    ///
    /// `spawn` gets the session's ticket and the tracker token that keeps the scope's drain
    /// waiting, and returns the task's abort handle. It runs under the shard lock, so that the
    /// entry is complete (abort handle included) before anyone can see it: one critical
    /// section per spawn. A task that the spawn drops at once (its runtime is shutting down)
    /// settles through [`SpawnMarker`] instead of taking the lock again.
    pub(crate) fn admit(
        &self,
        kind: SessionKind,
        blocking: Option<Arc<AtomicBool>>,
        spawn: impl FnOnce(Ticket, TaskTrackerToken) -> AbortHandle,
    ) -> Option<()> {
        let shard = next_shard(self.shards.len());
        let mut guard = self.lock(shard);
        if guard.closed {
            return None;
        }
        let kind = guard.kind_index(kind);
        guard.kinds[usize::from(kind)].started += 1;
        let serial = guard.next_serial;
        guard.next_serial = serial.wrapping_add(1);
        let key = guard.live.insert(Live {
            abort: None,
            serial,
            kind,
            settled: false,
            blocking: blocking.is_some(),
        });
        if let Some(started) = blocking {
            guard.blocking_started.push((serial, started));
        }
        // Shard indexes are below 64, and slab keys stay below the number of live sessions.
        let ticket = Ticket {
            shard: shard as u32,
            key: key as u32,
            serial,
        };
        let marker = SpawnMarker::set(self, ticket);
        let abort = spawn(ticket, self.tracker.token());
        match marker.finish() {
            Some(how) => {
                settle_locked(&mut guard, ticket, how);
            }
            None => {
                if let Some(live) = guard.live.get_mut(key) {
                    live.abort = Some(abort);
                }
            }
        }
        Some(())
    }

    /// Counts how an admitted session ended (unless the deadline sweep counted it already),
    /// and logs a failure or a panic.
    pub(crate) fn settle(&self, ticket: Ticket, how: Settle) {
        let Some(how) = SpawnMarker::defer(self, ticket, how) else {
            return;
        };
        let logged = match &how {
            Settle::Failed(error) => Some((false, error.clone())),
            Settle::Panicked(message) => Some((true, message.clone())),
            Settle::Finished | Settle::Aborted => None,
        };
        let kind = settle_locked(&mut self.lock(ticket.shard as usize), ticket, how);
        match (kind, logged) {
            (Some(kind), Some((false, error))) => {
                tracing::warn!(session = %kind, %error, "session failed");
            }
            (Some(kind), Some((true, message))) => {
                tracing::error!(session = %kind, %message, "session panicked");
            }
            _ => {}
        }
    }

    /// Waits until every admitted session has ended, closing admission on the way: once this
    /// returns, the scope refuses new sessions and none is left running.
    pub(crate) async fn drain(&self) {
        drain_admitted(&self.tracker, || self.close()).await;
    }

    /// Refuses every later admission.
    pub(crate) fn close(&self) {
        self.tracker.close();
        for shard in 0..self.shards.len() {
            self.lock(shard).closed = true;
        }
    }

    /// The deadline sweep: closes admission, counts every live session as aborted (blocking
    /// ones also as abandoned) and aborts the async ones. Their guards still run when their
    /// tasks are dropped; they find themselves counted and only clean up. Returns how many
    /// sessions it aborted.
    pub(crate) fn abort_all(&self) -> usize {
        self.tracker.close();
        let mut swept = 0;
        let mut handles = Vec::new();
        for shard in 0..self.shards.len() {
            let mut guard = self.lock(shard);
            guard.closed = true;
            let Shard {
                live,
                kinds,
                blocking_started,
                ..
            } = &mut *guard;
            for (_, entry) in live.iter_mut().filter(|(_, entry)| !entry.settled) {
                entry.settled = true;
                swept += 1;
                let stats = &mut kinds[usize::from(entry.kind)];
                stats.aborted += 1;
                let started = entry.blocking
                    && blocking_started.iter().any(|(serial, started)| {
                        *serial == entry.serial && started.load(Ordering::Acquire)
                    });
                if started {
                    stats.abandoned += 1;
                }
                handles.extend(entry.abort.take());
            }
        }
        // Outside the locks: an abort may drop the task, and its guard takes a shard lock.
        for handle in handles {
            handle.abort();
        }
        swept
    }

    /// Waits until no session is running, without closing admission.
    pub(crate) async fn idle(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.tracker.is_empty()
    }

    /// The counts per kind, summed over the shards.
    pub(crate) fn stats(&self) -> Vec<SessionStats> {
        let mut all: Vec<SessionStats> = Vec::new();
        for shard in 0..self.shards.len() {
            for stats in &self.lock(shard).kinds {
                merge_into(&mut all, stats);
            }
        }
        all
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // Nothing panics while a shard is locked; a poisoned lock is still consistent.
        self.shards[shard]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts `how` for the session of `ticket` in a locked shard; returns its kind when this
/// counted it (not when the deadline sweep had already).
fn settle_locked(shard: &mut Shard, ticket: Ticket, how: Settle) -> Option<SessionKind> {
    let key = ticket.key as usize;
    if shard
        .live
        .get(key)
        .is_none_or(|live| live.serial != ticket.serial)
    {
        return None;
    }
    let live = shard.live.remove(key);
    if live.blocking {
        shard
            .blocking_started
            .retain(|(serial, _)| *serial != ticket.serial);
    }
    if live.settled {
        return None;
    }
    let stats = &mut shard.kinds[usize::from(live.kind)];
    match how {
        Settle::Finished => stats.finished += 1,
        Settle::Failed(error) => {
            stats.failed += 1;
            if stats.errors.len() < ERRORS_KEPT {
                stats.errors.push(error);
            }
        }
        Settle::Panicked(message) => {
            stats.panicked += 1;
            if stats.errors.len() < ERRORS_KEPT {
                stats.errors.push(format!("panicked: {message}"));
            }
        }
        Settle::Aborted => stats.aborted += 1,
    }
    Some(stats.kind)
}

/// Marks this thread as spawning a session's task under a shard lock. If the spawn drops the
/// task at once (tokio does, inline, when the runtime is shutting down), the task's guard
/// settles on this same thread while the lock is held; the marker takes that settlement
/// instead of letting the guard lock the shard again (which would deadlock).
struct SpawnMarker;

thread_local! {
    /// The scope's address and the ticket being spawned.
    static SPAWNING: Cell<Option<(usize, u32, u32)>> = const { Cell::new(None) };
    /// A settlement deferred by a task dropped during its own spawn.
    static DEFERRED: RefCell<Option<Settle>> = const { RefCell::new(None) };
}

impl SpawnMarker {
    fn set(sessions: &Sessions, ticket: Ticket) -> Self {
        let id = sessions as *const Sessions as usize;
        SPAWNING.set(Some((id, ticket.shard, ticket.key)));
        SpawnMarker
    }

    /// Takes the settlement of a task dropped during the spawn, if one was.
    fn finish(self) -> Option<Settle> {
        SPAWNING.set(None);
        DEFERRED.take()
    }

    /// `Some(how)` to settle now; `None` when `how` was deferred to the spawn in progress.
    fn defer(sessions: &Sessions, ticket: Ticket, how: Settle) -> Option<Settle> {
        let id = sessions as *const Sessions as usize;
        if SPAWNING.get() == Some((id, ticket.shard, ticket.key)) {
            DEFERRED.set(Some(how));
            None
        } else {
            Some(how)
        }
    }
}

impl Drop for SpawnMarker {
    fn drop(&mut self) {
        // Also on unwind out of the spawn.
        SPAWNING.set(None);
    }
}

/// Waits until `tracker` is empty with admission closed by `close_admission`.
///
/// The tracker may become empty while admission is still open; closing then leaves a window
/// in which new work was admitted. Those admissions took their tracker token under the lock
/// that `close_admission` takes, so after it the tracker counts them, and waiting again
/// covers them. Shared by sessions and child services.
pub(crate) async fn drain_admitted(tracker: &TaskTracker, close_admission: impl Fn()) {
    tracker.close();
    loop {
        tracker.wait().await;
        close_admission();
        if tracker.is_empty() {
            return;
        }
    }
}

/// Adds `stats` to the entry of the same kind in `all`, or appends it.
pub(crate) fn merge_into(all: &mut Vec<SessionStats>, stats: &SessionStats) {
    match all.iter_mut().find(|known| known.kind == stats.kind) {
        Some(known) => known.add(stats),
        None => all.push(stats.clone()),
    }
}

impl Shard {
    fn kind_index(&mut self, kind: SessionKind) -> u16 {
        let index = match self
            .kinds
            .iter()
            .position(|stats| stats.kind.same_as(&kind))
        {
            Some(index) => index,
            None => {
                self.kinds.push(SessionStats::new(kind));
                self.kinds.len() - 1
            }
        };
        // More than 65 535 kinds of session in one scope is not a program anyone writes.
        u16::try_from(index).unwrap_or(u16::MAX)
    }
}

fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cores * 4).next_power_of_two().clamp(4, 64)
    })
}

/// Round-robin per thread, so one accept loop spreads its sessions over every shard.
fn next_shard(shards: usize) -> usize {
    static SEED: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        // Threads start at different shards (a prime stride) so they do not march in step.
        static NEXT: Cell<usize> = Cell::new(SEED.fetch_add(7, Ordering::Relaxed));
    }
    NEXT.with(|next| {
        let shard = next.get();
        next.set(shard.wrapping_add(1));
        shard % shards
    })
}
