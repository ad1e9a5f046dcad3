use canstop::{service, Shutdown};

#[service(name = "worker" timeout = "1s")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
