use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) -> Result<(), std::io::Error> {
    let port: u16 = "8080";
    let _ = port;
    shutdown.requested().await;
    Ok(())
}

fn main() {
    let _ = worker();
}
