use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) {
    tokio::select! {
        () = shutdown.requested() => {}
        () = std::future::ready(()) => {
            tokio::spawn(async {});
        }
    }
}

fn main() {
    let _ = worker();
}
