//! Command-line parsing (by hand: a dozen flags do not need a parser crate).

use std::time::Duration;

use crate::contenders::{Contender, Workload};
use crate::load::{Client, HttpOptions};
use crate::Allocator;

pub(crate) const USAGE: &str = "\
usage:
  canstop-benches [--n N] [--runs K] [--workers W] [--warmup K] [--alloc system|jemalloc|both]
                  [--contenders ID,ID,..] [--workloads ID,ID,..] [--no-build] [--timeout SECS]
                  [--http-secs SECS] [--http-warmup SECS] [--http-conns C]
                  [--http-load builtin|wrk|h2load] [--http-streams M]
      runs every contender on every workload, each in a fresh process, K times, interleaved,
      and prints the medians and the ratios to TaskTracker + CancellationToken.
  canstop-benches child CONTENDER WORKLOAD [--n N] [--workers W] [--warmup K] [--timeout SECS]
                  [--http-secs SECS] [--http-warmup SECS] [--http-conns C]
                  [--http-load builtin|wrk|h2load] [--http-streams M]
      one measurement in this process; prints `RESULT WORKLOAD CONTENDER VALUE`. For http,
      CONTENDER may be a list (ID,ID,..): their servers are loaded in turn, one line each.
  canstop-benches --list
      the contender and workload ids.

defaults: --n 100000 --runs 5 --workers 2 --warmup 1 --alloc both --timeout 300
          --http-secs 3 --http-warmup 0.5 --http-conns 32 --http-load builtin --http-streams 1
The http workload ignores --n and --warmup: C keep-alive connections per server send
`GET /` for --http-warmup seconds unmeasured, then for --http-secs seconds measured, per
server, in turns between the servers (requests/s). The load: the built-in HTTP/1 client
(10 ms turns), wrk (HTTP/1) or h2load (HTTP/2 h2c, M streams in flight per connection), the
last two in turns of 1 s (seconds rounded up to whole rounds), installed with
`apt-get install -y wrk|nghttp2-client` when missing.
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
    pub(crate) http: HttpOptions,
}

/// One measurement.
#[derive(Debug, Clone)]
pub(crate) struct ChildOptions {
    /// One contender; for the http workload, one or more (their servers side by side).
    pub(crate) contenders: Vec<Contender>,
    pub(crate) workload: Workload,
    pub(crate) n: usize,
    pub(crate) workers: usize,
    /// Unmeasured rounds of the same scenario before the measured one (timings only: the
    /// memory workload is always measured on a fresh heap).
    pub(crate) warmup: usize,
    pub(crate) timeout: Duration,
    /// The load of the http workload.
    pub(crate) http: HttpOptions,
}

