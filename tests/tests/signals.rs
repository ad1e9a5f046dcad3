//! Real child processes receiving real signals.

use std::time::Duration;

use std::os::unix::process::ExitStatusExt;
use std::time::Instant;

use canstop_tests::{run_until_signal, signal_at_line, Counts, Ended, Running, Stderr};
use nix::sys::signal::Signal;
use nix::sys::signal::Signal::{SIGINT, SIGTERM};

const CHILD: &str = env!("CARGO_BIN_EXE_child");

/// Generous limits for a loaded CI machine; the assertions on time are the tight ones.
const START_LIMIT: Duration = Duration::from_secs(20);
const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn sigterm_with_1000_sessions_in_flight_drains_them_all_and_exits_0() {
    let (ended, took) = run_until_signal(CHILD, &["sessions"], &[], SIGTERM, LIMIT);
    // The drain ends when the sessions do (50 ms each), not at the 10 s deadline.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    assert_eq!(
        ended.session_counts("connection"),
        Counts {
            started: 1000,
            finished: 1000,
            ..Counts::default()
        }
    );
    ended.assert_says("trigger: SIGTERM");
    ended.assert_says("acceptor: stopped cleanly");
}

#[test]
fn a_service_that_ignores_its_stop_is_aborted_at_the_deadline_and_named() {
    let mut child = Running::start(CHILD, &["stubborn"], &[]);
    child.wait_for_line("READY", START_LIMIT);
    child.signal(SIGTERM);
    // The compiled timeout is 1 s: gone within deadline + 1 s.
    let (ended, took) = child.wait_exit(Duration::from_secs(10));
    println!(
        "stubborn: exit {:?} {took:?} after SIGTERM\n{}",
        ended.code(),
        ended.text()
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        took >= Duration::from_secs(1),
        "aborted before the deadline: {took:?}"
    );
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    ended.assert_says("stubborn: ABORTED at its deadline");
}

/// Starts `scenario`, sends `first` once it is `READY`, waits for `draining` (the drain is
/// under way), then times a second SIGINT until the exit.
fn second_sigint(scenario: &str, first: Signal, draining: &str) -> (Ended, Duration) {
    let mut child = Running::start(CHILD, &[scenario], &[]);
    child.wait_for_line("READY", START_LIMIT);
    child.signal(first);
    child.wait_for_line(draining, START_LIMIT);
    let started = std::time::Instant::now();
    child.signal(SIGINT);
    let (ended, _) = child.wait_exit(LIMIT);
    let took = started.elapsed();
    println!(
        "{scenario}: exit {:?} {took:?} after the second signal\n{}",
        ended.code(),
        ended.text()
    );
    (ended, took)
}

#[test]
fn a_second_sigint_during_the_drain_exits_at_once() {
    let (ended, took) = second_sigint("second-signal", SIGINT, "DRAINING");
    assert!(took < Duration::from_millis(200), "took {took:?}");
    assert_eq!(ended.code(), Some(130));
    ended.assert_says("forced by a second SIGINT");
    // The slow session was cut off, and counted.
    let slow = ended.session_counts("slow");
    assert_eq!((slow.started, slow.aborted), (1, 1));
    // Reliability item 14: no deadline was reached, and nothing says one was.
    let text = ended.text();
    assert!(!text.contains("deadline reached"), "{text}");
    assert!(
        !text.contains("at the deadline") && !text.contains("at its deadline"),
        "{text}"
    );
}

#[test]
fn blocking_work_that_never_returns_does_not_hold_the_process_past_the_deadline() {
    let (ended, took) = run_until_signal(CHILD, &["blocking"], &[], SIGTERM, LIMIT);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    let stuck = ended.session_counts("stuck");
    assert_eq!((stuck.started, stuck.aborted), (1, 1));
    ended.assert_says("abandoned blocking work: 1");
}

#[test]
fn the_environment_overrides_the_compiled_timeout() {
    // Compiled: 30 s. The environment says 1 s, with the spaces a YAML value may carry.
    let (ended, took) = run_until_signal(
        CHILD,
        &["env-timeout"],
        &[("CANSTOP_SHUTDOWN_TIMEOUT", " 1s ")],
        SIGTERM,
        LIMIT,
    );
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    ended.assert_says("(timeout 1s)");
}

