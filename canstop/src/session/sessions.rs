//! The live sessions of one scope: admission, counting, and abort at the deadline.
//!
//! # What a session costs
//!
//! Spawning and finishing a session takes, beyond `tokio::spawn` itself, no lock and no
//! allocation (but for a scope's first session, which makes the scope's shards):
//! - entering and leaving the scope's [`Gate`] (one atomic add each, on a word the scope's
//!   drain waits on: the same work as a tokio-util `TaskTracker` token);
//! - two counts (started, and how it ended), each in the counting thread's own *shard* of the
//!   scope (see [`slots`]): a plain load and store, on counters padded to their own cache
//!   lines, so cores do not bounce them between each other;
//! - one `Arc` clone of the scope for the task's guard, and one for its `Shutdown` if the
//!   body takes one (a [`FutureBody`](crate::FutureBody) does not); the task's future is the
//!   body's plus 24 bytes (the guard's scope and [`Place`], and a span pointer that stays
//!   null unless a subscriber wants spans), which keeps it in the body's own allocation
//!   class more often than not (tokio allocates tasks in steps of 128 bytes).
//!
//! A session that waits (returns `Pending`) is also *parked*: its waker (16 bytes, see
//! [`wakers`](crate::session::wakers)) goes into its shard's registry under that shard's lock,
//! once, and comes out under it when the session ends. That registry is what the deadline sweep wakes; a session that finishes in
//! its first poll never touches it.
//!
//! # Guarantees
//!
//! - **Refused or tracked.** Admission is the gate's: the drain closes it in the same atomic
//!   step that sees no session left, so after [`Sessions::drain`] returns none is left and
//!   none starts; the deadline sweep closes it outright. A session leaves the gate when its
//!   task is dropped, after its body's future: a drained scope has dropped every body.
//! - **Aborted at the deadline.** [`Sessions::abort_all`] raises the scope's abort flag and
//!   wakes every parked session. A session checks the flag before each poll of its body: once
//!   it is up, the body is not polled again and is dropped (as `AbortHandle::abort` would).
//!   A session that was queued or in a poll at that moment sees the flag at its next poll.
//! - **Counted once.** An async session counts itself, exactly once, through its guard:
//!   finished, failed, panicked, or aborted. Blocking work is counted by the sweep if it gets
//!   there first (aborted, and abandoned if it had started, since it cannot be stopped), and
//!   marked so that its guard does not count it again. So
//!   `started = finished + failed + panicked + aborted` once the scope is drained; while the
//!   abort is under way, [`Sessions::stats`] counts the sessions not ended yet as aborted
//!   (their bodies are not polled again), so a report made then, or for a scope whose
//!   threads are blocked, adds up too.
//! - **Read without a lock.** A [state](crate::State) snapshot reads the counts with
//!   [`Sessions::live_counts`]: loads of the kinds' slots and the shards' counters, the ends
//!   before the starts, so that `started >= ended` in every snapshot; it takes neither the
//!   parked lock nor the errors lock, and only tries the lock of the kinds beyond the first
//!   eight. Spawning and ending a session do nothing more for it.
//! - **Blocking work starts only if not cancelled.** The sweep and the work decide once,
//!   with one atomic, whether it has started ([`BlockingStart`]): work the sweep counted as
//!   aborted never runs, and work that had started is counted as abandoned.

use std::collections::HashMap;
use std::sync::{Arc, TryLockError};
use std::task::Waker;

use slab::Slab;

use crate::lifecycle::log::log;
use crate::loom::{fence, AtomicBool, AtomicU64, AtomicU8, Mutex, MutexGuard, OnceLock, Ordering};
use crate::report::SessionStats;
use crate::session::kind::SessionKind;
use crate::session::wakers::Wakers;
use crate::sync::gate::Gate;
use crate::sync::locking::lock;
use crate::sync::slots::{self, Padded};

/// How many error messages are kept per session kind (the counts are always exact).
pub(crate) const ERRORS_KEPT: usize = 8;

/// The first kinds of session of a scope are counted without a lock; more kinds than this in
/// one scope (unusual) are counted under [`Made::more_kinds`]'s lock.
const FAST_KINDS: usize = 8;

