//! The live state of the tree: [`State`], a snapshot taken at any moment with
//! [`canstop::state()`](crate::state) or [`Scope::state`](crate::Scope::state).
//!
//! # What a snapshot reads, and what it never does
//!
//! A snapshot walks the tree from the scope it is taken on. For each node it reads:
//!
//! - its phase: whether it has stopped (its outcome), was told to stop (its deadline), or
//!   else its readiness (starting, ready, restarting), from the node's own state;
//! - its restarts, from its supervision record (a lock the supervisor takes at a restart);
//! - its children, under the node's children lock (which starting and stopping a child
//!   service takes): the live ones are then read outside that lock, one by one, so that no
//!   two children locks are ever held together;
//! - its sessions per kind, **without any lock a session takes**: the counters are atomics in
//!   per-thread shards, the kinds `OnceLock` slots, both only loaded (see
//!   [`LiveCounts`](crate::session::sessions::LiveCounts)). The kinds beyond the first eight
//!   of one scope are counted under a lock by design; the snapshot only tries it, never
//!   waits, and says when it had to leave them out ([`NodeState::missing_kinds`]).
//!
//! So a snapshot never blocks a session's spawn or end, and never makes the tree wait for it:
//! what it shares with the tree are the cache lines of the counters while it reads them.
//! It is not one instant of the whole tree: every count is exact as of some moment during the
//! snapshot, and for every kind `started >= finished + failed + panicked + aborted`, hence
//! `live >= 0`.
//!
//! # Stopped services
//!
//! A stopped child that its parent keeps in full in the report (the first
//! [`KEPT_STOPPED`](crate::KEPT_STOPPED) of each scope) is in the snapshot as a node in phase
//! [`Phase::Stopped`], with its outcome and final counts, so that a snapshot shows the same
//! tree the report will; later ones are in [`NodeState::folded`], as the report folds them.
//! That costs a copy of their names and counts (no clone of a whole report) and is bounded
//! per scope.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::lifecycle::readiness::TreeNow;
use crate::lifecycle::trigger::Trigger;
use crate::report::{
    plural_s, Escaped, FoldedServices, ServiceOutcome, ServiceReport, SessionStats,
};
use crate::service::ready::Now;
use crate::session::kind::SessionKind;
use crate::session::sessions::Totals;
use crate::tree::children::ForState;
use crate::tree::node::Node;

/// A snapshot of the tree, or of one scope's subtree: every node's name, path, phase,
/// restarts, uptime and sessions per kind.
///
/// Taken with [`canstop::state()`](crate::state) (the whole tree, from anywhere inside it) or
/// [`Scope::state`](crate::Scope::state) (that scope's subtree, from any thread). Its
/// `Display` is a readable tree in the style of the [`Report`](crate::Report); behind the
/// `serde` feature it is `Serialize` and `Deserialize`, with every instant expressed as a
/// duration from the moment of the snapshot (an `Instant` has no meaning outside the
/// process).
///
/// # Guarantees
///
/// - Taking a snapshot never blocks a session's spawn or end and takes no lock a session
///   takes (the counters are atomics, only loaded); it may wait briefly for a service being started
///   or stopped in a scope it walks (that scope's children lock).
/// - For every kind of every node, and for [`State::sessions`],
///   `started >= finished + failed + panicked + aborted`, and
///   [`live`](SessionCounts::live) is their difference: counts are never torn so as to break
///   this, even while sessions churn on every thread.
/// - The counts only grow from one snapshot to the next; once the tree has drained, those of
///   [`State::sessions`] equal the [`Report`](crate::Report)'s.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use canstop::{Phase, Ready, Root, Service, Session, Shutdown};
///
/// Root::new()
///     .signals(false)
///     .run(async {
///         let db = canstop::start(
///             Service::new("db", |shutdown: Shutdown| async move {
///                 Ready::of(&shutdown).set(); // connected
///                 shutdown.requested().await;
///             })
///             .signals_ready(),
///         )?;
///         db.ready().await?;
///         canstop::spawn(Session::new("query", |shutdown: Shutdown| async move {
///             shutdown.requested().await;
///         }))?;
///
///         let state = canstop::state()?;
///         let db = state.node("db").unwrap();
///         assert_eq!(db.phase, Phase::Ready);
///         let queries = state.sessions_named("query").unwrap();
///         assert_eq!((queries.live, queries.started), (1, 1));
///         println!("{state}");
///
///         canstop::shutdown()?;
///         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
///     })
///     .await
///     .unwrap();
///
/// // Outside a tree: an error, not a panic.
/// assert_eq!(canstop::state().unwrap_err(), canstop::SpawnError::NoScope);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct State {
    /// Where the whole tree stands (also for a snapshot of one scope).
    pub tree: TreePhase,
    /// What started the shutdown, once something has.
    pub trigger: Option<Trigger>,
    /// The scope the snapshot was taken on (the root for [`canstop::state()`](crate::state)),
    /// with its subtree.
    pub root: NodeState,
    /// Every kind of session in [`root`](Self::root)'s subtree, stopped and folded services
    /// included, summed per kind over the scopes it ran in.
    pub sessions: Vec<SessionCounts>,
}

