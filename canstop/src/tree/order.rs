//! Start and stop order among the children of one node: what a service
//! [needs](crate::Service::needs), and the order they stop in.
//!
//! # The stop walk
//!
//! When a node stops, its children are told to stop by one walk, the only mechanism that
//! stops them (their stop tokens do not descend from the parent's; only the abort tokens do,
//! so a deadline still reaches everything at once):
//!
//! - without an order to keep (no child needs a sibling, and the parent's [`StopOrder`] is
//!   [`ByDependency`](StopOrder::ByDependency)), every child is told at once, in the caller's
//!   thread;
//! - otherwise a task of its own tells each child to stop once every sibling that must stop
//!   before it has stopped: the services that need it (dependents first), and, with
//!   [`StopOrder::Reverse`] (or for the roll-back of a failed start-up), every sibling started
//!   after it.
//!
//! # How the deadline is shared
//!
//! An ordered stop still ends by its parent's deadline. A child told to stop at `t` gets a
//! deadline of its own, `t + (parent's deadline − t) / stages`, where `stages` counts it and
//! the longest chain of siblings that can only stop after it. So a dependent that never stops
//! is aborted at its share, and what it needs still gets a fair share of the time left; a
//! child that stops early leaves its unused time to the next ones. A child's own
//! [`timeout`](crate::Service::timeout), if shorter, still applies. The walk moves on from a
//! child at its share's end (it was aborted then), also if its task is stuck.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::time::Instant;

use crate::error::SpawnError;
use crate::tree::node::Node;

/// The order in which a parent's children stop. Set on the parent:
/// [`Service::stop_order`](crate::Service::stop_order), or
/// [`Root::stop_order`](crate::Root::stop_order) for `main`'s services.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopOrder {
    /// Services that [need](crate::Service::needs) others stop before them; siblings with no
    /// dependency between them stop concurrently.
    #[default]
    ByDependency,
    /// One at a time, in reverse start order (OTP's supervisors): each is told to stop once
    /// every sibling started after it has stopped. (This keeps the dependency order too: a
    /// service starts after what it needs.)
    Reverse,
}

impl StopOrder {
    /// As the `stop_order = "..."` option writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ByDependency => "by-dependency",
            Self::Reverse => "reverse",
        }
    }
}

impl std::fmt::Display for StopOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The siblings named `names`, for a service named `service` about to start under
/// `parent`: the services of its [`start_all`](crate::start_all) batch started before it
/// (`batch`, whatever their state), and the running siblings of that name.
pub(crate) fn resolve_needs(
    parent: &Node,
    service: &str,
    names: &[String],
    batch: &[Arc<Node>],
) -> Result<Vec<Arc<Node>>, SpawnError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let live = parent.children.live_in_order();
    let mut needs: Vec<Arc<Node>> = Vec::new();
    for name in names {
        if name == service {
            return Err(SpawnError::DependencyCycle {
                services: vec![service.to_owned(), service.to_owned()],
            });
        }
        let before = needs.len();
        let in_batch = batch.iter().filter(|node| node.name() == *name);
        let running = live
            .iter()
            .filter(|node| !node.stopping.is_set() && node.name() == *name);
        for node in in_batch.chain(running) {
            if !needs.iter().any(|known| Arc::ptr_eq(known, node)) {
                needs.push(node.clone());
            }
        }
        if needs.len() == before {
            return Err(SpawnError::UnknownDependency {
                service: service.to_owned(),
                needs: name.clone(),
            });
        }
    }
    Ok(needs)
}

