//! A session whose signature does not parse yet: two errors at the same token, none at the
//! spawn.
use canstop::{session, Shutdown};

#[session]
async fn job(shutdown: Shutdown, id: u64, name: ) {
    shutdown.requested().await;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(1, "a"))?;
    Ok(())
}
