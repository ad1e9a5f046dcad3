//! `#[canstop::test]`, run for real with each of its options. (trybuild's pass cases cannot
//! cover it: `#[test]` fns are not compiled outside `cargo test`.)

use std::time::Duration;

use canstop::{service, session, Shutdown};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::time::Instant;

#[service]
async fn idle(shutdown: Shutdown) {
    shutdown.requested().await;
}

/// Checks, once told to stop, that its deadline is `expected` away (on a paused clock).
#[service]
async fn deadline_is(shutdown: Shutdown, expected: Duration) {
    shutdown.requested().await;
    let left = shutdown
        .deadline()
        .unwrap()
        .saturating_duration_since(Instant::now());
    assert_eq!(left, expected);
}

#[service]
async fn broken() -> Result<(), String> {
    Err("disk full".to_owned())
}

#[session]
async fn job(id: u32) -> Result<(), String> {
    if id > 10 {
        return Err(format!("job {id} is out of range"));
    }
    Ok(())
}

/// Ignores its `Shutdown`: only the deadline stops it.
#[session]
async fn stuck() {
    std::future::pending::<()>().await;
}

#[canstop::test]
async fn defaults_to_a_current_thread_runtime() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
    canstop::start(idle()).unwrap();
    canstop::spawn(job(1)).unwrap();
}

#[canstop::test(flavor = "multi_thread", worker_threads = 3)]
async fn multi_thread_with_worker_threads() {
    let handle = Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(handle.metrics().num_workers(), 3);
}

#[canstop::test(flavor = "multi_thread")]
async fn multi_thread_with_default_workers() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::MultiThread
    );
    canstop::start(idle()).unwrap();
}

#[canstop::test(flavor = "current_thread")]
async fn explicit_current_thread() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
}

#[canstop::test(start_paused = true)]
async fn start_paused_freezes_the_clock() {
    let before = Instant::now();
    // Real time passes; the paused clock does not.
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(Instant::now(), before);
    tokio::time::sleep(Duration::from_secs(3600)).await; // auto-advanced
    assert_eq!(before.elapsed(), Duration::from_secs(3600));
}

#[canstop::test(timeout = "250ms", start_paused = true)]
async fn timeout_is_the_trees_deadline() {
    canstop::start(deadline_is(Duration::from_millis(250))).unwrap();
}

#[canstop::test(timeout = "1m30s", start_paused = true)]
async fn timeout_accepts_compound_durations() {
    canstop::start(deadline_is(Duration::from_secs(90))).unwrap();
}

#[canstop::test(crate = "::canstop")]
async fn crate_path() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(2))?;
    Ok(())
}

#[canstop::test]
#[should_panic(expected = "did not stop cleanly")]
async fn a_failing_service_fails_the_test() {
    canstop::start(broken()).unwrap();
}

#[canstop::test]
#[should_panic(expected = "job 11 is out of range")]
async fn a_failing_session_fails_the_test_with_the_report() {
    canstop::spawn(job(11)).unwrap();
}

/// Spawns a session that fails, then waits for its stop.
#[service]
async fn spawns_a_failing_job(shutdown: Shutdown) -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(12))?;
    shutdown.requested().await;
    Ok(())
}

/// A session's error fails the test wherever it ran, and the message says so (a review found
/// "the tree did not stop cleanly" above a report that says "clean").
#[canstop::test]
#[should_panic(expected = "1 session(s) returned an error")]
async fn a_failing_session_in_a_service_fails_the_test_and_says_why() {
    canstop::start(spawns_a_failing_job()).unwrap();
}

#[canstop::test(timeout = "100ms", start_paused = true)]
#[should_panic(expected = "aborted=1")]
async fn a_session_alive_at_the_deadline_fails_the_test() {
    canstop::spawn(stuck()).unwrap();
}

#[canstop::test]
#[should_panic(expected = "the test body returned an error: \"the body failed\"")]
async fn an_error_from_the_body_fails_the_test() -> Result<(), String> {
    Err("the body failed".to_owned())
}

#[canstop::test]
#[should_panic(expected = "the test body panicked: the body panicked")]
async fn a_panic_in_the_body_fails_the_test() {
    panic!("the body panicked");
}

/// Sends `"flushed"` once told to stop, after a moment.
#[service]
async fn farewell(shutdown: Shutdown, sender: tokio::sync::oneshot::Sender<&'static str>) {
    shutdown.requested().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _ = sender.send("flushed");
}

// A body that triggers the shutdown itself is not cut off: what it does afterwards counts.

#[canstop::test]
#[should_panic(expected = "late failure")]
async fn an_error_after_the_bodys_own_shutdown_fails_the_test() -> Result<(), String> {
    canstop::shutdown().map_err(|error| error.to_string())?;
    tokio::task::yield_now().await;
    Err("late failure".to_owned())
}

#[canstop::test]
#[should_panic(expected = "panicked after its own shutdown")]
async fn a_panic_after_the_bodys_own_shutdown_fails_the_test() {
    canstop::shutdown().unwrap();
    tokio::task::yield_now().await;
    panic!("panicked after its own shutdown");
}

#[canstop::test(start_paused = true)]
#[should_panic(expected = "the assertion after the wait ran")]
async fn an_assertion_after_waiting_on_the_stop_runs_and_fails_the_test() {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    canstop::start(farewell(sender)).unwrap();
    canstop::shutdown().unwrap();
    let flushed = receiver.await.unwrap();
    assert_eq!(flushed, "not flushed", "the assertion after the wait ran");
}

#[canstop::test(start_paused = true)]
async fn trigger_wait_assert_passes_when_the_assertion_holds() {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    canstop::start(farewell(sender)).unwrap();
    canstop::shutdown().unwrap();
    assert_eq!(receiver.await.unwrap(), "flushed");
}

/// Blocking work that never returns: the test fails with its report (the runtime is not
/// waited for), it does not hang.
#[canstop::test(timeout = "100ms")]
#[should_panic(expected = "abandoned blocking work: 1")]
async fn abandoned_blocking_work_fails_the_test_without_hanging() {
    canstop::spawn_blocking("stuck", || std::thread::sleep(Duration::from_secs(3600))).unwrap();
}

/// `#[tracing::instrument]` under `#[service]` wraps the body, not the fn that builds the
/// service: the body runs in its span (without it, in canstop's `service` span).
#[service]
#[tracing::instrument(skip(shutdown))]
async fn instrumented(shutdown: Shutdown, id: u32) {
    let current = tracing::Span::current();
    assert_eq!(
        current.metadata().map(|meta| meta.name()),
        Some("instrumented")
    );
    shutdown.requested().await;
}

#[canstop::test]
async fn instrument_under_service_wraps_the_body() {
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber =
        tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::TRACE);
    let _default = tracing::subscriber::set_default(subscriber);
    canstop::start(instrumented(7)).unwrap();
    tokio::task::yield_now().await;
}
