//! The `metrics` feature, read through `metrics-util`'s debugging recorder, installed
//! globally (this test binary is its own process): live gauges from the periodic state
//! exports, and at the end every value equal to the report's.

use std::time::Duration;

use canstop::{Restart, Service, Session, Shutdown, SpawnError};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

use canstop_tests::root;

/// Every metric: name, labels, value. Reading resets the debugging recorder's values (it
/// swaps them with 0): read once, then look up in what was read.
type Values = Vec<(String, Vec<(String, String)>, f64)>;

fn read(snapshotter: &Snapshotter) -> Values {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let value = match value {
                DebugValue::Counter(n) => {
                    assert_eq!(key.kind(), MetricKind::Counter);
                    n as f64
                }
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => panic!("no histogram is exported"),
            };
            let labels = key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.key().name().to_owned(), labels, value)
        })
        .collect()
}

/// The value of the metric `name` whose labels are `labels`.
fn value(values: &Values, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    values
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, value)| *value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_follow_the_tree_and_end_equal_to_the_report() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let during = snapshotter.clone();

    let report = root()
        .timeout(Duration::from_secs(5))
        .metrics_every(Duration::from_millis(10))
        .run(async move {
            canstop::start(Service::new("db", |shutdown: Shutdown| async move {
                for _ in 0..3 {
                    canstop::spawn(Session::new("query", |s: Shutdown| async move {
                        s.requested().await;
                    }))?;
                }
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            }))?;
            canstop::start(
                Service::restartable("flaky", |_| async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Err::<(), _>("upstream gone")
                })
                .restart(Restart::OnFailure)
                .max_restarts(1000)
                .backoff(Duration::from_millis(1), Duration::from_millis(1)),
            )?;
            for i in 0..100u32 {
                canstop::spawn(Session::new("job", move |_| async move {
                    match i % 10 {
                        0 => Err("no such job".to_owned()),
                        1 if i < 30 => panic!("job {i} panicked"),
                        _ => Ok(()),
                    }
                }))?;
            }
            // A periodic export sees the live sessions and the phases.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let during = read(&during);
            assert_eq!(
                value(
                    &during,
                    "canstop_sessions_live",
                    &[("scope", "db"), ("kind", "query")]
                ),
                Some(3.0)
            );
            assert_eq!(
                value(
                    &during,
                    "canstop_sessions_started_total",
                    &[("kind", "job")]
                ),
                Some(100.0)
            );
            let restarts = value(
                &during,
                "canstop_service_restarts_total",
                &[("service", "flaky")],
            );
            assert!(restarts.unwrap() >= 3.0, "{restarts:?}");
            let phase = value(&during, "canstop_service_phase", &[("service", "db")]).unwrap();
            assert!([1.0, 2.0].contains(&phase), "starting or ready: {phase}");
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();

    // At the end: the report's counts, no session live, every service stopped.
    let snapshotter = read(&snapshotter);
    for stats in &report.sessions {
        let kind = [("kind", stats.kind.name())];
        let total = report.sessions_named(stats.kind.name()).unwrap();
        for (name, count) in [
            ("canstop_sessions_started_total", total.started),
            ("canstop_sessions_finished_total", total.finished),
            ("canstop_sessions_failed_total", total.failed),
            ("canstop_sessions_panicked_total", total.panicked),
            ("canstop_sessions_aborted_total", total.aborted),
        ] {
            assert_eq!(
                value(&snapshotter, name, &kind),
                Some(count as f64),
                "{name} {kind:?}\n{report}"
            );
        }
    }
    let jobs = report.sessions_named("job").unwrap();
    assert_eq!(
        (jobs.started, jobs.failed, jobs.panicked),
        (100, 10, 3),
        "{report}"
    );
    assert_eq!(
        value(
            &snapshotter,
            "canstop_sessions_live",
            &[("scope", "db"), ("kind", "query")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &snapshotter,
            "canstop_sessions_live",
            &[("scope", ""), ("kind", "job")]
        ),
        Some(0.0)
    );
    let flaky = report.service("flaky").unwrap();
    assert_eq!(
        value(
            &snapshotter,
            "canstop_service_restarts_total",
            &[("service", "flaky")]
        ),
        Some(flaky.restarts as f64)
    );
    for service in ["db", "flaky"] {
        assert_eq!(
            value(
                &snapshotter,
                "canstop_service_phase",
                &[("service", service)]
            ),
            Some(5.0),
            "{service} stopped"
        );
    }
}
