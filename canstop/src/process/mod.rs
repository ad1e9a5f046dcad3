//! What a process-owning root does at the edge of the process: it reads signals on a thread
//! of its own, a watchdog thread ends the process on time whatever the runtime does, and it
//! tells systemd where it stands.
//!
//! - [`signals`]: SIGINT/SIGTERM (Ctrl-C on Windows): the first triggers the shutdown, a
//!   second forces the exit; the default dispositions come back once no root listens.
//! - [`watchdog`]: ends the process at the deadline plus a fuse, or soon after a second
//!   signal, with what it can report, whatever stderr or the `tracing` subscriber does.
//! - `systemd` (feature `systemd`, Unix): the notify protocol (`READY=1`, `STATUS=`,
//!   `STOPPING=1`, `EXTEND_TIMEOUT_USEC=`) from the tree's events, and `WATCHDOG=1` from a
//!   task on the runtime; nothing at all when `NOTIFY_SOCKET` is unset.
//!
//! Each reacts to the tree's [events](crate::lifecycle::events) as a listener that
//! [`Root`](crate::Root)'s `run_tree` subscribes for a process-owning root; none of them is
//! known to the tree.

pub(crate) mod signals;
#[cfg(all(feature = "systemd", unix))]
pub(crate) mod systemd;
pub(crate) mod watchdog;

/// Whether nothing would see a `tracing` event from this thread: no global subscriber, and
/// no scoped one here. What decides whether canstop writes a line to stderr itself (the
/// report, a notify-socket error) rather than log it. Not
/// `tracing::dispatcher::has_been_set()`: that is also true once any thread has set a scoped
/// subscriber, which the signal listener does (to log nothing while it acts), so after a real
/// signal the line was lost.
pub(crate) fn no_subscriber() -> bool {
    tracing::dispatcher::get_default(|dispatch| dispatch.is::<tracing::subscriber::NoSubscriber>())
}
