use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[tokio::main]
async fn main() {
    tokio::spawn(worker());
}
