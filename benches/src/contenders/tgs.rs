//! tokio-graceful-shutdown: a `Toplevel` whose shutdown token the owner cancels, with either
//! a `TaskTracker` inside one subsystem (its docs' advice for connection handlers), or one
//! subsystem per task. A service cycle is a nested subsystem, started from the root
//! subsystem, stopped with `initiate_shutdown` and waited for with `join`.

use std::convert::Infallible;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_graceful_shutdown::errors::GracefulShutdownError;
use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::short_request;
use crate::probe::{Cycled, Cycles, Parked, Probe};

/// Far above any round: a timeout would be a failed measurement, not a result.
const TIMEOUT: Duration = Duration::from_secs(600);

type Running = JoinHandle<Result<(), GracefulShutdownError>>;

/// Runs `toplevel` on its own task, as a program's `main` would.
fn start(toplevel: Toplevel) -> Running {
    tokio::spawn(toplevel.handle_shutdown_requests(TIMEOUT))
}

/// Waits until `toplevel` has finished.
async fn finish(running: Running) -> Result<(), String> {
    running
        .await
        .map_err(|error| format!("the toplevel task failed: {error}"))?
        .map_err(|error| format!("tokio-graceful-shutdown: {error}"))
}

pub(super) async fn tracker_parked(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    let token = CancellationToken::new();
    let toplevel = Toplevel::new_with_shutdown_token(
        async move |s: &mut SubsystemHandle| {
            s.start(SubsystemBuilder::new(
                "bench",
                async move |subsys: &mut SubsystemHandle| {
                    let tracker = TaskTracker::new();
                    let cancel = subsys.create_cancellation_token();
                    probe.begin();
                    for _ in 0..n {
                        let cancel = cancel.clone();
                        tracker.spawn(async move {
                            probe.park();
                            cancel.cancelled().await;
                        });
                    }
                    tracker.close();
                    subsys.on_shutdown_requested().await;
                    tracker.wait().await;
                    Ok::<(), Infallible>(())
                },
            ));
        },
        token.clone(),
    );
    let running = start(toplevel);
    probe.all_parked().await;
    probe.fire();
    token.cancel();
    finish(running).await?;
    probe.finish()
}

pub(super) async fn subsystems_parked(n: usize, probe: &'static Probe) -> Result<Parked, String> {
    let token = CancellationToken::new();
    let toplevel = Toplevel::new_with_shutdown_token(
        async move |s: &mut SubsystemHandle| {
            probe.begin();
            for _ in 0..n {
                s.start(SubsystemBuilder::new(
                    "task",
                    async move |subsys: &mut SubsystemHandle| {
                        probe.park();
                        subsys.on_shutdown_requested().await;
                        Ok::<(), Infallible>(())
                    },
                ));
            }
        },
        token.clone(),
    );
    let running = start(toplevel);
    probe.all_parked().await;
    probe.fire();
    token.cancel();
    finish(running).await?;
    probe.finish()
}

pub(super) async fn tracker_churn(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    let toplevel = Toplevel::new(async move |s: &mut SubsystemHandle| {
        s.start(SubsystemBuilder::new(
            "bench",
            async move |_: &mut SubsystemHandle| {
                let tracker = TaskTracker::new();
                probe.begin();
                for i in 0..n {
                    tracker.spawn(async move { short_request(i) });
                }
                tracker.close();
                tracker.wait().await;
                Ok::<(), Infallible>(())
            },
        ));
    });
    finish(start(toplevel)).await?;
    Ok(probe.began_at().elapsed())
}

pub(super) async fn subsystems_churn(n: usize, probe: &'static Probe) -> Result<Duration, String> {
    let toplevel = Toplevel::new(async move |s: &mut SubsystemHandle| {
        probe.begin();
        for i in 0..n {
            s.start(SubsystemBuilder::new(
                "task",
                async move |_: &mut SubsystemHandle| {
                    short_request(i);
                    Ok::<(), Infallible>(())
                },
            ));
        }
    });
    finish(start(toplevel)).await?;
    Ok(probe.began_at().elapsed())
}

pub(super) async fn service_cycles(cycles: &'static Cycles) -> Result<Cycled, String> {
    let toplevel = Toplevel::new(async move |s: &mut SubsystemHandle| {
        cycles.begin();
        while cycles.another() {
            let service = s.start(SubsystemBuilder::new(
                "svc",
                async move |subsys: &mut SubsystemHandle| {
                    cycles.up();
                    subsys.on_shutdown_requested().await;
                    Ok::<(), Infallible>(())
                },
            ));
            cycles.wait_up().await;
            service.initiate_shutdown();
            if let Err(error) = service.join().await {
                cycles.fail(format!("a subsystem failed: {error}"));
                return;
            }
        }
        cycles.end();
    });
    finish(start(toplevel)).await?;
    cycles.result()
}
