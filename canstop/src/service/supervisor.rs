//! The task that runs one service: its instances (built, polled and dropped with panics
//! caught), the restarts its policy allows, then its stop, its drain and its report to the
//! parent.
//!
//! # Guarantees
//!
//! - No instance is built after the service was told to stop: the stop request is checked
//!   after the backoff and right before the body is built, with no `.await` in between.
//! - A stop request during a backoff ends it at once (the restart is cancelled).
//! - The failed instance's child services (those running when it ended) are told to stop at
//!   once and have stopped (each within its own timeout) before the next instance starts;
//!   its sessions keep running in the same scope, counted as ever.
//! - A failure the policy does not absorb escalates exactly once: to the nearest ancestor
//!   that restarts and is not stopping (its current instance is told to stop, within its
//!   timeout, and fails with this failure as its error), else as the shutdown's trigger.
//! - Every failure the policy handles is counted toward the intensity limit and backed off,
//!   also inside a restart round (see [`strategy`](crate::service::strategy)); an instance
//!   that does not stop for a restart within its timeout is dropped, and the deadline noted.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ReadyError;
use crate::lifecycle::events::Event;
use crate::lifecycle::log::log;
use crate::lifecycle::shared::deadline_after;
use crate::lifecycle::trigger::Trigger;
use crate::outcome::{catching, Ended};
use crate::report::ServiceOutcome;
use crate::service::backoff;
use crate::service::policy::{Intensity, Policy, Restart, Strategy};
use crate::service::ready::TimedOut;
use crate::service::strategy::Turn;
use crate::service::Service;
use crate::shutdown::Shutdown;
use crate::tree::context;
use crate::tree::node::{Cut, Node};
use crate::tree::order;

/// Runs one service (see the [module docs](self)).
pub(crate) struct Supervisor {
    node: Arc<Node>,
    parent: Arc<Node>,
    id: usize,
    /// The last instance failed because it was not ready within its ready timeout.
    timed_out: AtomicBool,
    /// When its failure escalated as soon as it happened, before its instance had stopped
    /// (see [`escalate_at_once`](Self::escalate_at_once)): the final judgement does not
    /// again, and the failure is dated then.
    escalated_at: OnceLock<Instant>,
}

/// Keeps the parent's drain (and [`ServiceHandle::stopped`](crate::ServiceHandle::stopped))
/// waiting until this service has reported, or until its task is dropped (aborted, or its
/// runtime shut down).
impl Drop for Supervisor {
    fn drop(&mut self) {
        self.node.clear_instance();
        // It will not be ready again (a no-op when a failure said why already).
        self.node.readiness_gone(|| ReadyError::Stopped {
            service: self.node.path.clone(),
        });
        let _ = self.node.stopped.set(());
        self.parent.children.leave();
    }
}

/// How one instance's body ended.
enum BodyEnd {
    /// It returned (or panicked, or a child's failure escalated to it); `early` when that
    /// happened before the service was told to stop.
    Returned { ended: Ended, early: bool },
    /// It takes no `Shutdown` and was dropped at the stop.
    DroppedAtStop,
    /// Told to stop while it waited for the services it needs: never built.
    NotBuilt,
    /// It was dropped at the deadline or by a second signal.
    Aborted,
    /// Its instance was stopped for a restart (a sibling failed, or a child's failure
    /// escalated to it): it returned (`ended`), or was dropped: at its timeout (`dropped`),
    /// or at once for a body that takes no `Shutdown`.
    StoppedForRestart { ended: Option<Ended>, dropped: bool },
}

impl BodyEnd {
    /// How a body told to stop for a restart ended: how it returned (`None` when dropped),
    /// and whether it was dropped at its timeout. `None` for one aborted at the deadline,
    /// which is the tree's stop, not the restart's.
    fn stopping(self) -> Option<(Option<Ended>, bool)> {
        match self {
            Self::Returned { ended, .. } => Some((Some(ended), false)),
            Self::StoppedForRestart { ended, dropped } => Some((ended, dropped)),
            Self::DroppedAtStop | Self::NotBuilt => Some((None, false)),
            Self::Aborted => None,
        }
    }

    /// The body's `Drop` panicked after it ended this way: it is reported as panicked (a
    /// deadline it passed is still noted by the caller).
    fn drop_panicked(self, message: String) -> Self {
        let early = matches!(self, Self::Returned { early: true, .. });
        let ended = match self {
            // A panic during the poll is the first thing that went wrong: keep it.
            Self::Returned {
                ended: Ended::Panicked(first),
                ..
            } => Ended::Panicked(first),
            Self::Returned {
                ended: Ended::Failed(error) | Ended::Escalated(error),
                ..
            } => Ended::Panicked(format!(
                "while being dropped (after returning the error {error:?}): {message}"
            )),
            _ => Ended::Panicked(format!("while being dropped: {message}")),
        };
        Self::Returned { ended, early }
    }
}

/// The intensity window and the backoff's exponent, across a service's instances.
struct Window {
    /// When the service was started (failures are reported from it).
    started: Instant,
    intensity: Intensity,
    /// Restarts since an instance last stayed up for the window.
    in_a_row: u32,
}

/// How long an instance ran, read from the clock when first asked for.
struct RanFor {
    started: Instant,
    ran: Option<Duration>,
}

impl RanFor {
    fn since(started: Instant) -> Self {
        Self { started, ran: None }
    }

