//! Errors for runtime misuse: returned, never panicked.

use std::fmt;
use std::io;

use crate::duration::DurationError;

/// Why a session or service was not started. The work was not run, and nothing was leaked:
/// a refused session is never counted as started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// Called outside any canstop scope: not inside `main`'s body, a service or a session
    /// (for example from a plain `tokio::spawn`ed task). Pass a [`Scope`](crate::Scope) to
    /// such code instead.
    NoScope,
    /// The scope has finished draining (or passed its deadline) and takes no more work.
    Closed {
        /// The scope: `"the root scope"` or `service "path"`.
        scope: String,
    },
    /// Called outside a tokio runtime (only [`spawn_untracked`](crate::spawn_untracked) needs
    /// one: tracked work always runs on its tree's runtime).
    NoRuntime,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoScope => f.write_str(
                "not inside a canstop scope: spawn from main, a service or a session, \
                 or pass a canstop::Scope to this code",
            ),
            Self::Closed { scope } => {
                write!(
                    f,
                    "{scope} has finished shutting down and takes no more work"
                )
            }
            Self::NoRuntime => f.write_str("not inside a tokio runtime"),
        }
    }
}

impl std::error::Error for SpawnError {}

/// Why the root could not start. Nothing was run.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// An environment variable holds a malformed duration.
    BadTimeout {
        /// The variable (`CANSTOP_SHUTDOWN_TIMEOUT`).
        variable: &'static str,
        /// What is wrong with its value.
        error: DurationError,
    },
    /// The tokio runtime could not be built.
    Runtime(io::Error),
    /// The signal handlers could not be installed.
    Signals(io::Error),
    /// [`Root::run`](crate::Root::run) was polled outside a tokio runtime.
    NoRuntime,
}

impl StartError {
    /// The process exit code for this error: [`exit_code::CONFIG`](crate::exit_code::CONFIG).
    pub fn exit_code(&self) -> u8 {
        crate::exit_code::CONFIG
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadTimeout { variable, error } => write!(f, "{variable}: {error}"),
            Self::Runtime(error) => write!(f, "cannot build the tokio runtime: {error}"),
            Self::Signals(error) => write!(f, "cannot install the signal handlers: {error}"),
            Self::NoRuntime => f.write_str("not inside a tokio runtime"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::BadTimeout { error, .. } => Some(error),
            Self::Runtime(error) | Self::Signals(error) => Some(error),
            Self::NoRuntime => None,
        }
    }
}
