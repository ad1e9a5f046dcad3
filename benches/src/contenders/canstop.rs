//! canstop through its runtime API (no macros; `canstop_macro.rs` has the same with them): a
//! `Root` without signal handlers, and sessions spawned with `canstop::spawn(Session::new(..))`,
//! in the root scope (`main`'s body) or inside a service (an accept loop). The owner knows that
//! every session has finished when `Root::run` returns its report; the report is checked for
//! all `n`.
//!
//! A service cycle is `canstop::start(Service::new(..))` from the same two places, then
//! `ServiceHandle::stop` and `ServiceHandle::stopped`; the report is checked for `n` services
//! stopped cleanly.
//!
//! The restarts: `canstop::start(Service::restartable(..))` in the root scope, a factory
//! whose body fails at once, restarted on failure without limit (`u32::MAX` restarts within
//! the default window) and without backoff (`0s..0s`); the `n`-th restart's instance stops
//! the tree. The report is checked for `n` restarts and `n` handled failures.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use canstop::{
    MainResult, Report, Restart, Root, Service, ServiceOutcome, Session, Shutdown, SpawnError,
};

use super::{short_request, RESTART_FAILURE};
use crate::probe::{Cycled, Cycles, Parked, Probe, Restarts};

/// What every session is counted as in the report.
const KIND: &str = "bench";

/// The name of every cycled service.
pub(super) const SERVICE: &str = "svc";

/// The name of the restarted service.
pub(super) const RESTARTED: &str = "flaky";

/// No signal handlers, no environment, and a deadline far above any round: an abort would be
/// a failed measurement, not a result. In production mode, also the health endpoints and the
/// metrics export (see `production.rs`).
pub(super) fn root() -> Root {
    crate::production::configure(
        Root::new()
            .signals(false)
            .timeout_from_env(false)
            .timeout(Duration::from_secs(600)),
    )
}

/// A session that parks until its scope is told to stop.
fn parked_session(probe: &'static Probe) -> Session<impl canstop::SessionBody> {
    Session::new(KIND, move |shutdown: Shutdown| async move {
        probe.park();
        shutdown.requested().await;
    })
}

/// A session that finishes at once (it does not need its `Shutdown`).
fn short_session(i: usize) -> Session<impl canstop::SessionBody> {
    Session::from_future(KIND, async move { short_request(i) })
}

pub(super) async fn root_parked(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    parked_round(n, probe, async move {
        probe.begin();
        for _ in 0..n {
            canstop::spawn(parked_session(probe))?;
        }
        probe.all_parked().await;
        probe.fire();
        canstop::shutdown()
    })
    .await
}

pub(super) async fn service_parked(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    parked_round(n, probe, async move {
        canstop::start(Service::new(
            "acceptor",
            move |shutdown: Shutdown| async move {
                probe.begin();
                for _ in 0..n {
                    canstop::spawn(parked_session(probe))?;
                }
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            },
        ))?;
        probe.all_parked().await;
        probe.fire();
        canstop::shutdown()
    })
    .await
}

pub(super) async fn root_churn(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    // A tree that starts no service ends once `main`'s body has returned and its sessions
    // have finished: the report is the owner knowing.
    churn_round(n, probe, async move {
        probe.begin();
        for i in 0..n {
            canstop::spawn(short_session(i))?;
        }
        Ok::<(), SpawnError>(())
    })
    .await
}

/// How often the snapshot thread of [`state_churn`] takes a snapshot.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(1);

