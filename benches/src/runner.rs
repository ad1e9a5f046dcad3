//! The runner: every contender on every workload, each in a fresh process, interleaved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::child::RESULT;
use crate::cli::{ChildOptions, RunOptions};
use crate::table::Results;
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

    let mut results = Results::new(options.runs);
    let mut failures = 0;
    for run in 0..options.runs {
        for &workload in &options.workloads {
            // Interleaved: every contender (and allocator) once per run and workload, starting
            // one place further each run, so that none is always measured first or last.
            let mut order: Vec<_> = options
                .contenders
                .iter()
                .flat_map(|&contender| allocators.iter().map(move |&alloc| (alloc, contender)))
                .collect();
            let len = order.len();
            order.rotate_left(run % len);
            for (allocator, contender) in order {
                let child = ChildOptions {
                    contender,
                    workload,
                    n: options.n,
                    workers: options.workers,
                    warmup: options.warmup,
                    timeout: options.timeout,
                };
                let label = format!(
                    "run {}/{} {:<8} {:<16} {:<8}",
                    run + 1,
                    options.runs,
                    workload.id(),
                    contender.id(),
                    allocator.id()
                );
                match execute(&binaries[&allocator], &child) {
                    Ok(value) => {
                        eprintln!("{label} {value:>14.0}");
                        results.insert((allocator, workload, contender), run, value);
                    }
                    Err(error) => {
                        eprintln!("{label} FAILED: {error}");
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
    println!("machine: {}", machine());
    print!(
        "{}",
        results.render(&options.workloads, &options.contenders)
    );
    if failures > 0 {
        eprintln!("canstop-benches: {failures} measurement(s) failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Runs one measurement in a fresh process and reads its result line.
pub(crate) fn execute(binary: &Path, child: &ChildOptions) -> Result<f64, String> {
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
    parse_result(&stdout, child)
}

/// The value of the child's `RESULT WORKLOAD CONTENDER VALUE` line.
pub(crate) fn parse_result(stdout: &str, child: &ChildOptions) -> Result<f64, String> {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(RESULT))
        .ok_or_else(|| format!("no {RESULT} line in {stdout:?}"))?;
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        [_, workload, contender, value]
            if *workload == child.workload.id() && *contender == child.contender.id() =>
        {
            value.parse().map_err(|_| format!("bad value in {line:?}"))
        }
        _ => Err(format!("unexpected result line {line:?}")),
    }
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
    use crate::contenders::{Contender, Workload};

    #[test]
    fn parses_result_lines() {
        let child = ChildOptions {
            contender: Contender::CanstopRoot,
            workload: Workload::Memory,
            n: 10,
            workers: 2,
            warmup: 0,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(
            parse_result("noise\nRESULT memory canstop-root 312.5\n", &child),
            Ok(312.5)
        );
        assert!(parse_result("RESULT spawn canstop-root 1\n", &child).is_err());
        assert!(parse_result("", &child).is_err());
    }
}
