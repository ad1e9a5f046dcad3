//! A node of the supervisor tree: the root (the program) or one service. A node owns a scope
//! (its sessions) and its child services, knows when it was told to stop and by when it must
//! be done, and can report on itself at any moment.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::SetOnce;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::error::ReadyError;
use crate::lifecycle::events::Event;
use crate::lifecycle::grace::Graces;
use crate::lifecycle::log::log;
use crate::lifecycle::shared::{deadline_after, StopInfo, Tree};
use crate::report::{ServiceOutcome, ServiceReport, SessionStats};
use crate::service::escalate::Inbox;
use crate::service::policy::{Restart, Strategy};
use crate::service::ready::{Change, Readiness};
use crate::service::record::Record;
use crate::service::strategy::Rounds;
use crate::session::sessions::Sessions;
use crate::sync::latch::Latch;
use crate::sync::locking::lock;
use crate::tree::children::Children;
use crate::tree::order::{self, StopOrder};

/// What cut a node's work off at its abort (see [`Node::cut`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// A second signal, before the deadline.
    Forced,
    /// The deadline.
    Deadline,
    /// [`Root::run`](crate::Root::run)'s future, dropped before its end.
    RunDropped,
}

/// The root, or one service.
///
/// `repr(C)` with `sessions` first: its admission gate, which every session of the scope
/// enters and leaves, then shares a cache line with the `Arc`'s reference counts, which the
/// same spawns and ends touch.
#[repr(C)]
pub(crate) struct Node {
    pub(crate) sessions: Sessions,
    /// Names from the root's children down to this node, joined by `/` (empty for the root).
    /// Its own name is the last (see [`name`](Self::name)).
    pub(crate) path: String,
    pub(crate) tree: Arc<Tree>,
    /// Weak: a parent owns its live children, not the other way round.
    parent: Option<Weak<Node>>,
    /// Set when this node is told to stop: what [`Shutdown`] and the node's own tasks wait
    /// on (see [`Latch`] for why not a `CancellationToken`). A child's is not set by its
    /// parent's: the parent's stop walk tells each child, in order (see [`order`]); an
    /// instance node's is set by its service's stop. The root's stop also cancels the tree's
    /// token.
    ///
    /// [`Shutdown`]: crate::Shutdown
    pub(crate) stopping: Latch,
    /// Fires when this node must give up waiting and abort what is left: at its own deadline,
    /// or an ancestor's (a child of the parent's abort token). Made on first use (see
    /// [`abort`](Self::abort)); the root's is the tree's.
    abort: OnceLock<CancellationToken>,
    /// The node's own stop timeout; the tree's when `None`.
    timeout: Option<Duration>,
    /// Its stop, once recorded (a lock costs less than a `OnceLock`'s initialisation, as for
    /// `end`).
    stop: Mutex<Option<StopInfo>>,
    /// How its body ended, and how long its stop took, once known: written once each, by
    /// its supervisor (a lock costs less than a `OnceLock`'s initialisation).
    end: Mutex<End>,
    pub(crate) children: Children,
    /// Where its name starts in `path`. (Packed with the four one-byte fields below, so that
    /// a node and its `Arc`'s counts fit in a kilobyte: see `a_node_fits_in_a_kilobyte`.)
    name_at: u32,
    /// Its restart policy (`Never` for the root): whether a child's failure that escalates
    /// stops here.
    pub(crate) restart: Restart,
    /// How it restarts its children.
    pub(crate) strategy: Strategy,
    /// The order its children stop in.
    pub(crate) stop_order: StopOrder,
    /// Whether its body says when it is ready (else it is ready at its first `.await`).
    pub(crate) signals_ready: bool,
    /// A child's failure that escalated to this node's current instance.
    pub(crate) inbox: Inbox,
    /// Its restarts and handled failures.
    pub(crate) record: Record,
    /// Fires once it has fully stopped and reported to its parent.
    pub(crate) stopped: SetOnce<()>,
    /// Its current instance, for a restartable service (see [`Node::new_instance`]).
    instance: Mutex<InstanceSlot>,
    /// The restart round of its children under way, if any.
    pub(crate) rounds: Rounds,
    /// For an instance node: the service it is an instance of, which is the scope its
    /// `Shutdown` gives (see [`instance_of`](Self::instance_of)).
    scope_of: Option<Arc<Node>>,
    /// Whether it is ready (a service's; the root's is the tree's).
    pub(crate) readiness: Readiness,
    /// The siblings it needs: started (and restarted) only once they are ready, stopped
    /// only once it has stopped.
    pub(crate) needs: Vec<Arc<Node>>,
    /// How long an instance may take to be ready before it fails.
    pub(crate) ready_timeout: Option<Duration>,
    /// For an instance node: which instance of its service it is (see
    /// [`new_instance`](Self::new_instance)).
    pub(crate) generation: u64,
}

