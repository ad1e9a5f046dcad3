//! Services: long-lived work that lives as long as its parent, and its supervision.
//!
//! - this file: [`Service`] (what to run and how it is supervised) and [`ServiceHandle`];
//! - [`supervisor`]: the task that runs one service: its instances, their restarts, its stop
//!   and its report to the parent;
//! - [`policy`]: [`Restart`], [`Strategy`] and the intensity window;
//! - [`backoff`]: the delay before a restart;
//! - [`escalate`]: [`Escalate`], and the inbox where a child's failure reaches a restarting
//!   ancestor;
//! - [`record`]: the restarts and failures the report shows;
//! - [`strategy`]: restart rounds, for parents that restart children together;
//! - [`ready`]: [`Ready`], and a service's readiness.

pub(crate) mod backoff;
pub(crate) mod escalate;
pub(crate) mod policy;
pub(crate) mod ready;
pub(crate) mod record;
pub(crate) mod strategy;
mod supervisor;

pub use escalate::Escalate;
pub use policy::{Restart, Strategy, DEFAULT_MAX_RESTARTS, DEFAULT_WITHIN};
pub use ready::Ready;

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::lifecycle::log;

use crate::error::{ReadyError, SpawnError};
use crate::outcome::{BodyResult, Ended};
use crate::service::backoff::Backoff;
use crate::service::policy::Policy;
use crate::shutdown::Shutdown;
use crate::tree::node::{Node, Supervision};
use crate::tree::order::{self, StopOrder};

type BoxedBody = Pin<Box<dyn Future<Output = Ended> + Send>>;

/// How a service builds its body: once, or once per instance (restartable).
enum Body {
    Once(Option<Box<dyn FnOnce(Shutdown) -> BoxedBody + Send>>),
    Factory(Box<dyn FnMut(Shutdown) -> BoxedBody + Send>),
}

impl Body {
    /// The next instance's body; `None` for a second instance of a `FnOnce` body (refused at
    /// the start: see [`Service::restart`]).
    fn make(&mut self, shutdown: Shutdown) -> Option<BoxedBody> {
        match self {
            Self::Once(once) => once.take().map(|make| make(shutdown)),
            Self::Factory(factory) => Some(factory(shutdown)),
        }
    }
}

fn boxed<Fut>(future: Fut) -> BoxedBody
where
    Fut: Future + Send + 'static,
    Fut::Output: BodyResult,
{
    Box::pin(async move { Ended::of(&future.await) })
}

/// A service, ready to be started with [`canstop::start`](crate::start) or
/// [`Scope::start`](crate::Scope::start).
///
/// A service lives as long as its parent. It is told to stop through its [`Shutdown`]; if it
/// ends before that, it is news, handled by its [restart policy](Self::restart): by default
/// (`Never`) an error or a panic escalates (to the nearest ancestor that restarts, else it
/// shuts the whole tree down as the [`Trigger`](crate::Trigger)), and an `Ok` is logged and
/// reported as [`ServiceOutcome::EndedEarly`](crate::ServiceOutcome::EndedEarly).
/// A service has stopped only when its body has returned, its sessions have drained and its
/// child services have stopped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use canstop::{Root, Service, ServiceOutcome, Shutdown, Trigger};
///
/// let report = Root::new()
///     .signals(false)
///     .run(async {
///         canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
///             shutdown.requested().await;
///         }))?;
///         canstop::start(Service::new("broken", |_| async {
///             Err::<(), _>("disk full")
///         }))?;
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .await
///     .unwrap();
/// assert_eq!(report.service("idle").unwrap().outcome, ServiceOutcome::Stopped);
/// assert_eq!(
///     report.trigger,
///     Trigger::ServiceFailed { service: "broken".into(), error: "disk full".into() }
/// );
/// assert_eq!(report.exit_code(), 1);
/// # }
/// ```
#[must_use = "a service does nothing until it is started with `canstop::start(service)`"]
pub struct Service {
    name: Cow<'static, str>,
    timeout: Option<Duration>,
    cancel_on_stop: bool,
    policy: Policy,
    strategy: Strategy,
    stop_order: StopOrder,
    needs: Vec<String>,
    signals_ready: bool,
    ready_timeout: Option<Duration>,
    body: Body,
}