/// The order to start `names` in (each with the names it needs), so that every service
/// starts after the ones of the batch it needs: indices into `names`. A name needed that is
/// not in the batch is left to [`resolve_needs`] (a live sibling, or an error then). A
/// circle is an error, naming it.
pub(crate) fn start_order(batch: &[(&str, &[String])]) -> Result<Vec<usize>, SpawnError> {
    // Depth-first, in the given order: a service's needs first.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    fn visit(
        at: usize,
        batch: &[(&str, &[String])],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), SpawnError> {
        match marks[at] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                let from = path.iter().position(|&i| i == at).unwrap_or(0);
                let mut services: Vec<String> = path[from..]
                    .iter()
                    .map(|&i| batch[i].0.to_owned())
                    .collect();
                services.push(batch[at].0.to_owned());
                return Err(SpawnError::DependencyCycle { services });
            }
            Mark::New => {}
        }
        marks[at] = Mark::Visiting;
        path.push(at);
        for need in batch[at].1 {
            for (i, (name, _)) in batch.iter().enumerate() {
                if name == need {
                    visit(i, batch, marks, path, order)?;
                }
            }
        }
        path.pop();
        marks[at] = Mark::Done;
        order.push(at);
        Ok(())
    }
    let mut marks = vec![Mark::New; batch.len()];
    let mut order = Vec::with_capacity(batch.len());
    for at in 0..batch.len() {
        visit(at, batch, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// Whether stopping `children` (in start order) needs the ordered walk.
pub(crate) fn is_ordered(order: StopOrder, children: &[Arc<Node>]) -> bool {
    children.len() > 1
        && (order == StopOrder::Reverse || children.iter().any(|child| !child.needs.is_empty()))
}

/// Tells `parent`'s `children` (in start order) to stop: through the ordered walk when
/// [`is_ordered`] (spawned on the tree's runtime; with `late`, the parent's own stop, it
/// waits for children admitted meanwhile too, and `deadline` as [`ordered_stop`] takes it),
/// else each at once. `for_restart`: they stop for the parent's restart (see
/// [`StopInfo::for_restart`](crate::lifecycle::shared::StopInfo)), each with its own timeout;
/// else with the parent's stop. The deadline is only asked for by the walk: the common stop
/// (no child, or none ordered) reads no clock and clones nothing.
pub(crate) fn stop_children(
    parent: &Arc<Node>,
    late: bool,
    children: &[Arc<Node>],
    order: StopOrder,
    deadline: impl FnOnce() -> Option<Instant>,
    for_restart: bool,
) {
    if is_ordered(order, children) {
        let walk = ordered_stop(
            late.then(|| parent.clone()),
            children.to_vec(),
            order,
            for_restart,
            deadline(),
            parent.abort().clone(),
        );
        drop(parent.tree.runtime.spawn(walk));
    } else if for_restart {
        children.iter().for_each(|child| child.stop_for_restart());
    } else {
        children
            .iter()
            .for_each(|child| child.stop_by_parent(None, false));
    }
}

/// Waits for one child told to stop, up to its share of the deadline.
type StopWait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One child in the walk.
struct Step {
    node: Arc<Node>,
    /// When it was told to stop, and its share of the deadline (`None`: not told yet).
    told: Option<Option<Instant>>,
}

impl Step {
    /// It no longer holds back what must stop after it: it has stopped, or its share of the
    /// deadline is over (it was aborted then).
    fn is_done(&self, now: Instant) -> bool {
        self.node.stopped.initialized() || matches!(self.told, Some(Some(share)) if share <= now)
    }
}

/// Tells `children` (in start order) to stop in `order`, each once the siblings that stop
/// before it are done, sharing the time to `deadline` (see the [module docs](self)).
///
/// With `late` (the parent's own stop), children admitted while the walk runs (they start
/// stopped) are waited for too, before what they need is told. When `abort` fires, every
/// child not told yet is told at once and the walk ends (the abort takes it from there).
/// `for_restart`: the children stop for their parent's restart (see
/// [`StopInfo::for_restart`](crate::lifecycle::shared::StopInfo)).
pub(crate) async fn ordered_stop(
    late: Option<Arc<Node>>,
    children: Vec<Arc<Node>>,
    order: StopOrder,
    for_restart: bool,
    deadline: Option<Instant>,
    abort: tokio_util::sync::CancellationToken,
) {
    let mut known: HashSet<usize> = children.iter().map(address).collect();
    let mut steps: Vec<Step> = children
        .into_iter()
        .map(|node| Step { node, told: None })
        .collect();
    loop {
        if let Some(parent) = &late {
            // Admitted since (stopped from the start): in start order, after the others.
            for node in parent.children.live_in_order() {
                if known.insert(address(&node)) {
                    steps.push(Step {
                        node,
                        told: Some(None),
                    });
                }
            }
        }
        let now = Instant::now();
        tell_ready_ones(&mut steps, order, for_restart, deadline, now);
        let waiting: Vec<StopWait> = steps
            .iter()
            .filter(|step| step.told.is_some() && !step.is_done(now))
            .map(|step| {
                let node = step.node.clone();
                let share = step.told.flatten();
                Box::pin(async move {
                    let stopped = node.stopped.wait();
                    match share {
                        Some(share) => {
                            let _ = tokio::time::timeout_at(share, stopped).await;
                        }
                        None => {
                            stopped.await;
                        }
                    }
                }) as StopWait
            })
            .collect();
        if waiting.is_empty() {
            // Everything told is done, so nothing holds the rest back (the needs between
            // siblings point to earlier ones: no circle); tell what is left, defensively.
            for step in steps.iter().filter(|step| step.told.is_none()) {
                step.node.stop_by_parent(None, for_restart);
            }
            return;
        }
        let mut waiting = waiting;
        tokio::select! {
            biased;
            () = abort.cancelled() => {
                for step in steps.iter().filter(|step| step.told.is_none()) {
                    step.node.stop_by_parent(None, for_restart);
                }
                return;
            }
            () = std::future::poll_fn(|cx| {
                if waiting.iter_mut().any(|wait| wait.as_mut().poll(cx).is_ready()) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }) => {}
        }
    }
}

/// Tells every child whose predecessors in the stop are done, with its share of the time
/// left.
fn tell_ready_ones(
    steps: &mut [Step],
    order: StopOrder,
    for_restart: bool,
    deadline: Option<Instant>,
    now: Instant,
) {
    let n = steps.len();
    let done: Vec<bool> = steps.iter().map(|step| step.is_done(now)).collect();
    let index: HashMap<usize, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| (address(&step.node), i))
        .collect();
    let at = |need: &Arc<Node>| index.get(&address(need)).copied();
    // held[i]: a sibling that must stop before i is not done yet. stages[i]: i and the
    // longest chain of siblings not done that stop after it (those started before it).
    let mut held = vec![false; n];
    let mut stages = vec![1_u32; n];
    match order {
        StopOrder::Reverse => {
            let mut later_pending = false;
            for i in (0..n).rev() {
                held[i] = later_pending;
                later_pending |= !done[i];
            }
            let mut pending = 0_u32;
            for i in 0..n {
                pending += u32::from(!done[i]);
                stages[i] = pending.max(1);
            }
        }
        StopOrder::ByDependency => {
            for i in 0..n {
                let mut deepest = 0;
                for j in steps[i].node.needs.iter().filter_map(at) {
                    if !done[i] {
                        held[j] = true;
                    }
                    if j < i && !done[j] {
                        deepest = deepest.max(stages[j]);
                    }
                }
                stages[i] = deepest.saturating_add(1);
            }
        }
    }
    for i in 0..n {
        if steps[i].told.is_some() || held[i] {
            continue;
        }
        let share = deadline.map(|deadline| {
            let left = deadline.saturating_duration_since(now);
            now + left / stages[i]
        });
        steps[i].told = Some(share);
        steps[i].node.stop_by_parent(share, for_restart);
    }
}

/// A node's identity, as a key (what `Arc::ptr_eq` compares).
fn address(node: &Arc<Node>) -> usize {
    Arc::as_ptr(node).addr()
}
