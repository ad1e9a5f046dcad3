//! A borrowed `self`: one error, which names the fix; the caller (which calls it on a
//! reference) gets none.
use canstop::{service, session, Shutdown};

struct Server;

impl Server {
    #[service]
    async fn run(&self, shutdown: Shutdown) {
        shutdown.requested().await;
    }

    #[session]
    async fn handle(&mut self, id: u32) {
        let _ = (self, id);
    }
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    let mut server = Server;
    canstop::start(server.run())?;
    canstop::spawn(server.handle(1))?;
    Ok(())
}
