//! The cost of one state snapshot (`Scope::state`), for trees of growing size: `services`
//! services under the root, each with `kinds` kinds of session and 10 sessions of each kind
//! parked, the root scope with `kinds` kinds too. Each tree is snapshotted from a plain
//! thread, 2 000 times after 200 unmeasured; the mean is printed in nanoseconds.
//!
//! ```sh
//! cargo run --release -p canstop-benches --bin state_cost
//! ```

use std::time::{Duration, Instant};

use canstop::{Root, Service, Session, SessionKind, Shutdown, SpawnError};

/// Kind names: `SessionKind` takes `'static` strings.
const NAMES: [&str; 8] = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];

/// Parks 10 sessions of each of the first `kinds` kinds in the current scope.
fn park_sessions(kinds: usize) -> Result<(), SpawnError> {
    for name in &NAMES[..kinds] {
        let kind = SessionKind::new(name, "state_cost.rs", 1, 1);
        for _ in 0..10 {
            canstop::spawn(Session::with_kind(kind, |shutdown: Shutdown| async move {
                shutdown.requested().await;
            }))?;
        }
    }
    Ok(())
}

/// The mean time of one snapshot of a tree of `services` services with `kinds` kinds each.
fn measure(services: usize, kinds: usize) -> Duration {
    let mean_nanos = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let result = mean_nanos.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let report = runtime
        .block_on(
            Root::new()
                .signals(false)
                .timeout_from_env(false)
                .run(async move {
                    park_sessions(kinds)?;
                    for i in 0..services {
                        canstop::start(Service::new(
                            format!("svc-{i}"),
                            move |shutdown: Shutdown| async move {
                                park_sessions(kinds)?;
                                shutdown.requested().await;
                                Ok::<(), SpawnError>(())
                            },
                        ))?;
                    }
                    let scope = canstop::scope()?;
                    // Until every service has parked its sessions.
                    let expected = (services as u64 + 1) * kinds as u64 * 10;
                    while scope.state().live_sessions() < expected {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let mean = tokio::task::spawn_blocking(move || {
                        for _ in 0..200 {
                            std::hint::black_box(scope.state());
                        }
                        let start = Instant::now();
                        for _ in 0..2_000 {
                            std::hint::black_box(scope.state());
                        }
                        start.elapsed() / 2_000
                    })
                    .await?;
                    let nanos = u64::try_from(mean.as_nanos()).unwrap_or(u64::MAX);
                    result.store(nanos, std::sync::atomic::Ordering::Relaxed);
                    canstop::shutdown()?;
                    Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                }),
        )
        .expect("the tree runs");
    assert!(report.is_clean(), "{report}");
    Duration::from_nanos(mean_nanos.load(std::sync::atomic::Ordering::Relaxed))
}

fn main() {
    println!("| services | kinds per scope | live sessions | one state() |");
    println!("|---:|---:|---:|---:|");
    for (services, kinds) in [(0, 1), (10, 1), (10, 4), (100, 1), (100, 8)] {
        let mean = measure(services, kinds);
        let live = (services + 1) * kinds * 10;
        println!("| {services} | {kinds} | {live} | {} ns |", mean.as_nanos());
    }
}
