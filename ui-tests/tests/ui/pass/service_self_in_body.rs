//! `Self` in the body of an associated fn, in statements and in macro arguments, is the
//! `impl`'s; a nested item's `Self` is its own. (This was an error before services could be
//! methods.)

use canstop::{service, Root, Shutdown};

struct Server;

impl Server {
    const NAME: &'static str = "server";

    fn port() -> u16 {
        7000
    }

    #[service]
    async fn serve(shutdown: Shutdown) -> Result<(), String> {
        let port = Self::port();
        assert_eq!(format!("{} on {port}", Self::NAME), "server on 7000");
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

fn main() {
    let report = Root::new()
        .signals(false)
        .block_on(async {
            canstop::start(Server::serve())?;
            canstop::shutdown()
        })
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}
