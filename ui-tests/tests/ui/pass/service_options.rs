//! `#[service]` with and without its options, `Shutdown` anywhere in the parameters or not at
//! all, patterns, and an associated fn.

use std::time::Duration;

use canstop::{service, Root, ServiceOutcome, Shutdown};

/// Docs and attributes stay on the generated fn.
#[service(name = "acceptor", timeout = "100ms")]
#[inline]
pub(crate) async fn accept(addr: String, shutdown: Shutdown, (low, high): (u16, u16)) -> Result<(), String> {
    assert_eq!((addr.as_str(), low, high), ("127.0.0.1", 7000, 7010));
    shutdown.requested().await;
    let left = shutdown
        .deadline()
        .unwrap()
        .saturating_duration_since(tokio::time::Instant::now());
    assert!(left <= Duration::from_millis(100), "{left:?}");
    Ok(())
}

/// No `Shutdown`: dropped when its stop is requested.
#[service]
async fn ticker(mut count: u64) {
    loop {
        count = std::hint::black_box(count + 1);
        tokio::task::yield_now().await;
    }
}

#[service]
async fn last(label: &'static str, _: canstop::Shutdown) -> Result<(), std::io::Error> {
    assert_eq!(label, "last");
    Ok(())
}

struct Pool;

impl Pool {
    #[service(name = "pool")]
    async fn run(size: usize, mut shutdown: ::canstop::Shutdown) {
        assert_eq!(size, 4);
        shutdown.requested().await;
        shutdown = shutdown.clone();
        assert!(shutdown.is_requested());
    }
}

fn main() {
    let service = accept("127.0.0.1".to_owned(), (7000, 7010));
    assert_eq!(service.name(), "acceptor");
    let report = Root::new()
        .signals(false)
        .block_on(async {
            canstop::start(accept("127.0.0.1".to_owned(), (7000, 7010)))?;
            canstop::start(ticker(0))?;
            canstop::start(Pool::run(4))?;
            canstop::shutdown()?;
            canstop::start(last("last"))?;
            Ok::<(), canstop::SpawnError>(())
        })
        .unwrap();
    for name in ["acceptor", "ticker", "pool", "last"] {
        let service = report.service(name).unwrap_or_else(|| panic!("{name}: {report}"));
        assert_eq!(service.outcome, ServiceOutcome::Stopped, "{name}: {report}");
    }
    assert_eq!(report.exit_code(), 0, "{report}");
}