/// How a node ended (see [`Node::set_outcome`], [`Node::set_stopped`]).
#[derive(Default, Clone)]
struct End {
    outcome: Option<ServiceOutcome>,
    /// From its stop request until it had fully stopped.
    stopped_in: Option<Duration>,
}

/// A service's current instance node. Kept between instances, so that a restart after a
/// failure reuses it (only a stopped one is replaced); the supervisor clears it when it is
/// done (the instance node holds its service: the slot would otherwise keep both alive).
#[derive(Default)]
struct InstanceSlot {
    current: Option<Arc<Node>>,
    /// A round stopped the instance before it was made (a sibling failed before this
    /// service's task first ran): it starts stopped.
    stop_pending: bool,
}

/// A new node's path, and where its name starts in it (see [`Node::name`]).
pub(crate) struct Path {
    pub(crate) path: String,
    name_at: u32,
}

/// How a new child node is supervised.
#[derive(Clone, Default)]
pub(crate) struct Supervision {
    pub(crate) timeout: Option<Duration>,
    pub(crate) restart: Restart,
    pub(crate) strategy: Strategy,
    pub(crate) stop_order: StopOrder,
    pub(crate) needs: Vec<Arc<Node>>,
    pub(crate) signals_ready: bool,
    pub(crate) ready_timeout: Option<Duration>,
}

impl Node {
    pub(crate) fn root(tree: Arc<Tree>, strategy: Strategy, stop_order: StopOrder) -> Arc<Self> {
        let node = Arc::new(Self {
            path: String::new(),
            name_at: 0,
            stopping: Latch::new(tree.token.is_cancelled()),
            abort: OnceLock::from(tree.abort.clone()),
            tree,
            parent: None,
            timeout: None,
            stop: Mutex::default(),
            end: Mutex::default(),
            sessions: Sessions::new(),
            children: Children::default(),
            restart: Restart::Never,
            strategy,
            inbox: Inbox::default(),
            record: Record::default(),
            stopped: SetOnce::new(),
            instance: Mutex::default(),
            rounds: Rounds::default(),
            scope_of: None,
            readiness: Readiness::new(),
            needs: Vec::new(),
            stop_order,
            signals_ready: false,
            ready_timeout: None,
            generation: 0,
        });
        node.tree.set_root_node(&node);
        node
    }

    /// A new child node. Call it under the children's lock (in [`Children::admit`]), so that
    /// it either exists before a stop walks the children or
    /// sees this node stopping already.
    pub(crate) fn child(self: &Arc<Self>, path: Path, supervision: Supervision) -> Arc<Self> {
        // Its supervisor waits on this node's stop too, as do its siblings'.
        self.stopping.spread();
        let child = Arc::new(self.below(path, supervision, None));
        if child.stopping.is_set() {
            // Made during its parent's stop: it will not be ready, and the tree's readiness
            // never counted it.
            child.readiness.gone_from_the_start(ReadyError::Stopped {
                service: child.path.clone(),
            });
        } else {
            // Counted before anything can reach it: its stop finds it counted.
            self.tree.readiness.service_added(&self.tree.events);
        }
        child
    }

    /// A node for one instance of this restartable service: the body's `Shutdown` is this
    /// node's, so that a restart round (or a child's escalated failure) can stop the instance
    /// (through this node's stop, with this service's timeout) without stopping the service,
    /// while sessions keep the service's. Its scope is the service
    /// ([`scope_node`](Self::scope_node)); it has no sessions or children of its own.
    fn instance_of(self: &Arc<Self>, generation: u64) -> Self {
        let supervision = Supervision {
            timeout: Some(self.own_timeout()),
            ..Supervision::default()
        };
        let path = Path {
            path: self.path.clone(),
            name_at: self.name_at,
        };
        let mut instance = self.below(path, supervision, Some(self.clone()));
        instance.generation = generation;
        instance
    }

