//! The tree in process: outcomes, triggers, errors, nesting, deadlines and misuse.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canstop::{exit_code, Service, ServiceOutcome, Session, Shutdown, SpawnError, Trigger};
use std::future::Future;

use tokio::time::Instant;

/// Panics with `message` (a function, so the bodies keep the `()` type).
fn fail(message: &str) {
    panic!("{message}");
}

use canstop_tests::root;

#[tokio::test]
async fn panicking_sessions_and_services_are_reported_with_their_message() {
    let report = root()
        .run(async {
            canstop::spawn(Session::new("bad-request", |_| async {
                fail("index out of range in request 7");
            }))?;
            canstop::start(Service::new("flaky", |shutdown: Shutdown| async move {
                shutdown.requested().await;
                fail("flush failed while stopping");
            }))?;
            canstop::start(Service::new("crasher", |_| async {
                tokio::task::yield_now().await;
                fail("crashed on start-up");
            }))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();

    // The process (this test) survived; everything is in the report.
    let sessions = report.sessions_named("bad-request").unwrap();
    assert_eq!((sessions.started, sessions.panicked), (1, 1));
    assert_eq!(
        sessions.errors,
        vec!["panicked: index out of range in request 7".to_owned()]
    );
    assert_eq!(
        report.trigger,
        Trigger::ServicePanicked {
            service: "crasher".into(),
            message: "crashed on start-up".into()
        }
    );
    assert_eq!(
        report.service("flaky").unwrap().outcome,
        ServiceOutcome::Panicked {
            message: "flush failed while stopping".into(),
            early: false
        }
    );
    assert_eq!(report.exit_code(), exit_code::FAILED);
    let rendered = report.to_string();
    assert!(
        rendered.contains("PANICKED: flush failed while stopping"),
        "{rendered}"
    );
}

#[tokio::test]
async fn a_failing_service_triggers_the_shutdown_and_every_error_is_kept() {
    let report = root()
        .run(async {
            // Fails at once: the trigger.
            canstop::start(Service::new("db", |_| async {
                Err::<(), _>("connection refused")
            }))?;
            // Fails while stopping: kept too.
            canstop::start(Service::new("cache", |shutdown: Shutdown| async move {
                shutdown.requested().await;
                Err::<(), _>(std::io::Error::other("cache flush: disk full"))
            }))?;
            // Stops cleanly.
            canstop::start(Service::new("http", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();

    assert_eq!(
        report.trigger,
        Trigger::ServiceFailed {
            service: "db".into(),
            error: "connection refused".into()
        }
    );
    assert_eq!(
        report.service_errors(),
        vec![
            ("db".to_owned(), "connection refused".to_owned()),
            ("cache".to_owned(), "cache flush: disk full".to_owned()),
        ]
    );
    assert_eq!(
        report.service("http").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    assert_eq!(report.exit_code(), exit_code::FAILED);
}

/// Many tasks spawn sessions while the shutdown starts: each attempt is refused, or tracked
/// and counted as finished or aborted. None is lost.
///
/// The spawners never stop on their own, so the drain cannot empty the scope: it lasts until
/// the (short) deadline, which aborts what is queued and closes the scope; each spawner then
/// sees a refusal. Accepted-during-drain, aborted and refused are all exercised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawns_racing_the_shutdown_are_refused_or_counted_never_lost() {
    const SPAWNERS: u64 = 4;
    const ATTEMPTS_EACH: u64 = 25_000;
    let attempts = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let spawners = Arc::new(Mutex::new(Vec::new()));

    let report = root()
        .timeout(Duration::from_millis(500))
        .run({
            let (attempts, accepted, refused, spawners) = (
                attempts.clone(),
                accepted.clone(),
                refused.clone(),
                spawners.clone(),
            );
            async move {
                // Keeps the program running until the shutdown.
                canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                }))?;
                let scope = canstop::scope()?;
                for _ in 0..SPAWNERS {
                    let (scope, attempts, accepted, refused) = (
                        scope.clone(),
                        attempts.clone(),
                        accepted.clone(),
                        refused.clone(),
                    );
                    // Untracked on purpose: the spawners outlive the tree.
                    let spawner = canstop::spawn_untracked(async move {
                        let mut mine = 0;
                        loop {
                            let total = attempts.fetch_add(1, Ordering::SeqCst) + 1;
                            mine += 1;
                            if total == SPAWNERS * ATTEMPTS_EACH / 2 {
                                scope.shutdown_tree(); // the shutdown starts mid-stream
                            }
                            let session = Session::new("racer", |_| async {
                                tokio::task::yield_now().await;
                            });
                            match scope.spawn(session) {
                                Ok(_) => accepted.fetch_add(1, Ordering::SeqCst),
                                Err(SpawnError::Closed { .. }) => {
                                    refused.fetch_add(1, Ordering::SeqCst);
                                    // Done once our share is tried and one refusal is seen.
                                    if mine >= ATTEMPTS_EACH {
                                        break;
                                    }
                                    0
                                }
                                Err(other) => panic!("unexpected {other}"),
                            };
                            if mine % 64 == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    })?;
                    spawners.lock().unwrap().push(spawner);
                }
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();

    let handles = std::mem::take(&mut *spawners.lock().unwrap());
    for spawner in handles {
        spawner.await.unwrap();
    }
    let (attempts, accepted, refused) = (
        attempts.load(Ordering::SeqCst),
        accepted.load(Ordering::SeqCst),
        refused.load(Ordering::SeqCst),
    );
    let racers = report.sessions_named("racer").unwrap();
    println!(
        "attempts={attempts} accepted={accepted} refused={refused}; report: {racers}; stop took {:?}",
        report.stop_time
    );
    assert!(attempts >= SPAWNERS * ATTEMPTS_EACH);
    assert!(refused >= SPAWNERS, "every spawner saw the scope close");
    assert_eq!(attempts, accepted + refused, "every attempt answered");
    assert_eq!(racers.started, accepted, "every accepted spawn was tracked");
    assert_eq!(
        racers.ended(),
        racers.started,
        "every tracked session was counted"
    );
    assert_eq!(racers.finished + racers.aborted, racers.started);
    assert!(racers.aborted > 0, "the deadline cut the queue: {racers}");
}

/// A parent is stopped only after its children and its sessions: with the paused clock, the
/// stop times are exact.
#[tokio::test(start_paused = true)]
async fn a_parent_stops_only_after_its_children_and_sessions() {
    let ended_at = Arc::new(Mutex::new(Vec::new()));
    let report = root()
        .run({
            let ended_at = ended_at.clone();
            async move {
                canstop::start(Service::new(
                    "parent",
                    move |shutdown: Shutdown| async move {
                        let log = ended_at.clone();
                        canstop::start(Service::new(
                            "child",
                            move |shutdown: Shutdown| async move {
                                let log2 = log.clone();
                                canstop::spawn(Session::new(
                                    "child-session",
                                    move |shutdown: Shutdown| async move {
                                        shutdown.requested().await;
                                        tokio::time::sleep(Duration::from_secs(3)).await;
                                        log2.lock()
                                            .unwrap()
                                            .push(("child-session", Instant::now()));
                                    },
                                ))?;
                                shutdown.requested().await;
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                log.lock().unwrap().push(("child body", Instant::now()));
                                Ok::<(), SpawnError>(())
                            },
                        ))?;
                        let log = ended_at.clone();
                        canstop::spawn(Session::new(
                            "parent-session",
                            move |shutdown: Shutdown| async move {
                                shutdown.requested().await;
                                tokio::time::sleep(Duration::from_secs(2)).await;
                                log.lock().unwrap().push(("parent-session", Instant::now()));
                            },
                        ))?;
                        shutdown.requested().await;
                        Ok::<(), SpawnError>(())
                    },
                ))?;
                tokio::time::sleep(Duration::from_secs(5)).await;
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();

    let parent = report.service("parent").unwrap();
    let child = report.service("parent/child").unwrap();
    assert_eq!(parent.outcome, ServiceOutcome::Stopped);
    assert_eq!(child.outcome, ServiceOutcome::Stopped);
    // The child waited for its session (3 s), the parent for the child and its own (2 s).
    assert_eq!(child.stop_time, Some(Duration::from_secs(3)));
    assert_eq!(parent.stop_time, Some(Duration::from_secs(3)));
    assert_eq!(report.stop_time, Duration::from_secs(3));
    let ended = ended_at.lock().unwrap();
    assert_eq!(
        ended.iter().map(|(what, _)| *what).collect::<Vec<_>>(),
        ["child body", "parent-session", "child-session"]
    );
    // The child's report sits under its parent's, with its own sessions.
    assert_eq!(parent.children.len(), 1);
    assert_eq!(child.sessions[0].kind.name(), "child-session");
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_service_timeout_aborts_it_before_the_tree_deadline() {
    let report = root()
        .timeout(Duration::from_secs(30))
        .run(async {
            canstop::start(
                Service::new("slow-flush", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                })
                .timeout(Duration::from_secs(2)),
            )?;
            canstop::start(Service::new("quick", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let slow = report.service("slow-flush").unwrap();
    assert_eq!(slow.outcome, ServiceOutcome::Aborted);
    assert_eq!(slow.stop_time, Some(Duration::from_secs(2)));
    assert_eq!(report.stop_time, Duration::from_secs(2));
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
}

#[tokio::test(start_paused = true)]
async fn sessions_without_a_shutdown_run_to_completion_and_stubborn_ones_are_aborted() {
    let report = root()
        .timeout(Duration::from_secs(10))
        .run(async {
            canstop::start(Service::new("api", |shutdown: Shutdown| async move {
                canstop::spawn(Session::new("upload", |_| async {
                    tokio::time::sleep(Duration::from_secs(4)).await; // finishes in the drain
                }))?;
                canstop::spawn(Session::new("stream", |_| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await; // cut at the deadline
                }))?;
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            }))?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let upload = report.sessions_named("upload").unwrap();
    let stream = report.sessions_named("stream").unwrap();
    assert_eq!((upload.started, upload.finished), (1, 1));
    assert_eq!((stream.started, stream.aborted), (1, 1));
    assert_eq!(report.stop_time, Duration::from_secs(10));
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
}

#[tokio::test(start_paused = true)]
async fn a_batch_job_without_services_finishes_its_sessions_unhurried() {
    let started = Instant::now();
    let report = root()
        .timeout(Duration::from_secs(1))
        .run(async {
            for job in 0..5u64 {
                canstop::spawn(Session::new("job", move |_| async move {
                    tokio::time::sleep(Duration::from_secs(10 * (job + 1))).await;
                }))?;
            }
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    // Longer than the timeout: nothing asked the jobs to stop.
    assert_eq!(started.elapsed(), Duration::from_secs(50));
    assert_eq!(report.trigger, Trigger::Finished);
    let jobs = report.sessions_named("job").unwrap();
    assert_eq!((jobs.started, jobs.finished), (5, 5));
    assert!(report.is_clean(), "{report}");
}

#[tokio::test]
async fn main_returning_an_error_is_the_trigger() {
    let report = root()
        .run(async {
            canstop::start(Service::new("server", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))
            .map_err(|error| error.to_string())?;
            Err::<(), String>("config: missing DATABASE_URL".into())
        })
        .await
        .unwrap();
    assert_eq!(
        report.trigger,
        Trigger::MainFailed {
            error: "\"config: missing DATABASE_URL\"".into()
        }
    );
    assert_eq!(
        report.service("server").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    assert_eq!(report.exit_code(), exit_code::FAILED);
}

#[tokio::test]
async fn services_that_all_end_on_their_own_end_the_program() {
    let report = root()
        .run(async {
            canstop::start(Service::new("migration", |_| async {}))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.trigger, Trigger::Finished);
    assert_eq!(
        report.service("migration").unwrap().outcome,
        ServiceOutcome::EndedEarly
    );
    assert_eq!(report.exit_code(), exit_code::CLEAN);
}

#[tokio::test]
async fn misuse_is_an_error_not_a_panic() {
    // Outside any scope.
    let outside = canstop::spawn(Session::new("nowhere", |_| async {}));
    assert_eq!(outside, Err(SpawnError::NoScope));
    assert_eq!(
        canstop::start(Service::new("nowhere", |_| async {})).unwrap_err(),
        SpawnError::NoScope
    );
    assert_eq!(canstop::shutdown(), Err(SpawnError::NoScope));
    assert_eq!(
        canstop::spawn_blocking("nowhere", || ()),
        Err(SpawnError::NoScope)
    );

    // After the shutdown finished.
    let kept = Arc::new(Mutex::new(None));
    let report = root()
        .run({
            let kept = kept.clone();
            async move {
                *kept.lock().unwrap() = Some(canstop::scope()?);
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean());
    let scope = kept.lock().unwrap().take().unwrap();
    let late = scope.spawn(Session::new("late", |_| async {}));
    assert_eq!(
        late,
        Err(SpawnError::Closed {
            scope: "the root scope".into()
        })
    );
    let message = late.unwrap_err().to_string();
    assert_eq!(
        message,
        "the root scope has finished shutting down and takes no more work"
    );
    assert!(matches!(
        scope.start(Service::new("late", |_| async {})),
        Err(SpawnError::Closed { .. })
    ));
}

#[test]
fn outside_a_runtime_is_an_error_not_a_panic() {
    assert_eq!(
        canstop::spawn_untracked(async {}).unwrap_err(),
        SpawnError::NoRuntime
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_tells_its_deadline_and_trigger() {
    let seen = Arc::new(Mutex::new(None));
    let report = root()
        .timeout(Duration::from_secs(7))
        .run({
            let seen = seen.clone();
            async move {
                canstop::start(
                    Service::new("short", move |shutdown: Shutdown| async move {
                        assert_eq!(shutdown.deadline(), None);
                        assert_eq!(shutdown.triggered_by(), None);
                        shutdown.requested().await;
                        let told_at = Instant::now();
                        *seen.lock().unwrap() = Some((
                            shutdown.deadline().unwrap() - told_at,
                            shutdown.triggered_by(),
                        ));
                    })
                    .timeout(Duration::from_secs(3)),
                )?;
                tokio::time::sleep(Duration::from_secs(1)).await;
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert!(report.is_clean());
    let (until_deadline, trigger) = seen.lock().unwrap().take().unwrap();
    // Its own 3 s, shorter than the tree's 7 s.
    assert_eq!(until_deadline, Duration::from_secs(3));
    assert!(
        matches!(trigger, Some(Trigger::Requested { location }) if location.contains("tree.rs"))
    );
}

#[tokio::test(start_paused = true)]
async fn stopping_one_service_leaves_the_rest_running() {
    let report = root()
        .run(async {
            let worker = canstop::start(Service::new("worker", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))?;
            let watcher =
                canstop::start(Service::new("watcher", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                }))?;
            worker.stop();
            worker.shutdown_signal().requested().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert!(!watcher.shutdown_signal().is_requested());
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        report.service("worker").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    assert_eq!(
        report.service("watcher").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    assert!(matches!(report.trigger, Trigger::Requested { .. }));
}

#[test]
fn a_scope_spawns_on_its_tree_runtime_from_a_plain_thread() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime
        .block_on(root().run(async {
            let scope = canstop::scope()?;
            // A plain OS thread, outside the runtime: the scope still knows where to spawn.
            std::thread::spawn(move || {
                scope.spawn(Session::new("from-thread", |_| async {}))?;
                scope.shutdown_tree();
                Ok::<(), SpawnError>(())
            })
            .join()
            .unwrap()?;
            canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))
            .map(drop)
        }))
        .unwrap();
    let sessions = report.sessions_named("from-thread").unwrap();
    assert_eq!((sessions.started, sessions.finished), (1, 1));
}

#[test]
fn a_root_outside_a_runtime_is_an_error_not_a_panic() {
    let polled = std::pin::pin!(root().run(async {}));
    let waker = std::task::Waker::noop();
    match polled.poll(&mut std::task::Context::from_waker(waker)) {
        std::task::Poll::Ready(Err(canstop::StartError::NoRuntime)) => {}
        other => panic!("expected NoRuntime, got {:?}", other.map(|r| r.map(|_| ()))),
    }
}

/// Work started during the drain (a farewell job, a session spawning a follow-up) is tracked
/// and waited for like the rest.
#[tokio::test(start_paused = true)]
async fn sessions_spawned_during_the_drain_are_tracked_and_waited_for() {
    let report = root()
        .run(async {
            canstop::start(Service::new("api", |shutdown: Shutdown| async move {
                shutdown.requested().await;
                canstop::spawn(Session::new("farewell", |_| async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    canstop::spawn(Session::new("follow-up", |_| async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }))
                }))
            }))?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.sessions_named("farewell").unwrap().finished, 1);
    assert_eq!(report.sessions_named("follow-up").unwrap().finished, 1);
    assert_eq!(report.stop_time, Duration::from_secs(2));
    assert!(report.is_clean(), "{report}");
}

/// Sets a flag and wakes a waiter when dropped: proof that a body was dropped (aborted).
struct DropSignal(Arc<tokio::sync::Notify>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// Dropping the root's future (under a `timeout`, say) aborts the tree instead of leaving it
/// running unsupervised.
#[tokio::test(start_paused = true)]
async fn dropping_the_root_future_aborts_the_tree() {
    let dropped = Arc::new(tokio::sync::Notify::new());
    let guard = DropSignal(dropped.clone());
    let (scope_tx, scope_rx) = std::sync::mpsc::channel();
    let run = root().run(async move {
        scope_tx.send(canstop::Scope::current()?).unwrap();
        canstop::start(Service::new(
            "forever",
            move |_shutdown: Shutdown| async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            },
        ))?;
        Ok::<(), SpawnError>(())
    });
    let cut = tokio::time::timeout(Duration::from_secs(1), run).await;
    assert!(cut.is_err(), "the tree runs until its future is dropped");
    // The service's body is dropped without any trigger or deadline.
    tokio::time::timeout(Duration::from_secs(5), dropped.notified())
        .await
        .expect("the service was aborted when the root's future was dropped");
    // A snapshot says so: the tree is not ready (nor counting down to a deadline) any more.
    let scope = scope_rx.recv().unwrap();
    let state = scope.state();
    assert_eq!(state.tree, canstop::TreePhase::Stopped, "{state}");
    assert!(
        matches!(state.root.phase, canstop::Phase::Stopped { .. }),
        "{state}"
    );
    // And the service, once its supervisor has seen the abort, says what cut it: not a
    // deadline, which no one reached.
    let mut state = scope.state();
    for _ in 0..1_000 {
        if matches!(state.root.children[0].phase, canstop::Phase::Stopped { .. }) {
            break;
        }
        tokio::task::yield_now().await;
        state = scope.state();
    }
    assert_eq!(
        state.root.children[0].phase,
        canstop::Phase::Stopped {
            outcome: ServiceOutcome::RunDropped
        },
        "{state}"
    );
    let text = state.to_string();
    assert!(
        text.contains("forever: ABORTED: its root's run was dropped"),
        "{text}"
    );
    assert!(!text.contains("deadline"), "{text}");
}

/// A service whose thread is blocked is given up on at the deadline: it is `Unresponsive`,
/// its sessions are still counted (as aborted), and its healthy ancestors keep their own
/// outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresponsive_service_keeps_its_sessions_and_spares_its_ancestors() {
    let report = root()
        .timeout(Duration::from_millis(200))
        .run(async {
            canstop::start(Service::new("outer", |shutdown: Shutdown| async move {
                canstop::start(Service::new("middle", |shutdown: Shutdown| async move {
                    canstop::start(Service::new("stuck", |shutdown: Shutdown| async move {
                        for _ in 0..3 {
                            canstop::spawn(Session::new("work", |_| std::future::pending::<()>()))?;
                        }
                        shutdown.requested().await;
                        std::thread::sleep(Duration::from_millis(800)); // blocks its worker
                        Ok::<(), SpawnError>(())
                    }))?;
                    shutdown.requested().await;
                    Ok::<(), SpawnError>(())
                }))?;
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            }))?;
            tokio::task::yield_now().await;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    println!("{report}");
    assert_eq!(
        report.service("outer/middle/stuck").unwrap().outcome,
        ServiceOutcome::Unresponsive
    );
    assert_eq!(
        report.service("outer").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    assert_eq!(
        report.service("outer/middle").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    let work = report.sessions_named("work").unwrap();
    assert_eq!((work.started, work.aborted), (3, 3));
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
}

/// A service stopped on its own with a long timeout is still cut at the tree's (earlier)
/// deadline once the tree shuts down.
#[tokio::test(start_paused = true)]
async fn the_tree_deadline_bounds_a_service_stopped_earlier() {
    let started = Instant::now();
    let report = root()
        .timeout(Duration::from_secs(1))
        .run(async {
            let slow = canstop::start(
                Service::new("slow", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                })
                .timeout(Duration::from_secs(30)),
            )?;
            canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))?;
            slow.stop(); // its own stop: 30 s
            tokio::time::sleep(Duration::from_secs(2)).await;
            canstop::shutdown()?; // the tree's: 1 s
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        report.service("slow").unwrap().outcome,
        ServiceOutcome::Aborted
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_huge_timeout_does_not_overflow() {
    let report = root()
        .timeout(Duration::MAX)
        .run(async {
            canstop::start(
                Service::new("idle", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                })
                .timeout(Duration::MAX),
            )?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}

/// With no service running yet, a root session may still start one: the program is not
/// finished while a root session runs.
#[tokio::test(start_paused = true)]
async fn a_root_session_may_start_a_service_while_no_service_runs() {
    let report = root()
        .run(async {
            canstop::spawn(Session::new("bootstrap", |_| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                canstop::start(Service::new("late", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                }))?;
                canstop::shutdown()
            }))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        report.service("late").unwrap().outcome,
        ServiceOutcome::Stopped
    );
    assert!(
        matches!(report.trigger, Trigger::Requested { .. }),
        "{report}"
    );
    assert!(report.is_clean(), "{report}");
}

/// A spawn onto a runtime that has shut down: tokio drops the task inside the spawn, while
/// canstop holds the shard lock; the session is counted as aborted without deadlocking.
#[test]
fn a_spawn_onto_a_dead_runtime_neither_deadlocks_nor_runs() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    runtime.spawn(root().run(async move {
        canstop::start(Service::new("svc", move |shutdown: Shutdown| async move {
            sender.send(shutdown.scope()).unwrap();
            shutdown.requested().await;
        }))
        .map(drop)
    }));
    let scope = receiver.recv().unwrap();
    drop(runtime);
    let ran = Arc::new(AtomicU64::new(0));
    for _ in 0..100 {
        let ran = ran.clone();
        let late = scope.spawn(Session::new("late", move |_| async move {
            ran.fetch_add(1, Ordering::SeqCst);
        }));
        // Reliability item 13: refused with an error, not accepted to run nothing.
        assert!(matches!(late, Err(SpawnError::Closed { .. })), "{late:?}");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(matches!(
        scope.spawn_blocking("late", || ()),
        Err(SpawnError::Closed { .. })
    ));
    assert!(matches!(
        scope.start(Service::new("late", |_| async {})),
        Err(SpawnError::Closed { .. })
    ));
}

/// Counts the bodies dropped: proof that an aborted session's body is gone.
struct CountDrop(Arc<AtomicU64>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A service's own deadline aborts its sessions (parked for good, or woken again and again) while the
/// rest of the tree keeps running: each is counted once, and its body is dropped.
#[tokio::test(start_paused = true)]
async fn a_service_deadline_aborts_its_sessions_once_and_drops_their_bodies() {
    let dropped = Arc::new(AtomicU64::new(0));
    let bodies = dropped.clone();
    let report = root()
        .timeout(Duration::from_secs(30))
        .run(async move {
            canstop::spawn(Session::new("bystander", |_| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }))?;
            canstop::start(
                Service::new("api", move |shutdown: Shutdown| async move {
                    let parked = CountDrop(bodies.clone());
                    canstop::spawn(Session::new("stuck", |_| async move {
                        let _body = parked;
                        std::future::pending::<()>().await;
                    }))?;
                    let busy = CountDrop(bodies.clone());
                    canstop::spawn(Session::new("stuck", |_| async move {
                        let _body = busy;
                        loop {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        #[allow(unreachable_code)]
                        ()
                    }))?;
                    canstop::spawn(Session::new("quick", |_| async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }))?;
                    shutdown.requested().await;
                    Ok::<(), SpawnError>(())
                })
                .timeout(Duration::from_secs(2)),
            )?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let stuck = report.sessions_named("stuck").unwrap();
    assert_eq!((stuck.started, stuck.aborted, stuck.ended()), (2, 2, 2));
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        2,
        "both bodies were dropped"
    );
    let quick = report.sessions_named("quick").unwrap();
    assert_eq!((quick.started, quick.finished), (1, 1));
    let bystander = report.sessions_named("bystander").unwrap();
    assert_eq!((bystander.started, bystander.finished), (1, 1));
    let api = report.service("api").unwrap();
    assert_eq!(api.stop_time, Some(Duration::from_secs(2)));
    assert_eq!(report.stop_time, Duration::from_secs(5));
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
}

/// The stop reaches every scope of the tree in the call that triggers it: a nested service's
/// and a session's `Shutdown` report it at once, before any task has run again.
#[tokio::test(start_paused = true)]
async fn a_stop_reaches_every_scope_of_the_tree_at_once() {
    let (seen, mut shutdowns) = tokio::sync::mpsc::unbounded_channel::<Shutdown>();
    let report = root()
        .run(async move {
            let outer_seen = seen.clone();
            canstop::start(Service::new(
                "outer",
                move |shutdown: Shutdown| async move {
                    let inner_seen = outer_seen.clone();
                    canstop::start(Service::new(
                        "inner",
                        move |shutdown: Shutdown| async move {
                            let session_seen = inner_seen.clone();
                            canstop::spawn(Session::new(
                                "job",
                                move |shutdown: Shutdown| async move {
                                    let _ = session_seen.send(shutdown.clone());
                                    shutdown.requested().await;
                                },
                            ))?;
                            let _ = inner_seen.send(shutdown.clone());
                            shutdown.requested().await;
                            Ok::<(), SpawnError>(())
                        },
                    ))?;
                    let _ = outer_seen.send(shutdown.clone());
                    shutdown.requested().await;
                    Ok::<(), SpawnError>(())
                },
            ))?;
            let mut all = Vec::new();
            while all.len() < 3 {
                all.push(shutdowns.recv().await.expect("three scopes report in"));
            }
            assert!(all.iter().all(|shutdown| !shutdown.is_requested()));
            canstop::shutdown()?;
            let told: Vec<bool> = all.iter().map(Shutdown::is_requested).collect();
            assert_eq!(
                told,
                [true, true, true],
                "every scope is told in the same call"
            );
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.sessions_named("job").unwrap().finished, 1);
    assert!(report.is_clean(), "{report}");
}
