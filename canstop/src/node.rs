//! A node of the supervisor tree: the root (the program) or one service. A node owns a scope
//! (its sessions) and its child services, and knows when it was told to stop and by when it
//! must be done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

use crate::report::{ServiceOutcome, ServiceReport};
use crate::sessions::{drain_admitted, Sessions};
use crate::trigger::{Signal, Trigger};

/// After a deadline, how long a node waits for its children to report their own aborts (they
/// share the deadline, so they are normally done within microseconds). A child that has not
/// reported by then is [`ServiceOutcome::Unresponsive`].
const ABORT_GRACE: Duration = Duration::from_millis(100);

/// The same, after a forced exit (a second signal).
const FORCE_GRACE: Duration = Duration::from_millis(20);

/// When a node was told to stop, and by when it must have stopped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopInfo {
    pub(crate) requested_at: Instant,
    pub(crate) deadline: Instant,
}

/// What the whole tree shares: the trigger, the tree's timeout, the force switch.
pub(crate) struct RootShared {
    pub(crate) timeout: Duration,
    /// The runtime the tree runs on: every task of the tree is spawned here, so a [`Scope`]
    /// works from any thread, and a spawn costs no clone of the runtime's handle.
    ///
    /// [`Scope`]: crate::Scope
    pub(crate) runtime: tokio::runtime::Handle,
    /// The root's token; every node's token is a descendant.
    pub(crate) token: CancellationToken,
    /// Cancelled by a second signal: every drain gives up at once.
    pub(crate) force: CancellationToken,
    trigger: OnceLock<Trigger>,
    stop: OnceLock<StopInfo>,
    forced_by: OnceLock<Signal>,
    deadline_reached: AtomicBool,
}

impl RootShared {
    pub(crate) fn new(timeout: Duration, runtime: tokio::runtime::Handle) -> Arc<Self> {
        Arc::new(Self {
            timeout,
            runtime,
            token: CancellationToken::new(),
            force: CancellationToken::new(),
            trigger: OnceLock::new(),
            stop: OnceLock::new(),
            forced_by: OnceLock::new(),
            deadline_reached: AtomicBool::new(false),
        })
    }

    /// Starts the shutdown of the whole tree, unless it has started already. The first
    /// trigger wins; returns whether this one did.
    pub(crate) fn trigger(&self, trigger: Trigger) -> bool {
        let now = Instant::now();
        if self.trigger.set(trigger.clone()).is_err() {
            tracing::debug!(%trigger, "shutdown already under way; trigger ignored");
            return false;
        }
        self.stop.get_or_init(|| StopInfo {
            requested_at: now,
            deadline: now + self.timeout,
        });
        if trigger.is_failure() {
            tracing::error!(%trigger, timeout = ?self.timeout, "shutdown triggered");
        } else {
            tracing::info!(%trigger, timeout = ?self.timeout, "shutdown triggered");
        }
        self.token.cancel();
        true
    }

    pub(crate) fn trigger_info(&self) -> Option<Trigger> {
        self.trigger.get().cloned()
    }

    /// A second signal: skip the wait everywhere.
    pub(crate) fn force(&self, signal: Signal) {
        if self.forced_by.set(signal).is_ok() {
            tracing::error!(%signal, "second signal: skipping the drain and exiting now");
        }
        self.force.cancel();
    }

    pub(crate) fn forced_by(&self) -> Option<Signal> {
        self.forced_by.get().copied()
    }

    pub(crate) fn deadline_reached(&self) -> bool {
        self.deadline_reached.load(Ordering::Relaxed)
    }
}

/// How a node's drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DrainEnd {
    Drained,
    Deadline,
    Forced,
}

/// The root, or one service.
pub(crate) struct Node {
    pub(crate) name: String,
    /// Names from the root's children down to this node, joined by `/` (empty for the root).
    pub(crate) path: String,
    pub(crate) root: Arc<RootShared>,
    parent: Option<Arc<Node>>,
    pub(crate) token: CancellationToken,
    /// The node's own stop timeout; the tree's when `None`.
    timeout: Option<Duration>,
    stop: OnceLock<StopInfo>,
    pub(crate) sessions: Sessions,
    pub(crate) children: Children,
}

impl Node {
    pub(crate) fn root(root: Arc<RootShared>) -> Arc<Self> {
        Arc::new(Self {
            name: String::new(),
            path: String::new(),
            token: root.token.clone(),
            root,
            parent: None,
            timeout: None,
            stop: OnceLock::new(),
            sessions: Sessions::new(),
            children: Children::default(),
        })
    }

    pub(crate) fn child(
        self: &Arc<Self>,
        name: String,
        path: String,
        timeout: Option<Duration>,
    ) -> Arc<Self> {
        Arc::new(Self {
            name,
            path,
            root: self.root.clone(),
            parent: Some(self.clone()),
            token: self.token.child_token(),
            timeout,
            stop: OnceLock::new(),
            sessions: Sessions::new(),
            children: Children::default(),
        })
    }

