//! A spawn's handle: the session's value, its panic or abort, and tracking that does not
//! depend on the handle.

use std::time::Duration;

use canstop::{exit_code, session, Service, Session, SessionError, Shutdown, SpawnError};

use canstop_tests::root;

#[session]
async fn lookup(id: u64) -> Result<u64, String> {
    if id == 0 {
        return Err("no such id".to_owned());
    }
    tokio::task::yield_now().await;
    Ok(id * 2)
}

/// A store generic over its items, with a session method returning the item or an error.
struct Store<T> {
    items: Vec<T>,
}

impl<T: Clone + Send + Sync + 'static> Store<T> {
    #[session]
    async fn get(self: std::sync::Arc<Self>, index: usize) -> Result<T, String> {
        tokio::task::yield_now().await;
        self.items
            .get(index)
            .cloned()
            .ok_or_else(|| format!("no item {index}"))
    }
}

/// In a generic impl, a session's `Err` is still counted as a failure: the macro picks how
/// to judge the output from the impl's bounds (`session/judged.rs`), and a wrong pick would
/// count every error as a success.
#[tokio::test]
async fn a_generic_methods_error_is_counted_as_a_failure() {
    let report = root()
        .run(async {
            let store = std::sync::Arc::new(Store { items: vec!["a"] });
            assert_eq!(canstop::spawn(store.clone().get(0))?.await, Ok(Ok("a")));
            assert_eq!(
                canstop::spawn(store.get(5))?.await,
                Ok(Err("no item 5".to_owned()))
            );
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let gets = report.sessions_named("get").unwrap();
    assert_eq!((gets.finished, gets.failed), (1, 1), "{report}");
}

/// A session's value, and its error, reach the awaiting code; the error is counted too.
#[tokio::test]
async fn a_handle_gives_the_sessions_value_and_its_error() {
    let report = root()
        .run(async {
            assert_eq!(canstop::spawn(lookup(21))?.await, Ok(Ok(42)));
            assert_eq!(
                canstop::spawn(lookup(0))?.await,
                Ok(Err("no such id".to_owned()))
            );
            let blocking = canstop::spawn_blocking("sum", || Ok::<u32, String>(1 + 2))?;
            assert_eq!(blocking.await, Ok(Ok(3)));
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let lookups = report.sessions_named("lookup").unwrap();
    assert_eq!((lookups.finished, lookups.failed), (1, 1));
    assert_eq!(lookups.errors, vec!["no such id".to_owned()]);
    assert_eq!(report.sessions_named("sum").unwrap().finished, 1);
}

/// A panic reaches the handle as `SessionError::Panicked`, with its message.
#[tokio::test]
async fn a_panicking_session_gives_its_message() {
    let report = root()
        .run(async {
            let handle = canstop::spawn(Session::from_future("boom", async {
                panic!("boom in the session");
                #[allow(unreachable_code)]
                ()
            }))?;
            assert_eq!(
                handle.await,
                Err(SessionError::Panicked {
                    message: "boom in the session".into()
                })
            );
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.sessions_named("boom").unwrap().panicked, 1);
    assert_eq!(report.exit_code(), exit_code::FAILED);
}

/// `abort` drops the body at once and counts the session as aborted, and as cancelled: the
/// program's own choice, which no deadline made, so the exit code stays 0 and the report says
/// nothing of a deadline. The handle says it was aborted.
#[tokio::test(start_paused = true)]
async fn abort_through_the_handle_is_counted_as_cancelled_not_cut() {
    let report = root()
        .run(async {
            let stuck =
                canstop::spawn(Session::from_future("stuck", std::future::pending::<()>()))?;
            tokio::task::yield_now().await;
            stuck.abort();
            assert_eq!(stuck.await, Err(SessionError::Aborted));
            // The same in a service's scope, whose line in the report would otherwise say
            // that its sessions were cut at the deadline.
            canstop::start(Service::new("api", |shutdown: Shutdown| async move {
                let lookup =
                    canstop::spawn(Session::from_future("lookup", std::future::pending::<()>()))?;
                tokio::task::yield_now().await;
                lookup.abort();
                assert_eq!(lookup.await, Err(SessionError::Aborted));
                shutdown.requested().await;
                Ok::<(), SpawnError>(())
            }))?;
            tokio::time::sleep(Duration::from_millis(10)).await;
            canstop::shutdown()
        })
        .await
        .unwrap();
    for name in ["stuck", "lookup"] {
        let stats = report.sessions_named(name).unwrap();
        assert_eq!(
            (stats.started, stats.aborted, stats.cancelled, stats.cut()),
            (1, 1, 1, 0),
            "{name}: {report}"
        );
    }
    assert_eq!(report.exit_code(), exit_code::CLEAN, "{report}");
    let text = report.to_string();
    assert!(!text.contains("deadline"), "{text}");
    assert!(text.contains("(cancelled by the program: 1)"), "{text}");
}

/// A dropped handle does not stop the session: it is still waited for by the drain.
#[tokio::test(start_paused = true)]
async fn a_dropped_handle_leaves_the_session_tracked() {
    let report = root()
        .run(async {
            drop(canstop::spawn(Session::new(
                "farewell",
                |shutdown: Shutdown| async move {
                    shutdown.requested().await;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                },
            ))?);
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.sessions_named("farewell").unwrap().finished, 1);
    assert!(report.is_clean(), "{report}");
}

/// A session aborted at the deadline answers its handle with `Aborted`.
#[tokio::test(start_paused = true)]
async fn a_session_aborted_at_the_deadline_answers_aborted() {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let report = root()
        .timeout(Duration::from_secs(1))
        .run(async {
            let stuck =
                canstop::spawn(Session::from_future("stuck", std::future::pending::<()>()))?;
            canstop::spawn_untracked(async move {
                let _ = sender.send(stuck.await);
            })?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(receiver.await.unwrap(), Err(SessionError::Aborted));
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT);
    let stuck = report.sessions_named("stuck").unwrap();
    assert_eq!((stuck.aborted, stuck.cancelled), (1, 0), "{report}");
}

/// Panics when dropped (not during another panic).
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("boom in drop");
        }
    }
}

/// A session whose body panics while being dropped after an abort (through its handle, or
/// at the deadline): the handle and the report agree that it panicked, with its message.
#[tokio::test]
async fn a_body_panicking_when_dropped_after_its_abort_is_a_panic_on_both_sides() {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let report = root()
        .timeout(Duration::from_millis(50))
        .run(async {
            let by_handle = canstop::spawn(Session::from_future("by_handle", async {
                let _bomb = Bomb;
                std::future::pending::<()>().await;
            }))?;
            tokio::task::yield_now().await;
            by_handle.abort();
            assert!(matches!(
                by_handle.await,
                Err(SessionError::Panicked { message }) if message == "boom in drop"
            ));
            let at_deadline = canstop::spawn(Session::from_future("at_deadline", async {
                let _bomb = Bomb;
                std::future::pending::<()>().await;
            }))?;
            canstop::spawn_untracked(async move {
                let _ = sender.send(at_deadline.await);
            })?;
            canstop::shutdown()?;
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert!(matches!(
        receiver.await.unwrap(),
        Err(SessionError::Panicked { .. })
    ));
    for name in ["by_handle", "at_deadline"] {
        let stats = report.sessions_named(name).unwrap();
        assert_eq!(
            (stats.started, stats.panicked, stats.aborted),
            (1, 1, 0),
            "{name}: {report}"
        );
        // With its message (a review found only "while being dropped after its abort").
        assert_eq!(
            stats.errors,
            ["panicked: boom in drop (while being dropped after its abort)"],
            "{name}: {report}"
        );
    }
    // The deadline cut one of them: that is still what the exit code says.
    assert!(report.deadline_reached, "{report}");
    assert_eq!(report.exit_code(), exit_code::TIMED_OUT, "{report}");
}

#[session]
async fn count(upto: u64) -> u64 {
    (0..upto).sum()
}

/// A plain value comes back through the handle, counted as finished.
#[tokio::test]
async fn a_plain_value_comes_back() {
    let report = root()
        .run(async {
            assert_eq!(canstop::spawn(count(5))?.await, Ok(10));
            let names = canstop::spawn(Session::from_future("names", async {
                vec!["a".to_owned(), "b".to_owned()]
            }))?;
            assert_eq!(names.await.unwrap().len(), 2);
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    assert_eq!(report.sessions_named("count").unwrap().finished, 1);
}

/// A kind that fails more often than its messages are kept: the counts are exact, the first
/// 8 messages are kept, and the report says how many more there were (a review found the
/// text and the JSON silent about them).
#[tokio::test]
async fn errors_beyond_those_kept_are_counted_and_said() {
    let report = root()
        .run(async {
            for i in 0..20u32 {
                let job = canstop::spawn(Session::from_future("flaky", async move {
                    Err::<(), String>(format!("job {i} failed"))
                }))?;
                let _ = job.await;
            }
            Ok::<(), SpawnError>(())
        })
        .await
        .unwrap();
    let flaky = report.sessions_named("flaky").unwrap();
    assert_eq!((flaky.started, flaky.failed), (20, 20), "{report}");
    assert_eq!(flaky.errors.len(), 8, "{report}");
    assert_eq!(flaky.errors[0], "job 0 failed", "{report}");
    assert!(
        report
            .to_string()
            .contains("      ... and 12 more errors, not kept (the counts are exact)"),
        "{report}"
    );
}
