use std::rc::Rc;

use canstop::{session, Shutdown};

#[session]
async fn with_shutdown(shutdown: Shutdown) {
    let counter = Rc::new(1);
    shutdown.requested().await;
    let _ = counter;
}

#[session]
async fn without_shutdown() {
    let counter = Rc::new(1);
    tokio::task::yield_now().await;
    let _ = counter;
}

fn main() {
    let _ = with_shutdown();
    let _ = without_shutdown();
}
