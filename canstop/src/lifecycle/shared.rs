//! What the whole tree shares: the trigger, the tree's timeout and deadline, the abort switch
//! and the listeners of its [events](crate::lifecycle::events).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::lifecycle::events::{Event, Events};
use crate::lifecycle::log::log;
use crate::lifecycle::readiness::TreeReadiness;
use crate::lifecycle::trigger::{Signal, Trigger};
use crate::report::MainOutcome;
use crate::sync::latch::Latch;
use crate::tree::node::Node;

/// When a node was told to stop, and its own deadline (from its own timeout, or the tree's
/// for a stop that started at this node). A node stopped by a cascade from an ancestor has no
/// own deadline unless it has its own timeout; it inherits the ancestor's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopInfo {
    pub(crate) requested_at: Instant,
    pub(crate) own_deadline: Option<Instant>,
    /// Told to stop because a restarting ancestor's instance ended (its children stop before
    /// the next instance starts), directly or through a stopping parent: a failure while it
    /// stops is that restart's (see `Supervisor::restart_that_stopped_it`).
    pub(crate) for_restart: bool,
}

/// `now + timeout`, saturating at a far-future instant instead of overflowing.
pub(crate) fn deadline_after(now: Instant, timeout: Duration) -> Instant {
    // About 30 years, as tokio uses for "never".
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    [timeout.min(FAR), Duration::from_secs(86_400)]
        .into_iter()
        .find_map(|timeout| now.checked_add(timeout))
        .unwrap_or(now)
}

/// What the whole tree shares, one per run of a [`Root`](crate::Root): its trigger, timeout,
/// stop and abort tokens, `main`'s outcome, and the listeners of its events. "Root" is the
/// builder and the root node; this is the tree's.
pub(crate) struct Tree {
    pub(crate) timeout: Duration,
    /// The runtime the tree runs on: every task of the tree is spawned here, so a [`Scope`]
    /// works from any thread, and a spawn costs no clone of the runtime's handle.
    ///
    /// [`Scope`]: crate::Scope
    pub(crate) runtime: tokio::runtime::Handle,
    /// Cancelled when the root is told to stop (right after its stopping latch is set), or
    /// when the tree is stopped before its root exists. Nodes stop through their latches
    /// (`Node::stopping`); this token is for what waits on the whole tree.
    pub(crate) token: CancellationToken,
    /// The root's abort token: cancelled at the tree's deadline or by a second signal. Every
    /// node's abort token descends from it, so an ancestor's deadline reaches every node.
    pub(crate) abort: CancellationToken,
    /// Cancelled when the tree has stopped, to end its deadline task.
    done: CancellationToken,
    trigger: OnceLock<Trigger>,
    /// Whether the trigger was raised from inside `main`'s body (see [`MainOutcome`]).
    triggered_by_main: AtomicBool,
    /// How `main`'s body ended, once it has.
    main: OnceLock<MainOutcome>,
    /// The exit code `main`'s body returned, if it returned one other than success.
    main_exit: OnceLock<std::process::ExitCode>,
    /// The second signal that forced the exit, and when.
    forced: OnceLock<(Signal, Instant)>,
    deadline_reached: AtomicBool,
    /// Whether [`Root::run`](crate::Root::run)'s future was dropped before its end: what was
    /// aborted then was cut by that, not by a deadline.
    run_dropped: AtomicBool,
    /// Who reacts to the tree's phases (the watchdog of a process-owning root).
    pub(crate) events: Events,
    /// The root node, to set the stopping latches of the tree (weak: the tree owns this).
    root_node: OnceLock<Weak<Node>>,
    /// Whether the tree is ready (`main` returned `Ok`, every live service ready).
    pub(crate) readiness: TreeReadiness,
    /// How long a signal's trigger waits before the stop (zero: none).
    pub(crate) drain_delay: Duration,
    /// Set at the trigger (the drain delay, or the stop): what
    /// [`Shutdown::draining`](crate::Shutdown::draining) waits on.
    pub(crate) draining: Latch,
    /// Cancelled to end a drain delay early (a failure during it).
    cut_delay: CancellationToken,
    /// What cut the drain delay short (a failure, or `canstop::shutdown()`), if anything did.
    delay_cut_by: OnceLock<Trigger>,
    /// The signals received (by the listener, or delivered by the program).
    signals: AtomicUsize,
    /// When the drain delay began, and how long the tree waited in it before its stop.
    delay_started: OnceLock<Instant>,
    delay_waited: OnceLock<Duration>,
    /// Whether [`stop_root`](Self::stop_root) ran.
    root_stopped: AtomicBool,
    /// Where the health endpoints are served (feature `health`), once bound.
    #[cfg(feature = "health")]
    pub(crate) health_addr: OnceLock<std::net::SocketAddr>,
}

