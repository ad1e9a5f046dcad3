//! [`Root`]: the top of the tree. It runs `main`'s body in the root scope, waits for a trigger,
//! runs the shutdown sequence and returns the [`Report`].
//!
//! - this file: [`Root`], its builder, `run`/`block_on`/`main`, `main`'s body, the report's
//!   assembly;
//! - [`duration`]: the duration grammar of `CANSTOP_SHUTDOWN_TIMEOUT` (and of the macros'
//!   copy).

pub(crate) mod duration;

use std::future::Future;
use std::pin::{pin, Pin};
use std::process::ExitCode;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::error::StartError;
use crate::lifecycle::events::{Event, Listener};
use crate::lifecycle::grace::EXIT_GRACE;
use crate::lifecycle::log::log;
use crate::lifecycle::shared::Tree;
use crate::lifecycle::trigger::Trigger;
use crate::outcome::{catching, Ended, MainResult};
use crate::process::signals;
use crate::process::watchdog::Watchdog;
use crate::report::{FoldedServices, MainOutcome, Report, ServiceReport};
use crate::root::duration::parse_duration;
use crate::service::policy::Strategy;
use crate::session::sessions::Totals;
use crate::tree::context;
use crate::tree::node::{Cut, Node};
use crate::tree::order::StopOrder;

/// The environment variable that overrides the compiled drain timeout, so that the
/// orchestrator (Kubernetes' grace period, systemd's `TimeoutStopSec`) sets it, not the code.
pub const TIMEOUT_ENV: &str = "CANSTOP_SHUTDOWN_TIMEOUT";

/// The environment variable that overrides the compiled drain delay (see
/// [`Root::drain_delay`]): set it from the orchestrator, with the timeout, so that the delay
/// plus the timeout fit its grace period.
pub const DRAIN_DELAY_ENV: &str = "CANSTOP_DRAIN_DELAY";

/// The environment variable that sets the address of the health endpoints (`/livez`,
/// `/readyz`, `/startupz`; feature `health`, see `canstop::health`), such as
/// `0.0.0.0:8081`: it overrides `Root::health_addr` (and `#[canstop::main(health = "...")]`)
/// so that the pod spec that probes the port also sets it. Empty is unset; a malformed value,
/// or any value in a build without the feature, is a [`StartError::BadHealthAddr`] at start-up
/// (exit 78): probes of a port nobody serves would fail without saying why.
pub const HEALTH_ADDR_ENV: &str = "CANSTOP_HEALTH_ADDR";

/// The environment variable that chooses the format of the report that
/// [`Root::main`] (and `#[canstop::main]`) writes: `text` (or unset, or empty) for the text
/// of [`Report`]'s `Display`, logged through `tracing`; `json` for one line of JSON on stderr
/// instead (with canstop's `serde` feature; see `Report::to_json`). Any other value, or
/// `json` without the feature, is a [`StartError::BadReportFormat`] at start-up (exit 78):
/// a report format asked for and not given would be noticed only at the exit.
pub const REPORT_ENV: &str = "CANSTOP_REPORT";

/// How [`Root::main`] writes its report ([`REPORT_ENV`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportFormat {
    Text,
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    Json,
}

/// The report format [`REPORT_ENV`] asks for.
fn report_format() -> Result<ReportFormat, StartError> {
    report_format_from(std::env::var(REPORT_ENV))
}

/// The report format the value of [`REPORT_ENV`] asks for.
fn report_format_from(
    value: Result<String, std::env::VarError>,
) -> Result<ReportFormat, StartError> {
    let value = match value {
        Ok(value) => value,
        Err(std::env::VarError::NotPresent) => return Ok(ReportFormat::Text),
        Err(std::env::VarError::NotUnicode(value)) => {
            return Err(StartError::BadReportFormat {
                value: value.to_string_lossy().into_owned(),
                reason: "not UTF-8; expected `text` or `json`",
            })
        }
    };
    match value.trim() {
        // Empty is unset: what an orchestrator's template gives for "no value".
        "" | "text" => Ok(ReportFormat::Text),
        "json" if cfg!(feature = "serde") => Ok(ReportFormat::Json),
        "json" => Err(StartError::BadReportFormat {
            value,
            reason: "this program was built without canstop's `serde` feature, which the JSON \
                     report needs: enable it (canstop = { features = [\"serde\"] })",
        }),
        _ => Err(StartError::BadReportFormat {
            value,
            reason: "expected `text` or `json`",
        }),
    }
}

/// The address the value of [`HEALTH_ADDR_ENV`] asks for (`None`: unset or empty).
fn health_addr_from(
    value: Result<String, std::env::VarError>,
) -> Result<Option<std::net::SocketAddr>, StartError> {
    let value = match value {
        Ok(value) => value,
        Err(std::env::VarError::NotPresent) => return Ok(None),
        Err(std::env::VarError::NotUnicode(value)) => {
            return Err(StartError::BadHealthAddr {
                value: value.to_string_lossy().into_owned(),
                reason: "not UTF-8",
            })
        }
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        // Empty is unset: what an orchestrator's template gives for "no value".
        return Ok(None);
    }
    if !cfg!(feature = "health") {
        return Err(StartError::BadHealthAddr {
            value,
            reason: "this program was built without canstop's `health` feature, which serves \
                     the health endpoints: enable it (canstop = { features = [\"health\"] })",
        });
    }
    trimmed
        .parse()
        .map(Some)
        .map_err(|_| StartError::BadHealthAddr {
            value,
            reason: "expected an IP address and a port, such as `0.0.0.0:8081` or `[::]:8081`",
        })
}

