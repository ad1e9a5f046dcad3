//! One measurement, in this process: `canstop-benches child CONTENDER WORKLOAD`.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::ChildOptions;
use crate::contenders::{Contender, Workload};
use crate::Allocator;

/// The prefix of the one line a child prints on stdout.
pub(crate) const RESULT: &str = "RESULT";

pub(crate) fn run(allocator: Allocator, options: &ChildOptions) -> ExitCode {
    watchdog(options.timeout);
    match measure(options) {
        Ok(value) => {
            println!(
                "{RESULT} {} {} {value}",
                options.workload.id(),
                options.contender.id()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "canstop-benches child {} {} ({}): {error}",
                options.contender.id(),
                options.workload.id(),
                allocator.id()
            );
            ExitCode::FAILURE
        }
    }
}

/// The value of one measurement: nanoseconds for the timed workloads, bytes per task for
/// the memory workload.
pub(crate) fn measure(options: &ChildOptions) -> Result<f64, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.workers)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot build the runtime: {error}"))?;
    let (contender, workload, n) = (options.contender, options.workload, options.n);
    // The memory workload needs a fresh heap: freed memory would be reused.
    let warmup = if workload.is_time() {
        options.warmup
    } else {
        0
    };
    runtime.block_on(async move {
        for _ in 0..warmup {
            round(contender, workload, n).await?;
        }
        round(contender, workload, n).await
    })
}

/// One round, on a worker thread (the way an accept loop spawns), not on `block_on`'s thread.
async fn round(contender: Contender, workload: Workload, n: usize) -> Result<f64, String> {
    tokio::spawn(async move {
        Ok(match workload {
            Workload::Spawn => nanos(contender.parked(n).await?.spawn),
            Workload::Shutdown => nanos(contender.parked(n).await?.shutdown),
            Workload::Memory => contender.parked(n).await?.rss_growth as f64 / n as f64,
            Workload::Churn => nanos(contender.churn(n).await?),
        })
    })
    .await
    .map_err(|error| format!("the round's task failed: {error}"))?
}

fn nanos(duration: Duration) -> f64 {
    duration.as_nanos() as f64
}

/// A measurement that hangs is a bug: end the process with a message rather than hold up
/// the whole run.
fn watchdog(timeout: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(timeout);
        eprintln!("canstop-benches child: still running after {timeout:?}; giving up");
        std::process::exit(3);
    });
}
