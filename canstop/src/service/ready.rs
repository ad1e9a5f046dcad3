//! Readiness: when a service is ready, and who waits for it.
//!
//! - [`Ready`]: what a body calls to say it is ready;
//! - [`Readiness`]: a service's readiness, as its handle, its dependents, the state snapshot
//!   and the tree's readiness read it.
//!
//! # Model
//!
//! Each instance of a service has a generation (its attempt number). An instance starts not
//! ready; it becomes ready when its body calls [`Ready::set`] (a service built with
//! [`signals_ready`](crate::Service::signals_ready)), or once its body is built (any other).
//! A restart makes the service not ready until the new instance is. The service gives up its
//! readiness for good when it is told to stop or ends for good: waiters then get the
//! [`ReadyError`] that says why. A `Ready` of an earlier instance no longer sets anything.

use std::fmt;
use std::pin::pin;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::ReadyError;
use crate::shutdown::Shutdown;
use crate::sync::locking::lock;
use crate::tree::node::Node;

/// What a service body calls to say that it is ready: its listener is bound, its pool is
/// connected. Until then, [`ServiceHandle::ready`](crate::ServiceHandle::ready) waits, the
/// services that [need](crate::Service::needs) it do not start, and the tree is not ready.
///
/// `#[service]` hands one to a body that takes a `Ready` parameter; with the runtime API,
/// build the service with [`Service::signals_ready`](crate::Service::signals_ready) and take
/// it with [`Ready::of`] from the body's `Shutdown`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use canstop::{Ready, Root, Service, Shutdown};
///
/// let report = Root::new()
///     .signals(false)
///     .run(async {
///         let db = canstop::start(
///             Service::new("db", |shutdown: Shutdown| async move {
///                 let ready = Ready::of(&shutdown);
///                 tokio::time::sleep(Duration::from_millis(200)).await; // connect
///                 ready.set();
///                 shutdown.requested().await;
///             })
///             .signals_ready(),
///         )?;
///         let started = tokio::time::Instant::now();
///         db.ready().await.unwrap();
///         assert_eq!(started.elapsed(), Duration::from_millis(200));
///         canstop::shutdown()?;
///         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
///     })
///     .await
///     .unwrap();
/// assert!(report.is_clean());
/// # }
/// ```
#[derive(Clone)]
pub struct Ready {
    service: Arc<Node>,
    generation: u64,
}

impl Ready {
    /// The `Ready` of the service instance whose body got `shutdown`, for a service built
    /// with [`signals_ready`](crate::Service::signals_ready): it sets that instance ready,
    /// and nothing once a newer instance runs.
    ///
    /// On any other `Shutdown` (a session's, the root's, a
    /// [`ServiceHandle::shutdown_signal`](crate::ServiceHandle::shutdown_signal), the body of
    /// a service that does not signal its readiness), [`set`](Self::set) does nothing: only
    /// the body an instance was built with can say it is ready.
    #[must_use]
    pub fn of(shutdown: &Shutdown) -> Self {
        let node = shutdown.node();
        let service = node.scope_node();
        // Only an instance node of a service that signals readiness carries a live
        // generation; anything else gets one that never matches.
        let generation = if service.signals_ready && !Arc::ptr_eq(node, &service) {
            node.generation
        } else {
            u64::MAX
        };
        Self {
            service,
            generation,
        }
    }

    /// Says that this instance is ready. Idempotent; does nothing once the instance has been
    /// replaced, or once the service was told to stop.
    pub fn set(&self) {
        self.service.mark_ready(self.generation);
    }

    /// Whether this instance has said it is ready (and is still the current one).
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.service.readiness.is_ready_at(self.generation)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("service", &self.service.path)
            .field("generation", &self.generation)
            .field("set", &self.is_set())
            .finish()
    }
}

/// Where one service's readiness stands.
#[derive(Debug, Clone)]
pub(crate) enum Now {
    /// The current instance is not ready yet (starting, or waiting for what it needs).
    NotReady,
    /// The current instance is ready.
    Ready,
    /// Between two instances: the next is built at `next_try` (after the backoff).
    Restarting { next_try: Instant },
    /// For good: told to stop, or ended beyond its policy. Why it will not be ready.
    Gone(ReadyError),
}

#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// The current instance's attempt number (0 for the first), or of the last one.
    pub(crate) generation: u64,
    /// When the current instance was built (`None` before the first).
    pub(crate) instance_started: Option<Instant>,
    pub(crate) now: Now,
    /// The current instance was not ready within its ready timeout: its `set` no longer
    /// counts, and, for a service that will not restart, waiters get this at once (the
    /// instance is still being stopped, and the service still counts as not ready).
    pub(crate) timed_out: Option<TimedOut>,
}

