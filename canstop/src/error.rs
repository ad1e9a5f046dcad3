//! Errors for runtime misuse: returned, never panicked.

use std::fmt;
use std::io;

use crate::root::duration::DurationError;

/// Why a session or service was not started. The work was not run, and nothing was leaked:
/// a refused session is never counted as started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// Called outside any canstop scope: not inside `main`'s body, a service or a session
    /// (for example from a plain `tokio::spawn`ed task). Pass a [`Scope`](crate::Scope) to
    /// such code instead.
    NoScope,
    /// The scope has finished draining (or passed its deadline) and takes no more work.
    Closed {
        /// The scope: `"the root scope"` or `service "path"`.
        scope: String,
    },
    /// Called outside a tokio runtime (only [`spawn_untracked`](crate::spawn_untracked) needs
    /// one: tracked work always runs on its tree's runtime).
    NoRuntime,
    /// The scope counts `limit` kinds of session already. Kinds are never merged, so a new one
    /// is refused: a kind is a call site and a name, and no program needs that many.
    TooManyKinds {
        /// The scope: `"the root scope"` or `service "path"`.
        scope: String,
        /// How many kinds a scope counts.
        limit: usize,
    },
    /// A service name the report could not show unambiguously: empty, or containing a `/`
    /// (the path separator) or a control character.
    InvalidName {
        /// The name, as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A restart policy on a service built with [`Service::new`](crate::Service::new),
    /// whose `FnOnce` body cannot be built a second time: build it with
    /// [`Service::restartable`](crate::Service::restartable).
    NotRestartable {
        /// The service's name.
        service: String,
        /// The policy it was given.
        restart: crate::Restart,
    },
    /// A restart policy that cannot apply (a zero window, a backoff whose first delay is
    /// above its cap).
    InvalidPolicy {
        /// The service's name.
        service: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A service [needs](crate::Service::needs) a sibling that is not running in its scope
    /// when it is started. Start the dependency first, or start them together with
    /// [`start_all`](crate::start_all), which orders them.
    UnknownDependency {
        /// The service's name.
        service: String,
        /// The name it needs.
        needs: String,
    },
    /// Services given to [`start_all`](crate::start_all) need each other in a circle (or a
    /// service needs itself): none of them was started.
    DependencyCycle {
        /// The names along the circle, the first repeated at the end.
        services: Vec<String>,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoScope => f.write_str(
                "not inside a canstop scope: spawn from main, a service or a session, \
                 or pass a canstop::Scope to this code",
            ),
            Self::Closed { scope } => {
                write!(
                    f,
                    "{scope} has finished shutting down and takes no more work"
                )
            }
            Self::NoRuntime => f.write_str("not inside a tokio runtime"),
            Self::TooManyKinds { scope, limit } => write!(
                f,
                "{scope} counts {limit} kinds of session already; a kind is a name and a call \
                 site: spawn with fewer distinct names"
            ),
            Self::InvalidName { name, reason } => {
                write!(f, "invalid service name {name:?}: {reason}")
            }
            Self::NotRestartable { service, restart } => write!(
                f,
                "service {service:?} has restart policy {:?} but was built with \
                 `Service::new`, whose body runs once: build it with `Service::restartable`",
                restart.as_str()
            ),
            Self::InvalidPolicy { service, reason } => {
                write!(
                    f,
                    "invalid restart policy for service {service:?}: {reason}"
                )
            }
            Self::UnknownDependency { service, needs } => write!(
                f,
                "service {service:?} needs {needs:?}, which is not running in its scope: start \
                 {needs:?} first, or both together with `canstop::start_all`"
            ),
            Self::DependencyCycle { services } => write!(
                f,
                "services need each other in a circle: {}",
                services
                    .iter()
                    .map(|name| format!("{name:?}"))
                    .collect::<Vec<_>>()
                    .join(" needs ")
            ),
        }
    }
}

impl std::error::Error for SpawnError {}

/// Why a service, or the tree, did not become ready (see
/// [`ServiceHandle::ready`](crate::ServiceHandle::ready) and [`ready()`](fn@crate::ready)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadyError {
    /// The service failed (returned an error, panicked, or a service it needs failed) before
    /// it was ready, and its restart policy does not restart it.
    Failed {
        /// The service's path.
        service: String,
        /// Its error, or its panic's message.
        error: String,
    },
    /// The service did not say it was ready within its
    /// [`ready_timeout`](crate::Service::ready_timeout).
    TimedOut {
        /// The service's path.
        service: String,
        /// Its ready timeout.
        timeout: std::time::Duration,
    },
    /// The service ended (returned `Ok`) or was told to stop before it was ready.
    Stopped {
        /// The service's path.
        service: String,
    },
    /// The tree started its shutdown before it was ready.
    TreeStopping,
    /// [`canstop::ready()`](fn@crate::ready) was called from `main`'s body, which the tree's
    /// readiness waits for: it would wait for itself. Await it from a session or a service.
    InMainBody,
    /// [`canstop::ready()`](fn@crate::ready) was called outside any canstop scope.
    NoScope,
}

