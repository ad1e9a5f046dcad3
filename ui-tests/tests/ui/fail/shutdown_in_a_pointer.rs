//! `Arc<Shutdown>`: canstop supplies a `Shutdown` by value only.

use std::sync::Arc;

use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Arc<Shutdown>) {
    shutdown.requested().await;
}

fn main() {}
