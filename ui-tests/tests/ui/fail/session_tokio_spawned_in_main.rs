//! In `main` and in a session too: one error each.
use canstop::session;

#[session]
async fn job(n: u32) -> u32 {
    n
}

#[session]
async fn parent() {
    tokio::spawn(job(1));
}

#[canstop::main]
async fn main() {
    let handle = tokio::spawn(job(2));
    let _ = handle.await;
    let _ = parent;
}
