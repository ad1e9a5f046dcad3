use canstop::{service, Shutdown};

#[service(retries = 3)]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker())?;
    Ok(())
}
