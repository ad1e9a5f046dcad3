//! A scope's admission gate: a count of the sessions inside that refuses new ones once it is
//! closed, and lets the drain wait for the count to reach zero.
//!
//! tokio-util's `TaskTracker` counts and waits the same way, but by design keeps admitting
//! after `close` (closing there only means "wake the waiter at zero"). A scope must refuse a
//! spawn once its drain has begun, atomically with the count: otherwise a session admitted
//! after the drain saw zero would run unsupervised. Both live in one word here, so admitting
//! is one `fetch_add` and the refusal needs no lock.

use std::pin::pin;

use crate::loom::{AtomicUsize, Notify, Ordering};

/// Set once the gate is closed: every later [`Gate::enter`] is refused.
const CLOSED: usize = 1;
/// Set while someone waits for zero without having closed the gate ([`Gate::wait_empty`]).
const WATCHED: usize = 2;
/// One session inside.
const ONE: usize = 4;

pub(crate) struct Gate {
    /// `inside * ONE | WATCHED? | CLOSED?`
    state: AtomicUsize,
    empty: Notify,
}

impl Gate {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            empty: Notify::const_new(),
        }
    }

    /// Lets one session in, or refuses it (`false`) once the gate is closed.
    ///
    /// The count is raised before the closed bit is read, in the same atomic operation: a
    /// [`close`](Self::close) either comes first (and this refuses) or sees the session
    /// counted (and the drain waits for it).
    #[inline]
    pub(crate) fn enter(&self) -> bool {
        let before = self.state.fetch_add(ONE, Ordering::AcqRel);
        if before & CLOSED == 0 {
            return true;
        }
        self.refuse();
        false
    }

    #[cold]
    fn refuse(&self) {
        self.leave();
    }

    /// One session is out; wakes the waiters when it was the last one and someone waits.
    ///
    /// A waiter's mark is cleared as it is woken (it sets it again if it waits again), so a
    /// scope whose count often touches zero does not take `Notify`'s lock each time.
    #[inline]
    pub(crate) fn leave(&self) {
        let before = self.state.fetch_sub(ONE, Ordering::AcqRel);
        if before / ONE != 1 || before & (CLOSED | WATCHED) == 0 {
            return;
        }
        self.left_last(before);
    }

    /// The last session left, and someone waits for that.
    #[cold]
    fn left_last(&self, before: usize) {
        if before & WATCHED != 0 {
            self.state.fetch_and(!WATCHED, Ordering::AcqRel);
        }
        self.empty.notify_waiters();
    }

    /// Refuses every later [`enter`](Self::enter).
    pub(crate) fn close(&self) {
        let before = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if before / ONE == 0 {
            self.empty.notify_waiters();
        }
    }

    /// How many sessions are inside.
    pub(crate) fn inside(&self) -> usize {
        self.state.load(Ordering::Acquire) / ONE
    }

    /// Waits until no session is inside (admission stays as it is).
    pub(crate) async fn wait_empty(&self) {
        loop {
            let mut notified = pin!(self.empty.notified());
            // Registered before the check, so a `leave` after it wakes this waiter.
            notified.as_mut().enable();
            let state = self.state.fetch_or(WATCHED, Ordering::AcqRel);
            if state / ONE == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Waits until no session is inside and closes the gate at that moment: once this
    /// returns, the scope refuses sessions and none is left. Until then sessions are still
    /// admitted (work started during a drain, such as a farewell job or a session's
    /// follow-up, is waited for like the rest).
    pub(crate) async fn drain(&self) {
        while !self.close_if_empty() {
            self.wait_empty().await;
        }
    }

    /// Closes the gate if no session is inside at this moment (`true`), as a finished
    /// [`drain`](Self::drain) leaves it; else leaves it as it is. A drain that finds the
    /// gate empty at once takes this path alone: no waiter is registered.
    pub(crate) fn close_if_empty(&self) -> bool {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                (state / ONE == 0).then_some(state | CLOSED)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn poll<F: Future + ?Sized>(future: &mut Pin<Box<F>>) -> Poll<F::Output> {
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn drains_to_zero_then_refuses() {
        let gate = Gate::new();
        assert!(gate.enter());
        assert!(gate.enter());
        let mut drain = Box::pin(gate.drain());
        assert!(poll(&mut drain).is_pending());
        assert!(gate.enter(), "a draining gate still admits");
        gate.leave();
        gate.leave();
        assert!(poll(&mut drain).is_pending());
        gate.leave();
        assert!(poll(&mut drain).is_ready());
        assert!(!gate.enter(), "a drained gate refuses");
        assert_eq!(gate.inside(), 0, "a refusal is not counted");
        gate.close();
        assert!(!gate.enter());
    }

    #[test]
    fn waits_for_zero_without_closing() {
        let gate = Gate::new();
        assert!(gate.enter());
        let mut wait = Box::pin(gate.wait_empty());
        assert!(poll(&mut wait).is_pending());
        gate.leave();
        assert!(poll(&mut wait).is_ready());
        assert!(gate.enter(), "waiting for zero does not close");
        let mut again = Box::pin(gate.wait_empty());
        assert!(
            poll(&mut again).is_pending(),
            "a second wait needs a second zero"
        );
        gate.leave();
        assert!(poll(&mut again).is_ready());
    }
}
