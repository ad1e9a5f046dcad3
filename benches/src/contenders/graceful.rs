//! tokio-graceful: a `Shutdown` whose signal is a oneshot the owner fires, and one
//! `ShutdownGuard` per task (`Shutdown::spawn_task_fn`), as its README shows.

use std::time::Duration;

use tokio::sync::oneshot;

use super::short_request;
use crate::probe::{Parked, Probe};

pub(super) async fn parked(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    let (fire, signal) = oneshot::channel::<()>();
    let shutdown = tokio_graceful::Shutdown::new(async move {
        let _ = signal.await;
    });
    probe.begin();
    for _ in 0..n {
        shutdown.spawn_task_fn(move |guard| async move {
            probe.park();
            guard.cancelled().await;
        });
    }
    probe.all_parked().await;
    probe.fire();
    fire.send(()).map_err(|()| "the signal task is gone")?;
    shutdown.shutdown().await;
    probe.finish()
}

pub(super) async fn churn(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    // No signal: a wait group that completes once every guard is dropped.
    let shutdown = tokio_graceful::Shutdown::no_signal();
    probe.begin();
    for i in 0..n {
        shutdown.spawn_task(async move { short_request(i) });
    }
    shutdown.shutdown().await;
    Ok(probe.began_at().elapsed())
}
