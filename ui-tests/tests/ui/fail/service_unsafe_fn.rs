use canstop::{service, Shutdown};

#[service]
async unsafe fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
