use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

async fn run() {
    worker().await;
}

fn main() {
    let _ = run();
}
