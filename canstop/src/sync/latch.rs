//! A one-shot latch: a flag that is set once, and the waiters it wakes when it is.
//!
//! This is what [`Shutdown::requested`](crate::Shutdown::requested) waits on. A tokio-util
//! `CancellationToken` would do the same job, but it reads its flag under the mutex of its
//! tree node, on every poll of every waiter, and keeps one list of waiters: with thousands of
//! sessions of one scope parking and waking on different cores, they all meet on that one
//! lock (the hot spot of a shared `Notify` or `watch` that axum and pingora measured). Here
//! the flag is an atomic, read without a lock, and once the latch is
//! [spread](Latch::spread) the waiters are spread over per-thread `Notify`s (see [`slots`]):
//! a waiter registers with its own thread's, and setting the latch wakes them all. Until
//! then (a service's node that no session or child waits on: most of them) one `Notify`
//! serves, and a node costs no per-thread table (five to 33 of them, each on its own cache
//! lines) to make, wake and free. The tree's cascade (a stopping node stops its children)
//! is the node's job, see `Node::request_stop`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::{AtomicU8, Notified, Notify, OnceLock, Ordering};
use crate::sync::slots::{self, Padded};

/// In [`Latch::state`]: the latch is set.
const SET: u8 = 1;
/// In [`Latch::state`]: the per-thread lists exist, and waits register with them.
const SPREAD: u8 = 2;

pub(crate) struct Latch {
    /// [`SET`] and [`SPREAD`], on one word: a `set` and a `spread` are ordered on it, so a
    /// `set` either sees `SPREAD` (and wakes the lists) or came first (and no wait used them).
    state: AtomicU8,
    /// Where waits register until the latch is spread (and where those stay).
    first: Notify,
    /// One per thread slot, each on its own cache lines: made by [`spread`](Self::spread).
    lists: OnceLock<Box<[Padded<Notify>]>>,
}

impl Latch {
    pub(crate) fn new(set: bool) -> Self {
        Self {
            state: AtomicU8::new(if set { SET } else { 0 }),
            first: Notify::new(),
            lists: OnceLock::default(),
        }
    }

    /// Makes the per-thread lists, for a latch that many may wait on from many threads (a
    /// scope's sessions, a parent's children): the waits that begin from now on register with
    /// their thread's. Those that began before stay on the first list; a `set` wakes both.
    #[inline]
    pub(crate) fn spread(&self) {
        if self.state.load(Ordering::Relaxed) & SPREAD == 0 {
            self.spread_now();
        }
    }

    #[cold]
    #[inline(never)]
    fn spread_now(&self) {
        self.lists
            .get_or_init(|| (0..slots::count()).map(|_| Padded(Notify::new())).collect());
        // Release: a wait that sees `SPREAD` sees the lists.
        self.state.fetch_or(SPREAD, Ordering::AcqRel);
    }

    /// Sets the latch and wakes every waiter; returns whether this call set it.
    pub(crate) fn set(&self) -> bool {
        let before = self.state.fetch_or(SET, Ordering::AcqRel);
        if before & SET != 0 {
            return false;
        }
        self.first.notify_waiters();
        if before & SPREAD != 0 {
            for waiters in self.lists.get().into_iter().flatten() {
                waiters.0.notify_waiters();
            }
        }
        true
    }

