//! The child services of a node: admission, the live ones, and the reports of the stopped.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

use crate::locking::lock;
use crate::node::Node;
use crate::report::ServiceReport;

#[derive(Default)]
pub(crate) struct Children {
    tracker: TaskTracker,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    closed: bool,
    next_id: u64,
    slots: Vec<(u64, Slot)>,
}

/// A live child is kept whole, so that a report made before it stops (the root giving up at
/// the deadline) still sees its sessions and children; a stopped one only as its report.
enum Slot {
    Live(Arc<Node>),
    Stopped(ServiceReport),
}

impl Children {
    /// Admits a child built by `make`, or refuses it (`None`) once this node has finished
    /// stopping. The token keeps this node's drain waiting until the child has stopped.
    pub(crate) fn admit(
        &self,
        make: impl FnOnce() -> Arc<Node>,
    ) -> Option<(u64, Arc<Node>, TaskTrackerToken)> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        let node = make();
        state.slots.push((id, Slot::Live(node.clone())));
        Some((id, node, self.tracker.token()))
    }

    /// Files a stopped child's final report.
    pub(crate) fn finish(&self, id: u64, report: ServiceReport) {
        let mut state = self.lock();
        if let Some((_, slot)) = state.slots.iter_mut().find(|(slot_id, _)| *slot_id == id) {
            *slot = Slot::Stopped(report);
        }
    }

    /// Waits until every admitted child has stopped, closing admission on the way.
    ///
    /// The tracker may become empty while admission is still open; closing then leaves a
    /// window in which a child was admitted. Admissions take their tracker token under the
    /// lock that [`close`](Self::close) takes, so after it the tracker counts them, and
    /// waiting again covers them.
    pub(crate) async fn drain(&self) {
        self.tracker.close();
        loop {
            self.tracker.wait().await;
            self.close();
            if self.tracker.is_empty() {
                return;
            }
        }
    }

    /// Waits until no child is running, without closing admission.
    pub(crate) async fn idle(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.tracker.is_empty()
    }

    pub(crate) fn close(&self) {
        self.tracker.close();
        self.lock().closed = true;
    }

    /// Gives up on every child still live (see [`Node::give_up`]).
    pub(crate) fn give_up(&self) {
        self.close();
        for node in self.live() {
            tracing::error!(service = %node.path, "service unresponsive at the deadline: given up on");
            node.give_up();
        }
    }

    /// The children's reports: final for the stopped, as things stand for the live.
    pub(crate) fn reports(&self) -> Vec<ServiceReport> {
        // Live children report outside the lock: their reports take their own locks.
        let slots: Vec<Result<ServiceReport, Arc<Node>>> = self
            .lock()
            .slots
            .iter()
            .map(|(_, slot)| match slot {
                Slot::Live(node) => Err(node.clone()),
                Slot::Stopped(report) => Ok(report.clone()),
            })
            .collect();
        slots
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|node| node.report()))
            .collect()
    }

    pub(crate) fn live(&self) -> Vec<Arc<Node>> {
        self.lock()
            .slots
            .iter()
            .filter_map(|(_, slot)| match slot {
                Slot::Live(node) => Some(node.clone()),
                Slot::Stopped(_) => None,
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}
