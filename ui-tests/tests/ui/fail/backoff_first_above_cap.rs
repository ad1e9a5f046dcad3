//! A backoff whose first delay is longer than its cap: one error at the value, which shows
//! the range the other way round.
use canstop::{service, Shutdown};

#[service(restart = "on-failure", backoff = "30s..100ms")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