/// The drain timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The root of a supervisor tree: configure it, then [`run`](Self::run) a body in it (inside
/// a tokio runtime) or [`block_on`](Self::block_on) it (building one, as `#[canstop::main]`
/// does).
///
/// # The shutdown sequence
///
/// 1. **Trigger**: SIGINT or SIGTERM (Ctrl-C on Windows), a service failing before it was
///    told to stop, [`canstop::shutdown()`](fn@crate::shutdown), `main`'s body returning an error,
///    or — once `main`'s body has returned — every service and session having finished.
/// 2. **Drain delay** (optional, [`drain_delay`](Self::drain_delay)): after a signal, the
///    tree is not ready and keeps serving for the delay
///    ([`Shutdown::draining`](crate::Shutdown::draining) fires, `requested` does not yet).
/// 3. **Stop**: the root and its services are told to stop (their
///    [`Shutdown`](crate::Shutdown)s fire): services that [need](crate::Service::needs)
///    others before what they need (which is told once they have stopped), the others at
///    once, or one at a time in reverse start order with
///    [`StopOrder::Reverse`], and always so after a failed
///    start-up (a failure before the tree was ever ready). `main`'s body, if still running,
///    is dropped — unless it raised the trigger itself, in which case it runs to its end,
///    bounded by the deadline (see [`MainOutcome`] for the rule and why).
/// 4. **Drain**: every service waits for its body, then its children, then its sessions, up
///    to its deadline (its own timeout where set, else the tree's).
/// 5. **Abort**: at the deadline, whatever is left is aborted and dropped before the report is
///    made (its drop guards run; a session stuck inside a poll is named `unresponsive`);
///    blocking work is abandoned and named in the report.
/// 6. **Report**: the [`Report`], logged through `tracing` by `#[canstop::main]`.
/// 7. **Exit**: [`Report::exit_code`]. A second signal during the drain skips the wait.
///
/// `main`'s body is set-up code: when it returns `Ok`, the program runs until a trigger. A
/// program that starts no service ends when `main`'s body has returned and its sessions have
/// finished on their own (a batch job works unchanged; a signal still interrupts it).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::time::Duration;
/// use canstop::{Root, Service, ServiceOutcome};
///
/// let report = Root::new()
///     .timeout(Duration::from_secs(2))
///     .signals(false)
///     .run(async {
///         // A service that ignores its Shutdown is aborted at the deadline.
///         canstop::start(Service::new("stubborn", |_| std::future::pending::<()>()))?;
///         canstop::shutdown()?;
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .await
///     .unwrap();
/// assert_eq!(report.service("stubborn").unwrap().outcome, ServiceOutcome::Aborted);
/// assert_eq!(report.exit_code(), canstop::exit_code::TIMED_OUT);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Root {
    timeout: Duration,
    drain_delay: Duration,
    timeout_from_env: bool,
    signals: bool,
    stop_when_body_returns: bool,
    runtime: RuntimeKind,
    strategy: Strategy,
    stop_order: StopOrder,
    listeners: Listeners,
    #[cfg(feature = "metrics")]
    metrics_every: Duration,
    #[cfg(feature = "health")]
    health_addr: Option<std::net::SocketAddr>,
}

/// The users' event listeners ([`Root::on_event`]).
#[derive(Clone, Default)]
struct Listeners(Vec<Arc<dyn Listener>>);

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} listeners", self.0.len())
    }
}

#[derive(Debug, Clone, Copy)]
enum RuntimeKind {
    CurrentThread,
    MultiThread { workers: Option<usize> },
}

impl Default for Root {
    fn default() -> Self {
        Self::new()
    }
}

