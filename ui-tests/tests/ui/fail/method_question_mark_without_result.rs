//! `?` in a method's body that returns `()`: rustc's one error.
use std::sync::Arc;

use canstop::{service, Shutdown};

struct Server;

impl Server {
    #[service]
    async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let port: u16 = "8080".parse()?;
        let _ = port;
        shutdown.requested().await;
    }
}

fn main() {}
