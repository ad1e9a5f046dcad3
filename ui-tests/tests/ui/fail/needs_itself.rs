//! A service's name is its fn's, or its `name = "..."`: it cannot need itself.

use canstop::{service, Shutdown};

#[service(needs = ["db", "worker"])]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[service(name = "cache", needs = ["cache"])]
async fn memcache(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = (worker(), memcache());
}