/// The live sessions of one scope.
///
/// `repr(C)` with the gate first (see [`Node`](crate::tree::node::Node)).
#[repr(C)]
pub(crate) struct Sessions {
    gate: Gate,
    /// Raised by the deadline sweep: no session body is polled again.
    aborted: AtomicBool,
    /// Made at the first session (or the sweep): a service that never spawns one does not
    /// pay for its kinds and shards (five 512-byte shards on two cores, and 384 bytes of kind
    /// slots, made, moved and freed with every service start and stop).
    made: OnceLock<Box<Made>>,
}

/// What a scope's sessions need once it has one (see [`Sessions::made`]).
struct Made {
    /// The scope's kinds, in the order they were first admitted; a kind's index is its slot.
    kinds: [OnceLock<SessionKind>; FAST_KINDS],
    more_kinds: Mutex<MoreKinds>,
    /// One per thread slot.
    shards: Box<[Padded<Shard>]>,
    /// The first few error messages of each kind, by kind index.
    errors: Mutex<HashMap<KindIndex, Vec<String>>>,
}

impl Made {
    /// The counts of the first [`FAST_KINDS`] kinds, summed over the shards, loads only. How
    /// each session ended is read before how many started: a session's start is counted
    /// before its task exists, so every end read here belongs to a start that the reads after
    /// see, and a count made while sessions still end (a report during the sweep, a live
    /// state) never shows more ended than started (see `LiveCounts`).
    fn fast_kinds(&self) -> impl Iterator<Item = SessionStats> + '_ {
        let read = |counter: &AtomicU64| counter.load(Ordering::Acquire);
        self.kinds
            .iter()
            .map_while(OnceLock::get)
            .enumerate()
            .map(move |(index, kind)| {
                let mut stats = SessionStats::new(*kind);
                for shard in &self.shards {
                    let counts = &shard.0.counts[index];
                    stats.finished += read(&counts.finished);
                    stats.failed += read(&counts.failed);
                    stats.panicked += read(&counts.panicked);
                    stats.aborted += read(&counts.aborted);
                    stats.abandoned += read(&counts.abandoned);
                    stats.cancelled += read(&counts.cancelled);
                }
                fence(Ordering::Acquire);
                for shard in &self.shards {
                    stats.started += read(&shard.0.counts[index].started);
                }
                stats
            })
    }

    #[inline(never)]
    fn find_kind(&self, kind: SessionKind) -> Option<KindIndex> {
        for (index, slot) in self.kinds.iter().enumerate() {
            match slot.get() {
                Some(known) if known.same_as(&kind) => return Some(KindIndex(index as u16)),
                Some(_) => {}
                None => break,
            }
        }
        self.add_kind(kind)
    }

    #[cold]
    fn add_kind(&self, kind: SessionKind) -> Option<KindIndex> {
        for (index, slot) in self.kinds.iter().enumerate() {
            // Two threads may race for a free slot; the loser moves on to the next one.
            if slot.get_or_init(|| kind).same_as(&kind) {
                return Some(KindIndex(index as u16));
            }
        }
        let mut more = lock(&self.more_kinds);
        let MoreKinds { index, stats } = &mut *more;
        if let Some(&known) = index.get(&kind) {
            return Some(KindIndex(known));
        }
        let next = u16::try_from(FAST_KINDS + stats.len())
            .ok()
            .filter(|&next| usize::from(next) < MAX_KINDS)?;
        index.insert(kind, next);
        stats.push(SessionStats::new(kind));
        Some(KindIndex(next))
    }
}

/// The kinds beyond the first [`FAST_KINDS`], counted under a lock: found by hash, so that a
/// scope with thousands of kinds still admits in constant time.
#[derive(Default)]
struct MoreKinds {
    index: HashMap<SessionKind, u16>,
    stats: Vec<SessionStats>,
}

/// Why a scope refused a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The scope is closed (drained, or past its deadline).
    Closed,
    /// The scope has [`MAX_KINDS`] kinds of session already: kinds are never merged.
    TooManyKinds,
}

/// How many kinds of session one scope counts (a kind's index is 16 bits, to keep a session's
/// bookkeeping at 8 bytes). Kinds are call sites and names, so no real program comes close.
pub(crate) const MAX_KINDS: usize = u16::MAX as usize;

#[derive(Default)]
struct Shard {
    counts: [Counts; FAST_KINDS],
    parked: Mutex<Parked>,
}

