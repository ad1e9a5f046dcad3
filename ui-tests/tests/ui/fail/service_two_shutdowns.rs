use canstop::{service, Shutdown};

#[service]
async fn worker(first: Shutdown, second: canstop::Shutdown) {
    let _ = second;
    first.requested().await;
}

fn main() {
    let _ = worker();
}
