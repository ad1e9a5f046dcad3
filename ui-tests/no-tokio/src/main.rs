//! `#[canstop::main]` in a crate without tokio: runs the dispatcher, then stops.
#![deny(warnings, clippy::all, clippy::pedantic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use canstop_no_tokio::{background, dispatcher, restarted};

#[canstop::main(timeout = "5s", flavor = "current_thread", strategy = "one_for_all")]
async fn main() -> Result<(), canstop::SpawnError> {
    let done = Arc::new(AtomicU64::new(0));
    canstop::start(dispatcher(3, done.clone()))?;
    canstop::start(background())?;
    canstop::start(restarted("r".to_owned()))?;
    canstop::spawn_blocking("check", move || {
        // The sessions the dispatcher spawned have not necessarily run yet; only count.
        let _ = done.load(Ordering::SeqCst);
    })?;
    canstop::shutdown()
}
