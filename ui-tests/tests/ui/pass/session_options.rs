//! `#[session]`: names, kinds located at the fn, `Shutdown` injection, patterns, and a session
//! that spawns more of its own kind by calling its own name.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use canstop::{session, Root, Shutdown};

#[session(name = "upload")]
async fn upload_file(path: String, shutdown: Shutdown) -> Result<(), String> {
    if shutdown.is_requested() {
        return Err(format!("{path}: cancelled"));
    }
    Ok(())
}

/// Spawns `depth` more jobs of its own kind.
#[session]
async fn job(depth: u32, done: Arc<AtomicU32>) -> Result<(), canstop::SpawnError> {
    done.fetch_add(1, Ordering::SeqCst);
    if depth > 0 {
        canstop::spawn(job(depth - 1, done))?;
    }
    Ok(())
}

#[session]
async fn r#loop(_: Shutdown, mut n: u8, (a, b): (u8, u8)) {
    n += a + b;
    assert_eq!(n, 3);
}

#[session]
async fn failing() -> Result<(), &'static str> {
    Err("no disk")
}

fn main() {
    let done = Arc::new(AtomicU32::new(0));
    let counted = done.clone();
    let kind = job(0, done.clone()).kind();
    assert_eq!(kind.name(), "job");
    assert!(kind.file().ends_with("session_options.rs"), "{kind}");
    assert_eq!(kind.line(), 19, "the line of `async fn job`");
    let report = Root::new()
        .signals(false)
        .block_on(async move {
            canstop::spawn(upload_file("a.txt".to_owned()))?;
            canstop::spawn(job(2, done))?;
            canstop::spawn(r#loop(1, (1, 1)))?;
            canstop::spawn(failing())?;
            Ok::<(), canstop::SpawnError>(())
        })
        .unwrap();
    assert_eq!(counted.load(Ordering::SeqCst), 3);
    let uploads = report.sessions_named("upload").unwrap();
    assert_eq!((uploads.started, uploads.finished), (1, 1), "{report}");
    let jobs = report.sessions_named("job").unwrap();
    assert_eq!((jobs.started, jobs.finished), (3, 3), "{report}");
    let loops = report.sessions_named("loop").unwrap();
    assert_eq!((loops.started, loops.finished), (1, 1), "{report}");
    let failed = report.sessions_named("failing").unwrap();
    assert_eq!((failed.started, failed.failed), (1, 1), "{report}");
    assert_eq!(failed.errors, ["no disk"], "{report}");
}
