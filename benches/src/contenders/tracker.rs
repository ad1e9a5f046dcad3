//! The baseline: tokio-util's `TaskTracker` and `CancellationToken`, as their docs show them.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::short_request;
use crate::probe::{Parked, Probe};

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