/// [`root_churn`], with a plain thread that takes a state snapshot of the root scope every
/// [`SNAPSHOT_EVERY`] meanwhile (a scraper far more eager than any): the difference with
/// `canstop-root` is what snapshots cost the sessions. Prints how many snapshots were taken
/// and their mean cost to stderr. Without `snapshots`, the thread wakes as often and takes
/// none: the control, what a third thread waking every millisecond costs by itself.
pub(super) async fn state_churn(
    n: usize,
    probe: &'static Probe,
    snapshots: bool,
) -> Result<Duration, String> {
    let done = Arc::new(AtomicBool::new(false));
    let (scope_tx, scope_rx) = std::sync::mpsc::channel::<canstop::Scope>();
    let taker = {
        let done = done.clone();
        std::thread::spawn(move || {
            let Ok(scope) = scope_rx.recv() else {
                return (0u32, Duration::ZERO);
            };
            let (mut taken, mut spent) = (0u32, Duration::ZERO);
            // At least one, also when the churn ends before this thread first runs (a tiny n).
            loop {
                let start = std::time::Instant::now();
                if snapshots {
                    std::hint::black_box(scope.state());
                }
                spent += start.elapsed();
                taken += 1;
                if done.load(Ordering::Acquire) {
                    break;
                }
                std::thread::sleep(SNAPSHOT_EVERY);
            }
            (taken, spent)
        })
    };
    let round = churn_round(n, probe, async move {
        let _ = scope_tx.send(canstop::scope()?);
        probe.begin();
        for i in 0..n {
            canstop::spawn(short_session(i))?;
        }
        Ok::<(), SpawnError>(())
    })
    .await;
    done.store(true, Ordering::Release);
    let (taken, spent) = taker.join().map_err(|_| "the snapshot thread panicked")?;
    if taken == 0 {
        return Err("no state snapshot was taken during the churn".to_owned());
    }
    if !snapshots {
        return round;
    }
    eprintln!(
        "canstop-state: {taken} snapshots during the churn, {:?} each on average",
        spent / taken
    );
    round
}

pub(super) async fn service_churn(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    // The service spawns, then says it is done (TaskTracker's `close`); the sessions run to
    // completion in the drain.
    churn_round(n, probe, async move {
        canstop::start(Service::new(
            "acceptor",
            move |shutdown: Shutdown| async move {
                probe.begin();
                for i in 0..n {
                    canstop::spawn(short_session(i))?;
                }
                shutdown.shutdown_tree();
                Ok::<(), SpawnError>(())
            },
        ))?;
        Ok::<(), SpawnError>(())
    })
    .await
}

/// A service that is up until it is told to stop: it says so, then waits for its stop.
fn cycled_service(cycles: &'static Cycles) -> Service {
    Service::new(SERVICE, move |shutdown: Shutdown| async move {
        cycles.up();
        shutdown.requested().await;
    })
}

/// The start + stop cycles in the current scope, one service at a time, each built by `make`
/// (the runtime API's or the macro's).
pub(super) async fn cycle(
    cycles: &'static Cycles,
    make: impl Fn() -> Service,
) -> Result<(), SpawnError> {
    cycles.begin();
    while cycles.another() {
        let service = canstop::start(make())?;
        cycles.wait_up().await;
        service.stop();
        service.stopped().await;
    }
    cycles.end();
    Ok(())
}

pub(super) async fn root_service_cycles(
    n: usize,
    cycles: &'static Cycles,
) -> Result<Cycled, String> {
    cycles_round(n, cycles, async move {
        cycle(cycles, || cycled_service(cycles)).await?;
        canstop::shutdown()
    })
    .await
}

pub(super) async fn service_service_cycles(
    n: usize,
    cycles: &'static Cycles,
) -> Result<Cycled, String> {
    cycles_round(n, cycles, async move {
        canstop::start(Service::new(
            "owner",
            move |shutdown: Shutdown| async move {
                cycle(cycles, || cycled_service(cycles)).await?;
                shutdown.shutdown_tree();
                Ok::<(), SpawnError>(())
            },
        ))?;
        Ok::<(), SpawnError>(())
    })
    .await
}

/// Runs `body` under a fresh root; once its report is in, reads the round's `figure` and
/// checks the report with `check`. What every `*_round` below does.
async fn round<F, T>(
    body: F,
    figure: impl FnOnce() -> Result<T, String>,
    check: impl FnOnce(&Report) -> Result<(), String>,
) -> Result<T, String>
where
    F: Future,
    F::Output: MainResult,
{
    let report = root().run(body).await.map_err(|error| error.to_string())?;
    let figure = figure()?;
    check(&report)?;
    Ok(figure)
}

/// The tree stopped cleanly.
fn clean(report: &Report) -> Result<(), String> {
    if report.is_clean() {
        Ok(())
    } else {
        Err(format!("the tree did not stop cleanly:\n{report}"))
    }
}

/// Runs a service-cycles round's `body` under a fresh root: the figures (taken inside, right
/// after the last cycle), the report checked for `n` services named [`SERVICE`] stopped
/// cleanly.
pub(super) async fn cycles_round<F>(
    n: usize,
    cycles: &'static Cycles,
    body: F,
) -> Result<Cycled, String>
where
    F: Future,
    F::Output: MainResult,
{
    round(body, || cycles.result(), |report| check_cycles(report, n)).await
}

