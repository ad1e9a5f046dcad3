//! Readiness, dependency order and the ordered stop, in process. Time is tokio's paused clock:
//! every instant below is exact, and nothing sleeps to synchronise; the bodies record what
//! happened, and when, in a shared log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use canstop::{
    Event, Ready, ReadyError, Report, Restart, Root, Service, ServiceOutcome, Session, Shutdown,
    SpawnError, StopOrder, Trigger,
};
use tokio::time::Instant;

use canstop_tests::root;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the bodies did, with the paused clock's time since the log was made.
#[derive(Clone)]
struct Log {
    since: Instant,
    lines: Arc<Mutex<Vec<(Duration, String)>>>,
}

impl Log {
    fn new() -> Self {
        Self {
            since: Instant::now(),
            lines: Arc::default(),
        }
    }

    fn push(&self, line: impl Into<String>) {
        self.lines
            .lock()
            .unwrap()
            .push((self.since.elapsed(), line.into()));
    }

    fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// When `line` was logged.
    fn at(&self, line: &str) -> Duration {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|(_, l)| l == line)
            .unwrap_or_else(|| panic!("{line:?} not logged: {:?}", self.lines()))
            .0
    }
}

/// A service that logs when it starts, is ready after `ready_after`, and stops `stop_takes`
/// after its stop request.
fn service(name: &'static str, log: &Log, ready_after: Duration, stop_takes: Duration) -> Service {
    let log = log.clone();
    Service::new(name, move |shutdown: Shutdown| async move {
        let ready = Ready::of(&shutdown);
        log.push(format!("{name} started"));
        tokio::time::sleep(ready_after).await;
        ready.set();
        shutdown.requested().await;
        log.push(format!("{name} stopping"));
        tokio::time::sleep(stop_takes).await;
        log.push(format!("{name} stopped"));
    })
    .signals_ready()
}