impl Service {
    /// A service named `name` running `body`, which gets the service's [`Shutdown`]. It runs
    /// once: to restart it, build it with [`restartable`](Self::restartable).
    pub fn new<F, Fut>(name: impl Into<Cow<'static, str>>, body: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: BodyResult,
    {
        Self::with_body(
            name,
            Body::Once(Some(Box::new(move |shutdown| boxed(body(shutdown))))),
        )
    }

    /// A service named `name` whose every instance is built by `factory`: one that can be
    /// restarted. Set its policy with [`restart`](Self::restart) (without one it runs once,
    /// as [`new`](Self::new)'s).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use canstop::{Restart, Root, Service, Shutdown};
    ///
    /// let attempts = Arc::new(AtomicU32::new(0));
    /// let counted = attempts.clone();
    /// let report = Root::new()
    ///     .signals(false)
    ///     .run(async move {
    ///         let worker = Service::restartable("worker", move |shutdown: Shutdown| {
    ///             let attempt = counted.fetch_add(1, Ordering::SeqCst);
    ///             async move {
    ///                 if attempt < 2 {
    ///                     return Err("upstream refused");
    ///                 }
    ///                 shutdown.shutdown_tree(); // the third instance is healthy: stop
    ///                 shutdown.requested().await;
    ///                 Ok(())
    ///             }
    ///         })
    ///         .restart(Restart::OnFailure)
    ///         .backoff(Duration::from_millis(100), Duration::from_secs(5));
    ///         canstop::start(worker)?;
    ///         Ok::<(), canstop::SpawnError>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// let worker = report.service("worker").unwrap();
    /// assert_eq!(worker.restarts, 2);
    /// assert_eq!(worker.failures[0].message, "upstream refused");
    /// assert!(report.is_clean()); // the failures were handled
    /// # }
    /// ```
    pub fn restartable<F, Fut>(name: impl Into<Cow<'static, str>>, mut factory: F) -> Self
    where
        F: FnMut(Shutdown) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: BodyResult,
    {
        Self::with_body(
            name,
            Body::Factory(Box::new(move |shutdown| boxed(factory(shutdown)))),
        )
    }

    fn with_body(name: impl Into<Cow<'static, str>>, body: Body) -> Self {
        Self {
            name: name.into(),
            timeout: None,
            cancel_on_stop: false,
            policy: Policy::default(),
            strategy: Strategy::OneForOne,
            stop_order: StopOrder::ByDependency,
            needs: Vec::new(),
            signals_ready: false,
            ready_timeout: None,
            body,
        }
    }

    /// Its restart policy (default [`Restart::Never`]): whether an instance that ended
    /// before the service was told to stop is replaced by a new one, built by the factory
    /// given to [`restartable`](Self::restartable).
    ///
    /// A restart builds a new body; the failed instance's sessions keep running, tracked and
    /// counted in the same scope, and its child services are stopped (each within its own
    /// timeout) before the new instance starts. An end after the stop request is never
    /// restarted, and a stop request during the backoff cancels the pending restart at once
    /// ([`ServiceOutcome::RestartCancelled`](crate::ServiceOutcome::RestartCancelled)).
    ///
    /// # Errors
    ///
    /// A policy other than `Never` on a service built with [`new`](Self::new) (a `FnOnce`
    /// body, which cannot be built twice) makes [`canstop::start`](crate::start) return
    /// [`SpawnError::NotRestartable`].
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.policy.restart = restart;
        self
    }

    /// Its intensity limit (default [`DEFAULT_MAX_RESTARTS`] = 3): beyond `max_restarts`
    /// restarts within [`within`](Self::within), the service fails for good and its failure
    /// escalates (to the nearest ancestor that restarts, else as the shutdown's trigger,
    /// [`Trigger::ServiceGaveUp`](crate::Trigger::ServiceGaveUp)). Zero escalates at the first
    /// failure.
    ///
    /// Without a [`restart`](Self::restart) policy other than `Never` it has no effect (as
    /// [`within`](Self::within) and [`backoff`](Self::backoff)): a policy read from
    /// configuration may be `Never` with its limits set. (`#[service]`, whose values are
    /// literals, refuses the limits without a policy at compile time.)
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn max_restarts(mut self, max_restarts: u32) -> Self {
        self.policy.max_restarts = max_restarts;
        self
    }

    /// The window of the intensity limit (default [`DEFAULT_WITHIN`] = 10 s); an instance
    /// that stayed up this long also resets the backoff to its first delay.
    ///
    /// # Errors
    ///
    /// Zero makes [`canstop::start`](crate::start) return [`SpawnError::InvalidPolicy`].
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn within(mut self, within: Duration) -> Self {
        self.policy.within = within;
        self
    }

    /// The delay before a restart (default 100 ms up to 30 s): before the `n`-th restart in
    /// a row (from 0), `min(cap, first × 2ⁿ)`, less a random jitter of up to 20 % (so never
    /// above the curve, and services that failed together do not restart in lockstep). It
    /// goes back to `first` once an instance has stayed up for [`within`](Self::within).
    ///
    /// # Errors
    ///
    /// `first` above `cap` makes [`canstop::start`](crate::start) return
    /// [`SpawnError::InvalidPolicy`].
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn backoff(mut self, first: Duration, cap: Duration) -> Self {
        self.policy.backoff = Backoff { first, cap };
        self
    }

    /// How this service's own children restart together (default
    /// [`Strategy::OneForOne`]); see [`Strategy`].
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The siblings (services of the same parent, by name) this service needs: each of its
    /// instances is built only once they are all ready, and at the stop it is told to stop
    /// before them, which are told only once it has stopped (see
    /// [`StopOrder::ByDependency`]). A name matches every running sibling of that name.
    ///
    /// # Errors
    ///
    /// [`canstop::start`](crate::start) returns [`SpawnError::UnknownDependency`] when no
    /// running sibling has a name needed: start what it needs first, or start them together
    /// with [`canstop::start_all`](crate::start_all), which orders them (and returns
    /// [`SpawnError::DependencyCycle`] for services that need each other in a circle).
    ///
    /// While it waits for what it needs, a service is not ready. If a service it needs will
    /// never be ready again (it stopped, or failed beyond its own policy), this service fails
    /// with that reason, and the failure escalates at once (its own restart policy could not
    /// help). Only the building of an instance waits: a running instance is not stopped when
    /// what it needs restarts or stops.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// use canstop::{Root, Service, Shutdown};
    ///
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let service = |name: &'static str, log: &Arc<Mutex<Vec<String>>>| {
    ///     let log = log.clone();
    ///     Service::new(name, move |shutdown: Shutdown| async move {
    ///         log.lock().unwrap().push(format!("{name} started"));
    ///         shutdown.requested().await;
    ///         log.lock().unwrap().push(format!("{name} stopped"));
    ///     })
    /// };
    /// let services = [
    ///     service("api", &log).needs(["cache"]),
    ///     service("cache", &log).needs(["db"]),
    ///     service("db", &log),
    /// ];
    /// let report = Root::new()
    ///     .signals(false)
    ///     .run(async move {
    ///         let handles = canstop::start_all(services)?;
    ///         for handle in &handles {
    ///             handle.ready().await?;
    ///         }
    ///         canstop::shutdown()?;
    ///         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert!(report.is_clean());
    /// assert_eq!(
    ///     *log.lock().unwrap(),
    ///     ["db started", "cache started", "api started", "api stopped", "cache stopped", "db stopped"]
    /// );
    /// # }
    /// ```
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn needs<N: Into<Cow<'static, str>>>(mut self, names: impl IntoIterator<Item = N>) -> Self {
        self.needs
            .extend(names.into_iter().map(|name| name.into().into_owned()));
        self
    }

