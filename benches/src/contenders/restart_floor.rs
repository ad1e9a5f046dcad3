//! The restart workload's floor: what restarting a failed body must at least do, written by
//! hand on plain tokio. One loop in one task: build a boxed body from a factory (a boxed
//! `FnMut`, as a supervisor holds it), poll it to its end, and on an `Err` build the next one.
//! Nothing is counted, kept or reported beyond the number of failures; there is no stop
//! signal to check, no intensity window, no backoff, no scope.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::RESTART_FAILURE;
use crate::probe::Restarts;

/// One instance's body, as a supervisor holds it.
type Instance = Pin<Box<dyn Future<Output = Result<(), &'static str>> + Send>>;

/// The factory, as a supervisor holds it.
type Factory = Box<dyn FnMut() -> Instance + Send>;

pub(super) async fn restarts(n: usize, restarts: &'static Restarts) -> Result<Duration, String> {
    let mut factory: Factory = Box::new(move || {
        Box::pin(async move {
            if restarts.instance() {
                // The n-th restart's instance: the measurement is over.
                return Ok(());
            }
            Err(RESTART_FAILURE)
        })
    });
    let mut failures = 0usize;
    while let Err(error) = factory().await {
        std::hint::black_box(error);
        failures += 1;
    }
    if failures != n {
        return Err(format!("{failures} failures, expected {n}"));
    }
    restarts.result()
}
