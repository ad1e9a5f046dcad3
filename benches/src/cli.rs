//! Command-line parsing (by hand: a dozen flags do not need a parser crate).

use std::time::Duration;

use crate::contenders::{Contender, Workload};
use crate::Allocator;

pub(crate) const USAGE: &str = "\
usage:
  canstop-benches [--n N] [--runs K] [--workers W] [--warmup K] [--alloc system|jemalloc|both]
                  [--contenders ID,ID,..] [--workloads ID,ID,..] [--no-build] [--timeout SECS]
      runs every contender on every workload, each in a fresh process, K times, interleaved,
      and prints the medians and the ratios to TaskTracker + CancellationToken.
  canstop-benches child CONTENDER WORKLOAD [--n N] [--workers W] [--warmup K] [--timeout SECS]
      one measurement in this process; prints `RESULT WORKLOAD CONTENDER VALUE`.
  canstop-benches --list
      the contender and workload ids.

defaults: --n 100000 --runs 5 --workers 2 --warmup 1 --alloc both --timeout 300
--alloc both measures the jemalloc build too: under `cargo run` the runner builds it
(`--features jemalloc --bin canstop-benches-jemalloc`) unless --no-build is given.";

/// What to do.
#[derive(Debug)]
pub(crate) enum Command {
    Help,
    Run(RunOptions),
    Child(ChildOptions),
}

/// The runner's options.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) n: usize,
    pub(crate) runs: usize,
    pub(crate) workers: usize,
    pub(crate) warmup: usize,
    pub(crate) allocators: Vec<Allocator>,
    pub(crate) contenders: Vec<Contender>,
    pub(crate) workloads: Vec<Workload>,
    pub(crate) build: bool,
    pub(crate) timeout: Duration,
}

/// One measurement.
#[derive(Debug, Clone)]
pub(crate) struct ChildOptions {
    pub(crate) contender: Contender,
    pub(crate) workload: Workload,
    pub(crate) n: usize,
    pub(crate) workers: usize,
    /// Unmeasured rounds of the same scenario before the measured one (timings only: the
    /// memory workload is always measured on a fresh heap).
    pub(crate) warmup: usize,
    pub(crate) timeout: Duration,
}

impl ChildOptions {
    /// The arguments that run this measurement in a child process.
    pub(crate) fn to_args(&self) -> Vec<String> {
        vec![
            "child".into(),
            self.contender.id().into(),
            self.workload.id().into(),
            "--n".into(),
            self.n.to_string(),
            "--workers".into(),
            self.workers.to_string(),
            "--warmup".into(),
            self.warmup.to_string(),
            "--timeout".into(),
            self.timeout.as_secs().to_string(),
        ]
    }
}

struct Common {
    n: usize,
    runs: usize,
    workers: usize,
    warmup: usize,
    allocators: Vec<Allocator>,
    contenders: Vec<Contender>,
    workloads: Vec<Workload>,
    build: bool,
    timeout: Duration,
}

pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    let mut positional = Vec::new();
    let mut common = Common {
        n: 100_000,
        runs: 5,
        workers: 2,
        warmup: 1,
        allocators: Allocator::ALL.to_vec(),
        contenders: Contender::ALL.to_vec(),
        workloads: Workload::ALL.to_vec(),
        build: true,
        timeout: Duration::from_secs(300),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--list" => {
                println!("contenders:");
                for contender in Contender::ALL {
                    println!("  {:<16} {}", contender.id(), contender.label());
                }
                println!("workloads:");
                for workload in Workload::ALL {
                    println!("  {:<16} {}", workload.id(), workload.describe());
                }
                return Ok(Command::Help);
            }
            "--n" => common.n = number(arg, value(arg)?, 1)?,
            "--runs" => common.runs = number(arg, value(arg)?, 1)?,
            "--workers" => common.workers = number(arg, value(arg)?, 1)?,
            "--warmup" => common.warmup = number(arg, value(arg)?, 0)?,
            "--timeout" => {
                common.timeout = Duration::from_secs(number(arg, value(arg)?, 1)? as u64);
            }
            "--no-build" => common.build = false,
            "--alloc" => {
                common.allocators = match value(arg)? {
                    "both" => Allocator::ALL.to_vec(),
                    id => vec![Allocator::from_id(id)
                        .ok_or_else(|| format!("--alloc: unknown allocator {id:?}"))?],
                };
            }
            "--contenders" => {
                common.contenders = list(arg, value(arg)?, Contender::from_id)?;
            }
            "--workloads" => common.workloads = list(arg, value(arg)?, Workload::from_id)?,
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            word => positional.push(word.to_owned()),
        }
    }
    match positional.as_slice() {
        [] => Ok(Command::Run(RunOptions {
            n: common.n,
            runs: common.runs,
            workers: common.workers,
            warmup: common.warmup,
            allocators: common.allocators,
            contenders: common.contenders,
            workloads: common.workloads,
            build: common.build,
            timeout: common.timeout,
        })),
        [child, contender, workload] if child == "child" => Ok(Command::Child(ChildOptions {
            contender: Contender::from_id(contender)
                .ok_or_else(|| format!("unknown contender {contender:?} (see --list)"))?,
            workload: Workload::from_id(workload)
                .ok_or_else(|| format!("unknown workload {workload:?} (see --list)"))?,
            n: common.n,
            workers: common.workers,
            warmup: common.warmup,
            timeout: common.timeout,
        })),
        other => Err(format!("unexpected arguments {other:?}")),
    }
}

fn number(flag: &str, value: &str, min: usize) -> Result<usize, String> {
    let parsed: usize = value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
    if parsed < min {
        return Err(format!("{flag}: must be at least {min}"));
    }
    Ok(parsed)
}

fn list<T>(flag: &str, value: &str, from_id: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    let items = value
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| from_id(id).ok_or_else(|| format!("{flag}: unknown id {id:?} (see --list)")))
        .collect::<Result<Vec<_>, _>>()?;
    if items.is_empty() {
        return Err(format!("{flag}: empty list"));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn defaults() {
        let Ok(Command::Run(options)) = parse(&[]) else {
            panic!("no run");
        };
        assert_eq!((options.n, options.runs, options.workers), (100_000, 5, 2));
        assert_eq!(options.allocators, Allocator::ALL);
        assert_eq!(options.contenders, Contender::ALL);
    }

    #[test]
    fn child_round_trips() {
        let Ok(Command::Child(options)) = parse(&args("child canstop-root churn --n 1_000")) else {
            panic!("no child");
        };
        assert_eq!(options.n, 1000);
        let Ok(Command::Child(again)) = parse(&options.to_args()) else {
            panic!("no child");
        };
        assert_eq!(again.contender, Contender::CanstopRoot);
        assert_eq!(again.workload, Workload::Churn);
    }

    #[test]
    fn errors() {
        assert!(parse(&args("--n 0")).is_err());
        assert!(parse(&args("--n")).is_err());
        assert!(parse(&args("--alloc tcmalloc")).is_err());
        assert!(parse(&args("--contenders nope")).is_err());
        assert!(parse(&args("child nope spawn")).is_err());
        assert!(parse(&args("--bogus")).is_err());
    }
}
