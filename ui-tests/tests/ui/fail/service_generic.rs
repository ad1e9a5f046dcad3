use canstop::{service, Shutdown};

#[service]
async fn worker<T: Send + 'static>(shutdown: Shutdown, item: T) {
    let _ = item;
    shutdown.requested().await;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker(1_u8))?;
    Ok(())
}