impl Root {
    /// A root with the default timeout (10 s), `CANSTOP_SHUTDOWN_TIMEOUT` honoured, signal
    /// handlers installed, and a multi-thread runtime for [`block_on`](Self::block_on).
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn new() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            drain_delay: Duration::ZERO,
            timeout_from_env: true,
            signals: true,
            stop_when_body_returns: false,
            runtime: RuntimeKind::MultiThread { workers: None },
            strategy: Strategy::OneForOne,
            stop_order: StopOrder::ByDependency,
            listeners: Listeners::default(),
            #[cfg(feature = "metrics")]
            metrics_every: crate::report::metrics::DEFAULT_EVERY,
            #[cfg(feature = "health")]
            health_addr: None,
        }
    }

    /// Serves the health endpoints `/livez`, `/readyz` and `/startupz` on `addr` (feature
    /// `health`; see [`canstop::health`](crate::health) for what they answer), from before
    /// `main`'s body runs until after the report is made. [`HEALTH_ADDR_ENV`] overrides it
    /// (see [`timeout_from_env`](Self::timeout_from_env)). Port 0 binds a free port:
    /// [`Health::local_addr`](crate::health::Health::local_addr) tells which, and it is
    /// logged (`health endpoints listening`, at `info`).
    ///
    /// # Errors
    ///
    /// An address that cannot be bound is a [`StartError::HealthBind`] when the root starts
    /// (exit 78): nothing has run then.
    #[cfg(feature = "health")]
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn health_addr(mut self, addr: impl Into<std::net::SocketAddr>) -> Self {
        self.health_addr = Some(addr.into());
        self
    }

    /// How often the tree's counts are exported through the `metrics` facade (feature
    /// `metrics`; default 1 s): a task of the tree takes a [`State`](crate::State) snapshot
    /// and sets the gauges and counters from it; `Duration::ZERO` exports only once, from the
    /// report. Whatever the period, a last export is made from the [`Report`] when it is
    /// made, so that at the end every counter equals the report's count. The metrics, their
    /// labels and the phase codes are listed in the crate's README (section Metrics).
    ///
    /// Spawning and ending a session cost nothing more with the feature: the values are
    /// read from the counts the tree keeps anyway, by a snapshot that takes no lock a
    /// session takes.
    #[cfg(feature = "metrics")]
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn metrics_every(mut self, every: Duration) -> Self {
        self.metrics_every = every;
        self
    }

    /// The order `main`'s services stop in (default [`StopOrder::ByDependency`]: what needs
    /// another stops first, the rest concurrently). A failed start-up (a failure before the
    /// tree was ever ready) always stops them in reverse start order.
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn stop_order(mut self, order: StopOrder) -> Self {
        self.stop_order = order;
        self
    }

    /// Calls `listener` with every lifecycle [`Event`] of the tree: services started, ready,
    /// failed, restarting and stopped; the tree ready, triggered, stopping, past its
    /// deadline. The listener runs synchronously where the event happens: it must be quick
    /// and must not block (send to a channel for anything more); a panic in it is caught.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// use canstop::{Event, Root, Service, Shutdown};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let report = Root::new()
    ///     .signals(false)
    ///     .on_event(move |event: &Event| log.lock().unwrap().push(event.clone()))
    ///     .run(async {
    ///         canstop::start(Service::new("db", |shutdown: Shutdown| async move {
    ///             shutdown.requested().await;
    ///         }))?;
    ///         canstop::start(Service::new("stopper", |shutdown: Shutdown| async move {
    ///             canstop::ready().await?; // the whole tree is ready
    ///             shutdown.shutdown_tree();
    ///             Ok::<(), canstop::ReadyError>(())
    ///         }))?;
    ///         Ok::<(), canstop::SpawnError>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert!(report.is_clean());
    /// let seen = seen.lock().unwrap();
    /// assert!(seen.contains(&Event::Ready { service: "db".into() }));
    /// assert!(seen.contains(&Event::TreeReady));
    /// assert!(matches!(seen.last(), Some(Event::Stopped { .. })));
    /// # }
    /// ```
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn on_event(mut self, listener: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.listeners.0.push(Arc::new(listener));
        self
    }

    /// How `main`'s services restart together when one of them is restarted (default
    /// [`Strategy::OneForOne`]: only the one that failed). See [`Strategy`].
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The tree's drain timeout: how long after the trigger everything has to stop.
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the tree keeps serving after a signal, before its stop (default: none): the
    /// **drain delay**, for Kubernetes, which keeps sending new connections to a pod for a
    /// moment after it sent SIGTERM (its endpoints are removed from the load balancers
    /// asynchronously).
    ///
    /// During the delay the tree is not ready (an [`Event::TreeNotReady`], and `/readyz`
    /// answers 503), [`Shutdown::draining`](crate::Shutdown::draining) has fired but
    /// [`Shutdown::requested`](crate::Shutdown::requested) has not: an accept loop keeps
    /// accepting (late connections are best served without keep-alive), and everything runs
    /// on. Then the stop and the drain start as without a delay, with the timeout counted
    /// from the end of the delay: **the delay plus the timeout must fit the orchestrator's
    /// grace period** (Kubernetes' `terminationGracePeriodSeconds`, systemd's
    /// `TimeoutStopSec`). The report shows both.
    ///
    /// Only a signal's trigger waits: a failure, `main`'s error or
    /// [`canstop::shutdown()`](fn@crate::shutdown) stop at once, and a failure during the delay
    /// ends it. A second signal during the delay forces the exit, as during the drain.
    /// [`DRAIN_DELAY_ENV`] overrides it (see [`timeout_from_env`](Self::timeout_from_env)).
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// Whether [`TIMEOUT_ENV`], [`DRAIN_DELAY_ENV`] and [`HEALTH_ADDR_ENV`] override the
    /// timeout, the drain delay and the health endpoints' address (default: yes). A malformed value is a [`StartError`], never silently ignored;
    /// an empty one counts as unset (orchestrator templates render a missing value as an
    /// empty string), and spaces around a value are ignored (a YAML or unit-file value with a
    /// trailing space).
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn timeout_from_env(mut self, enabled: bool) -> Self {
        self.timeout_from_env = enabled;
        self
    }

    /// Whether to listen for SIGINT and SIGTERM (Ctrl-C on Windows). Default: yes. Turn it
    /// off in tests and when embedding the tree in a program that handles signals itself.
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn signals(mut self, enabled: bool) -> Self {
        self.signals = enabled;
        self
    }

    /// Shut the tree down as soon as the body returns `Ok` ([`Trigger::BodyReturned`]) instead
    /// of running until a trigger: for tests, and for programs whose body is the work.
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn stop_when_body_returns(mut self, enabled: bool) -> Self {
        self.stop_when_body_returns = enabled;
        self
    }

    /// [`block_on`](Self::block_on) builds a current-thread runtime. The last of
    /// `current_thread` and [`worker_threads`](Self::worker_threads) called decides the
    /// runtime (a worker count means a multi-thread runtime).
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn current_thread(mut self) -> Self {
        self.runtime = RuntimeKind::CurrentThread;
        self
    }

    /// [`block_on`](Self::block_on) builds a multi-thread runtime with `workers` threads (the
    /// last of this and [`current_thread`](Self::current_thread) called decides). Zero is a
    /// [`StartError::NoWorkers`] when the root starts, not a panic.
    #[must_use = "the builder returns the configured root: `let root = root.option(..);`"]
    pub fn worker_threads(mut self, workers: usize) -> Self {
        self.runtime = RuntimeKind::MultiThread {
            workers: Some(workers),
        };
        self
    }

    /// The timeout that applies: [`TIMEOUT_ENV`] when set (and enabled), else the configured one.
    pub fn effective_timeout(&self) -> Result<Duration, StartError> {
        self.env_or(TIMEOUT_ENV, self.timeout)
    }

    /// The drain delay that applies: [`DRAIN_DELAY_ENV`] when set (and enabled), else the
    /// configured one.
    pub fn effective_drain_delay(&self) -> Result<Duration, StartError> {
        self.env_or(DRAIN_DELAY_ENV, self.drain_delay)
    }

    /// The address of the health endpoints that applies: [`HEALTH_ADDR_ENV`] when set (and
    /// enabled), else the configured one ([`health_addr`](Self::health_addr)); `None`: none
    /// is served.
    ///
    /// # Errors
    ///
    /// [`StartError::BadHealthAddr`] for a malformed [`HEALTH_ADDR_ENV`].
    #[cfg(feature = "health")]
    pub fn effective_health_addr(&self) -> Result<Option<std::net::SocketAddr>, StartError> {
        Ok(self.env_health_addr()?.or(self.health_addr))
    }

    /// The address in [`HEALTH_ADDR_ENV`], when it is set (and the environment enabled).
    fn env_health_addr(&self) -> Result<Option<std::net::SocketAddr>, StartError> {
        if !self.timeout_from_env {
            return Ok(None);
        }
        health_addr_from(std::env::var(HEALTH_ADDR_ENV))
    }

    /// The duration in `variable` when it is set (and the environment is enabled), else
    /// `configured`.
    fn env_or(&self, variable: &'static str, configured: Duration) -> Result<Duration, StartError> {
        if !self.timeout_from_env {
            return Ok(configured);
        }
        let bad = |error| StartError::BadTimeout { variable, error };
        match std::env::var(variable) {
            // Empty is unset: what an orchestrator's template gives for "no value".
            Ok(value) if value.trim().is_empty() => Ok(configured),
            Ok(value) => parse_duration(value.trim()).map_err(bad),
            Err(std::env::VarError::NotPresent) => Ok(configured),
            // Not UTF-8: malformed, not absent.
            Err(std::env::VarError::NotUnicode(value)) => Err(bad(
                crate::root::duration::DurationError::not_unicode(&value.to_string_lossy()),
            )),
        }
    }

    /// Runs `body` in the root scope of a new tree, inside the current tokio runtime, then the
    /// shutdown sequence; returns the report.
    ///
    /// Every task of the tree runs on this runtime, so a [`Scope`](crate::Scope) handed to a
    /// plain thread still spawns there.
    /// Outside a tokio runtime it returns [`StartError::NoRuntime`].
    ///
    /// Dropping the future before it completes aborts the whole tree at once. No report is
    /// made; a [`Scope::state`](crate::Scope::state) taken afterwards shows the tree stopped
    /// and what was running as [`ServiceOutcome::RunDropped`](crate::ServiceOutcome::RunDropped).
    pub async fn run<F>(self, body: F) -> Result<Report, StartError>
    where
        F: Future,
        F::Output: MainResult,
    {
        self.run_tree(Box::pin(converted(body)), None).await
    }

    /// [`run`](Self::run); with a `watchdog` (a process-owning root), a thread also ends the
    /// process if the tree does not stop by its deadline (or soon after a second signal) even
    /// when every runtime thread is blocked.
    ///
    /// Generic over the boxed body only: [`block_on`](Self::block_on) and
    /// [`main`](Self::main) pass a [`LocalBody`], so that the whole sequence is compiled once,
    /// in canstop, not in every program that uses it.
    async fn run_tree<B>(self, body: B, watchdog: Option<&Watchdog>) -> Result<Report, StartError>
    where
        B: Future<Output = Ended> + Unpin,
    {
        let timeout = self.effective_timeout()?;
        let drain_delay = self.effective_drain_delay()?;
        let health_addr = self.env_health_addr()?;
        #[cfg(feature = "health")]
        let health_addr = health_addr.or(self.health_addr);
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        // Deadlines need the runtime's timer; without one, tokio panics at the first sleep.
        // tokio has no way to ask, so the probe is a sleep made with the panic hook silenced
        // (a misuse is a `StartError`, not a panic message on stderr).
        if !has_timer() {
            return Err(StartError::NoTimer);
        }
        // Bound before anything runs: a port in use is a start-up error, not a failure later.
        #[cfg(feature = "health")]
        let health = health_addr.map(crate::health::server::bind).transpose()?;
        #[cfg(not(feature = "health"))]
        let _: Option<std::net::SocketAddr> = health_addr;
        let shared = Tree::new(timeout, drain_delay, runtime);
        // Not a service of the tree: it serves through the delay, the stop and the drain, and
        // closes after the report (see `crate::health`'s "Where it runs").
        #[cfg(feature = "health")]
        let health = health
            .map(|listener| crate::health::server::start(listener, &shared))
            .transpose()?;
        for listener in &self.listeners.0 {
            shared.events.subscribe(listener.clone());
        }
        let root = Node::root(shared.clone(), self.strategy, self.stop_order);
        let mut guard = AbortOnDrop {
            root: root.clone(),
            watchdog: watchdog.cloned(),
            finished: false,
        };
        if let Some(watchdog) = watchdog {
            let tree = Arc::downgrade(&root);
            watchdog.watch(Box::new(move || {
                let root = tree.upgrade()?;
                root.give_up();
                Some(assemble_report(&root))
            }));
            shared.events.subscribe(Arc::new(watchdog.clone()));
        }
        let listener = if self.signals {
            Some(signals::listen(shared.clone()).map_err(StartError::Signals)?)
        } else {
            None
        };
        #[cfg(feature = "metrics")]
        let metrics = crate::report::metrics::Metrics::start(&root, self.metrics_every);
        // systemd speaks to the process: only a process-owning root notifies it.
        #[cfg(all(feature = "systemd", unix))]
        let systemd = watchdog.and_then(|watchdog| {
            let systemd = crate::process::systemd::Systemd::start(&root)?;
            // The last `STATUS=` of a tree the watchdog gives up on (its notifier's task runs
            // on the wedged runtime): sent from the watchdog's thread, with its report.
            let notifier = systemd.clone();
            watchdog.on_report_written(Box::new(move |report| notifier.finish(report, true)));
            Some(systemd)
        });
        run_main(&root, body).await;
        if self.stop_when_body_returns {
            shared.trigger(Trigger::BodyReturned);
        }
        wait_for_trigger(&root).await;
        // The stop, once (a no-op after the trigger's; with its `Stopping` event when the run
        // ends on its own, everything finished during a drain delay, say).
        shared.stop_root(&root);
        root.drain().await;
        let report = assemble_report(&root);
        #[cfg(feature = "metrics")]
        metrics.finish(&report);
        #[cfg(all(feature = "systemd", unix))]
        if let Some(systemd) = &systemd {
            systemd.finish(&report, false);
        }
        shared.finish();
        guard.finished = true;
        // Last: the probes were answered until the report was made.
        #[cfg(feature = "health")]
        if let Some(health) = health {
            health.close().await;
        }
        // A process-owning root keeps its watchdog armed until its runtime is shut down too:
        // a body's `Drop` that blocks there still cannot keep the process past its deadline.
        if let Some(watchdog) = watchdog {
            watchdog.report_made(&report);
        }
        // A second signal from now on still exits by the watchdog, with this report: a
        // process-owning root listens until its runtime has shut down (see `Watchdog::hold`).
        match (watchdog, listener) {
            (Some(watchdog), Some(listener)) => watchdog.hold(Box::new(listener)),
            (_, listener) => drop(listener),
        }
        Ok(report)
    }

    /// What `#[canstop::main]` generates, for programs that do not use the macro: runs
    /// [`block_on`](Self::block_on), logs the report through `tracing` (and prints it to
    /// stderr when no `tracing` subscriber is installed, so a failure is never silent), and
    /// returns the exit code ([`exit_code`](crate::exit_code)).
    ///
    /// With `CANSTOP_REPORT=json` ([`REPORT_ENV`], feature `serde`) the report is instead
    /// written to stderr as one line of JSON (`Report::to_json`), whether or not a `tracing`
    /// subscriber is installed, and is not logged as text.
    ///
    /// # Errors
    ///
    /// Nothing is run, and the exit code is 78, for a [`StartError`]: as
    /// [`block_on`](Self::block_on)'s, and a malformed [`REPORT_ENV`].
    ///
    /// ```no_run
    /// use canstop::{Root, Service, Shutdown};
    ///
    /// fn main() -> std::process::ExitCode {
    ///     Root::new().main(async {
    ///         canstop::start(Service::new("ticker", |shutdown: Shutdown| async move {
    ///             shutdown.requested().await;
    ///         }))?;
    ///         Ok::<(), canstop::SpawnError>(())
    ///     })
    /// }
    /// ```
    pub fn main<F>(self, body: F) -> ExitCode
    where
        F: Future,
        F::Output: MainResult,
    {
        self.main_boxed(local_body(body))
    }

    /// [`main`](Self::main), for a boxed body: not generic.
    fn main_boxed(self, body: LocalBody<'_>) -> ExitCode {
        // The report is written on a thread of its own, for a bounded time, and never with
        // `eprintln!` (which panics on a broken pipe): a stderr or subscriber that blocks or
        // fails cannot hold the exit or change its code.
        use std::io::Write;
        let format = report_format();
        match format.and_then(|format| Ok((format, self.block_on_reporting(body, format)?))) {
            // The process exits with the code of the report the watchdog wrote.
            Ok((_, Reported::ByWatchdog(_, code))) => ExitCode::from(code),
            Ok((format, Reported::Here(report))) => {
                let code = report.process_exit_code();
                crate::process::watchdog::last_words(move || match format {
                    ReportFormat::Text => {
                        report.log();
                        if crate::process::no_subscriber() {
                            let _ = writeln!(std::io::stderr(), "{report}");
                        }
                    }
                    ReportFormat::Json => {
                        // One write: the line is not interleaved with other output.
                        #[cfg(feature = "serde")]
                        let _ = std::io::stderr()
                            .write_all(format!("{}\n", report.to_json()).as_bytes());
                    }
                });
                code
            }
            Err(error) => {
                let code = error.exit_code();
                crate::process::watchdog::last_words(move || {
                    log(|| tracing::error!(%error, "canstop could not start"));
                    let _ = writeln!(std::io::stderr(), "canstop: {error}");
                });
                ExitCode::from(code)
            }
        }
    }

    /// Builds a tokio runtime, runs [`run`](Self::run) on it, and shuts the runtime down
    /// without waiting for abandoned blocking work.
    ///
    /// Its watchdog thread ends the process if the tree is not done by its deadline (plus a
    /// fuse) or soon after a second signal, and then writes the report itself, to stderr: a
    /// program that prints the returned report may, in that case, show it twice
    /// ([`main`](Self::main) knows and prints one).
    ///
    /// # Errors
    ///
    /// A [`StartError`] (nothing was run) for a malformed [`TIMEOUT_ENV`], a call on a thread
    /// that runs a tokio runtime already ([`StartError::InsideRuntime`]: use
    /// [`run`](Self::run) there), `worker_threads(0)`, or a runtime that cannot be built.
    pub fn block_on<F>(self, body: F) -> Result<Report, StartError>
    where
        F: Future,
        F::Output: MainResult,
    {
        self.block_on_boxed(local_body(body))
    }

    /// [`block_on`](Self::block_on), for a boxed body: not generic.
    fn block_on_boxed(self, body: LocalBody<'_>) -> Result<Report, StartError> {
        self.block_on_reporting(body, ReportFormat::Text)
            .map(Reported::into_report)
    }

    /// [`block_on_boxed`](Self::block_on_boxed), saying whether the watchdog wrote the
    /// report already (it fired while the runtime was shutting down): [`main`](Self::main)
    /// then does not write it again.
    fn block_on_reporting(
        self,
        body: LocalBody<'_>,
        format: ReportFormat,
    ) -> Result<Reported, StartError> {
        if matches!(self.runtime, RuntimeKind::MultiThread { workers: Some(0) }) {
            return Err(StartError::NoWorkers);
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(StartError::InsideRuntime);
        }
        let runtime = self.build_runtime().map_err(StartError::Runtime)?;
        let watchdog = Watchdog::start().map_err(StartError::Runtime)?;
        if format == ReportFormat::Json {
            watchdog.write_json();
        }
        let report = runtime.block_on(self.run_tree(body, Some(&watchdog)));
        // Dropping what is left of the tree's tasks runs their destructors, on this thread for
        // a current-thread runtime: still under the watchdog.
        match &report {
            Ok(report) if report.forced.is_none() => runtime.shutdown_timeout(EXIT_GRACE),
            _ => runtime.shutdown_background(),
        }
        let written = watchdog.disarm();
        report.map(|report| match written {
            Ok(()) => Reported::Here(report),
            Err(code) => Reported::ByWatchdog(report, code),
        })
    }

    fn build_runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let mut builder = match self.runtime {
            RuntimeKind::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            RuntimeKind::MultiThread { workers } => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                if let Some(workers) = workers {
                    builder.worker_threads(workers);
                }
                builder
            }
        };
        builder.enable_all().build()
    }
}

