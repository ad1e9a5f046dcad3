//! The contenders and the workloads.
//!
//! Every contender but the restart floor implements two scenarios, written the way a user of
//! that library would write them:
//!
//! - **parked**: spawn `n` tracked tasks that each wait for the stop signal; once all have
//!   parked ([`Probe::park`]), read the resident set, fire the stop, and wait until the
//!   owner knows all `n` have finished. It yields the *spawn*, *memory* and *shutdown*
//!   workloads (each measured in its own process: the child reports only the one asked for).
//! - **churn**: spawn `n` tracked tasks that finish at once (a short request), and wait until
//!   the owner knows they are all done.
//!
//! The contenders that have a notion of a service (a long-lived task with its own stop, that
//! its owner can stop alone and wait for) implement a third:
//!
//! - **service cycles**: `n` start + stop cycles, one service at a time: start a service
//!   whose body waits for its stop signal, wait until it is up ([`Cycles::up`]), stop it,
//!   and wait until it has fully stopped. It yields the *service-churn* workload (time per
//!   cycle) and the *service-retained* workload (resident-set growth per cycle, read after
//!   the last cycle while the owner's tree still lives: a tree that starts and stops services
//!   all day must retain a bounded amount whatever `n`).
//!
//! The contenders that restart a failed body by policy implement a fourth, against a
//! hand-written floor ([`Contender::RestartFloor`]):
//!
//! - **restarts**: one service whose body fails at once (`Err`), restarted `n` times in a
//!   row with no backoff ([`Restarts`]): the time from the first instance's start to the
//!   `n`-th restart's, per restart.
//!
//! Every scenario runs inside a task spawned on the runtime (so the spawning code runs on a
//! worker thread, as an accept loop does), and the clock starts right before the first spawn
//! ([`Probe::begin`]): setting up a `Root`, a `Toplevel` or a `Shutdown` is not timed.
//!
//! The **http** workload is the http example's server under load (see [`http`]); only the
//! contenders it compares take part in it ([`Contender::supports`]).

use std::time::Duration;

use crate::load::HttpOptions;
use crate::probe::{Cycled, Cycles, Parked, Probe, Restarts};

mod axum_serve;
mod canstop;
mod canstop_macro;
mod graceful;
mod http;
mod raw;
mod restart_floor;
mod tgs;
mod tracker;

/// A workload: one column of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Workload {
    /// Spawn `n` tasks that wait for the stop signal: time until all are parked.
    Spawn,
    /// Fire the stop: time until the owner knows all `n` parked tasks have finished.
    Shutdown,
    /// Resident-set growth per parked task, in bytes.
    Memory,
    /// `n` tasks that finish at once: time until the owner knows they are all done.
    Churn,
    /// The http example's throughput (requests per second) with a session per connection,
    /// against `axum::serve` and the same server with plain tokio tasks, under a load client
    /// on loopback (built in, wrk or h2load). It ignores `n`: its load is [`HttpOptions`].
    Http,
    /// `n` service start + stop cycles, one service at a time: time per cycle.
    ServiceChurn,
    /// The same cycles: resident-set growth per cycle, after the last one.
    ServiceRetained,
    /// One service whose body fails at once, restarted `n` times in a row with no backoff:
    /// time per restart.
    Restart,
}

/// What a workload's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A duration, in nanoseconds: lower is better.
    Nanos,
    /// Bytes per task: lower is better.
    BytesPerTask,
    /// Requests per second: higher is better.
    RequestsPerSec,
    /// A duration per service cycle, in nanoseconds: lower is better.
    NanosPerCycle,
    /// Bytes retained per service cycle: lower is better.
    BytesPerCycle,
    /// A duration per restart, in nanoseconds: lower is better.
    NanosPerRestart,
}

impl Unit {
    /// The unit of the raw values (the runner's progress lines).
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Self::Nanos => "ns",
            Self::BytesPerTask => "B/task",
            Self::RequestsPerSec => "req/s",
            Self::NanosPerCycle => "ns/cycle",
            Self::BytesPerCycle => "B/cycle",
            Self::NanosPerRestart => "ns/restart",
        }
    }
}