    /// A node under this one (a child, or an instance node): its abort descends from this
    /// node's; so does an instance node's stop. A child made while this node is stopping
    /// starts stopped (this runs under the children's lock, which the stop walk takes after
    /// setting `stopping`: either the walk sees the child, or the child sees the stop).
    fn below(
        self: &Arc<Self>,
        path: Path,
        supervision: Supervision,
        scope_of: Option<Arc<Self>>,
    ) -> Self {
        Self {
            path: path.path,
            name_at: path.name_at,
            tree: self.tree.clone(),
            parent: Some(Arc::downgrade(self)),
            stopping: Latch::new(self.stopping.is_set()),
            abort: OnceLock::new(),
            timeout: supervision.timeout,
            stop: Mutex::default(),
            end: Mutex::default(),
            // An instance node's sessions are its service's (`scope_node`): its own are
            // never used, and cost nothing (no shards are made).
            sessions: Sessions::new(),
            children: Children::default(),
            restart: supervision.restart,
            strategy: supervision.strategy,
            inbox: Inbox::default(),
            record: Record::default(),
            stopped: SetOnce::new(),
            instance: Mutex::default(),
            rounds: Rounds::default(),
            scope_of,
            readiness: Readiness::new(),
            needs: supervision.needs,
            stop_order: supervision.stop_order,
            signals_ready: supervision.signals_ready,
            ready_timeout: supervision.ready_timeout,
            generation: 0,
        }
    }

