//! The runner: every contender on every workload, each in a fresh process, interleaved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::child::RESULT;
use crate::cli::{ChildOptions, RunOptions};
use crate::contenders::{Contender, Workload};
use crate::load::{tool, Client, HttpOptions};
use crate::table::{median, Results};
use crate::Allocator;

pub(crate) fn run(own: Allocator, options: &RunOptions) -> ExitCode {
    let binaries = binaries(own, options);
    if binaries.is_empty() {
        eprintln!("canstop-benches: no binary to run");
        return ExitCode::FAILURE;
    }
    let allocators: Vec<Allocator> = binaries.keys().copied().collect();
    eprintln!(
        "canstop-benches: n = {}, {} workers, {} runs, {} warm-up round(s), allocators: {}",
        options.n,
        options.workers,
        options.runs,
        options.warmup,
        allocators
            .iter()
            .map(|alloc| alloc.id())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The external load tool, installed now if missing (not in the middle of the runs), and
    // its version for the header.
    let tool_version = match http_tool(options) {
        Ok(version) => version,
        Err(error) => {
            eprintln!("canstop-benches: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut results = Results::new();
    let mut failures = 0;
    for run in 0..options.runs {
        for &workload in &options.workloads {
            for (allocator, contenders) in schedule(options, &allocators, workload, run) {
                let child = ChildOptions {
                    contenders: contenders.clone(),
                    workload,
                    n: options.n,
                    workers: options.workers,
                    warmup: options.warmup,
                    timeout: options.timeout,
                    http: options.http,
                };
                let label = |contender: Contender| {
                    format!(
                        "run {}/{} {:<8} {:<16} {:<8}",
                        run + 1,
                        options.runs,
                        workload.id(),
                        contender.id(),
                        allocator.id()
                    )
                };
                match execute(&binaries[&allocator], &child) {
                    Ok(values) => {
                        for (&contender, values) in contenders.iter().zip(values) {
                            let unit = workload.unit().symbol();
                            eprintln!("{} {}", label(contender), progress(&values, unit));
                            results.insert_rounds((allocator, workload, contender), run, &values);
                        }
                    }
                    Err(error) => {
                        for &contender in &contenders {
                            eprintln!("{} FAILED: {error}", label(contender));
                        }
                        failures += 1;
                    }
                }
            }
        }
    }

    println!(
        "canstop-benches: n = {}, {} tokio workers, medians of {} runs, each measurement in a \
         fresh process{}.",
        options.n,
        options.workers,
        options.runs,
        if options.warmup > 0 {
            format!(
                " after {} unmeasured warm-up round(s) (timings only)",
                options.warmup
            )
        } else {
            String::new()
        }
    );
    if options.workloads.contains(&Workload::Http) {
        println!("{}", describe_http(options.http, tool_version.as_deref()));
    }
    println!("machine: {}", machine());
    print!(
        "{}",
        results.render(&options.workloads, &options.contenders)
    );
    if options.workloads.contains(&Workload::Http) {
        print!("\n{}", results.http_spread());
    }
    if failures > 0 {
        eprintln!("canstop-benches: {failures} measurement(s) failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The version of the http workload's external load tool, installed first if missing; `None`
/// for the built-in client or when the http workload is not run.
fn http_tool(options: &RunOptions) -> Result<Option<String>, String> {
    let client = options.http.client;
    if client == Client::Builtin || !options.workloads.contains(&Workload::Http) {
        return Ok(None);
    }
    tool::version(client).map(Some)
}

/// The table's header line for the http workload: how it was loaded.
fn describe_http(http: HttpOptions, tool_version: Option<&str>) -> String {
    let common = "n and the warm-up rounds do not apply";
    match (http.client, tool_version) {
        (Client::Builtin, _) | (_, None) => format!(
            "http: the servers of a run side by side in one process, loaded in turn in slices \
             of {} ms by a load client on its own thread (hyper, HTTP/1, `GET /`, {} keep-alive \
             connections per server, one request in flight on each), {} s measured per server \
             after {} s of warm-up; {common}.",
            crate::load::SLICE.as_millis(),
            http.connections,
            http.measure.as_secs_f64(),
            http.warmup.as_secs_f64()
        ),
        (client, Some(version)) => {
            let load = if client == Client::Wrk {
                format!(
                    "HTTP/1.1, {} keep-alive connections, one request in flight on each",
                    http.connections
                )
            } else {
                format!(
                    "HTTP/2 prior knowledge (h2c), {} connections, {} stream(s) in flight on each",
                    http.connections, http.streams
                )
            };
            let turn = if client == Client::Wrk {
                format!("{} s", tool::ROUND.as_secs())
            } else {
                format!("the requests of about {} s", tool::ROUND.as_secs())
            };
            format!(
                "http: the servers of a run side by side in one process, loaded in turn by {} \
                 ({version}; one thread, `GET /`, {load}), one process per turn of {turn}, the \
                 order rotating every round: {} unmeasured round(s), then {} measured; a rate \
                 is one server's turn, a ratio the median of per-round ratios; {common}.",
                client.id(),
                tool::rounds(http.warmup),
                tool::rounds(http.measure).max(1),
            )
        }
    }
}

/// A child's values on the progress line: the value, or the median of the rounds' and their
/// count.
fn progress(values: &[f64], unit: &str) -> String {
    match (values, median(values.to_vec())) {
        ([value], _) => format!("{value:>14.0} {unit}"),
        (_, Some(median)) => format!("{median:>14.0} {unit} (median of {} rounds)", values.len()),
        (_, None) => "no value".to_owned(),
    }
}

/// The children of one run and workload, in order: each contender that takes part in the
/// workload with each allocator, interleaved and starting one place further each run, so that
/// none is always measured first or last. For a workload measured side by side (http), one
/// child per allocator runs all its contenders, in an order that rotates too.
fn schedule(
    options: &RunOptions,
    allocators: &[Allocator],
    workload: Workload,
    run: usize,
) -> Vec<(Allocator, Vec<Contender>)> {
    let mut contenders: Vec<Contender> = options
        .contenders
        .iter()
        .copied()
        .filter(|contender| contender.supports(workload))
        .collect();
    if contenders.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<(Allocator, Vec<Contender>)> = if workload.side_by_side() {
        let len = contenders.len();
        contenders.rotate_left(run % len);
        allocators
            .iter()
            .map(|&alloc| (alloc, contenders.clone()))
            .collect()
    } else {
        contenders
            .iter()
            .flat_map(|&contender| {
                allocators
                    .iter()
                    .map(move |&alloc| (alloc, vec![contender]))
            })
            .collect()
    };
    let len = order.len();
    order.rotate_left(run % len);
    order
}

/// Runs one measurement in a fresh process and reads its result lines: the values of each
/// contender, in order.
pub(crate) fn execute(binary: &Path, child: &ChildOptions) -> Result<Vec<Vec<f64>>, String> {
    let output = Command::new(binary)
        .args(child.to_args())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    if !output.status.success() {
        return Err(format!("the child exited with {}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    parse_results(&stdout, child)
}

/// The values of the child's `RESULT WORKLOAD CONTENDER VALUE...` lines, one line per
/// contender of the child, in its order: one value each, or for a workload measured side by
/// side one or more (rounds), as many for every contender.
pub(crate) fn parse_results(stdout: &str, child: &ChildOptions) -> Result<Vec<Vec<f64>>, String> {
    let mut values = BTreeMap::new();
    for line in stdout.lines().filter(|line| line.starts_with(RESULT)) {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            [_, workload, contender, numbers @ ..]
                if *workload == child.workload.id()
                    && (numbers.len() == 1
                        || (!numbers.is_empty() && child.workload.side_by_side())) =>
            {
                let contender = Contender::from_id(contender)
                    .filter(|contender| child.contenders.contains(contender))
                    .ok_or_else(|| format!("unexpected contender in {line:?}"))?;
                let numbers = numbers
                    .iter()
                    .map(|value| value.parse::<f64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| format!("bad value in {line:?}"))?;
                if values.insert(contender, numbers).is_some() {
                    return Err(format!("{} twice in {stdout:?}", contender.id()));
                }
            }
            _ => return Err(format!("unexpected result line {line:?}")),
        }
    }
    let values: Vec<Vec<f64>> = child
        .contenders
        .iter()
        .map(|contender| {
            values
                .remove(contender)
                .ok_or_else(|| format!("no {RESULT} line for {} in {stdout:?}", contender.id()))
        })
        .collect::<Result<_, _>>()?;
    if values.windows(2).any(|pair| pair[0].len() != pair[1].len()) {
        return Err(format!(
            "not as many rounds for every contender in {stdout:?}"
        ));
    }
    Ok(values)
}

/// The binary to run for each allocator asked for: this one for its own allocator, its
/// sibling for the other (built with cargo first when running under `cargo run`).
fn binaries(own: Allocator, options: &RunOptions) -> BTreeMap<Allocator, PathBuf> {
    let mut binaries = BTreeMap::new();
    let Ok(me) = std::env::current_exe() else {
        eprintln!("canstop-benches: cannot find my own binary");
        return binaries;
    };
    for &allocator in &options.allocators {
        if allocator == own {
            binaries.insert(allocator, me.clone());
            continue;
        }
        let sibling = me.with_file_name(format!(
            "{}{}",
            allocator.binary(),
            std::env::consts::EXE_SUFFIX
        ));
        if options.build {
            build(allocator);
        }
        if sibling.is_file() {
            if is_older(&sibling, &me) {
                eprintln!(
                    "canstop-benches: warning: {} is older than this binary (run without \
                     --no-build under cargo, or rebuild it)",
                    sibling.display()
                );
            }
            binaries.insert(allocator, sibling);
        } else {
            eprintln!(
                "canstop-benches: no {} build ({} missing); measuring without it. Build it \
                 with `cargo build --release -p canstop-benches --features jemalloc --bins`.",
                allocator.id(),
                sibling.display()
            );
        }
    }
    binaries
}

/// Builds the binary for `allocator` with the cargo that runs us, in the same profile.
fn build(allocator: Allocator) {
    let Some(cargo) = std::env::var_os("CARGO") else {
        // Not under `cargo run`: use what is there.
        return;
    };
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut command = Command::new(cargo);
    command.args([
        "build",
        "--manifest-path",
        manifest,
        "-p",
        "canstop-benches",
        "--features",
        "jemalloc",
        "--bin",
        allocator.binary(),
    ]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    eprintln!(
        "canstop-benches: building the {} binary (the first time takes a few minutes)",
        allocator.id()
    );
    match command.stdin(Stdio::null()).status() {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("canstop-benches: building it failed ({status})"),
        Err(error) => eprintln!("canstop-benches: cannot run cargo: {error}"),
    }
}

fn is_older(path: &Path, than: &Path) -> bool {
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    matches!((modified(path), modified(than)), (Some(a), Some(b)) if a < b)
}

/// The CPU model and core count, for the table's header.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{model}, {cores} cores available, {}", std::env::consts::OS)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::contenders::Contender;
    use crate::load::HttpOptions;

    #[test]
    fn parses_result_lines() {
        let mut child = ChildOptions {
            contenders: vec![Contender::CanstopRoot],
            workload: Workload::Memory,
            n: 10,
            workers: 2,
            warmup: 0,
            timeout: Duration::from_secs(1),
            http: HttpOptions::default(),
        };
        assert_eq!(
            parse_results("noise\nRESULT memory canstop-root 312.5\n", &child),
            Ok(vec![vec![312.5]])
        );
        assert!(parse_results("RESULT memory canstop-root 1 2\n", &child).is_err());
        assert!(parse_results("RESULT memory canstop-root\n", &child).is_err());
        assert!(parse_results("RESULT spawn canstop-root 1\n", &child).is_err());
        assert!(parse_results("RESULT memory raw-notify 1\n", &child).is_err());
        assert!(parse_results("", &child).is_err());
        child.workload = Workload::Http;
        child.contenders = vec![Contender::CanstopMacro, Contender::BASELINE];
        assert_eq!(
            parse_results(
                "RESULT http tracker-token 2\nRESULT http canstop-macro 1\n",
                &child
            ),
            Ok(vec![vec![1.0], vec![2.0]])
        );
        assert!(parse_results("RESULT http canstop-macro 1\n", &child).is_err());
        // Rounds: as many for every contender.
        assert_eq!(
            parse_results(
                "RESULT http canstop-macro 1 3\nRESULT http tracker-token 2 4\n",
                &child
            ),
            Ok(vec![vec![1.0, 3.0], vec![2.0, 4.0]])
        );
        assert!(parse_results(
            "RESULT http canstop-macro 1 3\nRESULT http tracker-token 2\n",
            &child
        )
        .is_err());
    }

    #[test]
    fn schedules_only_the_contenders_of_a_workload() {
        let Ok(crate::cli::Command::Run(options)) = crate::cli::parse(&[]) else {
            panic!("no run");
        };
        let allocators = Allocator::ALL;
        let spawn = schedule(&options, &allocators, Workload::Spawn, 3);
        // Every contender but the restart floor (the restarts only) and the snapshot
        // contenders (the churn only), and axum::serve (the http workload only).
        assert_eq!(spawn.len(), (Contender::ALL.len() - 4) * 2);
        assert!(spawn.iter().all(|(_, contenders)| contenders.len() == 1));
        assert!(!spawn
            .iter()
            .any(|(_, contenders)| contenders[0] == Contender::FLOOR));
        let restarts = schedule(&options, &allocators, Workload::Restart, 2);
        assert_eq!(restarts.len(), 3 * 2, "{restarts:?}");
        assert!(restarts
            .iter()
            .all(|(_, contenders)| contenders[0].supports(Workload::Restart)));
        let cycles = schedule(&options, &allocators, Workload::ServiceChurn, 1);
        assert_eq!(cycles.len(), 6 * 2, "{cycles:?}");
        assert!(cycles
            .iter()
            .all(|(_, contenders)| contenders[0].supports(Workload::ServiceChurn)));
        for run in 0..4 {
            let http = schedule(&options, &allocators, Workload::Http, run);
            assert_eq!(http.len(), 2, "{http:?}");
            for (_, contenders) in &http {
                assert_eq!(contenders.len(), 4, "{contenders:?}");
                assert!(contenders.iter().all(|c| c.supports(Workload::Http)));
            }
        }
        let mut only_tgs = options.clone();
        only_tgs.contenders = vec![Contender::TgsTracker];
        assert!(schedule(&only_tgs, &allocators, Workload::Http, 0).is_empty());
    }
}
