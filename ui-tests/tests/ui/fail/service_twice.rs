use canstop::{service, session, Shutdown};

// The same macro twice, or both on one fn: one error, at the second.
#[service]
#[service(name = "x")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[service]
#[session]
async fn both(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = (worker(), both());
}