    pub(crate) fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Completes once the latch is set (at once if it is). Cancel-safe.
    pub(crate) fn wait(&self) -> Wait<'_> {
        let state = self.state.load(Ordering::Acquire);
        let notified = if state & SET != 0 {
            None
        } else if state & SPREAD == 0 {
            // Not spread when this was read: a `set` from now on wakes the first list.
            Some(self.first.notified())
        } else {
            // Spread, not set: the `set` comes after the `spread` on `state`, so it wakes
            // the lists. (The lists exist: `SPREAD` was read with acquire.)
            let lists = self.lists.get().map_or(&[][..], |lists| &lists[..]);
            let notify = lists
                .get(slots::this_thread().index())
                .map_or(&self.first, |list| &list.0);
            Some(notify.notified())
        };
        Wait {
            latch: self,
            notified,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Latch::wait`]: the flag, and a `Notified` made when the wait began
    /// (none if the latch was set by then). A `Notified` sees every `notify_waiters` since it
    /// was made, so a `set` between the flag check and the first poll is not lost. As small as
    /// a `Notified` and a pointer (the `Option` takes the niche of the `Notified`'s
    /// reference): it sits in every session that waits for its stop.
    pub(crate) struct Wait<'a> {
        latch: &'a Latch,
        #[pin]
        notified: Option<Notified<'a>>,
    }
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let Some(notified) = this.notified.as_pin_mut() else {
            return Poll::Ready(());
        };
        if this.latch.is_set() {
            // Polled once more although the flag answers: a `Notified` registered with its
            // `Notify` and since woken is marked done by this poll without a lock, where
            // its drop would otherwise take the `Notify`'s lock, the one that the `set`
            // still waking the other waiters holds (a woken session contending with it cost
            // shutdown half its speed). It was made before the set, so it does not register
            // now, but in the short window between the flag and the wake-up.
            let _ = notified.poll(cx);
            return Poll::Ready(());
        }
        notified.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    /// The `Option` costs nothing: `Wait` is in every waiting session's task.
    #[test]
    fn a_wait_is_a_notified_and_a_pointer() {
        assert_eq!(
            std::mem::size_of::<Wait<'_>>(),
            std::mem::size_of::<&Latch>() + std::mem::size_of::<Notified<'_>>()
        );
    }

    #[test]
    fn wakes_waiters_registered_before_it_is_set_and_completes_after() {
        let latch = Latch::new(false);
        let mut cx = Context::from_waker(Waker::noop());
        let mut early = Box::pin(latch.wait());
        assert!(early.as_mut().poll(&mut cx).is_pending());
        assert!(latch.set(), "the first set sets it");
        assert!(!latch.set(), "a second set is a no-op");
        assert!(early.as_mut().poll(&mut cx).is_ready());
        assert!(Box::pin(latch.wait()).as_mut().poll(&mut cx).is_ready());
        assert!(Latch::new(true).is_set());
    }

    /// A wait that began before the latch was spread stays on the first list, one that began
    /// after registers with its thread's: one `set` wakes both.
    #[test]
    fn wakes_waiters_from_before_and_after_it_is_spread() {
        let latch = Latch::new(false);
        let mut cx = Context::from_waker(Waker::noop());
        let mut before = Box::pin(latch.wait());
        assert!(before.as_mut().poll(&mut cx).is_pending());
        latch.spread();
        latch.spread();
        let mut after = Box::pin(latch.wait());
        assert!(after.as_mut().poll(&mut cx).is_pending());
        assert!(before.as_mut().poll(&mut cx).is_pending());
        assert!(latch.set());
        assert!(before.as_mut().poll(&mut cx).is_ready());
        assert!(after.as_mut().poll(&mut cx).is_ready());
    }

    /// Waiters on several worker threads register with different `Notify`s; one `set` wakes
    /// them all, and none completes before it.
    #[test]
    fn one_set_wakes_waiters_on_every_thread() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        let latch = std::sync::Arc::new(Latch::new(false));
        latch.spread();
        let woken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (registered, mut registrations) = tokio::sync::mpsc::unbounded_channel();
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (latch, woken, registered) = (latch.clone(), woken.clone(), registered.clone());
                runtime.spawn(async move {
                    let mut wait = std::pin::pin!(latch.wait());
                    // Polled once, so that it is registered, before the latch is set.
                    std::future::poll_fn(|cx| {
                        assert!(wait.as_mut().poll(cx).is_pending());
                        Poll::Ready(())
                    })
                    .await;
                    registered.send(()).unwrap();
                    wait.await;
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        runtime.block_on(async {
            for _ in 0..64 {
                registrations.recv().await.unwrap();
            }
            assert_eq!(
                woken.load(Ordering::SeqCst),
                0,
                "nothing completes before the set"
            );
            latch.set();
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(woken.load(Ordering::SeqCst), 64);
    }
}
