//! The watchdog of a process-owning root ([`Root::block_on`](crate::Root::block_on) and
//! `#[canstop::main]`): a plain OS thread that ends the process when the tree does not stop by
//! its deadline (plus a grace), or soon after a second signal, even if every runtime thread is
//! blocked in synchronous code and no timer or task can run.
//!
//! It reacts to the tree's [events](crate::lifecycle::events) (stopping: armed at the deadline
//! plus a fuse; forced: armed shortly), and knows nothing of the tree itself: it reports what
//! the closure given to [`Watchdog::watch`] makes of it (the tree as things stand, with the
//! blocked services named as unresponsive). The report is written on a thread of its own, started a little
//! before the exit is due; the exit does not wait for it: a stderr that is closed, a broken
//! pipe or a full one, or a `tracing` subscriber that blocks or panics, cannot delay it.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::lifecycle::events::{Event, Listener};
use crate::lifecycle::grace::{DEADLINE_FUSE, FORCE_FUSE, FORCE_REPORT};
use crate::lifecycle::trigger::Signal;
use crate::report::{exit_code, Report};
use crate::sync::locking::lock;

/// Gives up on the tree and makes its report as things stand (`None` when the tree is gone).
pub(crate) type GiveUp = Box<dyn FnOnce() -> Option<Report> + Send>;

/// Told the report the watchdog writes, as it writes it (systemd's last `STATUS=`).
pub(crate) type LastWords = Box<dyn FnOnce(&Report) + Send>;

/// How long before the exit at the deadline the watchdog starts writing its report (after a
/// second signal: [`FORCE_REPORT`]).
const REPORT_AHEAD: Duration = Duration::from_millis(100);

/// How long [`last_words`] waits for the report to be written.
const LAST_WORDS_WAIT: Duration = Duration::from_millis(500);

/// Runs `write` (logging or printing the report before the process exits) on a thread of its
/// own, and waits for it at most [`LAST_WORDS_WAIT`]: a stderr or `tracing` subscriber that
/// blocks cannot hold the exit, one that panics cannot change the exit code.
pub(crate) fn last_words(write: impl FnOnce() + Send + 'static) {
    let (done, written) = std::sync::mpsc::channel();
    let spawned = thread::Builder::new()
        .name("canstop-last-words".into())
        .spawn(move || {
            let _ = catch_unwind(AssertUnwindSafe(write));
            let _ = done.send(());
        });
    if spawned.is_ok() {
        let _ = written.recv_timeout(LAST_WORDS_WAIT);
    }
}

/// The watchdog's handle (a [`Listener`] of the tree it watches).
#[derive(Clone)]
pub(crate) struct Watchdog {
    state: Arc<(Mutex<Phase>, Condvar)>,
    watched: Arc<Mutex<Watched>>,
    /// Who writes the report: the process prints one.
    claim: Arc<Claim>,
    /// What lives until the watchdog stands down (see [`hold`](Self::hold)).
    held: Arc<Mutex<Option<Box<dyn Send>>>>,
}

/// Taken by whoever writes the report, the watchdog or the root once disarmed; `written`
/// (with the exit code the written report gives) once the watchdog has written it, which the
/// root waits for (briefly) before it exits with that code.
#[derive(Default)]
struct Claim {
    taken: AtomicBool,
    written: (Mutex<Option<u8>>, Condvar),
}

/// What the watchdog reports if it fires.
#[derive(Default)]
struct Watched {
    /// The tree, while it runs: given up on and reported as things stand.
    give_up: Option<GiveUp>,
    /// The final report, once made: the watchdog then only waits for the runtime to shut down.
    report: Option<Report>,
    /// The report is written as one line of JSON (`CANSTOP_REPORT=json`), as the root would.
    json: bool,
    /// The second signal that armed the watchdog, if one did.
    forced: Option<Signal>,
    /// Who else hears of the report the watchdog writes.
    last_words: Option<LastWords>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Idle,
    Armed {
        at: Instant,
        /// When to start writing the report.
        report_at: Instant,
        code: u8,
        why: &'static str,
    },
    Done,
}

