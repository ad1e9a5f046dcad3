//! Services: long-lived work that lives as long as its parent, and its supervision.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tracing::Instrument;

use crate::error::SpawnError;
use crate::lifecycle::trigger::Trigger;
use crate::outcome::{catching, BodyResult, Ended};
use crate::report::ServiceOutcome;
use crate::shutdown::Shutdown;
use crate::tree::context;
use crate::tree::node::{Cut, Node};

type BoxedBody = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A service, ready to be started with [`canstop::start`](crate::start) or
/// [`Scope::start`](crate::Scope::start).
///
/// A service lives as long as its parent. It is told to stop through its [`Shutdown`]; if it
/// ends before that, it is news: an error or a panic shuts the whole tree down (it becomes the
/// [`Trigger`]), and an `Ok` is logged and reported as [`ServiceOutcome::EndedEarly`].
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
    body: Box<dyn FnOnce(Shutdown) -> BoxedBody + Send>,
}

impl Service {
    /// A service named `name` running `body`, which gets the service's [`Shutdown`].
    pub fn new<F, Fut>(name: impl Into<Cow<'static, str>>, body: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: BodyResult,
    {
        Self {
            name: name.into(),
            timeout: None,
            cancel_on_stop: false,
            body: Box::new(move |shutdown| {
                let future = body(shutdown);
                Box::pin(async move { future.await.into_result() })
            }),
        }
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
    /// Being dropped at the stop counts as [`ServiceOutcome::Stopped`].
    #[must_use = "the builder returns the configured service: start that one"]
    pub fn cancel_on_stop(mut self) -> Self {
        self.cancel_on_stop = true;
        self
    }

    /// Its name.
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
            .finish_non_exhaustive()
    }
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
    pub fn name(&self) -> &str {
        &self.node.name
    }

    /// Its path from the root (`parent/child`).
    pub fn path(&self) -> &str {
        &self.node.path
    }

    /// Tells this service (and its children and sessions) to stop, with its own deadline. The
    /// rest of the tree keeps running.
    pub fn stop(&self) {
        self.node.request_stop();
    }

    /// Its stop signal, as its body sees it.
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

pub(crate) fn start_on(parent: &Arc<Node>, service: Service) -> Result<ServiceHandle, SpawnError> {
    validate_name(&service.name)?;
    let path = parent.child_path(&service.name);
    let Some((id, node)) = parent
        .children
        .admit(|| parent.child(service.name.to_string(), path, service.timeout))
    else {
        return Err(SpawnError::Closed {
            scope: parent.describe(),
        });
    };
    let span = tracing::info_span!("service", name = %node.path);
    let supervisor = Supervisor {
        node: node.clone(),
        parent: parent.clone(),
        id,
    };
    node.root
        .runtime
        .spawn(supervisor.run(service).instrument(span));
    Ok(ServiceHandle { node })
}

/// Runs one service: its body, then its stop, then its report to the parent.
struct Supervisor {
    node: Arc<Node>,
    parent: Arc<Node>,
    id: usize,
}

/// Keeps the parent's drain waiting until this service has reported, or until its task is
/// dropped (aborted, or its runtime shut down).
impl Drop for Supervisor {
    fn drop(&mut self) {
        self.parent.children.leave();
    }
}

/// How the body part of a service ended.
enum BodyEnd {
    Returned { ended: Ended, early: bool },
    DroppedAtStop,
    Aborted,
}

impl BodyEnd {
    /// The body's `Drop` panicked after it ended this way: it is reported as panicked (a
    /// deadline it passed is still noted by [`Supervisor::judge`]'s caller).
    fn drop_panicked(self, message: String) -> Self {
        let early = matches!(self, Self::Returned { early: true, .. });
        match self {
            // A panic during the poll is the first thing that went wrong: keep it.
            Self::Returned {
                ended: Ended::Panicked(first),
                early,
            } => Self::Returned {
                ended: Ended::Panicked(first),
                early,
            },
            Self::Returned {
                ended: Ended::Failed(error),
                ..
            } => Self::Returned {
                ended: Ended::Panicked(format!(
                    "while being dropped (after returning the error {error:?}): {message}"
                )),
                early,
            },
            _ => Self::Returned {
                ended: Ended::Panicked(format!("while being dropped: {message}")),
                early,
            },
        }
    }
}

impl Supervisor {
    async fn run(self, service: Service) {
        let node = &self.node;
        tracing::debug!(service = %node.path, "service started");
        let end = self.run_body(service).await;
        node.set_outcome(self.judge(end));
        let stop = node.request_stop();
        node.drain().await;
        node.set_stopped(stop.requested_at);
        let report = node.report();
        tracing::debug!(service = %node.path, outcome = %report.outcome, "service stopped");
        self.parent.children.finish(self.id, report);
    }

    /// Builds, polls and drops the body, each step with the service as the current scope and
    /// panics caught: a body that panics while being built, polled or dropped is a panicked
    /// service, never a dead supervisor.
    async fn run_body(&self, service: Service) -> BodyEnd {
        let node = &self.node;
        let mut scope = Some(node.clone());
        let shutdown = Shutdown::new(node.clone());
        let make = service.body;
        let made = {
            let _in = context::enter(&mut scope);
            catching(move || make(shutdown))
        };
        let mut body = match made {
            Ok(body) => body,
            Err(message) => {
                return BodyEnd::Returned {
                    ended: Ended::Panicked(message),
                    early: !node.token.is_cancelled(),
                }
            }
        };
        let end = {
            let mut poll = pin!(std::future::poll_fn(|cx| {
                let _in = context::enter(&mut scope);
                catching(|| body.as_mut().poll(cx))
                    .map_or_else(|panic| Poll::Ready(Err(panic)), |polled| polled.map(Ok))
            }));
            Self::watch(node, service.cancel_on_stop, &mut poll).await
        };
        let dropped = {
            let _in = context::enter(&mut scope);
            catching(move || drop(body))
        };
        match dropped {
            Ok(()) => end,
            Err(message) => {
                if matches!(end, BodyEnd::Aborted) {
                    // Reported as panicked; the deadline that aborted it is noted all the same.
                    node.cut();
                }
                end.drop_panicked(message)
            }
        }
    }

    /// Polls the body until it returns, or until its stop (a body that takes no `Shutdown`)
    /// or its deadline.
    async fn watch<F>(node: &Node, cancel_on_stop: bool, body: &mut Pin<&mut F>) -> BodyEnd
    where
        F: Future<Output = Result<Result<(), String>, String>>,
    {
        tokio::select! {
            biased;
            result = body.as_mut() => {
                return BodyEnd::Returned {
                    ended: Ended::from_result(result),
                    early: !node.token.is_cancelled(),
                };
            }
            () = node.token.cancelled() => {}
        }
        if cancel_on_stop {
            return BodyEnd::DroppedAtStop;
        }
        tokio::select! {
            biased;
            result = body.as_mut() => BodyEnd::Returned { ended: Ended::from_result(result), early: false },
            () = node.until_abort() => BodyEnd::Aborted,
        }
    }

    /// A failure before the service was told to stop is news: it triggers the shutdown.
    fn escalate_if(&self, early: bool, trigger: Trigger) {
        if early {
            self.node.root.trigger(trigger);
        }
    }

    /// Turns the body's end into an outcome; an early error or panic triggers the shutdown.
    fn judge(&self, end: BodyEnd) -> ServiceOutcome {
        let path = &self.node.path;
        match end {
            BodyEnd::Returned {
                ended: Ended::Ok,
                early: true,
            } => {
                tracing::warn!(service = %path, "service ended before it was told to stop");
                ServiceOutcome::EndedEarly
            }
            BodyEnd::Returned {
                ended: Ended::Ok,
                early: false,
            }
            | BodyEnd::DroppedAtStop => ServiceOutcome::Stopped,
            BodyEnd::Returned {
                ended: Ended::Failed(error),
                early,
            } => {
                tracing::error!(service = %path, %error, early, "service failed");
                let trigger = Trigger::ServiceFailed {
                    service: path.clone(),
                    error: error.clone(),
                };
                self.escalate_if(early, trigger);
                ServiceOutcome::Failed { error, early }
            }
            BodyEnd::Returned {
                ended: Ended::Panicked(message),
                early,
            } => {
                tracing::error!(service = %path, %message, early, "service panicked");
                let trigger = Trigger::ServicePanicked {
                    service: path.clone(),
                    message: message.clone(),
                };
                self.escalate_if(early, trigger);
                ServiceOutcome::Panicked { message, early }
            }
            BodyEnd::Aborted => match self.node.cut() {
                Cut::Forced => {
                    tracing::error!(service = %path, "service aborted by a second signal");
                    ServiceOutcome::Forced
                }
                Cut::Deadline => {
                    tracing::error!(service = %path, "service did not stop by its deadline: aborted");
                    ServiceOutcome::Aborted
                }
            },
        }
    }
}
