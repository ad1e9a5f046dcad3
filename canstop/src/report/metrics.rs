//! The `metrics` feature: the tree's counts through the [`metrics`] crate's facade, to
//! whatever recorder the program installed (a Prometheus exporter, statsd, ...).
//!
//! # What is exported
//!
//! | metric | kind | labels | value |
//! |---|---|---|---|
//! | `canstop_sessions_live` | gauge | `scope`, `kind` | sessions of that kind running in that scope |
//! | `canstop_sessions_started_total` | counter | `kind` | sessions started, in the whole tree |
//! | `canstop_sessions_finished_total` | counter | `kind` | ... that returned `()` or `Ok` |
//! | `canstop_sessions_failed_total` | counter | `kind` | ... that returned `Err` |
//! | `canstop_sessions_panicked_total` | counter | `kind` | ... that panicked |
//! | `canstop_sessions_aborted_total` | counter | `kind` | ... aborted: at a deadline, by a second signal, or cancelled by the program (`SessionHandle::abort`) |
//! | `canstop_service_restarts_total` | counter | `service` | restarts of that service |
//! | `canstop_service_phase` | gauge | `service` | its [`Phase::code`]: 1 starting, 2 ready, 3 restarting, 4 stopping, 5 stopped |
//!
//! `scope` and `service` are paths (`parent/child`); the root scope's is the empty string
//! (no service has an empty name). `kind` is the session kind's name: kinds of one name at
//! different places are summed.
//!
//! # Where the values come from
//!
//! **Never from the session hot path**: spawning and ending a session touch no extra atomic
//! for this. A task of the tree takes a [`State`] snapshot every
//! [`Root::metrics_every`](crate::Root::metrics_every) (1 s by default) and exports it;
//! a last export is made from the [`Report`] when it is made, so that once
//! [`Root::run`](crate::Root::run) returns, every counter equals the report's count and every
//! live gauge is 0. Counters are set with `Counter::absolute` from the tree's own counts
//! (which only grow); a gauge of a scope or service that is gone (folded in the report) is set
//! to 0 (live) or 5 (phase) at the next export.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::report::state::{snapshot, Phase, State};
use crate::report::Report;
use crate::sync::locking::lock;
use crate::tree::node::Node;

/// The default period of the exports from state snapshots.
pub(crate) const DEFAULT_EVERY: Duration = Duration::from_secs(1);

const LIVE: &str = "canstop_sessions_live";
const STARTED: &str = "canstop_sessions_started_total";
const FINISHED: &str = "canstop_sessions_finished_total";
const FAILED: &str = "canstop_sessions_failed_total";
const PANICKED: &str = "canstop_sessions_panicked_total";
const ABORTED: &str = "canstop_sessions_aborted_total";
const RESTARTS: &str = "canstop_service_restarts_total";
const PHASE: &str = "canstop_service_phase";

/// The phase code of a stopped service.
const STOPPED: u8 = 5;

