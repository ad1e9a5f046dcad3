//! The macros in a crate that does not depend on tokio: `#[canstop::test]` here, and the
//! `#[canstop::main]` binary run as a child process.
#![deny(warnings, clippy::all, clippy::pedantic)]

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use canstop_no_tokio::{background, dispatcher, job};

#[canstop::test(timeout = "2s")]
async fn services_and_sessions_run_and_stop() -> Result<(), canstop::SpawnError> {
    let done = Arc::new(AtomicU64::new(0));
    canstop::start(dispatcher(0, done.clone()))?;
    canstop::start(background())?;
    canstop::spawn(job(41, done.clone()))?;
    Ok(())
}

#[canstop::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_run_to_completion() -> Result<(), canstop::SpawnError> {
    let done = Arc::new(AtomicU64::new(0));
    let report = canstop::Root::new()
        .signals(false)
        .run({
            let done = done.clone();
            async move {
                for id in 0..4 {
                    canstop::spawn(job(id, done.clone()))?;
                }
                Ok::<(), canstop::SpawnError>(())
            }
        })
        .await
        .expect("the inner tree starts");
    // 1 + 2 + 3 + 4: every job ran, and the report counted each.
    assert_eq!(done.load(Ordering::SeqCst), 10);
    let jobs = report.sessions_named("job").expect("jobs in the report");
    assert_eq!((jobs.started, jobs.finished), (4, 4), "{report}");
    Ok(())
}

#[test]
fn the_main_binary_exits_cleanly_with_a_report() {
    let output = Command::new(env!("CARGO_BIN_EXE_canstop-no-tokio"))
        .env_remove("CANSTOP_SHUTDOWN_TIMEOUT")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}\n{stderr}");
    assert!(stderr.contains("dispatcher: stopped cleanly"), "{stderr}");
    assert!(stderr.contains("background: stopped cleanly"), "{stderr}");
    assert!(stderr.contains("timeout 5s"), "{stderr}");
}
