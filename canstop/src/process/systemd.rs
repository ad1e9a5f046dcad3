//! systemd's notify protocol (feature `systemd`, Unix): a process-owning root
//! ([`Root::main`](crate::Root::main), [`Root::block_on`](crate::Root::block_on),
//! `#[canstop::main]`) run by systemd with `Type=notify` tells it when the tree is ready,
//! what it is doing, when it stops and how it ended, and proves with watchdog pings that its
//! runtime still runs tasks.
//!
//! # What is sent, and when
//!
//! | when | message |
//! |---|---|
//! | the tree is ready for the first time ([`Event::TreeReady`]) | `READY=1` |
//! | at the start, at every phase or readiness change, at every ping and every [`STATUS_EVERY`], when the text changed | `STATUS=starting: R of N services ready, M live sessions`, `STATUS=running: N services, M live sessions`, `STATUS=running, not ready: ...` |
//! | the trigger ([`Event::Triggered`]) | `STOPPING=1` |
//! | the drain delay starts ([`Event::Draining`]) | `EXTEND_TIMEOUT_USEC=` the delay + the timeout + [`DEADLINE_FUSE`] + [`EXTEND_MARGIN`], then `STATUS=draining (delay): M live sessions, N services, stopping in Ss` |
//! | the stop starts ([`Event::Stopping`]) | `EXTEND_TIMEOUT_USEC=` time to the deadline + [`DEADLINE_FUSE`] + [`EXTEND_MARGIN`], then `STATUS=draining: M sessions left, N services left, deadline in Ss` |
//! | a second signal ([`Event::Forced`]) | `STATUS=forced by a second signal (SIGINT): exiting` |
//! | the report is made (by the root, or by the exit enforcer when it gives a wedged runtime up) | `STATUS=stopped: exit C` |
//! | every `WATCHDOG_USEC / 2`, from a task on the runtime | `WATCHDOG=1` |
//!
//! The `STATUS=` lines are computed from a [`State`] snapshot by the notifier's
//! task, never in a listener (a listener must not call back into the tree); a line equal to
//! the last one sent is not sent again.
//!
//! # Guarantees
//!
//! - Nothing at all happens when `NOTIFY_SOCKET` is unset or empty: one environment read at
//!   start-up, no socket, no task, no listener.
//! - `READY=1` is sent once, only after the tree was ready (`main` returned `Ok` and every live
//!   service is ready), never before.
//! - `WATCHDOG=1` is sent from a task on the tree's runtime, never from a thread of its own:
//!   a runtime whose every worker is blocked stops pinging within one period, and systemd
//!   (`WatchdogSec=`) kills and restarts the unit. Pings go on through the drain delay and
//!   the drain, until the report. A `WATCHDOG_PID` that is not this process's id turns the
//!   pings off (the watchdog is for another process); an unset one applies to this process,
//!   as `sd_watchdog_enabled(3)` says. A `WATCHDOG_USEC` or `WATCHDOG_PID` that is not a
//!   number turns them off too, and is said once, as a socket error is (below).
//! - `EXTEND_TIMEOUT_USEC` covers all that canstop itself bounds: the process has ended by
//!   then (the exit enforcer ends it at the deadline plus [`DEADLINE_FUSE`]), so systemd's
//!   `TimeoutStopSec=` never kills a drain canstop still bounds, even when the timeout is set
//!   higher through `CANSTOP_SHUTDOWN_TIMEOUT` than the unit file expects. systemd only ever
//!   extends a timeout with it, never shortens one.
//! - The messages of the listener are sent in the order of the events; a `STATUS=` line
//!   computed before a phase change is dropped, not sent after it.
//!
//! # Errors
//!
//! Sending is never fatal, and never blocks: the socket is non-blocking (a listener must not
//! block). A message that finds systemd's receive queue full (`net.unix.max_dgram_qlen`) is
//! queued, in order, and retried by the notifier's task every [`RETRY_EVERY`] (at most
//! [`QUEUE_MAX`] wait; a ping is dropped instead, a late one proves nothing). A message that
//! cannot be sent at all (nobody listens on the socket, a `NOTIFY_SOCKET` that is neither an
//! absolute path nor `@abstract`) is dropped, and the first such error is logged once, as a
//! warning, from the notifier's task once a `tracing` subscriber is installed (programs
//! install theirs in `main`'s body, after the notifier started), or at the end, on stderr if
//! no subscriber ever was. A listener never logs: a `tracing` subscriber that blocks must not
//! hold the trigger.
//!
//! # The environment is left as it is
//!
//! `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` are read, not unset
//! (`sd_notify(3)`'s `unset_environment` is not done): the runtime's threads already run when
//! the tree starts, and changing the environment of a multi-threaded process races with every
//! `getenv` of the C library (which is why `std::env::remove_var` is `unsafe` from Rust 2024
//! on; this crate forbids unsafe code). A child process that inherits them does no harm by
//! default: systemd accepts notifications from the main process only (`NotifyAccess=main`,
//! the default of `Type=notify`), and `WATCHDOG_PID` names the main process, so a canstop
//! child does not ping. To keep a child from seeing them at all, spawn it with
//! `Command::env_remove("NOTIFY_SOCKET")`.
//!
//! # Why not the `sd-notify` crate
//!
//! sd-notify 0.5 does not support abstract (`@`) sockets (it connects to the text as a
//! path), brings `libc`, and its environment-unsetting functions are `unsafe`; what canstop
//! needs is one datagram per message, which `std`'s `UnixDatagram` sends to a path or (on
//! Linux) an abstract address (`SocketAddrExt::from_abstract_name`).

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::lifecycle::events::{Event, Listener};
use crate::lifecycle::grace::{DEADLINE_FUSE, EXTEND_MARGIN, FORCE_FUSE};
use crate::report::state::{snapshot, Phase, State, TreePhase};
use crate::report::Report;
use crate::sync::locking::lock;
use crate::tree::node::Node;
use crate::Signal;