#[tokio::test(start_paused = true)]
async fn ready_resolves_when_the_body_says_so_not_before() {
    let log = Log::new();
    let report = root()
        .run({
            let log = log.clone();
            async move {
                let db = canstop::start(service(
                    "db",
                    &log,
                    Duration::from_millis(200),
                    Duration::ZERO,
                ))?;
                assert!(!db.is_ready());
                db.ready().await?;
                log.push("db ready");
                assert!(db.is_ready());
                canstop::shutdown()?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(log.at("db ready"), Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn a_service_without_ready_is_ready_once_started() {
    let report = root()
        .run(async {
            let idle = canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))?;
            let started = Instant::now();
            idle.ready().await?;
            assert_eq!(started.elapsed(), Duration::ZERO);
            canstop::shutdown()?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}

/// A failure before ready: `ready()` errs with the message, what started before is rolled
/// back in reverse order, exit 1, and the report says the start-up failed.
#[tokio::test(start_paused = true)]
async fn a_failure_before_ready_rolls_back_in_reverse_order() {
    let log = Log::new();
    let outcome = Arc::new(Mutex::new(None));
    let report = root()
        .run({
            let log = log.clone();
            let outcome = outcome.clone();
            async move {
                for name in ["first", "second"] {
                    canstop::start(service(
                        name,
                        &log,
                        Duration::ZERO,
                        Duration::from_millis(10),
                    ))?;
                }
                let broken = canstop::start(
                    Service::new("broken", |shutdown: Shutdown| async move {
                        let _ready = Ready::of(&shutdown);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<(), _>("cannot bind")
                    })
                    .signals_ready(),
                )?;
                *outcome.lock().unwrap() = Some(broken.ready().await);
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert_eq!(
        outcome.lock().unwrap().clone(),
        Some(Err(ReadyError::Failed {
            service: "broken".into(),
            error: "cannot bind".into()
        }))
    );
    assert!(report.startup_failed, "{report}");
    assert!(report.to_string().contains("start-up failed"), "{report}");
    assert_eq!(report.exit_code(), 1);
    // Reverse start order, one at a time: `second` has stopped before `first` is told.
    assert_eq!(
        log.lines()[2..],
        [
            "second stopping",
            "second stopped",
            "first stopping",
            "first stopped"
        ],
        "{report}"
    );
}

/// A session that stops the tree `after` this long.
fn stop_tree_after(after: Duration) -> Result<(), SpawnError> {
    canstop::spawn(Session::new(
        "stopper",
        move |shutdown: Shutdown| async move {
            tokio::time::sleep(after).await;
            shutdown.shutdown_tree();
        },
    ))?;
    Ok(())
}

/// A service "db" that says when it is ready, never does, and fails 500 ms in.
fn never_ready_db() -> Service {
    Service::new("db", |shutdown: Shutdown| async move {
        let _ready = Ready::of(&shutdown); // never set
        tokio::time::sleep(Duration::from_millis(500)).await;
        Err::<(), _>("cannot connect to the database")
    })
    .signals_ready()
}

/// Runs `body` on a test root; returns its report and whether the tree was ever announced
/// ready (`Event::TreeReady`).
async fn run_noting_tree_ready<F>(body: F) -> (Report, bool)
where
    F: std::future::Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let report = root()
        .on_event(move |event: &Event| seen.lock().unwrap().push(event.clone()))
        .run(body)
        .await
        .unwrap();
    let ready = events
        .lock()
        .unwrap()
        .iter()
        .any(|event| matches!(event, Event::TreeReady));
    (report, ready)
}

/// The last service not ready fails (an error, or its ready timeout) after `main` returned:
/// the tree was never ready, and must not become ready on the service's way out. It used to:
/// the failed service left the count of those not ready before its failure stopped the tree,
/// so the tree was "ready" for a moment: `READY=1` to systemd, `/startupz` 200, `TreeReady`
/// to listeners, and no "start-up failed" in the report.
#[tokio::test(start_paused = true)]
async fn the_last_service_failing_before_ready_does_not_make_the_tree_ready() {
    for timeout in [false, true] {
        let (report, ever_ready) = run_noting_tree_ready(async move {
            let db = never_ready_db();
            let db = if timeout {
                db.ready_timeout(Duration::from_millis(100))
            } else {
                db
            };
            canstop::start(db)?;
            Ok(())
        })
        .await;
        assert!(!ever_ready, "timeout {timeout}: {report}");
        assert!(report.startup_failed, "timeout {timeout}: {report}");
        assert!(report.to_string().contains("start-up failed"), "{report}");
        assert_eq!(report.exit_code(), 1, "{report}");
    }
}

/// The same when the failure escalates to a restarting ancestor rather than the tree: the
/// ancestor is not ready from the escalation on, so the tree does not look ready in between
/// (a hostile review found `TreeReady` at each failure).
#[tokio::test(start_paused = true)]
async fn the_last_service_failing_to_a_restarting_parent_does_not_make_the_tree_ready() {
    let (report, ever_ready) = run_noting_tree_ready(async move {
        let parent = Service::restartable("parent", move |shutdown: Shutdown| async move {
            shutdown.scope().start(never_ready_db())?;
            Ready::of(&shutdown).set();
            shutdown.requested().await;
            Ok::<(), SpawnError>(())
        })
        .signals_ready()
        .restart(Restart::OnFailure)
        .max_restarts(2)
        .within(Duration::from_secs(60));
        canstop::start(parent)?;
        Ok(())
    })
    .await;
    assert!(!ever_ready, "{report}");
    assert!(report.startup_failed, "{report}");
}

/// Starts `service` with a 5 s ready timeout on `root`, and times how long its `ready()` takes
/// to answer; also returns the report.
async fn time_its_ready(
    root: Root,
    service: Service,
) -> (Result<(), ReadyError>, Duration, Report) {
    let outcome = Arc::new(Mutex::new(None));
    let report = root
        .run({
            let outcome = outcome.clone();
            async move {
                let service = service
                    .signals_ready()
                    .ready_timeout(Duration::from_secs(5));
                let handle = canstop::start(service)?;
                let started = Instant::now();
                *outcome.lock().unwrap() = Some((handle.ready().await, started.elapsed()));
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    let (ready, took) = outcome.lock().unwrap().clone().unwrap();
    (ready, took, report)
}

/// What `ready()` answers for the service "slow" past its 5 s ready timeout.
fn timed_out() -> Result<(), ReadyError> {
    Err(ReadyError::TimedOut {
        service: "slow".into(),
        timeout: Duration::from_secs(5),
    })
}

#[tokio::test(start_paused = true)]
async fn a_ready_timeout_fails_the_service_and_names_the_timeout() {
    let slow = Service::new("slow", |shutdown: Shutdown| async move {
        let _ready = Ready::of(&shutdown); // never set
        shutdown.requested().await;
    });
    let (ready, took, report) = time_its_ready(root(), slow).await;
    assert_eq!(ready, timed_out(), "{report}");
    assert_eq!(took, Duration::from_secs(5));
    assert!(report.startup_failed, "{report}");
    assert_eq!(report.exit_code(), 1, "{report}");
    let text = report.to_string();
    assert!(
        text.contains("not ready within its ready timeout of 5s"),
        "{report}"
    );
}

/// A body that ignores its stop (it connects, say, and says it is ready only then): its
/// waiters learn at the ready timeout that it will not be ready, not once its instance has
/// been stopped (here, dropped at its 30 s timeout); the report says it was dropped after its
/// failure, not "for its restart", which a service that does not restart has none of.
#[tokio::test(start_paused = true)]
async fn a_ready_timeout_answers_the_waiters_at_once_when_the_body_ignores_its_stop() {
    let slow = Service::new("slow", |shutdown: Shutdown| async move {
        let ready = Ready::of(&shutdown);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        ready.set();
    });
    let (ready, took, report) = time_its_ready(root().timeout(Duration::from_secs(30)), slow).await;
    assert_eq!(ready, timed_out(), "{report}");
    assert_eq!(took, Duration::from_secs(5), "{report}");
    // The failure is the trigger at once (at 5 s), not once the service, which ignores its
    // stop, has been dropped at its timeout (a review found the tree learning 30 s late:
    // `/readyz` still "starting", no `STOPPING=1`): the tree's stop then aborts it at the
    // deadline, 30 s after the failure, and its record dates the failure at 5 s.
    assert_eq!(
        report.trigger,
        Trigger::ServiceFailed {
            service: "slow".into(),
            error: "service \"slow\" was not ready within its ready timeout of 5s".into(),
        },
        "{report}"
    );
    assert_eq!(report.stop_time, Duration::from_secs(30), "{report}");
    let slow = report.service("slow").unwrap();
    assert_eq!(slow.outcome, ServiceOutcome::Aborted, "{report}");
    assert_eq!(slow.failures.len(), 1, "{report}");
    assert_eq!(slow.failures[0].at, Duration::from_secs(5), "{report}");
    assert_eq!(
        report.exit_code(),
        canstop::exit_code::TIMED_OUT,
        "{report}"
    );
    assert!(!report.to_string().contains("for its restart"), "{report}");
}

/// A service that needs one whose instance timed out (and takes a moment to stop) waits on
/// until that service is gone: the failure that escalates, the shutdown's trigger, is the
/// needed service's own, and the dependent is not reported failed for it.
#[tokio::test(start_paused = true)]
async fn a_ready_timeout_is_the_trigger_not_its_dependents_failure() {
    let report = root()
        .timeout(Duration::from_secs(30))
        .run(async move {
            canstop::start(
                Service::new("slow", |shutdown: Shutdown| async move {
                    let _ready = Ready::of(&shutdown); // never set
                    shutdown.requested().await;
                    tokio::time::sleep(Duration::from_millis(100)).await; // a moment to stop
                })
                .signals_ready()
                .ready_timeout(Duration::from_secs(5)),
            )?;
            canstop::start(
                Service::new("dependent", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                })
                .needs(["slow"]),
            )?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert!(
        matches!(&report.trigger, Trigger::ServiceFailed { service, .. } if service == "slow"),
        "{report}"
    );
    assert!(
        !matches!(
            report.service("dependent").unwrap().outcome,
            ServiceOutcome::Failed { .. }
        ),
        "{report}"
    );
}

/// A service stopped on its own (its handle's `stop`) before it was ready: one that needs it
/// can never start, and fails once it has stopped, naming it.
#[tokio::test(start_paused = true)]
async fn a_service_whose_need_stopped_before_it_was_ready_fails_naming_it() {
    let report = root()
        .run(async move {
            let db = canstop::start(
                Service::new("db", |shutdown: Shutdown| async move {
                    let _ready = Ready::of(&shutdown); // never set
                    shutdown.requested().await;
                    tokio::time::sleep(Duration::from_millis(100)).await; // a moment to stop
                })
                .signals_ready(),
            )?;
            canstop::start(
                Service::new("api", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                })
                .needs(["db"]),
            )?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            db.stop();
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert!(
        matches!(&report.trigger, Trigger::ServiceFailed { service, error }
            if service == "api" && error.contains("it needs service \"db\", which will not be ready")),
        "{report}"
    );
    assert_eq!(report.exit_code(), 1, "{report}");
}

/// The tree stops (a signal, say) while an instance that timed out is being stopped for its
/// failure, and the deadline cuts it: it is reported aborted, and its failure is still in the
/// report.
#[tokio::test(start_paused = true)]
async fn a_ready_timeout_cut_by_the_deadline_keeps_its_failure() {
    let report = root()
        .timeout(Duration::from_secs(30))
        .run(async move {
            let slow = canstop::start(
                Service::new("slow", |shutdown: Shutdown| async move {
                    let _ready = Ready::of(&shutdown); // never set
                    std::future::pending::<()>().await;
                })
                .signals_ready()
                .ready_timeout(Duration::from_secs(5)),
            )?;
            // Past its ready timeout (5 s), while its instance is being stopped.
            tokio::time::sleep(Duration::from_secs(6)).await;
            drop(slow);
            canstop::shutdown()?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    let slow = &report.services[0];
    assert_eq!(slow.outcome, ServiceOutcome::Aborted, "{report}");
    assert!(
        slow.failures.iter().any(|failure| failure
            .message
            .contains("not ready within its ready timeout of 5s")),
        "{report}"
    );
    assert_eq!(report.exit_code(), 124, "{report}");
}

/// db ← cache ← api, given in reverse: they start db, cache, api (each once the one before
/// is ready) and stop api, cache, db (each once the one after has stopped).
#[tokio::test(start_paused = true)]
async fn needs_start_in_dependency_order_and_stop_in_reverse() {
    let log = Log::new();
    let ms = Duration::from_millis;
    let report = root()
        .run({
            let log = log.clone();
            async move {
                let handles = canstop::start_all([
                    service("api", &log, ms(10), ms(10)).needs(["cache"]),
                    service("cache", &log, ms(20), ms(20)).needs(["db"]),
                    service("db", &log, ms(30), ms(30)),
                ])?;
                assert_eq!(handles[0].name(), "api", "handles in the order given");
                handles[0].ready().await?;
                log.push("api ready");
                canstop::shutdown()?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        log.lines(),
        [
            "db started",
            "cache started",
            "api started",
            "api ready",
            "api stopping",
            "api stopped",
            "cache stopping",
            "cache stopped",
            "db stopping",
            "db stopped"
        ]
    );
    // Each started once the one it needs was ready, and stopped once its dependent had.
    assert_eq!(log.at("cache started"), ms(30));
    assert_eq!(log.at("api started"), ms(50));
    assert_eq!(log.at("cache stopping"), log.at("api stopped"));
    assert_eq!(log.at("db stopping"), log.at("cache stopped"));
}

/// A dependent that ignores its stop is aborted at its share of the deadline: what it needs
/// still gets the rest (9 s for three stages: 3 s each, the unused time passed on).
#[tokio::test(start_paused = true)]
async fn a_stuck_dependent_leaves_its_dependencies_their_share_of_the_deadline() {
    let log = Log::new();
    let secs = Duration::from_secs;
    let report = root()
        .timeout(secs(9))
        .run({
            let log = log.clone();
            async move {
                let stuck = {
                    let log = log.clone();
                    Service::new("api", move |_: Shutdown| async move {
                        log.push("api started");
                        std::future::pending::<()>().await;
                    })
                };
                canstop::start_all([
                    service("db", &log, Duration::ZERO, secs(1)),
                    service("cache", &log, Duration::ZERO, secs(1)).needs(["db"]),
                    stuck.needs(["cache"]),
                ])?;
                canstop::shutdown()?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert_eq!(
        report.service("api").unwrap().outcome,
        ServiceOutcome::Aborted,
        "{report}"
    );
    assert_eq!(
        report.service("cache").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    assert_eq!(
        report.service("db").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    // api's share: 9 s / 3 stages; cache is told then and takes 1 s; db is told once cache
    // has stopped, with time to spare.
    assert_eq!(log.at("cache stopping"), secs(3));
    assert_eq!(log.at("db stopping"), secs(4));
    assert_eq!(log.at("db stopped"), secs(5));
    assert_eq!(report.exit_code(), 124, "the abort is a deadline: {report}");
}

/// A diamond: api needs a and b, which both need db. a and b stop together, between api
/// and db.
#[tokio::test(start_paused = true)]
async fn a_diamond_stops_its_middle_concurrently() {
    let log = Log::new();
    let ms = Duration::from_millis;
    let report = root()
        .run({
            let log = log.clone();
            async move {
                canstop::start_all([
                    service("api", &log, ms(1), ms(10)).needs(["a", "b"]),
                    service("a", &log, ms(1), ms(10)).needs(["db"]),
                    service("b", &log, ms(1), ms(30)).needs(["db"]),
                    service("db", &log, ms(1), ms(10)),
                ])?;
                canstop::start(Service::new("stopper", |shutdown: Shutdown| async move {
                    canstop::ready().await?;
                    shutdown.shutdown_tree();
                    Ok::<(), ReadyError>(())
                }))?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    let lines = log.lines();
    assert_eq!(lines[0], "db started");
    assert_eq!(lines[3], "api started");
    assert_eq!(log.at("a stopping"), log.at("api stopped"));
    assert_eq!(log.at("b stopping"), log.at("api stopped"));
    // db waits for the slower of the two.
    assert_eq!(log.at("db stopping"), log.at("b stopped"));
    assert!(log.at("a stopped") < log.at("b stopped"));
}

#[tokio::test(start_paused = true)]
async fn a_cycle_or_an_unknown_name_is_an_error_at_start_and_starts_nothing() {
    let report = root()
        .run(async {
            let idle = |name: &'static str| {
                Service::new(name, |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                })
            };
            let cycle = canstop::start_all([
                idle("a").needs(["b"]),
                idle("b").needs(["c"]),
                idle("c").needs(["a"]),
            ]);
            assert_eq!(
                cycle.unwrap_err(),
                SpawnError::DependencyCycle {
                    services: vec!["a".into(), "b".into(), "c".into(), "a".into()]
                }
            );
            let itself = canstop::start(idle("a").needs(["a"])).unwrap_err();
            assert!(
                matches!(itself, SpawnError::DependencyCycle { .. }),
                "{itself}"
            );
            let unknown = canstop::start(idle("api").needs(["db"])).unwrap_err();
            assert_eq!(
                unknown,
                SpawnError::UnknownDependency {
                    service: "api".into(),
                    needs: "db".into()
                }
            );
            assert!(
                unknown.to_string().contains("canstop::start_all"),
                "{unknown}"
            );
            // Nothing of a refused batch started: one valid service, one unknown name.
            let partly = canstop::start_all([idle("ok"), idle("api").needs(["nowhere"])]);
            assert!(matches!(partly, Err(SpawnError::UnknownDependency { .. })));
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert!(report.services.is_empty(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn stop_order_reverse_stops_one_at_a_time_in_reverse_start_order() {
    let log = Log::new();
    let ms = Duration::from_millis;
    let report = root()
        .stop_order(StopOrder::Reverse)
        .run({
            let log = log.clone();
            async move {
                for name in ["one", "two", "three"] {
                    canstop::start(service(name, &log, ms(0), ms(10)))?;
                }
                canstop::shutdown()?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        log.lines()[3..],
        [
            "three stopping",
            "three stopped",
            "two stopping",
            "two stopped",
            "one stopping",
            "one stopped"
        ]
    );
    // Without it, the three stop at once.
    let log = Log::new();
    root()
        .run({
            let log = log.clone();
            async move {
                for name in ["one", "two", "three"] {
                    canstop::start(service(name, &log, ms(0), ms(10)))?;
                }
                canstop::shutdown()?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert_eq!(log.at("one stopping"), log.at("three stopping"));
}

/// A restarted service is not ready until its new instance is; the tree's readiness follows.
#[tokio::test(start_paused = true)]
async fn a_restarting_service_is_not_ready_until_its_new_instance_is() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let report = root()
        .on_event(move |event: &Event| seen.lock().unwrap().push(event.clone()))
        .run(async {
            let attempts = Arc::new(Mutex::new(0));
            let flaky = canstop::start(
                Service::restartable("flaky", move |shutdown: Shutdown| {
                    let ready = Ready::of(&shutdown);
                    let attempts = attempts.clone();
                    async move {
                        let attempt = {
                            let mut attempts = attempts.lock().unwrap();
                            *attempts += 1;
                            *attempts
                        };
                        ready.set();
                        if attempt == 1 {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            return Err("lost the connection");
                        }
                        shutdown.requested().await;
                        Ok(())
                    }
                })
                .signals_ready()
                .restart(Restart::OnFailure)
                .backoff(Duration::from_millis(50), Duration::from_secs(1)),
            )?;
            canstop::start(Service::new(
                "watcher",
                move |shutdown: Shutdown| async move {
                    flaky.ready().await?;
                    tokio::time::sleep(Duration::from_millis(120)).await;
                    assert!(!flaky.is_ready(), "restarting");
                    flaky.ready().await?;
                    assert_eq!(flaky.restarts(), 1);
                    shutdown.shutdown_tree();
                    Ok::<(), ReadyError>(())
                },
            ))?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    let events = events.lock().unwrap();
    let tree: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::TreeReady | Event::TreeNotReady))
        .collect();
    assert_eq!(
        tree,
        [
            &Event::TreeReady,
            &Event::TreeNotReady,
            &Event::TreeReady,
            &Event::TreeNotReady
        ],
        "ready, not ready while flaky restarts, ready, not ready at the stop: {events:#?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Restarting { service, attempt: 1, .. } if service == "flaky"
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Failed { service, error } if service == "flaky" && error == "lost the connection"
    )));
}

#[tokio::test(start_paused = true)]
async fn tree_ready_waits_for_main_and_every_service_and_main_cannot_wait_for_itself() {
    let log = Log::new();
    let report = root()
        .run({
            let log = log.clone();
            async move {
                assert_eq!(canstop::ready().await, Err(ReadyError::InMainBody));
                canstop::start(service(
                    "db",
                    &log,
                    Duration::from_millis(300),
                    Duration::ZERO,
                ))?;
                let waiter = log.clone();
                canstop::start(Service::new(
                    "waiter",
                    move |shutdown: Shutdown| async move {
                        canstop::ready().await?;
                        waiter.push("tree ready");
                        shutdown.shutdown_tree();
                        Ok::<(), ReadyError>(())
                    },
                ))?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                log.push("main returns");
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(log.at("tree ready"), Duration::from_millis(300));
    assert!(!report.startup_failed);
    // Outside any tree.
    assert_eq!(canstop::ready().await, Err(ReadyError::NoScope));
}

/// A dependency that fails for good while its dependent waits fails the dependent's instance
/// with that reason, instead of leaving it waiting.
#[tokio::test(start_paused = true)]
async fn a_dependency_that_fails_before_ready_fails_the_waiting_dependent() {
    let outcome = Arc::new(Mutex::new(None));
    let report = root()
        .run({
            let outcome = outcome.clone();
            async move {
                let handles = canstop::start_all([
                    Service::new("db", |shutdown: Shutdown| async move {
                        let _ready = Ready::of(&shutdown);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Err::<(), _>("disk full")
                    })
                    .signals_ready(),
                    Service::new("api", |shutdown: Shutdown| async move {
                        shutdown.requested().await;
                    })
                    .needs(["db"]),
                ])?;
                *outcome.lock().unwrap() = Some(handles[1].ready().await);
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(
        matches!(report.trigger, Trigger::ServiceFailed { ref service, .. } if service == "db"),
        "{report}"
    );
    let api = outcome.lock().unwrap().clone().unwrap();
    assert!(api.is_err(), "{api:?}");
    // Its body never ran: the report says so (a review found "stopped cleanly").
    assert_eq!(
        report.service("api").unwrap().outcome,
        ServiceOutcome::NotStarted,
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("api: stopped before it started (it was waiting for what it needs)"),
        "{report}"
    );
}

/// Review finding: a service that needs `d`, started while the ordered stop runs, is waited
/// for before `d` is told to stop; it starts stopped, and its `ready()` says so.
#[tokio::test(start_paused = true)]
async fn a_dependent_started_during_the_ordered_stop_still_stops_before_what_it_needs() {
    let log = Log::new();
    let ms = Duration::from_millis;
    let ready = Arc::new(Mutex::new(None));
    let report = root()
        .run({
            let log = log.clone();
            let ready = ready.clone();
            async move {
                canstop::start_all([
                    service("d", &log, ms(0), ms(10)),
                    service("a", &log, ms(0), ms(1000)).needs(["d"]),
                ])?;
                let root_scope = canstop::scope()?;
                canstop::spawn(canstop::Session::new(
                    "late start",
                    move |shutdown: Shutdown| async move {
                        canstop::ready().await?;
                        shutdown.shutdown_tree();
                        let b =
                            root_scope.start(service("b", &log, ms(0), ms(5000)).needs(["d"]))?;
                        *ready.lock().unwrap() = Some(b.ready().await);
                        Ok::<(), BoxError>(())
                    },
                ))?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        ready.lock().unwrap().clone(),
        Some(Err(ReadyError::Stopped {
            service: "b".into()
        }))
    );
    assert_eq!(log.at("b stopped"), ms(5000));
    assert_eq!(
        log.at("d stopping"),
        log.at("b stopped"),
        "{:?}",
        log.lines()
    );
}

/// Review finding: only the body an instance was built with can say it is ready: not a
/// session's `Shutdown`, not the handle's, not an earlier instance's leftover code.
#[tokio::test(start_paused = true)]
async fn only_the_instances_own_body_can_say_it_is_ready() {
    let report = root()
        .run(async {
            let leftover = Arc::new(Mutex::new(None));
            let kept = leftover.clone();
            let attempts = Arc::new(Mutex::new(0));
            let flaky = canstop::start(
                Service::restartable("flaky", move |shutdown: Shutdown| {
                    let ready = Ready::of(&shutdown);
                    let kept = kept.clone();
                    let attempts = attempts.clone();
                    async move {
                        let first = {
                            let mut attempts = attempts.lock().unwrap();
                            *attempts += 1;
                            *attempts == 1
                        };
                        if first {
                            ready.set();
                            *kept.lock().unwrap() = Some(shutdown.clone());
                            return Err("once");
                        }
                        shutdown.requested().await; // the second never says it is ready
                        Ok(())
                    }
                })
                .signals_ready()
                .restart(Restart::OnFailure)
                .backoff(Duration::from_millis(10), Duration::from_millis(10)),
            )?;
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(flaky.restarts(), 1);
            assert!(!flaky.is_ready());
            // The first instance's Shutdown, kept past it.
            let old = leftover.lock().unwrap().clone().unwrap();
            Ready::of(&old).set();
            assert!(!flaky.is_ready(), "an old instance's Ready set the new one");
            Ready::of(&flaky.shutdown_signal()).set();
            assert!(!flaky.is_ready(), "the handle's Shutdown set it");
            let session = flaky
                .shutdown_signal()
                .scope()
                .spawn(canstop::Session::new(
                    "claims",
                    |shutdown: Shutdown| async move {
                        Ready::of(&shutdown).set();
                    },
                ))?;
            session.await?;
            assert!(!flaky.is_ready(), "a session's Shutdown set it");
            canstop::shutdown()?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}

/// Review finding: when the tree is aborted during an ordered stop (here `Root::run`'s future
/// is dropped), the children the walk had not reached are aborted too, not left running.
#[tokio::test(start_paused = true)]
async fn an_abort_during_the_ordered_stop_reaches_the_children_not_told_yet() {
    struct Flag(Arc<Mutex<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = true;
        }
    }
    let dropped = Arc::new(Mutex::new(false));
    let flag = dropped.clone();
    let run = root().stop_order(StopOrder::Reverse).run(async move {
        canstop::start(Service::new(
            "first",
            move |shutdown: Shutdown| async move {
                let _flag = Flag(flag);
                shutdown.requested().await;
            },
        ))?;
        canstop::start(Service::new("stuck", |_: Shutdown| {
            std::future::pending::<()>()
        }))?;
        canstop::shutdown()?;
        Ok::<(), SpawnError>(())
    });
    // Dropped during the stop: "stuck" holds the walk, "first" was not told.
    assert!(tokio::time::timeout(Duration::from_secs(1), run)
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(*dropped.lock().unwrap(), "first's body was left running");
}

/// Review finding: a restart stops the failed instance's children in their stop order too.
#[tokio::test(start_paused = true)]
async fn a_restart_stops_the_instances_children_in_dependency_order() {
    let log = Log::new();
    let ms = Duration::from_millis;
    let report = root()
        .run({
            let log = log.clone();
            async move {
                let attempts = Arc::new(Mutex::new(0));
                canstop::start(
                    Service::restartable("parent", move |shutdown: Shutdown| {
                        let log = log.clone();
                        let attempts = attempts.clone();
                        async move {
                            let attempt = {
                                let mut attempts = attempts.lock().unwrap();
                                *attempts += 1;
                                *attempts
                            };
                            if attempt == 1 {
                                shutdown.scope().start_all([
                                    service("d", &log, ms(0), ms(10)),
                                    service("a", &log, ms(0), ms(1000)).needs(["d"]),
                                ])?;
                                tokio::time::sleep(ms(100)).await;
                                return Err::<(), BoxError>("restart me".into());
                            }
                            shutdown.shutdown_tree();
                            Ok(())
                        }
                    })
                    .restart(Restart::OnFailure)
                    .backoff(ms(1), ms(1)),
                )?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        log.at("d stopping"),
        log.at("a stopped"),
        "{:?}",
        log.lines()
    );
}

/// Review finding: a reverse stop of many services costs little next to the deadline (the
/// walk used to be cubic in the number of children).
#[test]
fn a_reverse_stop_of_a_thousand_services_is_quick() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let report = runtime.block_on(
        root()
            .timeout(Duration::from_secs(20))
            .stop_order(StopOrder::Reverse)
            .run(async {
                for i in 0..1000 {
                    canstop::start(Service::new(
                        format!("s{i}"),
                        |shutdown: Shutdown| async move {
                            shutdown.requested().await;
                        },
                    ))?;
                }
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            }),
    );
    let report = report.unwrap();
    assert!(report.is_clean(), "{report}");
    // Generous for a debug build on a loaded machine; the cubic walk took over 1.4 s here.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// A service that does not restart, past its ready timeout (its failure escalated at once),
/// told to stop and then doing `on_stop`.
fn slow_never(on_stop: &'static str) -> Service {
    Service::new("slow", move |shutdown: Shutdown| async move {
        let _ready = Ready::of(&shutdown); // never set
        shutdown.requested().await;
        match on_stop {
            "escalate" => Err::<(), BoxError>(canstop::Escalate::new("cannot go on").into()),
            "panic" => panic!("boom while stopping"),
            _ => Err::<(), BoxError>("error while stopping".into()),
        }
    })
    .signals_ready()
    .ready_timeout(Duration::from_secs(5))
}

/// What it does while stopping after its failure escalated at once is noted in its record,
/// never escalated a second time, and not called a restart's: the timeout stays its outcome
/// and the trigger (a review found an `Escalate` while stopping escalating again and
/// replacing the timeout in the service's line, and "while stopping for its restart" on a
/// service that never restarts).
#[tokio::test(start_paused = true)]
async fn what_a_timed_out_service_does_while_stopping_is_noted_not_escalated_again() {
    const TIMED_OUT: &str = "service \"slow\" was not ready within its ready timeout of 5s";
    for (on_stop, noted) in [
        (
            "escalate",
            "while stopping once it had failed: cannot go on",
        ),
        (
            "panic",
            "while stopping once it had failed: panicked: boom while stopping",
        ),
        (
            "err",
            "while stopping once it had failed: error while stopping",
        ),
    ] {
        let report = root()
            .run(async move {
                canstop::start(slow_never(on_stop))?;
                Ok::<(), BoxError>(())
            })
            .await
            .unwrap();
        assert_eq!(
            report.trigger,
            Trigger::ServiceFailed {
                service: "slow".into(),
                error: TIMED_OUT.into(),
            },
            "{on_stop}: {report}"
        );
        let slow = report.service("slow").unwrap();
        assert_eq!(
            slow.outcome,
            ServiceOutcome::Failed {
                error: TIMED_OUT.into(),
                early: true,
            },
            "{on_stop}: {report}"
        );
        let failures: Vec<_> = slow.failures.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(failures, [noted], "{on_stop}: {report}");
        assert!(
            !report.to_string().contains("for its restart"),
            "{on_stop}: {report}"
        );
    }
}

/// Review finding: a service that takes no `Ready` was ready once its body was built, before
/// the body ran, so a child service its body starts was not counted yet: the tree was ready
/// (`READY=1`, `/startupz`, `Event::TreeReady`) before the child was, then not ready again.
/// It is now ready once its body's first poll returned `Pending`.
#[tokio::test(start_paused = true)]
async fn a_parent_without_ready_is_not_ready_before_the_children_its_body_starts() {
    let log = Log::new();
    let events = log.clone();
    let report = root()
        .on_event(move |event: &Event| {
            if matches!(event, Event::TreeReady | Event::TreeNotReady) {
                events.push(format!("{event:?}"));
            }
        })
        .run({
            let log = log.clone();
            async move {
                canstop::start(Service::new("app", move |shutdown: Shutdown| async move {
                    canstop::start(service(
                        "db",
                        &log,
                        Duration::from_millis(300),
                        Duration::ZERO,
                    ))?;
                    shutdown.requested().await;
                    Ok::<(), SpawnError>(())
                }))?;
                stop_tree_after(Duration::from_millis(400))?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    let changes: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|line| line.starts_with("Tree"))
        .collect();
    assert_eq!(changes[0], "TreeReady", "{changes:?}");
    assert_eq!(log.at("TreeReady"), Duration::from_millis(300), "{report}");
}

/// Review finding: how long an instance ran ("after running" in the report, the state's
/// uptime) included its wait for the services it needs. It counts from its body's start.
#[tokio::test(start_paused = true)]
async fn how_long_an_instance_ran_excludes_its_wait_for_what_it_needs() {
    let log = Log::new();
    let report = root()
        .run({
            let log = log.clone();
            async move {
                canstop::start(service(
                    "db",
                    &log,
                    Duration::from_millis(50),
                    Duration::ZERO,
                ))?;
                let failed = Arc::new(Mutex::new(false));
                canstop::start(
                    Service::restartable("cache", move |shutdown: Shutdown| {
                        let failed = failed.clone();
                        async move {
                            if std::mem::replace(&mut *failed.lock().unwrap(), true) {
                                shutdown.requested().await;
                                return Ok(());
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            Err("cold start")
                        }
                    })
                    .restart(Restart::OnFailure)
                    .needs(["db"]),
                )?;
                stop_tree_after(Duration::from_millis(400))?;
                Ok::<(), BoxError>(())
            }
        })
        .await
        .unwrap();
    let cache = report.service("cache").expect("cache is in the report");
    assert_eq!(cache.failures.len(), 1, "{report}");
    assert_eq!(
        cache.failures[0].ran_for,
        Duration::from_millis(200),
        "{report}"
    );
    assert_eq!(cache.failures[0].at, Duration::from_millis(250), "{report}");
}
