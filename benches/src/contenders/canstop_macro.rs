//! canstop as users write it: `#[session]` fns spawned with `canstop::spawn(..)?` from a
//! `#[service]` fn. The macros expand to `Session::with_kind(..)` and `Service::new(..)`, so
//! this must cost what `canstop-service` costs (the runtime API inside a service).
//!
//! Its service cycle: a `#[service]` fn that waits for its stop, started, stopped and waited
//! for from another `#[service]` fn.
//!
//! Its restarts: a `#[service(restart = "on-failure", max_restarts = 4294967295,
//! backoff = "0s..0s")]` fn whose body fails at once, started in the root scope (as the
//! runtime API's is, so that the two differ only by the macro).

use std::time::Duration;

use canstop::{service, session, Shutdown, SpawnError};
use canstop_examples::http::app;
use tokio::net::TcpListener;

use super::canstop::{churn_round, cycles_round, parked_round, restarts_round, root};
use super::http::{Served, Until};
use super::{short_request, RESTART_FAILURE};
use crate::probe::{Cycled, Cycles, Parked, Probe, Restarts};

/// One parked session: counted as `bench` in the report.
#[session(name = "bench")]
async fn parked(probe: &'static Probe, shutdown: Shutdown) {
    probe.park();
    shutdown.requested().await;
}

/// One short request.
#[session(name = "bench")]
async fn short(i: usize) {
    short_request(i);
}

/// The accept loop of the parked scenario.
#[service]
async fn acceptor(probe: &'static Probe, n: usize, shutdown: Shutdown) -> Result<(), SpawnError> {
    probe.begin();
    for _ in 0..n {
        canstop::spawn(parked(probe))?;
    }
    shutdown.requested().await;
    Ok(())
}

/// The accept loop of the churn scenario: spawns, then says it is done.
#[service]
async fn churner(probe: &'static Probe, n: usize, shutdown: Shutdown) -> Result<(), SpawnError> {
    probe.begin();
    for i in 0..n {
        canstop::spawn(short(i))?;
    }
    shutdown.shutdown_tree();
    Ok(())
}

/// A long-lived service: up until it is told to stop. Named as the runtime API's is
/// ([`super::canstop::SERVICE`]), which the report check counts.
#[service(name = "svc")]
async fn cycled(cycles: &'static Cycles, shutdown: Shutdown) {
    cycles.up();
    shutdown.requested().await;
}

/// The owner of the service cycles: one service at a time, then it is done.
#[service]
async fn cycler(cycles: &'static Cycles, shutdown: Shutdown) -> Result<(), SpawnError> {
    super::canstop::cycle(cycles, || cycled(cycles)).await?;
    shutdown.shutdown_tree();
    Ok(())
}

pub(super) async fn service_cycles(n: usize, cycles: &'static Cycles) -> Result<Cycled, String> {
    cycles_round(n, cycles, async move {
        canstop::start(cycler(cycles))?;
        Ok::<(), SpawnError>(())
    })
    .await
}

/// A service whose body fails at once, restarted on failure without limit (`u32::MAX`, the
/// largest `max_restarts`) and without backoff; the `n`-th restart's instance stops the tree
/// and waits for its stop. Named as the runtime API's is ([`super::canstop::RESTARTED`]),
/// which the report check looks up.
#[service(
    name = "flaky",
    restart = "on-failure",
    max_restarts = 4294967295,
    backoff = "0s..0s"
)]
async fn flaky(restarts: &'static Restarts, shutdown: Shutdown) -> Result<(), &'static str> {
    if restarts.instance() {
        shutdown.shutdown_tree();
        shutdown.requested().await;
        return Ok(());
    }
    Err(RESTART_FAILURE)
}

pub(super) async fn restarts(n: usize, restarts: &'static Restarts) -> Result<Duration, String> {
    restarts_round(n, restarts, async move {
        canstop::start(flaky(restarts))?;
        Ok::<(), SpawnError>(())
    })
    .await
}

pub(super) async fn parked_scenario(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    parked_round(n, probe, async move {
        canstop::start(acceptor(probe, n))?;
        probe.all_parked().await;
        probe.fire();
        canstop::shutdown()
    })
    .await
}

pub(super) async fn churn_scenario(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    churn_round(n, probe, async move {
        canstop::start(churner(probe, n))?;
        Ok::<(), SpawnError>(())
    })
    .await
}

/// The http example's server itself: `canstop::http::serve` with the example's routes, a
/// service whose every connection is a session, under a `Root` as `main` starts it.
pub(super) async fn http(listener: TcpListener, until: Until) -> Result<Served, String> {
    let report = root()
        .run(async move {
            canstop::start(canstop::http::serve(listener, app()))?;
            until.wait().await;
            canstop::shutdown()
        })
        .await
        .map_err(|error| error.to_string())?;
    if !report.is_clean() {
        return Err(format!("the tree did not stop cleanly:\n{report}"));
    }
    let connections = report
        .sessions_named("http connection")
        .ok_or_else(|| format!("no connection sessions in the report:\n{report}"))?;
    if connections.ended() != connections.started {
        return Err(format!("not every connection ended:\n{report}"));
    }
    Ok(Served {
        accepted: connections.started as usize,
        failed: (connections.ended() - connections.finished) as usize,
        errors: connections.errors.clone(),
    })
}
