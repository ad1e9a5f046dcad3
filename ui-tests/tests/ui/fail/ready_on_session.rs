//! A session has no readiness: one error at its `Ready` parameter, none at the caller.

use canstop::{session, Ready};

#[session]
async fn job(id: u32, ready: Ready) {
    let _ = id;
    ready.set();
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(1))?;
    Ok(())
}
