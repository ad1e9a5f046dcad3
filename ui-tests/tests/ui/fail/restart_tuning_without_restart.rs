//! `max_restarts`, `within` and `backoff` tune a restart policy: without one, or with
//! `restart = "never"`, each is an error on its option.
use canstop::{service, Shutdown};

#[service(max_restarts = 5)]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[service(restart = "never", within = "1m", backoff = "1s..1m")]
async fn other(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = (worker(), other());
}
