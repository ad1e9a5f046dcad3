//! The other untracked spawns: `tokio::task::spawn_local`, `Handle::spawn`,
//! `Handle::current().spawn(..)`, `Handle::current().spawn_blocking(..)`; one error each. Not
//! in `stringify!`, and not in a nested fn, inside a macro's arguments or not: it is its own fn.

use canstop::{service, Shutdown};
use tokio::runtime::Handle;

#[service]
async fn worker(shutdown: Shutdown) {
    let _local = || tokio::task::spawn_local(async {});
    let _ = Handle::current().spawn(async {});
    let _ = tokio::runtime::Handle::current().spawn_blocking(|| ());
    let handle = Handle::current();
    let _ = Handle::spawn(&handle, async {});
    assert_eq!(stringify!(tokio::spawn(x)), "tokio::spawn(x)");
    fn helper() {
        let _ = tokio::spawn(async {});
    }
    assert!(matches!((), () if {
        fn nested() { let _ = std::thread::spawn(|| ()); }
        true
    }));
    let _ = helper;
    shutdown.requested().await;
}

fn main() {}
