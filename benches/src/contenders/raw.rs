//! Raw tokio: `tokio::spawn`, a `Notify` as the stop signal, and the least a program needs to
//! know when its tasks are done: a count of live tasks and a `Notify` for the last one.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use canstop_examples::http::app;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use canstop_examples::http::serve_connection;

use super::http::{Served, Until};
use super::short_request;
use crate::probe::{Cycled, Cycles, Parked, Probe};

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

/// The floor of a service cycle: `tokio::spawn` a task waiting on a `Notify` of its own (its
/// stop signal), notify it, and await its `JoinHandle`.
pub(super) async fn service_cycles(cycles: &'static Cycles) -> Result<Cycled, String> {
    cycles.begin();
    while cycles.another() {
        let stop = Arc::new(Notify::new());
        let service = tokio::spawn({
            let stop = stop.clone();
            async move {
                cycles.up();
                stop.notified().await;
            }
        });
        cycles.wait_up().await;
        // Stores a permit if the task is not waiting yet.
        stop.notify_one();
        service
            .await
            .map_err(|error| format!("a service task failed: {error}"))?;
    }
    cycles.end();
    cycles.result()
}

/// The http example's server with plain tokio tasks: the accept loop and each connection
/// are `tokio::spawn`ed, stopped by the `Notify`, and counted by the hand-rolled wait group.
pub(super) async fn http(listener: TcpListener, until: Until) -> Result<Served, String> {
    let stop = Arc::new(Notify::new());
    let live = Arc::new(Live::new());
    let failed = Arc::new(AtomicUsize::new(0));
    let app = app();
    let acceptor = tokio::spawn({
        let (stop, live, failed) = (stop.clone(), live.clone(), failed.clone());
        async move {
            let mut stopped = pin!(stop.notified());
            stopped.as_mut().enable();
            let mut accepted = 0;
            loop {
                tokio::select! {
                    () = stopped.as_mut() => break,
                    result = listener.accept() => {
                        let (stream, _) = result?;
                        accepted += 1;
                        live.add();
                        let (stop, live, failed) = (stop.clone(), live.clone(), failed.clone());
                        let app = app.clone();
                        tokio::spawn(async move {
                            let mut stopped = pin!(stop.notified());
                            stopped.as_mut().enable();
                            if serve_connection(stream, app, stopped).await.is_err() {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                            live.done();
                        });
                    }
                }
            }
            drop(listener);
            Ok::<usize, std::io::Error>(accepted)
        }
    });
    until.wait().await;
    stop.notify_waiters();
    let accepted = acceptor
        .await
        .map_err(|error| format!("the accept loop failed: {error}"))?
        .map_err(|error| format!("accept: {error}"))?;
    live.done();
    live.wait().await;
    Ok(Served {
        accepted,
        failed: failed.load(Ordering::Relaxed),
        errors: Vec::new(),
    })
}