impl Workload {
    pub(crate) const ALL: [Self; 8] = [
        Self::Spawn,
        Self::Shutdown,
        Self::Memory,
        Self::Churn,
        Self::Http,
        Self::ServiceChurn,
        Self::ServiceRetained,
        Self::Restart,
    ];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::Spawn => "spawn",
            Self::Shutdown => "shutdown",
            Self::Memory => "memory",
            Self::Churn => "churn",
            Self::Http => "http",
            Self::ServiceChurn => "service-churn",
            Self::ServiceRetained => "service-retained",
            Self::Restart => "restart",
        }
    }

    pub(crate) fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|workload| workload.id() == id)
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Spawn => "spawn n tasks that wait for the stop; time until all are parked",
            Self::Shutdown => "fire the stop; time until the owner knows all n have finished",
            Self::Memory => "resident-set growth per parked task (bytes)",
            Self::Churn => "n tasks that finish at once; time until the owner knows",
            Self::Http => "the http example under a load client: requests/s (ignores n)",
            Self::ServiceChurn => "n service start + stop cycles, one at a time: time per cycle",
            Self::ServiceRetained => "the same cycles: resident-set growth per cycle (bytes)",
            Self::Restart => "a failing service restarted n times, no backoff: time per restart",
        }
    }

    pub(crate) fn unit(self) -> Unit {
        match self {
            Self::Spawn | Self::Shutdown | Self::Churn => Unit::Nanos,
            Self::Memory => Unit::BytesPerTask,
            Self::Http => Unit::RequestsPerSec,
            Self::ServiceChurn => Unit::NanosPerCycle,
            Self::ServiceRetained => Unit::BytesPerCycle,
            Self::Restart => Unit::NanosPerRestart,
        }
    }

    /// Whether the contenders of one run are measured side by side in one process (their
    /// servers loaded in turn by one load client), rather than each in a fresh process.
    pub(crate) fn side_by_side(self) -> bool {
        self == Self::Http
    }

    /// Whether `--warmup` rounds apply: the memory workloads need a fresh heap (freed memory
    /// would be reused), and the http workload warms up inside its round, on the same
    /// connections ([`HttpOptions::warmup`]).
    pub(crate) fn takes_warmup_rounds(self) -> bool {
        matches!(
            self.unit(),
            Unit::Nanos | Unit::NanosPerCycle | Unit::NanosPerRestart
        )
    }
}

/// A contender: one way of writing tracked tasks with a stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Contender {
    /// `tokio::spawn`, a `Notify` stop signal and a hand-rolled countdown of live tasks.
    RawNotify,
    /// tokio-util's `TaskTracker` + `CancellationToken`: the baseline.
    TrackerToken,
    /// tokio-graceful-shutdown: a `TaskTracker` inside one subsystem.
    TgsTracker,
    /// tokio-graceful-shutdown: one subsystem per task.
    TgsSubsystems,
    /// tokio-graceful: one `ShutdownGuard` per task (`Shutdown::spawn_task_fn`).
    GracefulGuards,
    /// canstop's runtime API: sessions spawned in the root scope (`main`'s body).
    CanstopRoot,
    /// canstop's runtime API: sessions spawned by a service (an accept loop).
    CanstopService,
    /// canstop as users write it: `#[session]` fns spawned by a `#[service]` fn. The macros
    /// expand to the runtime API: it must cost what `CanstopService` costs.
    CanstopMacro,
    /// `CanstopRoot`'s churn with a thread that takes a state snapshot
    /// ([`canstop::Scope::state`]) every millisecond meanwhile: what a snapshot costs the
    /// sessions (the churn workload only).
    CanstopState,
    /// `CanstopState`'s control: the same thread, waking every millisecond, taking no
    /// snapshot: what a third thread waking that often costs on its own.
    CanstopWakeup,
    /// The restart workload's floor: a loop in one task that builds a boxed body from a
    /// factory, polls it to its `Err`, and loops: what a restart must at least do.
    RestartFloor,
    /// `axum::serve` with the same router (the http workload only): what `canstop::http::serve`
    /// is compared with.
    AxumServe,
}

impl Contender {
    pub(crate) const ALL: [Self; 12] = [
        Self::RawNotify,
        Self::TrackerToken,
        Self::TgsTracker,
        Self::TgsSubsystems,
        Self::GracefulGuards,
        Self::CanstopRoot,
        Self::CanstopService,
        Self::CanstopMacro,
        Self::CanstopState,
        Self::CanstopWakeup,
        Self::RestartFloor,
        Self::AxumServe,
    ];

    /// What the ratios are taken to.
    pub(crate) const BASELINE: Self = Self::TrackerToken;

    /// What canstop's shutdown time is compared with.
    pub(crate) const RAW: Self = Self::RawNotify;

    /// What canstop's service cycle is compared with.
    pub(crate) const TGS: Self = Self::TgsSubsystems;

