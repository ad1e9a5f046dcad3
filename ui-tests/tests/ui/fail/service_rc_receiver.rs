//! `self: Rc<Self>`: one error, which names the fix (`Arc`); the caller gets none.
use std::rc::Rc;

use canstop::{service, Shutdown};

struct Server {
    port: u16,
}

impl Server {
    #[service]
    async fn run(self: Rc<Self>, shutdown: Shutdown) {
        shutdown.requested().await;
        let _ = self.port;
    }
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(Rc::new(Server { port: 80 }).run())?;
    Ok(())
}
