//! Mid-edit: a missing `;` in a restarted method's body (whose `self` the macro renames) gives
//! rustc's one syntax error, and nothing from the macro or from the caller.
use std::sync::Arc;

use canstop::{service, Shutdown};

struct Server {
    port: u16,
}

impl Server {
    #[service(restart = "on-failure")]
    async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let doubled = self.port * 2
        let _ = doubled;
        shutdown.requested().await;
    }
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(Arc::new(Server { port: 1 }).run())?;
    Ok(())
}