    fn get(&mut self) -> Duration {
        *self.ran.get_or_insert_with(|| self.started.elapsed())
    }
}

/// How an ended instance is described in the report and in an escalation.
fn describe(ended: &Ended) -> String {
    match ended {
        Ended::Ok => "returned Ok before being told to stop".to_owned(),
        Ended::Failed(error) | Ended::Escalated(error) => error.clone(),
        Ended::Panicked(message) => format!("panicked: {message}"),
    }
}

impl Supervisor {
    pub(crate) fn new(node: Arc<Node>, parent: Arc<Node>, id: usize) -> Self {
        Self {
            node,
            parent,
            id,
            timed_out: AtomicBool::new(false),
            escalated_at: OnceLock::new(),
        }
    }

    /// The service's task: its instances (see [`supervise`](Self::supervise)), then its
    /// drain and its report to its parent.
    ///
    /// A function returning an `async move` block, not an `async fn`: an `async fn`'s future
    /// keeps its arguments twice (as passed and as moved into the body), 224 bytes here, and
    /// this future is copied whole at the spawn (see [`watch`](Self::watch)).
    #[allow(clippy::manual_async_fn)] // deliberately not an `async fn`: see above
    pub(crate) fn run(self, mut service: Service) -> impl Future<Output = ()> + Send {
        async move {
            let node = &self.node;
            log(|| tracing::debug!(service = %node.path, "service started"));
            let outcome = self.supervise(&mut service).await;
            node.set_outcome(outcome);
            let stop = node.request_stop();
            // Told to stop, it leaves a restart round it is in (none takes it in from now on):
            // its siblings do not wait for it.
            drop(self.parent.rounds.pending_member(&self.parent, node));
            node.drain().await;
            node.set_stopped(stop.requested_at);
            let listened = node.tree.events.is_listened();
            let outcome = if listened || tracing::enabled!(tracing::Level::DEBUG) {
                node.outcome()
            } else {
                None
            };
            if let Some(outcome) = &outcome {
                log(|| tracing::debug!(service = %node.path, %outcome, "service stopped"));
            }
            self.parent.children.finish(self.id, node);
            if let Some(outcome) = outcome.filter(|_| listened) {
                node.tree.events.publish(Event::Stopped {
                    service: node.path.clone(),
                    outcome,
                });
            }
        }
    }

    /// Runs instances until one ends for good: at the stop, or early beyond what the restart
    /// policy absorbs.
    async fn supervise(&self, service: &mut Service) -> ServiceOutcome {
        let node = &self.node;
        let policy = service.policy;
        let mut window = Window {
            started: Instant::now(),
            intensity: Intensity::new(&policy),
            in_a_row: 0,
        };
        let mut turn = None;
        // Every instance after the first is a restart (counted when it is built).
        let mut restart = false;
        loop {
            // The first instance starts with the service (one clock read fewer per start).
            let mut instance_started = if restart {
                Instant::now()
            } else {
                window.started
            };
            let (mut end, escalated) = self
                .run_body(service, turn.take(), restart, &mut instance_started)
                .await;
            let first = !restart;
            restart = true;
            // Read only by the paths that count or note a failure: an instance that ends at
            // the stop reads no clock for it.
            let mut ran_for = RanFor::since(instance_started);
            // A child's failure stopped it: it fails with that failure (how it stopped is
            // noted first), unless it was aborted at the deadline meanwhile.
            if let Some(failure) = escalated {
                if let Some((stopping, dropped)) = end.stopping() {
                    if let Err(outcome) =
                        self.note_stopping(stopping.as_ref(), dropped, ran_for.get(), &window)
                    {
                        return outcome;
                    }
                    end = BodyEnd::Returned {
                        ended: Ended::Failed(failure),
                        early: true,
                    };
                } else {
                    // Aborted (the tree's deadline) while it stopped for the failure: its
                    // outcome is the abort, and the failure is kept in its record (dated when
                    // it happened, if it escalated then).
                    let (at, ran) = match self.escalated_at.get().copied() {
                        Some(when) => (
                            when.saturating_duration_since(window.started),
                            when.saturating_duration_since(instance_started),
                        ),
                        None => (window.started.elapsed(), ran_for.get()),
                    };
                    node.record.failed(at, ran, failure);
                    end = BodyEnd::Aborted;
                }
            }
            // A restart round this instance has yet to restart in (a sibling failed): it
            // restarts with the group, in its turn.
            let round = if node.stopping.is_set() {
                None
            } else {
                self.parent.rounds.pending_member(&self.parent, node)
            };
            if let Some(round) = round {
                let delay = match self.round_failure(&end, ran_for.get(), &policy, &mut window) {
                    Ok(delay) => delay,
                    Err(outcome) => return outcome,
                };
                let children = self.stop_children();
                self.restarting(node.record.restarts() + 1, delay);
                if !Box::pin(self.between_instances(children, delay, Some(&round))).await {
                    return Self::stopped_in_round(end);
                }
                let attempt = node.record.restarts() + 1;
                log(
                    || tracing::info!(service = %node.path, attempt, "service restarting with its siblings (its parent's strategy)"),
                );
                turn = Some(round);
                continue;
            }
            let (ended, early) = match end {
                BodyEnd::DroppedAtStop => return ServiceOutcome::Stopped,
                BodyEnd::NotBuilt if first => return ServiceOutcome::NotStarted,
                BodyEnd::NotBuilt => return ServiceOutcome::Stopped,
                BodyEnd::Aborted => return self.aborted(),
                BodyEnd::StoppedForRestart { .. } if node.stopping.is_set() => {
                    return self.ended_at_stop(end);
                }
                // Stopped for a round that has finished without it (it could not be told
                // apart from an ordinary end): a new instance, as the round meant.
                BodyEnd::StoppedForRestart { .. } => {
                    let children = self.stop_children();
                    if !Box::pin(self.between_instances(children, Duration::ZERO, None)).await {
                        return ServiceOutcome::Stopped;
                    }
                    continue;
                }
                BodyEnd::Returned { ended, early } => (ended, early),
            };
            // Once the tree's stop has begun, no restart would start: a failure then is a
            // failure of the stop (as in a service that does not restart), not one the
            // policy handled while the stop waited for its backoff.
            let restarts = !matches!(ended, Ended::Escalated(_))
                && early
                && policy.restarts(ended.is_failure())
                && !node.tree.stop_started();
            if !restarts {
                return self.judge(ended, early);
            }
            let message = describe(&ended);
            let delay = match self.count_failure(&policy, &mut window, ran_for.get(), &message) {
                Ok(delay) => delay,
                Err(()) => return final_outcome(ended, true),
            };
            // The failed instance's children are told to stop now, before any wait.
            let children = self.stop_children();
            let attempt = node.record.restarts() + 1;
            self.restarting(attempt, delay);
            let why = if ended.is_failure() {
                "service failed: restarting after the backoff"
            } else {
                "service ended early: restarting after the backoff"
            };
            log(
                || tracing::warn!(service = %node.path, attempt, ?delay, error = %message, "{why}"),
            );
            let round = if self.parent.strategy == Strategy::OneForOne {
                None
            } else {
                tokio::select! {
                    biased;
                    () = self.until_told_to_stop() => None,
                    round = Box::pin(self.parent.rounds.join_or_begin(&self.parent, node)) => Some(round),
                }
            };
            if self.told_to_stop()
                || !Box::pin(self.between_instances(children, delay, round.as_ref())).await
            {
                log(
                    || tracing::info!(service = %node.path, attempt, "service told to stop during the backoff: restart cancelled"),
                );
                return ServiceOutcome::RestartCancelled { last: message };
            }
            let attempt = node.record.restarts() + 1;
            log(|| tracing::info!(service = %node.path, attempt, "service restarting"));
            turn = round;
        }
    }