/// How an instance that was not ready in time is seen (see [`Snapshot::timed_out`]).
#[derive(Debug, Clone)]
pub(crate) enum TimedOut {
    /// Its service restarts: waiters wait for the next instance.
    Restarting,
    /// Its service does not restart: it will not be ready, for this reason.
    ForGood(ReadyError),
}

/// One service's readiness: a value under a short lock and a `Notify` for its waiters (a
/// waiter registers before it reads the value, so it never misses a change; cheaper than a
/// `watch` channel, whose every send wakes eight notifiers: see benches/README.md).
/// [`transition`](Self::transition) says whether the service went from not ready to ready or
/// back, which the tree's readiness counts.
pub(crate) struct Readiness {
    state: Mutex<Guarded>,
    changed: Notify,
}

/// The value, and how many waiters are registered for its changes: counted under the same
/// lock as the value is read and changed, so that a change finds every waiter that read the
/// value before it, and a change nobody waits for wakes nobody (`notify_waiters` takes the
/// `Notify`'s lock even when no one waits).
struct Guarded {
    snapshot: Snapshot,
    waiting: usize,
}

impl std::ops::Deref for Guarded {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        &self.snapshot
    }
}

impl std::ops::DerefMut for Guarded {
    fn deref_mut(&mut self) -> &mut Snapshot {
        &mut self.snapshot
    }
}

/// Whether a transition changed the service's readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    None,
    BecameReady,
    LostReady,
}

impl Readiness {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(Guarded {
                snapshot: Snapshot {
                    generation: 0,
                    instance_started: None,
                    now: Now::NotReady,
                    timed_out: None,
                },
                waiting: 0,
            }),
            changed: Notify::new(),
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        lock(&self.state).generation
    }

    pub(crate) fn is_ready(&self) -> bool {
        matches!(lock(&self.state).now, Now::Ready)
    }

    pub(crate) fn is_ready_at(&self, generation: u64) -> bool {
        let state = lock(&self.state);
        state.generation == generation && matches!(state.now, Now::Ready)
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        lock(&self.state).snapshot.clone()
    }

    /// Applies `change` unless the service is gone; says how readiness changed. Wakes the
    /// waiters when the service became ready or gone, what they wait for (a `Notify` takes a
    /// lock to wake: a service start and stop does it twice, not at every transition).
    fn transition(&self, change: impl FnOnce(&mut Snapshot) -> bool) -> Change {
        let (result, wake) = {
            let mut state = lock(&self.state);
            if matches!(state.now, Now::Gone(_)) {
                return Change::None;
            }
            let was = matches!(state.now, Now::Ready);
            if !change(&mut state) {
                return Change::None;
            }
            let is = matches!(state.now, Now::Ready);
            let wake = matches!(state.now, Now::Ready | Now::Gone(_)) && state.waiting > 0;
            let result = match (was, is) {
                (false, true) => Change::BecameReady,
                (true, false) => Change::LostReady,
                _ => Change::None,
            };
            (result, wake)
        };
        if wake {
            self.changed.notify_waiters();
        }
        result
    }

    /// A new instance is being built: not ready, with the next generation (the first keeps
    /// 0).
    pub(crate) fn new_instance(&self, started: Instant) -> Change {
        self.transition(|state| {
            if state.instance_started.is_some() {
                state.generation += 1;
            }
            state.instance_started = Some(started);
            state.now = Now::NotReady;
            state.timed_out = None;
            true
        })
    }

    /// The instance's body is built only now, after it waited for the services it needs: its
    /// uptime counts from here.
    pub(crate) fn body_started(&self, at: Instant) {
        lock(&self.state).instance_started = Some(at);
    }

    /// A child's failure escalated to the instance `generation`, which fails with it: it is
    /// not ready from now on (not only once its supervisor has stopped it), and a late `set`
    /// of that instance is refused (its generation is over). A no-op once another instance
    /// runs, or between instances.
    pub(crate) fn failing(&self, generation: u64) -> Change {
        self.transition(|state| {
            if state.generation != generation || !matches!(state.now, Now::Ready | Now::NotReady) {
                return false;
            }
            state.generation += 1;
            state.now = Now::NotReady;
            true
        })
    }

    /// The instance `generation` is ready (unless it timed out first).
    pub(crate) fn set(&self, generation: u64) -> Change {
        self.transition(|state| {
            if state.generation != generation
                || !matches!(state.now, Now::NotReady)
                || state.timed_out.is_some()
            {
                return false;
            }
            state.now = Now::Ready;
            true
        })
    }

    /// The instance `generation` was not ready within its ready timeout: from now on its
    /// `set` is refused (checked and decided under one lock, so that a `set` racing the
    /// timeout is either in time or refused, never both), and `how` tells the waiters.
    /// `false` when it is ready: it did not time out.
    pub(crate) fn time_out(&self, generation: u64, how: TimedOut) -> bool {
        let mut state = lock(&self.state);
        if state.generation == generation && matches!(state.now, Now::Ready) {
            return false;
        }
        if state.generation == generation && matches!(state.now, Now::NotReady) {
            state.timed_out = Some(how);
            let wake = state.waiting > 0;
            drop(state);
            if wake {
                self.changed.notify_waiters();
            }
        }
        true
    }

    /// Between instances, until `next_try`.
    pub(crate) fn restarting(&self, next_try: Instant) -> Change {
        self.transition(|state| {
            state.now = Now::Restarting { next_try };
            true
        })
    }

    /// Gone before it was ever counted (made during its parent's stop): no change to
    /// report.
    pub(crate) fn gone_from_the_start(&self, why: ReadyError) {
        lock(&self.state).now = Now::Gone(why);
    }

    /// Gone for good, for the reason `why` builds (only if it was not gone already):
    /// `Some(whether it was ready)`, or `None` if it was gone already.
    pub(crate) fn gone(&self, why: impl FnOnce() -> ReadyError) -> Option<bool> {
        let mut was_ready = None;
        self.transition(|state| {
            was_ready = Some(matches!(state.now, Now::Ready));
            state.now = Now::Gone(why());
            true
        });
        was_ready
    }

    /// Waits until the current instance is ready (`Ok`) or the service is gone (`Err`, why),
    /// or, for a service that will not restart, its instance timed out (what
    /// [`ServiceHandle::ready`](crate::ServiceHandle::ready) answers at once).
    pub(crate) async fn wait(&self) -> Result<(), ReadyError> {
        loop {
            let mut changed = pin!(self.changed.notified());
            // Registered before the read, and counted with it: a change after it wakes this
            // waiter.
            changed.as_mut().enable();
            {
                let mut state = lock(&self.state);
                match (&state.now, &state.timed_out) {
                    (Now::Ready, _) => return Ok(()),
                    (Now::Gone(why), _) => return Err(why.clone()),
                    (_, Some(TimedOut::ForGood(why))) => return Err(why.clone()),
                    (Now::NotReady | Now::Restarting { .. }, _) => {}
                }
                state.waiting += 1;
            }
            let _counted = Waiting(self);
            changed.await;
        }
    }
}