/// Where the whole tree stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum TreePhase {
    /// Running, not ready: `main`'s body has not returned yet, or a service is not ready
    /// (starting, or restarting).
    NotReady,
    /// `main`'s body has returned `Ok` and every live service is ready.
    Ready,
    /// The shutdown has started.
    Stopping,
    /// The tree has stopped: its report is made (a snapshot taken from another thread, or
    /// kept after the run), or its run was dropped before its end (the tree was aborted, and
    /// no report is made).
    Stopped,
}

/// One node of the tree: the root scope, or a service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NodeState {
    /// Its name (empty for the root).
    pub name: String,
    /// Its path from the root, names joined by `/` (empty for the root).
    pub path: String,
    /// Its phase.
    pub phase: Phase,
    /// How many times its restart policy started it again.
    pub restarts: u64,
    /// How long its current instance has been running (since its body was built); `None`
    /// for the root, before its first instance, between two instances (restarting), and once
    /// it has stopped.
    pub uptime: Option<Duration>,
    /// The sessions of its scope, per kind.
    pub sessions: Vec<SessionCounts>,
    /// Whether kinds of its sessions are missing from [`sessions`](Self::sessions): the
    /// kinds beyond the first eight of a scope are counted under a lock, which the snapshot
    /// does not wait for; it was busy (rare: only scopes with more than eight kinds).
    pub missing_kinds: bool,
    /// Its child services in the order they were started: the live ones, and the stopped
    /// ones kept in full (phase [`Phase::Stopped`]).
    pub children: Vec<NodeState>,
    /// Its stopped child services beyond those kept in full, folded per name as the report
    /// folds them.
    pub folded: Vec<FoldedServices>,
}

/// A node's phase.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Phase {
    /// The root scope, before the shutdown: it has no readiness of its own (see
    /// [`State::tree`] for the tree's).
    Running,
    /// Its current instance is being built, waits for what it
    /// [needs](crate::Service::needs), or has not said it is [ready](crate::Ready) yet.
    Starting,
    /// Its current instance is ready.
    Ready,
    /// Between two instances: its last instance ended early and its restart policy
    /// scheduled the next.
    Restarting {
        /// The restart about to be made, from 1 (its [`restarts`](NodeState::restarts) + 1).
        attempt: u64,
        /// How long until the next instance is built (the backoff left); zero when due.
        next_try_in: Duration,
    },
    /// Told to stop (or ended for good), and waiting for its body, sessions and children.
    Stopping {
        /// How long until its deadline, when it has one (zero once past); `None` when
        /// nothing above or at it has a deadline yet (it ended for good on its own).
        deadline_in: Option<Duration>,
    },
    /// Fully stopped: its body, sessions and children are done. The root is once the tree
    /// has stopped (its outcome is then `Stopped`: how `main` and the tree ended is the
    /// report's to say).
    Stopped {
        /// How its body ended.
        outcome: ServiceOutcome,
    },
}

impl Phase {
    /// A small number for the phase, as the `metrics` feature exports it
    /// (`canstop_service_phase`): 0 running (the root), 1 starting, 2 ready, 3 restarting,
    /// 4 stopping, 5 stopped.
    pub fn code(&self) -> u8 {
        match self {
            Self::Running => 0,
            Self::Starting => 1,
            Self::Ready => 2,
            Self::Restarting { .. } => 3,
            Self::Stopping { .. } => 4,
            Self::Stopped { .. } => 5,
        }
    }
}

