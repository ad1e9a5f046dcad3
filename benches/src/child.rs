//! One measurement, in this process: `canstop-benches child CONTENDER WORKLOAD` (for the
//! http workload, `CONTENDER` may be a list: their servers are measured side by side).
//!
//! It prints one line per contender, `RESULT WORKLOAD CONTENDER VALUE...`: one value, or for
//! the http workload under wrk or h2load one per measured round (the runner pairs the
//! contenders' values round by round).

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::ChildOptions;
use crate::contenders::{Contender, Workload};
use crate::load::{tool, Client, HttpOptions};
use crate::Allocator;

/// The prefix of the one line a child prints on stdout.
pub(crate) const RESULT: &str = "RESULT";

pub(crate) fn run(allocator: Allocator, options: &ChildOptions) -> ExitCode {
    watchdog(options.timeout);
    match crate::production::install().and_then(|()| measure(options)) {
        Ok(values) => {
            for (contender, values) in options.contenders.iter().zip(values) {
                let values: Vec<String> = values.iter().map(f64::to_string).collect();
                println!(
                    "{RESULT} {} {} {}",
                    options.workload.id(),
                    contender.id(),
                    values.join(" ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            let contenders: Vec<_> = options.contenders.iter().map(|c| c.id()).collect();
            eprintln!(
                "canstop-benches child {} {} ({}): {error}",
                contenders.join(","),
                options.workload.id(),
                allocator.id()
            );
            ExitCode::FAILURE
        }
    }
}

/// The values of one measurement, one list per contender: nanoseconds for the timed
/// workloads, bytes per task for the memory workload, requests per second for the http
/// workload (one per measured round), nanoseconds and bytes per cycle for the service-cycle
/// workloads, nanoseconds per restart for the restart workload. One value but for http.
pub(crate) fn measure(options: &ChildOptions) -> Result<Vec<Vec<f64>>, String> {
    if options.workload == Workload::Http && options.http.client != Client::Builtin {
        // Installed before the servers start (the runner has done it already).
        tool::ensure_installed(options.http.client)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.workers)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot build the runtime: {error}"))?;
    let (workload, n) = (options.workload, options.n);
    let contenders = options.contenders.clone();
    if let Some(contender) = contenders.iter().find(|c| !c.supports(workload)) {
        return Err(format!(
            "{} does not take part in the {} workload",
            contender.id(),
            workload.id()
        ));
    }
    if contenders.len() != 1 && !workload.side_by_side() {
        return Err(format!(
            "the {} workload takes one contender",
            workload.id()
        ));
    }
    let warmup = if workload.takes_warmup_rounds() {
        options.warmup
    } else {
        0
    };
    let http = options.http;
    runtime.block_on(async move {
        for _ in 0..warmup {
            round(&contenders, workload, n, http).await?;
        }
        round(&contenders, workload, n, http).await
    })
}

/// One round, on a worker thread (the way an accept loop spawns), not on `block_on`'s thread.
async fn round(
    contenders: &[Contender],
    workload: Workload,
    n: usize,
    http: HttpOptions,
) -> Result<Vec<Vec<f64>>, String> {
    let contenders = contenders.to_vec();
    tokio::spawn(async move {
        let contender = contenders[0];
        let one = |value: f64| vec![vec![value]];
        Ok(match workload {
            Workload::Spawn => one(nanos(contender.parked(n).await?.spawn)),
            Workload::Shutdown => one(nanos(contender.parked(n).await?.shutdown)),
            Workload::Memory => one(contender.parked(n).await?.rss_growth as f64 / n as f64),
            Workload::Churn => one(nanos(contender.churn(n).await?)),
            Workload::Http => Contender::http(&contenders, http).await?,
            Workload::ServiceChurn => {
                one(nanos(contender.service_cycles(n, false).await?.elapsed) / n as f64)
            }
            Workload::ServiceRetained => {
                one(contender.service_cycles(n, true).await?.retained_per_cycle)
            }
            Workload::Restart => one(nanos(contender.restarts(n).await?) / n as f64),
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
