#![deny(unused_must_use)]

use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    worker();
}
