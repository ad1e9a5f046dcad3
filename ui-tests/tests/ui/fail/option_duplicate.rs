use canstop::{service, Shutdown};

#[service(timeout = "1s", timeout = "2s")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
