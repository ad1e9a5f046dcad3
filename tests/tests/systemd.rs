//! systemd's notify protocol against a real Unix datagram socket (a path one and an abstract
//! one), bound here, and real programs (the ordered example, the test child) run with
//! `NOTIFY_SOCKET` and `WATCHDOG_USEC` set: the message sequence, the watchdog's period, and
//! a wedged runtime that stops pinging.
//!
//! The assertions synchronise on messages and on the programs' output, never on sleeps;
//! times are checked with slack for a loaded machine, in the direction that cannot flake.
#![cfg(target_os = "linux")]

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use canstop_tests::Running;
use nix::sys::signal::Signal::SIGTERM;

const ORDERED: &str = env!("CARGO_BIN_EXE_example-ordered");
const CHILD: &str = env!("CARGO_BIN_EXE_child");
const LIMIT: Duration = Duration::from_secs(30);

/// `WATCHDOG_USEC` in the tests: pings every 100 ms.
const WATCHDOG_USEC: &str = "200000";
const PERIOD: Duration = Duration::from_millis(100);

/// The line of a marker datagram the test sends itself (see [`Notifications::sync`]).
const MARK: &str = "X_TEST_MARK=";

/// The ordered example's timeout (`#[canstop::main(timeout = "5s")]`).
const ORDERED_TIMEOUT: Duration = Duration::from_secs(5);
/// canstop's fuse after the deadline plus the margin of `EXTEND_TIMEOUT_USEC` (lifecycle/grace.rs).
const FUSE_AND_MARGIN: Duration = Duration::from_millis(750 + 1000);

/// A notify socket bound by the test, read on a thread of its own (the kernel queues only
/// `net.unix.max_dgram_qlen` datagrams, 10 by default): every line of every datagram, with
/// when it was read.
struct Notifications {
    /// `NOTIFY_SOCKET`'s value for the program.
    name: String,
    addr: SocketAddr,
    incoming: mpsc::Receiver<(Instant, String)>,
    /// Every line read so far.
    lines: Vec<(Instant, String)>,
    /// Where [`wait_for`](Self::wait_for) looks next.
    next: usize,
    marks: usize,
    path: Option<PathBuf>,
}

static SOCKETS: AtomicUsize = AtomicUsize::new(0);

impl Notifications {
    /// A socket at a path in the temporary directory.
    fn path() -> Self {
        let n = SOCKETS.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("canstop-notify-{}-{n}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind a path socket");
        let addr = SocketAddr::from_pathname(&path).unwrap();
        Self::read(socket, path.display().to_string(), addr, Some(path))
    }

