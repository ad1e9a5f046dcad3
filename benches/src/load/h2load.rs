//! h2load (`--http-load h2load`): HTTP/2 with prior knowledge (h2c, what h2load speaks to an
//! `http://` URL), one thread, `C` connections with `M` streams in flight on each
//! (`--http-streams`, 1 by default), `GET /`, a given number of requests (about a round's
//! worth: see [`super::tool`]).
//!
//! A number of requests rather than a duration: at the end of a `--duration`, h2load closes
//! its connections with their streams in flight (a GOAWAY, then the socket closed), and the
//! server's writes of those responses fail (a tenth to a fifth of the connections of a
//! turn, counted as failed by canstop). With `--requests` every stream is answered before
//! h2load closes: every connection must end without an error.

use std::collections::BTreeMap;

use super::HttpOptions;

/// The arguments of one turn of `requests` requests against `url`.
pub(super) fn args(url: &str, options: HttpOptions, requests: u64) -> Vec<String> {
    vec![
        "--threads=1".into(),
        format!("--clients={}", options.connections),
        format!("--max-concurrent-streams={}", options.streams),
        format!("--requests={requests}"),
        url.into(),
    ]
}

/// The connections one turn opens: one per client.
pub(super) fn connections(options: HttpOptions) -> usize {
    options.connections
}

/// The turn's rate (`finished in T, R req/s`: the requests done over the time from the
/// first connect to the last response), once the output shows that the protocol was h2c and
/// that every request was done and a `2xx`: none failed, errored or timed out, no `3xx`,
/// `4xx` or `5xx`.
pub(super) fn parse(stdout: &str) -> Result<f64, String> {
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .ok_or_else(|| format!("no `{prefix}` line"))
    };
    let protocol = line("Application protocol:")?.trim();
    if protocol != "h2c" {
        return Err(format!("the protocol was {protocol:?}, not h2c"));
    }
    let requests = counts(line("requests:")?)?;
    let statuses = counts(line("status codes:")?)?;
    let count = |counts: &BTreeMap<String, u64>, label: &str| {
        counts
            .get(label)
            .copied()
            .ok_or_else(|| format!("no {label} count"))
    };
    for label in ["failed", "errored", "timeout"] {
        if count(&requests, label)? > 0 {
            return Err(format!("requests {label}"));
        }
    }
    for label in ["3xx", "4xx", "5xx"] {
        if count(&statuses, label)? > 0 {
            return Err(format!("{label} responses"));
        }
    }
    let done = count(&requests, "done")?;
    if done == 0 || count(&statuses, "2xx")? != done || count(&requests, "total")? != done {
        return Err(format!(
            "{done} requests done, not all of them, or not all 2xx"
        ));
    }
    let finished = line("finished in")?;
    finished
        .split(", ")
        .find_map(|field| field.strip_suffix(" req/s"))
        .and_then(|rate| rate.trim().parse::<f64>().ok())
        .ok_or_else(|| "no req/s in the `finished in` line".to_owned())
}

/// `52717 total, 0 failed, ...` as a map from label to count.
fn counts(fields: &str) -> Result<BTreeMap<String, u64>, String> {
    fields
        .split(',')
        .map(|field| {
            let (count, label) = field
                .trim()
                .split_once(' ')
                .ok_or_else(|| format!("bad count {field:?}"))?;
            let count = count.parse().map_err(|_| format!("bad count {field:?}"))?;
            Ok((label.trim().to_owned(), count))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What h2load 1.52.0 printed for one turn against the http example (progress lines cut).
    const CLEAN: &str = "\
starting benchmark...
spawning thread #0: 32 total client(s). 52717 total requests
Application protocol: h2c

finished in 1.01s, 52717.00 req/s, 1.56MB/s
requests: 52717 total, 52717 started, 52717 done, 52717 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 52717 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.56MB (1638259) total, 362.40KB (371099) headers (space savings 92.59%), 308.89KB (316302) data
";

    #[test]
    fn reads_the_rate() {
        assert_eq!(parse(CLEAN), Ok(52_717.0));
    }

    #[test]
    fn fails_on_errors_and_other_protocols() {
        let failed = CLEAN.replace("0 failed", "3 failed");
        assert!(parse(&failed).unwrap_err().contains("failed"));
        let errored = CLEAN.replace("0 errored", "1 errored");
        assert!(parse(&errored).unwrap_err().contains("errored"));
        let status = CLEAN.replace("0 5xx", "2 5xx");
        assert!(parse(&status).unwrap_err().contains("5xx"));
        let fewer_2xx = CLEAN.replace("52717 2xx", "52716 2xx");
        assert!(parse(&fewer_2xx).is_err());
        let http1 = CLEAN.replace("protocol: h2c", "protocol: http/1.1");
        assert!(parse(&http1).unwrap_err().contains("h2c"));
        assert!(parse(&CLEAN.replace("52717 done", "0 done")).is_err());
        assert!(parse(&CLEAN.replace("52717 total,", "52718 total,")).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn asks_for_the_clients_and_streams() {
        let options = HttpOptions {
            connections: 8,
            streams: 10,
            ..HttpOptions::default()
        };
        assert_eq!(
            args("http://127.0.0.1:1/", options, 5000).join(" "),
            "--threads=1 --clients=8 --max-concurrent-streams=10 --requests=5000 \
             http://127.0.0.1:1/"
        );
        assert_eq!(connections(options), 8);
    }
}
