//! `stop_order` on `#[canstop::main]` goes to the root: with `"reverse"`, the services started
//! from `main` stop one at a time, the last started first.

use std::sync::atomic::{AtomicBool, Ordering};

use canstop::{service, Shutdown};

static SECOND_STOPPED: AtomicBool = AtomicBool::new(false);

#[service]
async fn first(shutdown: Shutdown) -> Result<(), String> {
    shutdown.requested().await;
    if !SECOND_STOPPED.load(Ordering::SeqCst) {
        return Err("told to stop before the service started after it had stopped".to_owned());
    }
    Ok(())
}

#[service]
async fn second(shutdown: Shutdown) {
    shutdown.requested().await;
    tokio::task::yield_now().await;
    SECOND_STOPPED.store(true, Ordering::SeqCst);
}

#[canstop::main(timeout = "5s", flavor = "current_thread", stop_order = "reverse")]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(first())?;
    canstop::start(second())?;
    canstop::shutdown()
}
