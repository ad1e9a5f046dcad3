use canstop::{service, Shutdown};

#[service(restart = "on_failure")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
