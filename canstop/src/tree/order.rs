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

/// The live siblings named `names`, for a service named `service` about to start under
/// `parent`; `batch` are the names started in the same [`start_all`](crate::start_all) before
/// it (already live by then).
pub(crate) fn resolve_needs(
    parent: &Node,
    service: &str,
    names: &[String],
) -> Result<Vec<Arc<Node>>, SpawnError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let live = parent.children.live_in_order();
    let mut needs = Vec::new();
    for name in names {
        if name == service {
            return Err(SpawnError::DependencyCycle {
                services: vec![service.to_owned(), service.to_owned()],
            });
        }
        let before = needs.len();
        needs.extend(
            live.iter()
                .filter(|node| !node.token.is_cancelled() && node.name == *name)
                .cloned(),
        );
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
                let mut services: Vec<String> =
                    path[from..].iter().map(|&i| batch[i].0.to_owned()).collect();
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

/// Tells `children` (in start order) to stop in `order`, each once the siblings that stop
/// before it have stopped, sharing the time to `deadline` (see the [module docs](self)).
/// Ends early when `abort` fires (everything is aborted then).
pub(crate) async fn ordered_stop(
    children: Vec<Arc<Node>>,
    order: StopOrder,
    deadline: Option<Instant>,
    abort: tokio_util::sync::CancellationToken,
) {
    let n = children.len();
    // before[i]: the siblings that must have stopped before i is told to.
    let before: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| {
                    j != i
                        && ((order == StopOrder::Reverse && j > i)
                            || children[j]
                                .needs
                                .iter()
                                .any(|need| Arc::ptr_eq(need, &children[i])))
                })
                .collect()
        })
        .collect();
    // stages[i]: i, and the longest chain of siblings that stop after it (those that wait
    // for it). A sibling that stops after another started before it (a service starts after
    // what it needs), so compute from the first.
    let mut stages = vec![1_u32; n];
    for i in 0..n {
        for k in 0..i {
            if before[k].contains(&i) {
                stages[i] = stages[i].max(stages[k] + 1);
            }
        }
    }
    let mut told = vec![false; n];
    let mut done = vec![false; n];
    let mut waiting: Vec<(usize, Pin<Box<dyn Future<Output = ()> + Send>>)> = Vec::new();
    loop {
        for i in 0..n {
            if told[i] || !before[i].iter().all(|&j| done[j]) {
                continue;
            }
            told[i] = true;
            let now = Instant::now();
            let share = deadline.map(|deadline| {
                let left = deadline.saturating_duration_since(now);
                now + left / stages[i]
            });
            children[i].stop_by_parent(share);
            let child = children[i].clone();
            waiting.push((
                i,
                Box::pin(async move {
                    let stopped = child.stopped.wait();
                    match share {
                        Some(share) => {
                            let _ = tokio::time::timeout_at(share, stopped).await;
                        }
                        None => {
                            stopped.await;
                        }
                    }
                }),
            ));
        }
        if waiting.is_empty() {
            return;
        }
        let finished = tokio::select! {
            biased;
            () = abort.cancelled() => return,
            finished = std::future::poll_fn(|cx| {
                for (at, (i, future)) in waiting.iter_mut().enumerate() {
                    if future.as_mut().poll(cx).is_ready() {
                        return Poll::Ready((at, *i));
                    }
                }
                Poll::Pending
            }) => finished,
        };
        let (at, i) = finished;
        drop(waiting.swap_remove(at));
        done[i] = true;
    }
}
