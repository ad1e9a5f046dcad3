//! The current scope, carried by every task canstop runs (a tokio task-local), so that
//! `canstop::spawn`, `canstop::start` and `canstop::shutdown` know where they are.

use std::future::Future;
use std::sync::Arc;

use crate::error::SpawnError;
use crate::node::Node;

tokio::task_local! {
    static CURRENT: Arc<Node>;
}

/// Runs `future` with `node` as its current scope.
pub(crate) fn scoped<F: Future>(node: Arc<Node>, future: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(node, future)
}

/// Runs `f` (blocking work) with `node` as its current scope.
pub(crate) fn sync_scoped<R>(node: Arc<Node>, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(node, f)
}

/// Calls `f` with the current scope, or fails with [`SpawnError::NoScope`].
pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Node>) -> R) -> Result<R, SpawnError> {
    CURRENT.try_with(f).map_err(|_| SpawnError::NoScope)
}
