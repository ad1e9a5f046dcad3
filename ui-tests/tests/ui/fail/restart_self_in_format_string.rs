//! A restarted method's `self` is each instance's clone, which the macro binds under another
//! name: a format string that captures `self` is one error, at the string, and the callers get
//! none.
use std::sync::Arc;

use canstop::{service, Shutdown};

#[derive(Debug)]
struct Server {
    port: u16,
}

impl Server {
    #[service(restart = "on-failure")]
    async fn run(self: Arc<Self>, shutdown: Shutdown) {
        println!("{} on {}", self.port, self.port); // fine: arguments are renamed
        println!("serving {self:?}");
        shutdown.requested().await;
    }
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(Arc::new(Server { port: 1 }).run())?;
    Ok(())
}