#[test]
fn a_malformed_timeout_in_the_environment_is_rejected_at_start_up() {
    let child = Running::start(
        CHILD,
        &["env-timeout"],
        &[("CANSTOP_SHUTDOWN_TIMEOUT", "10x")],
    );
    let (ended, took) = child.wait_exit(Duration::from_secs(10));
    let text = ended.text();
    println!("bad env: exit {:?} {took:?}\n{text}", ended.code());
    assert_eq!(ended.code(), Some(i32::from(canstop::exit_code::CONFIG)));
    assert!(
        text.contains("canstop: CANSTOP_SHUTDOWN_TIMEOUT: invalid duration \"10x\""),
        "{text}"
    );
    // Nothing ran.
    assert!(!ended.text().contains("READY"), "{}", ended.text());
}

/// Every runtime thread blocked in synchronous code: no tokio timer can fire, yet the process
/// still ends at the deadline (plus the watchdog's grace), names what it gave up on, and
/// keeps the counts of the sessions it could not drain.
#[test]
fn a_wedged_runtime_still_exits_at_the_deadline() {
    let (ended, took) = run_until_signal(CHILD, &["wedged"], &[], SIGTERM, LIMIT);
    let text = ended.text();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    assert!(text.contains("did not stop by its deadline"), "{text}");
    assert!(text.contains("UNRESPONSIVE"), "{text}");
    let work = ended.session_counts("work");
    assert_eq!((work.started, work.aborted), (3, 3), "{text}");
}

/// The same in JSON: the watchdog's report of the tree it gave up on says the deadline was
/// reached (it used to say `"deadline_reached":false` in a process exiting 124).
#[test]
fn a_wedged_runtimes_json_report_says_the_deadline_was_reached() {
    let env = [("CANSTOP_REPORT", "json")];
    let (ended, _) = run_until_signal(CHILD, &["wedged-main"], &env, SIGTERM, LIMIT);
    let text = ended.text();
    assert_eq!(
        ended.code(),
        Some(i32::from(canstop::exit_code::TIMED_OUT)),
        "{text}"
    );
    let json: Vec<&str> = text.lines().filter(|line| line.starts_with('{')).collect();
    assert_eq!(json.len(), 1, "{text}");
    assert!(json[0].starts_with("{\"watchdog\":"), "{text}");
    let report: canstop::Report = serde_json::from_str(json[0]).unwrap();
    assert!(report.deadline_reached, "{text}");
    assert_eq!(report.exit_code(), canstop::exit_code::TIMED_OUT, "{text}");
}

