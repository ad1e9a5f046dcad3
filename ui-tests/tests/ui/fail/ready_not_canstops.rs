//! A type of the user's imported as `Ready`, or marked `#[ready]`: one error each, at the
//! parameter's type, and none at the callers.

use canstop::{service, Shutdown};

mod config {
    pub struct Ready;
}

use config::Ready;

struct Up;

#[service]
async fn worker(shutdown: Shutdown, ready: Ready, port: u16) {
    let _ = (ready, port);
    shutdown.requested().await;
}

#[service]
async fn pool(#[ready] up: Up) {
    let _ = up;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker(8080))?;
    canstop::start(pool())?;
    Ok(())
}
