use canstop::{service, Shutdown};

// Every name in error: one error, not also one about the empty list left.
#[service(needs = [db])]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