/// What the sessions of one kind in one scope (or a subtree) have done so far, and how many
/// are running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SessionCounts {
    /// The kind: name and source location.
    pub kind: SessionKind,
    /// Running now: `started - (finished + failed + panicked + aborted)`.
    pub live: u64,
    /// Admitted and started.
    pub started: u64,
    /// Returned `()` or `Ok`.
    pub finished: u64,
    /// Returned `Err`.
    pub failed: u64,
    /// Panicked.
    pub panicked: u64,
    /// Aborted at a deadline.
    pub aborted: u64,
}

impl SessionCounts {
    /// `finished + failed + panicked + aborted`.
    pub fn ended(&self) -> u64 {
        self.finished + self.failed + self.panicked + self.aborted
    }

    fn from_stats(stats: &SessionStats) -> Self {
        Self {
            kind: stats.kind,
            live: stats.started.saturating_sub(stats.ended()),
            started: stats.started,
            finished: stats.finished,
            failed: stats.failed,
            panicked: stats.panicked,
            aborted: stats.aborted,
        }
    }

    fn stats(&self) -> SessionStats {
        let mut stats = SessionStats::new(self.kind);
        stats.started = self.started;
        stats.finished = self.finished;
        stats.failed = self.failed;
        stats.panicked = self.panicked;
        stats.aborted = self.aborted;
        stats
    }
}

impl State {
    /// Every node of the snapshot, its root first, parents before their children.
    pub fn nodes(&self) -> Vec<&NodeState> {
        fn go<'a>(node: &'a NodeState, all: &mut Vec<&'a NodeState>) {
            all.push(node);
            for child in &node.children {
                go(child, all);
            }
        }
        let mut all = Vec::new();
        go(&self.root, &mut all);
        all
    }

    /// The node at `path` (names joined by `/`; `""` for the root of a whole-tree snapshot).
    /// A stopped service kept in full is found too; a restarted service's path is its own.
    pub fn node(&self, path: &str) -> Option<&NodeState> {
        // The live node first, when a stopped one of the same path is kept too.
        let nodes = self.nodes();
        nodes
            .iter()
            .find(|node| node.path == path && !matches!(node.phase, Phase::Stopped { .. }))
            .or_else(|| nodes.iter().find(|node| node.path == path))
            .copied()
    }

    /// The counts of the sessions named `name`, summed over every location with that name.
    pub fn sessions_named(&self, name: &str) -> Option<SessionCounts> {
        let mut matching = self.sessions.iter().filter(|s| s.kind.name() == name);
        let mut total = *matching.next()?;
        for counts in matching {
            total.live += counts.live;
            total.started += counts.started;
            total.finished += counts.finished;
            total.failed += counts.failed;
            total.panicked += counts.panicked;
            total.aborted += counts.aborted;
        }
        Some(total)
    }

    /// How many sessions are running in the snapshot's subtree.
    pub fn live_sessions(&self) -> u64 {
        self.sessions.iter().map(|counts| counts.live).sum()
    }
}

/// Takes a snapshot of `node`'s subtree.
pub(crate) fn snapshot(node: &Node) -> State {
    // The tree's clock (tokio's, paused in tests), also from a plain thread.
    let _clock = node.tree.runtime.enter();
    let now = Instant::now();
    let root = node_state(node, now);
    let mut totals = Totals::default();
    add_totals(&mut totals, &root);
    State {
        tree: match node.tree.readiness.now() {
            _ if node.tree.is_finished() => TreePhase::Stopped,
            TreeNow::NotReady => TreePhase::NotReady,
            TreeNow::Ready => TreePhase::Ready,
            TreeNow::Stopping => TreePhase::Stopping,
        },
        trigger: node.tree.trigger_info(),
        root,
        sessions: totals
            .into_vec()
            .iter()
            .map(SessionCounts::from_stats)
            .collect(),
    }
}

fn add_totals(totals: &mut Totals, node: &NodeState) {
    for counts in &node.sessions {
        totals.add(&counts.stats());
    }
    for group in &node.folded {
        group.sessions.iter().for_each(|stats| totals.add(stats));
    }
    for child in &node.children {
        add_totals(totals, child);
    }
}

