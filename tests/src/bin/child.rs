//! A small program for the signal tests: each scenario builds a canstop tree, prints `READY`
//! once it is in the state the test wants to interrupt, and prints the report and `EXIT <code>`
//! at the end. The tests send it real signals.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use canstop::{Root, Service, Session, Shutdown};

fn say(line: &str) {
    canstop_examples::announce(format_args!("{line}"));
}

fn main() -> ExitCode {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    if scenario == "second-signal" {
        // Its logs are checked for what they say of the deadline.
        canstop_examples::init_tracing();
    }
    let root = Root::new().worker_threads(2);
    let result = match scenario.as_str() {
        "sessions" => root.block_on(sessions(1000)),
        "stubborn" => root.timeout(Duration::from_secs(1)).block_on(stubborn()),
        "second-signal" | "env-timeout" => root
            .timeout(Duration::from_secs(30))
            .block_on(slow_session()),
        "blocking" => root.timeout(Duration::from_secs(1)).block_on(blocking()),
        // `Root::main` (what `#[canstop::main]` runs) printing its own report, forced by a
        // second signal while a service and a session ignore their stop.
        "second-signal-main" => {
            return root
                .timeout(Duration::from_secs(30))
                .main(ignoring_the_stop());
        }
        "wedged" => {
            // An optional second argument installs a logging subscriber first (see `logging`).
            if let Some(kind) = std::env::args().nth(2) {
                logging(&kind);
            }
            root.timeout(Duration::from_secs(1)).block_on(wedged(false))
        }
        // A service that fails 50 ms in, under a subscriber of the kind the second argument
        // names (see `logging`): the failure must still stop the tree.
        "failing-logged" => {
            logging(&std::env::args().nth(2).unwrap_or_default());
            return root.timeout(Duration::from_secs(1)).main(failing());
        }
        // The same under `Root::main`, which hands the watchdog the format `CANSTOP_REPORT`
        // asks for.
        "wedged-main" => {
            return root.timeout(Duration::from_secs(1)).main(wedged(false));
        }
        // Wedged as soon as the tree drains: during the drain delay, when one is set
        // (`CANSTOP_DRAIN_DELAY`).
        "wedged-draining" => root.timeout(Duration::from_secs(1)).block_on(wedged(true)),
        "main" => return Root::new().main(quick()),
        // `main` returning an exit code: the process exits with it, the tree being clean.
        "exit-code" => return Root::new().main(async { ExitCode::from(3) }),
        "slow-drop" => Root::new()
            .current_thread()
            .timeout(Duration::from_millis(200))
            .block_on(slow_drop()),
        // The same under `Root::main`, which writes the report itself (in the format
        // `CANSTOP_REPORT` asks for) unless the watchdog had to.
        "slow-drop-main" => {
            return Root::new()
                .current_thread()
                .timeout(Duration::from_millis(200))
                .main(slow_drop());
        }
        "after-root" => {
            let result = root.block_on(quick());
            say(&format!(
                "DONE {}",
                result.map_or(2, |report| report.exit_code())
            ));
            std::thread::sleep(Duration::from_secs(60));
            return ExitCode::from(3);
        }
        other => {
            eprintln!("unknown scenario {other:?}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(report) => {
            say(&report.to_string());
            say(&format!("EXIT {}", report.exit_code()));
            ExitCode::from(report.exit_code())
        }
        Err(error) => {
            eprintln!("canstop: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Blocks its thread for 5 s when dropped (saying `SLOW DROP` first).
struct SlowDrop;

impl Drop for SlowDrop {
    fn drop(&mut self) {
        say("SLOW DROP");
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// An untracked task that blocks for 5 s when the runtime drops it at its shutdown, after
/// the report (on a current-thread runtime, on the thread that shuts it down).
async fn slow_drop() -> Result<(), canstop::SpawnError> {
    canstop::spawn_untracked(async {
        let _slow = SlowDrop;
        std::future::pending::<()>().await;
    })?;
    canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
        shutdown.requested().await;
    }))?;
    say("READY");
    Ok(())
}

/// A service that fails 50 ms after it started.
async fn failing() -> Result<(), canstop::SpawnError> {
    canstop::start(Service::new("failing", |_shutdown: Shutdown| async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err::<(), _>("upstream gone")
    }))?;
    Ok(())
}

/// A tree that starts a service and then triggers its own shutdown: it stops at once.
async fn quick() -> Result<(), canstop::SpawnError> {
    canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
        shutdown.requested().await;
    }))?;
    canstop::shutdown()
}

