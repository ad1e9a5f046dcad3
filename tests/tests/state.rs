//! The live state snapshot: `canstop::state()` and `Scope::state()`. Its phases through a
//! run (tokio's paused clock: every duration is exact), and its consistency while sessions
//! churn on every thread and four threads take snapshots.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use canstop::{
    Phase, Ready, Service, ServiceOutcome, Session, Shutdown, SpawnError, State, TreePhase,
};

use canstop_tests::root;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A session that waits for its stop, then takes `linger` to end.
fn lingering(name: &'static str, linger: Duration) -> Session<impl canstop::SessionBody> {
    Session::new(name, move |shutdown: Shutdown| async move {
        shutdown.requested().await;
        tokio::time::sleep(linger).await;
    })
}

/// Starting, ready, stopping with its deadline, stopped with its outcome; the tree's phase;
/// the sessions live; a scope's own subtree.
#[tokio::test(start_paused = true)]
async fn the_phases_through_a_run() {
    let (root_tx, root_rx) = std::sync::mpsc::channel();
    let report = root()
        .timeout(Duration::from_secs(5))
        .run(async {
            root_tx.send(canstop::scope()?)?;
            let (scope_tx, scope_rx) = tokio::sync::oneshot::channel();
            canstop::start(
                Service::new("db", |shutdown: Shutdown| async move {
                    let ready = Ready::of(&shutdown);
                    canstop::start(Service::new("pool", |stop: Shutdown| async move {
                        stop.requested().await;
                    }))?;
                    let _ = scope_tx.send(canstop::scope()?);
                    tokio::time::sleep(Duration::from_millis(100)).await; // connect
                    ready.set();
                    canstop::spawn(lingering("query", Duration::from_secs(1)))?;
                    shutdown.requested().await;
                    tokio::time::sleep(Duration::from_secs(2)).await; // flush
                    Ok::<(), SpawnError>(())
                })
                .signals_ready(),
            )?;
            let db_scope = scope_rx.await?;

            let state = canstop::state()?;
            assert_eq!(state.tree, TreePhase::NotReady, "{state}");
            assert_eq!(state.root.phase, Phase::Running);
            assert_eq!(state.node("db").unwrap().phase, Phase::Starting, "{state}");

            tokio::time::sleep(Duration::from_millis(150)).await;
            let state = canstop::state()?;
            assert_eq!(state.node("db").unwrap().phase, Phase::Ready, "{state}");
            // Without a `Ready` parameter: ready once started.
            assert_eq!(
                state.node("db/pool").unwrap().phase,
                Phase::Ready,
                "{state}"
            );
            let query = state.node("db").unwrap().sessions[0];
            assert_eq!(
                (query.kind.name(), query.live, query.started),
                ("query", 1, 1)
            );

            // A scope's state is its subtree.
            let subtree = db_scope.state();
            assert_eq!(subtree.root.path, "db");
            assert_eq!(subtree.root.phase, Phase::Ready);
            let paths: Vec<&str> = subtree.nodes().iter().map(|n| n.path.as_str()).collect();
            assert_eq!(paths, ["db", "db/pool"]);
            assert_eq!(subtree.sessions_named("query").unwrap().live, 1);

            canstop::shutdown()?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let state = canstop::state()?;
            assert_eq!(state.tree, TreePhase::Stopping);
            assert!(state.trigger.is_some());
            let four_left = Phase::Stopping {
                deadline_in: Some(Duration::from_secs(4)),
            };
            assert_eq!(state.root.phase, four_left, "{state}");
            let db = state.node("db").unwrap();
            assert_eq!(db.phase, four_left, "the root's deadline is db's: {state}");
            // pool stopped at once: kept, with its outcome, as the report will show it.
            assert_eq!(
                db.children[0].phase,
                Phase::Stopped {
                    outcome: ServiceOutcome::Stopped
                },
                "{state}"
            );
            assert_eq!(db.children[0].uptime, None);
            let text = state.to_string();
            assert!(text.starts_with("canstop state: tree stopping;"), "{text}");
            assert!(text.contains("db: stopping (deadline in 4s)"), "{text}");
            assert!(text.contains("pool: stopped cleanly"), "{text}");
            assert!(text.contains("query at "), "{text}");
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(canstop::state().unwrap_err(), SpawnError::NoScope);
    // Kept past the run: the tree has stopped, not "stopping" with a deadline counting down.
    let state = root_rx.recv().unwrap().state();
    assert_eq!(state.tree, TreePhase::Stopped, "{state}");
    assert_eq!(
        state.root.phase,
        Phase::Stopped {
            outcome: ServiceOutcome::Stopped
        },
        "{state}"
    );
    let text = state.to_string();
    assert!(text.starts_with("canstop state: tree stopped;"), "{text}");
    assert!(text.contains("  root: stopped\n"), "{text}");
}

/// Between two instances no instance runs: no uptime, not the failed instance's counting on.
#[tokio::test(start_paused = true)]
async fn a_restarting_service_has_no_uptime() {
    let report = root()
        .run(async {
            canstop::start(
                Service::restartable("flaky", |_shutdown: Shutdown| async {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Err::<(), _>("lost the upstream")
                })
                .restart(canstop::Restart::OnFailure)
                .backoff(Duration::from_secs(1), Duration::from_secs(1)),
            )?;
            tokio::time::sleep(Duration::from_millis(10)).await;
            let up = canstop::state()?;
            assert_eq!(
                up.node("flaky").unwrap().uptime,
                Some(Duration::from_millis(10)),
                "{up}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            let restarting = canstop::state()?;
            let flaky = restarting.node("flaky").unwrap();
            assert!(
                matches!(flaky.phase, Phase::Restarting { attempt: 1, .. }),
                "{restarting}"
            );
            assert_eq!(flaky.uptime, None, "{restarting}");
            canstop::shutdown()?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}

/// A child's failure escalating to a parent that waits out its backoff leaves the backoff as
/// it is (a hostile review found the parent's next try reset to "0ns" for the rest of the
/// backoff); the parent's failing instance is not "restarting" before it has ended.
#[tokio::test(start_paused = true)]
async fn an_escalation_during_the_backoff_leaves_the_next_try_alone() {
    let report = root()
        .run(async {
            let parent = Service::restartable("p", |shutdown: Shutdown| async move {
                // A session of this instance starts a child that fails a second later,
                // while the parent waits out its 10 s backoff.
                canstop::spawn(Session::new("later", |shutdown: Shutdown| async move {
                    let child = Service::new("child", |_: Shutdown| async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Err::<(), _>("child broke")
                    });
                    shutdown.scope().start(child)?;
                    Ok::<(), canstop::SpawnError>(())
                }))?;
                let _ = shutdown;
                Err::<(), BoxError>("parent broke".into())
            })
            .restart(canstop::Restart::OnFailure)
            .backoff(Duration::from_secs(10), Duration::from_secs(10));
            canstop::start(parent)?;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let state = canstop::state()?;
            match state.node("p").unwrap().phase {
                Phase::Restarting { next_try_in, .. } => {
                    assert!(next_try_in > Duration::from_secs(7), "{state}")
                }
                ref other => panic!("{other:?}\n{state}"),
            }
            canstop::shutdown()?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    let _ = report;
}

/// A stopped service beyond those its parent keeps in full is folded in the state as in the
/// report, and its sessions still count in the totals.
#[tokio::test(start_paused = true)]
async fn stopped_services_are_kept_then_folded_and_still_counted() {
    let report = root()
        .run(async {
            for _ in 0..canstop::KEPT_STOPPED + 3 {
                let job = canstop::start(Service::new("job", |shutdown: Shutdown| async move {
                    canstop::spawn(Session::new("step", |_| async {}))?;
                    shutdown.requested().await;
                    Ok::<(), SpawnError>(())
                }))?;
                tokio::task::yield_now().await;
                job.stop();
                job.stopped().await;
            }
            let state = canstop::state()?;
            assert_eq!(state.root.children.len(), canstop::KEPT_STOPPED);
            assert!(state.root.children.iter().all(|child| child.phase
                == Phase::Stopped {
                    outcome: ServiceOutcome::Stopped
                }));
            assert_eq!(state.root.folded[0].count, 3);
            let steps = state.sessions_named("step").unwrap();
            let all = canstop::KEPT_STOPPED as u64 + 3;
            assert_eq!((steps.started, steps.finished, steps.live), (all, all, 0));
            canstop::shutdown()?;
            Ok::<(), BoxError>(())
        })
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}

/// What one thread saw last, per scope and kind: the counts only grow.
type Seen = HashMap<(String, &'static str), [u64; 5]>;

/// Every count of `state` adds up, and none went down since `seen`.
fn check(state: &State, seen: &mut Seen) {
    for node in state.nodes() {
        for counts in &node.sessions {
            assert!(
                counts.started >= counts.ended(),
                "torn: {counts} in {:?}",
                node.path
            );
            assert_eq!(counts.live, counts.started - counts.ended());
            let now = [
                counts.started,
                counts.finished,
                counts.failed,
                counts.panicked,
                counts.aborted,
            ];
            let key = (node.path.clone(), counts.kind.name());
            if let Some(before) = seen.insert(key, now) {
                assert!(
                    before.iter().zip(now).all(|(before, now)| *before <= now),
                    "went down: {before:?} then {now:?} in {:?}",
                    node.path
                );
            }
        }
    }
    for counts in &state.sessions {
        assert!(counts.started >= counts.ended(), "torn total: {counts}");
    }
}

/// Four threads take snapshots while 100 000 sessions (finishing, failing, a few
/// panicking; half in the root scope, half in a service) churn on two workers: every
/// snapshot adds up and only grows, and the last equals the report.
#[test]
fn snapshots_from_four_threads_stay_consistent_while_sessions_churn() {
    const N: u64 = 100_000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let (scope_tx, scope_rx) = std::sync::mpsc::channel::<canstop::Scope>();
    let scope_rx = Arc::new(std::sync::Mutex::new(scope_rx));
    let takers: Vec<_> = (0..4)
        .map(|_| {
            let done = done.clone();
            let scope_rx = scope_rx.clone();
            std::thread::spawn(move || {
                let scope = scope_rx.lock().unwrap().recv().unwrap();
                let mut seen = Seen::new();
                let mut taken = 0u64;
                while !done.load(Ordering::Acquire) {
                    check(&scope.state(), &mut seen);
                    taken += 1;
                }
                // One more, once the tree has drained: the report's counts.
                check(&scope.state(), &mut seen);
                (taken, scope.state())
            })
        })
        .collect();
    let churn = |first: u64| async move {
        for i in first..first + N / 2 {
            canstop::spawn(Session::new("churn", move |_| async move {
                if i % 2 == 0 {
                    tokio::task::yield_now().await;
                }
                if i % 25_000 == 7 {
                    panic!("session {i} panicked");
                }
                if i % 100 == 0 {
                    return Err(format!("session {i} failed"));
                }
                Ok(())
            }))?;
            if i % 256 == 0 {
                tokio::task::yield_now().await;
            }
        }
        Ok::<(), SpawnError>(())
    };
    let report = runtime
        .block_on(root().run(async move {
            let scope = canstop::scope()?;
            for _ in 0..4 {
                scope_tx.send(scope.clone())?;
            }
            canstop::start(Service::new("acceptor", move |_| churn(N / 2)))?;
            churn(0).await?;
            Ok::<(), BoxError>(())
        }))
        .unwrap();
    done.store(true, Ordering::Release);
    let churned = report.sessions_named("churn").unwrap();
    assert_eq!(churned.started, N, "{report}");
    assert_eq!((churned.failed, churned.panicked), (1000, 4), "{report}");
    assert_eq!(churned.ended(), N);
    for taker in takers {
        let (taken, last) = taker.join().unwrap();
        println!("snapshots taken: {taken}");
        assert!(taken > 0);
        // Once drained, the state is the report.
        let state = last.sessions_named("churn").unwrap();
        let counts = (state.started, state.finished, state.failed, state.panicked);
        assert_eq!(
            counts,
            (
                churned.started,
                churned.finished,
                churned.failed,
                churned.panicked
            )
        );
        assert_eq!(state.live, 0);
    }
}