impl Watchdog {
    /// Starts the watchdog thread (idle until a tree is [`watch`](Self::watch)ed and armed).
    pub(crate) fn start() -> std::io::Result<Self> {
        let state = Arc::new((Mutex::new(Phase::Idle), Condvar::new()));
        let watched = Arc::new(Mutex::new(Watched::default()));
        let claim = Arc::new(Claim::default());
        let dog = Self {
            state: state.clone(),
            watched: watched.clone(),
            claim: claim.clone(),
            held: Arc::default(),
        };
        thread::Builder::new()
            .name("canstop-watchdog".into())
            .spawn(move || watch(&state, &watched, &claim))?;
        Ok(dog)
    }

    /// Watches a tree: if it fires before the report is made, `give_up` makes one.
    pub(crate) fn watch(&self, give_up: GiveUp) {
        lock(self.watched.as_ref()).give_up = Some(give_up);
    }

    /// `last_words` hears of the report the watchdog writes, if it writes one (systemd's
    /// notifier, whose task cannot run on a wedged runtime, sends its last `STATUS=`).
    #[cfg(all(feature = "systemd", unix))]
    pub(crate) fn on_report_written(&self, last_words: LastWords) {
        lock(self.watched.as_ref()).last_words = Some(last_words);
    }

    /// A report the watchdog writes is one line of JSON, as `CANSTOP_REPORT=json` asks the
    /// root's to be (feature `serde`).
    pub(crate) fn write_json(&self) {
        lock(self.watched.as_ref()).json = true;
    }

    /// The tree's report is made; what is left is the runtime's shutdown, which stays bounded
    /// by the armed deadline. If the watchdog fires now, it prints this report.
    pub(crate) fn report_made(&self, report: &Report) {
        let mut watched = lock(self.watched.as_ref());
        watched.report = Some(report.clone());
        watched.give_up = None;
    }

    /// The tree's deadline is `deadline`: end the process if it is still running a grace
    /// after it.
    pub(crate) fn arm_deadline(&self, deadline: Instant) {
        // A deadline decades away (a huge timeout) never overflows: it just never fires.
        let Some(at) = deadline.checked_add(DEADLINE_FUSE) else {
            return;
        };
        self.arm(
            at,
            at.checked_sub(REPORT_AHEAD).unwrap_or(at),
            exit_code::TIMED_OUT,
            "the tree did not stop by its deadline (a thread is blocked in synchronous code?)",
        );
    }

    /// A second signal: end the process shortly (reporting first if the root has not).
    pub(crate) fn arm_forced(&self, signal: Signal) {
        lock(self.watched.as_ref()).forced.get_or_insert(signal);
        let now = Instant::now();
        self.arm(
            now + FORCE_FUSE,
            now + FORCE_REPORT,
            exit_code::FORCED_BASE + signal.number(),
            "a second signal forced the exit",
        );
    }

    fn arm(&self, at: Instant, report_at: Instant, code: u8, why: &'static str) {
        let (phase, wake) = &*self.state;
        let mut phase = lock(phase);
        match *phase {
            Phase::Done => {}
            // An earlier alarm stays.
            Phase::Armed { at: armed, .. } if armed <= at => {}
            _ => {
                *phase = Phase::Armed {
                    at,
                    report_at,
                    code,
                    why,
                }
            }
        }
        wake.notify_one();
    }

    /// Keeps `what` alive until the watchdog stands down ([`disarm`](Self::disarm)): the
    /// signal listener, so that a second signal while the runtime shuts down after the
    /// report is still a forced exit that prints it (the default action would kill the
    /// process with no report).
    pub(crate) fn hold(&self, what: Box<dyn Send>) {
        *lock(self.held.as_ref()) = Some(what);
    }

    /// The tree has stopped: the watchdog stands down. Returns `Ok` when the caller is to write
    /// the report, or `Err(code)` when the watchdog has written it already (it fired while the
    /// runtime was shutting down), so that the process prints one report and exits with the
    /// code that report gives. It then waits (at most [`LAST_WORDS_WAIT`]) until the watchdog
    /// has written it, so that the exit does not cut it off.
    pub(crate) fn disarm(&self) -> Result<(), u8> {
        let (phase, wake) = &*self.state;
        *lock(phase) = Phase::Done;
        wake.notify_one();
        drop(lock(self.held.as_ref()).take());
        if !self.claim.taken.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let (written, done) = &self.claim.written;
        let written = done
            .wait_timeout_while(lock(written), LAST_WORDS_WAIT, |written| written.is_none())
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        Err(written.unwrap_or(self.armed_code()))
    }

    /// The code the watchdog was armed with (its exit code), or `FAILED` if it was not armed.
    fn armed_code(&self) -> u8 {
        match *lock(&self.state.0) {
            Phase::Armed { code, .. } => code,
            Phase::Idle | Phase::Done => exit_code::FAILED,
        }
    }
}

