//! Each name in error is one error, at its literal: empty, with a `/`, with a control
//! character, given twice.

use canstop::{service, Shutdown};

#[service(needs = ["db", "", "api/db", "cache\n", "queue", "db"])]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
