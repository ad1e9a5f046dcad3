//! The no-timer probe and the program's panic hook (a test binary of its own: the hook is the
//! process's). A root's start checks that its runtime has a timer by making a sleep, which
//! tokio answers with a panic when it has none; that expected panic must not reach the
//! program's hook (a `StartError` is not a panic message on stderr), and the hook must stay
//! the program's: also when roots start on several threads at once, and when a root starts
//! from a `Drop` during unwinding (where the hook cannot be changed).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use canstop::StartError;
use canstop_tests::root;

/// Starts a root from its `Drop`, as a cleanup guard would while a panic unwinds.
struct CleanupWithARoot;

impl Drop for CleanupWithARoot {
    fn drop(&mut self) {
        assert!(std::thread::panicking());
        let report = root()
            .block_on(async {})
            .expect("a root started while unwinding");
        assert!(report.is_clean(), "{report}");
    }
}

/// One test: they share the process's hook.
#[test]
fn the_timer_probe_is_silent_and_leaves_the_programs_hook_in_place() {
    let seen = Arc::new(AtomicUsize::new(0));
    std::panic::set_hook({
        let seen = seen.clone();
        Box::new(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        })
    });

    let error = canstop_tests::run_without_timer();
    assert!(matches!(error, StartError::NoTimer), "{error}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "the probe's panic reached the hook"
    );

    // Roots starting on two threads at once: neither puts back the other's stand-in.
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                for _ in 0..300 {
                    let report = runtime.block_on(root().run(async {})).unwrap();
                    assert!(report.is_clean(), "{report}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let _ = std::panic::catch_unwind(|| panic!("a panic of the program's own"));
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the hook is still the program's"
    );

    // A root started while unwinding: no abort (the hook is left as it is), and it works.
    let _ = std::panic::catch_unwind(|| {
        let _cleanup = CleanupWithARoot;
        panic!("unwinding through a cleanup");
    });
    assert_eq!(seen.load(Ordering::SeqCst), 2, "{seen:?}");
}