/// The socket systemd listens on: an absolute path, or `@name` for an abstract socket.
pub(crate) const SOCKET_ENV: &str = "NOTIFY_SOCKET";
/// The watchdog's timeout, in microseconds: ping at half of it.
pub(crate) const WATCHDOG_USEC_ENV: &str = "WATCHDOG_USEC";
/// The process the watchdog is for (unset: this one).
pub(crate) const WATCHDOG_PID_ENV: &str = "WATCHDOG_PID";

/// How often the notifier's task recomputes the `STATUS=` line (sent only when it changed).
pub(crate) const STATUS_EVERY: Duration = Duration::from_secs(1);

/// What the environment asks for: where to send, and how often to ping.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    socket: OsString,
    /// The ping period (half of `WATCHDOG_USEC`), when the watchdog is on for this process.
    ping_every: Option<Duration>,
    /// Why there are no pings, when `WATCHDOG_USEC` or `WATCHDOG_PID` is malformed.
    malformed: Option<String>,
}

impl Config {
    /// From this process's environment; `None` when `NOTIFY_SOCKET` is unset or empty.
    fn from_env() -> Option<Self> {
        Self::from(
            std::env::var_os(SOCKET_ENV),
            std::env::var_os(WATCHDOG_USEC_ENV),
            std::env::var_os(WATCHDOG_PID_ENV),
            std::process::id(),
        )
    }

    fn from(
        socket: Option<OsString>,
        usec: Option<OsString>,
        pid: Option<OsString>,
        our_pid: u32,
    ) -> Option<Self> {
        let socket = socket.filter(|socket| !socket.is_empty())?;
        let (ping_every, malformed) = match ping_every(usec.as_deref(), pid.as_deref(), our_pid) {
            Ok(every) => (every, None),
            Err(why) => (None, Some(why)),
        };
        Some(Self {
            socket,
            ping_every,
            malformed,
        })
    }
}

