//! `ready_timeout` bounds a readiness the body says: without a `Ready` parameter, the
//! service is ready once its body is built, and the option is one error.

use canstop::{service, Shutdown};

#[service(ready_timeout = "5s")]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
