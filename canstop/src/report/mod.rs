//! The report: what triggered the shutdown, how every service stopped, and what every kind of
//! session did. Returned by [`Root::run`](crate::Root::run), logged through `tracing` by the
//! generated `main`, and turned into the process's exit code.
//!
//! - this file: [`Report`] and everything in it, its exit code, its text;
//! - [`state`]: the live [`State`](crate::State) snapshot of the tree, at any moment;
//! - `metrics` (feature `metrics`): the counts through the `metrics` facade, from state
//!   snapshots and from the report;
//! - `serde_impls` (feature `serde`): what the derives cannot do (interned session kinds,
//!   exit codes).

use std::fmt;
use std::time::Duration;

use crate::lifecycle::trigger::{Signal, Trigger};
use crate::session::kind::SessionKind;

#[cfg(feature = "metrics")]
pub(crate) mod metrics;
#[cfg(feature = "serde")]
mod serde_impls;
pub(crate) mod state;

/// The process exit codes canstop uses.
///
/// | code | meaning |
/// |---|---|
/// | 0 | everything stopped cleanly |
/// | 1 | a failure: `main` or a service returned an error or panicked, or a session panicked |
/// | 78 | bad configuration at start-up (for example a malformed `CANSTOP_SHUTDOWN_TIMEOUT` or `CANSTOP_REPORT`) |
/// | 124 | the deadline was reached: something was aborted or abandoned (not a session the program cancelled through its handle) |
/// | 128 + n | a second signal `n` forced the exit during the drain (130 for SIGINT, 143 for SIGTERM) |
///
/// When several apply, the later rows win. A session returning `Err` is counted and logged but
/// does not by itself make the exit non-zero: it is one request's outcome, not the program's.
pub mod exit_code {
    /// Everything stopped cleanly.
    pub const CLEAN: u8 = 0;
    /// A service or `main` failed or panicked, or a session panicked.
    pub const FAILED: u8 = 1;
    /// The start-up configuration was rejected (`EX_CONFIG` from sysexits.h).
    pub const CONFIG: u8 = 78;
    /// The deadline was reached and something was aborted or abandoned.
    pub const TIMED_OUT: u8 = 124;
    /// Added to the signal's number when a second signal forces the exit.
    pub const FORCED_BASE: u8 = 128;
}

/// The whole shutdown, as it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Report {
    /// What started the shutdown.
    pub trigger: Trigger,
    /// How `main`'s body (the body given to [`Root::run`](crate::Root::run)) ended: its error
    /// or panic is kept whatever triggered the shutdown.
    pub main: MainOutcome,
    /// The exit code `main`'s body returned (`async fn main() -> ExitCode`), when other than
    /// `SUCCESS`: the process exits with it when the tree stopped cleanly
    /// ([`process_exit_code`](Self::process_exit_code)).
    pub main_exit_code: Option<MainExitCode>,
    /// The top-level services, each with its children (beyond [`KEPT_STOPPED`] stopped ones,
    /// folded per name into [`folded`](Self::folded)).
    pub services: Vec<ServiceReport>,
    /// Top-level services that had stopped while more than [`KEPT_STOPPED`] stopped ones were
    /// kept already, summed per name: their counts are exact, their details are not kept.
    pub folded: Vec<FoldedServices>,
    /// Every kind of session in the tree, summed over the scopes it ran in.
    pub sessions: Vec<SessionStats>,
    /// From the stop (the trigger, or the end of its drain delay) until everything stopped or
    /// was given up on.
    pub stop_time: Duration,
    /// The tree's drain timeout that applied.
    pub timeout: Duration,
    /// Whether the drain hit the deadline anywhere in the tree.
    pub deadline_reached: bool,
    /// The second signal that cut the drain short, if one did.
    pub forced: Option<Signal>,
    /// The trigger was a failure before the tree was ever ready (`main`'s body returned `Ok`
    /// and every service was ready): the start-up failed, and what had started was stopped
    /// in reverse start order.
    pub startup_failed: bool,
    /// The drain delay the tree waited after the signal that triggered it, before its stop
    /// (cut short by a failure or a second signal); `None` when no delay applied.
    /// [`stop_time`](Self::stop_time) and [`timeout`](Self::timeout) count from its end.
    pub drain_delay: Option<Duration>,
    /// What cut the drain delay short: a failure (a service's, `main`'s) or
    /// `canstop::shutdown()` during it. `None` when it ran its length, or ended because the
    /// run did, or was forced by a second signal ([`forced`](Self::forced)).
    #[cfg_attr(feature = "serde", serde(default))]
    pub drain_delay_cut_by: Option<Trigger>,
}

