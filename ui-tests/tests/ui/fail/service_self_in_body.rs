//! `Self` in the body of an associated fn: one error at each use, in statements and in macro
//! arguments, but not in a nested item; and none that follows from them (the caller still
//! gets a `Service`, and `port` and `NAME` are still used).

use canstop::{service, Shutdown};

struct Server;

impl Server {
    const NAME: &'static str = "server";

    fn port() -> u16 {
        7000
    }

    #[service]
    async fn serve(shutdown: Shutdown) -> Result<(), String> {
        let port = Self::port();
        println!("{} on {port}", Self::NAME);
        struct Local;
        impl Local {
            fn new() -> Self {
                Self
            }
        }
        let _ = Local::new();
        shutdown.requested().await;
        Ok(())
    }
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::start(Server::serve())?;
    Ok(())
}
