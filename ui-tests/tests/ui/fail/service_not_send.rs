use std::rc::Rc;

use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) {
    let counter = Rc::new(1);
    shutdown.requested().await;
    let _ = counter;
}

fn main() {
    let _ = worker();
}
