//! Regression tests for the holes the reliability review found in the guarantees (one or
//! more per item of the issue; the item is named in each test's doc comment). Items 4, 7 and
//! 15 (stderr, signal dispositions, the examples) run real child processes: see signals.rs
//! and examples.rs; item 13 is in tree.rs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canstop::{
    exit_code, MainOutcome, Root, Service, ServiceOutcome, Session, Shutdown, SpawnError,
    StartError, Trigger,
};

use canstop_tests::root;

/// Sets a flag when dropped: proof that a body is gone.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Panics when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// Item 2: `main`'s error after a trigger it raised itself is kept, printed, and exit 1.
#[tokio::test]
async fn mains_error_after_its_own_trigger_is_kept_and_fails_the_exit() {
    let report = root()
        .run(async {
            canstop::shutdown().map_err(|error| error.to_string())?;
            tokio::task::yield_now().await;
            Err::<(), String>("late failure".into())
        })
        .await
        .unwrap();
    assert!(matches!(report.trigger, Trigger::Requested { .. }));
    assert_eq!(
        report.main,
        MainOutcome::Failed {
            error: "\"late failure\"".into()
        }
    );
    assert_eq!(report.exit_code(), exit_code::FAILED);
    assert!(
        report
            .to_string()
            .contains("main: FAILED: \"late failure\""),
        "{report}"
    );
}

/// Item 2: `main`'s panic after a trigger it raised itself is kept too.
#[tokio::test]
async fn mains_panic_after_its_own_trigger_is_kept_and_fails_the_exit() {
    let report = root()
        .run(async {
            canstop::shutdown().unwrap();
            tokio::task::yield_now().await;
            panic!("boom after the trigger");
            #[allow(unreachable_code)]
            ()
        })
        .await
        .unwrap();
    assert_eq!(
        report.main,
        MainOutcome::Panicked {
            message: "boom after the trigger".into()
        }
    );
    assert_eq!(report.exit_code(), exit_code::FAILED);
}

/// Item 2 (the race seen with a real client): `main` awaits a channel that a service drops
/// when an external stop reaches it. Whichever way the race goes, the report never shows a
/// clean exit with `main`'s error lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mains_error_racing_an_external_stop_is_never_lost() {
    let mut failed = 0;
    for _ in 0..300 {
        let report = root()
            .run(async {
                let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
                canstop::start(Service::new("holder", |shutdown: Shutdown| async move {
                    let _sender = sender;
                    shutdown.requested().await;
                }))
                .map_err(|error| error.to_string())?;
                canstop::start(Service::new("stopper", |shutdown: Shutdown| async move {
                    shutdown.shutdown_tree();
                }))
                .map_err(|error| error.to_string())?;
                receiver.await.map_err(|error| error.to_string())
            })
            .await
            .unwrap();
        match &report.main {
            MainOutcome::Failed { .. } => {
                failed += 1;
                assert_eq!(report.exit_code(), exit_code::FAILED, "{report}");
            }
            MainOutcome::DroppedAtStop => assert!(report.is_clean(), "{report}"),
            other => panic!("unexpected outcome of main: {other:?}\n{report}"),
        }
    }
    println!("main returned its error in {failed} of 300 runs; each one exited 1");
}

