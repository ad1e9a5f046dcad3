//! Item 10 of the reliability issue: a program that starts and stops services all day
//! retains nothing per service, and its report stays bounded with exact counts.
//!
//! A test binary of its own: it counts every allocation of the process.

use std::alloc::System;

use canstop::{Root, Service, SpawnError, KEPT_STOPPED};
use cap::Cap;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

fn live() -> isize {
    ALLOCATOR.allocated() as isize
}

/// Lets every service started so far run to its end and file its report. On a current-thread
/// runtime a service that ends at once does so within one poll of its task, and each
/// `yield_now` lets every task that is ready run once.
async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

#[test]
fn service_cycles_retain_nothing_and_the_report_stays_bounded() {
    const WARM_UP: usize = 2_000;
    const MEASURED: usize = 10_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime
        .block_on(
            Root::new()
                .signals(false)
                .timeout_from_env(false)
                .run(async {
                    let mut live_after_warm_up = 0;
                    for cycle in 0..WARM_UP + MEASURED {
                        // Started, ends at once (a clean early end), files its report.
                        canstop::start(Service::new("worker", |_| async {}))?;
                        if cycle % 100 == 99 {
                            settle().await;
                        }
                        if cycle + 1 == WARM_UP {
                            live_after_warm_up = live();
                        }
                    }
                    settle().await;
                    let retained = live() - live_after_warm_up;
                    let per_cycle = retained as f64 / MEASURED as f64;
                    println!(
                        "retained {retained} B over {MEASURED} cycles: {per_cycle:.2} B per cycle"
                    );
                    assert!(
                        per_cycle < 4.0,
                        "{per_cycle:.2} B retained per start/stop cycle"
                    );
                    Ok::<(), SpawnError>(())
                }),
        )
        .unwrap();
    assert_eq!(report.services.len(), KEPT_STOPPED);
    assert_eq!(report.folded.len(), 1);
    let folded = &report.folded[0];
    assert_eq!(folded.name, "worker");
    assert_eq!(folded.count as usize, WARM_UP + MEASURED - KEPT_STOPPED);
    assert_eq!(folded.clean, folded.count);
    assert!(report.is_clean(), "{report}");
    let text = report.to_string();
    assert!(text.len() < 16 * 1024, "a {} B report", text.len());
    assert!(
        text.contains("11936 more stopped services named worker: clean=11936"),
        "{text}"
    );
}