    /// An abstract socket (`@name`).
    fn abstract_name() -> Self {
        use std::os::linux::net::SocketAddrExt;
        let n = SOCKETS.fetch_add(1, Ordering::SeqCst);
        let name = format!("canstop-notify-{}-{n}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let socket = UnixDatagram::bind_addr(&addr).expect("bind an abstract socket");
        Self::read(socket, format!("@{name}"), addr, None)
    }

    fn read(socket: UnixDatagram, name: String, addr: SocketAddr, path: Option<PathBuf>) -> Self {
        let (sender, incoming) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let at = Instant::now();
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                for line in text.lines() {
                    if sender.send((at, line.to_owned())).is_err() {
                        return;
                    }
                }
            }
        });
        Self {
            name,
            addr,
            incoming,
            lines: Vec::new(),
            next: 0,
            marks: 0,
            path,
        }
    }

    fn receive(&mut self, limit: Duration) -> bool {
        match self.incoming.recv_timeout(limit) {
            Ok(line) => {
                self.lines.push(line);
                true
            }
            Err(_) => false,
        }
    }

    /// Waits for every datagram sent to the socket before now to be read: sends a marker
    /// datagram itself and waits for it (one socket's queue is first in, first out).
    fn sync(&mut self) {
        self.marks += 1;
        let mark = format!("{MARK}{}", self.marks);
        UnixDatagram::unbound()
            .unwrap()
            .send_to_addr(mark.as_bytes(), &self.addr)
            .expect("send a marker");
        let until = Instant::now() + LIMIT;
        while !self.lines.iter().any(|(_, line)| *line == mark) {
            let left = until.saturating_duration_since(Instant::now());
            assert!(self.receive(left), "the marker never came back");
        }
    }

    /// Waits for the next line (after the last one waited for) that satisfies `wanted`;
    /// returns its index, when it was read and the line.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> (usize, Instant, String) {
        let until = Instant::now() + LIMIT;
        loop {
            if let Some(found) = (self.next..self.lines.len()).find(|&i| wanted(&self.lines[i].1)) {
                self.next = found + 1;
                let (at, line) = self.lines[found].clone();
                return (found, at, line);
            }
            let left = until.saturating_duration_since(Instant::now());
            assert!(
                self.receive(left),
                "no {what} within {LIMIT:?}; received: {:#?}",
                self.texts()
            );
        }
    }

    /// Reads everything that arrives for `window`.
    fn collect_for(&mut self, window: Duration) {
        let until = Instant::now() + window;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            self.receive(left);
        }
    }

    /// Every line read, without the test's markers.
    fn texts(&self) -> Vec<&str> {
        self.lines
            .iter()
            .map(|(_, line)| line.as_str())
            .filter(|line| !line.starts_with(MARK))
            .collect()
    }

    /// The last `STATUS=` line read.
    fn last_status(&self) -> Option<&str> {
        self.texts()
            .into_iter()
            .rfind(|line| line.starts_with("STATUS="))
    }

    fn pings(&self) -> usize {
        self.texts().iter().filter(|l| **l == "WATCHDOG=1").count()
    }

    /// The lines read, runs of pings folded (`WATCHDOG=1 (x12)`), for the test's log.
    fn sequence(&self) -> Vec<String> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for line in self.texts() {
            match out.last_mut() {
                Some((last, count)) if last == line => *count += 1,
                _ => out.push((line.to_owned(), 1)),
            }
        }
        out.into_iter()
            .map(|(line, count)| match count {
                1 => line,
                _ => format!("{line} (x{count})"),
            })
            .collect()
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The microseconds of an `EXTEND_TIMEOUT_USEC=` line.
fn extension(line: &str) -> Duration {
    let usec = line
        .strip_prefix("EXTEND_TIMEOUT_USEC=")
        .and_then(|usec| usec.parse().ok())
        .unwrap_or_else(|| panic!("not an extension: {line:?}"));
    Duration::from_micros(usec)
}

fn median(mut gaps: Vec<Duration>) -> Duration {
    gaps.sort();
    gaps[gaps.len() / 2]
}