    /// Its body says when it is ready, by calling [`Ready::set`] on the [`Ready`] it takes
    /// with [`Ready::of`] from its `Shutdown` (what `#[service]` generates for an fn that
    /// takes a `Ready` parameter). Without this, a service is ready once its body has run to its
    /// first `.await` (its first poll returned `Pending`), so that the services it starts
    /// before then are counted first.
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn signals_ready(mut self) -> Self {
        self.signals_ready = true;
        self
    }

    /// How long each instance may take to be ready (from when its body is built, after what
    /// it [needs](Self::needs) is ready): past it, the instance fails with
    /// [`ReadyError::TimedOut`]'s message (it is told to stop, within its timeout) and its
    /// restart policy applies once it has stopped; a service that does not restart fails for
    /// good at the timeout, and its failure escalates then (the shutdown's trigger, or a
    /// restarting ancestor's), not once its instance has stopped. Its `Ready::set` no longer
    /// counts. Waiters on [`ServiceHandle::ready`] get that error at the timeout when the
    /// service does not restart, else when it gives up (a restarted instance that is ready in
    /// time answers them `Ok`); services that [need](Self::needs) it learn once it has
    /// stopped, so that the failure handled first is its own. No limit by default.
    ///
    /// # Errors
    ///
    /// Without [`signals_ready`](Self::signals_ready), [`canstop::start`](crate::start)
    /// returns [`SpawnError::InvalidPolicy`]: such a service is ready at its body's first
    /// `.await`.
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }

    /// The order its own children stop in (default [`StopOrder::ByDependency`]).
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn stop_order(mut self, order: StopOrder) -> Self {
        self.stop_order = order;
        self
    }

    /// Refuses a policy that cannot apply.
    fn check_policy(&self) -> Result<(), SpawnError> {
        let invalid = |reason: &'static str| {
            Err(SpawnError::InvalidPolicy {
                service: self.name.to_string(),
                reason,
            })
        };
        let policy = &self.policy;
        if policy.restart != Restart::Never && matches!(self.body, Body::Once(_)) {
            return Err(SpawnError::NotRestartable {
                service: self.name.to_string(),
                restart: policy.restart,
            });
        }
        if self.ready_timeout.is_some() && !self.signals_ready {
            return invalid(
                "`ready_timeout` without `signals_ready()`: a service that does not say when it is ready is ready at its body's first `.await`, and never times out",
            );
        }
        if policy.within.is_zero() {
            return invalid("`within` is zero: no window to count restarts in");
        }
        if policy.backoff.first > policy.backoff.cap {
            return invalid("the backoff's first delay is above its cap");
        }
        Ok(())
    }

    /// Its own stop deadline: from its stop request, its body, sessions and children get this
    /// long (never longer than the tree's deadline) before what is left is aborted.
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the body as soon as the stop is requested, for a body that does not watch its
    /// [`Shutdown`] (what `#[service]` generates for an fn without a `Shutdown` parameter).
    /// Being dropped at the stop counts as
    /// [`ServiceOutcome::Stopped`](crate::ServiceOutcome::Stopped).
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn cancel_on_stop(mut self) -> Self {
        self.cancel_on_stop = true;
        self
    }

    /// Its name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("cancel_on_stop", &self.cancel_on_stop)
            .field("restart", &self.policy.restart)
            .field("strategy", &self.strategy)
            .field("needs", &self.needs)
            .field("signals_ready", &self.signals_ready)
            .field("ready_timeout", &self.ready_timeout)
            .field("stop_order", &self.stop_order)
            .finish_non_exhaustive()
    }
}

