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
        .output()
        .expect("run canstop-benches");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| workload"))
        .collect();
    assert_eq!(rows.len(), 4 * 8, "{stdout}");
    for row in rows {
        assert!(!row.contains("failed"), "{row}");
        let median = row.split('|').nth(3).unwrap_or_default().trim();
        assert!(
            median.ends_with("ms") || median.ends_with("µs") || median.ends_with("B/task"),
            "{row}"
        );
    }
    for workload in ["spawn", "shutdown", "memory", "churn"] {
        assert!(
            stdout.contains(&format!(
                "| {workload} | canstop runtime API, in a service |"
            )),
            "{stdout}"
        );
    }
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
