//! Mid-edit: a missing `;` in a service's body gives rustc's one syntax error, and nothing
//! from the macro or from the caller, which still sees the generated signature.
use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown, port: u16) {
    let doubled = port * 2
    let _ = doubled;
    shutdown.requested().await;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker(8080))?;
    Ok(())
}
