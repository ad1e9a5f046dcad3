//! A crate that depends on `canstop` only: its services and sessions, used by `main.rs` and
//! by the tests.
#![deny(warnings, clippy::all, clippy::pedantic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use canstop::{service, session, Shutdown};

/// Spawns `jobs` sessions, then serves until told to stop.
///
/// # Errors
///
/// When a session cannot be spawned.
#[service(name = "dispatcher", timeout = "2s")]
pub async fn dispatcher(
    jobs: u64,
    done: Arc<AtomicU64>,
    shutdown: Shutdown,
) -> Result<(), canstop::SpawnError> {
    for id in 0..jobs {
        canstop::spawn(job(id, done.clone()))?;
    }
    shutdown.requested().await;
    Ok(())
}

/// Restarted on failure, with clones of its arguments for each instance.
///
/// # Errors
///
/// Never, in fact.
#[service(
    restart = "on-failure",
    max_restarts = 5,
    within = "1m",
    backoff = "10ms..1s"
)]
pub async fn restarted(label: String, shutdown: Shutdown) -> Result<(), String> {
    if label.is_empty() {
        return Err("no label".to_owned());
    }
    shutdown.requested().await;
    Ok(())
}

/// Never looks at `Shutdown`: dropped when its stop is requested.
#[service]
pub async fn background() {
    std::future::pending::<()>().await;
}

/// One unit of work.
#[session]
pub async fn job(id: u64, done: Arc<AtomicU64>) {
    done.fetch_add(id + 1, Ordering::SeqCst);
}
