//! Restart rounds: how a parent whose [`Strategy`] is one-for-all or rest-for-one restarts
//! its children together.
//!
//! # The round
//!
//! A child whose restart policy restarts it asks its parent for a round. The round's members
//! are that child and the siblings its strategy names (the restartable ones: all of them, or
//! those started after it), in start order. Each sibling's current instance is stopped (its
//! body's [`Shutdown`](crate::Shutdown) fires; its timeout bounds it). Every member then
//! waits until every member's instance has ended, and until every member before it has
//! started its new instance: the restart happens in start order, after the whole group has
//! stopped, as OTP does it.
//!
//! # Invariants
//!
//! - A parent has at most one round at a time; a child that fails while one is under way
//!   joins it if it is a member that has not restarted in it yet (its instance ended: that is
//!   its part), else waits for it to finish and starts the next. A failure counts toward the
//!   intensity limit and waits its backoff either way. Membership is decided under the one lock, so a child never
//!   waits for a round that waits for it.
//! - A member that leaves (told to stop, or failing for good) counts as ended and started, so
//!   no member waits for it: its [`Turn`] does that when dropped.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::lifecycle::log::log;
use crate::service::policy::{Restart, Strategy};
use crate::sync::locking::lock;
use crate::tree::node::Node;

/// A parent's current round, if any.
#[derive(Default)]
pub(crate) struct Rounds {
    active: Mutex<Option<Arc<Round>>>,
}

pub(crate) struct Round {
    /// In start order.
    members: Vec<Arc<Node>>,
    state: watch::Sender<State>,
}

#[derive(Debug, Clone)]
struct State {
    ended: Vec<bool>,
    started: Vec<bool>,
}

/// One member's place in a round. Dropped without [`started`](Self::started), it leaves the
/// round: it counts as ended and started, so that the others go on.
pub(crate) struct Turn {
    round: Arc<Round>,
    index: usize,
    parent: Arc<Node>,
}

impl Rounds {
    /// The round under way, when `child` is a member that has not started its new instance
    /// in it yet: its instance's end is its part in the round. (A member that has restarted
    /// already and ends again has failed anew: that is not the round's.)
    pub(crate) fn pending_member(&self, parent: &Arc<Node>, child: &Arc<Node>) -> Option<Turn> {
        let active = lock(&self.active);
        let round = active.as_ref()?;
        let index = round.index_of(child)?;
        if round.state.borrow().started[index] {
            return None;
        }
        Some(Turn::new(round.clone(), index, parent.clone()))
    }

    /// Joins the round under way (if `child` is a member) or starts one for `child`'s restart
    /// (after the one under way, if any, has finished).
    pub(crate) async fn join_or_begin(&self, parent: &Arc<Node>, child: &Arc<Node>) -> Turn {
        loop {
            let wait = {
                let mut active = lock(&self.active);
                match active.as_ref() {
                    Some(round) => match round.index_of(child) {
                        Some(index) if !round.state.borrow().started[index] => {
                            return Turn::new(round.clone(), index, parent.clone())
                        }
                        // Not a member, or one that failed anew after restarting in it: the
                        // next round, once this one is over.
                        _ => round.state.subscribe(),
                    },
                    None => {
                        let round = Arc::new(Round::new(parent, child));
                        let index = round.index_of(child).unwrap_or_default();
                        let siblings = || {
                            round
                                .members
                                .iter()
                                .filter(|member| !Arc::ptr_eq(member, child))
                        };
                        siblings().for_each(|member| member.stop_instance());
                        *active = Some(round.clone());
                        drop(active);
                        // Logged once the round is under way and its lock released: a
                        // subscriber that blocks holds this thread only.
                        for member in siblings() {
                            log(
                                || tracing::info!(service = %member.path, failed = %child.path, strategy = %parent.strategy, "stopping a sibling for its restart"),
                            );
                        }
                        return Turn::new(round, index, parent.clone());
                    }
                }
            };
            let mut wait = wait;
            // Finished when every member has started (or left).
            let _ = wait
                .wait_for(|state| state.started.iter().all(|&started| started))
                .await;
        }
    }

    /// Forgets `round` once it has finished.
    fn finish(&self, round: &Arc<Round>) {
        let mut active = lock(&self.active);
        if active.as_ref().is_some_and(|r| Arc::ptr_eq(r, round)) {
            *active = None;
        }
    }
}

impl Round {
    /// The round for `failed`'s restart under its parent's strategy.
    fn new(parent: &Node, failed: &Arc<Node>) -> Self {
        let children = parent.children.live_in_order();
        let failed_at = children
            .iter()
            .position(|node| Arc::ptr_eq(node, failed))
            .unwrap_or_default();
        let members: Vec<Arc<Node>> = children
            .into_iter()
            .enumerate()
            .filter(|(at, node)| {
                if Arc::ptr_eq(node, failed) {
                    return true;
                }
                let named = match parent.strategy {
                    Strategy::OneForOne => false,
                    Strategy::OneForAll => true,
                    Strategy::RestForOne => *at > failed_at,
                };
                named && node.restart != Restart::Never && !node.stopping.is_set()
            })
            .map(|(_, node)| node)
            .collect();
        let count = members.len();
        Self {
            members,
            state: watch::Sender::new(State {
                ended: vec![false; count],
                started: vec![false; count],
            }),
        }
    }

    fn index_of(&self, node: &Arc<Node>) -> Option<usize> {
        self.members.iter().position(|m| Arc::ptr_eq(m, node))
    }
}

impl Turn {
    fn new(round: Arc<Round>, index: usize, parent: Arc<Node>) -> Self {
        Self {
            round,
            index,
            parent,
        }
    }

    /// This member's instance has ended (and its children have stopped).
    pub(crate) fn ended(&self) {
        self.round
            .state
            .send_modify(|state| state.ended[self.index] = true);
    }

    /// Completes when every member's instance has ended and every member before this one has
    /// started its new instance. Cancel-safe.
    pub(crate) async fn wait(&self) {
        let index = self.index;
        let mut state = self.round.state.subscribe();
        let _ = state
            .wait_for(|state| {
                state.ended.iter().all(|&ended| ended)
                    && state.started[..index].iter().all(|&started| started)
            })
            .await;
    }

    /// This member's new instance is built: the next may start (what dropping the turn does).
    pub(crate) fn started(self) {}

    fn mark_started(&self) {
        let index = self.index;
        let mut finished = false;
        self.round.state.send_modify(|state| {
            state.ended[index] = true;
            state.started[index] = true;
            finished = state.started.iter().all(|&started| started);
        });
        if finished {
            self.parent.rounds.finish(&self.round);
        }
    }
}

/// A turn ends exactly once: when its member has built its new instance, or when it leaves
/// the round (told to stop, or given up): either way the others go on.
impl Drop for Turn {
    fn drop(&mut self) {
        self.mark_started();
    }
}
