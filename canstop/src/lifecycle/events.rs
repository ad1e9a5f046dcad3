//! Lifecycle events: what the tree publishes, for the parts of canstop that react to the
//! tree's phases without the tree knowing them (the exit enforcer; systemd, health and
//! metrics next) and for users ([`Root::on_event`](crate::Root::on_event)). One subscription
//! API for both.
//!
//! # Contract
//!
//! - Listeners are called synchronously, on the thread that published, right after the tree
//!   acted on the event (its stop requested, its abort switched) and before anything is
//!   logged: a listener runs even when the `tracing` subscriber blocks.
//! - A listener must not block and must not call back into the tree; a panic in one is caught
//!   and does not reach the publisher or the other listeners.
//! - The tree-level events ([`Event::Triggered`], [`Event::Draining`], [`Event::Stopping`],
//!   [`Event::DeadlineReached`], [`Event::Forced`]) are published at most once per tree.
//! - An event is built only when someone listens: a tree without listeners pays one atomic
//!   load per would-be event.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::lifecycle::trigger::{Signal, Trigger};
use crate::report::ServiceOutcome;
use crate::sync::locking::lock;

/// Something that happened in the tree's lifecycle. Services are named by their path
/// (`parent/child`).
///
/// Subscribe with [`Root::on_event`](crate::Root::on_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An instance of a service was built and is running (`attempt` 0 for the first; a
    /// restart's is its restart count).
    Started {
        /// The service's path.
        service: String,
        /// Which instance.
        attempt: u64,
    },
    /// A service became ready.
    Ready {
        /// The service's path.
        service: String,
    },
    /// The tree became ready: `main`'s body returned `Ok` and every live service is ready.
    TreeReady,
    /// The tree is no longer ready (a service restarts, or the shutdown started).
    TreeNotReady,
    /// An instance of a service failed: it returned an error or panicked before it was told
    /// to stop (whether its policy restarts it or not), or, under `Restart::Always`, returned
    /// `Ok` before it was told to stop (which counts toward the intensity limit).
    Failed {
        /// The service's path.
        service: String,
        /// The error, or `panicked: <message>`.
        error: String,
    },
    /// A service's policy restarts it after `delay`.
    Restarting {
        /// The service's path.
        service: String,
        /// The restart's number (1 for the first).
        attempt: u64,
        /// The backoff before it.
        delay: Duration,
    },
    /// The shutdown of the tree started.
    Triggered {
        /// What started it.
        trigger: Trigger,
    },
    /// The shutdown was triggered by a signal and the tree drains for the drain delay: it is
    /// not ready, and keeps serving until `until`, when it stops (see
    /// [`Root::drain_delay`](crate::Root::drain_delay)).
    Draining {
        /// When the delay ends and the stop starts.
        until: std::time::Instant,
        /// The latest the tree can be done by: the delay's end plus the tree's timeout (the
        /// stop moves it earlier if the delay is cut short).
        deadline: std::time::Instant,
    },
    /// The tree is stopping; it must be done by `deadline`.
    Stopping {
        /// The tree's deadline.
        deadline: std::time::Instant,
    },
    /// A service has fully stopped (its body, sessions and children), with its outcome.
    Stopped {
        /// The service's path.
        service: String,
        /// How it ended.
        outcome: ServiceOutcome,
    },
    /// The tree's deadline was reached: what is left is being aborted.
    DeadlineReached,
    /// A second signal forced the exit.
    Forced {
        /// The signal.
        signal: Signal,
    },
}

/// Reacts to the tree's events.
pub(crate) trait Listener: Send + Sync {
    fn on(&self, event: &Event);
}

/// A user's closure, as a listener.
impl<F: Fn(&Event) + Send + Sync> Listener for F {
    fn on(&self, event: &Event) {
        self(event);
    }
}

/// The listeners of one tree.
#[derive(Default)]
pub(crate) struct Events {
    listeners: Mutex<Vec<Arc<dyn Listener>>>,
    /// Whether any listener is subscribed: events are only built then.
    any: AtomicBool,
}

impl Events {
    pub(crate) fn subscribe(&self, listener: Arc<dyn Listener>) {
        lock(&self.listeners).push(listener);
        self.any.store(true, Ordering::Release);
    }

    /// Calls every listener with the event `make` builds, if any listens (outside the lock;
    /// panics caught).
    pub(crate) fn publish_with(&self, make: impl FnOnce() -> Event) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let listeners = lock(&self.listeners).clone();
        let event = make();
        for listener in listeners {
            let _ = catch_unwind(AssertUnwindSafe(|| listener.on(&event)));
        }
    }

    /// Whether any listener is subscribed.
    pub(crate) fn is_listened(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// [`publish_with`](Self::publish_with), for an event built already.
    pub(crate) fn publish(&self, event: Event) {
        self.publish_with(|| event);
    }
}
