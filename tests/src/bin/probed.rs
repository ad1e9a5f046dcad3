//! A program probed by tests/health.rs: its health endpoints on the address compiled in
//! (`127.0.0.2:0`) or `CANSTOP_HEALTH_ADDR`, a drain delay of 1 s, one service. It prints
//! `health on ADDR` (the port bound) and then `READY` on stdout.

use canstop::health::Health;
use canstop::{service, Shutdown};
use canstop_examples::announce;

#[canstop::main(health = "127.0.0.2:0", drain_delay = "1s", timeout = "5s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = Health::current()?
        .local_addr()
        .ok_or("no health endpoints")?;
    announce(format_args!("health on {addr}"));
    canstop::start(worker())?;
    announce(format_args!("READY"));
    Ok(())
}

/// Serves until told to stop.
#[service]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}
