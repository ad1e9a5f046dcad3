use canstop::{service, Shutdown};

#[service(stop_order = "by_dependency")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[canstop::main(stop_order = "lifo")]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker())?;
    Ok(())
}