/// `n` services named [`SERVICE`] stopped cleanly (kept or folded), and the tree too.
fn check_cycles(report: &Report, n: usize) -> Result<(), String> {
    let kept = report
        .all_services()
        .into_iter()
        .filter(|service| service.name == SERVICE)
        .map(|service| {
            if service.outcome == ServiceOutcome::Stopped {
                Ok(1)
            } else {
                Err(format!("{}: {}:\n{report}", service.path, service.outcome))
            }
        })
        .sum::<Result<u64, String>>()?;
    let folded: u64 = report
        .all_folded()
        .into_iter()
        .filter(|folded| folded.name == SERVICE)
        .map(|folded| folded.clean)
        .sum();
    if kept + folded != n as u64 {
        return Err(format!(
            "{kept} + {folded} folded services stopped cleanly, expected {n}:\n{report}"
        ));
    }
    clean(report)
}

/// A service whose body fails at once, restarted on failure without limit and without
/// backoff; the `n`-th restart's instance stops the tree and waits for its stop.
fn flaky(restarts: &'static Restarts) -> Service {
    Service::restartable(RESTARTED, move |shutdown: Shutdown| async move {
        if restarts.instance() {
            shutdown.shutdown_tree();
            shutdown.requested().await;
            return Ok(());
        }
        Err(RESTART_FAILURE)
    })
    .restart(Restart::OnFailure)
    .max_restarts(u32::MAX)
    .backoff(Duration::ZERO, Duration::ZERO)
}

pub(super) async fn root_restarts(
    n: usize,
    restarts: &'static Restarts,
) -> Result<Duration, String> {
    restarts_round(n, restarts, async move {
        canstop::start(flaky(restarts))?;
        Ok::<(), SpawnError>(())
    })
    .await
}

/// Runs a restart round's `body` under a fresh root: the time, the report checked for one
/// service named [`RESTARTED`] restarted `n` times after `n` handled failures, then stopped
/// cleanly.
pub(super) async fn restarts_round<F>(
    n: usize,
    restarts: &'static Restarts,
    body: F,
) -> Result<Duration, String>
where
    F: Future,
    F::Output: MainResult,
{
    round(
        body,
        || restarts.result(),
        |report| check_restarts(report, n),
    )
    .await
}

/// The service named [`RESTARTED`] restarted `n` times after `n` handled failures, then
/// stopped cleanly.
fn check_restarts(report: &Report, n: usize) -> Result<(), String> {
    let service = report
        .service(RESTARTED)
        .ok_or_else(|| format!("no service {RESTARTED:?} in the report:\n{report}"))?;
    let n = n as u64;
    let failed = service
        .failures
        .last()
        .is_some_and(|failure| failure.message == RESTART_FAILURE);
    if service.restarts != n || service.failure_count != n || !failed {
        return Err(format!(
            "{} restarts and {} failures, expected {n} of each:\n{report}",
            service.restarts, service.failure_count
        ));
    }
    if service.outcome != ServiceOutcome::Stopped {
        return Err(format!("{RESTARTED} did not stop cleanly:\n{report}"));
    }
    clean(report)
}

/// Runs a parked round's `body` under a fresh root: the figures once the report is in, the
/// report checked.
pub(super) async fn parked_round<F>(
    n: usize,
    probe: &'static Probe,
    body: F,
) -> Result<Parked, String>
where
    F: Future,
    F::Output: MainResult,
{
    round(body, || probe.finish(), |report| check(report, n)).await
}

/// Runs a churn round's `body` under a fresh root: the time until the report is in, the
/// report checked.
pub(super) async fn churn_round<F>(
    n: usize,
    probe: &'static Probe,
    body: F,
) -> Result<Duration, String>
where
    F: Future,
    F::Output: MainResult,
{
    round(
        body,
        || Ok(probe.began_at().elapsed()),
        |report| check(report, n),
    )
    .await
}

/// Every session started and finished, and the tree stopped cleanly.
pub(super) fn check(report: &Report, n: usize) -> Result<(), String> {
    let sessions = report
        .sessions_named(KIND)
        .ok_or_else(|| format!("no {KIND:?} sessions in the report:\n{report}"))?;
    if sessions.started != n as u64 || sessions.finished != n as u64 {
        return Err(format!(
            "{} started, {} finished, expected {n}:\n{report}",
            sessions.started, sessions.finished
        ));
    }
    clean(report)
}
