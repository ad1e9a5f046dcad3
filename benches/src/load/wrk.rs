//! wrk (`--http-load wrk`): HTTP/1.1 keep-alive, one thread, `C` connections with one request
//! in flight on each, `GET /` for one round.

use super::tool::ROUND;
use super::HttpOptions;

/// The arguments of one turn against `url`.
pub(super) fn args(url: &str, options: HttpOptions) -> Vec<String> {
    vec![
        "--threads".into(),
        "1".into(),
        "--connections".into(),
        options.connections.to_string(),
        "--duration".into(),
        format!("{}s", ROUND.as_secs()),
        url.into(),
    ]
}

/// The connections one turn opens: those asked for, and one more: before its threads start,
/// wrk connects once to each address the host resolves to (one, for a loopback address) to
/// check that it can, and closes that connection at once.
pub(super) fn connections(options: HttpOptions) -> usize {
    options.connections + 1
}

/// The connections a turn may cut: all of them. At the end of its `--duration` wrk exits
/// with a request in flight on each connection; the server then writes those responses to
/// a closed socket, and that connection ends with an error (a reset: canstop counts it as
/// failed, `axum::serve` says nothing). wrk has no mode that ends with the connections idle.
pub(super) fn cut(options: HttpOptions) -> usize {
    options.connections
}

/// The turn's rate (`Requests/sec:`, completed responses over the run's time), once the
/// output shows no failure: wrk prints `Non-2xx or 3xx responses: N` when a response had a
/// status of 400 or more, and `Socket errors: ...` when a connection failed to connect, to
/// read or to write, or a request timed out (2 s); neither may appear.
pub(super) fn parse(stdout: &str) -> Result<f64, String> {
    for line in stdout.lines().map(str::trim) {
        if line.starts_with("Non-2xx or 3xx responses:") || line.starts_with("Socket errors:") {
            return Err(format!("wrk reported `{line}`"));
        }
    }
    let completed = stdout
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(count, _)| count.parse::<u64>().ok())
        .ok_or("no `N requests in` line")?;
    if completed == 0 {
        return Err("no request completed".to_owned());
    }
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse::<f64>().ok())
        .ok_or_else(|| "no `Requests/sec:` line".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What wrk 4.1.0 printed for one turn against the http example.
    const CLEAN: &str = "\
Running 1s test @ http://127.0.0.1:3111/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.55us    2.50ms  27.08ms   96.18%
    Req/Sec   137.60k    24.84k  159.33k    90.00%
  137157 requests in 1.00s, 15.96MB read
Requests/sec: 136576.69
Transfer/sec:     15.89MB
";

    #[test]
    fn reads_the_rate() {
        assert_eq!(parse(CLEAN), Ok(136_576.69));
    }

    #[test]
    fn fails_on_errors_and_missing_lines() {
        let non_2xx = CLEAN.replace(
            "Requests/sec:",
            "  Non-2xx or 3xx responses: 12\nRequests/sec:",
        );
        assert!(parse(&non_2xx).unwrap_err().contains("Non-2xx"));
        let socket = CLEAN.replace(
            "Requests/sec:",
            "  Socket errors: connect 0, read 1, write 0, timeout 0\nRequests/sec:",
        );
        assert!(parse(&socket).unwrap_err().contains("Socket errors"));
        assert!(parse(&CLEAN.replace("137157 requests", "0 requests")).is_err());
        assert!(parse(&CLEAN.replace("Requests/sec", "Requests")).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn asks_for_one_thread_and_the_connections() {
        let options = HttpOptions {
            connections: 8,
            ..HttpOptions::default()
        };
        assert_eq!(
            args("http://127.0.0.1:1/", options).join(" "),
            "--threads 1 --connections 8 --duration 1s http://127.0.0.1:1/"
        );
        assert_eq!(connections(options), 9);
        assert_eq!(cut(options), 8);
    }
}
