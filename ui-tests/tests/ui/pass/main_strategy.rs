//! `strategy` on `#[canstop::main]` goes to the root: with `"one_for_all"`, the failure of one
//! restarted service restarts its restartable sibling too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use canstop::{service, Shutdown};

static FLAKY: AtomicUsize = AtomicUsize::new(0);
static STEADY: AtomicUsize = AtomicUsize::new(0);

/// Fails once.
#[service(restart = "on-failure", backoff = "1ms..1ms")]
async fn flaky(shutdown: Shutdown) -> Result<(), String> {
    if FLAKY.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err("the first instance fails".to_owned());
    }
    shutdown.requested().await;
    Ok(())
}

/// Never fails, restarted with its sibling.
#[service(restart = "on-failure")]
async fn steady(shutdown: Shutdown, label: String) {
    assert_eq!(label, "steady");
    let _ = STEADY.fetch_add(1, Ordering::SeqCst);
    shutdown.requested().await;
}

#[canstop::main(timeout = "5s", flavor = "current_thread", strategy = "one_for_all")]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(steady("steady".to_owned()))?;
    canstop::start(flaky())?;
    let restarted = || FLAKY.load(Ordering::SeqCst) == 2 && STEADY.load(Ordering::SeqCst) == 2;
    for _ in 0..5_000 {
        if restarted() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(restarted(), "the sibling was not restarted with the failed service");
    canstop::shutdown()
}