/// `main`'s body as the process-owning root runs it: boxed once, its result turned into the
/// report's text, so that the shutdown sequence is not generic over it.
type LocalBody<'a> = Pin<Box<dyn Future<Output = Ended> + 'a>>;

fn local_body<'a, F>(body: F) -> LocalBody<'a>
where
    F: Future + 'a,
    F::Output: MainResult,
{
    Box::pin(converted(body))
}

/// Runs `body` and turns its output into the report's terms; an exit code it returns is
/// recorded on its tree (it runs inside its root scope), and is the trigger: the program
/// asked to end. Raised here, before `main` counts as returned, so that the tree is never
/// ready (no `READY=1`, no passing probe) on its way out.
async fn converted<F>(body: F) -> Ended
where
    F: Future,
    F::Output: MainResult,
{
    let output = body.await;
    if let Some(code) = output.exit_code() {
        let _ = context::with_current(|node| {
            node.tree.set_main_exit(code);
            // A no-op after another trigger, which came first.
            node.tree.trigger(Trigger::MainExited {
                code: crate::report::MainExitCode(code).number(),
            });
        });
    }
    output
        .into_result()
        .map_or_else(Ended::Failed, |()| Ended::Ok)
}

/// Runs `main`'s body in the root scope and records how it ended (see [`MainOutcome`] for
/// when it is dropped at the stop). It is polled and dropped with panics caught.
async fn run_main<B>(root: &Arc<Node>, mut body: B)
where
    B: Future<Output = Ended> + Unpin,
{
    let shared = root.tree.clone();
    let mut scope = Some(root.clone());
    let outcome = {
        let mut poll = pin!(std::future::poll_fn(|cx| {
            let _in = context::enter(&mut scope);
            context::as_main_of(&shared, || catching(|| Pin::new(&mut body).poll(cx)))
                .unwrap_or_else(|panic| Poll::Ready(Ended::Panicked(panic)))
        }));
        watch_main(root, &mut poll).await
    };
    let dropped = {
        let _in = context::enter(&mut scope);
        catching(move || drop(body))
    };
    let outcome = match (dropped, outcome) {
        (Ok(()), outcome) => outcome,
        (Err(_), outcome @ MainOutcome::Panicked { .. }) => outcome,
        (Err(message), _) => {
            let message = format!("while being dropped: {message}");
            shared.trigger(Trigger::MainPanicked {
                message: message.clone(),
            });
            log(|| tracing::error!(%message, "main's body panicked"));
            MainOutcome::Panicked { message }
        }
    };
    shared.set_main(outcome);
}