    /// An instance ended once the service was told to stop: its final outcome.
    fn ended_at_stop(&self, end: BodyEnd) -> ServiceOutcome {
        match end {
            BodyEnd::StoppedForRestart {
                ended: Some(ended), ..
            } => self.judge(ended, false),
            BodyEnd::DroppedAtStop | BodyEnd::NotBuilt | BodyEnd::StoppedForRestart { .. } => {
                ServiceOutcome::Stopped
            }
            BodyEnd::Aborted => self.aborted(),
            BodyEnd::Returned { ended, early } => self.judge(ended, early),
        }
    }

    /// The outcome of a round member told to stop before its turn came: its failure, if its
    /// instance failed on its own (counted already: the restart is cancelled) or while
    /// stopping for the round; else stopped.
    fn stopped_in_round(end: BodyEnd) -> ServiceOutcome {
        match end {
            BodyEnd::Returned { ended, early: true } if ended.is_failure() => {
                ServiceOutcome::RestartCancelled {
                    last: describe(&ended),
                }
            }
            BodyEnd::StoppedForRestart {
                ended: Some(ended), ..
            } => final_outcome(ended, false),
            _ => ServiceOutcome::Stopped,
        }
    }

    /// Counts a failure the policy restarts: in the report, and in the intensity window.
    /// `Ok(delay)`, the backoff before the restart; `Err` when the service failed too often
    /// and gave up (its failure has escalated).
    fn count_failure(
        &self,
        policy: &Policy,
        window: &mut Window,
        ran_for: Duration,
        message: &str,
    ) -> Result<Duration, ()> {
        let node = &self.node;
        let now = Instant::now();
        node.record.failed(
            now.saturating_duration_since(window.started),
            ran_for,
            message.to_owned(),
        );
        node.tree.events.publish_with(|| Event::Failed {
            service: node.path.clone(),
            error: message.to_owned(),
        });
        if let Some(failures) = window.intensity.record(now) {
            self.escalate(Trigger::ServiceGaveUp {
                service: node.path.clone(),
                failures,
                within: policy.within,
                last: message.to_owned(),
            });
            log(
                || tracing::error!(service = %node.path, failures, within = ?policy.within, error = %message, "service failed too often: giving up"),
            );
            return Err(());
        }
        if ran_for >= policy.within {
            window.in_a_row = 0;
        }
        let delay = policy.backoff.delay(window.in_a_row, backoff::random());
        window.in_a_row = window.in_a_row.saturating_add(1);
        Ok(delay)
    }