impl Listener for Watchdog {
    fn on(&self, event: &Event) {
        match *event {
            // Armed at the drain delay with the latest deadline (a runtime that blocks during
            // the delay never publishes `Stopping`), and again at the stop.
            Event::Draining { deadline, .. } | Event::Stopping { deadline } => {
                self.arm_deadline(deadline);
            }
            Event::Forced { signal } => self.arm_forced(signal),
            _ => {}
        }
    }
}

fn watch(state: &(Mutex<Phase>, Condvar), watched: &Arc<Mutex<Watched>>, claim: &Arc<Claim>) {
    let (phase, wake) = state;
    let mut current = lock(phase);
    let mut reporting = false;
    loop {
        match *current {
            Phase::Done => return,
            Phase::Idle => {
                current = wake.wait(current).unwrap_or_else(PoisonError::into_inner);
            }
            Phase::Armed {
                at,
                report_at,
                code,
                why,
            } => {
                let now = Instant::now();
                if now >= at {
                    // The code of the report written, if it was (they agree but for a report
                    // the root made before the signal: then the report's).
                    let written = *lock(&claim.written.0);
                    std::process::exit(i32::from(written.unwrap_or(code)));
                }
                // The report goes out ahead; the exit itself waits for nothing.
                if now >= report_at && !reporting {
                    reporting = true;
                    report(watched, claim, code, why);
                }
                let until = if reporting { at } else { report_at };
                current = wake
                    .wait_timeout(current, until - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
}

/// Gives up on the tree and reports what is known, on a thread of its own: to stderr, and
/// through `tracing`. Neither may block or panic the watchdog. Nothing is written if the
/// root, disarming the watchdog meanwhile, took the report on.
fn report(watched: &Arc<Mutex<Watched>>, claim: &Arc<Claim>, code: u8, why: &'static str) {
    let (watched, claim) = (watched.clone(), claim.clone());
    let _ = thread::Builder::new()
        .name("canstop-watchdog-report".into())
        .spawn(move || {
            let (give_up, made, json, forced, last_words) = {
                let mut watched = lock(watched.as_ref());
                let json = watched.json;
                (
                    watched.give_up.take(),
                    watched.report.take(),
                    json,
                    watched.forced,
                    watched.last_words.take(),
                )
            };
            let (report, why) = match made {
                Some(made) if forced.is_some() => (
                    Some(made),
                    "a second signal while the runtime shut down after the report",
                ),
                Some(made) => (
                    Some(made),
                    "the runtime did not shut down in time after the report (a `Drop` that blocks?)",
                ),
                None => (give_up.and_then(|give_up| give_up()), why),
            };
            // The process ends at the watchdog's fuse (past the deadline), or soon after a
            // second signal: the report says which (read back, as JSON, it gives the code the
            // process exits with), whether the root made it or the watchdog gave up.
            let report = report.map(|mut report| {
                match forced {
                    Some(signal) => report.forced = report.forced.or(Some(signal)),
                    None => report.deadline_reached = true,
                }
                report
            });
            let code = report.as_ref().map_or(code, Report::exit_code);
            let text = match &report {
                // One line of JSON, as the root would have written, the reason in it.
                #[cfg(feature = "serde")]
                Some(report) if json => {
                    let why = serde_json::to_string(why).unwrap_or_default();
                    let line = report.to_json();
                    format!("{{\"watchdog\":{why},{}\n", line.trim_start_matches('{'))
                }
                Some(report) => format!("canstop: {why}; exiting with {code}\n{report}\n"),
                None => format!("canstop: {why}; exiting with {code}\n"),
            };
            if claim.taken.swap(true, Ordering::AcqRel) {
                return;
            }
            // One write, whose error (a broken pipe) is ignored; `eprintln!` would panic.
            let _ = std::io::stderr().write_all(text.as_bytes());
            if let (Some(report), Some(last_words)) = (&report, last_words) {
                let _ = catch_unwind(AssertUnwindSafe(|| last_words(report)));
            }
            if let Some(report) = report.filter(|_| !json) {
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    tracing::error!(
                        target: "canstop::report",
                        "{why}; exiting with {code}\n{report}"
                    );
                }));
            }
            let (written, done) = &claim.written;
            *lock(written) = Some(code);
            done.notify_all();
        });
}
