//! A method's body, generated in place, with a `return` of the wrong type: one error, at the
//! value returned (the body is typed by the fn's return type before the first `return`).
use std::sync::Arc;

use canstop::{service, session, Shutdown};

struct Api;

impl Api {
    #[session]
    async fn lookup(self: Arc<Self>, x: u32) -> Result<u32, String> {
        if x > 1 {
            return Ok("big");
        }
        Ok(x)
    }

    #[service(restart = "always")]
    async fn run(self: Arc<Self>, shutdown: Shutdown) -> Result<(), String> {
        shutdown.requested().await;
        Ok(5)
    }
}

fn main() {
    let api = Arc::new(Api);
    let _ = api.clone().lookup(1);
    let _ = api.run();
}
