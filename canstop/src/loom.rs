//! The synchronisation primitives of canstop's hand-rolled concurrency, switchable to
//! [loom](https://docs.rs/loom)'s so that loom model-checks the real source, not a transcription.
//!
//! The gate ([`crate::sync::gate`]), the latch ([`crate::sync::latch`]), the per-thread slots
//! ([`crate::sync::slots`]) and the sessions' registry and sweep ([`crate::session::sessions`]) take their
//! atomics, locks, `OnceLock` and `Notify` from here. In a normal build these are std's and
//! tokio's own types, re-exported unchanged: no cost. In the crate's own test build with
//! `--cfg canstop_loom` (`cfg(all(test, canstop_loom))`: loom is a dev-dependency, only there)
//! they are loom's, plus a `Notify` and a `OnceLock` written over loom's primitives with the
//! behaviour of tokio's and std's that canstop relies on, a `lock` for std's and loom's
//! mutexes alike, and a per-loom-thread slot lookup (the std slot registry lives in `static`s,
//! which loom cannot model). The other modules keep std's and tokio's types.
//!
//! The models are in `loom_models.rs`. To run them locally (release: loom explores thousands
//! of interleavings; `LOOM_MAX_PREEMPTIONS` bounds them, as CI does):
//!
//! ```text
//! RUSTFLAGS="--cfg canstop_loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p canstop --lib --release loom_models
//! ```
//!
//! A failing model prints the interleaving's trace with `LOOM_LOG=trace`, and
//! `LOOM_CHECKPOINT_FILE=model.json` lets a failure be replayed.

#[cfg(not(all(test, canstop_loom)))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
#[cfg(not(all(test, canstop_loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard, OnceLock};
#[cfg(not(all(test, canstop_loom)))]
pub(crate) use tokio::sync::{futures::Notified, Notify};

#[cfg(all(test, canstop_loom))]
pub(crate) use ::loom::sync::atomic::{
    fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(all(test, canstop_loom))]
pub(crate) use ::loom::sync::{Mutex, MutexGuard};
#[cfg(all(test, canstop_loom))]
pub(crate) use model::{lock, slots, Notified, Notify, OnceLock};

#[cfg(all(test, canstop_loom))]
mod model {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::PoisonError;
    use std::task::{Context, Poll, Waker};

    use ::loom::sync::atomic::{AtomicBool, Ordering};
    use ::loom::sync::Mutex;

