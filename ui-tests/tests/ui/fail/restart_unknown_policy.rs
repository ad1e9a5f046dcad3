//! An unknown policy: one error at the value, which lists the policies and suggests the
//! closest; the tuning options are not reported as lacking a policy.
use canstop::{service, Shutdown};

#[service(restart = "on_failure", max_restarts = 5)]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
