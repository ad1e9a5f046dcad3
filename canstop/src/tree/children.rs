//! The child services of a node: admission, the live ones, and the reports of the stopped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use slab::Slab;

use crate::lifecycle::log::log;
use crate::report::{FoldedServices, ServiceReport, KEPT_STOPPED};
use crate::sync::gate::Gate;
use crate::sync::locking::lock;
use crate::tree::node::Node;

/// How many names get a folded group of their own in one scope.
const FOLDED_NAMES: usize = 64;

/// The key of the group of the services folded beyond [`FOLDED_NAMES`] names: a control
/// character, which no valid service name has.
const OTHER_NAMES: &str = "\u{0}other names";

/// The child services of one node. A child is in the node's [`Gate`] from its admission
/// until its supervisor is gone (it has reported, or its task was dropped), so the node's
/// drain waits for it, as it waits for the node's sessions.
///
/// # Memory
///
/// A live child is kept whole; a stopped one only as its report, and only the first
/// [`KEPT_STOPPED`] of them: later ones are folded per path into a [`FoldedServices`] (exact
/// counts, a sample of errors), a group per name for the first 64 names and one for all the
/// others. A node that starts and stops services all day retains a bounded amount, whatever
/// the number of cycles and of names.
pub(crate) struct Children {
    gate: Gate,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The live children, by id, with the order they were admitted in.
    live: Slab<(u64, Arc<Node>)>,
    /// The first stopped children's reports, with their admission order.
    kept: Vec<(u64, ServiceReport)>,
    /// The later stopped children, folded per name.
    folded: Vec<FoldedServices>,
    folded_at: HashMap<String, usize>,
    /// The group the last fold went to: a node that starts and stops services of one name
    /// folds them without hashing the name.
    last_folded: usize,
    admitted: u64,
}

impl Inner {
    /// The folded group of the stopped services named `name` (at `path`), made if needed.
    fn fold(&mut self, name: &str, path: &str) -> &mut FoldedServices {
        let Inner {
            folded,
            folded_at,
            last_folded,
            ..
        } = self;
        // The common case, the name of the last fold: no lookup.
        let last = folded
            .get(*last_folded)
            .is_some_and(|group| !group.other_names && group.name == name);
        if !last {
            *last_folded = Self::group_of(folded, folded_at, name, path);
        }
        &mut folded[*last_folded]
    }

    fn group_of(
        folded: &mut Vec<FoldedServices>,
        folded_at: &mut HashMap<String, usize>,
        name: &str,
        path: &str,
    ) -> usize {
        // A name folded already: one lookup.
        if let Some(&at) = folded_at.get(name) {
            return at;
        }
        // A group per name, up to FOLDED_NAMES of them; the services of further names share
        // one group, so that distinct names (`job-1`, `job-2`, ...) stay bounded too.
        let key = if folded_at.len() < FOLDED_NAMES {
            name
        } else {
            OTHER_NAMES
        };
        if let Some(&at) = folded_at.get(key) {
            return at;
        }
        let group = if key == OTHER_NAMES {
            let path = match path.rsplit_once('/') {
                Some((parent, _)) => format!("{parent}/*"),
                None => "*".to_owned(),
            };
            FoldedServices::new("*".to_owned(), path, true)
        } else {
            FoldedServices::new(name.to_owned(), path.to_owned(), false)
        };
        folded.push(group);
        folded_at.insert(key.to_owned(), folded.len() - 1);
        folded.len() - 1
    }
}

/// A node's children as a [state](crate::State) snapshot reads them
/// ([`Children::for_state`]).
pub(crate) struct ForState<T> {
    /// The live children, with their start order.
    pub(crate) live: Vec<(u64, Arc<Node>)>,
    /// The stopped children kept in full, turned, with their start order.
    pub(crate) kept: Vec<(u64, T)>,
    /// The stopped children beyond those, folded.
    pub(crate) folded: Vec<FoldedServices>,
}