/// Installs a `tracing` subscriber that logs at `info` through a writer of the given kind.
/// Each write is first announced on stdout as `LOG <text>` (so that a test can follow the
/// logging even when stderr is not readable), then:
/// - `stderr`: written to stderr, with `tracing-subscriber`'s defaults (it reports a failed
///   write with `eprintln!`, which panics on a broken pipe);
/// - `panics`: the writer panics;
/// - `blocks`: the writer blocks forever (a stalled log pipeline).
fn logging(kind: &str) {
    #[derive(Clone, Copy)]
    struct Writer(Kind);
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Stderr,
        Panics,
        Blocks,
    }
    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let text = String::from_utf8_lossy(buf);
            say(&format!("LOG {}", text.trim_end()));
            match self.0 {
                Kind::Stderr => std::io::stderr().write(buf),
                Kind::Panics => panic!("the log writer panics"),
                Kind::Blocks => loop {
                    std::thread::park();
                },
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let kind = match kind {
        "stderr" => Kind::Stderr,
        "panics" => Kind::Panics,
        "blocks" => Kind::Blocks,
        other => panic!("unknown subscriber {other:?}"),
    };
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || Writer(kind))
        .init();
}

/// An acceptor service that opens `count` sessions; each waits for the stop, then takes a
/// moment to finish its work (so the drain has something to wait for).
async fn sessions(count: usize) -> Result<(), canstop::SpawnError> {
    canstop::start(Service::new(
        "acceptor",
        move |shutdown: Shutdown| async move {
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..count {
                let started = started.clone();
                canstop::spawn(Session::new(
                    "connection",
                    move |shutdown: Shutdown| async move {
                        if started.fetch_add(1, Ordering::SeqCst) + 1 == count {
                            say("READY");
                        }
                        shutdown.requested().await;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    },
                ))?;
            }
            shutdown.requested().await;
            Ok::<(), canstop::SpawnError>(())
        },
    ))?;
    Ok(())
}

/// A service that never looks at its `Shutdown` and never returns.
async fn stubborn() -> Result<(), canstop::SpawnError> {
    canstop::start(Service::new("stubborn", |_shutdown: Shutdown| async {
        say("READY");
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        #[allow(unreachable_code)]
        ()
    }))?;
    Ok(())
}

/// A session that says when its stop was requested, then ignores it for a minute.
async fn slow_session() -> Result<(), canstop::SpawnError> {
    canstop::spawn(Session::new("slow", |shutdown: Shutdown| async move {
        say("READY");
        shutdown.requested().await;
        say("DRAINING");
        tokio::time::sleep(Duration::from_secs(60)).await;
    }))?;
    // Keep the program alive until a signal: a service that waits for its stop.
    canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
        shutdown.requested().await;
    }))?;
    Ok(())
}

/// A service that says when it is told to stop, then waits for ever (its thread free), and a
/// session that waits for ever.
async fn ignoring_the_stop() -> Result<(), canstop::SpawnError> {
    canstop::start(Service::new("stubborn", |shutdown: Shutdown| async move {
        say("READY");
        shutdown.requested().await;
        say("DRAINING");
        std::future::pending::<()>().await;
    }))?;
    canstop::spawn(Session::from_future("long", std::future::pending::<()>()))?;
    // Stops when told, but one of its sessions does not: cut by the second signal too.
    canstop::start(Service::new("polite", |shutdown: Shutdown| async move {
        canstop::spawn(Session::from_future("deaf", std::future::pending::<()>()))?;
        shutdown.requested().await;
        Ok::<(), canstop::SpawnError>(())
    }))?;
    Ok(())
}

/// Blocking work that never returns.
async fn blocking() -> Result<(), canstop::SpawnError> {
    canstop::start(Service::new("idle", |shutdown: Shutdown| async move {
        shutdown.requested().await;
    }))?;
    canstop::spawn_blocking("stuck", || -> () {
        say("READY");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    })?;
    Ok(())
}

/// Services that block their worker threads in synchronous code once told to stop: no timer
/// and no task of the runtime can run any more. Two workers, three services.
async fn wedged(at_draining: bool) -> Result<(), canstop::SpawnError> {
    let blocked = Arc::new(AtomicUsize::new(0));
    let spawned = Arc::new(AtomicUsize::new(0));
    for name in ["wedged-1", "wedged-2", "wedged-3"] {
        let (blocked, spawned) = (blocked.clone(), spawned.clone());
        canstop::start(Service::new(name, move |shutdown: Shutdown| async move {
            canstop::spawn(Session::new("work", |_| std::future::pending::<()>()))?;
            if spawned.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                say("READY"); // every service runs, with its session
            }
            if at_draining {
                shutdown.draining().await;
            } else {
                shutdown.requested().await;
            }
            if blocked.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
                say("WEDGED"); // both workers are about to block
            }
            std::thread::sleep(Duration::from_secs(60));
            Ok::<(), canstop::SpawnError>(())
        }))?;
    }
    Ok(())
}