#[derive(Default)]
struct Counts {
    started: AtomicU64,
    finished: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    aborted: AtomicU64,
    abandoned: AtomicU64,
    /// Of `aborted`: cancelled by the program ([`Settle::Cancelled`]).
    cancelled: AtomicU64,
}

/// The sessions of one shard that wait, and its blocking work, so that the deadline sweep
/// can reach them.
#[derive(Default)]
struct Parked {
    /// Set by the sweep once it has been through this shard: later parking is refused.
    swept: bool,
    /// Async sessions that returned `Pending`: woken by the sweep, they see the abort flag,
    /// drop their body and count themselves. 16 bytes each.
    waiting: Wakers,
    /// Blocking work, which no flag can stop: counted by the sweep itself.
    blocking: Slab<Blocking>,
}

struct Blocking {
    start: Arc<BlockingStart>,
    kind: KindIndex,
    /// Counted already (by the deadline sweep); its guard only removes it.
    settled: bool,
}

/// Whether blocking work has started, decided once between the work and the deadline
/// sweep: the work starts only if the sweep has not cancelled it, and the sweep counts it as
/// abandoned only if it has started. So work counted as aborted before it ran never runs.
#[derive(Debug, Default)]
pub(crate) struct BlockingStart(AtomicU8);

const NOT_STARTED: u8 = 0;
const STARTED: u8 = 1;
const CANCELLED: u8 = 2;