impl Default for Children {
    fn default() -> Self {
        Self {
            gate: Gate::new(),
            inner: Mutex::default(),
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
        let mut inner = self.lock();
        if !self.gate.enter() {
            return None;
        }
        let node = make();
        let order = inner.admitted;
        inner.admitted += 1;
        let id = inner.live.insert((order, node.clone()));
        Some((id, node))
    }

    /// Files a stopped child: its final report, or, once [`KEPT_STOPPED`] reports are kept,
    /// its fold into the group of its name.
    ///
    /// A child that stopped cleanly, with no session and no child of its own (a service
    /// started and stopped all day), folds as one more clean service: its report, which its
    /// group would only count, is not built.
    pub(crate) fn finish(&self, id: usize, child: &Node) {
        if child.folds_as_clean() {
            let mut inner = self.lock();
            if inner.kept.len() >= KEPT_STOPPED {
                if inner.live.try_remove(id).is_some() {
                    inner.fold(child.name(), &child.path).add_clean();
                }
                return;
            }
        }
        let report = child.report();
        let mut inner = self.lock();
        let Some((order, _node)) = inner.live.try_remove(id) else {
            return;
        };
        if inner.kept.len() < KEPT_STOPPED {
            inner.kept.push((order, report));
            return;
        }
        inner.fold(&report.name, &report.path).add(&report);
    }

    /// Whether no child was ever admitted.
    pub(crate) fn never_admitted(&self) -> bool {
        self.lock().admitted == 0
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

    /// [`drain`](Self::drain)'s immediate case: closes admission if no child is left now.
    pub(crate) fn close_if_empty(&self) -> bool {
        self.gate.close_if_empty()
    }

    /// Refuses every later child.
    pub(crate) fn close(&self) {
        self.gate.close();
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
            log(
                || tracing::error!(service = %node.path, "service still running when the report is made: given up on"),
            );
            node.give_up();
        }
    }

    /// The children's reports in the order they were started (final for the stopped, as
    /// things stand for the live), and the folded ones.
    pub(crate) fn reports(&self) -> (Vec<ServiceReport>, Vec<FoldedServices>) {
        // Live children report outside the lock: their reports take their own locks.
        let (mut reports, live, folded) = {
            let inner = self.lock();
            if inner.live.is_empty() && inner.kept.is_empty() && inner.folded.is_empty() {
                // The common case, a service without children: nothing to collect or sort.
                return (Vec::new(), Vec::new());
            }
            let live: Vec<(u64, Arc<Node>)> = inner.live.iter().map(|(_, l)| l.clone()).collect();
            (inner.kept.clone(), live, inner.folded.clone())
        };
        reports.extend(live.into_iter().map(|(order, node)| (order, node.report())));
        reports.sort_by_key(|(order, _)| *order);
        (
            reports.into_iter().map(|(_, report)| report).collect(),
            folded,
        )
    }

    /// For the live [state](crate::State) snapshot: the live children, the stopped ones
    /// kept in full (each turned by `stopped` while the lock is held: no clone of their
    /// reports), each with its start order, and the folded groups.
    ///
    /// Takes this node's children lock, which starting and stopping a child service takes,
    /// and no session ever does; the live children are read by the caller after it.
    pub(crate) fn for_state<T>(&self, stopped: impl Fn(&ServiceReport) -> T) -> ForState<T> {
        let inner = self.lock();
        ForState {
            live: inner.live.iter().map(|(_, l)| l.clone()).collect(),
            kept: inner
                .kept
                .iter()
                .map(|(order, report)| (*order, stopped(report)))
                .collect(),
            folded: inner.folded.clone(),
        }
    }

    /// The live children in the order they were started.
    pub(crate) fn live_in_order(&self) -> Vec<Arc<Node>> {
        let mut live: Vec<(u64, Arc<Node>)> = {
            let inner = self.lock();
            if inner.live.is_empty() {
                return Vec::new();
            }
            inner.live.iter().map(|(_, l)| l.clone()).collect()
        };
        live.sort_by_key(|(order, _)| *order);
        live.into_iter().map(|(_, node)| node).collect()
    }

    pub(crate) fn live(&self) -> Vec<Arc<Node>> {
        self.lock()
            .live
            .iter()
            .map(|(_, (_, node))| node.clone())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}
