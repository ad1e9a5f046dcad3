use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) {
    tokio::spawn(async {});
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
