//! The drain delay: after a signal, the tree keeps serving, not ready, for the delay; then
//! the stop and the drain, the timeout counted from the end of the delay. Paused clock: the
//! instants are exact.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use canstop::{
    exit_code, Event, Root, Service, ServiceOutcome, Shutdown, Signal, SpawnError, Trigger,
};
use tokio::time::Instant;

use canstop_tests::root;

/// What a service saw, and when (paused clock, from the start of the run).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(Duration, String)>>>);

impl Seen {
    fn push(&self, since: Instant, what: &str) {
        self.0
            .lock()
            .unwrap()
            .push((since.elapsed(), what.to_owned()));
    }
    fn at(&self, what: &str) -> Duration {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(_, w)| w == what)
            .unwrap_or_else(|| panic!("{what:?} not seen"))
            .0
    }
}

/// An accept loop: notes when it starts draining, and when it is told to stop.
fn acceptor(seen: &Seen, since: Instant) -> Service {
    let seen = seen.clone();
    Service::new("acceptor", move |shutdown: Shutdown| async move {
        shutdown.draining().await;
        assert!(shutdown.is_draining());
        seen.push(since, "draining");
        shutdown.requested().await;
        seen.push(since, "requested");
    })
}

#[tokio::test(start_paused = true)]
async fn a_signal_drains_for_the_delay_then_stops_with_the_timeout_from_there() {
    let seen = Seen::default();
    let events = Arc::new(Mutex::new(Vec::new()));
    let since = Instant::now();
    let report = root()
        .drain_delay(Duration::from_secs(2))
        .timeout(Duration::from_secs(3))
        .on_event({
            let events = events.clone();
            move |event: &Event| events.lock().unwrap().push(event.clone())
        })
        .run({
            let seen = seen.clone();
            async move {
                canstop::start(acceptor(&seen, since))?;
                // Ignores its stop: aborted at the end of the delay plus the timeout.
                canstop::start(Service::new("stubborn", |_: Shutdown| {
                    std::future::pending::<()>()
                }))?;
                canstop::spawn(canstop::Session::new(
                    "signal",
                    move |_: Shutdown| async move {
                        canstop::ready().await?;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        canstop::deliver_signal(Signal::Terminate)?;
                        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                    },
                ))?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert_eq!(seen.at("draining"), Duration::from_secs(1));
    assert_eq!(seen.at("requested"), Duration::from_secs(3));
    assert_eq!(report.drain_delay, Some(Duration::from_secs(2)));
    assert_eq!(
        report.service("stubborn").unwrap().outcome,
        ServiceOutcome::Aborted,
        "{report}"
    );
    // Aborted 3 s after the stop, which came 2 s after the signal.
    assert_eq!(since.elapsed(), Duration::from_secs(6));
    assert_eq!(report.stop_time, Duration::from_secs(3));
    assert!(
        report
            .to_string()
            .contains("drained for a delay of 2s, then stopped in 3s"),
        "{report}"
    );
    let events = events.lock().unwrap();
    let tree_level: Vec<&Event> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::TreeReady
                    | Event::TreeNotReady
                    | Event::Triggered { .. }
                    | Event::Draining { .. }
                    | Event::Stopping { .. }
            )
        })
        .collect();
    assert!(
        matches!(
            tree_level.as_slice(),
            [
                Event::TreeReady,
                Event::TreeNotReady,
                Event::Triggered { .. },
                Event::Draining { .. },
                Event::Stopping { .. }
            ]
        ),
        "{tree_level:#?}"
    );
}

