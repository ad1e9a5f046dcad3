//! An HTTP server and a periodic worker (the conductor pattern): axum routes, and
//! `canstop::http::serve` serves them, each connection a tracked session; a worker service
//! ticks beside it.
//!
//! ```text
//! cargo run -p canstop-examples --bin http -- 127.0.0.1:3000
//! curl 127.0.0.1:3000/slow    # answers after 500 ms
//! ```
//!
//! On SIGTERM the listener closes at once (new connections are refused), every request in
//! flight is answered, keep-alive connections are closed after their current request (HTTP/2
//! ones get GOAWAY), and the program exits 0. With `CANSTOP_DRAIN_DELAY=2s` (Kubernetes keeps
//! routing new connections to a terminating pod for a moment), it first keeps accepting for
//! 2 s, serving the late connections without keep-alive, and only then stops as above. Set
//! `WORKER_FAIL_AFTER=3` to make the worker fail on its third tick: the server is shut down
//! too, the worker is the trigger, and the exit code is 1.

use std::time::Duration;

use canstop::http::{bind, serve, DEFAULT_BACKLOG};
use canstop::{service, Shutdown};
use canstop_examples::http::app;
use canstop_examples::{announce, init_tracing};

#[canstop::main(timeout = "10s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let fail_after = match std::env::var("WORKER_FAIL_AFTER") {
        Ok(ticks) => Some(ticks.parse::<u64>()?),
        Err(_) => None,
    };
    let listener = bind(&addr, DEFAULT_BACKLOG).await?;
    announce(format_args!("listening on {}", listener.local_addr()?));
    canstop::start(serve(listener, app()))?;
    canstop::start(worker(fail_after))?;
    Ok(())
}

/// A periodic job (a metrics flush, a cache refresh). With `fail_after`, it fails on that
/// tick, which shuts the whole program down.
#[service]
async fn worker(shutdown: Shutdown, fail_after: Option<u64>) -> Result<(), String> {
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut ticks = 0;
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()),
            _ = ticker.tick() => {
                ticks += 1;
                tracing::debug!(ticks, "worker tick");
                if fail_after == Some(ticks) {
                    return Err(format!("upstream unavailable after {ticks} ticks"));
                }
            }
        }
    }
}