fn node_state(node: &Node, now: Instant) -> NodeState {
    let is_root = node.path.is_empty();
    let snapshot = node.readiness.snapshot();
    let restarts = node.record.restarts();
    let phase = if is_root && node.tree.is_finished() {
        Phase::Stopped {
            outcome: ServiceOutcome::Stopped,
        }
    } else if node.stopped.initialized() {
        Phase::Stopped {
            outcome: node.outcome().unwrap_or(ServiceOutcome::Unresponsive),
        }
    } else if node.stopping.is_set() || matches!(snapshot.now, Now::Gone(_)) {
        Phase::Stopping {
            deadline_in: node
                .deadline()
                .map(|deadline| deadline.saturating_duration_since(now)),
        }
    } else if is_root {
        Phase::Running
    } else {
        match snapshot.now {
            Now::NotReady => Phase::Starting,
            Now::Ready => Phase::Ready,
            Now::Restarting { next_try } => Phase::Restarting {
                attempt: restarts + 1,
                next_try_in: next_try.saturating_duration_since(now),
            },
            Now::Gone(_) => unreachable!("handled above"),
        }
    };
    let uptime = match phase {
        // No instance runs between two instances either.
        Phase::Stopped { .. } | Phase::Restarting { .. } => None,
        _ => snapshot
            .instance_started
            .map(|started| now.saturating_duration_since(started)),
    };
    let counts = node.sessions.live_counts();
    let ForState { live, kept, folded } = node.children.for_state(stopped_state);
    let mut children: Vec<(u64, NodeState)> = kept;
    children.extend(
        live.into_iter()
            .map(|(order, child)| (order, node_state(&child, now))),
    );
    children.sort_by_key(|(order, _)| *order);
    NodeState {
        name: node.name().to_owned(),
        path: node.path.clone(),
        phase,
        restarts,
        uptime,
        sessions: counts.kinds.iter().map(SessionCounts::from_stats).collect(),
        missing_kinds: counts.missing_kinds,
        children: children.into_iter().map(|(_, child)| child).collect(),
        folded,
    }
}

/// A stopped service kept in full, from its final report.
fn stopped_state(report: &ServiceReport) -> NodeState {
    NodeState {
        name: report.name.clone(),
        path: report.path.clone(),
        phase: Phase::Stopped {
            outcome: report.outcome.clone(),
        },
        restarts: report.restarts,
        uptime: None,
        sessions: report
            .sessions
            .iter()
            .map(SessionCounts::from_stats)
            .collect(),
        missing_kinds: false,
        children: report.children.iter().map(stopped_state).collect(),
        folded: report.folded.clone(),
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tree = match self.tree {
            TreePhase::NotReady => "not ready",
            TreePhase::Ready => "ready",
            TreePhase::Stopping => "stopping",
            TreePhase::Stopped => "stopped",
        };
        write!(
            f,
            "canstop state: tree {tree}; {} session{} live",
            self.live_sessions(),
            plural_s(self.live_sessions())
        )?;
        if let Some(trigger) = &self.trigger {
            write!(f, "; trigger: {trigger}")?;
        }
        writeln!(f)?;
        write_node(f, &self.root, 1)?;
        if self.sessions.is_empty() {
            write!(f, "  sessions: none")
        } else {
            write!(f, "  sessions:")?;
            for counts in &self.sessions {
                write!(f, "\n    {counts}")?;
            }
            Ok(())
        }
    }
}

fn write_node(f: &mut fmt::Formatter<'_>, node: &NodeState, depth: usize) -> fmt::Result {
    let indent = "  ".repeat(depth);
    if node.path.is_empty() {
        match node.phase {
            // How `main` and the tree ended is the report's to say, not "cleanly".
            Phase::Stopped { .. } => write!(f, "{indent}root: stopped")?,
            _ => write!(f, "{indent}root: {}", node.phase)?,
        }
    } else {
        write!(f, "{indent}{}: {}", Escaped(&node.name), node.phase)?;
    }
    if let Some(uptime) = node.uptime {
        write!(f, ", up {uptime:?}")?;
    }
    if node.restarts > 0 {
        let times = if node.restarts == 1 { "time" } else { "times" };
        write!(f, "; restarted {} {times}", node.restarts)?;
    }
    writeln!(f)?;
    for counts in node.sessions.iter().filter(|counts| counts.live > 0) {
        writeln!(f, "{indent}    {counts}")?;
    }
    if node.missing_kinds {
        writeln!(
            f,
            "{indent}    (more kinds of session, not read: their lock was busy)"
        )?;
    }
    for child in &node.children {
        write_node(f, child, depth + 1)?;
    }
    for group in &node.folded {
        let name = if group.other_names {
            "of other names".to_owned()
        } else {
            format!("named {}", Escaped(&group.name))
        };
        writeln!(
            f,
            "{indent}  {} more stopped service{} {name}: clean={} failed={} panicked={} aborted={}",
            group.count,
            plural_s(group.count),
            group.clean,
            group.failed,
            group.panicked,
            group.aborted
        )?;
    }
    Ok(())
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Running => f.write_str("running"),
            Self::Starting => f.write_str("starting"),
            Self::Ready => f.write_str("ready"),
            Self::Restarting {
                attempt,
                next_try_in,
            } => write!(
                f,
                "restarting (attempt {attempt}, next try in {next_try_in:?})"
            ),
            Self::Stopping {
                deadline_in: Some(left),
            } => write!(f, "stopping (deadline in {left:?})"),
            Self::Stopping { deadline_in: None } => f.write_str("stopping"),
            Self::Stopped { outcome } => write!(f, "{outcome}"),
        }
    }
}