/// Item 1 (the mechanism behind `#[canstop::test]`): a body that triggered the shutdown
/// itself is not dropped at its next await: "trigger, wait, assert" runs to its end.
#[tokio::test(start_paused = true)]
async fn a_body_that_triggers_the_shutdown_itself_runs_to_its_end() {
    let asserted = Arc::new(AtomicBool::new(false));
    let report = root()
        .run({
            let asserted = asserted.clone();
            async move {
                let (sender, receiver) = tokio::sync::oneshot::channel();
                canstop::start(Service::new("farewell", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = sender.send("flushed");
                }))?;
                canstop::shutdown()?;
                assert_eq!(receiver.await.unwrap(), "flushed");
                asserted.store(true, Ordering::SeqCst);
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert!(asserted.load(Ordering::SeqCst), "the body was cut off");
    assert_eq!(report.main, MainOutcome::Returned);
    assert!(report.is_clean(), "{report}");
}

/// Item 1: a body that triggered the shutdown and then waits for ever is aborted at the
/// deadline, and that is not clean.
#[tokio::test(start_paused = true)]
async fn a_self_triggered_body_still_stops_at_the_deadline() {
    let report = root()
        .timeout(Duration::from_secs(1))
        .run(async {
            canstop::shutdown()?;
            std::future::pending::<()>().await;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.main, MainOutcome::Aborted);
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
}

/// Item 1: an external trigger still drops `main`'s body at the stop (a batch `main` is
/// interrupted by a signal), and that is clean.
#[tokio::test(start_paused = true)]
async fn an_external_trigger_drops_mains_body_at_the_stop() {
    let dropped = Arc::new(AtomicBool::new(false));
    let report = root()
        .run({
            let dropped = dropped.clone();
            async move {
                let _guard = SetOnDrop(dropped);
                canstop::start(Service::new("trigger", |shutdown: Shutdown| async move {
                    shutdown.shutdown_tree();
                }))?;
                std::future::pending::<()>().await;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(report.main, MainOutcome::DroppedAtStop);
    assert!(report.is_clean(), "{report}");
}

/// Item 3: a service body that panics while being dropped at its stop, and one that panics
/// while being aborted at the deadline: each is reported as panicked with its message, its
/// sessions are drained or aborted, and the counts add up.
#[tokio::test(start_paused = true)]
async fn a_body_panicking_while_dropped_is_reported_and_its_sessions_are_handled() {
    let report = root()
        .timeout(Duration::from_secs(1))
        .run(async {
            // No `Shutdown` parameter: dropped at the stop.
            canstop::start(
                Service::new("dropped", |_| async {
                    let _bomb = PanicOnDrop("bomb at the stop");
                    canstop::spawn(Session::new("finishing", |shutdown: Shutdown| async move {
                        shutdown.requested().await;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }))?;
                    std::future::pending::<()>().await;
                    Ok::<(), SpawnError>(())
                })
                .cancel_on_stop(),
            )?;
            // Ignores its stop: aborted at the deadline.
            canstop::start(Service::new("stubborn", |_shutdown: Shutdown| async {
                let _bomb = PanicOnDrop("bomb at the deadline");
                canstop::spawn(Session::new("stuck", |_| std::future::pending::<()>()))?;
                std::future::pending::<()>().await;
                Ok::<(), SpawnError>(())
            }))?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        report.service("dropped").unwrap().outcome,
        ServiceOutcome::Panicked {
            message: "while being dropped: bomb at the stop".into(),
            early: false
        }
    );
    assert_eq!(
        report.service("stubborn").unwrap().outcome,
        ServiceOutcome::Panicked {
            message: "while being dropped: bomb at the deadline".into(),
            early: false
        }
    );
    let finishing = report.sessions_named("finishing").unwrap();
    assert_eq!((finishing.started, finishing.finished), (1, 1));
    let stuck = report.sessions_named("stuck").unwrap();
    assert_eq!((stuck.started, stuck.aborted), (1, 1));
    for stats in &report.sessions {
        assert_eq!(stats.started, stats.ended(), "{report}");
    }
    // The deadline was reached: 124 wins over the panics' 1.
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT, "{report}");
}

/// Item 3: `main`'s body panicking in `Drop` when dropped at an external trigger: a report,
/// not a panic out of `Root::run`.
#[tokio::test]
async fn mains_body_panicking_while_dropped_is_reported() {
    let report = root()
        .run(async {
            let _bomb = PanicOnDrop("main's bomb");
            canstop::start(Service::new("trigger", |shutdown: Shutdown| async move {
                shutdown.shutdown_tree();
            }))?;
            std::future::pending::<()>().await;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        report.main,
        MainOutcome::Panicked {
            message: "while being dropped: main's bomb".into()
        }
    );
    assert_eq!(report.exit_code(), exit_code::FAILED);
}

/// Item 5: every spawn that returned `Ok` is in `started`, also when it was accepted just
/// before the deadline sweep, with many kinds, from several threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ok_spawn_before_the_sweep_is_in_the_report() {
    const KINDS: [&str; 12] = [
        "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11",
    ];
    for round in 0..40 {
        let accepted = Arc::new(AtomicU64::new(0));
        let spawners = Arc::new(std::sync::Mutex::new(Vec::new()));
        let report = root()
            .timeout(Duration::from_millis(20))
            .run({
                let (accepted, spawners) = (accepted.clone(), spawners.clone());
                async move {
                    let scope = canstop::scope()?;
                    for spawner in 0..3 {
                        let (scope, accepted) = (scope.clone(), accepted.clone());
                        spawners.lock().unwrap().push(std::thread::spawn(move || {
                            for n in 0usize.. {
                                let kind = KINDS[(n + spawner) % KINDS.len()];
                                let session = Session::new(kind, |_| std::future::pending::<()>());
                                if scope.spawn(session).is_err() {
                                    break;
                                }
                                accepted.fetch_add(1, Ordering::SeqCst);
                            }
                        }));
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    canstop::shutdown()?;
                    Ok::<(), SpawnError>(())
                }
            })
            .await
            .unwrap();
        // A spawner may be between an `Ok` spawn and counting it when the report is made; each
        // stops at its first refused spawn (the scope is closed by now).
        for spawner in spawners.lock().unwrap().drain(..) {
            spawner.join().unwrap();
        }
        let started: u64 = report.sessions.iter().map(|stats| stats.started).sum();
        assert_eq!(
            started,
            accepted.load(Ordering::SeqCst),
            "round {round}: {report}"
        );
        for stats in &report.sessions {
            assert_eq!(stats.started, stats.aborted, "round {round}: {report}");
        }
    }
}

/// Item 6: on a current-thread runtime, an aborted session's body is dropped (its guard has
/// run) when `Root::run` returns.
#[test]
fn aborted_bodies_are_dropped_when_run_returns_on_a_current_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let report = runtime
        .block_on(root().timeout(Duration::from_millis(50)).run({
            let dropped = dropped.clone();
            async move {
                canstop::spawn(Session::new("held", move |_| async move {
                    let _guard = SetOnDrop(dropped);
                    std::future::pending::<()>().await;
                }))?;
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            }
        }))
        .unwrap();
    assert!(
        dropped.load(Ordering::SeqCst),
        "the body outlived Root::run"
    );
    let held = report.sessions_named("held").unwrap();
    assert_eq!((held.aborted, held.unresponsive), (1, 0));
}

/// Item 6: a session inside a long synchronous poll at the deadline is reported as aborted
/// *and unresponsive* (its error, returned later, is not counted again); the report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_in_a_long_poll_at_the_deadline_is_reported_unresponsive() {
    let report = root()
        .timeout(Duration::from_millis(50))
        .run(async {
            canstop::spawn(Session::new("hog", |shutdown: Shutdown| async move {
                shutdown.requested().await;
                std::thread::sleep(Duration::from_millis(800));
                Err::<(), _>("finished late")
            }))?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let hog = report.sessions_named("hog").unwrap();
    assert_eq!(
        (hog.started, hog.aborted, hog.unresponsive, hog.failed),
        (1, 1, 1, 0),
        "{report}"
    );
    assert!(
        report
            .to_string()
            .contains("still alive at the report, not dropped within the grace: 1"),
        "{report}"
    );
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
}

/// Item 6: a service aborted by its own timeout has had its body dropped by the time
/// `Root::run` returns, every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_aborted_by_its_own_timeout_is_dropped_before_run_returns() {
    for run in 0..6 {
        let dropped = Arc::new(AtomicBool::new(false));
        let report = root()
            .run({
                let dropped = dropped.clone();
                async move {
                    canstop::start(
                        Service::new("slow", |_shutdown: Shutdown| async move {
                            let _guard = SetOnDrop(dropped);
                            std::future::pending::<()>().await;
                        })
                        .timeout(Duration::from_millis(100)),
                    )?;
                    canstop::shutdown()?;
                    Ok::<(), SpawnError>(())
                }
            })
            .await
            .unwrap();
        assert!(dropped.load(Ordering::SeqCst), "run {run}: body alive");
        assert_eq!(
            report.service("slow").unwrap().outcome,
            ServiceOutcome::Aborted
        );
    }
}

/// Item 8: misuse is a `StartError` that names the fix, never a panic.
#[test]
fn misuse_of_the_root_is_a_start_error() {
    let error = canstop_tests::run_without_timer();
    assert!(matches!(error, StartError::NoTimer), "{error}");
    assert!(error.to_string().contains("enable_time()"), "{error}");
    // The probe's own panic does not reach the panic hook: tests/tests/panic_hook.rs.

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime
        .block_on(async { root().block_on(async {}) })
        .map(drop)
        .unwrap_err();
    assert!(matches!(error, StartError::InsideRuntime), "{error}");
    assert!(error.to_string().contains("Root::run"), "{error}");

    let error = root().worker_threads(0).block_on(async {}).unwrap_err();
    assert!(matches!(error, StartError::NoWorkers), "{error}");
    assert_eq!(error.exit_code(), exit_code::CONFIG);
}

/// An error whose `Display` panics.
struct BadError;

impl std::fmt::Display for BadError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display of the error panicked")
    }
}

/// Item 9: a session `Err` whose `Display` panics is a panicked session, with the message;
/// no deadline is involved.
#[tokio::test]
async fn a_session_error_whose_display_panics_is_counted_as_panicked() {
    let report = root()
        .run(async {
            canstop::spawn(Session::new("bad", |_| async { Err::<(), _>(BadError) }))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let bad = report.sessions_named("bad").unwrap();
    assert_eq!((bad.started, bad.panicked, bad.aborted), (1, 1, 0));
    assert_eq!(
        bad.errors,
        vec!["panicked: Display of the error panicked".to_owned()]
    );
    assert_eq!(report.exit_code(), exit_code::FAILED);
}

/// Item 11: kinds never merge, and finding a kind does not get slower with their number.
#[tokio::test]
async fn session_kinds_never_merge_and_are_found_in_constant_time() {
    let names: Vec<&'static str> = (0..66_000)
        .map(|n| &*Box::leak(format!("kind-{n}").into_boxed_str()))
        .collect();
    let report = root()
        .run(async move {
            let mut batches = Vec::new();
            let mut refused = None;
            for batch in names.chunks(1000) {
                let started = std::time::Instant::now();
                for &name in batch {
                    if let Err(error) = canstop::spawn(Session::from_future(name, async {})) {
                        refused.get_or_insert(error);
                    }
                }
                batches.push(started.elapsed());
            }
            // The first batch after the fast kinds, against the last full one.
            let (first, last) = (batches[1], batches[64]);
            assert!(
                last <= first * 20 + Duration::from_millis(200),
                "1000 spawns took {first:?} at 1 000 kinds and {last:?} at 64 000 (a linear lookup takes seconds)"
            );
            let refused = refused.expect("kinds beyond the limit are refused");
            assert!(
                matches!(refused, SpawnError::TooManyKinds { limit: 65_535, .. }),
                "{refused}"
            );
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.sessions.len(), 65_535);
    assert!(report.sessions.iter().all(|stats| stats.started == 1));
    assert_eq!(report.sessions[65_534].kind.name(), "kind-65534");
}

/// Item 12: names cannot forge the report or make two paths collide.
#[tokio::test]
async fn names_are_validated_and_text_is_escaped() {
    let report = root()
        .run(async {
            for (name, reason) in [
                ("a/b", "'/'"),
                ("", "empty"),
                ("evil\n  services:", "control character"),
            ] {
                let error = canstop::start(Service::new(name, |_| async {})).unwrap_err();
                assert!(
                    matches!(&error, SpawnError::InvalidName { name: given, .. } if given == name),
                    "{error}"
                );
                assert!(error.to_string().contains(reason), "{error}");
            }
            canstop::spawn(Session::new("forger\n  services: none", |_| async {
                Err::<(), _>("line one\ncanstop report: trigger: forged")
            }))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let text = report.to_string();
    assert!(report.services.is_empty());
    let count = |prefix: &str| {
        text.lines()
            .filter(|line| line.trim_start().starts_with(prefix))
            .count()
    };
    assert_eq!(count("services:"), 1, "{text}");
    assert_eq!(count("canstop report"), 1, "{text}");
    assert!(text.contains("forger\\n  services: none at "), "{text}");
    assert!(
        text.contains("line one\\ncanstop report: trigger: forged"),
        "{text}"
    );
}

// Item 13 (a scope whose runtime is gone refuses work): see tree.rs,
// `a_spawn_onto_a_dead_runtime_neither_deadlocks_nor_runs`.

/// Item 14: a service whose body stopped but whose sessions were aborted does not read as
/// "stopped cleanly" alone.
#[tokio::test(start_paused = true)]
async fn a_service_whose_sessions_were_aborted_says_so() {
    let report = root()
        .timeout(Duration::from_secs(1))
        .run(async {
            canstop::start(Service::new("server", |shutdown: Shutdown| async move {
                canstop::spawn(Session::new("stuck", |_| std::future::pending::<()>()))?;
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            }))?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let text = report.to_string();
    assert!(
        text.contains("server: stopped cleanly; 1 of its sessions ABORTED at its deadline"),
        "{text}"
    );
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
}

/// A service cut at its own deadline (its `timeout`, shorter than the tree's) says so, and its
/// sessions went with it: not "at the deadline", which reads as the tree's (a review found a
/// service cut at its share of an ordered stop reported so).
#[tokio::test(start_paused = true)]
async fn a_service_cut_at_its_own_deadline_says_its() {
    let report = root()
        .timeout(Duration::from_secs(10))
        .run(async {
            canstop::start(
                Service::new("stubborn", |_shutdown: Shutdown| async move {
                    canstop::spawn(Session::new("stuck", |_| std::future::pending::<()>()))?;
                    std::future::pending::<()>().await;
                    Ok::<(), SpawnError>(())
                })
                .timeout(Duration::from_secs(1)),
            )?;
            canstop::start(
                Service::new("polite", |shutdown: Shutdown| async move {
                    canstop::spawn(Session::new("stuck", |_| std::future::pending::<()>()))?;
                    shutdown.requested().await;
                    Ok::<(), SpawnError>(())
                })
                .timeout(Duration::from_secs(1)),
            )?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    report.service("stubborn").unwrap();
    let text = report.to_string();
    assert!(
        text.contains("stubborn: ABORTED at its deadline; 1 of its sessions ABORTED with it"),
        "{text}"
    );
    // Stopped cleanly, its session cut at its own deadline: the tree's was never reached.
    assert!(
        text.contains("polite: stopped cleanly; 1 of its sessions ABORTED at its deadline"),
        "{text}"
    );
    assert!(!text.contains("at the deadline"), "{text}");
}

/// Item 14: a zero timeout on an idle server is clean when every body returns as soon as it
/// is told to stop: the exit code says what was aborted, not how long it took. (Its body is
/// polled before the abort is looked at, so it is seen returning.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_timeout_on_an_idle_tree_is_clean() {
    for round in 0..20 {
        let report = root()
            .timeout(Duration::ZERO)
            .run(async {
                canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                }))?;
                tokio::task::yield_now().await;
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            })
            .await
            .unwrap();
        assert_eq!(
            report.service("idle").unwrap().outcome,
            ServiceOutcome::Stopped,
            "round {round}: {report}"
        );
        assert_eq!(
            report.exit_code(),
            exit_code::CLEAN,
            "round {round}: {report}"
        );
    }
}

/// Item 14: an empty `CANSTOP_SHUTDOWN_TIMEOUT` is unset (what orchestrator templates give),
/// not a configuration error.
#[test]
fn an_empty_timeout_variable_is_unset() {
    static ENV: Mutex<()> = Mutex::new(());
    let _env = ENV.lock().unwrap();
    std::env::set_var(canstop::TIMEOUT_ENV, "");
    let timeout = Root::new()
        .timeout(Duration::from_secs(7))
        .effective_timeout();
    std::env::set_var(canstop::TIMEOUT_ENV, "  ");
    let blank = Root::new().effective_timeout();
    std::env::set_var(canstop::TIMEOUT_ENV, "10x");
    let bad = Root::new().effective_timeout();
    std::env::remove_var(canstop::TIMEOUT_ENV);
    assert_eq!(timeout.unwrap(), Duration::from_secs(7));
    assert_eq!(blank.unwrap(), canstop::DEFAULT_TIMEOUT);
    assert_eq!(bad.unwrap_err().exit_code(), exit_code::CONFIG);
}

// ---------------------------------------------------------------------------------------------
// Found by a hostile review of the fixes above; each test failed before its fix.

/// A session live at the deadline sweep that then finishes in its poll was not aborted: no
/// deadline is reported and the exit code is 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_finishing_in_its_poll_at_the_sweep_is_not_a_deadline_reached() {
    let report = root()
        .timeout(Duration::from_millis(50))
        .run(async {
            canstop::spawn(Session::new(
                "slow_finish",
                |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                    // Past the deadline, inside the grace, in one poll.
                    std::thread::sleep(Duration::from_millis(120));
                },
            ))?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let slow = report.sessions_named("slow_finish").unwrap();
    assert_eq!((slow.started, slow.finished, slow.aborted), (1, 1, 0));
    assert!(!report.deadline_reached, "{report}");
    assert_eq!(report.exit_code(), exit_code::CLEAN, "{report}");
}

/// Services of ever-new names fold into a bounded report too.
#[tokio::test]
async fn services_of_distinct_names_fold_into_a_bounded_report() {
    const CYCLES: usize = 2_000;
    let report = root()
        .run(async {
            for cycle in 0..CYCLES {
                canstop::start(Service::new(format!("job-{cycle}"), |_| async {}))?;
                if cycle % 100 == 99 {
                    for _ in 0..8 {
                        tokio::task::yield_now().await;
                    }
                }
            }
            for _ in 0..8 {
                tokio::task::yield_now().await;
            }
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.services.len(), canstop::KEPT_STOPPED);
    assert_eq!(report.folded.len(), 65, "64 names, then one group");
    let others = report.folded.last().unwrap();
    assert!(others.other_names);
    let folded: u64 = report.folded.iter().map(|group| group.count).sum();
    assert_eq!(folded as usize, CYCLES - canstop::KEPT_STOPPED);
    let text = report.to_string();
    assert!(text.len() < 16 * 1024, "a {} B report", text.len());
    assert!(
        text.contains("1872 more stopped services of other names: clean=1872"),
        "{text}"
    );
}

/// Unicode line separators and bidirectional overrides cannot forge the report either.
#[tokio::test]
async fn unicode_separators_are_rejected_in_names_and_escaped_in_text() {
    let report = root()
        .run(async {
            let error =
                canstop::start(Service::new("ok\u{2028}  main: forged", |_| async {})).unwrap_err();
            assert!(matches!(error, SpawnError::InvalidName { .. }), "{error}");
            canstop::spawn(Session::new("s", |_| async {
                Err::<(), _>("a\u{2029}b\u{202E}c")
            }))?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let text = report.to_string();
    assert!(
        !text.contains(['\u{2028}', '\u{2029}', '\u{202E}']),
        "{text}"
    );
    assert!(text.contains("a\\u{2029}b\\u{202e}c"), "{text}");
}

/// Slow to drop: a session body that is still being dropped shows up as alive.
struct SlowSetOnDrop(Arc<AtomicBool>);

impl Drop for SlowSetOnDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(20));
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The sessions of a service whose body is stuck in synchronous code are swept at the
/// deadline by the tree (not only by their own, stuck, supervisor), get the grace, and are
/// dropped before `Root::run` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_a_wedged_service_are_swept_at_the_deadline() {
    let dropped = Arc::new(AtomicBool::new(false));
    let report = root()
        .timeout(Duration::from_millis(50))
        .run({
            let dropped = dropped.clone();
            async move {
                canstop::start(Service::new(
                    "wedged",
                    move |shutdown: Shutdown| async move {
                        canstop::spawn(Session::new("idle", move |_| async move {
                            let _guard = SlowSetOnDrop(dropped);
                            std::future::pending::<()>().await;
                        }))?;
                        shutdown.requested().await;
                        std::thread::sleep(Duration::from_millis(1500));
                        Ok::<(), SpawnError>(())
                    },
                ))?;
                tokio::time::sleep(Duration::from_millis(10)).await;
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    assert!(
        dropped.load(Ordering::SeqCst),
        "the session's body outlived Root::run"
    );
    let idle = report.sessions_named("idle").unwrap();
    assert_eq!((idle.aborted, idle.unresponsive), (1, 0), "{report}");
    assert_eq!(
        report.service("wedged").unwrap().outcome,
        ServiceOutcome::Unresponsive
    );
}

/// Past its deadline a scope admits no service either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_service_is_admitted_after_the_deadline() {
    let ran = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = std::sync::mpsc::channel();
    let report = root()
        .timeout(Duration::from_millis(50))
        .run({
            let ran = ran.clone();
            async move {
                canstop::start(Service::new("wedged", |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                    std::thread::sleep(Duration::from_millis(300));
                }))?;
                let scope = canstop::scope()?;
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(150)); // the deadline + 100 ms
                    let late = Service::new("late", move |_| async move {
                        ran.store(true, Ordering::SeqCst);
                    });
                    sender.send(scope.start(late).map(drop)).unwrap();
                });
                canstop::shutdown()?;
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    let started = receiver.recv().unwrap();
    assert!(
        matches!(started, Err(SpawnError::Closed { .. })),
        "{started:?}\n{report}"
    );
    assert!(!ran.load(Ordering::SeqCst));
}

/// A `main` body busy in synchronous code after its own trigger does not postpone the
/// tree's deadline: the deadline runs on a task of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_main_does_not_postpone_the_trees_deadline() {
    let aborted_at = Arc::new(Mutex::new(None));
    let begun = std::time::Instant::now();
    let report = root()
        .timeout(Duration::from_millis(50))
        .run({
            let aborted_at = aborted_at.clone();
            async move {
                struct Stamp(Arc<Mutex<Option<Duration>>>, std::time::Instant);
                impl Drop for Stamp {
                    fn drop(&mut self) {
                        *self.0.lock().unwrap() = Some(self.1.elapsed());
                    }
                }
                canstop::start(Service::new(
                    "stubborn",
                    move |_shutdown: Shutdown| async move {
                        let _stamp = Stamp(aborted_at, begun);
                        std::future::pending::<()>().await;
                    },
                ))?;
                tokio::task::yield_now().await;
                canstop::shutdown()?;
                // Long against the deadline (50 ms), so that a loaded machine, which can
                // keep the free worker off a core for a few hundred milliseconds, still tells
                // the two apart.
                std::thread::sleep(Duration::from_millis(2000));
                Ok::<(), SpawnError>(())
            }
        })
        .await
        .unwrap();
    let at = aborted_at.lock().unwrap().expect("aborted");
    assert!(
        at < Duration::from_millis(1500),
        "aborted at {at:?}\n{report}"
    );
}

/// `main` returning a failure code ends the program, as `std::process::exit` would but
/// gracefully: its services are told to stop (they kept the tree running before: a review
/// found `return ExitCode::from(3)` ignored until a signal came), and the process exits with
/// that code. The tree is never ready on its way out (a review found `READY=1` sent, and
/// the probes passing, between `main`'s return and the stop).
#[tokio::test(start_paused = true)]
async fn a_failure_code_from_main_stops_the_tree() {
    use std::process::ExitCode;
    /// A tree whose `main` starts a service that runs until told to stop, then returns `code`;
    /// whether the tree was ever ready.
    async fn serving_then(
        code: ExitCode,
    ) -> Result<(canstop::Report, bool), tokio::time::error::Elapsed> {
        let ready = Arc::new(AtomicBool::new(false));
        let seen = ready.clone();
        let root = root().on_event(move |event| {
            if *event == canstop::Event::TreeReady {
                seen.store(true, Ordering::SeqCst);
            }
        });
        let run = root.run(async move {
            let server = canstop::start(Service::new(
                "server",
                |shutdown: canstop::Shutdown| async move {
                    shutdown.requested().await;
                },
            ))
            .unwrap();
            // Every service ready: the tree would be ready once `main` returns `Ok`.
            server.ready().await.unwrap();
            code
        });
        let report = tokio::time::timeout(Duration::from_secs(3600), run).await?;
        Ok((report.unwrap(), ready.load(Ordering::SeqCst)))
    }
    let (report, ready) = serving_then(ExitCode::from(3))
        .await
        .expect("the tree stops when main returns a failure code");
    assert!(!ready, "ready on its way out\n{report}");
    assert_eq!(report.trigger, Trigger::MainExited { code: 3 }, "{report}");
    assert!(
        report.to_string().contains("main returned exit code 3"),
        "{report}"
    );
    assert_eq!(report.exit_code(), exit_code::CLEAN, "{report}");
    assert_eq!(report.process_exit_code(), ExitCode::from(3));
    // `SUCCESS` is `Ok(())`: the service keeps the tree running.
    assert!(serving_then(ExitCode::SUCCESS).await.is_err());
}

/// `main` returning an `ExitCode`: kept, and the process's code only when everything else
/// stopped cleanly.
#[tokio::test]
async fn mains_exit_code_yields_to_canstops_own() {
    use std::process::ExitCode;
    let clean = root().run(async { ExitCode::from(3) }).await.unwrap();
    assert_eq!(
        clean.main_exit_code,
        Some(canstop::MainExitCode(ExitCode::from(3)))
    );
    assert_eq!(clean.exit_code(), exit_code::CLEAN);
    assert_eq!(clean.process_exit_code(), ExitCode::from(3));
    let failed = root()
        .run(async {
            let _ = canstop::start(Service::new("broken", |_| async { Err::<(), _>("no") }));
            ExitCode::from(3)
        })
        .await
        .unwrap();
    assert_eq!(
        failed.process_exit_code(),
        ExitCode::from(exit_code::FAILED)
    );
    let success = root().run(async { ExitCode::SUCCESS }).await.unwrap();
    assert_eq!(success.main_exit_code, None);
    let in_result = root()
        .run(async { Ok::<_, String>(ExitCode::from(5)) })
        .await
        .unwrap();
    assert_eq!(in_result.process_exit_code(), ExitCode::from(5));
    let failed = root()
        .run(async { Err::<ExitCode, _>("no config") })
        .await
        .unwrap();
    assert_eq!(
        failed.process_exit_code(),
        ExitCode::from(exit_code::FAILED)
    );
}

/// A zero timeout is shown as it is written (`CANSTOP_SHUTDOWN_TIMEOUT=0s`), not as `0ns`.
#[tokio::test]
async fn a_zero_timeout_reads_0s() {
    let report = root()
        .timeout(Duration::ZERO)
        .run(async { canstop::shutdown() })
        .await
        .unwrap();
    let text = report.to_string();
    assert!(text.contains("(timeout 0s)"), "{text}");
}
