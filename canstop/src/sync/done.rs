//! A one-shot flag with one list of waiters: for what few tasks wait on (a service's full
//! stop, awaited by its handles), where [`Latch`](crate::sync::latch::Latch)'s per-thread
//! waiter lists would cost an allocation each, and a `CancellationToken` an allocation and a
//! lock to drop.

use crate::loom::{AtomicBool, Notify, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Done {
    set: AtomicBool,
    waiters: Notify,
}

impl Done {
    /// Sets the flag and wakes every waiter (a no-op the second time).
    pub(crate) fn set(&self) {
        if !self.set.swap(true, Ordering::AcqRel) {
            self.waiters.notify_waiters();
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Completes once the flag is set. Cancel-safe. The `Notified` is made before the flag is
    /// read: `notify_waiters` reaches a `Notified` from its creation on, so a `set` between
    /// the read and the first poll is not lost.
    pub(crate) async fn wait(&self) {
        let notified = self.waiters.notified();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}

#[cfg(all(test, not(canstop_loom)))]
mod tests {
    use std::sync::Arc;

    use super::Done;

    #[tokio::test]
    async fn wakes_a_waiter_and_completes_after() {
        let done = Arc::new(Done::default());
        let waiter = tokio::spawn({
            let done = done.clone();
            async move { done.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        done.set();
        waiter.await.unwrap();
        done.wait().await;
        assert!(done.is_set());
    }
}
