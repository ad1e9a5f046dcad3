//! The escape hatch: a deliberately detached task.

use std::future::Future;

use tokio::task::JoinHandle;

use crate::error::SpawnError;

/// Spawns `future` as a plain tokio task that canstop does **not** track: shutdown does not
/// wait for it, it is not in the report, and it runs outside any scope (`canstop::spawn`
/// inside it returns [`SpawnError::NoScope`]).
///
/// This is the visible escape hatch for the rare deliberate detached task (a metrics pusher
/// that may die with the process, say). The macros reject a direct `tokio::spawn` in
/// `main`, `#[service]` and `#[session]` bodies and point here or to [`spawn`](crate::spawn).
///
/// Outside a tokio runtime it returns [`SpawnError::NoRuntime`] instead of panicking.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let handle = canstop::spawn_untracked(async { 40 + 2 }).unwrap();
/// assert_eq!(handle.await.unwrap(), 42);
/// # }
/// ```
pub fn spawn_untracked<F>(future: F) -> Result<JoinHandle<F::Output>, SpawnError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| SpawnError::NoRuntime)?;
    Ok(runtime.spawn(future))
}