/// Polls `main`'s body until it returns; drops it at a stop it did not raise itself, and at
/// the deadline otherwise.
async fn watch_main<B>(root: &Node, body: &mut Pin<&mut B>) -> MainOutcome
where
    B: Future<Output = Ended>,
{
    tokio::select! {
        biased;
        result = body.as_mut() => return judge_main(root, result),
        () = root.tree.token.cancelled() => {}
    }
    if !root.tree.triggered_by_main() {
        log(|| tracing::debug!("main's body dropped: the shutdown started before it returned"));
        return MainOutcome::DroppedAtStop;
    }
    tokio::select! {
        biased;
        result = body.as_mut() => judge_main(root, result),
        () = root.until_abort() => match root.cut() {
            Cut::Forced => MainOutcome::Forced,
            // No report is made for a dropped run.
            Cut::RunDropped => MainOutcome::Aborted,
            Cut::Deadline => {
                log(|| tracing::error!("main's body did not return by the deadline: aborted"));
                MainOutcome::Aborted
            }
        },
    }
}

/// `main`'s body returned: an error or a panic is the trigger (unless one came first) and is
/// kept in the report either way.
fn judge_main(root: &Node, ended: Ended) -> MainOutcome {
    match ended {
        Ended::Ok => {
            root.tree.readiness.main_returned(&root.tree.events);
            MainOutcome::Returned
        }
        Ended::Failed(error) | Ended::Escalated(error) => {
            root.tree.trigger(Trigger::MainFailed {
                error: error.clone(),
            });
            log(|| tracing::error!(%error, "main returned an error"));
            MainOutcome::Failed { error }
        }
        Ended::Panicked(message) => {
            root.tree.trigger(Trigger::MainPanicked {
                message: message.clone(),
            });
            log(|| tracing::error!(%message, "main panicked"));
            MainOutcome::Panicked { message }
        }
    }
}