/// How one service stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ServiceReport {
    /// Its name.
    pub name: String,
    /// Its path from the root, names joined by `/`.
    pub path: String,
    /// How its body ended.
    pub outcome: ServiceOutcome,
    /// From its stop request (or its own end, when it ended first) until its body, sessions
    /// and children had all stopped; `None` when it never reported (unresponsive).
    pub stop_time: Option<Duration>,
    /// Its child services.
    pub children: Vec<ServiceReport>,
    /// Child services folded per name (see [`Report::folded`]).
    pub folded: Vec<FoldedServices>,
    /// The sessions that ran in its scope, per kind.
    pub sessions: Vec<SessionStats>,
    /// How many times its restart policy started it again.
    pub restarts: u64,
    /// The early ends its restart policy handled (each led to a restart, or to giving up):
    /// the last [`FAILURES_KEPT`] of them.
    pub failures: Vec<Failure>,
    /// How many early ends its restart policy handled in all (`failures` keeps the last few).
    pub failure_count: u64,
    /// Whether its failure escalated: to the nearest ancestor that restarts, or as the
    /// shutdown's trigger (a `Never` policy, too many failures within the window, or an
    /// [`Escalate`](crate::Escalate) error).
    pub escalated: bool,
    /// The path of the restarting ancestor its failure escalated to, which handled it (its
    /// instance failed with it and its policy applied): such a failure does not by itself
    /// make the exit code non-zero ([`is_handled`](Self::is_handled)). `None` when it did not
    /// escalate, or escalated as the shutdown's trigger.
    pub escalated_to: Option<String>,
    /// The path of the restarting ancestor whose restart it was stopping for when it failed
    /// (the ancestor's instance had ended, by a failure of its own or of another child; its
    /// children stop before its next instance starts). That failure belongs to the restart
    /// and is handled by it: it does not by itself make the exit code non-zero. Several
    /// children that fail at once under one restarting service are reported so: the first
    /// escalates ([`escalated_to`](Self::escalated_to)), the others fail while stopping for
    /// the restart it caused. `None` otherwise.
    #[cfg_attr(feature = "serde", serde(default))]
    pub taken_by_restart_of: Option<String>,
}

impl ServiceReport {
    /// Whether its outcome is a failure that a restarting ancestor handled (see
    /// [`escalated_to`](Self::escalated_to) and
    /// [`taken_by_restart_of`](Self::taken_by_restart_of)).
    #[must_use]
    pub fn is_handled(&self) -> bool {
        (self.escalated_to.is_some() || self.taken_by_restart_of.is_some())
            && matches!(
                self.outcome,
                ServiceOutcome::Failed { .. } | ServiceOutcome::Panicked { .. }
            )
    }
}

/// How many of a service's handled failures its report keeps (the last ones; the count is
/// exact).
pub const FAILURES_KEPT: usize = 8;

/// One instance of a service that ended before it was told to stop, handled by its restart
/// policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Failure {
    /// When it ended, from the service's start.
    pub at: Duration,
    /// How long that instance had run.
    pub ran_for: Duration,
    /// How it ended: the error, `panicked: <message>`, or `returned Ok before being told to
    /// stop` (under `restart = "always"`).
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at {:?} (after running {:?}): {}",
            self.at,
            self.ran_for,
            Escaped(&self.message)
        )
    }
}

/// How a service's body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ServiceOutcome {
    /// It returned `Ok` after being told to stop (or was dropped at its stop, for a body that
    /// takes no `Shutdown`).
    Stopped,
    /// It returned `Ok` before it was told to stop.
    EndedEarly,
    /// It returned an error; `early` when that happened before it was told to stop.
    Failed {
        /// The error's message.
        error: String,
        /// Whether it failed before being told to stop.
        early: bool,
    },
    /// It panicked; `early` when that happened before it was told to stop.
    Panicked {
        /// The panic's message.
        message: String,
        /// Whether it panicked before being told to stop.
        early: bool,
    },
    /// It was still running at its deadline and was dropped.
    Aborted,
    /// It was still running when a second signal cut the drain short, and was dropped.
    Forced,
    /// It was running when [`Root::run`](crate::Root::run)'s future was dropped before its
    /// end (under a `timeout` or a `select!`), which aborted the tree: what
    /// [`Scope::state`](crate::Scope::state) shows afterwards (no report is made).
    RunDropped,
    /// Its task did not get to run by the deadline (a worker thread blocked in synchronous
    /// code, for instance); it was given up on.
    Unresponsive,
    /// It was waiting to be restarted (its last instance had failed, and its restart policy
    /// had scheduled a restart) when it was told to stop: the restart was cancelled. Clean:
    /// the failure was handled, and is in [`ServiceReport::failures`].
    RestartCancelled {
        /// How its last instance ended.
        last: String,
    },
    /// It was told to stop while it waited for the services it [needs](crate::Service::needs)
    /// to be ready: its body was never built. Clean (if a service it needs failed, that
    /// failure is in the report).
    NotStarted,
}

