//! The child services of a node: admission, the live ones, and the reports of the stopped.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::gate::Gate;
use crate::locking::lock;
use crate::node::Node;
use crate::report::ServiceReport;

/// The child services of one node. A child is in the node's [`Gate`] from its admission
/// until its supervisor is gone (it has reported, or its task was dropped), so the node's
/// drain waits for it, as it waits for the node's sessions.
pub(crate) struct Children {
    gate: Gate,
    /// Every child ever admitted, by id (its index).
    slots: Mutex<Vec<Slot>>,
}

/// A live child is kept whole, so that a report made before it stops (the root giving up at
/// the deadline) still sees its sessions and children; a stopped one only as its report.
enum Slot {
    Live(Arc<Node>),
    Stopped(ServiceReport),
}

impl Default for Children {
    fn default() -> Self {
        Self {
            gate: Gate::new(),
            slots: Mutex::default(),
        }
    }
}

impl Children {
    /// Admits a child built by `make` and returns its id, or refuses it (`None`) once this
    /// node has finished stopping. The child is waited for until [`leave`](Self::leave).
    ///
    /// `make` runs under the lock that [`live`](Self::live) takes, so a stop walking the
    /// children either sees the new child or was under way before it was made.
    pub(crate) fn admit(&self, make: impl FnOnce() -> Arc<Node>) -> Option<(usize, Arc<Node>)> {
        let mut slots = self.lock();
        if !self.gate.enter() {
            return None;
        }
        let node = make();
        slots.push(Slot::Live(node.clone()));
        Some((slots.len() - 1, node))
    }

    /// Files a stopped child's final report.
    pub(crate) fn finish(&self, id: usize, report: ServiceReport) {
        if let Some(slot) = self.lock().get_mut(id) {
            *slot = Slot::Stopped(report);
        }
    }

    /// An admitted child's supervisor is gone: the drain stops waiting for it.
    pub(crate) fn leave(&self) {
        self.gate.leave();
    }

    /// Waits until every admitted child has stopped, and closes admission at the moment none
    /// is left (children started during the drain are waited for too).
    pub(crate) async fn drain(&self) {
        self.gate.drain().await;
    }

    /// Waits until no child is running, without closing admission.
    pub(crate) async fn idle(&self) {
        self.gate.wait_empty().await;
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.gate.inside() == 0
    }

    /// Gives up on every child still live (see [`Node::give_up`]).
    pub(crate) fn give_up(&self) {
        self.gate.close();
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
            .iter()
            .map(|slot| match slot {
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
            .iter()
            .filter_map(|slot| match slot {
                Slot::Live(node) => Some(node.clone()),
                Slot::Stopped(_) => None,
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        lock(&self.slots)
    }
}
