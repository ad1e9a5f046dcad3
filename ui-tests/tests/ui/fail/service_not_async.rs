use canstop::{service, Shutdown};

#[service]
fn worker(shutdown: Shutdown, port: u16) {
    let _ = (shutdown, port);
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(worker(8080))?;
    Ok(())
}