impl fmt::Display for ReadyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { service, error } => {
                write!(f, "service {service:?} failed before it was ready: {error}")
            }
            Self::TimedOut { service, timeout } => write!(
                f,
                "service {service:?} was not ready within its ready timeout of {timeout:?}"
            ),
            Self::Stopped { service } => {
                write!(f, "service {service:?} stopped before it was ready")
            }
            Self::TreeStopping => f.write_str("the tree started shutting down before it was ready"),
            Self::InMainBody => f.write_str(
                "canstop::ready() in main's body would wait for itself (the tree is ready once \
                 main's body has returned): await it from a session or a service",
            ),
            Self::NoScope => f.write_str("canstop::ready() called outside any canstop scope"),
        }
    }
}

impl std::error::Error for ReadyError {}

/// Why a [`SessionHandle`](crate::SessionHandle) has no value for its session: the session
/// did not return (its error, when it returns `Err`, is in the value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// It panicked (in a poll of its body, or while its result was turned into the report's
    /// terms).
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// It was aborted: at its scope's deadline, by a second signal, by
    /// [`SessionHandle::abort`](crate::SessionHandle::abort), or because its runtime shut
    /// down. (Blocking work abandoned at the deadline never answers: await its handle with a
    /// timeout.)
    Aborted,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Panicked { message } => write!(f, "the session panicked: {message}"),
            Self::Aborted => f.write_str("the session was aborted before it returned"),
        }
    }
}

impl std::error::Error for SessionError {}

/// Why the root could not start. Nothing was run.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// An environment variable holds a malformed duration.
    BadTimeout {
        /// The variable (`CANSTOP_SHUTDOWN_TIMEOUT`).
        variable: &'static str,
        /// What is wrong with its value.
        error: DurationError,
    },
    /// `CANSTOP_REPORT` holds a value other than `text` or `json` (empty is `text`), or
    /// `json` in a build without canstop's `serde` feature.
    BadReportFormat {
        /// The variable's value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `CANSTOP_HEALTH_ADDR` holds something other than a socket address (such as
    /// `0.0.0.0:8081` or `[::]:8081`; empty is unset), or is set in a build without canstop's
    /// `health` feature, which serves it.
    BadHealthAddr {
        /// The variable's value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The health endpoints' address could not be bound (in use, not an address of this
    /// host, a privileged port).
    HealthBind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        error: io::Error,
    },
    /// The tokio runtime could not be built.
    Runtime(io::Error),
    /// The signal handlers could not be installed.
    Signals(io::Error),
    /// [`Root::run`](crate::Root::run) was polled outside a tokio runtime.
    NoRuntime,
    /// [`Root::run`](crate::Root::run) was polled on a tokio runtime without a timer, which
    /// deadlines need.
    NoTimer,
    /// [`Root::block_on`](crate::Root::block_on) (or `Root::main`, `#[canstop::main]`) was
    /// called on a thread that is running a tokio runtime already.
    InsideRuntime,
    /// [`Root::worker_threads(0)`](crate::Root::worker_threads): a multi-thread runtime needs
    /// at least one worker.
    NoWorkers,
}

impl StartError {
    /// The process exit code for this error: [`exit_code::CONFIG`](crate::exit_code::CONFIG).
    pub fn exit_code(&self) -> u8 {
        crate::exit_code::CONFIG
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadTimeout { variable, error } => write!(f, "{variable}: {error}"),
            Self::BadReportFormat { value, reason } => write!(
                f,
                "{}={:?}: {reason}",
                crate::root::REPORT_ENV,
                crate::report::Escaped(value).to_string()
            ),
            Self::BadHealthAddr { value, reason } => write!(
                f,
                "{}={:?}: {reason}",
                crate::root::HEALTH_ADDR_ENV,
                crate::report::Escaped(value).to_string()
            ),
            Self::HealthBind { addr, error } => {
                write!(f, "cannot serve the health endpoints on {addr}: {error}")
            }
            Self::Runtime(error) => write!(f, "cannot build the tokio runtime: {error}"),
            Self::Signals(error) => write!(f, "cannot install the signal handlers: {error}"),
            Self::NoRuntime => f.write_str(
                "not inside a tokio runtime: await Root::run on a tokio runtime, \
                 or use Root::block_on, which builds one",
            ),
            Self::NoTimer => f.write_str(
                "the tokio runtime has no timer, which the shutdown deadline needs: \
                 build it with `enable_time()` (or `enable_all()`)",
            ),
            Self::InsideRuntime => f.write_str(
                "Root::block_on and Root::main (what #[canstop::main] calls) build their own \
                 runtime and cannot run inside one: use `Root::run(body).await` on the runtime \
                 you are in",
            ),
            Self::NoWorkers => f.write_str(
                "worker_threads(0): a multi-thread runtime needs at least one worker \
                 (use Root::current_thread() for a single-threaded one)",
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::BadTimeout { error, .. } => Some(error),
            Self::Runtime(error) | Self::Signals(error) | Self::HealthBind { error, .. } => {
                Some(error)
            }
            Self::BadReportFormat { .. }
            | Self::BadHealthAddr { .. }
            | Self::NoRuntime
            | Self::NoTimer
            | Self::InsideRuntime
            | Self::NoWorkers => None,
        }
    }
}
