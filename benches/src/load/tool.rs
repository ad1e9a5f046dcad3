//! An external load generator, wrk or h2load (`--http-load wrk|h2load`): one process per
//! turn of about [`ROUND`] against one server, the servers in turn, the order rotating every
//! round. wrk runs for the round's time (`--duration`) and closes its connections with their
//! requests in flight; h2load is given a number of requests (`--requests`) that took the
//! server about a round the turn before, and ends with none in flight.
//!
//! A round gives every server one turn, back to back: the servers of a round meet the same
//! machine within a few seconds, and the ratio of two servers is taken **per round** (the
//! runner's medians of per-round ratios). On these 2-core machines the throughput of one
//! server drifts by ±15 % from one second to the next; turns of a whole second (wrk's
//! shortest `-d`) are long next to a process's start and its connections' set-up (about a
//! millisecond), and many short rounds, each a pair of neighbouring seconds, leave the drift
//! in the spread of the ratios and out of their median.
//!
//! Every turn must succeed: the tool exits 0, every completed request was a `2xx`, no socket
//! error, and the tool opened the connections it was asked for (the server's count is checked
//! against [`Load::connections`] after the load, its failed connections against
//! [`Load::cut`]). The tool is installed with apt-get when it is missing
//! ([`ensure_installed`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{h2load, wrk, Client, HttpOptions, Load};

/// The length of one turn of one server (h2load's: about).
pub(crate) const ROUND: Duration = Duration::from_secs(1);

/// h2load's first turn of a server: this many requests per stream in flight (32 000 for 32
/// connections, one stream each: a second at 32 000 requests per second).
const FIRST_TURN_PER_STREAM: u64 = 1_000;

/// The tool's rounds against `servers`: the warm-up rounds (unmeasured), then the measured
/// ones. One [`Load`] per server, in order, with one rate per measured round.
pub(super) fn run(servers: &[SocketAddr], options: HttpOptions) -> Result<Vec<Load>, String> {
    let program = ensure_installed(options.client)?;
    let warmup = rounds(options.warmup);
    let measured = rounds(options.measure).max(1);
    let in_flight = (options.connections * options.streams) as u64;
    let mut loads: Vec<Load> = servers
        .iter()
        .map(|_| Load {
            connections: 0,
            cut: 0,
            rates: Vec::with_capacity(measured),
        })
        .collect();
    // h2load's requests for each server's next turn.
    let mut requests = vec![in_flight * FIRST_TURN_PER_STREAM; servers.len()];
    for round in 0..warmup + measured {
        for turn in 0..servers.len() {
            let server = (round + turn) % servers.len();
            let rate = one_turn(&program, servers[server], options, requests[server])?;
            requests[server] = ((rate * ROUND.as_secs_f64()) as u64).max(in_flight);
            let load = &mut loads[server];
            let (connections, cut) = match options.client {
                Client::Wrk => (wrk::connections(options), wrk::cut(options)),
                _ => (h2load::connections(options), 0),
            };
            load.connections += connections;
            load.cut += cut;
            if round >= warmup {
                load.rates.push(rate);
            }
        }
    }
    Ok(loads)
}

/// Whole rounds in `time`, rounded up.
pub(crate) fn rounds(time: Duration) -> usize {
    time.as_nanos().div_ceil(ROUND.as_nanos()) as usize
}

/// One turn: the tool against `addr` (wrk: for [`ROUND`]; h2load: `requests` requests), its
/// output checked; its rate of successful requests per second.
fn one_turn(
    program: &Path,
    addr: SocketAddr,
    options: HttpOptions,
    requests: u64,
) -> Result<f64, String> {
    let url = format!("http://{addr}/");
    let args = match options.client {
        Client::Wrk => wrk::args(&url, options),
        Client::H2load => h2load::args(&url, options, requests),
        Client::Builtin => return Err("the built-in client is not a tool".to_owned()),
    };
    let name = options.client.id();
    let output = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {name}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`{name} {}` exited with {}:\n{stdout}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let rate = if options.client == Client::Wrk {
        wrk::parse(&stdout)
    } else {
        h2load::parse(&stdout)
    };
    rate.map_err(|error| format!("{name} against {url}: {error}:\n{stdout}"))
}

/// The Debian package of each tool.
fn package(client: Client) -> Option<&'static str> {
    match client {
        Client::Builtin => None,
        Client::Wrk => Some("wrk"),
        Client::H2load => Some("nghttp2-client"),
    }
}

/// The tool's program, installed first with `apt-get install -y PACKAGE` (and, if that
/// fails, `apt-get update` and once more) when it is not on the `PATH`. What apt-get prints
/// goes to stderr: stdout is the table's.
pub(crate) fn ensure_installed(client: Client) -> Result<PathBuf, String> {
    let name = client.id();
    let Some(package) = package(client) else {
        return Err("the built-in client is not a tool".to_owned());
    };
    if let Some(program) = find(name) {
        return Ok(program);
    }
    eprintln!("canstop-benches: {name} not found; installing Debian's {package}");
    if !apt_get(&["install", "-y", package])? {
        eprintln!("canstop-benches: that failed; apt-get update, then again");
        if !apt_get(&["update"])? || !apt_get(&["install", "-y", package])? {
            return Err(format!(
                "cannot install {name}: `apt-get install -y {package}` failed (as root?)"
            ));
        }
    }
    find(name).ok_or_else(|| format!("{package} installed, but no {name} on the PATH"))
}

/// The first line of the tool's version, for the table's header.
pub(crate) fn version(client: Client) -> Result<String, String> {
    let program = ensure_installed(client)?;
    // wrk prints its version with `-v` (and exits 1); h2load with `--version`.
    let flag = if client == Client::Wrk {
        "-v"
    } else {
        "--version"
    };
    let output = Command::new(&program)
        .arg(flag)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", program.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .next()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .ok_or_else(|| format!("{} printed no version", program.display()))
}

/// Runs apt-get, its output on our stderr; whether it succeeded. It waits up to five minutes
/// for dpkg's lock: the smoke tests install wrk and h2load from two tests at once, on a fresh
/// machine, and a second apt-get that found the lock taken would otherwise fail at once.
fn apt_get(args: &[&str]) -> Result<bool, String> {
    eprintln!("canstop-benches: apt-get {}", args.join(" "));
    Command::new("apt-get")
        .args(["-o", "DPkg::Lock::Timeout=300"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map(|status| status.success())
        .map_err(|error| format!("cannot run apt-get: {error}"))
}

/// `name` on the `PATH`.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_rounds() {
        assert_eq!(rounds(Duration::ZERO), 0);
        assert_eq!(rounds(Duration::from_millis(500)), 1);
        assert_eq!(rounds(Duration::from_secs(1)), 1);
        assert_eq!(rounds(Duration::from_millis(10_001)), 11);
    }
}
