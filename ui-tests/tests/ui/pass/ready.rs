//! A `Ready` parameter is supplied by canstop, as a `Shutdown` is: recognised by its type's
//! path or by `#[ready]`, left out of the caller's arguments, and it makes the service one
//! that says when it is ready (`Service::signals_ready`). On a free fn, with and without a
//! `Shutdown`, on a method taking `self: Arc<Self>`, on a restarted service (each instance
//! takes its own), under an alias; a user's own `config::Ready` is the caller's argument.

use std::sync::Arc;

use canstop::{service, Ready, Root, Service, ServiceOutcome, Shutdown};

mod config {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Ready {
        pub after_ms: u64,
    }
}

use canstop::Ready as Up;

#[service]
async fn listener(shutdown: Shutdown, ready: Ready, port: u16) {
    assert_eq!(port, 7000);
    ready.set();
    shutdown.requested().await;
}

/// No `Shutdown`: its `Ready` is still taken from the one canstop has; dropped at the stop.
#[service]
async fn pool(size: usize, ready: canstop::Ready) {
    assert_eq!(size, 4);
    ready.set();
    std::future::pending::<()>().await;
}

/// Each instance gets its own `Ready`; the user's `config::Ready` is cloned for it.
#[service(restart = "on-failure")]
async fn cache(#[ready] up: Up, policy: config::Ready, shutdown: Shutdown) -> Result<(), String> {
    assert_eq!(policy, config::Ready { after_ms: 5 });
    up.set();
    shutdown.requested().await;
    Ok(())
}

/// Not `Ready`-aware: ready once its body is built.
#[service]
async fn plain(shutdown: Shutdown) {
    shutdown.requested().await;
}

struct Api {
    port: u16,
}

impl Api {
    #[service(name = "api")]
    async fn run(self: Arc<Self>, ready: Ready, shutdown: Shutdown) -> Result<(), String> {
        assert_eq!(self.port, 8080);
        ready.set();
        shutdown.requested().await;
        Ok(())
    }
}

/// Whether `service` was built with `signals_ready()`.
fn signals_ready(service: &Service) -> bool {
    let debug = format!("{service:?}");
    assert!(debug.contains("signals_ready: "), "{debug}");
    debug.contains("signals_ready: true")
}

fn main() {
    let api = Arc::new(Api { port: 8080 });
    let policy = config::Ready { after_ms: 5 };
    assert!(signals_ready(&listener(7000)));
    assert!(signals_ready(&pool(4)));
    assert!(signals_ready(&cache(policy.clone())));
    assert!(signals_ready(&Arc::clone(&api).run()));
    assert!(!signals_ready(&plain()));
    let report = Root::new()
        .signals(false)
        .block_on(async move {
            canstop::start(listener(7000))?;
            canstop::start(pool(4))?;
            canstop::start(cache(policy))?;
            canstop::start(api.run())?;
            canstop::start(plain())?;
            canstop::shutdown()
        })
        .unwrap();
    for name in ["listener", "pool", "cache", "api", "plain"] {
        let service = report
            .service(name)
            .unwrap_or_else(|| panic!("{name}: {report}"));
        assert_eq!(service.outcome, ServiceOutcome::Stopped, "{name}: {report}");
    }
    assert_eq!(report.exit_code(), 0, "{report}");
}