/// Only a signal waits: `canstop::shutdown()` stops at once, and so does a failure.
#[tokio::test(start_paused = true)]
async fn other_triggers_stop_at_once() {
    let seen = Seen::default();
    let since = Instant::now();
    let report = root()
        .drain_delay(Duration::from_secs(2))
        .run({
            let seen = seen.clone();
            async move {
                canstop::start(acceptor(&seen, since))?;
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.drain_delay, None);
    assert_eq!(seen.at("requested"), Duration::ZERO);
}

/// A failure during the delay ends it: the stop starts then.
#[tokio::test(start_paused = true)]
async fn a_failure_during_the_delay_ends_it() {
    let seen = Seen::default();
    let since = Instant::now();
    let report = root()
        .drain_delay(Duration::from_secs(5))
        .run({
            let seen = seen.clone();
            async move {
                canstop::start(acceptor(&seen, since))?;
                canstop::start(Service::new("flaky", |shutdown: Shutdown| async move {
                    shutdown.draining().await;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Err::<(), _>("lost the database")
                }))?;
                canstop::deliver_signal(Signal::Terminate)?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert_eq!(seen.at("requested"), Duration::from_millis(500));
    assert_eq!(report.exit_code(), 1, "{report}");
    // The delay the tree waited, not the one configured, and what cut it short (a review
    // found the report's first line silent about it: "trigger: SIGTERM; drained for a delay
    // of 500ms", exit 1).
    assert_eq!(report.drain_delay, Some(Duration::from_millis(500)));
    let failed = Trigger::ServiceFailed {
        service: "flaky".into(),
        error: "lost the database".into(),
    };
    assert_eq!(report.drain_delay_cut_by, Some(failed), "{report}");
    assert!(
        report.to_string().contains(
            "trigger: SIGTERM; drained for 500ms of the delay, cut short by service \"flaky\" \
             failed: lost the database, then stopped in"
        ),
        "{report}"
    );
}

/// A second signal during the delay forces the exit at once, and the report says it cut the
/// delay (a review found it reading as a delay of that length).
#[tokio::test(start_paused = true)]
async fn a_second_signal_during_the_delay_forces_the_exit() {
    let since = Instant::now();
    let report = root()
        .drain_delay(Duration::from_secs(5))
        .run(async move {
            canstop::start(Service::new("serving", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))?;
            canstop::deliver_signal(Signal::Terminate)?;
            canstop::spawn(canstop::Session::new("again", |_: Shutdown| async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                canstop::deliver_signal(Signal::Interrupt)
            }))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.forced, Some(Signal::Interrupt), "{report}");
    assert_eq!(
        report.drain_delay_cut_by,
        Some(canstop::Trigger::Signal(Signal::Interrupt)),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("of the delay, cut short by SIGINT"),
        "{report}"
    );
    assert_eq!(report.exit_code(), exit_code::FORCED_BASE + 2, "{report}");
    assert!(
        since.elapsed() < Duration::from_secs(2),
        "{:?}",
        since.elapsed()
    );
}

/// `CANSTOP_DRAIN_DELAY` overrides the compiled delay; empty is unset; malformed is a start-up
/// error (exit 78).
#[test]
fn the_drain_delay_variable() {
    // The only test of this binary that touches the environment.
    std::env::set_var(canstop::DRAIN_DELAY_ENV, "3s");
    let set = Root::new()
        .drain_delay(Duration::from_secs(1))
        .effective_drain_delay();
    std::env::set_var(canstop::DRAIN_DELAY_ENV, " ");
    let empty = Root::new()
        .drain_delay(Duration::from_secs(1))
        .effective_drain_delay();
    std::env::set_var(canstop::DRAIN_DELAY_ENV, "5 seconds");
    let bad = Root::new().effective_drain_delay();
    std::env::remove_var(canstop::DRAIN_DELAY_ENV);
    assert_eq!(set.unwrap(), Duration::from_secs(3));
    assert_eq!(empty.unwrap(), Duration::from_secs(1));
    let bad = bad.unwrap_err();
    assert_eq!(bad.exit_code(), exit_code::CONFIG);
    assert!(
        bad.to_string().starts_with("CANSTOP_DRAIN_DELAY: "),
        "{bad}"
    );
}

/// Review finding: `canstop::shutdown()` during the delay stops at once, as without a delay.
#[tokio::test(start_paused = true)]
async fn shutdown_during_the_delay_ends_it() {
    let seen = Seen::default();
    let since = Instant::now();
    let report = root()
        .drain_delay(Duration::from_secs(30))
        .run({
            let seen = seen.clone();
            async move {
                canstop::start(acceptor(&seen, since))?;
                canstop::start(Service::new("caller", |shutdown: Shutdown| async move {
                    shutdown.draining().await;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    shutdown.shutdown_tree();
                }))?;
                canstop::deliver_signal(Signal::Terminate)?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(seen.at("requested"), Duration::from_secs(1));
    assert_eq!(report.drain_delay, Some(Duration::from_secs(1)));
    assert!(
        matches!(report.drain_delay_cut_by, Some(Trigger::Requested { .. })),
        "{report}"
    );
}

/// Review finding: a delay too long to add to an instant neither panics nor keeps a failure
/// from ending it.
#[tokio::test(start_paused = true)]
async fn a_huge_delay_is_still_ended_by_a_failure() {
    let run = root().drain_delay(Duration::MAX).run(async {
        canstop::start(Service::new("serving", |shutdown: Shutdown| async move {
            shutdown.requested().await;
        }))?;
        canstop::start(Service::new("failing", |shutdown: Shutdown| async move {
            shutdown.draining().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            Err::<(), _>("gone")
        }))?;
        canstop::deliver_signal(Signal::Terminate)?;
        Ok::<(), SpawnError>(())
    });
    let report = tokio::time::timeout(Duration::from_secs(3600), run)
        .await
        .expect("no hang")
        .unwrap();
    assert_eq!(report.exit_code(), 1, "{report}");
}

/// Review finding: when everything finishes during the delay, the run ends then, with one
/// `Stopping` before it returns and no event after.
#[tokio::test(start_paused = true)]
async fn a_run_that_finishes_during_the_delay_publishes_nothing_after_it() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let report = root()
        .drain_delay(Duration::from_secs(10))
        .on_event({
            let events = events.clone();
            move |event: &Event| events.lock().unwrap().push(event.clone())
        })
        .run(async {
            canstop::deliver_signal(Signal::Terminate)?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    let at_return = events.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let events = events.lock().unwrap();
    assert_eq!(events.len(), at_return, "{events:#?}");
    let stopping = events
        .iter()
        .filter(|e| matches!(e, Event::Stopping { .. }))
        .count();
    assert_eq!(stopping, 1, "{events:#?}");
}
