//! Logging that cannot stop the lifecycle.
//!
//! canstop's own `tracing` events go to the program's subscriber, which may panic (a writer
//! that fails) or block (a log pipe nobody drains). Neither may keep the shutdown from
//! starting, delay the exit, or change its code:
//!
//! - Where a log and an action go together (a failure and its escalation, a trigger and the
//!   stop), the action comes first and the log after: a subscriber that blocks holds only
//!   the thread that logs, after the tree has acted.
//! - No log is written under a lock the stop takes (the tree's readiness, a restart round):
//!   a subscriber that blocks there would hold every thread that takes it.
//! - Every log of the lifecycle (at any level) runs through [`log`], so that a subscriber's panic is the subscriber's: the
//!   panic hook prints it, and canstop goes on (it never unwinds through a supervisor or
//!   through the root's drop guards, where a second panic would abort the process).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `event` (a `tracing` macro call); a panic of the subscriber is not canstop's.
#[inline]
pub(crate) fn log(event: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(event));
}