impl ChildOptions {
    /// The arguments that run this measurement in a child process.
    pub(crate) fn to_args(&self) -> Vec<String> {
        vec![
            "child".into(),
            self.contenders
                .iter()
                .map(|contender| contender.id())
                .collect::<Vec<_>>()
                .join(","),
            self.workload.id().into(),
            "--n".into(),
            self.n.to_string(),
            "--workers".into(),
            self.workers.to_string(),
            "--warmup".into(),
            self.warmup.to_string(),
            "--timeout".into(),
            self.timeout.as_secs().to_string(),
            "--http-secs".into(),
            self.http.measure.as_secs_f64().to_string(),
            "--http-warmup".into(),
            self.http.warmup.as_secs_f64().to_string(),
            "--http-conns".into(),
            self.http.connections.to_string(),
            "--http-load".into(),
            self.http.client.id().into(),
            "--http-streams".into(),
            self.http.streams.to_string(),
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
    http: HttpOptions,
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
        http: HttpOptions::default(),
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
            "--http-secs" => common.http.measure = seconds(arg, value(arg)?, false)?,
            "--http-warmup" => common.http.warmup = seconds(arg, value(arg)?, true)?,
            "--http-conns" => common.http.connections = number(arg, value(arg)?, 1)?,
            "--http-streams" => common.http.streams = number(arg, value(arg)?, 1)?,
            "--http-load" => {
                let id = value(arg)?;
                common.http.client = Client::from_id(id)
                    .ok_or_else(|| format!("--http-load: unknown load {id:?}"))?;
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
    if common.http.streams > 1 && common.http.client != Client::H2load {
        return Err("--http-streams: only h2load multiplexes (--http-load h2load)".to_owned());
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
            http: common.http,
        })),
        [child, contenders, workload] if child == "child" => Ok(Command::Child(ChildOptions {
            contenders: child_contenders(contenders, workload)?,
            workload: Workload::from_id(workload)
                .ok_or_else(|| format!("unknown workload {workload:?} (see --list)"))?,
            n: common.n,
            workers: common.workers,
            warmup: common.warmup,
            timeout: common.timeout,
            http: common.http,
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

/// The contenders of a child: one, or a list for a workload whose contenders are measured
/// side by side; each taking part in the workload.
fn child_contenders(ids: &str, workload: &str) -> Result<Vec<Contender>, String> {
    let contenders = ids
        .split(',')
        .map(|id| {
            Contender::from_id(id).ok_or_else(|| format!("unknown contender {id:?} (see --list)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some(workload) = Workload::from_id(workload) else {
        return Err(format!("unknown workload {workload:?} (see --list)"));
    };
    if contenders.len() > 1 && !workload.side_by_side() {
        return Err(format!(
            "the {} workload takes one contender",
            workload.id()
        ));
    }
    if let Some(contender) = contenders.iter().find(|c| !c.supports(workload)) {
        return Err(format!(
            "{} does not take part in the {} workload",
            contender.id(),
            workload.id()
        ));
    }
    Ok(contenders)
}

/// A duration in seconds, fractions allowed; more than zero unless `zero_ok`.
fn seconds(flag: &str, value: &str, zero_ok: bool) -> Result<Duration, String> {
    let parsed: f64 = value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a number of seconds"))?;
    if !parsed.is_finite() || parsed < 0.0 || (parsed == 0.0 && !zero_ok) || parsed > 3600.0 {
        return Err(format!(
            "{flag}: must be {} and at most 3600 seconds",
            if zero_ok { "at least 0" } else { "more than 0" }
        ));
    }
    Ok(Duration::from_secs_f64(parsed))
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
        assert_eq!(again.contenders, [Contender::CanstopRoot]);
        assert_eq!(again.workload, Workload::Churn);
        assert_eq!(again.http, HttpOptions::default());
    }

    #[test]
    fn http_options_round_trip() {
        let line = "child canstop-macro,raw-notify http --http-secs 0.25 --http-warmup 0 \
                    --http-conns 4 --http-load h2load --http-streams 8";
        let Ok(Command::Child(options)) = parse(&args(line)) else {
            panic!("no child");
        };
        let expected = HttpOptions {
            measure: Duration::from_millis(250),
            warmup: Duration::ZERO,
            connections: 4,
            streams: 8,
            client: Client::H2load,
        };
        assert_eq!(options.http, expected);
        let Ok(Command::Child(again)) = parse(&options.to_args()) else {
            panic!("no child");
        };
        assert_eq!((again.workload, again.http), (Workload::Http, expected));
        assert_eq!(
            again.contenders,
            [Contender::CanstopMacro, Contender::RawNotify]
        );
    }

    #[test]
    fn errors() {
        assert!(parse(&args("--n 0")).is_err());
        assert!(parse(&args("--n")).is_err());
        assert!(parse(&args("--alloc tcmalloc")).is_err());
        assert!(parse(&args("--contenders nope")).is_err());
        assert!(parse(&args("child nope spawn")).is_err());
        assert!(parse(&args("child raw-notify,canstop-root spawn")).is_err());
        assert!(parse(&args("child tgs-tracker http")).is_err());
        assert!(parse(&args("--bogus")).is_err());
        assert!(parse(&args("--http-secs 0")).is_err());
        assert!(parse(&args("--http-secs -1")).is_err());
        assert!(parse(&args("--http-warmup nan")).is_err());
        assert!(parse(&args("--http-conns 0")).is_err());
        assert!(parse(&args("--http-load ab")).is_err());
        assert!(parse(&args("--http-streams 0 --http-load h2load")).is_err());
        assert!(parse(&args("--http-streams 4 --http-load wrk")).is_err());
        assert!(parse(&args("--http-streams 4")).is_err());
    }
}