/// What [`canstop::start`](crate::start) and [`Scope::start`](crate::Scope::start) take: a
/// [`Service`]. Implemented for `Service` only; it exists so that passing something else (a
/// `#[session]` fn's `Session`, a future) fails with a message that names the fix.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a canstop service",
    label = "`canstop::start` starts a `Service`",
    note = "a `#[service]` fn returns one, as does `canstop::Service::new(name, body)`; a `#[session]` fn's `Session` is run with `canstop::spawn(session)?` instead"
)]
pub trait IntoService: sealed::Sealed {
    /// The service.
    fn into_service(self) -> Service;
}

impl IntoService for Service {
    #[inline]
    fn into_service(self) -> Service {
        self
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Service {}
}

/// Never implemented: it only exists so that using a `Service` as a future fails to compile
/// with a message that names the fix.
#[diagnostic::on_unimplemented(
    message = "a canstop `Service` is not a future",
    label = "a service cannot be awaited or given to `tokio::spawn`",
    note = "start it with `canstop::start(service)?` (or `scope.start(service)?`): it then runs until its parent stops"
)]
pub trait StartWithCanstop<'a> {
    /// Never called: `Service` does not implement this trait.
    fn unreachable(&self) -> Poll<Infallible>;
}

/// Lets `service.await` and `tokio::spawn(service)` reach the unsatisfiable
/// [`StartWithCanstop`] bound, whose message names `canstop::start`. (The bound has a
/// lifetime so that it is not a trivially false one, which rustc rejects.)
impl<'a> Future for Service
where
    Service: StartWithCanstop<'a>,
{
    type Output = Infallible;

    fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<Infallible> {
        self.unreachable()
    }
}

/// A started service.
#[derive(Clone)]
pub struct ServiceHandle {
    node: Arc<Node>,
}