    /// Its own stop timeout, or the tree's.
    pub(crate) fn own_timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.tree.timeout)
    }

    /// The scope a `Shutdown` of this node gives: the service, for an instance node.
    pub(crate) fn scope_node(self: &Arc<Self>) -> Arc<Self> {
        self.scope_of.clone().unwrap_or_else(|| self.clone())
    }

    pub(crate) fn parent(&self) -> Option<Arc<Node>> {
        self.parent.as_ref().and_then(Weak::upgrade)
    }

    /// The token that fires when this node must abort what is left: at its own deadline,
    /// or an ancestor's (see [`until_abort`](Self::until_abort)).
    ///
    /// Made on first use, as a child of its parent's: a service that stops within its
    /// timeout never makes one (its make, its link into the parent's, and its drop were the
    /// largest cost of a service's start and stop). Nothing waits for it before this node is
    /// told to stop: an ancestor's abort reaches a node not told yet through the stop walks,
    /// which tell every child left at once when their node's abort fires (see [`order`]). A
    /// node made after an ancestor's abort makes its token cancelled.
    pub(crate) fn abort(&self) -> &CancellationToken {
        self.abort.get_or_init(|| match self.parent() {
            Some(parent) => parent.abort().child_token(),
            // Only a node given up on outlives its parent, and its token is made (and
            // cancelled) by the giving up: an aborted token, defensively.
            None => {
                let token = CancellationToken::new();
                token.cancel();
                token
            }
        })
    }

    /// Whether this node must abort: its token, or, while it has none, its nearest
    /// ancestor's that has one, has fired. Makes no token.
    pub(crate) fn is_aborted(&self) -> bool {
        match self.abort.get() {
            Some(token) => token.is_cancelled(),
            None => self.parent().is_none_or(|parent| parent.is_aborted()),
        }
    }

    /// Its name: the last of its path's (empty for the root).
    pub(crate) fn name(&self) -> &str {
        self.path.get(self.name_at as usize..).unwrap_or_default()
    }

    /// The path a child named `name` gets.
    pub(crate) fn child_path(&self, name: &str) -> Path {
        if self.path.is_empty() {
            return Path {
                path: name.to_owned(),
                name_at: 0,
            };
        }
        let mut path = String::with_capacity(self.path.len() + 1 + name.len());
        path.push_str(&self.path);
        path.push('/');
        let name_at = u32::try_from(path.len()).unwrap_or(u32::MAX);
        path.push_str(name);
        Path { path, name_at }
    }

    /// A readable name for messages: the path, or "the root scope".
    pub(crate) fn describe(&self) -> String {
        if self.parent.is_none() {
            "the root scope".to_owned()
        } else {
            format!("service {:?}", self.path)
        }
    }

    /// When this node was told to stop; `None` while it has not been.
    ///
    /// A node stopped by its parent's stop walk, or an instance by its service's stop,
    /// inherits the ancestor's request
    /// time, and has an own deadline only if it has its own timeout.
    pub(crate) fn stop_info(&self) -> Option<StopInfo> {
        if let Some(info) = *lock(&self.stop) {
            return Some(info);
        }
        if !self.stopping.is_set() {
            return None;
        }
        // The root is stopped by `request_stop` only (a trigger), which records its stop; its
        // latch set without that (made set: the tree was stopped before it existed) is an
        // abort without a stop.
        let inherited = self.parent()?.stop_info();
        let requested_at = inherited.map_or_else(Instant::now, |from| from.requested_at);
        let info = StopInfo {
            requested_at,
            own_deadline: self
                .timeout
                .map(|timeout| deadline_after(requested_at, timeout)),
            for_restart: inherited.is_some_and(|from| from.for_restart),
        };
        Some(self.record_stop(info))
    }

    /// Records its stop, unless one was recorded first: returns the one that stands.
    fn record_stop(&self, info: StopInfo) -> StopInfo {
        *lock(&self.stop).get_or_insert(info)
    }

    /// Tells this node and everything under it to stop (a no-op if it was told already).
    /// A stop that starts here gets this node's timeout, or the tree's.
    pub(crate) fn request_stop(self: &Arc<Self>) -> StopInfo {
        self.stop_starting_here(false)
    }

    /// [`request_stop`](Self::request_stop), for a child of a restarting service whose
    /// instance ended: the stop is that restart's.
    pub(crate) fn stop_for_restart(self: &Arc<Self>) {
        self.stop_starting_here(true);
    }

    fn stop_starting_here(self: &Arc<Self>, for_restart: bool) -> StopInfo {
        let info = match self.stop_info() {
            Some(info) => info,
            None => {
                let now = Instant::now();
                self.record_stop(StopInfo {
                    requested_at: now,
                    own_deadline: Some(deadline_after(
                        now,
                        self.timeout.unwrap_or(self.tree.timeout),
                    )),
                    for_restart,
                })
            }
        };
        self.begin_stop();
        info
    }

    /// Told to stop by its parent's stop walk: with the parent's stop (no deadline of its
    /// own unless it has its own timeout), or, in an ordered stop, by `share` (see
    /// [`order`]).
    pub(crate) fn stop_by_parent(self: &Arc<Self>, share: Option<Instant>, for_restart: bool) {
        if share.is_some() || for_restart {
            let now = Instant::now();
            let own = self.timeout.map(|timeout| deadline_after(now, timeout));
            // For its parent's restart (told so), or for the restart its stopping parent
            // stops for.
            let for_restart = for_restart
                || self
                    .parent()
                    .and_then(|parent| parent.stop_info())
                    .is_some_and(|from| from.for_restart);
            let own_deadline = match share {
                Some(share) => Some(own.map_or(share, |own| own.min(share))),
                None => own,
            };
            self.record_stop(StopInfo {
                requested_at: now,
                own_deadline,
                for_restart,
            });
        }
        self.begin_stop();
    }

    /// The stop, once: the stopping latch (and for the root, then, the tree's token: whoever
    /// sees the token sees the root stopping), the current instance, readiness, then the
    /// children (see [`order`]).
    fn begin_stop(self: &Arc<Self>) {
        let first = self.stopping.set();
        if self.parent.is_none() {
            self.tree.token.cancel();
        }
        if !first {
            return;
        }
        // Under the lock `new_instance` makes an instance under: either it sees this node
        // stopping, or this reaches it.
        let instance = lock(&self.instance).current.clone();
        if let Some(instance) = instance {
            instance.stopping.set();
        }
        if self.parent.is_some() && self.scope_of.is_none() {
            self.readiness_gone(|| ReadyError::Stopped {
                service: self.path.clone(),
            });
        }
        let children = self.children.live_in_order();
        let order = if self.parent.is_none() && self.tree.startup_failed() {
            // A failed start-up rolls back what started, in reverse order.
            StopOrder::Reverse
        } else {
            self.stop_order
        };
        order::stop_children(self, true, &children, order, || self.deadline(), false);
    }

    /// A new instance, started at `started`, is being built: not ready (the tree counts it).
    pub(crate) fn readiness_new_instance(&self, started: Instant) {
        let change = self.readiness.new_instance(started);
        self.readiness_changed(change);
    }

    /// The instance `generation` is ready.
    pub(crate) fn mark_ready(&self, generation: u64) {
        if self.parent.is_none() {
            return;
        }
        let change = self.readiness.set(generation);
        if change == Change::BecameReady {
            self.tree.events.publish_with(|| Event::Ready {
                service: self.path.clone(),
            });
            log(|| tracing::debug!(service = %self.path, "service ready"));
        }
        self.readiness_changed(change);
    }

    /// A child's failure escalated to its instance `generation` (see
    /// [`Readiness::failing`](crate::service::ready::Readiness::failing)).
    pub(crate) fn readiness_failing(&self, generation: u64) {
        let change = self.readiness.failing(generation);
        self.readiness_changed(change);
    }

    /// Between instances, until `next_try`.
    pub(crate) fn readiness_restarting(&self, next_try: Instant) {
        let change = self.readiness.restarting(next_try);
        self.readiness_changed(change);
    }

    /// It will not be ready again (told to stop, or ended for good), for `why`; it no longer
    /// counts toward the tree's readiness.
    pub(crate) fn readiness_gone(&self, why: impl FnOnce() -> ReadyError) {
        let leaves = self.readiness_gone_uncounted(why);
        self.leave_tree_readiness(leaves);
    }

    /// [`readiness_gone`](Self::readiness_gone) in two steps, for a failure that escalates:
    /// its own readiness is gone at once (its waiters learn why, before the escalation's stop
    /// could say "stopped"), but it leaves the tree's count only after the escalation (see
    /// [`leave_tree_readiness`](Self::leave_tree_readiness)). Returns whether it has to.
    pub(crate) fn readiness_gone_uncounted(&self, why: impl FnOnce() -> ReadyError) -> bool {
        self.readiness.gone(why) == Some(false)
    }

    /// A service that was not ready leaves the tree's count of those it waits for. After the
    /// escalation of its failure: the last service not ready, failing, must not make the tree
    /// ready (`READY=1`, `/startupz`) on its way out; the trigger makes it stopping first.
    pub(crate) fn leave_tree_readiness(&self, leaves: bool) {
        if leaves {
            self.tree.readiness.service_changed(&self.tree.events, -1);
        }
    }

    fn readiness_changed(&self, change: Change) {
        let delta = match change {
            Change::BecameReady => -1,
            Change::LostReady => 1,
            Change::None => return,
        };
        self.tree
            .readiness
            .service_changed(&self.tree.events, delta);
    }

    /// By when this node must have stopped: the earliest of its own deadline and its
    /// ancestors'; `None` while nothing above or at it is stopping.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let own = self.stop_info().and_then(|info| info.own_deadline);
        let above = self.parent().and_then(|parent| parent.deadline());
        match (own, above) {
            (Some(own), Some(above)) => Some(own.min(above)),
            (own, above) => own.or(above),
        }
    }

    /// Completes when this node must abort what is left: at its own deadline (which then
    /// aborts its subtree too) or when an ancestor's deadline or a second signal aborts it.
    pub(crate) async fn until_abort(&self) {
        let own = self.stop_info().and_then(|info| info.own_deadline);
        let own_deadline = async {
            match own {
                // Boxed when it is waited for: a timer is large, and this future is in every
                // service's (see `Supervisor::watch`).
                Some(deadline) => Box::pin(sleep_until(deadline)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.abort().cancelled() => {}
            () = own_deadline => self.abort().cancel(),
        }
    }

    /// Waits for the children, then the sessions, until the abort. At the abort every
    /// session still live is aborted, and waited for a short grace so that the report is made
    /// with their bodies dropped (see [`grace`](crate::lifecycle::grace)); children are aborted by the
    /// same token and report on their own. The root gives up on children that do not report
    /// within a grace.
    pub(crate) async fn drain(&self) {
        // Nothing left in either (a service that spawned nothing and started no child): both
        // closed at once, with no wait to race against the abort.
        let at_once = self.children.close_if_empty() && self.sessions.close_if_empty();
        if !at_once {
            let everything = async {
                self.children.drain().await;
                self.sessions.drain().await;
            };
            let drained = tokio::select! {
                biased;
                () = everything => true,
                () = self.until_abort() => false,
            };
            if !drained {
                // Boxed: a rare path, kept out of every service's future (see
                // `Supervisor::watch`).
                Box::pin(self.abort_and_wait()).await;
            }
        }
        if self.sessions.is_aborted() {
            // Counted once they are gone: a session that was live at the sweep but then
            // finished in its poll was not aborted. (Swept by an ancestor's deadline, this
            // scope may have drained without reaching its own.)
            let aborted: u64 = self.sessions.stats().iter().map(SessionStats::cut).sum();
            if aborted > 0 {
                match self.cut() {
                    Cut::Forced => {
                        log(
                            || tracing::error!(scope = %self.describe(), aborted, "second signal: sessions aborted"),
                        );
                    }
                    Cut::Deadline => {
                        log(
                            || tracing::error!(scope = %self.describe(), aborted, "deadline reached: sessions aborted"),
                        );
                    }
                    Cut::RunDropped => {
                        log(
                            || tracing::warn!(scope = %self.describe(), aborted, "the root's run was dropped: sessions aborted"),
                        );
                    }
                }
            }
        }
    }

    /// The abort: sweeps the subtree, then waits a grace for what it aborted to be gone.
    async fn abort_and_wait(&self) {
        let forced = self.cut_by_force();
        // The whole subtree is past its deadline: its sessions are swept now, also those of
        // a service whose own supervisor is stuck in its body, and it admits nothing more.
        self.abort_subtree();
        let graces = Graces::new(forced);
        let sessions = async {
            // Aborted sessions drop their bodies at their next poll; one still inside a poll
            // after the grace is counted as unresponsive.
            if tokio::time::timeout(graces.sessions, self.sessions.drain())
                .await
                .is_err()
            {
                log(
                    || tracing::error!(scope = %self.describe(), "aborted sessions still inside a poll: unresponsive"),
                );
            }
        };
        let children = async {
            if self.parent.is_some() {
                // Bounded: the children were aborted with us; a wedged one is the root's call.
                self.children.drain().await;
            } else if tokio::time::timeout(graces.children, self.children.drain())
                .await
                .is_err()
            {
                if !forced {
                    self.tree.note_deadline_reached();
                }
                self.children.give_up();
            }
        };
        tokio::join!(sessions, children);
    }

    /// At this node's deadline, or for a tree aborted without a drain (its
    /// [`Root::run`](crate::Root::run) future dropped, its runtime gone): sweeps the sessions
    /// of every scope of the subtree and closes their admission of sessions and services, so
    /// that every later spawn or start there is refused (idempotent: each child's own drain
    /// does the same for its scope).
    pub(crate) fn abort_subtree(&self) {
        self.sessions.abort_all();
        self.children.close();
        for child in self.children.live() {
            child.abort_subtree();
        }
    }

    /// Something of this node was cut off by its abort: says whether the run's future was
    /// dropped ([`Cut::RunDropped`]), a second signal did it ([`Cut::Forced`]) or a deadline
    /// ([`Cut::Deadline`], noted on the tree, which makes the exit code 124). The one place
    /// that decides.
    pub(crate) fn cut(&self) -> Cut {
        if self.tree.run_dropped() {
            Cut::RunDropped
        } else if self.cut_by_force() {
            Cut::Forced
        } else {
            self.tree.note_deadline_reached();
            Cut::Deadline
        }
    }

    /// Whether this node's abort came from a second signal rather than a deadline: the tree
    /// was forced before this node's deadline.
    pub(crate) fn cut_by_force(&self) -> bool {
        match (self.tree.forced_at(), self.deadline()) {
            (Some(forced), Some(deadline)) => forced < deadline,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// A node for a new instance of a restartable service (else `None`: its body's
    /// `Shutdown` is the service's own), so that the instance can be told to stop without
    /// the service: for a restart round, or when a child's failure escalates to it. It
    /// starts stopped when the service is stopping, or when a round stopped it before it
    /// was made.
    ///
    /// A service that signals its readiness gets a new node for every instance, which
    /// carries the instance's `generation`: a [`Ready`](crate::Ready) taken from it sets
    /// that instance ready, and nothing once a newer one runs.
    pub(crate) fn new_instance(self: &Arc<Self>, generation: u64) -> Option<Arc<Self>> {
        // The root's policy is `Never`. A service with a ready timeout needs an instance to
        // stop when it is not ready in time, also when it does not restart.
        if self.restart == Restart::Never && self.ready_timeout.is_none() && !self.signals_ready {
            return None;
        }
        let mut slot = lock(&self.instance);
        if let Some(current) = slot
            .current
            .as_ref()
            .filter(|c| !c.stopping.is_set() && !self.signals_ready)
        {
            // The last instance ended on its own: its node was never stopped, reuse it.
            return Some(current.clone());
        }
        let instance = Arc::new(self.instance_of(generation));
        slot.current = Some(instance.clone());
        if std::mem::take(&mut slot.stop_pending) {
            instance.request_stop();
        }
        Some(instance)
    }

    /// Forgets the current instance node (the supervisor is done).
    pub(crate) fn clear_instance(&self) {
        lock(&self.instance).current = None;
    }

    /// Stops the current instance for a restart round: its body's `Shutdown` fires, with
    /// this service's timeout (or the tree's) as its deadline. One not made yet starts
    /// stopped; between instances, the next is made afresh (the kept one is stopped).
    pub(crate) fn stop_instance(&self) {
        let mut slot = lock(&self.instance);
        match &slot.current {
            Some(instance) => {
                instance.request_stop();
            }
            None => slot.stop_pending = true,
        }
    }

    /// Records how the body ended.
    /// Records how the body ended (the first record stands).
    pub(crate) fn set_outcome(&self, outcome: ServiceOutcome) {
        lock(&self.end).outcome.get_or_insert(outcome);
    }

    /// How its body ended, once it has.
    pub(crate) fn outcome(&self) -> Option<ServiceOutcome> {
        lock(&self.end).outcome.clone()
    }

    /// Records that the node has fully stopped (the first record stands).
    pub(crate) fn set_stopped(&self, requested_at: Instant) {
        let stopped_in = requested_at.elapsed();
        lock(&self.end).stopped_in.get_or_insert(stopped_in);
    }

    /// Whether its report would fold as one clean service and nothing else: it stopped
    /// cleanly and never had a session or a child (see [`Children::finish`]).
    pub(crate) fn folds_as_clean(&self) -> bool {
        self.sessions.never_admitted()
            && self.children.never_admitted()
            && lock(&self.end)
                .outcome
                .as_ref()
                .is_some_and(ServiceOutcome::is_clean)
    }

    /// The node's report as things stand: final once it has stopped; for a node still
    /// stopping, what is known (a body that never ended is `Unresponsive`).
    pub(crate) fn report(&self) -> ServiceReport {
        let (children, folded) = self.children.reports();
        let record = self.record.snapshot();
        let end = lock(&self.end).clone();
        ServiceReport {
            name: self.name().to_owned(),
            path: self.path.clone(),
            outcome: end.outcome.unwrap_or(ServiceOutcome::Unresponsive),
            stop_time: end.stopped_in,
            children,
            folded,
            sessions: self.sessions.stats(),
            restarts: record.restarts,
            failures: record.failures,
            failure_count: record.failure_count,
            escalated: record.escalated,
            escalated_to: record.escalated_to,
            taken_by_restart_of: record.taken_by_restart_of,
        }
    }

    /// Gives up on this node (its thread is blocked): counts its live sessions as aborted and
    /// does the same for its children.
    pub(crate) fn give_up(&self) {
        self.sessions.abort_all();
        self.abort().cancel();
        self.children.give_up();
    }
}

#[cfg(all(test, target_pointer_width = "64", not(canstop_loom)))]
mod tests {
    use super::Node;

    /// A node and its `Arc`'s two counts fit in a kilobyte: jemalloc's 1 024-byte class, and
    /// glibc's per-thread cache (up to 1 032 bytes; past it, its slower bins). A node is made
    /// and freed at every service start and stop (see benches/README.md, "The service cycle,
    /// fifth session").
    #[test]
    fn a_node_fits_in_a_kilobyte() {
        let size = std::mem::size_of::<Node>() + 2 * std::mem::size_of::<usize>();
        assert!(size <= 1024, "a node's allocation is {size} bytes");
    }
}