/// Waits for a trigger, or for every service and root session to finish on their own.
///
/// "Finished" means no service and no root session running at the same moment; only then is
/// admission closed (work admitted just before the close is still waited for, unhurried), so
/// a root session may start a service at any time before.
async fn wait_for_trigger(root: &Arc<Node>) {
    let finished = async {
        loop {
            root.children.idle().await;
            root.sessions.idle().await;
            if root.children.is_idle() && root.sessions.is_idle() {
                break;
            }
        }
        root.children.drain().await;
        root.sessions.drain().await;
    };
    tokio::select! {
        biased;
        () = root.tree.token.cancelled() => {}
        () = finished => {
            root.tree.trigger(Trigger::Finished);
        }
    }
}

/// The report of the tree under `root`, as things stand (final once the drain has ended).
pub(crate) fn assemble_report(root: &Node) -> Report {
    let (services, folded) = root.children.reports();
    // The root's own sessions, then every service's, summed per kind.
    let mut sessions = Totals::from(root.sessions.stats());
    fn add_sessions(all: &mut Totals, service: &ServiceReport) {
        service.sessions.iter().for_each(|stats| all.add(stats));
        service
            .folded
            .iter()
            .for_each(|group| add_folded(all, group));
        for child in &service.children {
            add_sessions(all, child);
        }
    }
    fn add_folded(all: &mut Totals, group: &FoldedServices) {
        group.sessions.iter().for_each(|stats| all.add(stats));
    }
    services
        .iter()
        .for_each(|service| add_sessions(&mut sessions, service));
    folded
        .iter()
        .for_each(|group| add_folded(&mut sessions, group));
    let shared = &root.tree;
    Report {
        trigger: shared.trigger_info().unwrap_or(Trigger::Finished),
        main: shared.main_outcome(),
        main_exit_code: shared.main_exit(),
        services,
        folded,
        sessions: sessions.into_vec(),
        stop_time: root
            .stop_info()
            .map(|stop| stop.requested_at)
            .or_else(|| shared.stop_began())
            .map_or(Duration::ZERO, |began| began.elapsed()),
        timeout: shared.timeout,
        deadline_reached: shared.deadline_reached(),
        forced: shared.forced_by(),
        startup_failed: shared.startup_failed(),
        drain_delay: shared.delay_waited(),
        drain_delay_cut_by: shared.delay_cut_by(),
    }
}

