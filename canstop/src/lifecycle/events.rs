//! Lifecycle events: what the tree publishes, once each, for the parts of canstop that react
//! to the tree's phases without the tree knowing them (the exit enforcer today; systemd,
//! health and metrics next).
//!
//! # Contract
//!
//! - Listeners are called synchronously, on the thread that published, right after the tree
//!   acted on the event (its stop requested, its abort switched) and before anything is
//!   logged: a listener runs even when the `tracing` subscriber blocks.
//! - A listener must not block and must not call back into the tree; a panic in one is caught
//!   and does not reach the publisher or the other listeners.
//! - Each event is published at most once per tree.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use crate::lifecycle::trigger::Signal;
use crate::sync::locking::lock;

/// A program-level event of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// The tree was triggered and is stopping; it must be done by `deadline`.
    Stopping { deadline: std::time::Instant },
    /// A second signal forced the exit.
    Forced(Signal),
}

/// Reacts to the tree's events.
pub(crate) trait Listener: Send + Sync {
    fn on(&self, event: &Event);
}

/// The listeners of one tree.
#[derive(Default)]
pub(crate) struct Events {
    listeners: Mutex<Vec<Arc<dyn Listener>>>,
}

impl Events {
    pub(crate) fn subscribe(&self, listener: Arc<dyn Listener>) {
        lock(&self.listeners).push(listener);
    }

    /// Calls every listener with `event` (outside the lock; panics caught).
    pub(crate) fn publish(&self, event: Event) {
        let listeners = lock(&self.listeners).clone();
        for listener in listeners {
            let _ = catch_unwind(AssertUnwindSafe(|| listener.on(&event)));
        }
    }
}