    /// The path a child named `name` gets.
    pub(crate) fn child_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.path)
        }
    }

    /// A readable name for messages: the path, or "the root scope".
    pub(crate) fn describe(&self) -> String {
        if self.path.is_empty() {
            "the root scope".to_owned()
        } else {
            format!("service {:?}", self.path)
        }
    }

    /// When this node was told to stop and its deadline; `None` while it has not been.
    ///
    /// A node stopped by a cascade from an ancestor's token inherits the ancestor's request
    /// time; its deadline is the ancestor's, or earlier when its own timeout is shorter.
    pub(crate) fn stop_info(&self) -> Option<StopInfo> {
        if let Some(info) = self.stop.get() {
            return Some(*info);
        }
        if !self.token.is_cancelled() {
            return None;
        }
        let inherited = match &self.parent {
            Some(parent) => parent.stop_info(),
            None => self.root.stop.get().copied(),
        };
        let info = match inherited {
            Some(from) => StopInfo {
                requested_at: from.requested_at,
                deadline: match self.timeout {
                    Some(own) => from.deadline.min(from.requested_at + own),
                    None => from.deadline,
                },
            },
            None => self.fresh_stop(Instant::now()),
        };
        Some(*self.stop.get_or_init(|| info))
    }

    /// Tells this node and everything under it to stop (a no-op if it was told already).
    pub(crate) fn request_stop(&self) -> StopInfo {
        let info = match self.stop_info() {
            Some(info) => info,
            None => *self.stop.get_or_init(|| self.fresh_stop(Instant::now())),
        };
        self.token.cancel();
        info
    }

    fn fresh_stop(&self, now: Instant) -> StopInfo {
        StopInfo {
            requested_at: now,
            deadline: now + self.timeout.unwrap_or(self.root.timeout),
        }
    }

    /// Waits for the children, then the sessions, up to `deadline`. At the deadline (or when
    /// forced) every session still live is aborted, and children that have not reported
    /// within a short grace are given up on.
    pub(crate) async fn drain(&self, deadline: Instant) -> DrainEnd {
        let everything = async {
            self.children.drain().await;
            self.sessions.drain().await;
        };
        let end = tokio::select! {
            () = everything => DrainEnd::Drained,
            () = sleep_until(deadline) => DrainEnd::Deadline,
            () = self.root.force.cancelled() => DrainEnd::Forced,
        };
        if end != DrainEnd::Drained {
            self.root.deadline_reached.store(true, Ordering::Relaxed);
            let live = self.sessions.live();
            if live > 0 {
                tracing::error!(scope = %self.describe(), live, "deadline reached: aborting live sessions");
            }
            self.sessions.abort_all();
            let grace = if end == DrainEnd::Forced {
                FORCE_GRACE
            } else {
                ABORT_GRACE
            };
            let _ = timeout(grace, self.children.drain()).await;
            self.children.close();
        }
        end
    }
}

/// The child services of a node: admission, and their reports as they come in.
#[derive(Default)]
pub(crate) struct Children {
    tracker: TaskTracker,
    state: Mutex<ChildrenState>,
}

#[derive(Default)]
struct ChildrenState {
    closed: bool,
    next_id: u64,
    slots: Vec<ChildSlot>,
}

struct ChildSlot {
    id: u64,
    name: String,
    path: String,
    report: Option<ServiceReport>,
}

impl Children {
    /// Admits a child service, or refuses it (`None`) once this node has finished stopping.
    pub(crate) fn admit(&self, name: &str, path: &str) -> Option<(u64, TaskTrackerToken)> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        state.slots.push(ChildSlot {
            id,
            name: name.to_owned(),
            path: path.to_owned(),
            report: None,
        });
        Some((id, self.tracker.token()))
    }

    /// Files a child's final report.
    pub(crate) fn finish(&self, id: u64, report: ServiceReport) {
        let mut state = self.lock();
        if let Some(slot) = state.slots.iter_mut().find(|slot| slot.id == id) {
            slot.report.get_or_insert(report);
        }
    }

    /// Waits until every admitted child has stopped, closing admission on the way.
    pub(crate) async fn drain(&self) {
        drain_admitted(&self.tracker, || self.close()).await;
    }

    pub(crate) fn close(&self) {
        self.tracker.close();
        self.lock().closed = true;
    }

    /// The children's reports; one that never reported is `Unresponsive`.
    pub(crate) fn reports(&self) -> Vec<ServiceReport> {
        self.lock()
            .slots
            .iter()
            .map(|slot| {
                slot.report.clone().unwrap_or_else(|| ServiceReport {
                    name: slot.name.clone(),
                    path: slot.path.clone(),
                    outcome: ServiceOutcome::Unresponsive,
                    stop_time: None,
                    children: Vec::new(),
                    sessions: Vec::new(),
                })
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, ChildrenState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