/// Half of `WATCHDOG_USEC`, as `sd_watchdog_enabled(3)` reads it: a positive number of
/// microseconds, for this process (`WATCHDOG_PID` unset, or our pid). A value that is not a
/// number turns the pings off, as there: `Err` says why, which is logged once, as the
/// socket's errors are (see [`Socket::log_error`]).
fn ping_every(
    usec: Option<&OsStr>,
    pid: Option<&OsStr>,
    our_pid: u32,
) -> Result<Option<Duration>, String> {
    let Some(usec) = usec.filter(|usec| !usec.is_empty()) else {
        return Ok(None);
    };
    let Some(usec) = number(usec) else {
        return Err(format!(
            "{WATCHDOG_USEC_ENV}={usec:?} is not a number of microseconds: no watchdog pings"
        ));
    };
    if usec == 0 {
        return Ok(None);
    }
    if let Some(pid) = pid.filter(|pid| !pid.is_empty()) {
        let Some(pid) = number(pid) else {
            return Err(format!(
                "{WATCHDOG_PID_ENV}={pid:?} is not a process id: no watchdog pings"
            ));
        };
        if pid != u64::from(our_pid) {
            return Ok(None);
        }
    }
    Ok(Some(
        Duration::from_micros(usec / 2).max(Duration::from_millis(1)),
    ))
}

/// A decimal number, spaces around it ignored.
fn number(text: &OsStr) -> Option<u64> {
    text.to_str()?.trim().parse().ok()
}

/// The address `NOTIFY_SOCKET` names: an absolute path, or `@name` (abstract, Linux).
fn address(socket: &OsStr) -> io::Result<SocketAddr> {
    let bytes = socket.as_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            #[cfg(target_os = "android")]
            use std::os::android::net::SocketAddrExt;
            #[cfg(target_os = "linux")]
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(name);
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = name;
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "abstract sockets exist on Linux only",
            ));
        }
    }
    if bytes.starts_with(b"/") {
        return SocketAddr::from_pathname(socket);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "neither an absolute path nor an @abstract name",
    ))
}

/// The notify socket: an unbound, non-blocking datagram socket, and where to send.
struct Socket {
    socket: Option<(UnixDatagram, SocketAddr)>,
    /// The first error, until it is logged.
    error: OnceLock<String>,
    logged: AtomicBool,
    /// A malformed `WATCHDOG_USEC` or `WATCHDOG_PID`, until it is logged.
    malformed: Option<String>,
    malformed_logged: AtomicBool,
}

impl Socket {
    fn open(name: &OsStr, malformed: Option<String>) -> Self {
        let error = OnceLock::new();
        let opened = address(name).and_then(|addr| {
            let socket = UnixDatagram::unbound()?;
            socket.set_nonblocking(true)?;
            Ok((socket, addr))
        });
        let socket = match opened {
            Ok(opened) => Some(opened),
            Err(e) => {
                let _ = error.set(format!(
                    "systemd's {SOCKET_ENV}={name:?} cannot be used: {e}"
                ));
                None
            }
        };
        Self {
            socket,
            error,
            logged: AtomicBool::new(false),
            malformed,
            malformed_logged: AtomicBool::new(false),
        }
    }

