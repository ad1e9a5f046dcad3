//! What the body check allows: the tracked spawns, the escape hatch, a detached thread built
//! explicitly, and fns declared inside the body (they are not the body).

use canstop::{service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown) -> Result<(), canstop::SpawnError> {
    let detached = canstop::spawn_untracked(async { 40 + 2 })?;
    assert_eq!(detached.await.unwrap(), 42);
    canstop::spawn_blocking("checksum", || assert_eq!(1 + 1, 2))?;
    let thread = std::thread::Builder::new().spawn(|| 7).unwrap();
    assert_eq!(thread.join().unwrap(), 7);
    let text = "tokio::spawn is only named in this string";
    assert!(!text.is_empty());
    shutdown.requested().await;
    Ok(())
}

#[canstop::main(flavor = "current_thread")]
async fn main() -> Result<(), canstop::SpawnError> {
    fn helper() -> tokio::task::JoinHandle<u8> {
        tokio::spawn(async { 1 })
    }
    assert_eq!(helper().await.unwrap(), 1);
    canstop::start(worker())?;
    canstop::shutdown()
}