    /// An instance that a restart round was to restart ended: a failure of its own (which
    /// raced the round's stop) is counted and backed off as any failure is, and may give up;
    /// how it stopped for the round is noted ([`note_stopping`](Self::note_stopping)).
    /// `Ok(delay)`, its backoff (zero when it stopped for the round as asked); `Err(outcome)`
    /// when the service gave up.
    fn round_failure(
        &self,
        end: &BodyEnd,
        ran_for: Duration,
        policy: &Policy,
        window: &mut Window,
    ) -> Result<Duration, ServiceOutcome> {
        match end {
            BodyEnd::Returned { ended, early: true } if ended.is_failure() => {
                let message = describe(ended);
                self.count_failure(policy, window, ran_for, &message)
                    .map_err(|()| final_outcome(ended.clone(), true))
            }
            BodyEnd::StoppedForRestart { ended, dropped } => {
                self.note_stopping(ended.as_ref(), *dropped, ran_for, window)?;
                Ok(Duration::ZERO)
            }
            _ => Ok(Duration::ZERO),
        }
    }

    /// How an instance stopped for a restart (a round, or a child's escalated failure): a
    /// failure while stopping is kept in the report (not counted toward the limit), a drop
    /// at the timeout too; an [`Escalate`](crate::Escalate) returned then escalates at once
    /// (`Err`, the service's outcome: it skips its restarts).
    fn note_stopping(
        &self,
        stopping: Option<&Ended>,
        dropped: bool,
        ran_for: Duration,
        window: &Window,
    ) -> Result<(), ServiceOutcome> {
        let node = &self.node;
        let at = window.started.elapsed();
        if dropped {
            node.record
                .failed(at, ran_for, dropped_why(node).to_owned());
        }
        // Escalated at once (see `escalate_at_once`): what it does while stopping is noted,
        // never escalated a second time.
        let escalated_already = self.escalated_at.get().is_some();
        match stopping {
            Some(Ended::Escalated(error)) if !escalated_already => {
                self.escalate(Trigger::ServiceFailed {
                    service: node.path.clone(),
                    error: error.clone(),
                });
                log(
                    || tracing::error!(service = %node.path, %error, "service escalated while stopping for its restart"),
                );
                Err(ServiceOutcome::Failed {
                    error: error.clone(),
                    early: true,
                })
            }
            Some(ended) if ended.is_failure() => {
                let message = describe(ended);
                let why = stopping_why(node);
                log(
                    || tracing::error!(service = %node.path, error = %message, "service failed {why}"),
                );
                node.record.failed(at, ran_for, format!("{why}: {message}"));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Waits until every sibling this service needs is ready: `Ok(whether it had to wait)`,
    /// or `Err` with how this instance
    /// ends instead: stopped meanwhile (it never ran), or a sibling it needs will never be
    /// ready again (it stopped, or failed for good): that failure escalates at once, past
    /// the restart policy, which could not help.
    async fn wait_for_needs(&self) -> Result<bool, BodyEnd> {
        let node = &self.node;
        let mut waited = false;
        for need in &node.needs {
            if need.readiness.is_ready() {
                continue;
            }
            waited = true;
            log(
                || tracing::debug!(service = %node.path, needs = %need.path, "waiting for a service it needs to be ready"),
            );
            let ready = tokio::select! {
                biased;
                () = self.until_told_to_stop() => return Err(BodyEnd::NotBuilt),
                ready = need.readiness.wait() => ready,
            };
            if let Err(why) = ready {
                // Gone for good: no restart can help. The needed service's own failure, if it
                // failed, is handled first (it escalates before its supervisor is done): this
                // one waits until that service has stopped, and is then most likely told to
                // stop itself. If it is not (the failure was absorbed above), its failure
                // escalates.
                tokio::select! {
                    biased;
                    () = self.until_told_to_stop() => return Err(BodyEnd::NotBuilt),
                    _ = need.stopped.wait() => {}
                }
                if self.told_to_stop() {
                    return Err(BodyEnd::NotBuilt);
                }
                let error = format!(
                    "it needs service {:?}, which will not be ready: {why}",
                    need.path
                );
                return Err(BodyEnd::Returned {
                    ended: Ended::Escalated(error),
                    early: !node.stopping.is_set(),
                });
            }
        }
        Ok(waited)
    }

    /// Whether this service, or an ancestor, was told to stop: then no instance is built
    /// again. (An ancestor's ordered stop reaches this service later, in its turn: it must
    /// not restart meanwhile.)
    fn told_to_stop(&self) -> bool {
        let mut at = Some(self.node.clone());
        while let Some(node) = at {
            if node.stopping.is_set() {
                return true;
            }
            at = node.parent();
        }
        false
    }

    /// Completes when this service, its parent or the tree is told to stop (a deeper
    /// ancestor's stop reaches it through its parent's, or is caught by
    /// [`told_to_stop`](Self::told_to_stop) before a build).
    async fn until_told_to_stop(&self) {
        tokio::select! {
            () = self.node.stopping.wait() => {}
            () = self.parent.stopping.wait() => {}
            () = self.node.tree.token.cancelled() => {}
        }
    }

    /// Tells the current children (the ended instance's) to stop, in the service's stop
    /// order (what needs another first: see [`order`]), within this service's timeout;
    /// returns them, to wait for.
    fn stop_children(&self) -> Vec<Arc<Node>> {
        let node = &self.node;
        let children = node.children.live_in_order();
        order::stop_children(
            node,
            false,
            &children,
            node.stop_order,
            || Some(deadline_after(Instant::now(), node.own_timeout())),
            true,
        );
        children
    }

    /// Between two instances: waits until the ended instance's `children` have stopped, and
    /// for the backoff `delay`. `false` when the service was told to stop meanwhile (the
    /// restart is cancelled). Children started meanwhile (by a session of the ended
    /// instance) are not waited for: they run on into the next instance.
    ///
    /// In a restart round, it then says that its instance has ended, and waits for its turn
    /// (every member ended, and those before it started again).
    async fn between_instances(
        &self,
        children: Vec<Arc<Node>>,
        delay: Duration,
        round: Option<&Turn>,
    ) -> bool {
        let ready = async {
            let stopped = async {
                for child in &children {
                    child.stopped.wait().await;
                }
            };
            if delay.is_zero() {
                stopped.await;
                yield_between_instances().await;
            } else {
                tokio::join!(stopped, tokio::time::sleep(delay));
            }
            if let Some(round) = round {
                round.ended();
                round.wait().await;
            }
        };
        tokio::select! {
            biased;
            () = self.until_told_to_stop() => false,
            () = ready => !self.told_to_stop(),
        }
    }

    /// Builds, polls and drops one instance's body, each step with the service as the
    /// current scope and panics caught: a body that panics while being built, polled or
    /// dropped is a panicked instance, never a dead supervisor.
    ///
    /// In a restart round (`turn`), the next member may start once this body is built.
    /// Also returns the failure of a child that escalated to it and stopped it, if one did.
    /// `started` (when the instance started) moves to its body's start when it first waited
    /// for the services it needs.
    async fn run_body(
        &self,
        service: &mut Service,
        turn: Option<Turn>,
        restart: bool,
        started: &mut Instant,
    ) -> (BodyEnd, Option<String>) {
        let node = &self.node;
        // A failure of an earlier instance's child that arrived between instances is moot:
        // that instance is gone.
        node.inbox.clear();
        node.readiness_new_instance(*started);
        self.timed_out.store(false, Ordering::Relaxed);
        let needs = if node.needs.is_empty() {
            Ok(false)
        } else {
            Box::pin(self.wait_for_needs()).await
        };
        let waited = match needs {
            // How long an instance ran (the report's "after running", the state's uptime)
            // counts from its body's start, not from its wait.
            Ok(true) => {
                *started = Instant::now();
                node.readiness.body_started(*started);
                true
            }
            Ok(false) => false,
            Err(end) => {
                if let Some(turn) = turn {
                    turn.started();
                }
                return (end, None);
            }
        };
        let generation = node.readiness.generation();
        if restart {
            if waited && self.told_to_stop() {
                // Told to stop while it waited for what it needs: no restart.
                return (BodyEnd::NotBuilt, None);
            }
            // Counted here, with no `.await` since the last check: a restart counted is an
            // instance built.
            node.record.restarted();
        }
        let mut scope = Some(node.clone());
        let instance = node.new_instance(generation);
        let shutdown = Shutdown::of_body(instance.clone().unwrap_or_else(|| node.clone()));
        let made = {
            let _in = context::enter(&mut scope);
            catching(|| service.body.make(shutdown))
        };
        if let Some(turn) = turn {
            turn.started();
        }
        if matches!(made, Ok(Some(_))) {
            node.tree.events.publish_with(|| Event::Started {
                service: node.path.clone(),
                attempt: generation,
            });
        }
        let mut body = match made {
            Ok(Some(body)) => body,
            Ok(None) => {
                // Refused at the start (`check_policy`): not reached.
                let ended = Ended::Failed("its body runs once and cannot be restarted".to_owned());
                let early = !node.stopping.is_set();
                return (BodyEnd::Returned { ended, early }, None);
            }
            Err(message) => {
                let early = !node.stopping.is_set();
                return (
                    BodyEnd::Returned {
                        ended: Ended::Panicked(message),
                        early,
                    },
                    None,
                );
            }
        };
        let (end, escalated) = {
            // A body that does not signal its readiness is ready once its first poll
            // returned `Pending`: the services it starts before its first `.await` are
            // counted by then, so the tree is not ready before they are.
            let mut ready_at_first_poll = !node.signals_ready;
            let mut poll = pin!(std::future::poll_fn(|cx| {
                let polled = {
                    let _in = context::enter(&mut scope);
                    catching(|| body.as_mut().poll(cx))
                        .unwrap_or_else(|panic| Poll::Ready(Ended::Panicked(panic)))
                };
                if std::mem::take(&mut ready_at_first_poll) && polled.is_pending() {
                    node.mark_ready(generation);
                }
                polled
            }));
            self.watch(
                instance.as_ref(),
                generation,
                service.cancel_on_stop,
                &mut poll,
            )
            .await
        };
        let dropped = {
            let _in = context::enter(&mut scope);
            catching(move || drop(body))
        };
        let end = match dropped {
            Ok(()) => end,
            Err(message) => {
                if matches!(end, BodyEnd::Aborted) {
                    // Reported as panicked; the deadline that aborted it is noted all the same.
                    node.cut();
                }
                end.drop_panicked(message)
            }
        };
        (end, escalated)
    }

    /// Polls the body until it returns, until a child's failure escalates to it, or until
    /// its stop (a body that takes no `Shutdown`) or its deadline; or, in a restart round,
    /// until its instance has stopped for the restart (bounded by its timeout). Also returns
    /// the failure of a child that escalated to it (it was then told to stop).
    async fn watch<F>(
        &self,
        instance: Option<&Arc<Node>>,
        generation: u64,
        cancel_on_stop: bool,
        body: &mut Pin<&mut F>,
    ) -> (BodyEnd, Option<String>)
    where
        F: Future<Output = Ended>,
    {
        let node = &*self.node;
        // A child's failure that escalated to it, or its ready timeout: the instance fails.
        // Neither can happen to a service that does not restart and has no ready timeout,
        // which then polls nothing for it.
        let can_escalate = node.restart != Restart::Never || node.ready_timeout.is_some();
        let escalated = async {
            if !can_escalate {
                return std::future::pending().await;
            }
            // Boxed, as every path that the cycle of a service that starts and stops does
            // not take: the supervisor's future is copied whole when it is spawned and at
            // each `.await` of a nested async fn, so every byte of it is paid by every
            // service (see benches/README.md, "The service cycle, fifth session").
            Box::pin(self.escalation(generation)).await
        };
        let instance_stopped = async {
            match instance {
                Some(instance) => instance.stopping.wait().await,
                None => std::future::pending().await,
            }
        };
        let mut escalation = None;
        tokio::select! {
            biased;
            ended = body.as_mut() => {
                let stopping = node.stopping.is_set();
                if !stopping && instance.is_some_and(|instance| instance.stopping.is_set()) {
                    // It returned because its instance was told to stop (for a restart):
                    // not a failure of its own.
                    return (BodyEnd::StoppedForRestart { ended: Some(ended), dropped: false }, None);
                }
                return (BodyEnd::Returned { ended, early: !stopping }, None);
            }
            failure = escalated => {
                if node.restart == Restart::Never {
                    // No restart can take it (a ready timeout of a service that does not
                    // restart): the tree, or a restarting ancestor, learns it now, not once
                    // the instance has stopped (up to its timeout).
                    self.escalate_at_once(&failure);
                }
                // The instance fails with its child's failure: it is told to stop (its
                // `Shutdown` fires), within its timeout, before it is restarted.
                if let Some(instance) = instance {
                    instance.request_stop();
                }
                match Box::pin(Self::stop_for_restart(node, instance, cancel_on_stop, body)).await {
                    Some(end) => return (end, Some(failure)),
                    // The service was told to stop meanwhile: the ordinary stop goes on, and
                    // the failure is still this instance's (its restart is then cancelled).
                    None => escalation = Some(failure),
                }
            }
            // Told to stop. An ancestor's abort reaches it this way too (see `Node::abort`),
            // also when it had not been told yet (an ordered stop had not reached it).
            () = node.stopping.wait() => {}
            () = instance_stopped => {
                if let Some(end) = Box::pin(Self::stop_for_restart(node, instance, cancel_on_stop, body)).await {
                    return (end, None);
                }
            }
        }
        // Told to stop: so is its instance (the body's `Shutdown`), before the body is polled
        // again. The stop sets the service's latch, then its instance's: woken by the first,
        // this would otherwise poll a body not told yet, and a deadline already past (a zero
        // timeout) abort it (a review found a third of such stops reported aborted).
        if let Some(instance) = instance {
            instance.stopping.set();
        }
        let end = if cancel_on_stop {
            if node.is_aborted() {
                // Aborted before it was told to stop: not a stop of its own.
                BodyEnd::Aborted
            } else {
                BodyEnd::DroppedAtStop
            }
        } else {
            tokio::select! {
                biased;
                ended = body.as_mut() => BodyEnd::Returned { ended, early: false },
                () = node.until_abort() => BodyEnd::Aborted,
            }
        };
        (end, escalation)
    }

    /// A child's failure that escalated to this service, or its ready timeout: how the
    /// running instance (`generation`) fails.
    async fn escalation(&self, generation: u64) -> String {
        let node = &*self.node;
        let child_failed = async {
            if node.restart == Restart::Never {
                // Escalations pass this node by: nothing to wait for.
                std::future::pending().await
            } else {
                node.inbox.receive().await
            }
        };
        let not_ready_in_time = async {
            let Some(timeout) = node.ready_timeout else {
                return std::future::pending().await;
            };
            tokio::time::sleep(timeout).await;
            let why = ReadyError::TimedOut {
                service: node.path.clone(),
                timeout,
            };
            // Decided with the readiness's lock: a `Ready::set` racing this is either in
            // time or refused. Those waiting for a service that will not restart learn now,
            // not once its instance has stopped.
            let how = if node.restart == Restart::Never {
                TimedOut::ForGood(why.clone())
            } else {
                TimedOut::Restarting
            };
            if !node.readiness.time_out(generation, how) {
                return std::future::pending().await;
            }
            self.timed_out.store(true, Ordering::Relaxed);
            log(
                || tracing::error!(service = %node.path, ?timeout, "service not ready within its ready timeout"),
            );
            why.to_string()
        };
        tokio::select! {
            failure = child_failed => failure,
            failure = not_ready_in_time => failure,
        }
    }

    /// The instance was stopped for a restart (a round, or a child's failure that escalated
    /// to it): waits for its body to return, up to the instance's deadline (then it is
    /// dropped, and the deadline noted: exit code 124). `None` when the service itself was
    /// told to stop meanwhile (the ordinary stop takes over).
    async fn stop_for_restart<F>(
        node: &Node,
        instance: Option<&Arc<Node>>,
        cancel_on_stop: bool,
        body: &mut Pin<&mut F>,
    ) -> Option<BodyEnd>
    where
        F: Future<Output = Ended>,
    {
        if node.stopping.is_set() {
            return None;
        }
        if cancel_on_stop {
            return Some(BodyEnd::StoppedForRestart {
                ended: None,
                dropped: false,
            });
        }
        let deadline = async {
            match instance.and_then(|instance| instance.deadline()) {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            ended = body.as_mut() => {
                if node.stopping.is_set() {
                    Some(BodyEnd::Returned { ended, early: false })
                } else {
                    Some(BodyEnd::StoppedForRestart {
                        ended: Some(ended),
                        dropped: false,
                    })
                }
            }
            () = node.stopping.wait() => None,
            () = deadline => {
                // What did not stop by its deadline is aborted, and the exit code says so.
                node.tree.note_deadline_reached();
                log(|| tracing::error!(service = %node.path, "{}", dropped_why(node)));
                Some(BodyEnd::StoppedForRestart {
                    ended: None,
                    dropped: true,
                })
            }
        }
    }

    /// A failure of the running instance that no restart of this service can take (its
    /// policy is `Never`): published and escalated now, as [`judge`](Self::judge) would once
    /// the instance has stopped; the instance is then stopped as any failed one is.
    fn escalate_at_once(&self, failure: &str) {
        let path = &self.node.path;
        let _ = self.escalated_at.set(Instant::now());
        self.node.tree.events.publish_with(|| Event::Failed {
            service: path.clone(),
            error: failure.to_owned(),
        });
        self.escalate(Trigger::ServiceFailed {
            service: path.clone(),
            error: failure.to_owned(),
        });
        log(|| tracing::error!(service = %path, error = %failure, early = true, "service failed"));
    }

    /// Sends a failure the policy does not absorb up the tree: to the nearest ancestor that
    /// restarts and is not stopping, else to the root as the shutdown's trigger.
    fn escalate(&self, trigger: Trigger) {
        // Said before the escalation stops this service (which gives its readiness up as
        // "stopped"): the waiters learn why. It leaves the tree's readiness after.
        let leaves = self.give_up_readiness(&trigger);
        self.escalate_to_ancestor_or_tree(trigger);
        self.node.leave_tree_readiness(leaves);
    }

    fn escalate_to_ancestor_or_tree(&self, trigger: Trigger) {
        // Once the tree's stop has begun, no ancestor restarts: the failure is the stop's.
        let mut at = (!self.node.tree.stop_started()).then(|| self.parent.clone());
        while let Some(ancestor) = at {
            if ancestor.restart != Restart::Never && !ancestor.stopping.is_set() {
                self.node.record.escalated(Some(ancestor.path.clone()));
                // Its instance fails with this failure: not ready from now on, said before
                // this service leaves the tree's count (see `escalate`), so that the tree
                // does not look ready in between. Only that instance's readiness: read
                // before the delivery, so that a next instance built meanwhile is left alone.
                let generation = ancestor.readiness.generation();
                ancestor.inbox.deliver(trigger.to_string());
                ancestor.readiness_failing(generation);
                log(
                    || tracing::warn!(service = %self.node.path, to = %ancestor.path, "failure escalated to a restarting ancestor"),
                );
                return;
            }
            at = ancestor.parent();
        }
        // It escalated if it is the trigger. After the tree's stop was requested it is a
        // failure of the stop, which does not make it escalate (though it still ends a drain
        // delay: the stop starts now).
        if self.node.tree.trigger(trigger) {
            self.node.record.escalated(None);
        }
    }

    /// A failure escalates: the service will not be ready, and why. Whether it has yet to
    /// leave the tree's readiness (see [`Node::readiness_gone_uncounted`]).
    fn give_up_readiness(&self, trigger: &Trigger) -> bool {
        let node = &self.node;
        let why = if self.timed_out.load(Ordering::Relaxed) {
            ReadyError::TimedOut {
                service: node.path.clone(),
                timeout: node.ready_timeout.unwrap_or_default(),
            }
        } else {
            let error = match trigger {
                Trigger::ServiceFailed { error, .. } => error.clone(),
                Trigger::ServicePanicked { message, .. } => format!("panicked: {message}"),
                other => other.to_string(),
            };
            ReadyError::Failed {
                service: node.path.clone(),
                error,
            }
        };
        node.readiness_gone_uncounted(|| why)
    }

    /// Between two instances: not ready until the next one is; says so.
    fn restarting(&self, attempt: u64, delay: Duration) {
        let node = &self.node;
        node.readiness_restarting(deadline_after(Instant::now(), delay));
        node.tree.events.publish_with(|| Event::Restarting {
            service: node.path.clone(),
            attempt,
            delay,
        });
    }

    /// Turns an end the restart policy does not absorb into the outcome; a failure before
    /// the stop escalates.
    fn judge(&self, ended: Ended, early: bool) -> ServiceOutcome {
        let path = &self.node.path;
        if self.escalated_at.get().is_some() {
            // Said and escalated when it happened.
            return final_outcome(ended, early);
        }
        if early && ended.is_failure() {
            self.node.tree.events.publish_with(|| Event::Failed {
                service: path.clone(),
                error: describe(&ended),
            });
        }
        match &ended {
            Ended::Ok if early => {
                log(|| tracing::warn!(service = %path, "service ended before it was told to stop"));
            }
            Ended::Ok => {}
            Ended::Failed(error) | Ended::Escalated(error) => {
                if early {
                    self.escalate(Trigger::ServiceFailed {
                        service: path.clone(),
                        error: error.clone(),
                    });
                }
                log(|| tracing::error!(service = %path, %error, early, "service failed"));
            }
            Ended::Panicked(message) => {
                if early {
                    self.escalate(Trigger::ServicePanicked {
                        service: path.clone(),
                        message: message.clone(),
                    });
                }
                log(|| tracing::error!(service = %path, %message, early, "service panicked"));
            }
        }
        if !early && ended.is_failure() {
            self.note_restart_that_stopped_it();
        }
        final_outcome(ended, early)
    }

    /// A failure while it stopped: when the stop was a restarting ancestor's (its instance
    /// ended, and its children stop before the next one starts; see
    /// [`StopInfo::for_restart`]), the failure is that restart's, and the report says which.
    /// Several children failing at once under one restarting service meet here: the first
    /// escalates, and the stop it causes reaches the others before their supervisors see
    /// their own ends.
    ///
    /// [`StopInfo::for_restart`]: crate::lifecycle::shared::StopInfo
    fn note_restart_that_stopped_it(&self) {
        let mut stopped = self.node.clone();
        // Once the tree's stop has begun, the restart will not happen: the failure is the
        // stop's.
        if !stopped.stop_info().is_some_and(|stop| stop.for_restart)
            || self.node.tree.stop_started()
        {
            return;
        }
        // Up through the ancestors that stopped with it, to the one whose restart it is.
        while let Some(parent) = stopped.parent() {
            if !parent.stop_info().is_some_and(|stop| stop.for_restart) {
                self.node.record.taken_by_restart(parent.path.clone());
                return;
            }
            stopped = parent;
        }
    }

    /// The outcome of an instance dropped at the abort.
    fn aborted(&self) -> ServiceOutcome {
        let path = &self.node.path;
        match self.node.cut() {
            Cut::Forced => {
                log(|| tracing::error!(service = %path, "service aborted by a second signal"));
                ServiceOutcome::Forced
            }
            Cut::Deadline => {
                log(
                    || tracing::error!(service = %path, "service did not stop by its deadline: aborted"),
                );
                ServiceOutcome::Aborted
            }
            Cut::RunDropped => {
                log(
                    || tracing::warn!(service = %path, "the root's run was dropped: service aborted"),
                );
                ServiceOutcome::RunDropped
            }
        }
    }
}

/// A zero backoff's pause, instead of a sleep: tokio rounds every sleep up to its next
/// millisecond tick, which made `0s..0s` a restart per millisecond. A body that fails at once,
/// restarted without limit, must still let the other tasks run: this spends a unit of the
/// task's coop budget and, once the budget is gone, yields here, between two instances, so
/// that a stop that comes meanwhile cancels the restart (rather than finding the next
/// instance built, in its first poll, which a `select!` on a spent budget would not start).
async fn yield_between_instances() {
    tokio::task::coop::consume_budget().await;
    if !tokio::task::coop::has_budget_remaining() {
        tokio::task::yield_now().await;
    }
}

/// What the report says of an instance dropped at its timeout while it stopped for its
/// restart, or, in a service that does not restart, after it failed (its ready timeout).
/// What a failure while its instance stopped after a failure was (see [`dropped_why`]).
fn stopping_why(node: &Node) -> &'static str {
    if node.restart == Restart::Never {
        "while stopping once it had failed"
    } else {
        "while stopping for its restart"
    }
}

fn dropped_why(node: &Node) -> &'static str {
    if node.restart == Restart::Never {
        "did not stop within its timeout once it had failed: dropped"
    } else {
        "did not stop for its restart within its timeout: dropped"
    }
}

/// The outcome of a service whose last instance ended as `ended`.
fn final_outcome(ended: Ended, early: bool) -> ServiceOutcome {
    match ended {
        Ended::Ok if early => ServiceOutcome::EndedEarly,
        Ended::Ok => ServiceOutcome::Stopped,
        Ended::Failed(error) | Ended::Escalated(error) => ServiceOutcome::Failed { error, early },
        Ended::Panicked(message) => ServiceOutcome::Panicked { message, early },
    }
}

#[cfg(all(test, not(canstop_loom)))]
mod tests {
    use std::time::Duration;

    use crate::{Root, Service, Shutdown};

    /// The stop sets a service's latch, then its instance's (the body's `Shutdown`: a service
    /// that signals its readiness has one). A supervisor woken by the first must not poll its
    /// body, and look at a deadline already past, before the body is told: here the second
    /// never comes from the stop, and the body must still be told. (A review found a third of
    /// the SIGTERMs under a zero timeout reported such a service aborted, exit 124; without the
    /// supervisor telling the instance, this waits forever.)
    #[tokio::test(start_paused = true)]
    async fn a_body_is_told_before_it_is_polled_once_its_service_is() {
        let report = Root::new()
            .signals(false)
            .timeout_from_env(false)
            .run(async {
                let (polled, first_poll) = tokio::sync::oneshot::channel();
                let service = crate::start(
                    Service::new("unready", |shutdown: Shutdown| async move {
                        let _ = polled.send(());
                        shutdown.requested().await;
                    })
                    .signals_ready(),
                )?;
                first_poll.await.unwrap();
                // The service's own latch only, as the stop sets it first.
                service.node.stopping.set();
                tokio::time::timeout(Duration::from_secs(3600), service.stopped())
                    .await
                    .expect("its body was told to stop");
                crate::shutdown()
            })
            .await
            .unwrap();
        assert!(report.is_clean(), "{report}");
    }
}