/// The whole sequence, on a path socket, with a drain delay: no `READY=1` before the tree can
/// be ready and `READY=1` once it is; `STATUS=` lines; pings at `WATCHDOG_USEC`/2 from the
/// start through the delay; `STOPPING=1` at SIGTERM; `EXTEND_TIMEOUT_USEC` for the delay plus
/// the timeout, then for the drain; the final `STATUS=` with the exit code, last.
#[test]
fn the_ordered_example_tells_systemd_every_phase_on_a_path_socket() {
    let mut notify = Notifications::path();
    let mut program = Running::start(
        ORDERED,
        &["127.0.0.1:0"],
        &[
            ("NOTIFY_SOCKET", &notify.name),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
            ("DATABASE_CONNECT_MS", "600"),
            ("CANSTOP_DRAIN_DELAY", "500ms"),
        ],
    );

    // Printed before the database says it is ready, so before the tree can be: nothing sent
    // until now is READY=1, though the pings and the status already go out.
    program.wait_for_line("database ready", LIMIT);
    notify.sync();
    let before = notify.texts();
    assert!(!before.contains(&"READY=1"), "{before:#?}");
    assert!(before.contains(&"WATCHDOG=1"), "{before:#?}");
    assert!(
        before.iter().any(|l| l.starts_with("STATUS=starting: ")),
        "{before:#?}"
    );

    let (ready, _, _) = notify.wait_for("READY=1", |l| l == "READY=1");
    program.wait_for_line("tree ready", LIMIT);
    assert_eq!(
        notify.lines.iter().filter(|(_, l)| l == "READY=1").count(),
        1
    );
    notify.wait_for("the running status", |l| {
        l.starts_with("STATUS=running: 3 services, ")
    });

    // Eleven pings in a row: ten gaps, whose median is the period (a stall of the loaded
    // machine moves a few, not the median).
    let pings: Vec<Instant> = (0..11)
        .map(|_| notify.wait_for("a ping", |l| l == "WATCHDOG=1").1)
        .collect();
    let gaps: Vec<Duration> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    let typical = median(gaps.clone());
    assert!(
        typical >= PERIOD * 9 / 10 && typical <= PERIOD * 3 / 2,
        "the pings' gaps: {gaps:?}"
    );

    program.signal(SIGTERM);
    let (stopping, _, _) = notify.wait_for("STOPPING=1", |l| l == "STOPPING=1");
    let (delay, _, line) = notify.wait_for("the delay's extension", |l| {
        l.starts_with("EXTEND_TIMEOUT_USEC=")
    });
    // The delay (500 ms, a little of it gone) + the timeout + the fuse and margin.
    let full = Duration::from_millis(500) + ORDERED_TIMEOUT + FUSE_AND_MARGIN;
    let extended = extension(&line);
    assert!(
        extended <= full && extended > full - Duration::from_millis(400),
        "{line}"
    );
    notify.wait_for("the delay's status", |l| {
        l.starts_with("STATUS=draining (delay): ")
    });
    let (drain, _, line) = notify.wait_for("the drain's extension", |l| {
        l.starts_with("EXTEND_TIMEOUT_USEC=")
    });
    let full = ORDERED_TIMEOUT + FUSE_AND_MARGIN;
    let extended = extension(&line);
    assert!(
        extended <= full && extended > full - Duration::from_millis(400),
        "{line}"
    );
    // The service keeps being watched during the delay.
    let during_delay = notify.lines[stopping..drain]
        .iter()
        .filter(|(_, l)| l == "WATCHDOG=1")
        .count();
    assert!(during_delay >= 1, "{:#?}", notify.sequence());

    let (ended, _) = program.wait_exit(LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    let (last, _, _) = notify.wait_for("the final status", |l| l == "STATUS=stopped: exit 0");
    notify.sync();
    let texts = notify.texts();
    assert_eq!(texts.last(), Some(&"STATUS=stopped: exit 0"), "{texts:#?}");
    assert!(ready < stopping && stopping < delay && delay < drain && drain < last);
    // No status of an earlier phase after a phase's message: no "starting" after `READY=1`,
    // no "stopping" before `STOPPING=1` (a review saw both, a status computed before the
    // phase changed and sent after).
    let statuses = |range: std::ops::Range<usize>| -> Vec<&str> {
        notify.lines[range]
            .iter()
            .map(|(_, l)| l.as_str())
            .filter(|l| l.starts_with("STATUS="))
            .collect()
    };
    let after_ready = statuses(ready..notify.lines.len());
    assert!(
        !after_ready.iter().any(|l| l.starts_with("STATUS=starting")),
        "{:#?}",
        notify.sequence()
    );
    let before_stopping = statuses(0..stopping);
    assert!(
        !before_stopping
            .iter()
            .any(|l| l.starts_with("STATUS=stopping") || l.starts_with("STATUS=draining")),
        "{:#?}",
        notify.sequence()
    );
    println!("captured:\n{}", notify.sequence().join("\n"));
}

/// The same on an abstract socket (`NOTIFY_SOCKET=@name`), without a delay: the extension
/// at SIGTERM is the drain's.
#[test]
fn an_abstract_socket_gets_the_sequence_too() {
    let mut notify = Notifications::abstract_name();
    let mut program = Running::start(
        ORDERED,
        &["127.0.0.1:0"],
        &[
            ("NOTIFY_SOCKET", &notify.name),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
            ("DATABASE_CONNECT_MS", "0"),
        ],
    );
    notify.wait_for("READY=1", |l| l == "READY=1");
    program.wait_for_line("tree ready", LIMIT);
    notify.wait_for("a ping", |l| l == "WATCHDOG=1");
    program.signal(SIGTERM);
    notify.wait_for("STOPPING=1", |l| l == "STOPPING=1");
    let (_, _, line) = notify.wait_for("the drain's extension", |l| {
        l.starts_with("EXTEND_TIMEOUT_USEC=")
    });
    let full = ORDERED_TIMEOUT + FUSE_AND_MARGIN;
    assert!(extension(&line) <= full && extension(&line) > full - Duration::from_millis(400));
    let (ended, _) = program.wait_exit(LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    notify.wait_for("the final status", |l| l == "STATUS=stopped: exit 0");
    println!("captured:\n{}", notify.sequence().join("\n"));
}

/// Every runtime worker blocked in synchronous code (the child's `wedged` mode, after
/// SIGTERM): the pings come from a task on the runtime, so they stop within about a period,
/// while the process lives on until canstop's exit enforcer ends it (1 s deadline + 0.75 s).
/// The messages of the trigger, sent from the signal thread, still go out.
#[test]
fn a_wedged_runtime_stops_pinging() {
    let mut notify = Notifications::path();
    let mut program = Running::start(
        CHILD,
        &["wedged"],
        &[
            ("NOTIFY_SOCKET", &notify.name),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
        ],
    );
    program.wait_for_line("READY", LIMIT);
    notify.wait_for("READY=1", |l| l == "READY=1");
    for _ in 0..3 {
        notify.wait_for("a ping", |l| l == "WATCHDOG=1");
    }
    program.signal(SIGTERM);
    program.wait_for_line("WEDGED", LIMIT);
    let wedged = Instant::now();
    // Until the exit enforcer ends the process (about 1.7 s after the signal).
    notify.collect_for(Duration::from_millis(1500));
    let (ended, _) = program.wait_exit(LIMIT);
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    let late: Vec<Duration> = notify
        .lines
        .iter()
        .filter(|(at, line)| line == "WATCHDOG=1" && *at > wedged)
        .map(|(at, _)| *at - wedged)
        .collect();
    assert!(
        late.iter().all(|after| *after <= PERIOD * 2),
        "pings after the runtime wedged: {late:?}"
    );
    // What the process sent before it exited is queued on the socket.
    notify.collect_for(Duration::from_millis(100));
    let texts = notify.texts();
    assert!(texts.contains(&"STOPPING=1"), "{texts:#?}");
    assert!(
        texts.iter().any(|l| l.starts_with("EXTEND_TIMEOUT_USEC=")),
        "{texts:#?}"
    );
    // The last status comes from the watchdog's thread, with the report it wrote: the
    // notifier's task cannot run on the wedged runtime (there used to be none).
    assert_eq!(
        notify.last_status(),
        Some("STATUS=stopped: exit 124"),
        "{texts:#?}"
    );
    println!(
        "pings after WEDGED: {late:?}\ncaptured:\n{}",
        notify.sequence().join("\n")
    );
}

/// `WATCHDOG_PID` names another process (here, the test's): the watchdog is not this
/// program's, so it never pings; everything else is sent.
#[test]
fn a_watchdog_for_another_pid_gets_no_pings() {
    let mut notify = Notifications::path();
    let test_pid = std::process::id().to_string();
    let mut program = Running::start(
        ORDERED,
        &["127.0.0.1:0"],
        &[
            ("NOTIFY_SOCKET", &notify.name),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
            ("WATCHDOG_PID", &test_pid),
            ("DATABASE_CONNECT_MS", "0"),
        ],
    );
    notify.wait_for("READY=1", |l| l == "READY=1");
    program.wait_for_line("tree ready", LIMIT);
    // Six periods of the watchdog it must not serve.
    notify.collect_for(PERIOD * 6);
    program.signal(SIGTERM);
    let (ended, _) = program.wait_exit(LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    notify.wait_for("the final status", |l| l == "STATUS=stopped: exit 0");
    notify.sync();
    assert_eq!(notify.pings(), 0, "{:#?}", notify.sequence());
    assert!(notify.texts().contains(&"STOPPING=1"));
}

/// Without `NOTIFY_SOCKET` (unset, or empty as a template renders it), nothing is sent and
/// nothing fails or complains, `WATCHDOG_USEC` notwithstanding.
#[test]
fn without_a_notify_socket_nothing_is_sent_and_nothing_fails() {
    for socket in [None, Some("")] {
        let mut notify = Notifications::path();
        let mut env = vec![
            ("WATCHDOG_USEC", WATCHDOG_USEC),
            ("DATABASE_CONNECT_MS", "0"),
        ];
        env.extend(socket.map(|socket| ("NOTIFY_SOCKET", socket)));
        let mut program = Running::start(ORDERED, &["127.0.0.1:0"], &env);
        program.wait_for_line("tree ready", LIMIT);
        program.signal(SIGTERM);
        let (ended, _) = program.wait_exit(LIMIT);
        assert_eq!(ended.code(), Some(0), "{}", ended.text());
        let text = ended.text();
        let lower = text.to_lowercase();
        assert!(
            !lower.contains("notify") && !lower.contains("systemd") && !text.contains("WARN"),
            "{socket:?}: {text}"
        );
        notify.sync();
        assert_eq!(notify.texts(), Vec::<&str>::new(), "{socket:?}");
    }
}

/// A socket nobody listens on (and one that is not a socket name at all): every send fails,
/// the first failure is logged once, and the program runs and exits as without systemd.
#[test]
fn a_dead_notify_socket_is_logged_once_and_never_fatal() {
    let dead = std::env::temp_dir().join(format!("canstop-dead-{}", std::process::id()));
    let dead = dead.display().to_string();
    for socket in [dead.as_str(), "relative/name"] {
        let mut program = Running::start(
            ORDERED,
            &["127.0.0.1:0"],
            &[
                ("NOTIFY_SOCKET", socket),
                // A ping every 5 ms: many failures.
                ("WATCHDOG_USEC", "10000"),
            ],
        );
        program.wait_for_line("tree ready", LIMIT);
        program.signal(SIGTERM);
        let (ended, _) = program.wait_exit(LIMIT);
        assert_eq!(ended.code(), Some(0), "{}", ended.text());
        let warnings = ended
            .stderr
            .iter()
            .filter(|line| line.contains("systemd"))
            .count();
        assert_eq!(warnings, 1, "{socket}: {}", ended.text());
    }
    // A program without a `tracing` subscriber, stopped by a real signal: the error goes to
    // stderr at the end. It used to be lost: the signal listener's scoped no-op subscriber
    // made canstop believe a subscriber had been installed.
    let (ended, _) = canstop_tests::run_until_signal(
        CHILD,
        &["sessions"],
        &[("NOTIFY_SOCKET", dead.as_str())],
        SIGTERM,
        LIMIT,
    );
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    let warnings: Vec<_> = ended
        .stderr
        .iter()
        .filter(|line| line.contains("systemd's notify socket failed"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", ended.text());
    assert!(warnings[0].starts_with("canstop: "), "{}", ended.text());
}

/// Review finding: a malformed `WATCHDOG_USEC` (or `WATCHDOG_PID`) turned the pings off
/// silently in the usual program (its subscriber installed in `main`'s body, or none): the
/// warning was logged at start-up, before any subscriber. It is now said once, as the
/// socket's errors are: through `tracing` once a subscriber is installed, else on stderr at
/// the end. Everything else is sent.
#[test]
fn a_malformed_watchdog_variable_is_said_once_and_turns_the_pings_off() {
    for (variable, value, said) in [
        (
            "WATCHDOG_USEC",
            "abc",
            "canstop: WATCHDOG_USEC=\"abc\" is not a number of microseconds: no watchdog pings",
        ),
        (
            "WATCHDOG_PID",
            "xyz",
            "canstop: WATCHDOG_PID=\"xyz\" is not a process id: no watchdog pings",
        ),
    ] {
        let mut notify = Notifications::path();
        let mut env = vec![("NOTIFY_SOCKET", notify.name.as_str())];
        if variable == "WATCHDOG_PID" {
            env.push(("WATCHDOG_USEC", WATCHDOG_USEC));
        }
        env.push((variable, value));
        let (ended, _) =
            canstop_tests::run_until_signal(CHILD, &["sessions"], &env, SIGTERM, LIMIT);
        assert_eq!(ended.code(), Some(0), "{}", ended.text());
        let warnings: Vec<_> = ended
            .stderr
            .iter()
            .filter(|line| line.contains(variable))
            .collect();
        assert_eq!(warnings, [said], "{}", ended.text());
        notify.wait_for("the final status", |l| l == "STATUS=stopped: exit 0");
        notify.sync();
        assert_eq!(notify.pings(), 0, "{:#?}", notify.sequence());
        assert!(
            notify.texts().contains(&"READY=1"),
            "{:#?}",
            notify.sequence()
        );
    }
}

/// The tree stops cleanly, then a `Drop` blocks the runtime's shutdown and the exit enforcer
/// ends the process with 124: systemd's last status says so (a hostile review found `exit 0`,
/// the root's report's, sent before the enforcer marked it past its deadline).
#[test]
fn the_last_status_gives_the_code_the_process_exits_with() {
    let mut notify = Notifications::path();
    let mut program = Running::start(CHILD, &["slow-drop"], &[("NOTIFY_SOCKET", &notify.name)]);
    program.wait_for_line("READY", LIMIT);
    program.signal(SIGTERM);
    let (ended, _) = program.wait_exit(LIMIT);
    ended.assert_code(canstop::exit_code::TIMED_OUT);
    notify.collect_for(Duration::from_millis(100));
    let texts = notify.texts();
    assert_eq!(
        notify.last_status(),
        Some("STATUS=stopped: exit 124"),
        "{texts:#?}"
    );
}
