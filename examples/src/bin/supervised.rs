//! A front end that keeps serving while a flaky upstream worker behind it is restarted.
//!
//! ```text
//! cargo run -p canstop-examples --bin supervised -- 127.0.0.1:7000
//! nc 127.0.0.1 7000        # every line you send is answered with the upstream's state
//! ```
//!
//! The `upstream` worker refreshes a shared value every 50 ms, and fails on a schedule:
//! `UPSTREAM_FAIL_AFTER_MS` (default 400) after each start, for its first
//! `UPSTREAM_FAILURES` instances (default: every instance). Its policy,
//! `restart = "on-failure", max_restarts = 2, within = "5s"`, restarts it twice with backoff;
//! a third failure within 5 s escalates: the program shuts down and exits 1, and the report
//! lists every failure. With `UPSTREAM_FAILURES=2` it recovers on its third instance, and the
//! program runs until SIGTERM, exit 0, the two restarts in the report. The front end answers
//! throughout: a restart touches only the service that failed (and its children).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use canstop::{service, session, Shutdown};
use canstop_examples::{accept, announce, env_number, init_tracing};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the upstream worker publishes: which instance is up, and how many refreshes it made.
#[derive(Default)]
struct Upstream {
    instance: AtomicU64,
    refreshes: AtomicU64,
}

/// The failure schedule, from the environment.
#[derive(Clone, Copy)]
struct Schedule {
    fail_after: Duration,
    failures: u64,
}

#[canstop::main(timeout = "5s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let schedule = Schedule {
        fail_after: Duration::from_millis(env_number("UPSTREAM_FAIL_AFTER_MS", 400)?),
        failures: env_number("UPSTREAM_FAILURES", u64::MAX)?,
    };
    let state = Arc::new(Upstream::default());
    let listener = TcpListener::bind(&addr).await?;
    announce(format_args!("listening on {}", listener.local_addr()?));
    canstop::start(upstream(state.clone(), schedule))?;
    canstop::start(frontend(listener, state))?;
    Ok(())
}

/// Refreshes the shared state until told to stop, failing on the schedule. Restarted on
/// failure, twice within 5 s at most; each restart builds a new body from clones of the
/// same arguments.
#[service(
    restart = "on-failure",
    max_restarts = 2,
    within = "5s",
    backoff = "100ms..1s"
)]
async fn upstream(
    shutdown: Shutdown,
    state: Arc<Upstream>,
    schedule: Schedule,
) -> Result<(), String> {
    let instance = state.instance.fetch_add(1, Ordering::SeqCst) + 1;
    announce(format_args!("upstream instance {instance} up"));
    let fails = instance <= schedule.failures;
    let fail_at = tokio::time::Instant::now() + schedule.fail_after;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()),
            () = tokio::time::sleep_until(fail_at), if fails => {
                return Err(format!("upstream connection {instance} reset by peer"));
            }
            _ = tick.tick() => {
                state.refreshes.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// Accepts clients until told to stop; each is a session.
#[service]
async fn frontend(
    shutdown: Shutdown,
    listener: TcpListener,
    state: Arc<Upstream>,
) -> Result<(), canstop::SpawnError> {
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()),
            (stream, _) = accept(&listener) => {
                canstop::spawn(client(stream, state.clone()))?;
            }
        }
    }
}

/// Answers each line with the upstream's state, until the client leaves or the stop.
#[session]
async fn client(
    shutdown: Shutdown,
    stream: TcpStream,
    state: Arc<Upstream>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            line = lines.next_line() => {
                let Some(line) = line? else { return Ok(()) };
                let answer = format!(
                    "{line}: upstream instance {} refreshes {}\n",
                    state.instance.load(Ordering::SeqCst),
                    state.refreshes.load(Ordering::SeqCst)
                );
                write.write_all(answer.as_bytes()).await?;
            }
        }
    }
    write.write_all(b"bye\n").await
}