/// Whether the current runtime has its timer: a sleep is made, with the panic that tokio
/// raises without one caught and kept off stderr.
fn has_timer() -> bool {
    crate::outcome::quietly(|| catching(|| drop(tokio::time::sleep(Duration::ZERO)))).is_ok()
}

/// A process-owning root's report, and who writes it.
enum Reported {
    /// The caller: the watchdog stood down first.
    Here(Report),
    /// The watchdog, which fired while the runtime was shutting down (the process prints one
    /// report), with the exit code the report it wrote gives.
    ByWatchdog(Report, u8),
}

impl Reported {
    fn into_report(self) -> Report {
        match self {
            Self::Here(report) | Self::ByWatchdog(report, _) => report,
        }
    }
}

/// Aborts the whole tree when [`Root::run`]'s future is dropped before it completes (under a
/// `timeout` or a `select!`), so that nothing keeps running unsupervised.
struct AbortOnDrop {
    root: Arc<Node>,
    watchdog: Option<Watchdog>,
    finished: bool,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let shared = &self.root.tree;
        // Before the abort: what it cuts says so.
        shared.note_run_dropped();
        shared.abort_now();
        // Nothing drains this tree any more: every scope refuses work from now on.
        self.root.abort_subtree();
        // Not ready, and over: a snapshot shows it stopped (no report is made).
        shared.readiness.stopping(&shared.events);
        shared.finish();
        if let Some(watchdog) = &self.watchdog {
            // No report is made for a tree whose run was dropped.
            let _ = watchdog.disarm();
        }
        log(|| tracing::warn!("the root's future was dropped: the tree was aborted"));
    }
}