    /// Sends one message: [`Sent::Full`] when systemd's queue is full (the caller queues it);
    /// any other error is recorded (the first one only), never logged here.
    fn try_send(&self, message: &str) -> Sent {
        let Some((socket, addr)) = &self.socket else {
            return Sent::Failed;
        };
        match socket.send_to_addr(message.as_bytes(), addr) {
            Ok(n) if n == message.len() => Sent::Delivered,
            Ok(n) => {
                self.failed(format!("{n} of {} bytes sent", message.len()), message);
                Sent::Failed
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Sent::Full,
            Err(e) => {
                self.failed(e.to_string(), message);
                Sent::Failed
            }
        }
    }

    fn failed(&self, error: String, message: &str) {
        let first_line = message.lines().next().unwrap_or_default();
        let _ = self.error.get_or_init(|| {
            format!("sending {first_line:?} to systemd's notify socket failed: {error}")
        });
    }

    /// Logs the first error, once (not from a listener). The notifier starts before `main`'s
    /// body, which is where programs install their `tracing` subscriber: until one is
    /// installed the error waits, and at the end (`last`) it is written to stderr if none
    /// ever was, so that it is neither lost nor hidden.
    /// A malformed watchdog variable is logged the same way, once.
    fn log_error(&self, last: bool) {
        let subscriber = !crate::process::no_subscriber();
        if !subscriber && !last {
            return;
        }
        if let Some(malformed) = &self.malformed {
            if !self.malformed_logged.swap(true, Ordering::AcqRel) {
                Self::log(subscriber, malformed);
            }
        }
        let Some(error) = self.error.get() else {
            return;
        };
        if self.logged.swap(true, Ordering::AcqRel) {
            return;
        }
        Self::log(
            subscriber,
            &format!("{error}; systemd notifications are best effort: this is not logged again"),
        );
    }

    /// A warning through `tracing`, or on stderr when no subscriber is installed.
    fn log(subscriber: bool, text: &str) {
        if subscriber {
            crate::lifecycle::log::log(|| tracing::warn!("{text}"));
        } else {
            use std::io::Write;
            // One write, its error ignored (`eprintln!` panics on a broken pipe).
            let _ = std::io::stderr().write_all(format!("canstop: {text}\n").as_bytes());
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Delivered,
    /// The receiver's queue is full (`net.unix.max_dgram_qlen`, 10 by default in the kernel,
    /// 512 where systemd's sysctl defaults apply): try again later.
    Full,
    /// Dropped (the error is recorded).
    Failed,
}

/// How many messages wait for room in systemd's queue at most; beyond, they are dropped.
const QUEUE_MAX: usize = 64;

/// How soon the task retries the messages that found systemd's queue full.
const RETRY_EVERY: Duration = Duration::from_millis(10);

/// At the end, how many times (a millisecond apart) the last messages are retried.
const FINAL_TRIES: u32 = 100;

/// Where the shutdown stands, as the events told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the trigger.
    Running,
    /// Triggered, neither delaying nor stopping yet.
    Triggered,
    /// The drain delay, until the stop.
    Delay { until: Instant },
    /// The stop and drain, until the deadline.
    Drain { deadline: Instant },
    /// The deadline passed: what is left is being aborted.
    Aborting,
    /// A second signal forced the exit.
    Forced(Signal),
}

struct Notified {
    stage: Stage,
    /// Bumped at each change of stage: a `STATUS=` line computed for an older one is dropped.
    generation: u64,
    ready_sent: bool,
    last_status: String,
    /// The final status was sent: nothing more is.
    done: bool,
    /// Messages that found systemd's queue full, in order: every later message waits behind
    /// them (pings excepted: a late ping is worth nothing, it is dropped).
    queue: VecDeque<String>,
}

impl Notified {
    /// Sends `message` in order: after those queued, or queued itself if the receiver is full.
    /// Returns whether something waits in the queue (the task must retry).
    fn send(&mut self, socket: &Socket, message: String) -> bool {
        if self.queue.is_empty() && socket.try_send(&message) != Sent::Full {
            return false;
        }
        if self.queue.len() < QUEUE_MAX {
            self.queue.push_back(message);
        } else {
            socket.failed("systemd's queue stayed full".into(), &message);
        }
        true
    }

    /// Sends what waits, in order, until the receiver is full again; returns whether
    /// something still waits.
    fn flush(&mut self, socket: &Socket) -> bool {
        while let Some(message) = self.queue.front() {
            if socket.try_send(message) == Sent::Full {
                return true;
            }
            self.queue.pop_front();
        }
        false
    }
}

/// The notifier of one tree: a [`Listener`] of its events, and the task that pings and keeps
/// `STATUS=` current.
pub(crate) struct Systemd {
    socket: Socket,
    ping_every: Option<Duration>,
    /// The tree's timeout, for the extension at the drain delay.
    timeout: Duration,
    state: Mutex<Notified>,
    /// Wakes the task to recompute the status.
    wake: Notify,
    stop: CancellationToken,
}

impl Systemd {
    /// Starts notifying for `root`'s tree if `NOTIFY_SOCKET` is set: subscribes to its events
    /// and spawns the notifier's task on its runtime (holding the tree weakly). `None`, having
    /// done nothing, when it is not set.
    pub(crate) fn start(root: &Arc<Node>) -> Option<Arc<Self>> {
        let config = Config::from_env()?;
        let systemd = Arc::new(Self {
            socket: Socket::open(&config.socket, config.malformed),
            ping_every: config.ping_every,
            timeout: root.tree.timeout,
            state: Mutex::new(Notified {
                stage: Stage::Running,
                generation: 0,
                ready_sent: false,
                last_status: String::new(),
                done: false,
                queue: VecDeque::new(),
            }),
            wake: Notify::new(),
            stop: CancellationToken::new(),
        });
        root.tree.events.subscribe(systemd.clone());
        let tree = Arc::downgrade(root);
        drop(root.tree.runtime.spawn(systemd.clone().run(tree)));
        Some(systemd)
    }

    /// The notifier's task: pings at the watchdog's period, recomputes the status at each
    /// wake-up and every [`STATUS_EVERY`].
    async fn run(self: Arc<Self>, tree: Weak<Node>) {
        use tokio::time::{interval, MissedTickBehavior};
        let mut status = interval(STATUS_EVERY);
        status.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // `Delay`, not `Burst`: after a stall the pings resume at the period, never in a burst
        // that would hide the stall from a receiver counting them.
        let mut ping = self.ping_every.map(|every| {
            let mut ping = interval(every);
            ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ping
        });
        loop {
            let waiting = lock(&self.state).flush(&self.socket);
            tokio::select! {
                biased;
                () = self.stop.cancelled() => return,
                () = tick(&mut ping) => self.ping(),
                () = self.wake.notified() => {}
                _ = status.tick() => {}
                () = tokio::time::sleep(RETRY_EVERY), if waiting => {}
            }
            // Every ping refreshes the status too (sent only when it changed); a tree that is
            // gone ends the task.
            if !self.refresh(&tree) {
                return;
            }
            self.socket.log_error(false);
        }
    }

    fn ping(&self) {
        let state = lock(&self.state);
        if !state.done && state.queue.is_empty() {
            // A ping that finds the queue full is dropped, not queued.
            let _ = self.socket.try_send("WATCHDOG=1");
        }
    }

    /// Sends the `STATUS=` line of the tree as it stands, if it changed; `false` when the tree
    /// is gone.
    fn refresh(&self, tree: &Weak<Node>) -> bool {
        let (stage, generation, ever_ready) = {
            let state = lock(&self.state);
            (state.stage, state.generation, state.ready_sent)
        };
        let Some(root) = tree.upgrade() else {
            return false;
        };
        let snapshot = snapshot(&root);
        drop(root);
        if stage == Stage::Running
            && matches!(snapshot.tree, TreePhase::Stopping | TreePhase::Stopped)
        {
            // The trigger's event is on its way: its `STOPPING=1` goes first.
            return true;
        }
        let text = status(stage, ever_ready, &snapshot, Instant::now());
        let mut state = lock(&self.state);
        if !state.done && state.generation == generation && state.last_status != text {
            state.send(&self.socket, format!("STATUS={text}"));
            state.last_status = text;
        }
        true
    }

    /// Moves to `stage` and sends `message` (if any), under the lock: in the events' order.
    fn enter(&self, stage: Stage, message: Option<String>) {
        let mut state = lock(&self.state);
        if state.done {
            return;
        }
        state.stage = stage;
        state.generation += 1;
        if let Some(message) = message {
            state.send(&self.socket, message);
        }
        drop(state);
        // The task recomputes the status (and retries what was queued).
        self.wake.notify_one();
    }

    /// The report is made: the last status, and the task ends. `last_words`: the exit
    /// enforcer's report, which replaces a status the root sent (the process exits with its
    /// code); the root's is sent only if nothing was.
    pub(crate) fn finish(&self, report: &Report, last_words: bool) {
        self.stop.cancel();
        let text = match report.mains_code() {
            Some(mains) => format!("stopped: clean; exit {} (main's)", mains.number()),
            None => format!("stopped: exit {}", report.exit_code()),
        };
        let mut state = lock(&self.state);
        // Once, or again from the exit enforcer when the report it writes ends with another
        // code (the root's report, made before the runtime's shutdown got stuck past the
        // deadline: the process exits 124, not what the root had said).
        if !state.done || (last_words && state.last_status != text) {
            state.done = true;
            state.last_status.clone_from(&text);
            let mut waiting = state.send(&self.socket, format!("STATUS={text}"));
            // The task is gone: what systemd's full queue refused is retried here, briefly
            // (this is the end of the program, bounded by the exit enforcer anyway).
            for _ in 0..FINAL_TRIES {
                if !waiting {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
                waiting = state.flush(&self.socket);
            }
            if waiting {
                self.socket
                    .failed("systemd's queue stayed full".into(), "the last messages");
            }
        }
        drop(state);
        self.socket.log_error(true);
    }
}

impl Drop for Systemd {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits for the next ping, or forever without a watchdog.
async fn tick(ping: &mut Option<tokio::time::Interval>) {
    match ping {
        Some(ping) => drop(ping.tick().await),
        None => std::future::pending().await,
    }
}

/// `EXTEND_TIMEOUT_USEC=` for `left` (plus the exit enforcer's fuse and a margin).
fn extend(left: Duration, fuse: Duration) -> String {
    let total = left.saturating_add(fuse).saturating_add(EXTEND_MARGIN);
    format!("EXTEND_TIMEOUT_USEC={}", total.as_micros())
}

impl Listener for Systemd {
    fn on(&self, event: &Event) {
        let now = Instant::now();
        match *event {
            Event::TreeReady => {
                let mut state = lock(&self.state);
                if !state.ready_sent && !state.done {
                    state.ready_sent = true;
                    // A status computed before `READY=1` ("starting: ...") is not sent after it.
                    state.generation += 1;
                    state.send(&self.socket, "READY=1".into());
                }
                drop(state);
                self.wake.notify_one();
            }
            Event::TreeNotReady | Event::Ready { .. } | Event::Restarting { .. } => {
                self.wake.notify_one();
            }
            Event::Triggered { .. } => self.enter(Stage::Triggered, Some("STOPPING=1".into())),
            Event::Draining { until, .. } => {
                let left = until.saturating_duration_since(now) + self.timeout;
                self.enter(Stage::Delay { until }, Some(extend(left, DEADLINE_FUSE)));
            }
            Event::Stopping { deadline } => {
                let left = deadline.saturating_duration_since(now);
                self.enter(Stage::Drain { deadline }, Some(extend(left, DEADLINE_FUSE)));
            }
            Event::DeadlineReached => self.enter(Stage::Aborting, None),
            Event::Forced { signal } => {
                // The same text the task computes for the stage: not sent twice.
                let text = forced(signal);
                let mut state = lock(&self.state);
                state.last_status.clone_from(&text);
                drop(state);
                self.enter(
                    Stage::Forced(signal),
                    Some(format!(
                        "STATUS={text}\n{}",
                        extend(Duration::ZERO, FORCE_FUSE)
                    )),
                );
            }
            _ => {}
        }
    }
}

/// The status after a second signal: sent at its event, and what the task computes then.
fn forced(signal: Signal) -> String {
    format!("forced by a second signal ({signal}): exiting")
}

/// Seconds, rounded up.
fn secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The `STATUS=` text for `stage` and the tree as `state` shows it (`ever_ready`: `READY=1`
/// was sent).
fn status(stage: Stage, ever_ready: bool, state: &State, now: Instant) -> String {
    let nodes = state.nodes();
    let services: Vec<_> = nodes
        .iter()
        .filter(|node| !node.path.is_empty() && !matches!(node.phase, Phase::Stopped { .. }))
        .collect();
    let ready = services
        .iter()
        .filter(|node| node.phase == Phase::Ready)
        .count();
    let (n, m) = (services.len(), state.live_sessions());
    let plural = |count: u64, one: &str| {
        if count == 1 {
            format!("{count} {one}")
        } else {
            format!("{count} {one}s")
        }
    };
    let (services, sessions) = (plural(n as u64, "service"), plural(m, "live session"));
    let mut text = String::new();
    let _ = match stage {
        Stage::Running => match state.tree {
            // Not "running" before `READY=1` went out (the snapshot may see the tree ready
            // before its event reached the listener).
            TreePhase::Ready if ever_ready => write!(text, "running: {services}, {sessions}"),
            TreePhase::Ready | TreePhase::NotReady if !ever_ready => {
                write!(text, "starting: {ready} of {services} ready, {sessions}")
            }
            // Not ready again: a service restarts.
            TreePhase::NotReady => {
                write!(
                    text,
                    "running, not ready: {ready} of {services} ready, {sessions}"
                )
            }
            _ => write!(text, "stopping: {services}, {sessions}"),
        },
        Stage::Triggered => match &state.trigger {
            Some(trigger) => write!(text, "stopping ({trigger}): {services}, {sessions}"),
            None => write!(text, "stopping: {services}, {sessions}"),
        },
        Stage::Delay { until } => write!(
            text,
            "draining (delay): {sessions}, {services}, stopping in {}s",
            secs(until.saturating_duration_since(now))
        ),
        Stage::Drain { deadline } => write!(
            text,
            "draining: {} left, {} left, deadline in {}s",
            plural(m, "session"),
            services,
            secs(deadline.saturating_duration_since(now))
        ),
        // Computed once the abort has begun: what is still live (dropped sessions are gone).
        Stage::Aborting if m == 0 => write!(text, "deadline reached: aborted what was left"),
        Stage::Aborting => write!(
            text,
            "deadline reached: aborting, {} still live",
            plural(m, "session")
        ),
        Stage::Forced(signal) => write!(text, "{}", forced(signal)),
    };
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(text: &str) -> Option<OsString> {
        Some(OsString::from(text))
    }

    #[test]
    fn nothing_without_a_socket() {
        assert_eq!(Config::from(None, os("200000"), None, 7), None);
        assert_eq!(Config::from(os(""), os("200000"), None, 7), None);
        let config = Config::from(os("/run/notify"), None, None, 7).unwrap();
        assert_eq!(config.ping_every, None);
    }

    /// Half of `WATCHDOG_USEC`, for this process only.
    #[test]
    fn the_watchdog_is_ours_or_not_at_all() {
        let every = |usec: &str, pid: Option<&str>| {
            ping_every(Some(OsStr::new(usec)), pid.map(OsStr::new), 7).unwrap_or_default()
        };
        assert_eq!(every("200000", None), Some(Duration::from_millis(100)));
        assert_eq!(every("200000", Some("7")), Some(Duration::from_millis(100)));
        assert_eq!(every("200000", Some("")), Some(Duration::from_millis(100)));
        assert_eq!(every("200000", Some("8")), None);
        assert_eq!(every("200000", Some("x")), None);
        assert_eq!(every("0", None), None);
        assert_eq!(every("-5", None), None);
        assert_eq!(every("soon", None), None);
        assert_eq!(ping_every(None, Some(OsStr::new("7")), 7), Ok(None));
        // Malformed: no pings, and why.
        let why = |usec: &str, pid: Option<&str>| {
            ping_every(Some(OsStr::new(usec)), pid.map(OsStr::new), 7).unwrap_err()
        };
        assert_eq!(
            why("soon", None),
            "WATCHDOG_USEC=\"soon\" is not a number of microseconds: no watchdog pings"
        );
        assert_eq!(
            why("200000", Some("x")),
            "WATCHDOG_PID=\"x\" is not a process id: no watchdog pings"
        );
    }

    #[test]
    fn paths_and_abstract_names() {
        let path = address(OsStr::new("/run/systemd/notify")).unwrap();
        assert_eq!(
            path.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
        assert!(address(OsStr::new("relative/notify")).is_err());
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let name = address(OsStr::new("@canstop/notify")).unwrap();
            assert_eq!(name.as_abstract_name(), Some(&b"canstop/notify"[..]));
        }
    }

    #[test]
    fn the_extension_covers_the_fuse_and_the_margin() {
        let message = extend(Duration::from_secs(10), DEADLINE_FUSE);
        let usec = Duration::from_secs(10) + DEADLINE_FUSE + EXTEND_MARGIN;
        assert_eq!(message, format!("EXTEND_TIMEOUT_USEC={}", usec.as_micros()));
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(secs(Duration::ZERO), 0);
        assert_eq!(secs(Duration::from_millis(1)), 1);
        assert_eq!(secs(Duration::from_secs(2)), 2);
        assert_eq!(secs(Duration::from_millis(2001)), 3);
    }
}