impl ServiceHandle {
    /// Its name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.node.name()
    }

    /// Its path from the root (`parent/child`).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.node.path
    }

    /// Tells this service (and its children and sessions) to stop, with its own deadline. The
    /// rest of the tree keeps running.
    pub fn stop(&self) {
        self.node.request_stop();
    }

    /// Completes once the service has fully stopped: its body ended for good, its sessions
    /// and children drained, and its report filed with its parent (or its task dropped with
    /// its runtime). Cancel-safe.
    pub async fn stopped(&self) {
        self.node.stopped.wait().await;
    }

    /// Whether it has fully stopped (see [`stopped`](Self::stopped)).
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.node.stopped.initialized()
    }

    /// Completes when the service is ready (`Ok`), or when it will not be (`Err`): it failed
    /// before it was ready and its policy does not restart it ([`ReadyError::Failed`]), did
    /// not become ready within its [`ready_timeout`](Service::ready_timeout)
    /// ([`ReadyError::TimedOut`]), or ended or was told to stop first
    /// ([`ReadyError::Stopped`]). While it restarts, this waits for the next instance to be
    /// ready. Cancel-safe.
    ///
    /// # Errors
    ///
    /// As above: why the service will not be ready.
    pub async fn ready(&self) -> Result<(), ReadyError> {
        self.node.readiness.wait().await
    }

    /// Whether its current instance is ready.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.node.readiness.is_ready()
    }

    /// How many times its restart policy has started it again so far.
    #[must_use]
    pub fn restarts(&self) -> u64 {
        self.node.record.restarts()
    }

    /// The service's stop signal: what its sessions see, firing when the service is told to
    /// stop. (A restartable body's own `Shutdown` also fires when its instance is stopped
    /// for a restart; see [`Shutdown::requested`].)
    #[must_use]
    pub fn shutdown_signal(&self) -> Shutdown {
        Shutdown::new(self.node.clone())
    }
}

impl fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceHandle")
            .field("path", &self.node.path)
            .finish()
    }
}

/// Checks that a service name gives an unambiguous path and report line.
fn validate_name(name: &str) -> Result<(), SpawnError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains('/') {
        "it contains '/', which separates the names of a path"
    } else if name.contains(crate::report::is_forging) {
        "it contains a control character, a line separator or a bidirectional override"
    } else {
        return Ok(());
    };
    Err(SpawnError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// Starts `services` under `parent`, each after the ones of the batch it needs; checks them
/// all before starting any.
pub(crate) fn start_all_on(
    parent: &Arc<Node>,
    services: impl IntoIterator<Item = Service>,
) -> Result<Vec<ServiceHandle>, SpawnError> {
    let mut services: Vec<Option<Service>> = services.into_iter().map(Some).collect();
    let order = {
        let batch: Vec<(&str, &[String])> = services
            .iter()
            .flatten()
            .map(|service| (service.name(), service.needs.as_slice()))
            .collect();
        for service in services.iter().flatten() {
            validate_name(&service.name)?;
            service.check_policy()?;
            // What it needs outside the batch must be running already.
            let outside: Vec<String> = service
                .needs
                .iter()
                .filter(|need| !batch.iter().any(|(name, _)| name == need))
                .cloned()
                .collect();
            order::resolve_needs(parent, &service.name, &outside, &[])?;
        }
        order::start_order(&batch)?
    };
    let mut handles: Vec<Option<ServiceHandle>> = vec![None; services.len()];
    let mut started: Vec<Arc<Node>> = Vec::with_capacity(services.len());
    for at in order {
        if let Some(service) = services[at].take() {
            let handle = start_in(parent, service, &started)?;
            started.push(handle.node.clone());
            handles[at] = Some(handle);
        }
    }
    Ok(handles.into_iter().flatten().collect())
}

pub(crate) fn start_on(parent: &Arc<Node>, service: Service) -> Result<ServiceHandle, SpawnError> {
    start_in(parent, service, &[])
}

/// Starts `service` under `parent`; what it needs may be among `batch`, the services of its
/// `start_all` started before it.
fn start_in(
    parent: &Arc<Node>,
    service: Service,
    batch: &[Arc<Node>],
) -> Result<ServiceHandle, SpawnError> {
    validate_name(&service.name)?;
    service.check_policy()?;
    let needs = order::resolve_needs(parent, &service.name, &service.needs, batch)?;
    let path = parent.child_path(&service.name);
    let supervision = Supervision {
        timeout: service.timeout,
        restart: service.policy.restart,
        strategy: service.strategy,
        stop_order: service.stop_order,
        needs,
        signals_ready: service.signals_ready,
        ready_timeout: service.ready_timeout,
    };
    let Some((id, node)) = parent.children.admit(|| parent.child(path, supervision)) else {
        return Err(SpawnError::Closed {
            scope: parent.describe(),
        });
    };
    // Made, entered and left so that a subscriber's panic there is not canstop's (see
    // `lifecycle::log`).
    let span = log::span(|| tracing::info_span!("service", name = %node.path));
    let supervisor = supervisor::Supervisor::new(node.clone(), parent.clone(), id);
    // Boxed: the supervisor's future is over a kilobyte (the body's poll, the stop, the drain
    // with its deadlines), which tokio would otherwise copy into the task and again at each
    // change of the task's stage; a box costs less than those copies (service churn: see
    // benches/README.md).
    node.tree
        .runtime
        .spawn(log::Spanned::new(span, Box::pin(supervisor.run(service))));
    Ok(ServiceHandle { node })
}