impl ServiceOutcome {
    /// Stopped, ended early with `Ok`, or stopped while waiting to restart.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            Self::Stopped | Self::EndedEarly | Self::RestartCancelled { .. } | Self::NotStarted
        )
    }

    /// Aborted (at a deadline or by a second signal) or given up on.
    pub fn is_aborted(&self) -> bool {
        matches!(self, Self::Aborted | Self::Forced | Self::Unresponsive)
    }
}

/// The [`ExitCode`](std::process::ExitCode) `main`'s body returned (one other than
/// `SUCCESS`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MainExitCode(pub std::process::ExitCode);

// `ExitCode` compares the exit statuses it holds: an equivalence.
impl Eq for MainExitCode {}

impl MainExitCode {
    /// The code as a number: the `u8` it was made from (`ExitCode` cannot be read back, but
    /// it is only ever made from a `u8`: found by comparison).
    ///
    /// ```
    /// let code = canstop::MainExitCode(std::process::ExitCode::from(3));
    /// assert_eq!(code.number(), 3);
    /// ```
    #[must_use]
    pub fn number(self) -> u8 {
        (0..=u8::MAX)
            .find(|&n| std::process::ExitCode::from(n) == self.0)
            .unwrap_or(exit_code::FAILED)
    }
}

/// How `main`'s body ended (the body of `#[canstop::main]`, `#[canstop::test]` or
/// [`Root::run`](crate::Root::run)).
///
/// # The rule
///
/// The body runs until it returns. A trigger that the body did not raise itself (a signal, a
/// failing service, a call from elsewhere in the tree) drops it at the stop
/// ([`DroppedAtStop`](Self::DroppedAtStop)): set-up code has no business delaying a shutdown.
/// A body that raised the trigger itself ([`canstop::shutdown()`](fn@crate::shutdown) from
/// inside it) is *not* cut off: it runs to its end, bounded by the tree's deadline, so that
/// "trigger, wait, assert" is sound in tests. Its error or panic is kept either way, and makes
/// the exit code non-zero, whatever triggered the shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum MainOutcome {
    /// It returned `()` or `Ok`.
    Returned,
    /// It was still running when a trigger it did not raise stopped the tree, and was dropped.
    DroppedAtStop,
    /// It returned an error (its `Debug` text).
    Failed {
        /// The error, as `Debug` shows it.
        error: String,
    },
    /// It panicked, in a poll or while being dropped.
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// It was still running at the tree's deadline and was dropped.
    Aborted,
    /// It was still running when a second signal cut the drain short, and was dropped.
    Forced,
    /// It had not ended when the report was made: the watchdog's report, made while its
    /// thread was blocked (or before its task was polled again).
    Unresponsive,
}

impl MainOutcome {
    /// Returned `Ok`, or dropped at a stop it did not ask for.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        matches!(self, Self::Returned | Self::DroppedAtStop)
    }

    /// Returned an error or panicked.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed { .. } | Self::Panicked { .. })
    }

    /// Aborted (at the deadline or by a second signal) or given up on.
    pub fn is_aborted(&self) -> bool {
        matches!(self, Self::Aborted | Self::Forced | Self::Unresponsive)
    }
}

/// How many stopped child services a scope keeps in full in its report; those that stop
/// after that are folded per name into a [`FoldedServices`], so that a program that starts
/// and stops services all day keeps a bounded report (and retains nothing per service).
pub const KEPT_STOPPED: usize = 64;

/// Stopped services of one name, beyond the [`KEPT_STOPPED`] kept in full: exact counts of
/// how they ended, their sessions summed per kind, and a sample of their errors.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct FoldedServices {
    /// Their name (`*` for [`other_names`](Self::other_names)).
    pub name: String,
    /// Their path from the root (the same for every one of them; `parent/*` for
    /// [`other_names`](Self::other_names)).
    pub path: String,
    /// Whether this group holds the stopped services of every name beyond the first 64 names
    /// folded in the scope, so that the report stays bounded whatever the names.
    pub other_names: bool,
    /// How many were folded.
    pub count: u64,
    /// Stopped cleanly or ended early with `Ok`.
    pub clean: u64,
    /// Failed with an error.
    pub failed: u64,
    /// Panicked.
    pub panicked: u64,
    /// Failed or panicked, and a restarting ancestor handled the failure (not counted in
    /// `failed` or `panicked`; see [`ServiceReport::escalated_to`]).
    pub handled: u64,
    /// Aborted at a deadline, by a second signal, or given up on.
    pub aborted: u64,
    /// The first few errors and panics.
    pub errors: Vec<String>,
    /// Their sessions (and their children's), per kind.
    pub sessions: Vec<SessionStats>,
    /// How many child services (at any depth) they had, in total.
    pub descendants: u64,
    /// Of those, how many failed or panicked.
    pub descendants_failed: u64,
    /// Of those, how many were aborted or given up on.
    pub descendants_aborted: u64,
}

