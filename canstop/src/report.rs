//! The report: what triggered the shutdown, how every service stopped, and what every kind of
//! session did. Returned by [`Root::run`](crate::Root::run), logged through `tracing` by the
//! generated `main`, and turned into the process's exit code.

use std::fmt;
use std::time::Duration;

use crate::kind::SessionKind;
use crate::trigger::{Signal, Trigger};

/// The process exit codes canstop uses.
///
/// | code | meaning |
/// |---|---|
/// | 0 | everything stopped cleanly |
/// | 1 | a failure: `main` or a service returned an error or panicked, or a session panicked |
/// | 78 | bad configuration at start-up (for example a malformed `CANSTOP_SHUTDOWN_TIMEOUT`) |
/// | 124 | the deadline was reached: something was aborted or abandoned |
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
#[non_exhaustive]
pub struct Report {
    /// What started the shutdown.
    pub trigger: Trigger,
    /// The top-level services, each with its children.
    pub services: Vec<ServiceReport>,
    /// Every kind of session in the tree, summed over the scopes it ran in.
    pub sessions: Vec<SessionStats>,
    /// From the trigger until everything stopped or was given up on.
    pub stop_time: Duration,
    /// The tree's drain timeout that applied.
    pub timeout: Duration,
    /// Whether the drain hit the deadline anywhere in the tree.
    pub deadline_reached: bool,
    /// The second signal that cut the drain short, if one did.
    pub forced: Option<Signal>,
}

/// How one service stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The sessions that ran in its scope, per kind.
    pub sessions: Vec<SessionStats>,
}

/// How a service's body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Its task did not get to run by the deadline (a worker thread blocked in synchronous
    /// code, for instance); it was given up on.
    Unresponsive,
}

impl ServiceOutcome {
    /// Stopped or ended early with `Ok`.
    pub fn is_clean(&self) -> bool {
        matches!(self, Self::Stopped | Self::EndedEarly)
    }
}

/// What the sessions of one kind did.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Aborted at the deadline (includes `abandoned`).
    pub aborted: u64,
    /// Blocking work still running at the deadline, which cannot be aborted and was left
    /// behind when the process exited. Part of `aborted`.
    pub abandoned: u64,
    /// The first few error and panic messages (the counts are exact, the messages a sample).
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
        let room = crate::sessions::ERRORS_KEPT.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.iter().take(room).cloned());
    }

    /// `finished + failed + panicked + aborted`: equal to `started` once the scope is drained.
    pub fn ended(&self) -> u64 {
        self.finished + self.failed + self.panicked + self.aborted
    }
}

impl Report {
    /// The process exit code; see [`exit_code`] for the table.
    pub fn exit_code(&self) -> u8 {
        if let Some(signal) = self.forced {
            return exit_code::FORCED_BASE + signal.number();
        }
        let mut services = Vec::new();
        self.walk(&mut |service| services.push(service));
        let timed_out = self.deadline_reached
            || self.sessions.iter().any(|stats| stats.aborted > 0)
            || services.iter().any(|service| {
                matches!(
                    service.outcome,
                    ServiceOutcome::Aborted | ServiceOutcome::Unresponsive
                )
            });
        if timed_out {
            return exit_code::TIMED_OUT;
        }
        let failed = self.trigger.is_failure()
            || self.sessions.iter().any(|stats| stats.panicked > 0)
            || services.iter().any(|service| !service.outcome.is_clean());
        if failed {
            exit_code::FAILED
        } else {
            exit_code::CLEAN
        }
    }

    /// Logs the report through `tracing` (target `canstop::report`): at `INFO` when clean, at
    /// `ERROR` otherwise.
    pub fn log(&self) {
        let code = self.exit_code();
        if code == exit_code::CLEAN {
            tracing::info!(target: "canstop::report", "{self}");
        } else {
            tracing::error!(target: "canstop::report", "{self}");
        }
    }

    /// Whether everything stopped cleanly (exit code 0).
    pub fn is_clean(&self) -> bool {
        self.exit_code() == exit_code::CLEAN
    }

    /// Every service in the tree, parents before their children.
    pub fn all_services(&self) -> Vec<&ServiceReport> {
        let mut all = Vec::new();
        self.walk(&mut |service| all.push(service));
        all
    }

    /// The service at `path` (names joined by `/`).
    pub fn service(&self, path: &str) -> Option<&ServiceReport> {
        self.all_services()
            .into_iter()
            .find(|service| service.path == path)
    }

    /// The counts of the sessions named `name`, summed over every location with that name.
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
    pub fn service_errors(&self) -> Vec<(String, String)> {
        self.all_services()
            .into_iter()
            .filter_map(|service| match &service.outcome {
                ServiceOutcome::Failed { error, .. } => Some((service.path.clone(), error.clone())),
                ServiceOutcome::Panicked { message, .. } => {
                    Some((service.path.clone(), format!("panicked: {message}")))
                }
                _ => None,
            })
            .collect()
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
        let code = self.exit_code();
        writeln!(
            f,
            "canstop report: trigger: {}; stopped in {:?} (timeout {:?}); exit code {code}{}",
            self.trigger,
            self.stop_time,
            self.timeout,
            match self.forced {
                Some(signal) => format!(" (forced by a second {signal})"),
                None if code == 0 => " (clean)".to_owned(),
                None => String::new(),
            }
        )?;
        if self.services.is_empty() {
            writeln!(f, "  services: none")?;
        } else {
            writeln!(f, "  services:")?;
            for service in &self.services {
                write_service(f, service, 2)?;
            }
        }
        if self.sessions.is_empty() {
            write!(f, "  sessions: none")?;
        } else {
            write!(f, "  sessions:")?;
            for stats in &self.sessions {
                write!(f, "\n    {stats}")?;
                for error in &stats.errors {
                    write!(f, "\n      error: {error}")?;
                }
            }
        }
        Ok(())
    }
}

fn write_service(f: &mut fmt::Formatter<'_>, service: &ServiceReport, depth: usize) -> fmt::Result {
    let indent = "  ".repeat(depth);
    write!(f, "{indent}{}: {}", service.name, service.outcome)?;
    match service.stop_time {
        Some(stop_time) => write!(f, " (stopped in {stop_time:?})")?,
        None if service.outcome != ServiceOutcome::Unresponsive => {
            write!(f, " (still waiting for its children at the report)")?;
        }
        None => {}
    }
    writeln!(f)?;
    for child in &service.children {
        write_service(f, child, depth + 1)?;
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
            Self::Failed { error, early } => write!(f, "FAILED{}: {error}", when(*early)),
            Self::Panicked { message, early } => write!(f, "PANICKED{}: {message}", when(*early)),
            Self::Aborted => f.write_str("ABORTED at the deadline"),
            Self::Unresponsive => f.write_str("UNRESPONSIVE at the deadline (given up on)"),
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
        if self.abandoned > 0 {
            write!(f, " (abandoned blocking work: {})", self.abandoned)?;
        }
        Ok(())
    }
}
