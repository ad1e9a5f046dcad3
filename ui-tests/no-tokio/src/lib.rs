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

/// A session with an output, checked at its return type.
#[session]
pub async fn lookup(id: u64) -> Result<u64, String> {
    if id == 0 {
        return Err("no such id".to_owned());
    }
    Ok(id * 2)
}

/// A pool whose methods are a session and a service (their bodies generated in place, typed
/// by their return types before their first `return`).
#[derive(Debug)]
pub struct Pool {
    base: u64,
}

impl Pool {
    /// A session method with an early `return`.
    #[session]
    pub async fn get(self: Arc<Self>, id: u64) -> Result<u64, String> {
        if id == 0 {
            return Err("no such id".to_owned());
        }
        Ok(self.base + id)
    }

    /// A restarted service method.
    #[service(restart = "on-failure")]
    pub async fn serve(self: Arc<Self>, shutdown: Shutdown) -> Result<(), String> {
        if self.base == 0 {
            return Err("no base".to_owned());
        }
        shutdown.requested().await;
        Ok(())
    }
}
