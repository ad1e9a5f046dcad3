//! What a supervisor does when a service's body ends before it was told to stop: the restart
//! policy, its intensity limit, and the strategy a parent applies to its children.
//!
//! # The model (OTP's, with a bounded drain)
//!
//! - [`Restart`] decides whether an early end is restarted: never (the failure escalates),
//!   after a failure, or always.
//! - The intensity limit ([`Service::max_restarts`] within [`Service::within`]) bounds how
//!   often: a service that fails more than `max_restarts` times within `within` fails for
//!   good, and its failure escalates to the nearest ancestor that restarts (which fails its
//!   own instance and applies its own policy), or, when none does, triggers the shutdown.
//! - [`Strategy`] decides which of a parent's children restart with the one that failed.
//!
//! Why a window and not a budget (tower's `retry::budget`): a service is one task, not a
//! stream of requests, and OTP's "at most N restarts in T" is what operators already know how
//! to read in a report.
//!
//! [`Service::max_restarts`]: crate::Service::max_restarts
//! [`Service::within`]: crate::Service::within

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::service::backoff::Backoff;

/// Whether a service whose body ended before it was told to stop is started again.
///
/// The names are OTP's: `Never` is a temporary child that escalates, `OnFailure` a transient
/// one, `Always` a permanent one. An end *after* the stop request is never restarted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Restart {
    /// Never restarted: an error or a panic escalates at once (to the nearest ancestor that
    /// restarts, or as the shutdown trigger); an early `Ok` is reported as ended early.
    #[default]
    Never,
    /// Restarted after an error or a panic, not after an `Ok`.
    OnFailure,
    /// Restarted after any early end, an `Ok` included.
    Always,
}

impl Restart {
    /// As the `restart = "..."` option writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::OnFailure => "on-failure",
            Self::Always => "always",
        }
    }
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of a parent's children restart when one of them is restarted (OTP's supervisor
/// strategies). Set on the parent: [`Service::strategy`](crate::Service::strategy), or
/// [`Root::strategy`](crate::Root::strategy) for `main`'s services.
///
/// Only children that restart themselves (a [`Restart`] other than `Never`) take part: a
/// `Never` child cannot be built again (it may hold a `FnOnce` body), so a strategy leaves it
/// running. The siblings a strategy restarts are stopped as any stop does it (their bodies
/// told through their [`Shutdown`](crate::Shutdown), bounded by their timeout), then started
/// again in start order; their restart counts as neither a failure nor a restart of theirs
/// toward the intensity limit (it is the failed child's).
///
/// The members of a round are told to stop together: a round does not keep the
/// [`needs`](crate::Service::needs) order among them (the parent's stop and a restart of the
/// parent's instance do), though each member is built again only once what it needs is
/// ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// Only the failed child restarts.
    #[default]
    OneForOne,
    /// Every restartable sibling is stopped, and all restart, in start order.
    OneForAll,
    /// The restartable siblings started after the failed one are stopped, and restart after
    /// it, in start order.
    RestForOne,
}

impl Strategy {
    /// As the `strategy = "..."` option writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneForOne => "one_for_one",
            Self::OneForAll => "one_for_all",
            Self::RestForOne => "rest_for_one",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The default intensity limit: 3 restarts...
pub const DEFAULT_MAX_RESTARTS: u32 = 3;
/// ...within 10 seconds.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(10);

/// A service's restart policy as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) restart: Restart,
    pub(crate) max_restarts: u32,
    pub(crate) within: Duration,
    pub(crate) backoff: Backoff,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            restart: Restart::Never,
            max_restarts: DEFAULT_MAX_RESTARTS,
            within: DEFAULT_WITHIN,
            backoff: Backoff::default(),
        }
    }
}

impl Policy {
    /// Whether an instance that ended before its stop with `failed` (an error or a panic, or
    /// else an `Ok`) is restarted, as far as the policy goes (the intensity limit aside).
    pub(crate) fn restarts(&self, failed: bool) -> bool {
        match self.restart {
            Restart::Never => false,
            Restart::OnFailure => failed,
            Restart::Always => true,
        }
    }
}

/// The intensity window: the instants of the last failures, at most `max_restarts + 1`.
#[derive(Debug)]
pub(crate) struct Intensity {
    max_restarts: u32,
    within: Duration,
    ends: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(policy: &Policy) -> Self {
        Self {
            max_restarts: policy.max_restarts,
            within: policy.within,
            ends: VecDeque::new(),
        }
    }

    /// Records an early end at `now`; returns how many ends fell within the window when that
    /// is more than the limit allows (the service fails for good), or `None`.
    pub(crate) fn record(&mut self, now: Instant) -> Option<usize> {
        while self
            .ends
            .front()
            .is_some_and(|&end| now.saturating_duration_since(end) >= self.within)
        {
            self.ends.pop_front();
        }
        self.ends.push_back(now);
        let limit = self.max_restarts as usize;
        if self.ends.len() > limit {
            Some(self.ends.len())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intensity(max_restarts: u32, within: Duration) -> Intensity {
        Intensity::new(&Policy {
            max_restarts,
            within,
            ..Policy::default()
        })
    }

    #[test]
    fn more_than_max_within_the_window_fails_for_good() {
        let start = Instant::now();
        let mut window = intensity(3, Duration::from_secs(10));
        for i in 0..3 {
            assert_eq!(window.record(start + Duration::from_secs(i)), None);
        }
        assert_eq!(window.record(start + Duration::from_secs(3)), Some(4));
    }

    #[test]
    fn ends_spread_over_more_than_the_window_never_fail() {
        let start = Instant::now();
        let mut window = intensity(3, Duration::from_secs(10));
        for i in 0..100 {
            // 4 s apart: never more than 3 within 10 s.
            assert_eq!(window.record(start + Duration::from_secs(4 * i)), None);
        }
    }

    #[test]
    fn zero_restarts_fails_at_the_first_end() {
        let mut window = intensity(0, Duration::from_secs(10));
        assert_eq!(window.record(Instant::now()), Some(1));
    }
}
