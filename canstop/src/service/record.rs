//! What a service's supervision did, as its report shows it: restarts and handled failures.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::report::{Failure, FAILURES_KEPT};
use crate::sync::locking::lock;

/// The restarts and handled failures of one service, kept on its node so that a report made
/// at any moment (the watchdog's, too) shows them.
#[derive(Debug, Default)]
pub(crate) struct Record {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    restarts: u64,
    failures: VecDeque<Failure>,
    failure_count: u64,
    escalated: bool,
    escalated_to: Option<String>,
    taken_by_restart_of: Option<String>,
}

/// A copy of the record for a report.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) restarts: u64,
    pub(crate) failures: Vec<Failure>,
    pub(crate) failure_count: u64,
    pub(crate) escalated: bool,
    pub(crate) escalated_to: Option<String>,
    pub(crate) taken_by_restart_of: Option<String>,
}

impl Record {
    /// An early end handled by the restart policy.
    pub(crate) fn failed(&self, at: Duration, ran_for: Duration, message: String) {
        let mut inner = lock(&self.inner);
        inner.failure_count += 1;
        if inner.failures.len() == FAILURES_KEPT {
            inner.failures.pop_front();
        }
        inner.failures.push_back(Failure {
            at,
            ran_for,
            message,
        });
    }

    /// A new instance was started; returns the restart's number (from 1).
    pub(crate) fn restarted(&self) -> u64 {
        let mut inner = lock(&self.inner);
        inner.restarts += 1;
        inner.restarts
    }

    /// The service's failure escalated: to the restarting ancestor at path `to`, or (`None`)
    /// as the shutdown's trigger.
    pub(crate) fn escalated(&self, to: Option<String>) {
        let mut inner = lock(&self.inner);
        inner.escalated = true;
        inner.escalated_to = to;
    }

    /// It failed while it stopped for the restart of the ancestor at path `of` (that
    /// instance's failure is the one the ancestor's policy handles).
    pub(crate) fn taken_by_restart(&self, of: String) {
        lock(&self.inner).taken_by_restart_of = Some(of);
    }

    pub(crate) fn restarts(&self) -> u64 {
        lock(&self.inner).restarts
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let inner = lock(&self.inner);
        Snapshot {
            restarts: inner.restarts,
            failures: inner.failures.iter().cloned().collect(),
            failure_count: inner.failure_count,
            escalated: inner.escalated,
            escalated_to: inner.escalated_to.clone(),
            taken_by_restart_of: inner.taken_by_restart_of.clone(),
        }
    }
}
