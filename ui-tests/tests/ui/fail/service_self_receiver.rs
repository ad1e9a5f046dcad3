use canstop::{service, Shutdown};

struct Server;

impl Server {
    #[service]
    async fn run(&self, shutdown: Shutdown) {
        shutdown.requested().await;
    }
}

fn main() {}
