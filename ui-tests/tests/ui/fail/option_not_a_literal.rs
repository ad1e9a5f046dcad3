use canstop::{service, Shutdown};

const NAME: &str = "worker";

#[service(name = NAME)]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