impl FoldedServices {
    pub(crate) fn new(name: String, path: String, other_names: bool) -> Self {
        Self {
            name,
            path,
            other_names,
            count: 0,
            clean: 0,
            failed: 0,
            panicked: 0,
            handled: 0,
            aborted: 0,
            errors: Vec::new(),
            sessions: Vec::new(),
            descendants: 0,
            descendants_failed: 0,
            descendants_aborted: 0,
        }
    }

    /// Adds one service that stopped cleanly, with no session and no child: what
    /// [`add`](Self::add) does with its report.
    pub(crate) fn add_clean(&mut self) {
        self.count += 1;
        self.clean += 1;
    }

    /// Adds one stopped service (and its subtree) to the group.
    pub(crate) fn add(&mut self, report: &ServiceReport) {
        self.count += 1;
        let mut keep = |error: String| {
            if self.errors.len() < crate::session::sessions::ERRORS_KEPT {
                self.errors.push(error);
            }
        };
        match &report.outcome {
            outcome if outcome.is_clean() => self.clean += 1,
            ServiceOutcome::Failed { error, .. } if report.is_handled() => {
                self.handled += 1;
                keep(error.clone());
            }
            ServiceOutcome::Panicked { message, .. } if report.is_handled() => {
                self.handled += 1;
                keep(format!("panicked: {message}"));
            }
            ServiceOutcome::Failed { error, .. } => {
                self.failed += 1;
                keep(error.clone());
            }
            ServiceOutcome::Panicked { message, .. } => {
                self.panicked += 1;
                keep(format!("panicked: {message}"));
            }
            _ => self.aborted += 1,
        }
        fn subtree(folded: &mut FoldedServices, report: &ServiceReport) {
            for stats in &report.sessions {
                crate::session::sessions::merge_into(&mut folded.sessions, stats);
            }
            for child in &report.children {
                folded.descendants += 1;
                if child.outcome.is_aborted() {
                    folded.descendants_aborted += 1;
                } else if !child.outcome.is_clean() && !child.is_handled() {
                    folded.descendants_failed += 1;
                }
                subtree(folded, child);
            }
            for group in &report.folded {
                folded.descendants += group.count + group.descendants;
                folded.descendants_failed +=
                    group.failed + group.panicked + group.descendants_failed;
                folded.descendants_aborted += group.aborted + group.descendants_aborted;
                for stats in &group.sessions {
                    crate::session::sessions::merge_into(&mut folded.sessions, stats);
                }
            }
        }
        subtree(self, report);
    }
}

/// What the sessions of one kind did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SessionStats {
    /// The kind: name and source location.
    pub kind: SessionKind,
    /// Admitted and started.
    pub started: u64,
    /// Returned `()` or `Ok`.
    pub finished: u64,
    /// Returned `Err`.
    pub failed: u64,
    /// Panicked.
    pub panicked: u64,
    /// Aborted: at the deadline, by a second signal, or cancelled by the program (includes
    /// `abandoned`, `unresponsive` and `cancelled`).
    pub aborted: u64,
    /// Blocking work still running at the deadline, which cannot be aborted and was left
    /// behind when the process exited. Part of `aborted`.
    pub abandoned: u64,
    /// Sessions aborted at the deadline that were still alive when the report was made: not
    /// dropped within the grace after the abort, because their thread was blocked inside a
    /// poll of their body (synchronous code), or because the runtime's threads were too busy
    /// or blocked to get to them all in time (hundreds of thousands of sessions on a few
    /// threads, or every thread blocked). Their body is dropped when their task next runs, and
    /// whatever it returns is not counted again. Part of `aborted`.
    pub unresponsive: u64,
    /// Sessions the program cancelled before any deadline: aborted through their
    /// [`SessionHandle`](crate::SessionHandle), or dropped by their runtime outside a stop.
    /// Part of `aborted`; unlike the rest of it, they do not make the exit code 124 (nothing
    /// was cut off: the program chose to).
    #[cfg_attr(feature = "serde", serde(default))]
    pub cancelled: u64,
    /// The first error and panic messages, up to 8 (the counts are exact, the messages a
    /// sample: the report's text says how many more there were).
    pub errors: Vec<String>,
}

