#![deny(dead_code)]

use canstop::{service, session, Shutdown};

#[service]
async fn unused_worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[session]
async fn unused_job() {}

fn main() {}
