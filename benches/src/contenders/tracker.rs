//! The baseline: tokio-util's `TaskTracker` and `CancellationToken`, as their docs show them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use canstop_examples::http::app;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use canstop_examples::http::serve_connection;

use super::http::{Served, Until};
use super::short_request;
use crate::probe::{Cycled, Cycles, Parked, Probe};

pub(super) async fn parked(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    let tracker = TaskTracker::new();
    let token = CancellationToken::new();
    probe.begin();
    for _ in 0..n {
        let token = token.clone();
        tracker.spawn(async move {
            probe.park();
            token.cancelled().await;
        });
    }
    tracker.close();
    probe.all_parked().await;
    probe.fire();
    token.cancel();
    tracker.wait().await;
    probe.finish()
}

pub(super) async fn churn(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    let tracker = TaskTracker::new();
    probe.begin();
    for i in 0..n {
        tracker.spawn(async move { short_request(i) });
    }
    tracker.close();
    tracker.wait().await;
    Ok(probe.began_at().elapsed())
}

/// A service cycle with tokio-util: a task spawned on the owner's `TaskTracker`, waiting on
/// a child of the owner's `CancellationToken` (its own stop, which the owner's stop would
/// cancel too); cancel the child, await the `JoinHandle`.
pub(super) async fn service_cycles(cycles: &'static Cycles) -> Result<Cycled, String> {
    let tracker = TaskTracker::new();
    let token = CancellationToken::new();
    cycles.begin();
    while cycles.another() {
        let stop = token.child_token();
        let service = tracker.spawn({
            let stop = stop.clone();
            async move {
                cycles.up();
                stop.cancelled().await;
            }
        });
        cycles.wait_up().await;
        stop.cancel();
        service
            .await
            .map_err(|error| format!("a service task failed: {error}"))?;
    }
    cycles.end();
    tracker.close();
    token.cancel();
    tracker.wait().await;
    cycles.result()
}

/// The http example's server with tokio-util: the accept loop and each connection are
/// spawned on one `TaskTracker` and stopped by one `CancellationToken`.
pub(super) async fn http(listener: TcpListener, until: Until) -> Result<Served, String> {
    let tracker = TaskTracker::new();
    let token = CancellationToken::new();
    let failed = Arc::new(AtomicUsize::new(0));
    let app = app();
    let acceptor = tracker.spawn({
        let (tracker, token, failed) = (tracker.clone(), token.clone(), failed.clone());
        async move {
            let mut accepted = 0;
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    result = listener.accept() => {
                        let (stream, _) = result?;
                        accepted += 1;
                        let (token, failed) = (token.clone(), failed.clone());
                        let app = app.clone();
                        tracker.spawn(async move {
                            if serve_connection(stream, app, token.cancelled()).await.is_err() {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                }
            }
            drop(listener);
            Ok::<usize, std::io::Error>(accepted)
        }
    });
    until.wait().await;
    token.cancel();
    tracker.close();
    tracker.wait().await;
    let accepted = acceptor
        .await
        .map_err(|error| format!("the accept loop failed: {error}"))?
        .map_err(|error| format!("accept: {error}"))?;
    Ok(Served {
        accepted,
        failed: failed.load(Ordering::Relaxed),
        errors: Vec::new(),
    })
}