impl Tree {
    pub(crate) fn new(
        timeout: Duration,
        drain_delay: Duration,
        runtime: tokio::runtime::Handle,
    ) -> Arc<Self> {
        let tree = Arc::new(Self {
            timeout,
            runtime,
            token: CancellationToken::new(),
            abort: CancellationToken::new(),
            done: CancellationToken::new(),
            trigger: OnceLock::new(),
            triggered_by_main: AtomicBool::new(false),
            main: OnceLock::new(),
            main_exit: OnceLock::new(),
            forced: OnceLock::new(),
            deadline_reached: AtomicBool::new(false),
            run_dropped: AtomicBool::new(false),
            events: Events::default(),
            root_node: OnceLock::new(),
            readiness: TreeReadiness::default(),
            drain_delay,
            draining: Latch::new(false),
            cut_delay: CancellationToken::new(),
            delay_cut_by: OnceLock::new(),
            signals: AtomicUsize::new(0),
            delay_started: OnceLock::new(),
            delay_waited: OnceLock::new(),
            root_stopped: AtomicBool::new(false),
            #[cfg(feature = "health")]
            health_addr: OnceLock::new(),
        });
        // Any session may wait for the drain: one per tree.
        tree.draining.spread();
        tree
    }

    /// Starts the shutdown of the whole tree, unless it has started already. The first
    /// trigger wins; returns whether this one did.
    pub(crate) fn trigger(&self, trigger: Trigger) -> bool {
        if self.trigger.set(trigger.clone()).is_err() {
            if trigger.is_failure()
                || matches!(
                    trigger,
                    Trigger::Requested { .. } | Trigger::MainExited { .. }
                )
            {
                // A failure, `canstop::shutdown()` or `main`'s exit code during a drain
                // delay: the stop starts now, and the report says why the delay was shorter.
                if self.was_delayed() && !self.stop_started() {
                    let _ = self.delay_cut_by.set(trigger.clone());
                }
                self.cut_delay.cancel();
            }
            log(|| tracing::debug!(%trigger, "shutdown already under way; trigger ignored"));
            return false;
        }
        if crate::tree::context::in_main_body_of(self) {
            self.triggered_by_main.store(true, Ordering::Release);
        }
        self.readiness.stopping(&self.events);
        // Act first, log after: a `tracing` subscriber that blocks (a stalled log pipeline)
        // must not delay the stop or the arming of the watchdog.
        self.draining.set();
        let delay = matches!(trigger, Trigger::Signal(_)) && !self.drain_delay.is_zero();
        self.events.publish_with(|| Event::Triggered {
            trigger: trigger.clone(),
        });
        match self.root_node.get().and_then(Weak::upgrade) {
            Some(root) if delay => {
                let now = Instant::now();
                let _ = self.delay_started.set(now);
                let until = deadline_after(now, self.drain_delay);
                // The latest the tree can be done by: the exit enforcer is armed with it now,
                // on this thread (a runtime that blocks during the delay is still bounded).
                self.events.publish(Event::Draining {
                    until: until.into_std(),
                    deadline: deadline_after(until, self.timeout).into_std(),
                });
                // The stop waits for the delay, on a task of its own; a second signal (the
                // abort), a failure or `canstop::shutdown()` (the cut) end the delay early,
                // and the run's own end (everything finished meanwhile) ends the task.
                let (abort, cut, done) = (
                    self.abort.clone(),
                    self.cut_delay.clone(),
                    self.done.clone(),
                );
                drop(self.runtime.spawn(async move {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        // Forced: the abort stopped the tree already.
                        () = abort.cancelled() => return,
                        () = done.cancelled() => return,
                        () = cut.cancelled() => {}
                    }
                    root.tree.stop_root(&root);
                }));
            }
            Some(root) => self.stop_root(&root),
            None => {}
        }
        if trigger.is_failure() {
            log(|| tracing::error!(%trigger, timeout = ?self.timeout, "shutdown triggered"));
        } else if delay {
            log(
                || tracing::info!(%trigger, delay = ?self.drain_delay, timeout = ?self.timeout, "shutdown triggered: draining for the delay, then stopping"),
            );
        } else {
            log(|| tracing::info!(%trigger, timeout = ?self.timeout, "shutdown triggered"));
        }
        true
    }

    /// The tree's stop, once: its root node's, with the tree's timeout from now; the
    /// deadline's abort armed; the drain delay's length, if there was one, recorded.
    pub(crate) fn stop_root(&self, root: &Arc<Node>) {
        if self.root_stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(started) = self.delay_started.get() {
            let _ = self.delay_waited.set(started.elapsed());
        }
        let stop = root.request_stop();
        if let Some(deadline) = stop.own_deadline {
            self.events.publish(Event::Stopping {
                deadline: deadline.into_std(),
            });
            self.abort_at(deadline);
        }
    }

    /// Counts a signal; returns how many the tree has received, this one included (the first
    /// triggers the shutdown, a later one forces the exit).
    pub(crate) fn count_signal(&self) -> usize {
        self.signals.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// A signal the program received itself: the first triggers the shutdown, a later one
    /// forces the exit.
    pub(crate) fn deliver_signal(&self, signal: Signal) {
        if self.count_signal() == 1 {
            self.trigger(Trigger::Signal(signal));
        } else {
            self.force(signal);
        }
    }

    /// Whether the tree is in its drain delay: triggered by a signal, not stopped yet.
    #[cfg_attr(not(feature = "health"), allow(dead_code))]
    pub(crate) fn in_drain_delay(&self) -> bool {
        self.was_delayed() && self.root_node().is_some_and(|root| !root.stopping.is_set())
    }

    /// How long the tree waited in its drain delay before its stop (cut short by a failure,
    /// `canstop::shutdown()` or a second signal, or the run's end); `None` without a delay.
    ///
    /// A delay whose end was never recorded (a runtime wedged in it: the task that ends it
    /// never ran) counts until now, but no longer than the delay itself: the rest is the
    /// stop's (see [`stop_began`](Self::stop_began)).
    pub(crate) fn delay_waited(&self) -> Option<Duration> {
        let started = self.delay_started.get()?;
        Some(
            self.delay_waited
                .get()
                .copied()
                .unwrap_or_else(|| started.elapsed().min(self.drain_delay)),
        )
    }

    /// When the stop began, for a root whose stop was never recorded: the end of a drain
    /// delay that ran out without its stop running (a wedged runtime), if one did.
    pub(crate) fn stop_began(&self) -> Option<Instant> {
        let started = *self.delay_started.get()?;
        let end = deadline_after(started, self.drain_delay);
        (Instant::now() >= end).then_some(end)
    }

    /// What cut the drain delay short, if a failure or `canstop::shutdown()` did.
    pub(crate) fn delay_cut_by(&self) -> Option<Trigger> {
        self.delay_cut_by.get().cloned()
    }

    /// Whether a drain delay was applied (the trigger was a signal, and a delay set).
    pub(crate) fn was_delayed(&self) -> bool {
        self.delay_started.get().is_some()
    }

    /// Aborts the tree at `deadline` from a task of its own: the deadline does not wait for
    /// the task that runs `main`'s body and the root's drain to be polled (a `main` body busy
    /// in synchronous code after its own trigger, say).
    fn abort_at(&self, deadline: Instant) {
        let abort = self.abort.clone();
        let done = self.done.clone();
        drop(self.runtime.spawn(async move {
            tokio::select! {
                biased;
                () = abort.cancelled() => {}
                () = done.cancelled() => {}
                () = tokio::time::sleep_until(deadline) => abort.cancel(),
            }
        }));
    }

    /// The tree has stopped: its deadline task ends.
    pub(crate) fn finish(&self) {
        self.done.cancel();
    }

    /// Whether the tree has stopped (its report is made).
    pub(crate) fn is_finished(&self) -> bool {
        self.done.is_cancelled()
    }

    pub(crate) fn set_root_node(&self, root: &Arc<Node>) {
        let _ = self.root_node.set(Arc::downgrade(root));
    }

    /// The root node, while the tree lives.
    pub(crate) fn root_node(&self) -> Option<Arc<Node>> {
        self.root_node.get().and_then(Weak::upgrade)
    }

    /// Tells the whole tree to stop.
    pub(crate) fn stop_tree(&self) {
        if let Some(root) = self.root_node.get().and_then(Weak::upgrade) {
            // Stopped for an abort: no `Stopping` follows (see `stop_root`).
            self.root_stopped.store(true, Ordering::Release);
            root.request_stop();
        } else {
            self.token.cancel();
        }
    }

    /// Whether the start-up failed: the trigger was a failure before the tree was ever
    /// ready.
    pub(crate) fn startup_failed(&self) -> bool {
        // Once stopping, the tree is never ready again: "ever ready" is final by then.
        self.trigger.get().is_some_and(Trigger::is_failure) && !self.readiness.started().1
    }

    /// Whether the tree's stop has begun (the root was told to stop: after the drain delay,
    /// if there is one): from then on no restart starts, and a failure is a failure of the
    /// stop. During a drain delay the tree still serves, and services still restart.
    pub(crate) fn stop_started(&self) -> bool {
        self.root_stopped.load(Ordering::Acquire)
    }

    pub(crate) fn trigger_info(&self) -> Option<Trigger> {
        self.trigger.get().cloned()
    }

    /// Whether `main`'s body raised the trigger itself (then it is not dropped at the stop).
    pub(crate) fn triggered_by_main(&self) -> bool {
        self.triggered_by_main.load(Ordering::Acquire)
    }

    /// Records how `main`'s body ended (the first record stays).
    pub(crate) fn set_main(&self, outcome: MainOutcome) {
        let _ = self.main.set(outcome);
    }

    pub(crate) fn set_main_exit(&self, code: std::process::ExitCode) {
        let _ = self.main_exit.set(code);
    }

    pub(crate) fn main_exit(&self) -> Option<crate::report::MainExitCode> {
        self.main_exit
            .get()
            .copied()
            .map(crate::report::MainExitCode)
    }

    /// How `main`'s body ended, once it has.
    #[cfg(feature = "health")]
    pub(crate) fn main_ended(&self) -> Option<&MainOutcome> {
        self.main.get()
    }

    pub(crate) fn main_outcome(&self) -> MainOutcome {
        self.main
            .get()
            .cloned()
            .unwrap_or(MainOutcome::Unresponsive)
    }

    /// When a second signal forced the exit, if one did.
    pub(crate) fn forced_at(&self) -> Option<Instant> {
        self.forced.get().map(|&(_, at)| at)
    }

    /// A second signal: abort everything now.
    pub(crate) fn force(&self, signal: Signal) {
        let first = self.forced.set((signal, Instant::now())).is_ok();
        if first {
            // During a drain delay: the report says the delay was cut, and by what (it would
            // otherwise read as a delay of that length).
            if self.was_delayed() && !self.stop_started() {
                let _ = self.delay_cut_by.set(Trigger::Signal(signal));
            }
            self.events.publish(Event::Forced { signal });
        }
        self.abort_now();
        if first {
            log(|| tracing::error!(%signal, "second signal: skipping the drain and exiting now"));
        }
    }

    /// Stops the tree and aborts it at once, without a drain.
    pub(crate) fn abort_now(&self) {
        self.stop_tree();
        self.abort.cancel();
    }

    pub(crate) fn forced_by(&self) -> Option<Signal> {
        self.forced.get().map(|&(signal, _)| signal)
    }

    /// Notes that something was aborted or given up on at a deadline.
    pub(crate) fn note_deadline_reached(&self) {
        if !self.deadline_reached.swap(true, Ordering::AcqRel) {
            self.events.publish(Event::DeadlineReached);
        }
    }

    pub(crate) fn deadline_reached(&self) -> bool {
        self.deadline_reached.load(Ordering::Relaxed)
    }

    /// Notes that the run's future was dropped before its end (before the abort it causes).
    pub(crate) fn note_run_dropped(&self) {
        self.run_dropped.store(true, Ordering::Release);
    }

    pub(crate) fn run_dropped(&self) -> bool {
        self.run_dropped.load(Ordering::Acquire)
    }
}
