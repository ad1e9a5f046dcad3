use canstop::{service, Shutdown};

#[service(timeout = "")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