impl BlockingStart {
    /// Called by the work as it begins: `false` if the sweep cancelled it (it must not run).
    pub(crate) fn start(&self) -> bool {
        self.0
            .compare_exchange(NOT_STARTED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Called by the sweep: `false` if the work had started (and cannot be stopped).
    fn cancel(&self) -> bool {
        self.0
            .compare_exchange(NOT_STARTED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// A kind's place in its scope: below [`FAST_KINDS`], a slot of every shard's counts;
/// above, an index into [`Made::more_kinds`] plus `FAST_KINDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KindIndex(u16);

/// What a scope knows of one admitted session, kept in the session's task: its kind, where
/// it is registered, and whether it has been counted. 8 bytes: every byte of a task counts
/// against tokio's 128-byte task allocation classes.
#[derive(Debug)]
pub(crate) struct Place {
    key: u32,
    kind: KindIndex,
    shard: u8,
    state: PlaceState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlaceState {
    /// Admitted, not registered.
    Admitted,
    /// Parked in `Parked::waiting` at `shard`/`key`.
    Waiting,
    /// Registered in `Parked::blocking` at `shard`/`key`.
    Blocking,
    /// Counted: nothing more to do.
    Settled,
}

impl Place {
    /// Whether its end has been counted.
    #[inline]
    pub(crate) fn is_settled(&self) -> bool {
        self.state == PlaceState::Settled
    }
}

/// Whether the deadline sweep counted a session (and left the gate for it): see
/// [`Sessions::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) struct Swept(pub(crate) bool);

/// How a session ended, as its guard saw it.
#[derive(Debug)]
pub(crate) enum Settle {
    Finished,
    Failed(String),
    Panicked(String),
    /// Dropped by the deadline sweep (or while the scope's sessions are aborted).
    Aborted,
    /// Dropped before its end while its scope's sessions were not being aborted: the program
    /// cancelled it (its handle's `abort`, or its runtime shutting down outside a stop).
    /// Counted as aborted, and as cancelled.
    Cancelled,
}

impl Sessions {
    pub(crate) fn new() -> Self {
        Self {
            gate: Gate::new(),
            aborted: AtomicBool::new(false),
            made: OnceLock::default(),
        }
    }

    /// Whether no session was ever admitted or refused here: no kind is known, and
    /// [`stats`](Self::stats) is empty. (The kinds' slots fill in order.)
    pub(crate) fn never_admitted(&self) -> bool {
        self.made
            .get()
            .is_none_or(|made| made.kinds[0].get().is_none())
    }

    /// The kinds and shards, made on first use. The sweep makes them too if no session has,
    /// so that a session parking after it finds its shard swept (see [`Parked::swept`]).
    #[inline]
    fn made(&self) -> &Made {
        match self.made.get() {
            Some(made) => made,
            None => self.make(),
        }
    }

    #[cold]
    #[inline(never)]
    fn make(&self) -> &Made {
        self.made.get_or_init(|| {
            Box::new(Made {
                kinds: Default::default(),
                more_kinds: Mutex::default(),
                shards: (0..slots::count())
                    .map(|_| Padded(Shard::default()))
                    .collect(),
                errors: Mutex::default(),
            })
        })
    }

    #[inline]
    fn shards(&self) -> &[Padded<Shard>] {
        &self.made().shards
    }

    /// Admits one session of `kind` and counts it as started, or refuses it once the scope is
    /// closed. The caller must [`settle`](Self::settle) it and then [`leave`](Self::leave).
    // `always`: called from the generic spawn, in the caller's crate, where LLVM would
    // otherwise keep it a call (its prologue and the `Place` passed back cost a sixth of it).
    #[inline(always)]
    pub(crate) fn admit(&self, kind: SessionKind) -> Result<Place, Refusal> {
        if !self.gate.enter() {
            return Err(Refusal::Closed);
        }
        let Some(kind) = self.kind_index(kind) else {
            self.gate.leave();
            return Err(Refusal::TooManyKinds);
        };
        self.count(kind, |counts| &counts.started, |stats| &mut stats.started);
        Ok(Place {
            key: 0,
            kind,
            shard: 0,
            state: PlaceState::Admitted,
        })
    }

    /// Whether the deadline sweep has begun: a session must not poll its body any more.
    #[inline]
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    /// Parks a session that waits (once: a task's waker stays the same from poll to poll), so
    /// the deadline sweep can wake it. `false` when the sweep has been through: the session
    /// must end as aborted instead.
    #[inline]
    pub(crate) fn park(&self, place: &mut Place, waker: &Waker) -> bool {
        if place.state != PlaceState::Admitted {
            return true;
        }
        self.register(place, PlaceState::Waiting, |parked| {
            parked.waiting.insert(waker.clone())
        })
    }

    /// Registers blocking work before its spawn; `false` when the sweep has been through (the
    /// work must not be spawned).
    pub(crate) fn register_blocking(&self, place: &mut Place, start: Arc<BlockingStart>) -> bool {
        let kind = place.kind;
        self.register(place, PlaceState::Blocking, |parked| {
            let key = parked.blocking.insert(Blocking {
                start,
                kind,
                settled: false,
            });
            // Slab keys stay below the number of live blocking sessions.
            u32::try_from(key).expect("fewer than 2^32 blocking sessions")
        })
    }

    #[inline(never)]
    fn register(
        &self,
        place: &mut Place,
        state: PlaceState,
        insert: impl FnOnce(&mut Parked) -> u32,
    ) -> bool {
        let shard = slots::this_thread().index();
        let mut parked = self.parked(shard);
        if parked.swept {
            return false;
        }
        // Shard indexes are below 64.
        place.key = insert(&mut parked);
        place.shard = shard as u8;
        place.state = state;
        true
    }

    /// Counts how an admitted session ended (a no-op if it has been counted already, by this
    /// or by the deadline sweep), and logs a failure or a panic.
    ///
    /// Returns [`Swept`] when the deadline sweep had counted it (blocking work only): the
    /// sweep has also left the gate for it, so its guard must not leave again.
    #[inline]
    pub(crate) fn settle(&self, place: &mut Place, how: Settle) -> Swept {
        match (place.state, &how) {
            (PlaceState::Settled, _) => Swept(false),
            // The common end: finished in the poll that started it, never parked.
            (PlaceState::Admitted, Settle::Finished) => {
                place.state = PlaceState::Settled;
                self.count(place.kind, |c| &c.finished, |stats| &mut stats.finished);
                Swept(false)
            }
            _ => self.settle_registered(place, how),
        }
    }

    /// [`settle`](Self::settle) for a session that finished: the common end, kept small
    /// enough to inline into the session's poll.
    #[inline]
    pub(crate) fn finish(&self, place: &mut Place) {
        if place.state == PlaceState::Admitted {
            place.state = PlaceState::Settled;
            self.count(place.kind, |c| &c.finished, |stats| &mut stats.finished);
        } else {
            // A parked session leaves the registry. `Swept` can only be true for blocking
            // work, which does not end here.
            let _ = self.settle_registered(place, Settle::Finished);
        }
    }

    #[inline(never)]
    fn settle_registered(&self, place: &mut Place, how: Settle) -> Swept {
        let state = std::mem::replace(&mut place.state, PlaceState::Settled);
        let key = place.key as usize;
        match state {
            PlaceState::Settled => return Swept(false),
            PlaceState::Admitted => {}
            PlaceState::Waiting => {
                self.parked(place.shard).waiting.remove(place.key);
            }
            PlaceState::Blocking => {
                let work = self.parked(place.shard).blocking.try_remove(key);
                if work.is_none_or(|work| work.settled) {
                    // Counted by the sweep (which also left the gate for it); its end still
                    // goes to the log.
                    match how {
                        Settle::Failed(error) | Settle::Panicked(error) => {
                            let kind = self.kind(place.kind);
                            log(
                                || tracing::warn!(session = %kind, %error, "abandoned blocking work failed after the deadline"),
                            );
                        }
                        Settle::Finished | Settle::Aborted | Settle::Cancelled => {}
                    }
                    return Swept(true);
                }
            }
        }
        match how {
            Settle::Finished => {
                self.count(place.kind, |c| &c.finished, |stats| &mut stats.finished);
            }
            Settle::Aborted => {
                self.count(place.kind, |c| &c.aborted, |stats| &mut stats.aborted);
            }
            Settle::Cancelled => {
                self.count(place.kind, |c| &c.cancelled, |stats| &mut stats.cancelled);
                self.count(place.kind, |c| &c.aborted, |stats| &mut stats.aborted);
            }
            Settle::Failed(error) => self.failed(place.kind, error),
            Settle::Panicked(message) => self.panicked(place.kind, message),
        }
        Swept(false)
    }

    #[cold]
    fn failed(&self, kind: KindIndex, error: String) {
        self.count(kind, |counts| &counts.failed, |stats| &mut stats.failed);
        log(|| tracing::warn!(session = %self.kind(kind), %error, "session failed"));
        self.keep_error(kind, error);
    }

    #[cold]
    fn panicked(&self, kind: KindIndex, message: String) {
        self.count(kind, |counts| &counts.panicked, |stats| &mut stats.panicked);
        log(|| tracing::error!(session = %self.kind(kind), %message, "session panicked"));
        self.keep_error(kind, format!("panicked: {message}"));
    }

    /// A session's task is gone (after [`settle`](Self::settle), and after its body's future
    /// was dropped): the drain stops waiting for it.
    #[inline]
    pub(crate) fn leave(&self) {
        self.gate.leave();
    }

    /// Waits until every admitted session has ended, and closes admission at the moment none
    /// is left: once this returns, the scope refuses new sessions and none is left running.
    /// Sessions spawned during the drain are admitted and waited for.
    pub(crate) async fn drain(&self) {
        self.gate.drain().await;
    }

    /// [`drain`](Self::drain)'s immediate case: closes admission if no session is inside now.
    pub(crate) fn close_if_empty(&self) -> bool {
        self.gate.close_if_empty()
    }

    /// The deadline sweep: closes admission, raises the abort flag, wakes every parked
    /// session (which then drops its body and counts itself as aborted), and cancels blocking
    /// work that has not started (it returns without running when a pool thread takes it),
    /// counting it as aborted, and as abandoned if it had started: it cannot be stopped.
    /// Returns how many sessions were live.
    pub(crate) fn abort_all(&self) -> usize {
        self.gate.close();
        self.aborted.store(true, Ordering::Release);
        let live = self.gate.inside();
        let mut wakers = Vec::new();
        for shard in 0..self.shards().len() {
            let mut parked = self.parked(shard);
            parked.swept = true;
            let Parked {
                waiting, blocking, ..
            } = &mut *parked;
            wakers.extend(waiting.drain());
            for (_, work) in blocking.iter_mut().filter(|(_, work)| !work.settled) {
                work.settled = true;
                let kind = work.kind;
                self.count(kind, |counts| &counts.aborted, |stats| &mut stats.aborted);
                if !work.start.cancel() {
                    self.count(kind, |c| &c.abandoned, |stats| &mut stats.abandoned);
                }
                // Counted for good: the drain stops waiting for it (abandoned work may never
                // return; cancelled work may wait long for a pool thread). Its guard, which
                // finds it settled under this lock, does not leave again.
                self.gate.leave();
            }
        }
        // Outside the locks: a woken task may end at once and settle.
        wakers.into_iter().for_each(Waker::wake);
        live
    }

    /// Waits until no session is running, without closing admission.
    pub(crate) async fn idle(&self) {
        self.gate.wait_empty().await;
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.gate.inside() == 0
    }

    /// The counts per kind, summed over the shards. Once the sweep has begun, a session that
    /// has not ended yet counts as aborted, and as `unresponsive`: its body is not polled
    /// again, but it is still inside a poll (a report is made once the aborted sessions have
    /// left, or a grace later). Each report adds up.
    pub(crate) fn stats(&self) -> Vec<SessionStats> {
        let mut all: Vec<SessionStats> = Vec::new();
        // Before the first session, no kind: nothing to count.
        let Some(made) = self.made.get() else {
            return all;
        };
        all.extend(made.fast_kinds());
        all.extend(lock(&made.more_kinds).stats.iter().cloned());
        let errors = lock(&made.errors);
        let aborted = self.is_aborted();
        for (index, stats) in all.iter_mut().enumerate() {
            if let Some(kept) = errors.get(&KindIndex(index as u16)) {
                stats.errors.clone_from(kept);
            }
            if aborted {
                stats.unresponsive = stats.started.saturating_sub(stats.ended());
                stats.aborted += stats.unresponsive;
            }
        }
        all
    }

    /// The counts per kind as they stand, for the live [state](crate::State) snapshot:
    /// without waiting for any lock, and without touching anything a session's spawn or
    /// end writes (see [`LiveCounts`] for the guarantees).
    ///
    /// - The first [`FAST_KINDS`] kinds are read from their `OnceLock` slots and their
    ///   per-shard atomic counters: loads only, no lock.
    /// - The kinds beyond those are counted under [`Made::more_kinds`]'s lock (by design:
    ///   a scope with more than eight kinds is unusual). The snapshot only *tries* that lock:
    ///   when a spawn holds it at that instant, those kinds are left out and
    ///   [`LiveCounts::missing_kinds`] says so. It never waits.
    /// - The kept error messages (under their own lock, which a failing session takes) are
    ///   not read.
    pub(crate) fn live_counts(&self) -> LiveCounts {
        // Before the first session, no kind: nothing to count.
        let Some(made) = self.made.get() else {
            return LiveCounts {
                kinds: Vec::new(),
                missing_kinds: false,
            };
        };
        let mut kinds: Vec<SessionStats> = made.fast_kinds().collect();
        let mut missing_kinds = false;
        match made.more_kinds.try_lock() {
            Ok(more) => kinds.extend(more.stats.iter().cloned()),
            Err(TryLockError::Poisoned(more)) => {
                kinds.extend(more.into_inner().stats.iter().cloned());
            }
            Err(TryLockError::WouldBlock) => missing_kinds = true,
        }
        LiveCounts {
            kinds,
            missing_kinds,
        }
    }

    /// The index of `kind` in this scope, adding it on first sight; `None` when the scope has
    /// [`MAX_KINDS`] kinds already. The scope's first kind (often its only one) is checked
    /// inline, by address; the others in [`find_kind`](Made::find_kind).
    #[inline]
    fn kind_index(&self, kind: SessionKind) -> Option<KindIndex> {
        let made = self.made();
        match made.kinds[0].get() {
            Some(first) if first.same_place(&kind) => Some(KindIndex(0)),
            _ => made.find_kind(kind),
        }
    }

    fn kind(&self, index: KindIndex) -> SessionKind {
        let index = usize::from(index.0);
        let made = self.made();
        match made.kinds.get(index) {
            Some(slot) => *slot
                .get()
                .expect("an index is only handed out for a set slot"),
            None => lock(&made.more_kinds).stats[index - FAST_KINDS].kind,
        }
    }

    /// Adds one to a count of `kind`: the calling thread's shard's, or under the lock of the
    /// kinds beyond the first [`FAST_KINDS`].
    #[inline]
    fn count(
        &self,
        kind: KindIndex,
        fast: impl Fn(&Counts) -> &AtomicU64,
        slow: impl Fn(&mut SessionStats) -> &mut u64,
    ) {
        let index = usize::from(kind.0);
        if index < FAST_KINDS {
            // The report reads counts after the gate's acquire has seen the session leave,
            // which comes after its count.
            let slot = slots::this_thread();
            slot.add_one(fast(&self.shards()[slot.index()].0.counts[index]));
        } else {
            self.count_more(index, slow);
        }
    }

    #[cold]
    #[inline(never)]
    fn count_more(&self, index: usize, slow: impl Fn(&mut SessionStats) -> &mut u64) {
        *slow(&mut lock(&self.made().more_kinds).stats[index - FAST_KINDS]) += 1;
    }

    fn keep_error(&self, kind: KindIndex, error: String) {
        let mut errors = lock(&self.made().errors);
        let kept = errors.entry(kind).or_default();
        if kept.len() < ERRORS_KEPT {
            kept.push(error);
        }
    }

    fn parked(&self, shard: impl Into<usize>) -> MutexGuard<'_, Parked> {
        lock(&self.shards()[shard.into()].0.parked)
    }
}

/// The counts of a scope's sessions as a live snapshot reads them
/// ([`Sessions::live_counts`]).
///
/// # Guarantees
///
/// For each kind, `started >= finished + failed + panicked + aborted`: the ends are read
/// before the starts, with acquire loads and an acquire fence between the two passes, and a
/// session's start is counted (by the spawning thread) before its task exists, hence before
/// its end is counted (by whichever thread runs it). The reader never writes a counter, so it
/// costs the spawning and ending threads nothing but the cache misses of lines it shares
/// with them while it reads.
///
/// The counts of different kinds, and of different scopes, are not read at one instant:
/// each is exact as of some moment during the snapshot.
#[derive(Debug)]
pub(crate) struct LiveCounts {
    /// Per kind, in the order the kinds were first admitted (`errors` empty).
    pub(crate) kinds: Vec<SessionStats>,
    /// The kinds beyond the first eight were not read: a spawn held their lock.
    pub(crate) missing_kinds: bool,
}

/// Adds `stats` to the entry of the same kind in `all`, or appends it.
///
/// Linear: for a handful of kinds (a folded group's); [`Totals`] sums a whole tree.
pub(crate) fn merge_into(all: &mut Vec<SessionStats>, stats: &SessionStats) {
    match all.iter_mut().find(|known| known.kind == stats.kind) {
        Some(known) => known.add(stats),
        None => all.push(stats.clone()),
    }
}

/// Session counts summed per kind, in the order the kinds were first seen; each addition
/// finds its kind by hash, so summing a tree with many kinds stays linear.
#[derive(Default)]
pub(crate) struct Totals {
    index: HashMap<SessionKind, usize>,
    all: Vec<SessionStats>,
}

impl Totals {
    pub(crate) fn add(&mut self, stats: &SessionStats) {
        match self.index.get(&stats.kind) {
            Some(&at) => self.all[at].add(stats),
            None => {
                self.index.insert(stats.kind, self.all.len());
                self.all.push(stats.clone());
            }
        }
    }

    pub(crate) fn into_vec(self) -> Vec<SessionStats> {
        self.all
    }
}

impl From<Vec<SessionStats>> for Totals {
    fn from(all: Vec<SessionStats>) -> Self {
        let mut totals = Self::default();
        for stats in &all {
            totals.add(stats);
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocking(sessions: &Sessions) -> (Place, Arc<BlockingStart>) {
        let mut place = sessions.admit(SessionKind::here("work")).unwrap();
        let start = Arc::new(BlockingStart::default());
        assert!(sessions.register_blocking(&mut place, start.clone()));
        (place, start)
    }

    fn stats(sessions: &Sessions) -> SessionStats {
        sessions.stats().pop().unwrap()
    }

    /// Blocking work the sweep counts as aborted before it started never starts; work that
    /// had started is counted as abandoned. Each is counted once, whatever its guard says.
    #[test]
    fn the_sweep_and_blocking_work_agree_on_whether_it_started() {
        let sessions = Sessions::new();
        let (mut queued, queued_start) = blocking(&sessions);
        let (mut running, running_start) = blocking(&sessions);
        assert!(running_start.start());
        sessions.abort_all();
        assert!(!queued_start.start(), "cancelled work must not start");
        // The sweep counted both and left the gate for them: their guards must not.
        assert_eq!(sessions.settle(&mut queued, Settle::Aborted), Swept(true));
        assert_eq!(sessions.settle(&mut running, Settle::Finished), Swept(true));
        assert!(sessions.is_idle(), "the sweep left the gate for swept work");
        let work = stats(&sessions);
        assert_eq!((work.started, work.aborted, work.abandoned), (2, 2, 1));
        assert_eq!(
            work.finished, 0,
            "counted by the sweep, not again by its guard"
        );
    }
}