    /// What canstop's restart is compared with.
    pub(crate) const FLOOR: Self = Self::RestartFloor;

    /// What canstop's http server (`canstop::http::serve`) is compared with.
    pub(crate) const AXUM: Self = Self::AxumServe;

    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::RawNotify => "raw-notify",
            Self::TrackerToken => "tracker-token",
            Self::TgsTracker => "tgs-tracker",
            Self::TgsSubsystems => "tgs-subsystems",
            Self::GracefulGuards => "graceful-guards",
            Self::CanstopRoot => "canstop-root",
            Self::CanstopService => "canstop-service",
            Self::CanstopMacro => "canstop-macro",
            Self::CanstopState => "canstop-state",
            Self::CanstopWakeup => "canstop-wakeup",
            Self::RestartFloor => "restart-floor",
            Self::AxumServe => "axum-serve",
        }
    }

    pub(crate) fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|contender| contender.id() == id)
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::RawNotify => "raw tokio::spawn + Notify",
            Self::TrackerToken => "TaskTracker + CancellationToken",
            Self::TgsTracker => "tokio-graceful-shutdown, tracker in 1 subsystem",
            Self::TgsSubsystems => "tokio-graceful-shutdown, 1 subsystem per task",
            Self::GracefulGuards => "tokio-graceful guards",
            Self::CanstopRoot => "canstop runtime API, root scope",
            Self::CanstopService => "canstop runtime API, in a service",
            Self::CanstopMacro => "canstop #[session] in a #[service]",
            Self::CanstopState => "canstop root scope, state() every 1 ms",
            Self::CanstopWakeup => "canstop root scope, a thread waking every 1 ms",
            Self::RestartFloor => "hand-written restart loop (floor)",
            Self::AxumServe => "axum::serve",
        }
    }

    /// Its label in `workload`'s rows: the macro contender's restarted service is a
    /// `#[service(restart = ..)]` fn in the root scope, not sessions in a service.
    pub(crate) fn label_in(self, workload: Workload) -> &'static str {
        match (self, workload) {
            (Self::CanstopMacro, Workload::Restart) => {
                "canstop #[service(restart = ..)], root scope"
            }
            _ => self.label(),
        }
    }

    /// Whether the targets apply to it.
    pub(crate) fn is_canstop(self) -> bool {
        matches!(
            self,
            Self::CanstopRoot
                | Self::CanstopService
                | Self::CanstopMacro
                | Self::CanstopState
                | Self::CanstopWakeup
        )
    }

    /// Whether it takes part in `workload`. The http workload compares the http example
    /// (canstop as users write it) with the same server on plain tokio tasks and on the
    /// baseline; the other contenders differ from these only in how a task is spawned and
    /// stopped, which the other workloads measure. The service cycles take the contenders
    /// that can stop one long-lived task alone and wait for it: a task of its own with its own
    /// stop signal (raw tokio, tokio-util), a subsystem, a canstop service; not a tracker
    /// inside one subsystem, nor tokio-graceful's guards, which have one stop for all. The
    /// restarts take canstop's restart policy (a root-scope service through the runtime API
    /// and the same through `#[service(restart = ..)]`) and the hand-written floor, which
    /// takes part in nothing else; tokio-util, tokio-graceful-shutdown and tokio-graceful have
    /// no restart policy to measure.
    pub(crate) fn supports(self, workload: Workload) -> bool {
        if self == Self::RestartFloor {
            return workload == Workload::Restart;
        }
        if self == Self::AxumServe {
            return workload == Workload::Http;
        }
        if matches!(self, Self::CanstopState | Self::CanstopWakeup) {
            return workload == Workload::Churn;
        }
        match workload {
            Workload::Http => matches!(
                self,
                Self::RawNotify | Self::TrackerToken | Self::CanstopMacro | Self::AxumServe
            ),
            Workload::ServiceChurn | Workload::ServiceRetained => {
                !matches!(self, Self::TgsTracker | Self::GracefulGuards)
            }
            Workload::Restart => matches!(self, Self::CanstopRoot | Self::CanstopMacro),
            Workload::Spawn | Workload::Shutdown | Workload::Memory | Workload::Churn => true,
        }
    }

    /// The parked scenario (spawn, memory and shutdown workloads).
    pub(crate) async fn parked(self, n: usize) -> Result<Parked, String> {
        let probe = Probe::leak(n);
        match self {
            Self::RawNotify => raw::parked(n, probe).await,
            Self::TrackerToken => tracker::parked(n, probe).await,
            Self::TgsTracker => tgs::tracker_parked(n, probe).await,
            Self::TgsSubsystems => tgs::subsystems_parked(n, probe).await,
            Self::GracefulGuards => graceful::parked(n, probe).await,
            Self::CanstopRoot => canstop::root_parked(n, probe).await,
            Self::CanstopService => canstop::service_parked(n, probe).await,
            Self::CanstopMacro => canstop_macro::parked_scenario(n, probe).await,
            Self::CanstopState | Self::CanstopWakeup | Self::RestartFloor | Self::AxumServe => {
                Err(format!("{} has no parked tasks", self.id()))
            }
        }
    }

    /// The churn scenario: the time from the first spawn until the owner knows all are done.
    pub(crate) async fn churn(self, n: usize) -> Result<Duration, String> {
        let probe = Probe::leak(n);
        match self {
            Self::RawNotify => raw::churn(n, probe).await,
            Self::TrackerToken => tracker::churn(n, probe).await,
            Self::TgsTracker => tgs::tracker_churn(n, probe).await,
            Self::TgsSubsystems => tgs::subsystems_churn(n, probe).await,
            Self::GracefulGuards => graceful::churn(n, probe).await,
            Self::CanstopRoot => canstop::root_churn(n, probe).await,
            Self::CanstopService => canstop::service_churn(n, probe).await,
            Self::CanstopMacro => canstop_macro::churn_scenario(n, probe).await,
            Self::CanstopState => canstop::state_churn(n, probe, true).await,
            Self::CanstopWakeup => canstop::state_churn(n, probe, false).await,
            Self::RestartFloor | Self::AxumServe => Err(format!("{} has no churn", self.id())),
        }
    }

    /// The service cycles (service-churn and service-retained workloads): `n` start + stop
    /// cycles, one service at a time.
    /// `memory` for the service-retained workload (see [`Cycles`]).
    pub(crate) async fn service_cycles(self, n: usize, memory: bool) -> Result<Cycled, String> {
        let cycles = Cycles::leak(n, memory);
        match self {
            Self::RawNotify => raw::service_cycles(cycles).await,
            Self::TrackerToken => tracker::service_cycles(cycles).await,
            Self::TgsSubsystems => tgs::service_cycles(cycles).await,
            Self::CanstopRoot => canstop::root_service_cycles(n, cycles).await,
            Self::CanstopService => canstop::service_service_cycles(n, cycles).await,
            Self::CanstopMacro => canstop_macro::service_cycles(n, cycles).await,
            other => Err(format!("{} has no service to cycle", other.id())),
        }
    }

    /// The restarts (restart workload): the time from the first instance's start to the
    /// `n`-th restart's instance's (see [`Restarts`]).
    pub(crate) async fn restarts(self, n: usize) -> Result<Duration, String> {
        let restarts = Restarts::leak(n);
        match self {
            Self::RestartFloor => restart_floor::restarts(n, restarts).await,
            Self::CanstopRoot => canstop::root_restarts(n, restarts).await,
            Self::CanstopMacro => canstop_macro::restarts(n, restarts).await,
            other => Err(format!("{} has no restart policy", other.id())),
        }
    }

    /// The http workload: requests per second, one list of values per contender (one value
    /// per measured round). The contenders' servers run side by side in this process, loaded
    /// in turn (see [`http`]).
    pub(crate) async fn http(
        contenders: &[Self],
        options: HttpOptions,
    ) -> Result<Vec<Vec<f64>>, String> {
        if let Some(other) = contenders.iter().find(|c| !c.supports(Workload::Http)) {
            return Err(format!("{} does not take part in http", other.id()));
        }
        http::measure(contenders, options).await
    }

    /// This contender's http server on `listener`, until `until`.
    async fn serve_http(
        self,
        listener: tokio::net::TcpListener,
        until: http::Until,
    ) -> Result<http::Served, String> {
        match self {
            Self::RawNotify => raw::http(listener, until).await,
            Self::TrackerToken => tracker::http(listener, until).await,
            Self::CanstopMacro => canstop_macro::http(listener, until).await,
            Self::AxumServe => axum_serve::http(listener, until).await,
            other => Err(format!("{} does not take part in http", other.id())),
        }
    }
}

/// The error every failing instance of the restart workload returns (a `&'static str`: no
/// allocation of the harness's own in a restart).
const RESTART_FAILURE: &str = "instance failed";

/// The work of one churn task: nothing the optimiser can remove, nothing that takes time.
#[inline]
fn short_request(i: usize) {
    std::hint::black_box(i);
}
