//! What canstop does with work that will not stop: a service that ignores its `Shutdown` and
//! a session stuck in a long job. At the deadline both are aborted, the report names them,
//! and the exit code is 124.
//!
//! ```text
//! cargo run -p canstop-examples --bin stubborn      # then press Ctrl-C and wait 2 s
//! ```

use std::time::Duration;

use canstop::{service, session, Shutdown};
use canstop_examples::{announce, init_tracing};

#[canstop::main(timeout = "2s")]
async fn main() -> Result<(), canstop::SpawnError> {
    init_tracing();
    canstop::start(polite())?;
    canstop::start(stubborn())?;
    canstop::spawn(long_report())?;
    announce(format_args!("running; stop me"));
    Ok(())
}

/// Stops when told.
#[service]
async fn polite(shutdown: Shutdown) {
    shutdown.requested().await;
}

/// Takes its `Shutdown` and never looks at it: it keeps "working" until it is aborted.
#[service]
async fn stubborn(_shutdown: Shutdown) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tracing::info!("stubborn: still busy, not stopping");
    }
}

/// A session whose job takes an hour. It takes no `Shutdown`, so the drain waits for it,
/// until the deadline aborts it.
#[session]
async fn long_report() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}
