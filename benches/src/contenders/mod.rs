//! The contenders and the workloads.
//!
//! Every contender implements two scenarios, written the way a user of that library would
//! write them:
//!
//! - **parked**: spawn `n` tracked tasks that each wait for the stop signal; once all have
//!   parked ([`Probe::park`]), read the resident set, fire the stop, and wait until the
//!   owner knows all `n` have finished. It yields the *spawn*, *memory* and *shutdown*
//!   workloads (each measured in its own process: the child reports only the one asked for).
//! - **churn**: spawn `n` tracked tasks that finish at once (a short request), and wait until
//!   the owner knows they are all done.
//!
//! Every scenario runs inside a task spawned on the runtime (so the spawning code runs on a
//! worker thread, as an accept loop does), and the clock starts right before the first spawn
//! ([`Probe::begin`]): setting up a `Root`, a `Toplevel` or a `Shutdown` is not timed.

use std::time::Duration;

use crate::probe::{Parked, Probe};

mod canstop;
mod canstop_macro;
mod graceful;
mod raw;
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
    // SLOT: `Http` — the http example's throughput with a session per connection vs the
    // same server with plain tokio tasks, under a load client on loopback. It needs the
    // examples issue and the macros; the table is one row per (workload, contender), so it
    // only adds rows (for the two contenders it applies to).
}

impl Workload {
    pub(crate) const ALL: [Self; 4] = [Self::Spawn, Self::Shutdown, Self::Memory, Self::Churn];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::Spawn => "spawn",
            Self::Shutdown => "shutdown",
            Self::Memory => "memory",
            Self::Churn => "churn",
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
        }
    }

    /// Whether the value is a duration in nanoseconds (else bytes per task).
    pub(crate) fn is_time(self) -> bool {
        !matches!(self, Self::Memory)
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
}

impl Contender {
    pub(crate) const ALL: [Self; 8] = [
        Self::RawNotify,
        Self::TrackerToken,
        Self::TgsTracker,
        Self::TgsSubsystems,
        Self::GracefulGuards,
        Self::CanstopRoot,
        Self::CanstopService,
        Self::CanstopMacro,
    ];

    /// What the ratios are taken to.
    pub(crate) const BASELINE: Self = Self::TrackerToken;

    /// What canstop's shutdown time is compared with.
    pub(crate) const RAW: Self = Self::RawNotify;

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
        }
    }

    /// Whether the targets apply to it.
    pub(crate) fn is_canstop(self) -> bool {
        matches!(
            self,
            Self::CanstopRoot | Self::CanstopService | Self::CanstopMacro
        )
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
        }
    }
}

/// The work of one churn task: nothing the optimiser can remove, nothing that takes time.
#[inline]
fn short_request(i: usize) {
    std::hint::black_box(i);
}