/// Review finding: a runtime wedged during the drain delay (its stop never starts) is still
/// ended by the exit enforcer, armed at the delay with its latest deadline: the delay (1 s)
/// plus the timeout (1 s) plus the fuse.
#[test]
fn a_runtime_wedged_during_the_drain_delay_still_exits() {
    let (ended, took) = run_until_signal(
        CHILD,
        &["wedged-draining"],
        &[("CANSTOP_DRAIN_DELAY", "1s")],
        SIGTERM,
        LIMIT,
    );
    let text = ended.text();
    assert_eq!(
        ended.code(),
        Some(i32::from(canstop::exit_code::TIMED_OUT)),
        "{text}"
    );
    assert!(took >= Duration::from_secs(2), "took {took:?}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // Review finding: the report said "drained for a delay of 2.65s, then stopped in 0ns":
    // the delay counted until the report, the stop not at all. The delay is 1 s; the stop
    // is counted from its end.
    assert!(
        text.contains("drained for a delay of 1s, then stopped in 1."),
        "{text}"
    );
}

/// `Root::main` after a second signal, its threads free: one report, the root's (the
/// watchdog's own report, of a tree given up on, is for a wedged runtime only).
#[test]
fn a_second_signal_prints_one_report() {
    let (ended, took) = second_sigint("second-signal-main", SIGTERM, "DRAINING");
    assert!(took < Duration::from_millis(200), "took {took:?}");
    assert_eq!(ended.code(), Some(130));
    let text = ended.text();
    assert_eq!(text.matches("canstop report:").count(), 1, "{text}");
    assert!(!text.contains("UNRESPONSIVE"), "{text}");
    assert!(!text.contains("given up on"), "{text}");
    assert!(
        text.contains("stubborn: ABORTED by a second signal"),
        "{text}"
    );
    assert_eq!(ended.session_counts("long").aborted, 1, "{text}");
    // A service that stopped cleanly, one of whose sessions the signal cut: not "at the
    // deadline", which was never reached (a review found that wording).
    assert!(
        text.contains("polite: stopped cleanly; 1 of its sessions ABORTED by the second signal"),
        "{text}"
    );
    assert!(
        !text.contains("at the deadline") && !text.contains("at its deadline"),
        "{text}"
    );
}

/// The second signal is read off the runtime: it works even when every runtime thread is
/// blocked.
#[test]
fn a_second_signal_exits_at_once_even_when_the_runtime_is_wedged() {
    let (ended, took) = second_sigint("wedged", SIGTERM, "WEDGED");
    assert!(took < Duration::from_millis(200), "took {took:?}");
    assert_eq!(ended.code(), Some(130));
}

#[test]
fn a_timeout_in_the_environment_that_is_not_utf8_is_rejected() {
    use std::os::unix::ffi::OsStrExt;
    let output = std::process::Command::new(CHILD)
        .arg("env-timeout")
        .env(
            "CANSTOP_SHUTDOWN_TIMEOUT",
            std::ffi::OsStr::from_bytes(b"1\xffs"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(i32::from(canstop::exit_code::CONFIG))
    );
    assert!(stderr.contains("it is not valid UTF-8"), "{stderr}");
}

/// A wedged runtime (every runtime thread blocked) that logs through `subscriber` (see the
/// child's `logging`) to `stderr` (piped and read when `None`). Sends SIGTERM once `READY`;
/// with `second`, a SIGINT once the first signal has been logged (or the attempt made: the
/// subscriber announces each write on stdout first). Returns how the child ended and how long
/// after the last signal.
fn wedged_logging(subscriber: &str, stderr: Option<Stderr>, second: bool) -> (Ended, Duration) {
    let args = ["wedged", subscriber];
    let mut child = match stderr {
        Some(stderr) => Running::start_with_stderr(CHILD, &args, stderr),
        None => Running::start(CHILD, &args, &[]),
    };
    child.wait_for_line("READY", START_LIMIT);
    child.signal(SIGTERM);
    if second {
        child.wait_for_prefix("LOG ", START_LIMIT);
        child.signal(SIGINT);
    }
    let started = Instant::now();
    // The child must be gone within 2 s either way; a little more only for a loaded machine.
    let (ended, _) = child.wait_exit(Duration::from_secs(6));
    let took = started.elapsed();
    println!(
        "wedged, subscriber {subscriber}, stderr {stderr:?}, second signal {second}: exit {:?} \
         {took:?} after the last signal\n{}",
        ended.code(),
        ended.text()
    );
    (ended, took)
}

/// Exit 124 at the deadline (1 s) plus the watchdog's grace (0.75 s).
fn assert_deadline_exit(ended: &Ended, took: Duration) {
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    assert!(
        took >= Duration::from_millis(1700) && took < Duration::from_millis(2000),
        "took {took:?}"
    );
}

/// Exit 130 within the watchdog's fuse (100 ms) of the second signal.
fn assert_forced_exit(ended: &Ended, took: Duration) {
    assert_eq!(ended.code(), Some(130), "{}", ended.text());
    assert!(took < Duration::from_millis(200), "took {took:?}");
}

#[test]
fn a_wedged_runtime_exits_at_the_deadline_with_stderr_closed() {
    let (ended, took) = wedged_logging("stderr", Some(Stderr::Closed), false);
    assert_deadline_exit(&ended, took);
}

#[test]
fn a_wedged_runtime_exits_at_the_deadline_with_stderr_a_broken_pipe() {
    let (ended, took) = wedged_logging("stderr", Some(Stderr::Broken), false);
    assert_deadline_exit(&ended, took);
}

#[test]
fn a_wedged_runtime_exits_at_the_deadline_with_stderr_a_full_pipe() {
    let (ended, took) = wedged_logging("stderr", Some(Stderr::Full), false);
    assert_deadline_exit(&ended, took);
}

#[test]
fn a_second_signal_exits_at_once_with_stderr_closed() {
    let (ended, took) = wedged_logging("stderr", Some(Stderr::Closed), true);
    assert_forced_exit(&ended, took);
}

#[test]
fn a_second_signal_exits_at_once_with_stderr_a_broken_pipe() {
    let (ended, took) = wedged_logging("stderr", Some(Stderr::Broken), true);
    assert_forced_exit(&ended, took);
}

#[test]
fn a_second_signal_exits_at_once_with_stderr_a_full_pipe() {
    let (ended, took) = wedged_logging("stderr", Some(Stderr::Full), true);
    assert_forced_exit(&ended, took);
}

#[test]
fn a_panicking_subscriber_does_not_stop_the_exit_at_the_deadline() {
    let (ended, took) = wedged_logging("panics", None, false);
    assert_deadline_exit(&ended, took);
}

#[test]
fn a_panicking_subscriber_does_not_stop_the_second_signal() {
    let (ended, took) = wedged_logging("panics", None, true);
    assert_forced_exit(&ended, took);
}

#[test]
fn a_blocking_subscriber_does_not_stop_the_exit_at_the_deadline() {
    let (ended, took) = wedged_logging("blocks", None, false);
    assert_deadline_exit(&ended, took);
}

#[test]
fn a_blocking_subscriber_does_not_stop_the_second_signal() {
    let (ended, took) = wedged_logging("blocks", None, true);
    assert_forced_exit(&ended, took);
}

/// `Root::main` without a subscriber prints its report to stderr; whatever stderr is, the
/// process still exits with the report's code, promptly.
fn root_main_with_stderr(stderr: Stderr) {
    let started = Instant::now();
    let child = Running::start_with_stderr(CHILD, &["main"], stderr);
    let (ended, _) = child.wait_exit(Duration::from_secs(10));
    let took = started.elapsed();
    println!(
        "Root::main, stderr {stderr:?}: exit {:?} {took:?}\n{}",
        ended.code(),
        ended.text()
    );
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn root_main_exits_with_its_code_with_stderr_closed() {
    root_main_with_stderr(Stderr::Closed);
}

#[test]
fn root_main_exits_with_its_code_with_stderr_a_broken_pipe() {
    root_main_with_stderr(Stderr::Broken);
}

#[test]
fn root_main_exits_with_its_code_with_stderr_a_full_pipe() {
    root_main_with_stderr(Stderr::Full);
}

/// A root with signal handling runs to completion; afterwards `signal` has its default
/// effect again: the process dies by it.
fn signal_after_the_root(signal: Signal) {
    let mut child = Running::start(CHILD, &["after-root"], &[]);
    let code = child.wait_for_prefix("DONE ", START_LIMIT);
    assert_eq!(code, "0");
    child.signal(signal);
    let (ended, took) = child.wait_exit(Duration::from_secs(10));
    println!(
        "after the root: {:?} {took:?} after {signal}\n{}",
        ended.status,
        ended.text()
    );
    assert_eq!(
        ended.status.signal(),
        Some(signal as i32),
        "{}",
        ended.text()
    );
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn sigterm_after_the_root_is_done_kills_the_process() {
    signal_after_the_root(SIGTERM);
}

#[test]
fn sigint_after_the_root_is_done_kills_the_process() {
    signal_after_the_root(SIGINT);
}

/// Reliability item 6: a `Drop` that blocks while the runtime shuts down (after the report)
/// cannot keep a process-owning root past its deadline: the watchdog stays armed until the
/// runtime is gone, and prints the report it was handed.
#[test]
fn a_drop_that_blocks_at_the_runtime_shutdown_does_not_hold_the_exit() {
    let (ended, took) = run_until_signal(CHILD, &["slow-drop"], &[], SIGTERM, LIMIT);
    // Deadline 200 ms + the watchdog's 750 ms fuse; the drop would take 5 s.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(took >= Duration::from_millis(900), "took {took:?}");
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    let text = ended.text();
    assert!(
        text.contains("the runtime did not shut down in time after the report"),
        "{text}"
    );
    assert!(text.contains("idle: stopped cleanly"), "{text}");
}

/// Review finding: a second signal after the report was made, while the runtime shuts down,
/// met the default action (the root had stopped listening before making the report): the
/// process was killed by the signal, with no report. The root listens until its runtime is
/// gone: the exit is the forced one, 128 + n, with the report.
#[test]
fn a_second_signal_while_the_runtime_shuts_down_after_the_report_exits_with_it() {
    let mut child = Running::start(CHILD, &["slow-drop"], &[]);
    child.wait_for_line("READY", LIMIT);
    child.signal(SIGTERM);
    // The untracked task's drop, at the runtime's shutdown: the report is made.
    child.wait_for_line("SLOW DROP", LIMIT);
    child.signal(SIGINT);
    let (ended, took) = child.wait_exit(LIMIT);
    println!(
        "exit {:?} {took:?} after the second signal\n{}",
        ended.code(),
        ended.text()
    );
    ended.assert_code(130);
    assert!(took < Duration::from_millis(600), "took {took:?}");
    let text = ended.text();
    assert!(text.contains("idle: stopped cleanly"), "{text}");
    assert!(text.contains("forced by a second SIGINT"), "{text}");
    assert!(
        text.contains("a second signal while the runtime shut down after the report"),
        "{text}"
    );
}

/// The same under `Root::main` with `CANSTOP_REPORT=json`: the watchdog, which writes the
/// report the root made (the root is stuck in the runtime's shutdown), writes it as the
/// root would have, one line of JSON, with its reason in it; read back, the report gives the
/// code the process exits with.
#[test]
fn the_watchdog_writes_the_report_in_the_format_asked_for() {
    let env = [("CANSTOP_REPORT", "json")];
    let (ended, _) = run_until_signal(CHILD, &["slow-drop-main"], &env, SIGTERM, LIMIT);
    let code = canstop::exit_code::TIMED_OUT;
    assert_eq!(ended.code(), Some(i32::from(code)));
    let text = ended.text();
    let json: Vec<&str> = text.lines().filter(|line| line.starts_with('{')).collect();
    assert_eq!(json.len(), 1, "{text}");
    assert!(
        json[0].starts_with("{\"watchdog\":\"the runtime did not shut down in time"),
        "{text}"
    );
    let report: canstop::Report = serde_json::from_str(json[0]).unwrap();
    assert!(report.service("idle").is_some(), "{text}");
    assert_eq!(report.exit_code(), code, "{text}");
    assert!(!text.contains("canstop report:"), "no text report: {text}");
    assert!(!text.contains("canstop: "), "no text line: {text}");
}

/// `main` returning an `ExitCode` (issue 10): the process exits with it when the tree stopped
/// cleanly, and the report says so.
#[test]
fn mains_exit_code_is_the_processs_when_the_tree_is_clean() {
    let (ended, _) = Running::start(CHILD, &["exit-code"], &[]).wait_exit(LIMIT);
    assert_eq!(ended.code(), Some(3), "{}", ended.text());
    let text = ended.text();
    assert!(text.contains("main: returned exit code 3"), "{text}");
    // The report's first line gives the code the process exits with.
    assert!(
        text.contains("exit code 3 (main's; the tree stopped cleanly)"),
        "{text}"
    );
    assert!(!text.contains("exit code 0"), "{text}");
}

/// Review finding: a service's failure was logged before it was escalated, so a subscriber
/// that blocks kept the failure from ever triggering the stop (the process never exited), and
/// one that panicked unwound through the root's drop guards, which log too: the process
/// aborted (134) with no report. canstop acts first and logs after, and a subscriber's panic
/// is not canstop's.
fn failing_logged(subscriber: &str) -> (Ended, Duration) {
    let started = Instant::now();
    let child = Running::start(CHILD, &["failing-logged", subscriber], &[]);
    // The deadline is 1 s after the failure (50 ms in), the watchdog's fuse 0.75 s after it.
    let (ended, _) = child.wait_exit(Duration::from_secs(6));
    let took = started.elapsed();
    println!(
        "failing, subscriber {subscriber}: exit {:?} after {took:?}\n{}",
        ended.code(),
        ended.text()
    );
    (ended, took)
}

#[test]
fn a_panicking_subscriber_does_not_change_a_failures_exit_or_lose_its_report() {
    let (ended, _) = failing_logged("panics");
    ended.assert_code(1);
    assert!(
        ended
            .text()
            .contains("trigger: service \"failing\" failed: upstream gone"),
        "the report, on stderr"
    );
}

#[test]
fn a_blocking_subscriber_does_not_keep_a_failure_from_stopping_the_tree() {
    let (ended, took) = failing_logged("blocks");
    // The thread that logged the failure is held: it is unresponsive at the deadline.
    ended.assert_code(124);
    assert!(took < Duration::from_secs(4), "{took:?}");
}

const SUBSCRIBERS: &str = env!("CARGO_BIN_EXE_subscribers");

/// Hostile-review finding: with a subscriber at `DEBUG` that panics on every write, the
/// supervisor's `DEBUG` lines (not yet run under the catch) panicked, and a supervisor's drop
/// logged again while unwinding: the process aborted (134) before any signal, with no
/// report. Every lifecycle log now runs under the catch.
#[test]
fn a_subscriber_that_panics_at_debug_does_not_abort_the_process() {
    let (ended, _) = run_until_signal(SUBSCRIBERS, &["panics"], &[], SIGTERM, LIMIT);
    ended.assert_code(0);
    ended.assert_says("idle: stopped cleanly");
}

/// Hostile-review finding: the "tree ready" line was logged under the tree readiness's lock,
/// which the trigger takes: a subscriber that blocked on it made the process ignore SIGTERM
/// for good. It is logged once the lock is released: the stop goes on, and the exit is
/// bounded by the deadline (the thread that logged is held: exit 124).
#[test]
fn a_subscriber_that_blocks_on_tree_ready_does_not_hold_the_stop() {
    let (ended, took) = signal_at_line(
        SUBSCRIBERS,
        &["blocks-on-tree-ready"],
        &[],
        "SUBSCRIBER BLOCKS NOW",
        SIGTERM,
        LIMIT,
    );
    // Deadline 1 s, the watchdog's fuse 0.75 s.
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(ended.code().is_some(), "{}", ended.text());
}

/// Hostile-review finding: "stopping a sibling for its restart" was logged under the
/// restart round's lock, before the sibling was told: a subscriber that blocked on it held
/// the lock every sibling takes at its stop, and both workers blocked: the siblings were
/// UNRESPONSIVE. It is logged after, the lock released: only the thread that logged is held
/// (`a`'s, and at most one task tokio keeps in that worker's LIFO slot, which no other
/// worker can steal), so at least two of the three siblings stop cleanly.
#[test]
fn a_subscriber_that_blocks_during_a_restart_round_does_not_wedge_the_siblings() {
    let (ended, took) = signal_at_line(
        SUBSCRIBERS,
        &["blocks-on-sibling"],
        &[],
        "SUBSCRIBER BLOCKS NOW",
        SIGTERM,
        LIMIT,
    );
    let text = ended.text();
    let stopped = ["b", "c", "d"]
        .iter()
        .filter(|sibling| text.contains(&format!("{sibling}: stopped cleanly")))
        .count();
    assert!(stopped >= 2, "{text}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

const SPAN_HOOKS: &str = env!("CARGO_BIN_EXE_span_hooks");

/// Hostile-review findings: a subscriber that panicked in a hook of canstop's own spans
/// aborted the process (`Instrumented`'s drop entered the `service` span again: a second
/// panic), left a service that never ran reported as UNRESPONSIVE (a panic making the span,
/// after its admission), or had a session counted as cancelled by the program (its span
/// entered outside the catch). The spans are made, entered and left under a catch: each case
/// stops cleanly, every session counted.
#[test]
fn a_subscriber_that_panics_in_a_span_hook_changes_nothing() {
    for (hook, span, late) in [
        ("enter", "service", false),
        ("exit", "service", false),
        ("new", "service", true),
        ("enter", "session", false),
        ("exit", "session", false),
    ] {
        let env: &[(&str, &str)] = if late { &[] } else { &[("NO_LATE", "1")] };
        let (ended, _) = run_until_signal(SPAN_HOOKS, &["panic", hook, span], env, SIGTERM, LIMIT);
        let text = ended.text();
        assert_eq!(ended.code(), Some(0), "{hook} {span}: {text}");
        assert!(
            text.contains("idle: stopped cleanly"),
            "{hook} {span}: {text}"
        );
        assert!(
            text.contains("started=1 finished=1 failed=0 panicked=0 aborted=0"),
            "{hook} {span}: {text}"
        );
        if late {
            assert!(
                text.contains("late: stopped cleanly"),
                "{hook} {span}: {text}"
            );
        }
    }
}
