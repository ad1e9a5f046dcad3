//! The expansion is warning-free under strict lints.
#![deny(warnings, clippy::all, clippy::pedantic)]
#![deny(rust_2018_idioms, unreachable_pub, unused_qualifications, unused_results)]
#![deny(missing_docs, missing_debug_implementations, unused_lifetimes, single_use_lifetimes)]

use canstop::{service, session, Shutdown};

/// A service with every kind of parameter.
#[service(name = "server", timeout = "2s")]
async fn server(port: u16, shutdown: Shutdown, (a, b): (u8, u8)) -> Result<(), std::io::Error> {
    let _ = (port, a, b);
    shutdown.requested().await;
    Ok(())
}

/// A service without `Shutdown`.
#[service]
async fn background() {
    std::future::pending::<()>().await;
}

/// A restarted service: the factory clones its arguments.
#[service(
    restart = "on-failure",
    max_restarts = 5,
    within = "1m",
    backoff = "10ms..1s",
    strategy = "one_for_all"
)]
async fn restarted(port: u16, shutdown: Shutdown, (a, b): (u8, u8)) -> Result<(), std::io::Error> {
    let _ = (port, a, b);
    shutdown.requested().await;
    Ok(())
}

/// A restarted method: its receiver is cloned, and bound `mut`, for each instance.
#[derive(Clone, Debug)]
struct Counter {
    count: u64,
}

impl Counter {
    /// Counts until told to stop.
    #[service(restart = "always")]
    async fn run(mut self, shutdown: Shutdown) {
        self.count += 1;
        let _ = self.count;
        shutdown.requested().await;
    }
}

/// Methods whose bodies are one expression on one line: no `unused_braces` from the block
/// the expansion puts them in.
#[derive(Debug)]
struct Lookup {
    base: u32,
}

impl Lookup {
    /// A session method on an `Arc`.
    #[session]
    async fn plus_one(self: std::sync::Arc<Self>) -> u32 { self.base + 1 }

    /// A session method by value.
    #[session]
    async fn plus_two(self) -> u32 { self.base + 2 }

    /// A service method.
    #[service]
    async fn serve(self: std::sync::Arc<Self>, shutdown: Shutdown) { shutdown.requested().await }

    /// A service method that never returns by itself: no `unreachable_code` from what the
    /// expansion puts after its body.
    #[service]
    async fn poll(self: std::sync::Arc<Self>) {
        loop {
            tokio::task::yield_now().await;
        }
    }
}

/// A session without `Shutdown` that never returns by itself (its body in place).
#[session]
async fn ticker(period_ms: u64) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(period_ms)).await;
    }
}

/// A session.
#[session]
async fn job(id: u64, shutdown: Shutdown) -> Result<(), String> {
    let _ = shutdown.is_requested();
    if id > 10 {
        return Err(format!("{id}"));
    }
    Ok(())
}

/// A test.
#[canstop::test(flavor = "current_thread", start_paused = true, timeout = "1s", strategy = "one_for_one")]
async fn a_test() {}

#[canstop::main(timeout = "1s", flavor = "current_thread", strategy = "rest_for_one")]
async fn main() -> Result<(), canstop::SpawnError> {
    let _ = canstop::start(server(80, (1, 2)))?;
    let _ = canstop::start(background())?;
    let _ = canstop::start(restarted(80, (1, 2)))?;
    let _ = canstop::start(Counter { count: 0 }.run())?;
    let _ = canstop::spawn(job(1))?;
    let lookup = std::sync::Arc::new(Lookup { base: 1 });
    let _ = canstop::spawn(lookup.clone().plus_one())?;
    let _ = canstop::spawn(Lookup { base: 1 }.plus_two())?;
    let _ = canstop::start(lookup.clone().serve())?;
    // Built, not run: they would be aborted at the deadline.
    let _ = (lookup.poll(), ticker(1));
    canstop::shutdown()
}