impl fmt::Display for SessionCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: live={} started={} finished={} failed={} panicked={} aborted={}",
            self.kind,
            self.live,
            self.started,
            self.finished,
            self.failed,
            self.panicked,
            self.aborted
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::lifecycle::shared::Tree;
    use crate::service::policy::Strategy;
    use crate::tree::node::Supervision;
    use crate::tree::order::StopOrder;

    /// Each phase is read from what the node has: its readiness, its stop, its end.
    #[tokio::test(start_paused = true)]
    async fn the_phase_follows_the_node() {
        let tree = Tree::new(
            Duration::from_secs(5),
            Duration::ZERO,
            tokio::runtime::Handle::current(),
        );
        let root = Node::root(tree, Strategy::OneForOne, StopOrder::ByDependency);
        let (_, db) = root
            .children
            .admit(|| root.child(root.child_path("db"), Supervision::default()))
            .unwrap();
        let phase = |path: &str| snapshot(&root).node(path).unwrap().phase.clone();
        assert_eq!(phase(""), Phase::Running);
        assert_eq!(phase("db"), Phase::Starting);
        db.mark_ready(0);
        assert_eq!(phase("db"), Phase::Ready);
        db.readiness_restarting(Instant::now() + Duration::from_millis(300));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(
            phase("db"),
            Phase::Restarting {
                attempt: 1,
                next_try_in: Duration::from_millis(200)
            }
        );
        db.request_stop();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            phase("db"),
            Phase::Stopping {
                deadline_in: Some(Duration::from_secs(4))
            }
        );
        assert_eq!(
            phase(""),
            Phase::Running,
            "a child's stop is not the root's"
        );
        db.set_outcome(ServiceOutcome::Stopped);
        db.stopped.set(()).unwrap();
        assert_eq!(
            phase("db"),
            Phase::Stopped {
                outcome: ServiceOutcome::Stopped
            }
        );
        assert_eq!(snapshot(&root).node("db").unwrap().uptime, None);
    }

    /// The text shows the tree, the phases and the live sessions.
    #[tokio::test(start_paused = true)]
    async fn the_text_shows_the_tree() {
        let tree = Tree::new(
            Duration::from_secs(5),
            Duration::ZERO,
            tokio::runtime::Handle::current(),
        );
        let root = Node::root(tree, Strategy::OneForOne, StopOrder::ByDependency);
        let (_, db) = root
            .children
            .admit(|| root.child(root.child_path("db"), Supervision::default()))
            .unwrap();
        db.mark_ready(0);
        let kind = SessionKind::new("query", "src/db.rs", 7, 1);
        let _live = db.sessions.admit(kind).unwrap();
        let mut done = db.sessions.admit(kind).unwrap();
        let _ = db
            .sessions
            .settle(&mut done, crate::session::sessions::Settle::Finished);
        let text = snapshot(&root).to_string();
        assert_eq!(
            text,
            "canstop state: tree not ready; 1 session live\n  \
             root: running\n    \
             db: ready\n        \
             query at src/db.rs:7: live=1 started=2 finished=1 failed=0 panicked=0 aborted=0\n  \
             sessions:\n    \
             query at src/db.rs:7: live=1 started=2 finished=1 failed=0 panicked=0 aborted=0",
        );
    }
}
