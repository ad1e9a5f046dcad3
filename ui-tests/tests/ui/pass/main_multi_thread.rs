//! `#[canstop::main]` with every runtime option: the runtime is what was asked for, and the
//! tree's deadline is the compiled `timeout`.

use std::time::Duration;

use canstop::{service, Shutdown};
use tokio::runtime::{Handle, RuntimeFlavor};

#[service]
async fn watcher(shutdown: Shutdown) {
    shutdown.requested().await;
    let deadline = shutdown.deadline().expect("a deadline once the stop is requested");
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    assert!(left <= Duration::from_millis(250), "{left:?}");
}

#[canstop::main(timeout = "250ms", flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let handle = Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(handle.metrics().num_workers(), 2);
    canstop::start(watcher()).unwrap();
    canstop::shutdown().unwrap();
}