    /// Locks a std or a loom mutex, ignoring poisoning (what `crate::sync::locking::lock` does).
    pub(crate) fn lock<M: Lock + ?Sized>(mutex: &M) -> M::Guard<'_> {
        mutex.lock_ignoring_poison()
    }

    /// The std mutexes stay std's (the watchdog's, the children's); the modelled ones are
    /// loom's: one `lock` for both.
    pub(crate) trait Lock {
        type Guard<'a>
        where
            Self: 'a;
        fn lock_ignoring_poison(&self) -> Self::Guard<'_>;
    }

    impl<T: ?Sized> Lock for std::sync::Mutex<T> {
        type Guard<'a>
            = std::sync::MutexGuard<'a, T>
        where
            Self: 'a;
        fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
            self.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    impl<T: ?Sized> Lock for Mutex<T> {
        type Guard<'a>
            = ::loom::sync::MutexGuard<'a, T>
        where
            Self: 'a;
        fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
            self.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    /// tokio's `Notify`, as far as canstop uses it: `notify_waiters` wakes every [`Notified`]
    /// made before the call, polled or not, enabled or not, and stores no permit for later
    /// ones (tokio: "The `Notified` future is guaranteed to receive wakeups from
    /// `notify_waiters()` as soon as it has been created, even if it has not yet been
    /// polled"). Like tokio's, it counts the `notify_waiters` calls and a `Notified` compares
    /// the count with the one it was made at.
    #[derive(Debug, Default)]
    pub(crate) struct Notify {
        state: Mutex<State>,
    }

    #[derive(Debug, Default)]
    struct State {
        /// How many `notify_waiters` calls so far.
        calls: usize,
        /// The wakers of the pending `Notified`s, by key.
        waiting: Vec<(usize, Waker)>,
        next_key: usize,
    }

    impl Notify {
        pub(crate) fn new() -> Self {
            Self::default()
        }

        /// Not `const` under loom (nor is tokio's own `const_new` under its loom cfg).
        pub(crate) fn const_new() -> Self {
            Self::new()
        }

        pub(crate) fn notified(&self) -> Notified<'_> {
            let made_at = lock(&self.state).calls;
            Notified {
                notify: self,
                made_at,
                key: None,
            }
        }

        pub(crate) fn notify_waiters(&self) {
            let woken = {
                let mut state = lock(&self.state);
                state.calls += 1;
                std::mem::take(&mut state.waiting)
            };
            // Outside the lock, as tokio does.
            for (_, waker) in woken {
                waker.wake();
            }
        }
    }

    /// The future of [`Notify::notified`].
    #[derive(Debug)]
    pub(crate) struct Notified<'a> {
        notify: &'a Notify,
        made_at: usize,
        /// Its waker's key in `State::waiting`, once polled.
        key: Option<usize>,
    }

    impl Notified<'_> {
        /// A no-op for `notify_waiters`, which reaches a `Notified` from its creation on
        /// (tokio's `enable` only matters for `notify_one`, which canstop does not use here).
        /// Returns whether it has been notified already.
        pub(crate) fn enable(self: Pin<&mut Self>) -> bool {
            lock(&self.notify.state).calls != self.made_at
        }
    }

    impl Future for Notified<'_> {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let this = self.get_mut();
            let mut state = lock(&this.notify.state);
            if state.calls != this.made_at {
                if let Some(key) = this.key.take() {
                    state.waiting.retain(|(known, _)| *known != key);
                }
                return Poll::Ready(());
            }
            let key = match this.key {
                Some(key) => key,
                None => {
                    state.next_key += 1;
                    this.key = Some(state.next_key);
                    state.next_key
                }
            };
            state.waiting.retain(|(known, _)| *known != key);
            state.waiting.push((key, cx.waker().clone()));
            Poll::Pending
        }
    }

    impl Drop for Notified<'_> {
        fn drop(&mut self) {
            if let Some(key) = self.key {
                lock(&self.notify.state)
                    .waiting
                    .retain(|(known, _)| *known != key);
            }
        }
    }

    /// std's `OnceLock` as canstop uses it (`get`, `get_or_init`), with loom seeing the
    /// synchronisation: set under a loom lock, published by a loom atomic. The value itself
    /// sits in a std `OnceLock`, written once under the lock and read only after the flag.
    #[derive(Debug)]
    pub(crate) struct OnceLock<T> {
        init: Mutex<()>,
        set: AtomicBool,
        value: std::sync::OnceLock<T>,
    }

    impl<T> Default for OnceLock<T> {
        fn default() -> Self {
            Self {
                init: Mutex::new(()),
                set: AtomicBool::new(false),
                value: std::sync::OnceLock::new(),
            }
        }
    }

    impl<T> OnceLock<T> {
        pub(crate) fn get(&self) -> Option<&T> {
            if self.set.load(Ordering::Acquire) {
                self.value.get()
            } else {
                None
            }
        }

        pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
            if let Some(value) = self.get() {
                return value;
            }
            let _init = lock(&self.init);
            if !self.set.load(Ordering::Acquire) {
                // Only this thread, under the lock, writes it.
                let _ = self.value.set(init());
                self.set.store(true, Ordering::Release);
            }
            self.value.get().expect("set under the lock")
        }
    }

    /// The per-thread slots under loom: each loom thread takes the next index when it first
    /// looks (per execution), the shared slot once the owned ones are taken; the std version
    /// keeps its registry in a `static` lock, which loom cannot model.
    pub(crate) mod slots {
        use std::cell::Cell;

        use ::loom::sync::atomic::{AtomicUsize, Ordering};

        use crate::sync::slots::{count, Slot};

        ::loom::lazy_static! {
            static ref NEXT: AtomicUsize = AtomicUsize::new(0);
        }

        ::loom::thread_local! {
            static KNOWN: Cell<Option<Slot>> = Cell::new(None);
        }

        pub(crate) fn this_thread() -> Slot {
            KNOWN.with(|known| match known.get() {
                Some(slot) => slot,
                None => {
                    let index = NEXT.fetch_add(1, Ordering::Relaxed);
                    let slot = if index < count() - 1 {
                        Slot::Own(index)
                    } else {
                        Slot::Shared
                    };
                    known.set(Some(slot));
                    slot
                }
            })
        }

        pub(crate) fn share_on_this_thread() {
            KNOWN.with(|known| {
                if known.get().is_none() {
                    known.set(Some(Slot::Shared));
                }
            });
        }
    }
}
