//! Raw tokio: `tokio::spawn`, a `Notify` as the stop signal, and the least a program needs to
//! know when its tasks are done: a count of live tasks and a `Notify` for the last one.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::short_request;
use crate::probe::{Parked, Probe};

/// A hand-rolled wait group. It starts at one, the owner's own count, so that it cannot reach
/// zero while the owner is still spawning; the owner drops its count with [`Self::done`] once
/// it has spawned everything.
struct Live {
    count: AtomicUsize,
    zero: Notify,
}

impl Live {
    fn new() -> Self {
        Self {
            count: AtomicUsize::new(1),
            zero: Notify::new(),
        }
    }

    fn add(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Stores a permit if the owner is not waiting yet.
            self.zero.notify_one();
        }
    }

    async fn wait(&self) {
        self.zero.notified().await;
    }
}

pub(super) async fn parked(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    let stop = Arc::new(Notify::new());
    let live = Arc::new(Live::new());
    probe.begin();
    for _ in 0..n {
        live.add();
        let stop = stop.clone();
        let live = live.clone();
        tokio::spawn(async move {
            // `notify_waiters` only wakes registered waiters: register before parking.
            let mut stopped = pin!(stop.notified());
            stopped.as_mut().enable();
            probe.park();
            stopped.await;
            live.done();
        });
    }
    live.done();
    probe.all_parked().await;
    probe.fire();
    stop.notify_waiters();
    live.wait().await;
    probe.finish()
}

pub(super) async fn churn(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    let live = Arc::new(Live::new());
    probe.begin();
    for i in 0..n {
        live.add();
        let live = live.clone();
        tokio::spawn(async move {
            short_request(i);
            live.done();
        });
    }
    live.done();
    live.wait().await;
    Ok(probe.began_at().elapsed())
}
