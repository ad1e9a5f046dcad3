//! [`Shutdown`]: what a service or session sees of the stop.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

use crate::lifecycle::trigger::Trigger;
use crate::scope::Scope;
use crate::tree::node::Node;

/// The stop signal of one scope, handed to a service or session body by canstop.
///
/// A service's `Shutdown` fires when that service is told to stop: when the tree shuts down,
/// when its parent stops, or when [`ServiceHandle::stop`](crate::ServiceHandle::stop) is
/// called. A session's `Shutdown` is its scope's (the enclosing service's, or the root's).
///
/// Waiting on [`requested`](Self::requested) costs what waiting on a tokio `Notify` costs
/// (an atomic flag is read first; no lock is shared by the waiters of a scope); a body that
/// never waits on it pays nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use canstop::{Root, Service, Shutdown};
///
/// let report = Root::new()
///     .signals(false)
///     .run(async {
///         canstop::start(Service::new("ticker", |shutdown: Shutdown| async move {
///             assert!(shutdown.deadline().is_none()); // not asked to stop yet
///             shutdown.shutdown_tree(); // stop the whole tree, from anywhere inside it
///             shutdown.requested().await;
///             assert!(shutdown.is_requested());
///             assert!(shutdown.deadline().is_some());
///         }))?;
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .await
///     .unwrap();
/// assert!(report.is_clean());
/// assert!(matches!(report.trigger, canstop::Trigger::Requested { .. }));
/// # }
/// ```
#[derive(Clone)]
pub struct Shutdown {
    /// The scope's node; for the body of a restartable service, its instance's node, whose
    /// scope is the service (`Node::instance_of`).
    node: Arc<Node>,
}

impl Shutdown {
    /// The stop signal of `node` for anything but its own body: sessions, handles. Many may
    /// wait on it, from many threads: the node's latch is spread (see `Latch::spread`).
    pub(crate) fn new(node: Arc<Node>) -> Self {
        node.stopping.spread();
        Self { node }
    }

