use canstop::{service, Shutdown};

#[service(needs = "database")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
