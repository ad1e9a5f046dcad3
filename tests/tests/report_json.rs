//! The `serde` feature: the report as JSON reads back into an equal `Report` and carries
//! everything the text shows; `CANSTOP_REPORT=json` makes a real program print it as one
//! line on stderr; a bad value is a start-up error.

use std::time::Duration;

use canstop::{Report, Restart, Service, Session, Shutdown, SpawnError, State};
use canstop_tests::{root, Running};
use nix::sys::signal::Signal::SIGTERM;

const LIMIT: Duration = Duration::from_secs(20);

/// A report with a bit of everything: a restarted service with its failures, a failed one, a
/// folded group, sessions that failed and panicked, the trigger, `main`'s error.
async fn rich_report() -> Report {
    root()
        .timeout(Duration::from_secs(1))
        .run(async {
            canstop::start(
                Service::restartable("flaky", |_| async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Err::<(), _>("upstream gone")
                })
                .restart(Restart::OnFailure)
                .max_restarts(2)
                .backoff(Duration::ZERO, Duration::ZERO),
            )?;
            canstop::start(Service::new("batch", |shutdown: Shutdown| async move {
                for _ in 0..canstop::KEPT_STOPPED + 2 {
                    let job = canstop::start(Service::new("job", |stop: Shutdown| async move {
                        stop.requested().await;
                    }))?;
                    job.stop();
                    job.stopped().await;
                }
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            }))?;
            canstop::spawn(Session::new("upload", |_| async {
                Err::<(), _>("disk \"full\"\nsecond line")
            }))?;
            canstop::spawn(Session::new("upload", |_| async {
                if true {
                    panic!("unicode ✓ panic");
                }
            }))?;
            canstop::spawn(Session::new("stuck", |_| std::future::pending::<()>()))?;
            std::future::pending::<()>().await;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_json_report_reads_back_equal_and_carries_what_the_text_shows() {
    let report = rich_report().await;
    let text = report.to_string();
    let line = report.to_json();
    assert!(!line.contains('\n'), "one line: {line}");
    let back: Report = serde_json::from_str(&line).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.exit_code(), report.exit_code());
    assert_eq!(
        back.to_string(),
        text,
        "the text of the report read back is the same"
    );

    // What the text shows is in the JSON, as values.
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(json["exit_code"], u64::from(report.exit_code()), "{line}");
    assert!(text.contains("flaky"), "{text}");
    let flaky = report.service("flaky").unwrap();
    assert_eq!(flaky.restarts, 2, "{report}");
    let services = json["services"].as_array().unwrap();
    let flaky_json = services.iter().find(|s| s["name"] == "flaky").unwrap();
    assert_eq!(flaky_json["restarts"], 2);
    assert_eq!(flaky_json["failures"][0]["message"], "upstream gone");
    let batch = services.iter().find(|s| s["name"] == "batch").unwrap();
    assert_eq!(batch["folded"][0]["count"], 2, "{line}");
    assert!(text.contains("2 more stopped services named job"), "{text}");
    // Two kinds named upload (two call sites): one failed, one panicked.
    let uploads: Vec<&serde_json::Value> = json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"]["name"] == "upload")
        .collect();
    let sum = |field: &str| {
        uploads
            .iter()
            .map(|s| s[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((sum("started"), sum("failed"), sum("panicked")), (2, 1, 1));
    let upload = uploads[0];
    assert_eq!(upload["errors"][0], "disk \"full\"\nsecond line");
    assert_eq!(
        json["trigger"]["service_gave_up"]["service"], "flaky",
        "{line}"
    );
    assert_eq!(json["deadline_reached"], true);
    assert_eq!(json["timeout"], serde_json::json!({"secs": 1, "nanos": 0}));
}

/// The state reads back equal too; its instants are durations from the snapshot.
#[tokio::test(start_paused = true)]
async fn the_state_reads_back_equal() {
    let report = root()
        .run(async {
            canstop::start(Service::new("db", |shutdown: Shutdown| async move {
                canstop::spawn(Session::new("query", |s: Shutdown| async move {
                    s.requested().await;
                }))?;
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            }))?;
            tokio::time::sleep(Duration::from_millis(10)).await;
            canstop::shutdown()?;
            let state = canstop::state()?;
            let json = serde_json::to_string(&state)?;
            let back: State = serde_json::from_str(&json)?;
            assert_eq!(back, state);
            let value: serde_json::Value = serde_json::from_str(&json)?;
            assert_eq!(value["tree"], "stopping");
            assert_eq!(
                value["root"]["phase"]["stopping"]["deadline_in"],
                serde_json::json!({"secs": 10, "nanos": 0})
            );
            assert_eq!(value["sessions"][0]["live"], 1);
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}

/// A real program with `CANSTOP_REPORT=json`: one line of JSON on stderr, which reads back
/// into the report of what ran.
#[test]
fn a_program_prints_its_report_as_one_json_line() {
    let mut program = Running::start(
        env!("CARGO_BIN_EXE_example-tree"),
        &[],
        &[
            ("CANSTOP_REPORT", "json"),
            ("RUST_LOG", "info,example_tree=debug"),
        ],
    );
    program.wait_for_line("pipeline running", LIMIT);
    program.wait_for_log("batch done", 3, LIMIT);
    program.signal(SIGTERM);
    let (ended, _) = program.wait_exit(LIMIT);
    let text = ended.text();
    assert_eq!(ended.code(), Some(0), "{text}");
    let lines: Vec<&String> = ended.stderr.iter().filter(|l| l.starts_with('{')).collect();
    assert_eq!(lines.len(), 1, "{text}");
    let report: Report = serde_json::from_str(lines[0]).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        report.trigger,
        canstop::Trigger::Signal(canstop::Signal::Terminate)
    );
    let paths: Vec<&str> = report
        .all_services()
        .iter()
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "pipeline",
            "pipeline/ingest",
            "pipeline/ingest/parser",
            "pipeline/index",
            "metrics"
        ]
    );
    let batches = report.sessions_named("batch").unwrap();
    assert!(batches.started >= 3);
    assert_eq!(batches.finished, batches.started);
    assert!(
        !text.contains("canstop report:"),
        "the text report is not printed as well: {text}"
    );
}

/// Any other value is a start-up error: nothing runs, exit 78, and it says what is wrong.
#[test]
fn a_bad_report_format_is_a_start_up_error() {
    let program = Running::start(
        env!("CARGO_BIN_EXE_example-tree"),
        &[],
        &[("CANSTOP_REPORT", "yaml")],
    );
    let (ended, _) = program.wait_exit(LIMIT);
    let text = ended.text();
    assert_eq!(ended.code(), Some(78), "{text}");
    assert!(
        text.contains("CANSTOP_REPORT=\"yaml\": expected `text` or `json`"),
        "{text}"
    );
    assert!(!text.contains("pipeline running"), "nothing ran: {text}");
}