    /// The stop signal of a service's body (or instance): mostly one waiter, on the latch's
    /// first list, so that a service that starts and stops makes no per-thread lists.
    pub(crate) fn of_body(node: Arc<Node>) -> Self {
        Self { node }
    }

    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Completes once this scope is told to stop (at once if it has been already).
    /// Cancel-safe: use it in `tokio::select!` loops.
    ///
    /// A restartable service body's `Shutdown` also fires when its instance is to be
    /// restarted while the service goes on: its parent's [`Strategy`](crate::Strategy)
    /// restarts it with a sibling that failed, or a child's failure escalated to it. The body
    /// is expected to return as at any stop (within the service's timeout), and a new
    /// instance is started.
    pub fn requested(&self) -> impl Future<Output = ()> + Send + '_ {
        self.node.stopping.wait()
    }

    /// Completes once the tree is draining or this scope is told to stop, whichever comes
    /// first (at once if either has happened). The tree drains from its trigger on: during
    /// the [drain delay](crate::Root::drain_delay) that follows a signal it is not ready and
    /// keeps running, and [`requested`](Self::requested) fires only when the delay ends. An
    /// accept loop uses both: at `draining`, it keeps accepting but serves new connections
    /// without keep-alive (the load balancer is removing this instance); at `requested`, it
    /// stops accepting. Without a delay both fire together. Cancel-safe.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// use std::time::Duration;
    /// use canstop::{Root, Service, Shutdown, Signal};
    ///
    /// let report = Root::new()
    ///     .signals(false)
    ///     .drain_delay(Duration::from_secs(2))
    ///     .run(async {
    ///         canstop::start(Service::new("acceptor", |shutdown: Shutdown| async move {
    ///             shutdown.draining().await; // the signal came
    ///             assert!(!shutdown.is_requested()); // still serving, for the delay
    ///             let started = tokio::time::Instant::now();
    ///             shutdown.requested().await;
    ///             assert_eq!(started.elapsed(), Duration::from_secs(2));
    ///         }))?;
    ///         canstop::deliver_signal(Signal::Terminate)?; // as if SIGTERM came
    ///         Ok::<(), canstop::SpawnError>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(report.drain_delay, Some(Duration::from_secs(2)));
    /// # }
    /// ```
    pub fn draining(&self) -> impl Future<Output = ()> + Send + '_ {
        let node = &self.node;
        async move {
            tokio::select! {
                biased;
                () = node.stopping.wait() => {}
                () = node.tree.draining.wait() => {}
            }
        }
    }

    /// Whether the tree is draining or this scope was told to stop (see
    /// [`draining`](Self::draining)).
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.node.tree.draining.is_set() || self.node.stopping.is_set()
    }

    /// Like [`requested`](Self::requested), but owns what it needs, for `'static` futures.
    pub fn requested_owned(&self) -> impl Future<Output = ()> + Send + 'static {
        let this = self.clone();
        async move { this.requested().await }
    }

    /// Whether this scope has been told to stop (or, for a service body, its instance: see
    /// [`requested`](Self::requested)).
    #[must_use]
    pub fn is_requested(&self) -> bool {
        self.node.stopping.is_set()
    }

    /// The instant by which this scope must have stopped; `None` until it is told to stop.
    /// After it, whatever is still running is aborted.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        if self.is_requested() {
            self.node.deadline()
        } else {
            None
        }
    }

    /// What started the shutdown of the tree, once it has started.
    #[must_use]
    pub fn triggered_by(&self) -> Option<Trigger> {
        self.node.tree.trigger_info()
    }

    /// What started the shutdown of the tree.
    #[deprecated(
        note = "renamed `triggered_by`: it tells what started the shutdown, it starts nothing"
    )]
    #[must_use]
    pub fn trigger(&self) -> Option<Trigger> {
        self.triggered_by()
    }

    /// Starts the shutdown of the whole tree (not only of this scope: that is
    /// [`ServiceHandle::stop`](crate::ServiceHandle::stop)), as
    /// [`canstop::shutdown()`](fn@crate::shutdown) does.
    #[track_caller]
    pub fn shutdown_tree(&self) {
        self.node.tree.trigger(Trigger::requested_here());
    }

    /// Starts the shutdown of the whole tree.
    #[deprecated(note = "renamed `shutdown_tree`: it stops the whole tree, not only this scope")]
    #[track_caller]
    pub fn shutdown(&self) {
        self.shutdown_tree();
    }

    /// Runs `future` until it completes or this scope is told to stop, whichever comes
    /// first: `Some(output)`, or `None` when the stop came first (the future is dropped then).
    /// What tokio-util's `CancellationToken::run_until_cancelled` is to a token.
    ///
    /// # Cancel safety
    ///
    /// As cancel-safe as `future` itself: dropping this drops it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// use canstop::{Root, Service, Shutdown};
    ///
    /// let report = Root::new()
    ///     .signals(false)
    ///     .run(async {
    ///         canstop::start(Service::new("poller", |shutdown: Shutdown| async move {
    ///             shutdown.shutdown_tree();
    ///             let polled = shutdown
    ///                 .run_until_requested(std::future::pending::<u32>())
    ///                 .await;
    ///             assert_eq!(polled, None);
    ///         }))?;
    ///         Ok::<(), canstop::SpawnError>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert!(report.is_clean());
    /// # }
    /// ```
    pub async fn run_until_requested<F: Future>(&self, future: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            () = self.requested() => None,
            output = future => Some(output),
        }
    }

    /// The scope this `Shutdown` belongs to, to spawn sessions or start services on it.
    #[must_use]
    pub fn scope(&self) -> Scope {
        Scope::new(self.node.scope_node())
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("scope", &self.node.describe())
            .field("requested", &self.is_requested())
            .finish()
    }
}
