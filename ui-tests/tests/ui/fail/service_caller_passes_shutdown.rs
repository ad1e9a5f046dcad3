use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown, port: u16) {
    let _ = port;
    shutdown.requested().await;
}

fn restart(shutdown: Shutdown) {
    let _ = worker(shutdown, 8080);
}

fn main() {
    let _ = restart;
}
