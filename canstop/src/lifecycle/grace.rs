//! Every grace and fuse of the shutdown sequence, in one place, with how they relate.
//!
//! After a deadline (or a second signal), canstop waits a little for what it aborted to be
//! gone, so that the report is made with every aborted body dropped; it never waits
//! unboundedly, because a thread blocked in synchronous code never comes back. The timeline
//! after a deadline `D`:
//!
//! ```text
//! D                      every scope at D aborts its sessions and its service bodies
//! D + SESSION_GRACE      each scope stops waiting for its aborted sessions: those still in a
//!                        poll are counted aborted and `unresponsive`
//! D + CHILDREN_GRACE     the root stops waiting for its services: those that have not
//!                        reported are UNRESPONSIVE; the report is made
//! D + CHILDREN_GRACE + HEALTH_CLOSE
//!                        the health server (feature `health`) has closed, last
//! D + CHILDREN_GRACE + HEALTH_CLOSE + EXIT_GRACE
//!                        a process-owning root has shut its runtime down (or left it)
//! D + DEADLINE_FUSE      the watchdog thread ends the process, whatever is blocked
//! ```
//!
//! After a second signal the same happens on the `FORCE_*` scale, and the watchdog writes a
//! report of its own at [`FORCE_REPORT`] only if the root has not made one by then.

use std::time::Duration;

/// After a scope's deadline, how long it waits for its aborted sessions to drop their bodies.
/// An aborted session drops its body at its next poll; one still alive after this (its
/// thread blocked in synchronous code inside its poll, or not run again in time) is
/// reported as unresponsive.
pub(crate) const SESSION_GRACE: Duration = Duration::from_millis(250);

/// After the tree's deadline, how long the root waits for its services to report their own
/// aborts (they share the deadline, so they are normally done within microseconds, or within
/// [`SESSION_GRACE`] when they wait for aborted sessions). A service still running after that
/// is `Unresponsive`: its thread is blocked.
pub(crate) const CHILDREN_GRACE: Duration = Duration::from_millis(400);

/// After the report, how long a process-owning root gives its runtime to drop what is left
/// before leaving it behind. Only abandoned blocking work makes it wait this long.
pub(crate) const EXIT_GRACE: Duration = Duration::from_millis(250);

/// After the report, how long the root waits for its health server (feature `health`) to
/// have closed its listener, once it aborted it: it holds no work, only sockets, so this is
/// a bound that is never reached in practice, and it fits in the fuses below.
#[cfg_attr(not(feature = "health"), allow(dead_code))]
pub(crate) const HEALTH_CLOSE: Duration = Duration::from_millis(50);

/// How long a stopped connection whose only work left is its client's part of the close
/// waits for it (feature `hyper`): an HTTP/2 connection that never had a request, for its
/// client's answer to the ping of the GOAWAY (hyper sends the last GOAWAY and closes only
/// once it comes); an HTTP/1 connection that never had a request, for its client to complete
/// the head of its first; a WebSocket, for its client's answer to
/// [`close_going_away`](crate::http::close_going_away)'s close frame. A client that never
/// answers (frozen, or gone without a FIN) then does not hold the drain until the deadline;
/// RFC 6455 and RFC 9113 both let the server close the connection when the answer does not
/// come in a reasonable time. A connection that had a request is bounded by the deadline
/// only: a response still queued for a slow reader, an upload, a stream still open cannot be
/// told from a frozen client by any shorter wait.
#[cfg(feature = "hyper")]
pub(crate) const CLOSE_ANSWER: Duration = Duration::from_secs(1);

/// Beyond the tree's deadline, when the watchdog ends the process if it is still running.
pub(crate) const DEADLINE_FUSE: Duration = Duration::from_millis(750);

/// systemd (feature `systemd`): what `EXTEND_TIMEOUT_USEC=` adds beyond the moment the exit
/// enforcer ends the process at the latest (the deadline plus [`DEADLINE_FUSE`], or a second
/// signal plus [`FORCE_FUSE`]), for the process's own exit and systemd's noticing it on a
/// loaded machine.
#[cfg_attr(not(all(feature = "systemd", unix)), allow(dead_code))]
pub(crate) const EXTEND_MARGIN: Duration = Duration::from_secs(1);

/// [`SESSION_GRACE`] after a second signal.
pub(crate) const FORCE_SESSION_GRACE: Duration = Duration::from_millis(10);

/// [`CHILDREN_GRACE`] after a second signal.
pub(crate) const FORCE_CHILDREN_GRACE: Duration = Duration::from_millis(20);

/// After a second signal, when the watchdog ends the process.
pub(crate) const FORCE_FUSE: Duration = Duration::from_millis(100);

/// After a second signal, when the watchdog starts writing a report of its own if the root
/// has not made one: late enough that a tree whose threads are free has made its report by
/// then (one report, the root's), early enough to be written before the exit.
pub(crate) const FORCE_REPORT: Duration = Duration::from_millis(70);

const fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}

// A scope's wait for its sessions fits in the root's wait for its services, and the root's
// report and the runtime's shutdown fit before the watchdog's fuse; the same after a signal.
const _: () = assert!(ms(SESSION_GRACE) < ms(CHILDREN_GRACE));
const _: () = assert!(ms(CHILDREN_GRACE) + ms(HEALTH_CLOSE) + ms(EXIT_GRACE) < ms(DEADLINE_FUSE));
const _: () = assert!(ms(FORCE_SESSION_GRACE) < ms(FORCE_CHILDREN_GRACE));
const _: () = assert!(ms(FORCE_CHILDREN_GRACE) + ms(HEALTH_CLOSE) <= ms(FORCE_REPORT));
const _: () = assert!(ms(FORCE_REPORT) < ms(FORCE_FUSE));

/// The graces that apply: after a deadline, or after a second signal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Graces {
    pub(crate) sessions: Duration,
    pub(crate) children: Duration,
}

impl Graces {
    pub(crate) fn new(forced: bool) -> Self {
        if forced {
            Self {
                sessions: FORCE_SESSION_GRACE,
                children: FORCE_CHILDREN_GRACE,
            }
        } else {
            Self {
                sessions: SESSION_GRACE,
                children: CHILDREN_GRACE,
            }
        }
    }
}
