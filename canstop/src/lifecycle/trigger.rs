//! What started the shutdown.

use std::fmt;

use crate::report::Escaped;

/// A signal canstop listens for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT (Ctrl-C in a terminal).
    Interrupt,
    /// SIGTERM (what Kubernetes, systemd and `kill` send).
    Terminate,
    /// Ctrl-C, Ctrl-Break or console close on Windows.
    CtrlC,
}

impl Signal {
    /// The conventional name: `"SIGINT"`, `"SIGTERM"` or `"CTRL-C"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
            Self::CtrlC => "CTRL-C",
        }
    }

    /// The signal's number, as shells use it in `128 + n` exit codes.
    pub fn number(self) -> u8 {
        match self {
            Self::Interrupt | Self::CtrlC => 2,
            Self::Terminate => 15,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What started the shutdown. The first trigger wins; later failures are still kept, each on
/// its own service in the [`Report`](crate::Report).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Trigger {
    /// A signal arrived.
    Signal(Signal),
    /// A service returned an error before it was told to stop.
    ServiceFailed {
        /// The service's path in the tree (`parent/child`).
        service: String,
        /// The error's message.
        error: String,
    },
    /// A service panicked before it was told to stop.
    ServicePanicked {
        /// The service's path in the tree.
        service: String,
        /// The panic's message.
        message: String,
    },
    /// A service failed more often than its restart policy allows: more than
    /// `max_restarts` times within `within` (see [`Service::max_restarts`]), and no ancestor
    /// restarts. `last` is its last failure: an error, `panicked: ...`, or, when a child's
    /// failure escalated to it, that child's (so the message names the chain).
    ///
    /// [`Service::max_restarts`]: crate::Service::max_restarts
    ServiceGaveUp {
        /// The service's path in the tree.
        service: String,
        /// How many times it failed within the window.
        failures: usize,
        /// The window.
        within: std::time::Duration,
        /// The last failure's message.
        last: String,
    },
    /// `main`'s body returned an error.
    MainFailed {
        /// The error, as `Debug` shows it.
        error: String,
    },
    /// `main`'s body panicked.
    MainPanicked {
        /// The panic's message.
        message: String,
    },
    /// [`canstop::shutdown()`](fn@crate::shutdown) or
    /// [`Shutdown::shutdown_tree`](crate::Shutdown::shutdown_tree) was called.
    Requested {
        /// Where it was called (`file:line`).
        location: String,
    },
    /// `main`'s body returned an exit code other than success (`ExitCode`, or
    /// `Ok(ExitCode)`): the program asked to end, as `std::process::exit` would, but
    /// gracefully; the process then exits with that code if everything else stopped cleanly.
    MainExited {
        /// The code (1 for a code canstop cannot read back).
        code: u8,
    },
    /// `main` returned and every service and session finished on its own.
    Finished,
    /// The body returned, on a root configured with
    /// [`Root::stop_when_body_returns`](crate::Root::stop_when_body_returns) (as in
    /// `#[canstop::test]`).
    BodyReturned,
}

impl Trigger {
    /// [`Trigger::Requested`] at the caller's location.
    #[track_caller]
    pub(crate) fn requested_here() -> Self {
        let location = std::panic::Location::caller();
        Self::Requested {
            location: format!("{}:{}", location.file(), location.line()),
        }
    }

    /// Whether this trigger is itself a failure (an error or a panic).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::ServiceFailed { .. }
                | Self::ServicePanicked { .. }
                | Self::ServiceGaveUp { .. }
                | Self::MainFailed { .. }
                | Self::MainPanicked { .. }
        )
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signal(signal) => write!(f, "{signal}"),
            Self::ServiceFailed { service, error } => {
                write!(f, "service {service:?} failed: {}", Escaped(error))
            }
            Self::ServicePanicked { service, message } => {
                write!(f, "service {service:?} panicked: {}", Escaped(message))
            }
            Self::ServiceGaveUp {
                service,
                failures,
                within,
                last,
            } => write!(
                f,
                "service {service:?} failed {failures} {} within {within:?}: {}",
                if *failures == 1 { "time" } else { "times" },
                Escaped(last)
            ),
            Self::MainFailed { error } => write!(f, "main returned an error: {}", Escaped(error)),
            Self::MainPanicked { message } => write!(f, "main panicked: {}", Escaped(message)),
            Self::Requested { location } => write!(f, "canstop::shutdown() at {location}"),
            Self::MainExited { code } => write!(f, "main returned exit code {code}"),
            Self::Finished => f.write_str("everything finished"),
            Self::BodyReturned => f.write_str("the body returned"),
        }
    }
}
