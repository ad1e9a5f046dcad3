//! `#[service(restart = ..)]` and its tuning options on a free fn, on methods taking
//! `self: Arc<Self>` and `mut self` (the body's `self` is each instance's clone), with a
//! `#[cfg]`'d parameter, a pattern and no `Shutdown`; `restart = "never"` needs no `Clone`;
//! `strategy` on a service (on `main`: `main_strategy.rs`). A restarted instance gets fresh
//! clones of the caller's arguments, never what a previous instance made of them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use canstop::{service, Root, ServiceOutcome, Shutdown};

/// Clones of `addr` and `ports` for each instance.
#[service(
    name = "acceptor",
    restart = "on-failure",
    max_restarts = 0,
    within = "1m30s",
    backoff = "100ms..30s",
    strategy = "rest_for_one",
    timeout = "1s"
)]
async fn accept(addr: String, shutdown: Shutdown, (low, high): (u16, u16)) -> Result<(), String> {
    assert_eq!((addr.as_str(), low, high), ("127.0.0.1", 7000, 7010));
    shutdown.requested().await;
    Ok(())
}

static FLAKY: AtomicUsize = AtomicUsize::new(0);

/// Fails once, then serves: the second instance gets the caller's `seen` again, empty.
#[service(restart = "on-failure", backoff = "0s..0s")]
async fn flaky(mut seen: Vec<usize>, shutdown: Shutdown) -> Result<(), String> {
    assert!(seen.is_empty(), "{seen:?}");
    let instance = FLAKY.fetch_add(1, Ordering::SeqCst);
    seen.push(instance);
    if instance == 0 {
        return Err("the first instance fails".to_owned());
    }
    shutdown.requested().await;
    Ok(())
}

/// No `Shutdown`: dropped at the stop; `restart = "always"` without tuning.
#[service(restart = "always")]
async fn ticker(mut count: u64) {
    loop {
        count = std::hint::black_box(count + 1);
        tokio::task::yield_now().await;
    }
}

/// Not `Clone`, which `restart = "never"` does not need.
struct Socket;

#[service(restart = "never", strategy = "one_for_one")]
async fn once(socket: Socket, shutdown: Shutdown) {
    let Socket = socket;
    shutdown.requested().await;
}

#[derive(Clone)]
struct Api {
    port: u16,
}

impl Api {
    const NAME: &'static str = "api";

    fn port(&self) -> u16 {
        self.port
    }

    /// `self` in the body, in a closure, in a macro, and a `self::` path.
    #[service(name = "api", restart = "on-failure", backoff = "0s..0s")]
    async fn run(self: Arc<Self>, shutdown: Shutdown, #[cfg(all())] greeting: String) -> Result<(), String> {
        use self::helpers::check;
        let port = || self.port();
        assert_eq!((port(), self.port, Self::NAME), (7000, 7000, "api"));
        check(&greeting);
        tokio::select! {
            () = shutdown.requested() => {}
            () = std::future::pending::<()>() => unreachable!("{}", self.port),
        }
        Ok(())
    }

    /// `mut self` by value: each instance binds its own clone `mut`.
    #[service(restart = "always", strategy = "one_for_all")]
    async fn count(mut self, shutdown: Shutdown) {
        self.port += 1;
        assert_eq!(self.port, 2);
        shutdown.requested().await;
    }
}

mod helpers {
    pub(crate) fn check(greeting: &str) {
        assert_eq!(greeting, "hello");
    }
}

fn main() {
    let api = Arc::new(Api { port: 7000 });
    let report = Root::new()
        .signals(false)
        .block_on(async move {
            canstop::start(accept("127.0.0.1".to_owned(), (7000, 7010)))?;
            canstop::start(ticker(0))?;
            canstop::start(once(Socket))?;
            canstop::start(Arc::clone(&api).run("hello".to_owned()))?;
            canstop::start(Api { port: 1 }.count())?;
            canstop::start(flaky(Vec::new()))?;
            for _ in 0..5_000 {
                if FLAKY.load(Ordering::SeqCst) == 2 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            canstop::shutdown()
        })
        .unwrap();
    for name in ["acceptor", "ticker", "once", "api", "count", "flaky"] {
        let service = report.service(name).unwrap_or_else(|| panic!("{name}: {report}"));
        assert_eq!(service.outcome, ServiceOutcome::Stopped, "{name}: {report}");
    }
    assert_eq!(report.service("flaky").unwrap().restarts, 1, "{report}");
    assert_eq!(report.exit_code(), 0, "{report}");
}
