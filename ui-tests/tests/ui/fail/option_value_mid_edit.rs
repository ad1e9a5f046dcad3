use canstop::{service, Shutdown};

// `key = ` with the value not typed yet: the key's own error, at the key.
#[service(restart = , max_restarts = 2)]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[service(name = )]
async fn other(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = (worker(), other());
}
