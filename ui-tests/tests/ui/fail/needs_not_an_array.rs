use canstop::{service, Shutdown};

const DEPENDENCIES: [&str; 1] = ["db"];

#[service(needs = "database")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[service(needs = DEPENDENCIES)]
async fn other(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = (worker(), other(), DEPENDENCIES);
}
