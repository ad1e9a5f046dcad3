//! `restart` builds a new body from the same arguments: an argument that is not `Clone` is
//! one error, at its type (a receiver: at `self`), and the callers get none.
use std::sync::Arc;

use canstop::{service, Shutdown};

struct Socket;

#[service(restart = "on-failure")]
async fn serve(shutdown: Shutdown, socket: Socket, port: u16) {
    let _ = (socket, port);
    shutdown.requested().await;
}

#[service(restart = "always")]
async fn pool(sockets: Vec<Socket>) {
    let _ = sockets;
}

struct Server;

impl Server {
    #[service(restart = "on-failure")]
    async fn run(self, shutdown: Shutdown) {
        let Self = self;
        shutdown.requested().await;
    }

    /// `Arc<Self>` is `Clone` whatever `Self` is.
    #[service(restart = "on-failure")]
    async fn shared(self: Arc<Self>, shutdown: Shutdown) {
        let _ = self;
        shutdown.requested().await;
    }
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(serve(Socket, 8080))?;
    canstop::start(pool(vec![Socket]))?;
    canstop::start(Server.run())?;
    canstop::start(Arc::new(Server).shared())?;
    Ok(())
}