impl SessionStats {
    pub(crate) fn new(kind: SessionKind) -> Self {
        Self {
            kind,
            started: 0,
            finished: 0,
            failed: 0,
            panicked: 0,
            aborted: 0,
            abandoned: 0,
            unresponsive: 0,
            cancelled: 0,
            errors: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, other: &Self) {
        self.started += other.started;
        self.finished += other.finished;
        self.failed += other.failed;
        self.panicked += other.panicked;
        self.aborted += other.aborted;
        self.abandoned += other.abandoned;
        self.unresponsive += other.unresponsive;
        self.cancelled += other.cancelled;
        let room = crate::session::sessions::ERRORS_KEPT.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.iter().take(room).cloned());
    }

    /// `finished + failed + panicked + aborted`: equal to `started` once the scope is drained.
    pub fn ended(&self) -> u64 {
        self.finished + self.failed + self.panicked + self.aborted
    }

    /// Aborted at a deadline or by a second signal: `aborted` less what the program
    /// [`cancelled`](Self::cancelled) itself.
    pub fn cut(&self) -> u64 {
        self.aborted.saturating_sub(self.cancelled)
    }
}

impl Report {
    /// The process exit code; see [`exit_code`] for the table. Derived from the outcomes
    /// alone: what ended how, never how long it took.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if let Some(signal) = self.forced {
            return exit_code::FORCED_BASE + signal.number();
        }
        let services = self.all_services();
        let folded = self.all_folded();
        let timed_out = self.deadline_reached
            || self.main.is_aborted()
            || self.sessions.iter().any(|stats| stats.cut() > 0)
            || services.iter().any(|service| service.outcome.is_aborted())
            || folded
                .iter()
                .any(|folded| folded.aborted + folded.descendants_aborted > 0);
        if timed_out {
            return exit_code::TIMED_OUT;
        }
        let failed = self.trigger.is_failure()
            || self.main.is_failure()
            || self.sessions.iter().any(|stats| stats.panicked > 0)
            || services
                .iter()
                .any(|service| !service.outcome.is_clean() && !service.is_handled())
            || folded
                .iter()
                .any(|folded| folded.failed + folded.panicked + folded.descendants_failed > 0);
        if failed {
            exit_code::FAILED
        } else {
            exit_code::CLEAN
        }
    }

    /// The code the process exits with: [`exit_code`](Self::exit_code), or, when that is
    /// 0, the exit code `main`'s body returned ([`main_exit_code`](Self::main_exit_code)).
    #[must_use]
    pub fn process_exit_code(&self) -> std::process::ExitCode {
        match self.mains_code() {
            Some(code) => code.0,
            None => std::process::ExitCode::from(self.exit_code()),
        }
    }

    /// `main`'s own exit code when it is the process's: `main` returned one and the tree is
    /// clean.
    pub(crate) fn mains_code(&self) -> Option<MainExitCode> {
        self.main_exit_code
            .filter(|_| self.exit_code() == exit_code::CLEAN)
    }

    /// Logs the report through `tracing` (target `canstop::report`): at `INFO` when clean, at
    /// `WARN` when clean but `main` returned an exit code of its own (the process's), at
    /// `ERROR` otherwise. A subscriber that panics does not lose it: it is then written to
    /// stderr.
    pub fn log(&self) {
        let logged = crate::lifecycle::log::log(|| {
            if self.mains_code().is_some() {
                // Clean, but the process exits with main's own code.
                tracing::warn!(target: "canstop::report", "{self}");
            } else if self.exit_code() == exit_code::CLEAN {
                tracing::info!(target: "canstop::report", "{self}");
            } else {
                tracing::error!(target: "canstop::report", "{self}");
            }
        });
        if !logged {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "{self}");
        }
    }

    /// The report as one line of JSON (feature `serde`): what `CANSTOP_REPORT=json` prints.
    /// It reads back with `serde_json::from_str::<Report>` into an equal report; durations
    /// are serde's `{"secs", "nanos"}`, exact. Its first field (the second, after its reason,
    /// in the line the exit enforcer writes), `"exit_code"`, is the code the
    /// process exits with (what [`process_exit_code`](Self::process_exit_code) gives: `main`'s
    /// own, when it returned one and the tree is clean), for a consumer that is not Rust (`jq
    /// .exit_code`); it is computed, not read back (the report read back computes it again).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let report = canstop::Root::new()
    ///     .signals(false)
    ///     .run(async { canstop::shutdown() })
    ///     .await
    ///     .unwrap();
    /// let line = report.to_json();
    /// assert!(!line.contains('\n'));
    /// assert!(line.starts_with("{\"exit_code\":0,"));
    /// let back: canstop::Report = serde_json::from_str(&line).unwrap();
    /// assert_eq!(back, report);
    /// # }
    /// ```
    #[cfg(feature = "serde")]
    pub fn to_json(&self) -> String {
        let code = self
            .mains_code()
            .map_or_else(|| self.exit_code(), MainExitCode::number);
        match serde_json::to_string(self) {
            Ok(fields) => format!("{{\"exit_code\":{code},{}", &fields[1..]),
            // Not reached: every field is a string, a number, a list or a struct.
            Err(error) => {
                serde_json::json!({ "exit_code": code, "error": error.to_string() }).to_string()
            }
        }
    }

    /// Whether everything stopped cleanly (exit code 0).
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.exit_code() == exit_code::CLEAN
    }

    /// Every service in the tree, parents before their children.
    #[must_use]
    pub fn all_services(&self) -> Vec<&ServiceReport> {
        let mut all = Vec::new();
        self.walk(&mut |service| all.push(service));
        all
    }

    /// The service at `path` (names joined by `/`).
    #[must_use]
    pub fn service(&self, path: &str) -> Option<&ServiceReport> {
        self.all_services()
            .into_iter()
            .find(|service| service.path == path)
    }

    /// The counts of the sessions named `name`, summed over every location with that name.
    #[must_use]
    pub fn sessions_named(&self, name: &str) -> Option<SessionStats> {
        let mut matching = self.sessions.iter().filter(|s| s.kind.name() == name);
        let mut total = matching.next()?.clone();
        for stats in matching {
            total.add(stats);
        }
        Some(total)
    }

    /// Every error and panic of a service, as `(path, message)`: all of them, not only the
    /// one that triggered the shutdown.
    ///
    /// A restarted service gives each handled failure it kept ([`ServiceReport::failures`]),
    /// then its final outcome's error when that is not the last of them.
    #[must_use]
    pub fn service_errors(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        for service in self.all_services() {
            let path = &service.path;
            for failure in &service.failures {
                errors.push((path.clone(), failure.message.clone()));
            }
            let last = match &service.outcome {
                ServiceOutcome::Failed { error, .. } => error.clone(),
                ServiceOutcome::Panicked { message, .. } => format!("panicked: {message}"),
                _ => continue,
            };
            if service.failures.last().map(|failure| &failure.message) != Some(&last) {
                errors.push((path.clone(), last));
            }
        }
        errors
    }

    /// Every folded group of services in the tree (see [`Report::folded`]).
    pub fn all_folded(&self) -> Vec<&FoldedServices> {
        let mut all: Vec<&FoldedServices> = self.folded.iter().collect();
        self.walk(&mut |service| all.extend(&service.folded));
        all
    }

    fn walk<'a>(&'a self, visit: &mut dyn FnMut(&'a ServiceReport)) {
        fn go<'a>(service: &'a ServiceReport, visit: &mut dyn FnMut(&'a ServiceReport)) {
            visit(service);
            for child in &service.children {
                go(child, visit);
            }
        }
        for service in &self.services {
            go(service, visit);
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The process's code: main's own, when it returned one and the tree is clean.
        let mains = self.mains_code().map(MainExitCode::number);
        let code = mains.unwrap_or_else(|| self.exit_code());
        writeln!(
            f,
            "canstop report: {}trigger: {}; {}stopped in {:?} (timeout {}); exit code {code}{}",
            if self.startup_failed {
                "start-up failed; "
            } else {
                ""
            },
            self.trigger,
            match (self.drain_delay, &self.drain_delay_cut_by) {
                (Some(delay), Some(cut_by)) => {
                    format!("drained for {delay:?} of the delay, cut short by {cut_by}, then ")
                }
                (Some(delay), None) => format!("drained for a delay of {delay:?}, then "),
                (None, _) => String::new(),
            },
            self.stop_time,
            // As it is written (`CANSTOP_SHUTDOWN_TIMEOUT=0s`), not `0ns`.
            if self.timeout.is_zero() {
                "0s".to_owned()
            } else {
                format!("{:?}", self.timeout)
            },
            match self.forced {
                Some(signal) => format!(" (forced by a second {signal})"),
                None if mains.is_some() => " (main's; the tree stopped cleanly)".to_owned(),
                None if code == 0 => " (clean)".to_owned(),
                None => String::new(),
            }
        )?;
        match self.main_exit_code {
            Some(code) if self.main == MainOutcome::Returned => {
                writeln!(f, "  main: returned exit code {}", code.number())?;
            }
            _ => writeln!(f, "  main: {}", self.main)?,
        }
        if self.services.is_empty() && self.folded.is_empty() {
            writeln!(f, "  services: none")?;
        } else {
            writeln!(f, "  services:")?;
            for service in &self.services {
                let mut walk = Walk {
                    gave_up: Vec::new(),
                    cut_by: match (self.forced.is_some(), self.deadline_reached) {
                        (true, false) => "by the second signal",
                        // Both happened: which cut a given service's sessions is not kept.
                        (true, true) => "at a deadline or by the second signal",
                        // Its own: the tree's, its `timeout`, or its share of an ordered
                        // stop (the tree's may never have been reached).
                        (false, _) => "at its deadline",
                    },
                };
                write_service(f, service, 2, &mut walk)?;
            }
            for folded in &self.folded {
                write_folded(f, folded, 2)?;
            }
        }
        if self.sessions.is_empty() {
            write!(f, "  sessions: none")?;
        } else {
            write!(f, "  sessions:")?;
            for stats in &self.sessions {
                write!(f, "\n    {stats}")?;
                for error in &stats.errors {
                    write!(f, "\n      error: {}", Escaped(error))?;
                }
                let more =
                    (stats.failed + stats.panicked).saturating_sub(stats.errors.len() as u64);
                if more > 0 {
                    write!(
                        f,
                        "\n      ... and {more} more errors, not kept (the counts are exact)"
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// What the service lines of a report need to know of the rest of it.
struct Walk<'a> {
    /// The paths of the ancestors whose failure escalated (they gave up restarting), so that
    /// a child's failure they took is not said to be simply handled.
    gave_up: Vec<&'a str>,
    /// What aborted the sessions of a service that did not end aborted itself: the deadline,
    /// the second signal (when no deadline was reached), or either.
    cut_by: &'static str,
}

fn write_service<'a>(
    f: &mut fmt::Formatter<'_>,
    service: &'a ServiceReport,
    depth: usize,
    walk: &mut Walk<'a>,
) -> fmt::Result {
    let indent = "  ".repeat(depth);
    write!(f, "{indent}{}: {}", Escaped(&service.name), service.outcome)?;
    let aborted: u64 = service.sessions.iter().map(SessionStats::cut).sum();
    if aborted > 0 {
        // The body's outcome is not the whole story: say what happened to its sessions.
        let what = match service.outcome {
            ServiceOutcome::Forced => "by the second signal",
            ServiceOutcome::Aborted | ServiceOutcome::RunDropped => "with it",
            _ => walk.cut_by,
        };
        write!(f, "; {aborted} of its sessions ABORTED {what}")?;
    }
    match service.stop_time {
        Some(stop_time) => write!(f, " (stopped in {stop_time:?})")?,
        None if service.outcome != ServiceOutcome::Unresponsive => {
            write!(f, " (still waiting for its children at the report)")?;
        }
        None => {}
    }
    if service.is_handled() {
        if let Some(path) = &service.escalated_to {
            let ancestor = Escaped(path).to_string();
            if walk.gave_up.contains(&path.as_str()) {
                // Which of its children's failures it gave up at is not told apart here: what
                // is true of each of them is said, and "handled" of none.
                write!(
                    f,
                    "; the failure escalated to service {ancestor:?}, whose restart policy \
                     counted it; {ancestor:?} gave up in the end (see its line)"
                )?;
            } else {
                write!(
                    f,
                    "; handled: the failure escalated to service {ancestor:?}, whose restart \
                     policy took it"
                )?;
            }
        } else if let Some(ancestor) = &service.taken_by_restart_of {
            write!(
                f,
                "; handled: it failed while stopping for the restart of service {:?}",
                Escaped(ancestor).to_string()
            )?;
        }
    }
    writeln!(f)?;
    if service.failure_count > 0 || service.restarts > 0 {
        let plural = |count: u64, one: &'static str, many: &'static str| {
            if count == 1 {
                one
            } else {
                many
            }
        };
        write!(
            f,
            "{indent}  restarted {} {}; {} {}",
            service.restarts,
            plural(service.restarts, "time", "times"),
            service.failure_count,
            plural(service.failure_count, "failure", "failures")
        )?;
        if service.failure_count > service.failures.len() as u64 {
            write!(f, " (the last {} kept)", service.failures.len())?;
        }
        if service.escalated {
            write!(f, "; gave up: the failure escalated")?;
        }
        writeln!(f)?;
        for failure in &service.failures {
            writeln!(f, "{indent}    failure {failure}")?;
        }
    }
    if service.escalated {
        walk.gave_up.push(&service.path);
    }
    for child in &service.children {
        write_service(f, child, depth + 1, walk)?;
    }
    if service.escalated {
        walk.gave_up.pop();
    }
    for folded in &service.folded {
        write_folded(f, folded, depth + 1)?;
    }
    Ok(())
}

/// The plural's `s` for a count of `n`: `"1 service"`, `"2 services"`.
pub(crate) fn plural_s(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn write_folded(f: &mut fmt::Formatter<'_>, folded: &FoldedServices, depth: usize) -> fmt::Result {
    let indent = "  ".repeat(depth);
    if folded.other_names {
        write!(
            f,
            "{indent}{} more stopped service{} of other names",
            folded.count,
            plural_s(folded.count)
        )?;
    } else {
        let name = Escaped(&folded.name);
        write!(
            f,
            "{indent}{} more stopped service{} named {name}",
            folded.count,
            plural_s(folded.count)
        )?;
    }
    write!(
        f,
        ": clean={} failed={} panicked={} aborted={}",
        folded.clean, folded.failed, folded.panicked, folded.aborted
    )?;
    if folded.handled > 0 {
        write!(
            f,
            " (and {} failures handled by a restart above)",
            folded.handled
        )?;
    }
    if folded.descendants > 0 {
        write!(
            f,
            " (with {} child services: failed={} aborted={})",
            folded.descendants, folded.descendants_failed, folded.descendants_aborted
        )?;
    }
    writeln!(f)?;
    for error in &folded.errors {
        writeln!(f, "{indent}  error: {}", Escaped(error))?;
    }
    let more = (folded.failed + folded.panicked + folded.handled)
        .saturating_sub(folded.errors.len() as u64);
    if more > 0 {
        writeln!(
            f,
            "{indent}  ... and {more} more errors, not kept (the counts are exact)"
        )?;
    }
    Ok(())
}

impl fmt::Display for ServiceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = |early: bool| {
            if early {
                " before being told to stop"
            } else {
                ""
            }
        };
        match self {
            Self::Stopped => f.write_str("stopped cleanly"),
            Self::EndedEarly => f.write_str("ended early (returned Ok before being told to stop)"),
            Self::Failed { error, early } => {
                write!(f, "FAILED{}: {}", when(*early), Escaped(error))
            }
            Self::Panicked { message, early } => {
                write!(f, "PANICKED{}: {}", when(*early), Escaped(message))
            }
            // Its own: the tree's, its `timeout`, or its share of an ordered stop.
            Self::Aborted => f.write_str("ABORTED at its deadline"),
            Self::Forced => f.write_str("ABORTED by a second signal"),
            Self::RunDropped => f.write_str("ABORTED: its root's run was dropped"),
            Self::Unresponsive => {
                f.write_str("UNRESPONSIVE (still running when the report was made: given up on)")
            }
            Self::RestartCancelled { last } => write!(
                f,
                "stopped while waiting to restart (its last instance: {})",
                Escaped(last)
            ),
            Self::NotStarted => {
                f.write_str("stopped before it started (it was waiting for what it needs)")
            }
        }
    }
}

impl fmt::Display for MainOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Returned => f.write_str("returned Ok"),
            Self::DroppedAtStop => f.write_str("dropped at the stop (it had not returned)"),
            Self::Failed { error } => write!(f, "FAILED: {}", Escaped(error)),
            Self::Panicked { message } => write!(f, "PANICKED: {}", Escaped(message)),
            Self::Aborted => f.write_str("ABORTED at the deadline"),
            Self::Forced => f.write_str("ABORTED by a second signal"),
            Self::Unresponsive => {
                f.write_str("UNRESPONSIVE (still running when the report was made: given up on)")
            }
        }
    }
}

