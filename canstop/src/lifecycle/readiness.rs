//! The tree's readiness: ready when `main`'s body has returned `Ok` and every live service is
//! ready; not ready again while a service restarts, and for good from the trigger on.
//!
//! Services report their changes ([`TreeReadiness::service_changed`]); the count, the
//! published value and the events ([`Event::TreeReady`], [`Event::TreeNotReady`]: only
//! after a ready tree) change together, under one lock that only these changes take, so
//! listeners see them in order.

use std::sync::Mutex;

use tokio::sync::watch;

use crate::error::ReadyError;
use crate::lifecycle::events::{Event, Events};
use crate::sync::locking::lock;

/// Where the tree's readiness stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TreeNow {
    /// Not ready yet, or not ready again (a service restarts).
    NotReady,
    Ready,
    /// The shutdown has started.
    Stopping,
}

#[derive(Default)]
struct Counts {
    /// Live services that are not ready.
    not_ready: usize,
    main_returned: bool,
    stopping: bool,
    ever_ready: bool,
}

impl Counts {
    fn now(&self) -> TreeNow {
        if self.stopping {
            TreeNow::Stopping
        } else if self.main_returned && self.not_ready == 0 {
            TreeNow::Ready
        } else {
            TreeNow::NotReady
        }
    }
}

pub(crate) struct TreeReadiness {
    counts: Mutex<Counts>,
    now: watch::Sender<TreeNow>,
}

impl Default for TreeReadiness {
    fn default() -> Self {
        Self {
            counts: Mutex::default(),
            now: watch::Sender::new(TreeNow::NotReady),
        }
    }
}

impl TreeReadiness {
    /// Applies `change` to the counts; publishes a change of readiness, under the lock.
    fn update(&self, events: &Events, change: impl FnOnce(&mut Counts)) {
        let mut counts = lock(&self.counts);
        let before = counts.now();
        change(&mut counts);
        let after = counts.now();
        if before == after {
            return;
        }
        // Waiters (`canstop::ready()`) are woken only when there are any: a `watch` wakes
        // its eight lists of waiters even for no one, and a service that starts children
        // changes the tree's readiness with each. A waiter that subscribes meanwhile reads
        // the value after this write (the value's lock orders the two), so it misses nothing.
        self.now.send_if_modified(|now| {
            *now = after;
            self.now.receiver_count() > 0
        });
        if after == TreeNow::Ready {
            counts.ever_ready = true;
            events.publish(Event::TreeReady);
            drop(counts);
            // Logged with the lock released: the trigger takes it (a subscriber that blocks
            // must not hold the stop).
            crate::lifecycle::log::log(|| tracing::debug!("tree ready"));
        } else if before == TreeNow::Ready {
            events.publish(Event::TreeNotReady);
        }
    }

    /// A service was admitted (not ready yet).
    pub(crate) fn service_added(&self, events: &Events) {
        self.update(events, |counts| counts.not_ready += 1);
    }

    /// A service's readiness changed: `+1` not ready more, `-1` fewer.
    pub(crate) fn service_changed(&self, events: &Events, not_ready: isize) {
        self.update(events, |counts| {
            counts.not_ready = counts.not_ready.saturating_add_signed(not_ready);
        });
    }

    /// `main`'s body returned `Ok`.
    pub(crate) fn main_returned(&self, events: &Events) {
        self.update(events, |counts| counts.main_returned = true);
    }

    /// The shutdown started: the tree is never ready again.
    pub(crate) fn stopping(&self, events: &Events) {
        self.update(events, |counts| counts.stopping = true);
    }

    /// Whether `main`'s body has returned `Ok`, and whether the tree has ever been ready (the
    /// start-up is over: `/startupz`).
    pub(crate) fn started(&self) -> (bool, bool) {
        let counts = lock(&self.counts);
        (counts.main_returned, counts.ever_ready)
    }

    pub(crate) fn now(&self) -> TreeNow {
        *self.now.borrow()
    }

    /// Waits until the tree is ready (`Ok`), or stopping (`Err`).
    pub(crate) async fn wait(&self) -> Result<(), ReadyError> {
        let mut receiver = self.now.subscribe();
        let now = receiver
            .wait_for(|now| *now != TreeNow::NotReady)
            .await
            .map_or(TreeNow::Stopping, |now| *now);
        match now {
            TreeNow::Ready => Ok(()),
            _ => Err(ReadyError::TreeStopping),
        }
    }
}
