//! A `#[session]` body holds its arguments as an `async fn` does: what a pattern does not bind
//! (`_`, `(a, _)`) lives until the body's end, and the temporaries of the body's last
//! expression are dropped before the arguments (a `MutexGuard` of one, in edition 2021).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use canstop::{session, Shutdown};

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Whether the values it did not bind were dropped before its body ran.
#[session]
async fn unbound(_: SetOnDrop, (n, _): (u32, SetOnDrop), dropped: Arc<AtomicBool>) -> bool {
    tokio::task::yield_now().await;
    let _ = n;
    dropped.load(Ordering::SeqCst)
}

/// The same with a `Shutdown` parameter (its body is an inner `async fn`).
#[session]
async fn unbound_with_shutdown(_: SetOnDrop, dropped: Arc<AtomicBool>, _s: Shutdown) -> bool {
    tokio::task::yield_now().await;
    dropped.load(Ordering::SeqCst)
}

#[session]
async fn len_of(items: Arc<Mutex<Vec<u32>>>) -> usize {
    items.lock().unwrap().len()
}

#[canstop::main(timeout = "1s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = || SetOnDrop(dropped.clone());
    let early = canstop::spawn(unbound(guard(), (1, guard()), dropped.clone()))?.await?;
    assert!(!early, "an argument was dropped before the body ran");
    assert!(dropped.load(Ordering::SeqCst));

    let dropped = Arc::new(AtomicBool::new(false));
    let early = canstop::spawn(unbound_with_shutdown(
        SetOnDrop(dropped.clone()),
        dropped.clone(),
    ))?
    .await?;
    assert!(!early, "an argument was dropped before the body ran");

    let items = Arc::new(Mutex::new(vec![1, 2]));
    assert_eq!(canstop::spawn(len_of(items))?.await?, 2);
    Ok(())
}