impl fmt::Display for SessionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: started={} finished={} failed={} panicked={} aborted={}",
            self.kind, self.started, self.finished, self.failed, self.panicked, self.aborted
        )?;
        if self.cancelled > 0 {
            write!(f, " (cancelled by the program: {})", self.cancelled)?;
        }
        if self.abandoned > 0 {
            write!(f, " (abandoned blocking work: {})", self.abandoned)?;
        }
        if self.unresponsive > 0 {
            write!(
                f,
                " (still alive at the report, not dropped within the grace: {})",
                self.unresponsive
            )?;
        }
        Ok(())
    }
}

/// User text (a name, an error, a panic message) as the report shows it: control characters,
/// line separators and bidirectional overrides escaped ([`is_forging`]), so that no text can
/// start a line of its own or reorder one, and forge the report.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

/// Whether `c` could make text start a line of its own or change how the rest of the line
/// reads: a control character, a Unicode line or paragraph separator, or a bidirectional
/// override.
pub(crate) fn is_forging(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in self.0.split_inclusive(is_forging) {
            let mut chars = part.chars();
            match chars.next_back() {
                Some(last) if is_forging(last) => {
                    f.write_str(chars.as_str())?;
                    write!(f, "{}", last.escape_default())?;
                }
                _ => f.write_str(part)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Escaped;

    #[test]
    fn control_characters_are_escaped() {
        let forged = "oops\n  services:\r\u{1b}[31m";
        assert_eq!(
            Escaped(forged).to_string(),
            "oops\\n  services:\\r\\u{1b}[31m"
        );
        assert_eq!(Escaped("plain text, é").to_string(), "plain text, é");
        assert_eq!(
            Escaped("a\u{2028}b\u{202E}c").to_string(),
            "a\\u{2028}b\\u{202e}c"
        );
    }
}
