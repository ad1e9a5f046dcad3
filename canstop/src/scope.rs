//! [`Scope`], and the free functions that act on the current scope.

use std::fmt;
use std::sync::Arc;

use crate::error::{ReadyError, SpawnError};
use crate::lifecycle::trigger::Trigger;
use crate::outcome::BodyResult;
use crate::report::state::State;
use crate::service::{IntoService, Service, ServiceHandle};
use crate::session::kind::SessionKind;
use crate::session::{IntoSession, SessionBody, SessionHandle};
use crate::shutdown::Shutdown;
use crate::tree::context;
use crate::tree::node::Node;

/// A handle to a scope of the tree (the root's, or a service's), to spawn sessions and start
/// services on it from code that does not run inside it: a plain thread, a callback, a task
/// spawned through the escape hatch.
///
/// Inside canstop-run code, the free functions [`spawn`], [`start`], [`spawn_blocking`] and
/// [`shutdown`] act on the current scope and are shorter.
#[derive(Clone)]
pub struct Scope {
    node: Arc<Node>,
}

impl Scope {
    pub(crate) fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    #[cfg_attr(not(feature = "health"), allow(dead_code))]
    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The current scope: `Err(SpawnError::NoScope)` outside canstop-run code.
    pub fn current() -> Result<Self, SpawnError> {
        context::current().map(Self::new)
    }

    /// The scope's service path (`parent/child`); empty for the root.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.node.path
    }

    /// Spawns a session on this scope. See [`spawn`].
    pub fn spawn<S: IntoSession>(
        &self,
        session: S,
    ) -> Result<SessionHandle<<S::Body as SessionBody>::Output>, SpawnError> {
        crate::session::spawn_on(&self.node, session.into_session())
    }

    /// Runs blocking work as a tracked session of this scope. See [`spawn_blocking`].
    #[track_caller]
    pub fn spawn_blocking<F, R>(
        &self,
        name: &'static str,
        work: F,
    ) -> Result<SessionHandle<R>, SpawnError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: BodyResult,
    {
        crate::session::spawn_blocking_on(&self.node, SessionKind::here(name), work)
    }

    /// Starts a service as a child of this scope. See [`start`].
    pub fn start(&self, service: impl IntoService) -> Result<ServiceHandle, SpawnError> {
        crate::service::start_on(&self.node, service.into_service())
    }

    /// Starts `services` as children of this scope, each after those of them it
    /// [needs](Service::needs) (see [`start_all`]).
    ///
    /// # Errors
    ///
    /// As [`start_all`].
    pub fn start_all(
        &self,
        services: impl IntoIterator<Item = Service>,
    ) -> Result<Vec<ServiceHandle>, SpawnError> {
        crate::service::start_all_on(&self.node, services)
    }

    /// A snapshot of this scope's subtree: this scope (as [`State::root`]) and every service
    /// under it, with their phases, restarts, uptimes and sessions per kind. From any thread,
    /// also once the tree has stopped (it then shows how things ended).
    ///
    /// # Guarantees
    ///
    /// As [`State`]'s: it never blocks a session's spawn or end, and its counts are never
    /// torn (`started >= finished + failed + panicked + aborted` for every kind).
    #[must_use]
    pub fn state(&self) -> State {
        crate::report::state::snapshot(&self.node)
    }

    /// This scope's stop signal.
    #[must_use]
    pub fn shutdown_signal(&self) -> Shutdown {
        Shutdown::new(self.node.clone())
    }

    /// Delivers a signal to this scope's tree (see [`deliver_signal`]).
    pub fn deliver_signal(&self, signal: crate::Signal) {
        self.node.tree.deliver_signal(signal);
    }

    /// Starts the shutdown of the whole tree (not only of this scope).
    #[track_caller]
    pub fn shutdown_tree(&self) {
        self.shutdown_signal().shutdown_tree();
    }

    /// Starts the shutdown of the whole tree.
    #[deprecated(note = "renamed `shutdown_tree`: it stops the whole tree, not only this scope")]
    #[track_caller]
    pub fn shutdown(&self) {
        self.shutdown_tree();
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scope").field(&self.node.describe()).finish()
    }
}

/// The current scope, to hand to code that runs outside it.
pub fn scope() -> Result<Scope, SpawnError> {
    Scope::current()
}

/// Spawns a session on the current scope: it is tracked, and the scope's shutdown waits for
/// it (up to the deadline) instead of cutting it off.
///
/// # Guarantee
///
/// The session is either tracked from before its task exists, or refused with an error; it
/// is never run untracked. It is refused once its scope has finished draining or passed its
/// deadline ([`SpawnError::Closed`]), and outside any scope ([`SpawnError::NoScope`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use canstop::{Root, Session};
///
/// let report = Root::new()
///     .signals(false)
///     .run(async {
///         for job in 0..3 {
///             canstop::spawn(Session::new("job", move |_| async move {
///                 tokio::task::yield_now().await;
///                 assert!(job < 3);
///             }))?;
///         }
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .await
///     .unwrap();
/// let jobs = report.sessions_named("job").unwrap();
/// assert_eq!((jobs.started, jobs.finished), (3, 3));
///
/// // Outside a scope: an error, not a panic.
/// let outside = canstop::spawn(Session::new("job", |_| async {}));
/// assert_eq!(outside, Err(canstop::SpawnError::NoScope));
/// # }
/// ```
pub fn spawn<S: IntoSession>(
    session: S,
) -> Result<SessionHandle<<S::Body as SessionBody>::Output>, SpawnError> {
    let session = session.into_session();
    context::with_current(|node| crate::session::spawn_on(node, session))?
}