/// One waiter counted in [`Guarded::waiting`], until its wait ends or is dropped.
struct Waiting<'a>(&'a Readiness);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).waiting -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed_out(service: &str) -> ReadyError {
        ReadyError::TimedOut {
            service: service.into(),
            timeout: std::time::Duration::from_secs(1),
        }
    }

    /// A `set` and the ready timeout of one instance: whichever comes first decides, under
    /// the one lock; the other is a no-op.
    #[test]
    fn a_set_racing_the_ready_timeout_is_in_time_or_refused() {
        let ready_first = Readiness::new();
        assert_eq!(ready_first.set(0), Change::BecameReady);
        assert!(
            !ready_first.time_out(0, TimedOut::ForGood(timed_out("a"))),
            "a ready instance does not time out"
        );
        assert!(ready_first.is_ready());

        let late = Readiness::new();
        assert!(late.time_out(0, TimedOut::ForGood(timed_out("b"))));
        assert_eq!(
            late.set(0),
            Change::None,
            "a set after the timeout is refused"
        );
        assert!(!late.is_ready());
    }

    /// Waiters of a service that will not restart get the timeout at once; those of one that
    /// restarts wait for the next instance, whose `set` counts again.
    #[tokio::test(start_paused = true)]
    async fn waiters_learn_a_final_timeout_at_once_and_wait_across_a_restart() {
        let final_ = Readiness::new();
        assert!(final_.time_out(0, TimedOut::ForGood(timed_out("c"))));
        assert_eq!(final_.wait().await, Err(timed_out("c")));

        let restarting = Readiness::new();
        let _ = restarting.new_instance(Instant::now());
        assert!(restarting.time_out(0, TimedOut::Restarting));
        let mut wait = Box::pin(restarting.wait());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::future::Future::poll(wait.as_mut(), &mut cx).is_pending());
        let _ = restarting.new_instance(Instant::now());
        assert_eq!(
            restarting.set(0),
            Change::None,
            "the timed-out instance's set"
        );
        assert_eq!(restarting.set(1), Change::BecameReady);
        assert_eq!(wait.await, Ok(()));
    }
}