#[cfg(test)]
mod tests {
    use std::env::VarError;

    use super::*;

    /// Unset or empty is none; an address needs the `health` feature; anything else is a
    /// start-up error that names the variable.
    #[test]
    fn the_health_address_comes_from_the_environment() {
        let addr = |value: &str| health_addr_from(Ok(value.to_owned()));
        assert_eq!(health_addr_from(Err(VarError::NotPresent)).unwrap(), None);
        assert_eq!(addr(" ").unwrap(), None);
        let error = addr("localhost:8081").unwrap_err();
        assert_eq!(error.exit_code(), crate::exit_code::CONFIG);
        if cfg!(feature = "health") {
            assert_eq!(
                addr(" [::1]:8081 ").unwrap(),
                Some(std::net::SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], 8081)))
            );
            assert_eq!(
                error.to_string(),
                "CANSTOP_HEALTH_ADDR=\"localhost:8081\": expected an IP address and a port, \
                 such as `0.0.0.0:8081` or `[::]:8081`"
            );
        } else {
            let error = addr("0.0.0.0:8081").unwrap_err().to_string();
            assert!(error.contains("`health` feature"), "{error}");
        }
    }

    /// `text`, empty or unset is the text; `json` needs the `serde` feature; anything else is
    /// a start-up error that names the variable.
    #[test]
    fn the_report_format_comes_from_the_environment() {
        let format = |value: &str| report_format_from(Ok(value.to_owned()));
        assert_eq!(
            report_format_from(Err(VarError::NotPresent)).unwrap(),
            ReportFormat::Text
        );
        assert_eq!(format("").unwrap(), ReportFormat::Text);
        assert_eq!(format(" text ").unwrap(), ReportFormat::Text);
        let error = format("xml").unwrap_err();
        assert_eq!(error.exit_code(), crate::exit_code::CONFIG);
        assert_eq!(
            error.to_string(),
            "CANSTOP_REPORT=\"xml\": expected `text` or `json`"
        );
        if cfg!(feature = "serde") {
            assert_eq!(format("json").unwrap(), ReportFormat::Json);
        } else {
            let error = format("json").unwrap_err().to_string();
            assert!(error.contains("enable it"), "{error}");
            assert!(error.contains("`serde` feature"), "{error}");
        }
    }
}