/// Runs blocking work (`tokio::task::spawn_blocking`) as a tracked session of the current
/// scope, named `name` and located at the caller.
///
/// Blocking work cannot be aborted: if it is still running at the deadline, it is counted as
/// aborted and *abandoned* in the report. A process-owning root (`#[canstop::main]`,
/// [`Root::block_on`](crate::Root::block_on), [`Root::main`](crate::Root::main)) then exits
/// without waiting for it; under [`Root::run`](crate::Root::run) on a runtime of your own,
/// dropping that runtime waits for it (tokio's rule: use `Runtime::shutdown_background` or
/// `shutdown_timeout` to leave it behind).
///
/// With tokio's paused clock (`#[canstop::test(start_paused = true)]`), tokio does not
/// advance time while blocking work runs, so a deadline cannot pass while such work blocks:
/// test blocking work that may never return on real time.
#[track_caller]
pub fn spawn_blocking<F, R>(name: &'static str, work: F) -> Result<SessionHandle<R>, SpawnError>
where
    F: FnOnce() -> R + Send + 'static,
    R: BodyResult,
{
    let kind = SessionKind::here(name);
    context::with_current(|node| crate::session::spawn_blocking_on(node, kind, work))?
}

/// Starts a service under the current scope: a child of the service this is called from, or
/// a top-level service when called from `main`'s body.
pub fn start(service: impl IntoService) -> Result<ServiceHandle, SpawnError> {
    let service = service.into_service();
    context::with_current(|node| crate::service::start_on(node, service))?
}

/// Starts `services` in the current scope, in an order where each starts after those of them
/// it [needs](Service::needs) (and otherwise in the order given); returns their handles in
/// the order given.
///
/// # Errors
///
/// Nothing is started when a name is invalid, a policy cannot apply, a service needs a name
/// that is neither in `services` nor running in the scope
/// ([`SpawnError::UnknownDependency`]), or services need each other in a circle
/// ([`SpawnError::DependencyCycle`]). [`SpawnError::NoScope`] outside a scope;
/// [`SpawnError::Closed`] once the scope has drained (the services before it in the start
/// order are started then: the scope stops them).
pub fn start_all(
    services: impl IntoIterator<Item = Service>,
) -> Result<Vec<ServiceHandle>, SpawnError> {
    context::with_current(|node| crate::service::start_all_on(node, services))?
}

/// Delivers a signal the program received itself (with [`Root::signals(false)`], say, or from
/// a service manager's control channel) as canstop's own listener would: the first signal
/// triggers the shutdown ([`Trigger::Signal`], with the
/// [drain delay](crate::Root::drain_delay)), a later one forces the exit.
///
/// # Errors
///
/// [`SpawnError::NoScope`] outside a canstop scope.
///
/// [`Root::signals(false)`]: crate::Root::signals
pub fn deliver_signal(signal: crate::Signal) -> Result<(), SpawnError> {
    context::with_current(|node| node.tree.deliver_signal(signal))
}

/// Completes once the tree is ready: `main`'s body has returned `Ok` and every live service is
/// ready ([`ServiceHandle::ready`]). It stays ready until a service restarts or the shutdown
/// starts; this completes at the first moment it is.
///
/// # Errors
///
/// [`ReadyError::TreeStopping`] when the shutdown starts first; [`ReadyError::InMainBody`]
/// when called from `main`'s body (the tree waits for it to return: it would wait for
/// itself); [`ReadyError::NoScope`] outside a canstop scope.
pub async fn ready() -> Result<(), ReadyError> {
    let tree = match context::with_current(|node| {
        (node.tree.clone(), context::in_main_body_of(&node.tree))
    }) {
        Ok((_, true)) => return Err(ReadyError::InMainBody),
        Ok((tree, false)) => tree,
        Err(_) => return Err(ReadyError::NoScope),
    };
    tree.readiness.wait().await
}

/// A snapshot of the whole tree, from anywhere inside it: the root scope and every service,
/// with their phases, restarts, uptimes and sessions per kind (see [`State`]).
/// [`Scope::state`] gives one scope's subtree, from any thread.
///
/// # Guarantees
///
/// As [`State`]'s: it never blocks a session's spawn or end, and its counts are never torn
/// (`started >= finished + failed + panicked + aborted` for every kind).
///
/// # Errors
///
/// [`SpawnError::NoScope`] outside canstop-run code (no current scope).
pub fn state() -> Result<State, SpawnError> {
    context::with_current(|node| {
        let root = node.tree.root_node();
        crate::report::state::snapshot(root.as_deref().unwrap_or(node))
    })
}

/// Starts the shutdown of the whole tree from anywhere inside it; the trigger records the
/// caller's location. `Err(SpawnError::NoScope)` outside the tree.
#[track_caller]
pub fn shutdown() -> Result<(), SpawnError> {
    let trigger = Trigger::requested_here();
    context::with_current(|node| {
        node.tree.trigger(trigger);
    })
}
