//! The runner end to end with a tiny n: every contender on every workload once, each in its
//! own process, and a table with a parsed result in every row.

use std::process::Command;

#[test]
fn every_contender_runs_every_workload() {
    let output = Command::new(env!("CARGO_BIN_EXE_canstop-benches"))
        .args([
            "--n", "200", "--runs", "1", "--warmup", "0", "--alloc", "system",
        ])
        .args(["--timeout", "60"])
        .args([
            "--http-secs",
            "0.2",
            "--http-warmup",
            "0.05",
            "--http-conns",
            "4",
        ])
        .output()
        .expect("run canstop-benches");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| workload"))
        .collect();
    // Eight contenders in the four task workloads, and the snapshot one and its control in
    // churn; three of them and axum::serve in http; six in the two service-cycle workloads; canstop's two
    // and the floor in restart.
    assert_eq!(rows.len(), 4 * 8 + 2 + 4 + 2 * 6 + 3, "{stdout}");
    for row in rows {
        assert!(!row.contains("failed") && !row.contains("n/a"), "{row}");
        let median = row.split('|').nth(3).unwrap_or_default().trim();
        let unit = if row.starts_with("| http |") {
            ["req/s"].as_slice()
        } else if row.starts_with("| service-churn |") {
            ["ns", "µs"].as_slice()
        } else if row.starts_with("| restart |") {
            ["ns", "µs", "ms"].as_slice()
        } else if row.starts_with("| service-retained |") {
            ["B/cycle"].as_slice()
        } else {
            ["ms", "µs", "B/task"].as_slice()
        };
        assert!(unit.iter().any(|unit| median.ends_with(unit)), "{row}");
    }
    for contender in [
        "raw tokio::spawn + Notify",
        "TaskTracker + CancellationToken",
        "canstop #[session] in a #[service]",
    ] {
        assert!(
            stdout.contains(&format!("| http | {contender} |")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("≥ 0.99x axum::serve: "), "{stdout}");
    for workload in [
        "spawn",
        "shutdown",
        "memory",
        "churn",
        "service-churn",
        "service-retained",
    ] {
        assert!(
            stdout.contains(&format!(
                "| {workload} | canstop runtime API, in a service |"
            )),
            "{stdout}"
        );
    }
    for contender in [
        "canstop runtime API, root scope",
        "canstop #[service(restart = ..)], root scope",
        "hand-written restart loop (floor)",
    ] {
        assert!(
            stdout.contains(&format!("| restart | {contender} |")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("x floor | none: measured |"), "{stdout}");
}

#[test]
fn a_child_prints_one_result_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_canstop-benches"))
        .args(["child", "canstop-service", "shutdown", "--n", "50"])
        .output()
        .expect("run canstop-benches child");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = stdout.trim().split(' ').collect();
    assert_eq!(
        fields[..3],
        ["RESULT", "shutdown", "canstop-service"],
        "{stdout}"
    );
    let nanos: f64 = fields[3].parse().expect("a number");
    assert!(nanos > 0.0);
}

#[test]
fn an_http_child_measures_its_servers_side_by_side() {
    let output = Command::new(env!("CARGO_BIN_EXE_canstop-benches"))
        .args(["child", "canstop-macro,tracker-token", "http"])
        .args([
            "--http-secs",
            "0.1",
            "--http-warmup",
            "0",
            "--http-conns",
            "2",
        ])
        .output()
        .expect("run canstop-benches child");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split(' ').collect())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (fields, contender) in lines.iter().zip(["canstop-macro", "tracker-token"]) {
        assert_eq!(fields[..3], ["RESULT", "http", contender], "{stdout}");
        let rate: f64 = fields[3].parse().expect("a number");
        assert!(rate > 0.0, "{stdout}");
    }
}

/// The servers of canstop and axum::serve side by side under wrk (HTTP/1) and h2load (HTTP/2
/// h2c), two rounds of one second each: a rate per round and server, every request a `2xx`,
/// every connection the tool opened accepted and ended cleanly (the child checks; it fails
/// otherwise). `.ci/run` installs both tools; without them the bench installs them itself.
#[test]
fn an_http_child_is_loaded_by_wrk_and_h2load() {
    for load in ["wrk", "h2load"] {
        let output = Command::new(env!("CARGO_BIN_EXE_canstop-benches"))
            .args(["child", "canstop-macro,axum-serve", "http"])
            .args([
                "--http-load",
                load,
                "--http-secs",
                "2",
                "--http-warmup",
                "0",
            ])
            .args(["--http-conns", "4"])
            .output()
            .expect("run canstop-benches child");
        assert!(output.status.success(), "{load}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<Vec<&str>> = stdout
            .lines()
            .map(|line| line.split(' ').collect())
            .collect();
        assert_eq!(lines.len(), 2, "{load}: {stdout}");
        for (fields, contender) in lines.iter().zip(["canstop-macro", "axum-serve"]) {
            assert_eq!(
                fields[..3],
                ["RESULT", "http", contender],
                "{load}: {stdout}"
            );
            assert_eq!(fields.len(), 3 + 2, "two rounds, {load}: {stdout}");
            for rate in &fields[3..] {
                let rate: f64 = rate.parse().expect("a number");
                assert!(rate > 0.0, "{load}: {stdout}");
            }
        }
    }
}

/// The runner under h2load: the header names the tool and its version, and canstop's row
/// carries its ratio to axum::serve, paired round by round.
#[test]
fn the_runner_compares_canstop_with_axum_under_h2load() {
    let output = Command::new(env!("CARGO_BIN_EXE_canstop-benches"))
        .args(["--workloads", "http", "--runs", "1", "--alloc", "system"])
        .args(["--contenders", "canstop-macro,axum-serve"])
        .args(["--http-load", "h2load", "--http-streams", "2"])
        .args([
            "--http-secs",
            "1",
            "--http-warmup",
            "0",
            "--http-conns",
            "2",
        ])
        .output()
        .expect("run canstop-benches");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("loaded in turn by h2load (h2load nghttp2/"),
        "{stdout}"
    );
    assert!(
        stdout.contains("HTTP/2 prior knowledge (h2c), 2 connections, 2 stream(s)"),
        "{stdout}"
    );
    let canstop = stdout
        .lines()
        .find(|line| line.starts_with("| http | canstop #[session] in a #[service] |"))
        .unwrap_or_else(|| panic!("no canstop row: {stdout}"));
    assert!(canstop.contains(" req/s |"), "{canstop}");
    assert!(canstop.contains("≥ 0.99x axum::serve: "), "{canstop}");
    assert!(!canstop.contains("axum::serve: n/a"), "{canstop}");
    assert!(stdout.contains("| http | axum::serve | "), "{stdout}");
}

/// Production mode: the children install a subscriber at INFO and a metrics recorder, and
/// canstop's roots serve their health endpoints; the table says so, and every row has a value.
#[test]
fn production_mode_measures_with_every_feature_on() {
    let output = Command::new(env!("CARGO_BIN_EXE_canstop-benches"))
        .env("CANSTOP_BENCH_PRODUCTION", "1")
        .args([
            "--n", "200", "--runs", "1", "--warmup", "0", "--alloc", "system",
        ])
        .args(["--workloads", "churn,spawn"])
        .args(["--contenders", "tracker-token,canstop-root,canstop-macro"])
        .output()
        .expect("run canstop-benches");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{output:?}");
    assert!(
        stdout.contains("### system allocator, production mode"),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("| churn |") || line.starts_with("| spawn |"))
        .collect();
    assert_eq!(rows.len(), 6, "{stdout}");
    for row in rows {
        assert!(!row.contains("failed") && !row.contains("n/a"), "{row}");
    }
}
