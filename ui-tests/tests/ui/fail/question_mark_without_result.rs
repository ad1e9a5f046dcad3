use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) {
    let port: u16 = "8080".parse()?;
    let _ = port;
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