/// The label sets exported so far, so that those that disappear are set back.
#[derive(Default)]
struct Exporter {
    live: HashSet<(String, &'static str)>,
    services: HashSet<String>,
}

/// Per kind name: started, finished, failed, panicked, aborted.
type Outcomes = HashMap<&'static str, [u64; 5]>;

impl Exporter {
    fn export(
        &mut self,
        live: HashMap<(String, &'static str), u64>,
        outcomes: Outcomes,
        services: HashMap<String, (u8, u64)>,
    ) {
        for gone in self.live.difference(&live.keys().cloned().collect()) {
            metrics::gauge!(LIVE, "scope" => gone.0.clone(), "kind" => gone.1).set(0.0);
        }
        for ((scope, kind), count) in &live {
            metrics::gauge!(LIVE, "scope" => scope.clone(), "kind" => *kind).set(*count as f64);
        }
        self.live = live.into_keys().collect();
        for (kind, counts) in outcomes {
            let names = [STARTED, FINISHED, FAILED, PANICKED, ABORTED];
            for (name, count) in names.into_iter().zip(counts) {
                metrics::counter!(name, "kind" => kind).absolute(count);
            }
        }
        for gone in self
            .services
            .difference(&services.keys().cloned().collect())
        {
            metrics::gauge!(PHASE, "service" => gone.clone()).set(f64::from(STOPPED));
        }
        for (service, (phase, restarts)) in &services {
            metrics::gauge!(PHASE, "service" => service.clone()).set(f64::from(*phase));
            metrics::counter!(RESTARTS, "service" => service.clone()).absolute(*restarts);
        }
        self.services = services.into_keys().collect();
    }

    fn state(&mut self, state: &State) {
        let mut live = HashMap::new();
        let mut services: HashMap<String, (u8, u64)> = HashMap::new();
        for node in state.nodes() {
            for counts in &node.sessions {
                *live
                    .entry((node.path.clone(), counts.kind.name()))
                    .or_default() += counts.live;
            }
            if node.path.is_empty() {
                continue;
            }
            // A stopped service kept in the report and a live one of the same path: the live
            // one's phase, the higher restart count.
            let stopped = matches!(node.phase, Phase::Stopped { .. });
            let entry = services
                .entry(node.path.clone())
                .or_insert((node.phase.code(), node.restarts));
            if !stopped {
                entry.0 = node.phase.code();
            }
            entry.1 = entry.1.max(node.restarts);
        }
        let mut outcomes = Outcomes::new();
        for counts in &state.sessions {
            let sum = outcomes.entry(counts.kind.name()).or_default();
            let add = [
                counts.started,
                counts.finished,
                counts.failed,
                counts.panicked,
                counts.aborted,
            ];
            sum.iter_mut().zip(add).for_each(|(sum, add)| *sum += add);
        }
        self.export(live, outcomes, services);
    }

    fn report(&mut self, report: &Report) {
        let mut live: HashMap<(String, &'static str), u64> =
            self.live.iter().map(|key| (key.clone(), 0)).collect();
        let mut services: HashMap<String, (u8, u64)> = HashMap::new();
        for service in report.all_services() {
            for stats in &service.sessions {
                live.insert((service.path.clone(), stats.kind.name()), 0);
            }
            let entry = services.entry(service.path.clone()).or_insert((STOPPED, 0));
            entry.1 = entry.1.max(service.restarts);
        }
        let mut outcomes = Outcomes::new();
        for stats in &report.sessions {
            let sum = outcomes.entry(stats.kind.name()).or_default();
            let add = [
                stats.started,
                stats.finished,
                stats.failed,
                stats.panicked,
                stats.aborted,
            ];
            sum.iter_mut().zip(add).for_each(|(sum, add)| *sum += add);
        }
        self.export(live, outcomes, services);
    }
}

/// The exports of one tree: the periodic task, and the last export from the report.
pub(crate) struct Metrics {
    exporter: Arc<Mutex<Exporter>>,
    stop: CancellationToken,
}

impl Metrics {
    /// Starts exporting `root`'s tree every `every` (not at all for zero: only the report's
    /// export is made), from a task on the tree's runtime that holds the tree weakly.
    pub(crate) fn start(root: &Arc<Node>, every: Duration) -> Self {
        let exporter = Arc::new(Mutex::new(Exporter::default()));
        let stop = CancellationToken::new();
        if !every.is_zero() {
            let tree: Weak<Node> = Arc::downgrade(root);
            let exporter = exporter.clone();
            let stop = stop.clone();
            drop(root.tree.runtime.spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        biased;
                        () = stop.cancelled() => break,
                        _ = ticks.tick() => {}
                    }
                    let Some(root) = tree.upgrade() else { break };
                    let state = snapshot(&root);
                    drop(root);
                    lock(&exporter).state(&state);
                }
            }));
        }
        Self { exporter, stop }
    }

    /// The last export, from the report: the periodic task ends first.
    pub(crate) fn finish(&self, report: &Report) {
        self.stop.cancel();
        lock(&self.exporter).report(report);
    }
}

impl Drop for Metrics {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
