//! What the macros' syntactic check cannot see, and the recipe catches (each line is expected
//! in clippy's output by .ci/run).
use canstop::{service, Shutdown};
use tokio::spawn;

/// A helper fn: not a `#[service]` body, so not checked by the macro.
fn helper() {
    drop(spawn(async {})); // SPAWN-IMPORTED
}

#[service]
async fn worker(shutdown: Shutdown) {
    helper();
    let handle = tokio::runtime::Handle::current();
    drop(handle.spawn(async {})); // HANDLE-METHOD
    let mut set = tokio::task::JoinSet::new();
    drop(set.spawn(async {})); // JOINSET
    shutdown.requested().await;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker())?;
    canstop::shutdown()
}
