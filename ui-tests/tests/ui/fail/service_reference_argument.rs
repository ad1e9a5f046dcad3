use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown, peers: &mut Vec<String>) {
    peers.clear();
    shutdown.requested().await;
}

fn main() {
    let mut peers = Vec::new();
    let _ = worker(&mut peers);
}
