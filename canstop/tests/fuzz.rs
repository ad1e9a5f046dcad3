//! A lifecycle fuzzer: seeded random supervisor trees (nesting, own timeouts, bodies that
//! return, fail, panic in a poll or while dropped, stall, block their thread or ignore the
//! stop), random spawns from bodies, tokio tasks, `spawn_blocking` and plain threads, random
//! triggers and deadlines; after each run, the invariants of the report are checked against a
//! ledger kept by the bodies themselves.
//!
//! - `cargo test -p canstop --test fuzz`: 300 seeds from a fixed base, within a ~40 s budget.
//! - `CANSTOP_FUZZ_SEEDS=N`: N seeds (no budget). `CANSTOP_FUZZ_BASE=B`: another base.
//! - `CANSTOP_FUZZ_SEED=S`: replays one seed (timing-dependent: a race may need a few runs,
//!   `CANSTOP_FUZZ_REPEAT=R` replays it R times).
//!
//! `-- --nocapture` prints the coverage of every behaviour and outcome. A failing seed prints
//! its violations, its plan, the report and its replay command.
//!
//! The invariants, checked after every run:
//! - per kind, in every scope and summed: `started == finished + failed + panicked + aborted`,
//!   `abandoned <= aborted`, and none `cancelled` (no body aborts a session through its handle:
//!   every abort is a deadline's or a second signal's);
//! - per kind, `started` equals the spawns that returned `Ok`; the outcomes match what the
//!   bodies did (`finished` no more than the bodies that returned `Ok`, exactly as many when
//!   nothing of the kind was aborted; the same for `failed` and `panicked`);
//! - every service that `start` returned `Ok` for is reported exactly once, no other is, and its
//!   outcome matches how its body ended;
//! - nothing alive when `Root::run` returns (no body polled and not yet dropped, no blocking
//!   work running) but what the report names (an unresponsive service's subtree, abandoned
//!   blocking work); every blocking closure dropped within 1 s;
//! - the exit code agrees with the report's outcomes, and is not 0 when `main`, a service or a
//!   session failed or panicked, and is 124 when a body was dropped mid-way (aborted);
//! - `Root::run` returns within the tree's timeout (+ 400 ms grace, + 1 s slack) of the
//!   earliest trigger, and never hangs;
//! - supervision (some services restart on failure or always, with small limits and backoffs,
//!   under parents whose strategy is one-for-one, one-for-all or rest-for-one): a service's
//!   report counts one restart per instance built after the first, and a failure it or an
//!   ancestor's restart handled never makes the exit code disagree with the outcomes.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use canstop::{
    Ready, Report, Restart, Root, Scope, Service, ServiceHandle, ServiceOutcome, Session, Shutdown,
    StopOrder, Strategy, Trigger,
};

/// The seeds a plain `cargo test` runs, and their wall-clock budget.
const DEFAULT_SEEDS: u64 = 300;
const DEFAULT_BASE: u64 = 0x5EED_0000;
const BUDGET: Duration = Duration::from_secs(40);
/// Seeds run at once (each on its own runtime): the runs mostly sleep.
const PARALLEL: usize = 4;
/// Slack on top of the tree's timeout and canstop's 400 ms grace for its services to report
/// after the deadline, for a loaded machine.
const SLACK: Duration = Duration::from_secs(1);
const ABORT_GRACE: Duration = Duration::from_millis(400);
/// A run that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// PRNG

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Milliseconds in `lo..=hi`, in steps of 10 ms so that events coincide now and then.
    fn ms10(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below((hi - lo) / 10 + 1) * 10
    }
}

// ---------------------------------------------------------------------------------------------
// The plan

/// What an async body (a service's or a session's) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Returns `Ok` after a delay (ms).
    Ok(u64),
    /// Returns `Err` after a delay.
    Err(u64),
    /// Panics in a poll after a delay.
    PanicPoll(u64),
    /// Holds a value whose `Drop` panics and stalls: panics when dropped (aborted, or at its
    /// stop for a `cancel_on_stop` service).
    PanicDrop,
    /// Pending forever, ignoring the stop.
    Stall,
    /// Waits for the stop, then returns `Ok` after a delay.
    Graceful(u64),
    /// Blocks its thread synchronously (ms), then behaves gracefully.
    Block(u64),
    /// Ignores the stop and returns `Ok` after longer than the tree's deadline.
    Late,
}

const BEHAVIOURS: [&str; 8] = [
    "ok",
    "err",
    "panic_poll",
    "panic_drop",
    "stall",
    "graceful",
    "block",
    "late",
];

impl Behaviour {
    fn index(self) -> usize {
        match self {
            Self::Ok(_) => 0,
            Self::Err(_) => 1,
            Self::PanicPoll(_) => 2,
            Self::PanicDrop => 3,
            Self::Stall => 4,
            Self::Graceful(_) => 5,
            Self::Block(_) => 6,
            Self::Late => 7,
        }
    }

    fn random(rng: &mut Rng, calm: bool) -> Self {
        if calm {
            return match rng.below(4) {
                0 => Self::Ok(rng.ms10(0, 30)),
                1 => Self::Err(rng.ms10(0, 30)),
                _ => Self::Graceful(rng.ms10(0, 10)),
            };
        }
        match rng.below(16) {
            0 | 1 => Self::Ok(rng.ms10(0, 60)),
            2 => Self::Err(rng.ms10(0, 60)),
            3 => Self::PanicPoll(rng.ms10(0, 60)),
            4 => Self::PanicDrop,
            5 => Self::Stall,
            6..=11 => Self::Graceful(rng.ms10(0, 30)),
            12 | 13 => Self::Block(1 + rng.below(30)),
            _ => Self::Late,
        }
    }

    /// Mostly well-behaved, for services (a misbehaving service stops the tree early).
    fn random_service(rng: &mut Rng, calm: bool) -> Self {
        if calm || rng.chance(55) {
            Self::Graceful(rng.ms10(0, if calm { 10 } else { 30 }))
        } else {
            Self::random(rng, calm)
        }
    }
}

/// What blocking work does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocking {
    Ok,
    Err,
    Panic,
    /// Its closure holds a value whose `Drop` panics (dropped as the closure returns).
    PanicDrop,
    /// Sleeps (ms, ≤ 30), then `Ok`.
    Sleep(u64),
    /// Polls its scope's stop every 2 ms (for at most 300 ms), then `Ok`.
    WatchStop,
    /// Sleeps past the deadline (ms, bounded so that it ends eventually), then `Ok`.
    Long(u64),
}

const BLOCKINGS: [&str; 7] = [
    "ok",
    "err",
    "panic",
    "panic_drop",
    "sleep",
    "watch_stop",
    "long",
];

impl Blocking {
    fn index(self) -> usize {
        match self {
            Self::Ok => 0,
            Self::Err => 1,
            Self::Panic => 2,
            Self::PanicDrop => 3,
            Self::Sleep(_) => 4,
            Self::WatchStop => 5,
            Self::Long(_) => 6,
        }
    }

    fn random(rng: &mut Rng, calm: bool) -> Self {
        if calm {
            return match rng.below(3) {
                0 => Self::Ok,
                1 => Self::Err,
                _ => Self::Sleep(1 + rng.below(10)),
            };
        }
        match rng.below(10) {
            0 | 1 => Self::Ok,
            2 => Self::Err,
            3 => Self::Panic,
            4 => Self::PanicDrop,
            5 | 6 => Self::Sleep(1 + rng.below(30)),
            7 | 8 => Self::WatchStop,
            _ => Self::Long(rng.ms10(150, 250)),
        }
    }
}

/// Where a session is spawned from; also its kind's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `canstop::spawn` in a service's (or main's) body.
    Body,
    /// `canstop::spawn` in a session's body.
    Nested,
    /// `Scope::spawn` in a plain tokio task.
    Task,
    /// `Scope::spawn` in a plain thread.
    Thread,
    /// `canstop::spawn_blocking` in a body.
    Blocking,
    /// `Scope::spawn_blocking` in a plain thread.
    ThreadBlocking,
}

const KINDS: [&str; 6] = [
    "body",
    "nested",
    "task",
    "thread",
    "blocking",
    "thread_blocking",
];

impl Origin {
    fn index(self) -> usize {
        self as usize
    }
    fn name(self) -> &'static str {
        KINDS[self.index()]
    }
}

#[derive(Debug, Clone, Copy)]
enum Work {
    Async {
        behaviour: Behaviour,
        /// A session it spawns first (kind `nested`).
        nested: Option<Behaviour>,
    },
    Blocking(Blocking),
}

#[derive(Debug, Clone)]
struct SessionPlan {
    origin: Origin,
    /// For the spawns from tasks and threads: the delay before this one.
    delay_ms: u64,
    work: Work,
}

#[derive(Debug, Clone)]
struct NodePlan {
    /// Empty for the root (main's body).
    path: String,
    name: String,
    timeout_ms: Option<u64>,
    cancel_on_stop: bool,
    /// Before its parent's body starts it.
    start_delay_ms: u64,
    behaviour: Behaviour,
    sessions: Vec<SessionPlan>,
    children: Vec<usize>,
    /// A plain thread (or tokio task) spawning sessions into this scope back to back (1 ms
    /// apart) until refused: spawns racing the stop, the close and the deadline sweep.
    flood: Option<Flood>,
    /// Its restart policy, if it restarts (its behaviour then repeats in every instance).
    restart: Option<RestartPlan>,
    /// How it (or, for node 0, the root) restarts its children together.
    strategy: Strategy,
    /// Earlier siblings it needs (a start is refused when one is not running yet).
    needs: Vec<String>,
    /// The order its children (for node 0, the root's) stop in.
    stop_order: StopOrder,
    /// Says it is ready this long after each instance starts (else ready at its first `.await`).
    ready_after_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct RestartPlan {
    restart: Restart,
    max_restarts: u32,
    backoff_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Flood {
    from_thread: bool,
    /// Every `stall_every`-th session stalls (so the deadline is reached), the rest stop
    /// when told.
    stall_every: u64,
    /// When set: sleeps this long, then spawns back to back without pausing: a burst aimed
    /// at the scope's deadline sweep.
    aim_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
enum TriggerPlan {
    /// `canstop::shutdown()` from main's body (or from a plain thread) after a delay.
    Shutdown { delay_ms: u64, from_thread: bool },
    /// A service's body is made to fail (or panic) early.
    ServiceFails { node: usize },
    /// Main's body returns `Err` after a delay.
    MainErr { delay_ms: u64 },
    /// Main's body panics after a delay.
    MainPanic { delay_ms: u64 },
    /// `ServiceHandle::stop` of a subtree after a delay (the backstop ends the tree).
    StopSubtree { node: usize, delay_ms: u64 },
    /// Main's body returns `Ok` at once: the tree ends when everything has finished (or at
    /// the backstop).
    MainReturns,
}

#[derive(Debug, Clone)]
struct Plan {
    seed: u64,
    multi_thread: bool,
    /// Only well-behaved bodies (returning, or stopping when told), so that the exit code
    /// tells what the trigger did.
    calm: bool,
    timeout_ms: u64,
    trigger: TriggerPlan,
    /// `canstop::shutdown()` from a plain thread after this, whatever happened.
    backstop_ms: u64,
    /// The drain delay after a signal (zero: none).
    drain_delay_ms: u64,
    /// The `Shutdown` trigger is a signal delivered to the tree (with the drain delay), not
    /// `canstop::shutdown()`.
    signal: bool,
    /// `Scope::shutdown` from a plain tokio task after this (as well as the trigger, to race
    /// with it: the delays are multiples of 10 ms).
    extra_shutdown_ms: Option<u64>,
    /// Node 0 is the root scope (main's body).
    nodes: Vec<NodePlan>,
}

impl Plan {
    /// Its size, for picking the smallest failing seed.
    fn summary(&self) -> String {
        let sessions: usize = self.nodes.iter().map(|n| n.sessions.len()).sum();
        let dropping = self.nodes[1..]
            .iter()
            .filter(|n| n.behaviour == Behaviour::PanicDrop)
            .count();
        let floods = self.nodes.iter().filter(|n| n.flood.is_some()).count();
        format!(
            "{} services, {sessions} sessions, {}{}, {:?}{}; {dropping} service(s) panicking when dropped, {floods} flood(s)",
            self.nodes.len() - 1,
            if self.multi_thread { "mt" } else { "ct" },
            if self.calm { ", calm" } else { "" },
            self.trigger,
            match self.extra_shutdown_ms {
                Some(delay) => format!(" + shutdown at {delay} ms"),
                None => String::new(),
            }
        )
    }

    fn generate(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let multi_thread = rng.chance(50);
        let timeout_ms = rng.ms10(20, 150);
        let mut plan = Plan {
            seed,
            multi_thread,
            calm: rng.chance(25),
            timeout_ms,
            trigger: TriggerPlan::MainReturns,
            backstop_ms: rng.ms10(120, 200),
            // From their own stream, so that adding them left the other draws unchanged.
            drain_delay_ms: {
                let mut rng = Rng(seed ^ 0xD2_A1D0);
                if rng.chance(40) {
                    rng.ms10(10, 50)
                } else {
                    0
                }
            },
            signal: Rng(seed ^ 0x51_6AA1).chance(50),
            extra_shutdown_ms: None,
            nodes: Vec::new(),
        };
        plan.add_node(&mut rng, None, 0);
        let services = plan.nodes.len() - 1;
        plan.trigger = match rng.below(10) {
            0..=2 => TriggerPlan::Shutdown {
                delay_ms: rng.ms10(0, 60),
                from_thread: rng.chance(40),
            },
            3 | 4 if services > 0 => {
                let node = 1 + rng.below(services as u64) as usize;
                let delay = rng.ms10(0, 60);
                plan.nodes[node].behaviour = if rng.chance(70) {
                    Behaviour::Err(delay)
                } else {
                    Behaviour::PanicPoll(delay)
                };
                // Its failure is the trigger: it does not restart.
                plan.nodes[node].restart = None;
                TriggerPlan::ServiceFails { node }
            }
            5 | 6 => TriggerPlan::MainErr {
                delay_ms: rng.ms10(0, 60),
            },
            7 => TriggerPlan::MainPanic {
                delay_ms: rng.ms10(0, 60),
            },
            8 if services > 0 => TriggerPlan::StopSubtree {
                node: 1 + rng.below(services as u64) as usize,
                delay_ms: rng.ms10(0, 60),
            },
            _ => TriggerPlan::MainReturns,
        };
        plan.extra_shutdown_ms = rng.chance(35).then(|| rng.ms10(0, 60));
        // Aim some floods at the deadline, when the trigger's time is known (own stream).
        let trigger_ms = match plan.trigger {
            TriggerPlan::Shutdown { delay_ms, .. }
            | TriggerPlan::MainErr { delay_ms }
            | TriggerPlan::MainPanic { delay_ms } => Some(delay_ms),
            _ => None,
        };
        let trigger_ms = match (trigger_ms, plan.extra_shutdown_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut aim = Rng(seed ^ 0xA1_4000);
        for node in &mut plan.nodes {
            if let (Some(flood), Some(trigger_ms)) = (&mut node.flood, trigger_ms) {
                if aim.chance(50) {
                    let timeout = node.timeout_ms.unwrap_or(timeout_ms).min(timeout_ms);
                    flood.aim_ms = Some((trigger_ms + timeout).saturating_sub(aim.below(4)));
                }
            }
        }
        plan
    }

    fn add_node(&mut self, rng: &mut Rng, parent: Option<usize>, depth: usize) -> usize {
        let index = self.nodes.len();
        let name = format!("s{index}");
        let path = match parent {
            None => String::new(),
            Some(0) => name.clone(),
            Some(parent) => format!("{}/{name}", self.nodes[parent].path),
        };
        let sessions = (0..rng.below(if depth == 0 { 4 } else { 5 }))
            .map(|_| {
                let origin = match rng.below(10) {
                    0..=2 => Origin::Body,
                    3 | 4 => Origin::Task,
                    5 | 6 => Origin::Thread,
                    7 | 8 => Origin::Blocking,
                    _ => Origin::ThreadBlocking,
                };
                let work = match origin {
                    Origin::Blocking | Origin::ThreadBlocking => {
                        Work::Blocking(Blocking::random(rng, self.calm))
                    }
                    _ => Work::Async {
                        behaviour: Behaviour::random(rng, self.calm),
                        nested: rng.chance(20).then(|| Behaviour::random(rng, self.calm)),
                    },
                };
                SessionPlan {
                    origin,
                    delay_ms: rng.ms10(0, 80),
                    work,
                }
            })
            .collect();
        self.nodes.push(NodePlan {
            path,
            name,
            timeout_ms: (depth > 0 && rng.chance(30)).then(|| rng.ms10(20, 150)),
            cancel_on_stop: depth > 0 && rng.chance(15),
            start_delay_ms: if rng.chance(25) { rng.ms10(0, 60) } else { 0 },
            behaviour: Behaviour::random_service(rng, self.calm),
            sessions,
            children: Vec::new(),
            // From their own streams, so that adding them left the other draws unchanged.
            restart: {
                let mut rng = Rng(self.seed ^ 0x5E_2C0F ^ (index as u64) << 32);
                (depth > 0 && rng.chance(30)).then(|| RestartPlan {
                    restart: if rng.chance(70) {
                        Restart::OnFailure
                    } else {
                        Restart::Always
                    },
                    max_restarts: rng.below(4) as u32,
                    backoff_ms: rng.ms10(0, 20),
                })
            },
            strategy: {
                let mut rng = Rng(self.seed ^ 0x57_2A7E ^ (index as u64) << 32);
                match rng.below(8) {
                    0 | 1 => Strategy::OneForAll,
                    2 => Strategy::RestForOne,
                    _ => Strategy::OneForOne,
                }
            },
            needs: Vec::new(),
            stop_order: {
                let mut rng = Rng(self.seed ^ 0x0D_E2ED ^ (index as u64) << 32);
                if rng.chance(25) {
                    StopOrder::Reverse
                } else {
                    StopOrder::ByDependency
                }
            },
            ready_after_ms: {
                let mut rng = Rng(self.seed ^ 0x2E_ADD1 ^ (index as u64) << 32);
                (depth > 0 && rng.chance(30)).then(|| rng.ms10(0, 40))
            },
            // From its own stream, so that adding it left the other draws unchanged.
            flood: {
                let mut rng = Rng(self.seed ^ 0xF1_00D0 ^ (index as u64) << 32);
                rng.chance(30).then(|| Flood {
                    from_thread: rng.chance(50),
                    stall_every: 2 + rng.below(10),
                    aim_ms: None,
                })
            },
        });
        if depth < 3 {
            let max = if depth == 0 { 4 } else { 3 };
            for _ in 0..rng.below(max) {
                let child = self.add_node(rng, Some(index), depth + 1);
                self.nodes[index].children.push(child);
            }
            // Some children need earlier siblings (from their own stream).
            let children = self.nodes[index].children.clone();
            for (k, &child) in children.iter().enumerate().skip(1) {
                let mut rng = Rng(self.seed ^ 0x4E_ED50 ^ (child as u64) << 32);
                if rng.chance(40) {
                    let need = children[rng.below(k as u64) as usize];
                    let name = self.nodes[need].name.clone();
                    self.nodes[child].needs.push(name);
                }
            }
        }
        index
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage, over every seed of the process

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        #[derive(Clone, Copy, Debug)]
        #[allow(non_camel_case_types)]
        enum C { $($name),* }
        const COUNTER_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

counters!(
    runs,
    current_thread,
    multi_thread,
    drop_panics,
    aborted_bodies_dropped,
    spawns_refused,
    services_started,
    services_refused,
    subtree_stops,
    floods,
    services_restartable,
    services_signal_ready,
    services_with_needs,
    signals_delivered,
    drain_delays,
    needs_refused,
    services_started_again,
    services_restarted,
    restarts_cancelled,
    failures_handled_above,
    failing_service_not_started,
    main_failed,
    nested_spawns,
    sessions_aborted,
    sessions_abandoned,
    sessions_panicked,
    sessions_failed,
    svc_stopped,
    svc_ended_early,
    svc_failed,
    svc_panicked,
    svc_aborted,
    svc_unresponsive,
    trig_requested,
    trig_service_failed,
    trig_service_panicked,
    trig_service_gave_up,
    trig_main_failed,
    trig_main_panicked,
    trig_finished,
    trig_other,
    deadline_reached,
    exit_0,
    exit_1,
    exit_124,
    exit_other,
);

static COVER: [AtomicU64; COUNTER_NAMES.len()] = [const { AtomicU64::new(0) }; COUNTER_NAMES.len()];
static SERVICE_BEHAVIOURS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
static SESSION_BEHAVIOURS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
static BLOCKING_BEHAVIOURS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
static SPAWNS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

fn cover(counter: C) {
    cover_n(counter, 1);
}

fn cover_n(counter: C, n: u64) {
    COVER[counter as usize].fetch_add(n, SeqCst);
}

fn print_coverage() {
    let list = |names: &[&str], values: &[AtomicU64]| {
        names
            .iter()
            .zip(values)
            .map(|(name, value)| format!("{name}={}", value.load(SeqCst)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("coverage:");
    for chunk in COUNTER_NAMES.chunks(8) {
        let start = COUNTER_NAMES
            .iter()
            .position(|n| n == &chunk[0])
            .unwrap_or(0);
        println!("  {}", list(chunk, &COVER[start..start + chunk.len()]));
    }
    println!(
        "  service bodies run: {}",
        list(&BEHAVIOURS, &SERVICE_BEHAVIOURS)
    );
    println!(
        "  session bodies run: {}",
        list(&BEHAVIOURS, &SESSION_BEHAVIOURS)
    );
    println!(
        "  blocking work run:  {}",
        list(&BLOCKINGS, &BLOCKING_BEHAVIOURS)
    );
    println!("  Ok spawns per kind: {}", list(&KINDS, &SPAWNS));
}

// ---------------------------------------------------------------------------------------------
// The ledger of one run, kept by the bodies

#[derive(Default)]
struct KindLedger {
    ok_spawns: AtomicU64,
    returned_ok: AtomicU64,
    returned_err: AtomicU64,
    panicked: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Ok,
    Err,
    Panic,
}

struct Ledger {
    plan: Arc<Plan>,
    kinds: [KindLedger; 6],
    /// Per node: its body and its async sessions' bodies polled and not yet dropped.
    alive: Vec<AtomicI64>,
    /// What is alive, by id: "service s1/s2 (Stall)", "session task (Late) in s1".
    alive_labels: Mutex<HashMap<u64, String>>,
    next_id: AtomicU64,
    /// Blocking work whose closure is not yet dropped.
    blocking_alive: AtomicI64,
    /// Blocking work running right now.
    blocking_running: AtomicI64,
    /// Per node: how many times `start` returned `Ok` for it (more than once under a parent
    /// that restarts: each of the parent's instances starts its children again).
    starts: Vec<AtomicU64>,
    /// Per node: how its body (its last instance to end) ended.
    service_end: Vec<Mutex<Option<End>>>,
    /// Per node: how many instances of its body were built.
    instances: Vec<AtomicU64>,
    handles: Mutex<HashMap<usize, ServiceHandle>>,
    /// A body (session, or service without `cancel_on_stop`) dropped mid-way: aborted.
    aborted_dropped: AtomicBool,
    main_failed: AtomicBool,
    /// The earliest action that certainly triggered the shutdown (or came after the trigger).
    trigger_at: Mutex<Option<Instant>>,
    /// Set once `Root::run` has returned: the backstop thread gives up.
    done: AtomicBool,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Ledger {
    fn new(plan: Arc<Plan>) -> Self {
        let n = plan.nodes.len();
        Self {
            kinds: Default::default(),
            alive: (0..n).map(|_| AtomicI64::new(0)).collect(),
            alive_labels: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            blocking_alive: AtomicI64::new(0),
            blocking_running: AtomicI64::new(0),
            starts: (0..n).map(|_| AtomicU64::new(0)).collect(),
            service_end: (0..n).map(|_| Mutex::new(None)).collect(),
            instances: (0..n).map(|_| AtomicU64::new(0)).collect(),
            handles: Mutex::new(HashMap::new()),
            aborted_dropped: AtomicBool::new(false),
            main_failed: AtomicBool::new(false),
            trigger_at: Mutex::new(None),
            done: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
            plan,
        }
    }

    fn mark_trigger(&self) {
        let now = Instant::now();
        let mut at = lock(&self.trigger_at);
        if at.is_none_or(|at| now < at) {
            *at = Some(now);
        }
    }

    fn record_session(&self, origin: Origin, end: End) {
        let kind = &self.kinds[origin.index()];
        match end {
            End::Ok => &kind.returned_ok,
            End::Err => &kind.returned_err,
            End::Panic => &kind.panicked,
        }
        .fetch_add(1, SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Panics when dropped (unless already unwinding), telling `before` first: a body aborted
/// while holding one ends as panicked (for a session as for a service).
struct PanicOnDrop<'a>(Option<&'a (dyn Fn() + Sync)>);

impl Drop for PanicOnDrop<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            if let Some(before) = self.0 {
                before();
            }
            cover(C::drop_panics);
            panic!("fuzz: panic while dropped");
        }
    }
}

type BoxedBody = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A body's future, counted alive from its first poll until it is dropped.
struct Tracked {
    inner: BoxedBody,
    ledger: Arc<Ledger>,
    node: usize,
    /// Whether being dropped before completing means it was aborted.
    dropped_means_aborted: bool,
    label: String,
    id: u64,
    polled: bool,
    in_poll: bool,
    done: bool,
}

impl Tracked {
    fn new(
        ledger: &Arc<Ledger>,
        node: usize,
        dropped_means_aborted: bool,
        label: String,
        inner: BoxedBody,
    ) -> Self {
        Self {
            label,
            id: ledger.next_id.fetch_add(1, SeqCst),
            inner,
            ledger: ledger.clone(),
            node,
            dropped_means_aborted,
            polled: false,
            in_poll: false,
            done: false,
        }
    }
}

impl Future for Tracked {
    type Output = Result<(), String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if !this.polled {
            this.polled = true;
            this.ledger.alive[this.node].fetch_add(1, SeqCst);
            lock(&this.ledger.alive_labels).insert(this.id, this.label.clone());
        }
        this.in_poll = true;
        let polled = this.inner.as_mut().poll(cx);
        this.in_poll = false;
        if polled.is_ready() {
            this.done = true;
        }
        polled
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.polled {
            return;
        }
        self.ledger.alive[self.node].fetch_sub(1, SeqCst);
        lock(&self.ledger.alive_labels).remove(&self.id);
        // `in_poll`: it panicked in a poll, which is an end, not an abort.
        if !self.done && !self.in_poll && self.dropped_means_aborted {
            cover(C::aborted_bodies_dropped);
            self.ledger.aborted_dropped.store(true, SeqCst);
        }
    }
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Runs an async body's behaviour; `record` is told how it ends, before it does.
async fn behave(
    behaviour: Behaviour,
    shutdown: Shutdown,
    late: Duration,
    record: impl Fn(End) + Sync,
) -> Result<(), String> {
    match behaviour {
        Behaviour::Ok(delay) => {
            tokio::time::sleep(ms(delay)).await;
            record(End::Ok);
            Ok(())
        }
        Behaviour::Err(delay) => {
            tokio::time::sleep(ms(delay)).await;
            record(End::Err);
            Err("fuzz: error".to_owned())
        }
        Behaviour::PanicPoll(delay) => {
            tokio::time::sleep(ms(delay)).await;
            record(End::Panic);
            panic!("fuzz: panic in a poll");
        }
        Behaviour::PanicDrop => {
            let dropped = || record(End::Panic);
            let _bomb = PanicOnDrop(Some(&dropped));
            std::future::pending::<()>().await;
            unreachable!()
        }
        Behaviour::Stall => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        Behaviour::Graceful(delay) => {
            shutdown.requested().await;
            tokio::time::sleep(ms(delay)).await;
            record(End::Ok);
            Ok(())
        }
        Behaviour::Block(block) => {
            std::thread::sleep(ms(block));
            shutdown.requested().await;
            record(End::Ok);
            Ok(())
        }
        Behaviour::Late => {
            tokio::time::sleep(late).await;
            record(End::Ok);
            Ok(())
        }
    }
}

fn late(plan: &Plan) -> Duration {
    ms(plan.timeout_ms + 150)
}

// ---------------------------------------------------------------------------------------------
// Building the tree

/// How a session is spawned.
enum Via<'a> {
    /// `canstop::spawn` / `canstop::spawn_blocking` in the current scope.
    Current,
    Scope(&'a Scope),
}

/// Whether the spawn returned `Ok`.
fn spawn_session(
    ledger: &Arc<Ledger>,
    node: usize,
    origin: Origin,
    work: Work,
    via: Via<'_>,
) -> bool {
    let name = origin.name();
    let result = match work {
        Work::Async { behaviour, nested } => {
            let ledger2 = ledger.clone();
            let session = Session::new(name, move |shutdown: Shutdown| {
                let inner = {
                    let ledger = ledger2.clone();
                    Box::pin(async move {
                        SESSION_BEHAVIOURS[behaviour.index()].fetch_add(1, SeqCst);
                        if let Some(nested) = nested {
                            cover(C::nested_spawns);
                            let work = Work::Async {
                                behaviour: nested,
                                nested: None,
                            };
                            spawn_session(&ledger, node, Origin::Nested, work, Via::Current);
                        }
                        let record = |end| ledger.record_session(origin, end);
                        behave(behaviour, shutdown, late(&ledger.plan), record).await
                    }) as BoxedBody
                };
                let label = format!(
                    "session {} ({behaviour:?}) in {:?}",
                    origin.name(),
                    ledger2.plan.nodes[node].path
                );
                Tracked::new(&ledger2, node, true, label, inner)
            });
            match via {
                Via::Current => canstop::spawn(session),
                Via::Scope(scope) => scope.spawn(session),
            }
        }
        Work::Blocking(blocking) => {
            let ledger2 = ledger.clone();
            ledger.blocking_alive.fetch_add(1, SeqCst);
            let alive = BlockingAlive(ledger.clone());
            let work = move || {
                let _alive = alive;
                let ledger = ledger2;
                BLOCKING_BEHAVIOURS[blocking.index()].fetch_add(1, SeqCst);
                ledger.blocking_running.fetch_add(1, SeqCst);
                let _running = Running(ledger.clone());
                let record = |end| ledger.record_session(origin, end);
                match blocking {
                    Blocking::Ok => {
                        record(End::Ok);
                        Ok(())
                    }
                    Blocking::Err => {
                        record(End::Err);
                        Err("fuzz: blocking error".to_owned())
                    }
                    Blocking::Panic => {
                        record(End::Panic);
                        panic!("fuzz: blocking panic");
                    }
                    Blocking::PanicDrop => {
                        let _bomb = PanicOnDrop(None);
                        record(End::Panic);
                        Ok(())
                    }
                    Blocking::Sleep(sleep) | Blocking::Long(sleep) => {
                        std::thread::sleep(ms(sleep));
                        record(End::Ok);
                        Ok(())
                    }
                    Blocking::WatchStop => {
                        let shutdown = canstop::scope().map(|scope| scope.shutdown_signal());
                        let start = Instant::now();
                        while shutdown.as_ref().is_ok_and(|s| !s.is_requested())
                            && start.elapsed() < ms(300)
                        {
                            std::thread::sleep(ms(2));
                        }
                        record(End::Ok);
                        Ok(())
                    }
                }
            };
            match via {
                Via::Current => canstop::spawn_blocking(name, work),
                Via::Scope(scope) => scope.spawn_blocking(name, work),
            }
        }
    };
    match result {
        Ok(_) => {
            ledger.kinds[origin.index()].ok_spawns.fetch_add(1, SeqCst);
            SPAWNS[origin.index()].fetch_add(1, SeqCst);
            true
        }
        Err(_) => {
            cover(C::spawns_refused);
            false
        }
    }
}

struct BlockingAlive(Arc<Ledger>);

impl Drop for BlockingAlive {
    fn drop(&mut self) {
        self.0.blocking_alive.fetch_sub(1, SeqCst);
    }
}

struct Running(Arc<Ledger>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.blocking_running.fetch_sub(1, SeqCst);
    }
}

/// In a body (main's or a service's), in its scope: starts the child services and spawns the
/// sessions of node `node`.
fn start_scope_work(ledger: &Arc<Ledger>, node: usize) {
    let plan = ledger.plan.clone();
    let me = &plan.nodes[node];
    let mut from_task = Vec::new();
    let mut from_thread = Vec::new();
    for session in &me.sessions {
        match session.origin {
            Origin::Body | Origin::Blocking | Origin::Nested => {
                spawn_session(ledger, node, session.origin, session.work, Via::Current);
            }
            Origin::Task => from_task.push(session.clone()),
            Origin::Thread | Origin::ThreadBlocking => from_thread.push(session.clone()),
        }
    }
    let Ok(scope) = canstop::scope() else {
        panic!("no current scope in a body");
    };
    if !from_task.is_empty() {
        let (ledger2, scope) = (ledger.clone(), scope.clone());
        let task = tokio::spawn(async move {
            for session in from_task {
                tokio::time::sleep(ms(session.delay_ms)).await;
                spawn_session(
                    &ledger2,
                    node,
                    session.origin,
                    session.work,
                    Via::Scope(&scope),
                );
            }
        });
        lock(&ledger.tasks).push(task);
    }
    if let Some(flood) = me.flood {
        cover(C::floods);
        start_flood(ledger, node, flood, scope.clone());
    }
    if !from_thread.is_empty() {
        let (ledger2, scope) = (ledger.clone(), scope.clone());
        let thread = std::thread::spawn(move || {
            for session in from_thread {
                std::thread::sleep(ms(session.delay_ms));
                spawn_session(
                    &ledger2,
                    node,
                    session.origin,
                    session.work,
                    Via::Scope(&scope),
                );
            }
        });
        lock(&ledger.threads).push(thread);
    }
    for &child in &me.children {
        let delay = plan.nodes[child].start_delay_ms;
        if delay == 0 {
            start_service(ledger, child);
        } else {
            let ledger2 = ledger.clone();
            // Started later from a plain task, in this scope.
            let scope = scope.clone();
            let task = tokio::spawn(async move {
                tokio::time::sleep(ms(delay)).await;
                start_service_in(&ledger2, child, Via::Scope(&scope));
            });
            lock(&ledger.tasks).push(task);
        }
    }
}

/// Spawns until refused (or the run is over, or 400 spawns).
fn start_flood(ledger: &Arc<Ledger>, node: usize, flood: Flood, scope: Scope) {
    let calm = ledger.plan.calm;
    let work = move |i: u64| Work::Async {
        behaviour: if !calm && i % flood.stall_every == 0 {
            Behaviour::Stall
        } else {
            Behaviour::Graceful(0)
        },
        nested: None,
    };
    let ledger2 = ledger.clone();
    if flood.from_thread {
        let thread = std::thread::spawn(move || {
            if let Some(aim) = flood.aim_ms {
                std::thread::sleep(ms(aim));
                for i in 0..20_000 {
                    let work = work(if calm { 1 } else { 0 } + i * flood.stall_every);
                    if ledger2.done.load(SeqCst)
                        || !spawn_session(&ledger2, node, Origin::Thread, work, Via::Scope(&scope))
                    {
                        return;
                    }
                }
                return;
            }
            for i in 0..400 {
                if ledger2.done.load(SeqCst)
                    || !spawn_session(&ledger2, node, Origin::Thread, work(i), Via::Scope(&scope))
                {
                    return;
                }
                std::thread::sleep(ms(1));
            }
        });
        lock(&ledger.threads).push(thread);
    } else {
        let task = tokio::spawn(async move {
            if let Some(aim) = flood.aim_ms {
                tokio::time::sleep(ms(aim)).await;
                for i in 0..20_000 {
                    let work = work(if calm { 1 } else { 0 } + i * flood.stall_every);
                    if ledger2.done.load(SeqCst)
                        || !spawn_session(&ledger2, node, Origin::Task, work, Via::Scope(&scope))
                    {
                        return;
                    }
                    if i % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                return;
            }
            for i in 0..400 {
                if ledger2.done.load(SeqCst)
                    || !spawn_session(&ledger2, node, Origin::Task, work(i), Via::Scope(&scope))
                {
                    return;
                }
                tokio::time::sleep(ms(1)).await;
            }
        });
        lock(&ledger.tasks).push(task);
    }
}

fn start_service(ledger: &Arc<Ledger>, node: usize) {
    start_service_in(ledger, node, Via::Current);
}

fn start_service_in(ledger: &Arc<Ledger>, node: usize, via: Via<'_>) {
    let plan = ledger.plan.clone();
    let me = &plan.nodes[node];
    let behaviour = me.behaviour;
    let ledger2 = ledger.clone();
    let restarts = me.restart.is_some();
    let ready_after = me.ready_after_ms;
    let mut service = Service::restartable(me.name.clone(), move |shutdown: Shutdown| {
        ledger2.instances[node].fetch_add(1, SeqCst);
        let ledger = ledger2.clone();
        let ready = Ready::of(&shutdown);
        let inner = Box::pin(async move {
            if let Some(after) = ready_after {
                let ready = ready.clone();
                // Ready a little later, whatever the body does meanwhile.
                drop(tokio::spawn(async move {
                    tokio::time::sleep(ms(after)).await;
                    ready.set();
                }));
            }
            SERVICE_BEHAVIOURS[behaviour.index()].fetch_add(1, SeqCst);
            start_scope_work(&ledger, node);
            let record = |end| {
                if matches!(end, End::Err | End::Panic) && !shutdown.is_requested() && !restarts {
                    // An early failure: a trigger (a restarting service's triggers only
                    // once it gives up, or escalates to an ancestor that restarts).
                    ledger.mark_trigger();
                }
                *lock(&ledger.service_end[node]) = Some(end);
            };
            let shutdown2 = shutdown.clone();
            behave(behaviour, shutdown2, late(&ledger.plan), record).await
        }) as BoxedBody;
        let label = format!("service {} ({behaviour:?})", ledger2.plan.nodes[node].path);
        Tracked::new(&ledger2, node, !plan_cancels(&ledger2, node), label, inner)
    });
    if let Some(timeout) = me.timeout_ms {
        service = service.timeout(ms(timeout));
    }
    if me.cancel_on_stop {
        service = service.cancel_on_stop();
    }
    if let Some(policy) = me.restart {
        cover(C::services_restartable);
        service = service
            .restart(policy.restart)
            .max_restarts(policy.max_restarts)
            .backoff(ms(policy.backoff_ms), ms(policy.backoff_ms));
    }
    service = service
        .strategy(me.strategy)
        .stop_order(me.stop_order)
        .needs(me.needs.clone());
    if ready_after.is_some() {
        cover(C::services_signal_ready);
        service = service.signals_ready();
    }
    if !me.needs.is_empty() {
        cover(C::services_with_needs);
    }
    let started = match via {
        Via::Current => canstop::start(service),
        Via::Scope(scope) => scope.start(service),
    };
    match started {
        Ok(handle) => {
            cover(C::services_started);
            ledger.starts[node].fetch_add(1, SeqCst);
            lock(&ledger.handles).insert(node, handle);
        }
        Err(canstop::SpawnError::UnknownDependency { .. }) => cover(C::needs_refused),
        Err(_) => cover(C::services_refused),
    }
}

fn plan_cancels(ledger: &Ledger, node: usize) -> bool {
    ledger.plan.nodes[node].cancel_on_stop
}

async fn main_body(ledger: Arc<Ledger>) -> Result<(), String> {
    let plan = ledger.plan.clone();
    start_scope_work(&ledger, 0);
    if let Some(delay) = plan.extra_shutdown_ms {
        let scope = canstop::scope().map_err(|e| e.to_string())?;
        let ledger2 = ledger.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(ms(delay)).await;
            ledger2.mark_trigger();
            scope.shutdown_tree();
        });
        lock(&ledger.tasks).push(task);
    }
    match plan.trigger {
        TriggerPlan::Shutdown {
            delay_ms,
            from_thread: false,
        } => {
            tokio::time::sleep(ms(delay_ms)).await;
            ledger.mark_trigger();
            if plan.signal {
                cover(C::signals_delivered);
                canstop::deliver_signal(canstop::Signal::Terminate).map_err(|e| e.to_string())?;
            } else {
                canstop::shutdown().map_err(|e| e.to_string())?;
            }
        }
        TriggerPlan::MainErr { delay_ms } => {
            tokio::time::sleep(ms(delay_ms)).await;
            ledger.mark_trigger();
            ledger.main_failed.store(true, SeqCst);
            cover(C::main_failed);
            return Err("fuzz: main failed".to_owned());
        }
        TriggerPlan::MainPanic { delay_ms } => {
            tokio::time::sleep(ms(delay_ms)).await;
            ledger.mark_trigger();
            ledger.main_failed.store(true, SeqCst);
            panic!("fuzz: main panicked");
        }
        TriggerPlan::StopSubtree { node, delay_ms } => {
            tokio::time::sleep(ms(delay_ms)).await;
            let handle = lock(&ledger.handles).get(&node).cloned();
            if let Some(handle) = handle {
                cover(C::subtree_stops);
                handle.stop();
            }
        }
        TriggerPlan::MainReturns => return Ok(()),
        TriggerPlan::ServiceFails { node } => {
            if ledger.starts[node].load(SeqCst) == 0 {
                cover(C::failing_service_not_started);
            }
        }
        TriggerPlan::Shutdown {
            from_thread: true, ..
        } => {}
    }
    if plan.seed % 2 == 0 {
        Ok(())
    } else {
        std::future::pending().await
    }
}

/// A plain thread calling `Scope::shutdown` after `delay` unless the run is over.
fn shutdown_thread(ledger: &Arc<Ledger>, scope: Scope, delay: Duration) {
    after_delay(ledger, delay, move || scope.shutdown_tree());
}

/// A plain thread delivering SIGTERM to the tree after `delay` unless the run is over.
fn signal_thread(ledger: &Arc<Ledger>, scope: Scope, delay: Duration) {
    after_delay(ledger, delay, move || {
        cover(C::signals_delivered);
        scope.deliver_signal(canstop::Signal::Terminate);
    });
}

/// A plain thread doing `act` (a trigger) after `delay` unless the run is over.
fn after_delay(ledger: &Arc<Ledger>, delay: Duration, act: impl FnOnce() + Send + 'static) {
    let ledger2 = ledger.clone();
    let thread = std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < delay {
            if ledger2.done.load(SeqCst) {
                return;
            }
            std::thread::sleep(ms(2));
        }
        ledger2.mark_trigger();
        act();
    });
    lock(&ledger.threads).push(thread);
}

// ---------------------------------------------------------------------------------------------
// One run and its checks

/// The ledger as it stood when `Root::run` returned.
struct AtReturn {
    at: Instant,
    /// Per node: bodies alive (polled, not dropped), and what they are.
    alive: Vec<i64>,
    labels: Vec<String>,
    ended: Ended,
    blocking_running: i64,
}

/// How the bodies had ended when `Root::run` returned: per kind `[ok, err, panicked]`, per
/// node its service body's end.
struct Ended {
    sessions: Vec<[u64; 3]>,
    services: Vec<Option<End>>,
}

struct Failure {
    seed: u64,
    plan: Arc<Plan>,
    report: Option<Report>,
    violations: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "=== fuzz: seed {} FAILED", self.seed)?;
        for violation in &self.violations {
            writeln!(f, "  violated: {violation}")?;
        }
        writeln!(f, "plan: {:#?}", self.plan)?;
        match &self.report {
            Some(report) => writeln!(f, "{report}")?,
            None => writeln!(f, "no report")?,
        }
        writeln!(
            f,
            "replay: CANSTOP_FUZZ_SEED={} cargo test -p canstop --test fuzz -- --nocapture",
            self.seed
        )
    }
}

fn run_seed(seed: u64) -> Result<(), Box<Failure>> {
    let plan = Arc::new(Plan::generate(seed));
    cover(C::runs);
    let runtime = if plan.multi_thread {
        cover(C::multi_thread);
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        cover(C::current_thread);
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .expect("a runtime");
    let ledger = Arc::new(Ledger::new(plan.clone()));
    let mut violations = Vec::new();

    let (result, at_return) = runtime.block_on(async {
        let plan = ledger.plan.clone();
        let root = Root::new()
            .signals(false)
            .timeout_from_env(false)
            .timeout(ms(plan.timeout_ms))
            .strategy(plan.nodes[0].strategy)
            .stop_order(plan.nodes[0].stop_order)
            .drain_delay(ms(plan.drain_delay_ms));
        let body = {
            let ledger = ledger.clone();
            async move {
                let scope = canstop::scope().map_err(|e| e.to_string())?;
                shutdown_thread(&ledger, scope.clone(), ms(plan.backstop_ms));
                if let TriggerPlan::Shutdown {
                    delay_ms,
                    from_thread: true,
                } = plan.trigger
                {
                    if plan.signal {
                        signal_thread(&ledger, scope, ms(delay_ms));
                    } else {
                        shutdown_thread(&ledger, scope, ms(delay_ms));
                    }
                }
                let inner = Box::pin(main_body(ledger.clone()));
                Tracked::new(&ledger, 0, false, "main's body".to_owned(), inner).await
            }
        };
        let result = tokio::time::timeout(HANG, root.run(body)).await;
        let at = Instant::now();
        let alive: Vec<i64> = ledger.alive.iter().map(|a| a.load(SeqCst)).collect();
        let blocking_running = ledger.blocking_running.load(SeqCst);
        // How the bodies had ended when the report was made.
        let ended = Ended {
            sessions: ledger
                .kinds
                .iter()
                .map(|k| {
                    [
                        k.returned_ok.load(SeqCst),
                        k.returned_err.load(SeqCst),
                        k.panicked.load(SeqCst),
                    ]
                })
                .collect(),
            services: ledger.service_end.iter().map(|e| *lock(e)).collect(),
        };
        let mut labels: Vec<String> = lock(&ledger.alive_labels).values().cloned().collect();
        labels.sort();
        let at_return = AtReturn {
            at,
            alive,
            labels,
            ended,
            blocking_running,
        };
        ledger.done.store(true, SeqCst);
        let tasks = std::mem::take(&mut *lock(&ledger.tasks));
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        (result, at_return)
    });
    let threads = std::mem::take(&mut *lock(&ledger.threads));
    for thread in threads {
        let _ = thread.join();
    }
    // Blocking work ends on its own: its closure must be dropped eventually.
    let waiting = Instant::now();
    while ledger.blocking_alive.load(SeqCst) > 0 && waiting.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(ms(5));
    }
    let blocking_alive = ledger.blocking_alive.load(SeqCst);
    runtime.shutdown_timeout(Duration::from_secs(1));

    let report = match result {
        Err(_) => {
            violations.push(format!("Root::run did not return within {HANG:?} (hang)"));
            None
        }
        Ok(Err(error)) => {
            violations.push(format!("Root::run failed to start: {error}"));
            None
        }
        Ok(Ok(report)) => Some(report),
    };
    if blocking_alive != 0 {
        violations.push(format!(
            "{blocking_alive} blocking closure(s) never dropped (1 s after the run)"
        ));
    }
    if let Some(report) = &report {
        check(&plan, &ledger, report, &at_return, &mut violations);
        tally(report);
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Box::new(Failure {
            seed,
            plan,
            report,
            violations,
        }))
    }
}

fn check(
    plan: &Plan,
    ledger: &Ledger,
    report: &Report,
    at_return: &AtReturn,
    violations: &mut Vec<String>,
) {
    // Per kind, in every scope and in the sums: started = finished + failed + panicked + aborted.
    let mut all_stats: Vec<(String, &canstop::SessionStats)> = report
        .sessions
        .iter()
        .map(|stats| ("the tree".to_owned(), stats))
        .collect();
    for service in report.all_services() {
        for stats in &service.sessions {
            all_stats.push((format!("service {}", service.path), stats));
        }
    }
    for (where_, stats) in &all_stats {
        if stats.started != stats.ended() {
            violations.push(format!(
                "started != finished + failed + panicked + aborted in {where_}: {stats}"
            ));
        }
        // No body here cancels a session through its handle: every abort is a deadline's
        // or a second signal's, and must be reported as one (exit code 124 or 128 + n).
        if stats.cancelled > 0 {
            violations.push(format!(
                "a session aborted at a deadline counted as cancelled in {where_}: {stats}"
            ));
        }
        if stats.abandoned > stats.aborted {
            violations.push(format!("abandoned > aborted in {where_}: {stats}"));
        }
    }

    // Every `Ok` spawn reported, per kind; and the outcomes match what the bodies did.
    let mut abandoned = 0;
    for (index, name) in KINDS.iter().enumerate() {
        let kind = &ledger.kinds[index];
        let ok = kind.ok_spawns.load(SeqCst);
        let stats = report.sessions_named(name);
        let started = stats.as_ref().map_or(0, |s| s.started);
        if started != ok {
            violations.push(format!(
                "kind {name}: {ok} spawn(s) returned Ok, the report says started={started}"
            ));
        }
        let Some(stats) = stats else { continue };
        abandoned += stats.abandoned;
        let [ok, err, panicked] = at_return.ended.sessions[index];
        let returned = [
            ("finished", stats.finished, ok),
            ("failed", stats.failed, err),
            ("panicked", stats.panicked, panicked),
        ];
        for (what, counted, did) in returned {
            // Without aborts every body ended by itself: the counts are exact.
            if counted > did || (stats.aborted == 0 && counted != did) {
                violations.push(format!(
                    "kind {name}: {what}={counted} but {did} bodies did so (aborted={})",
                    stats.aborted
                ));
            }
        }
    }

    // Every started service reported exactly once, and only those.
    let services = report.all_services();
    let mut unresponsive = Vec::new();
    for (node, spec) in plan.nodes.iter().enumerate().skip(1) {
        let seen: Vec<_> = services.iter().filter(|s| s.path == spec.path).collect();
        let starts = ledger.starts[node].load(SeqCst);
        if seen.len() as u64 != starts {
            violations.push(format!(
                "service {}: start returned Ok {starts} time(s), reported {} time(s)",
                spec.path,
                seen.len()
            ));
        }
        let given_up = seen
            .iter()
            .any(|s| s.outcome == ServiceOutcome::Unresponsive);
        if given_up {
            unresponsive.push(spec.path.clone());
        }
        // Every instance built after the first of each start is a restart in its report.
        let built = ledger.instances[node].load(SeqCst);
        let restarts: u64 = seen.iter().map(|s| s.restarts).sum();
        if !given_up && (built < restarts || built > restarts + seen.len() as u64) {
            violations.push(format!(
                "service {}: {built} instance(s) built, its {} report(s) count {restarts} restart(s)",
                spec.path,
                seen.len()
            ));
        }
        for report in &seen {
            if report.restarts > 0 {
                cover(C::services_restarted);
            }
            if matches!(report.outcome, ServiceOutcome::RestartCancelled { .. }) {
                cover(C::restarts_cancelled);
            }
            if report.is_handled() {
                cover(C::failures_handled_above);
            }
        }
        if seen.len() > 1 {
            cover(C::services_started_again);
        }
        // How its body ended, against the report of its one start and instance (with
        // several, the last end recorded may be any instance's).
        if let ([report], 0 | 1) = (seen.as_slice(), built) {
            let outcome = &report.outcome;
            let end = at_return.ended.services[node];
            // A restarting service stopped while it waited to restart: its last instance's
            // end, whatever it was, was handled.
            let cancelled = matches!(outcome, ServiceOutcome::RestartCancelled { .. });
            // A restarting service whose instance a child's escalated failure stopped: it
            // failed with the child's failure, however its body returned.
            let by_child = matches!(
                outcome,
                ServiceOutcome::Failed { error, .. } if error.starts_with("service \"")
            );
            // A service whose instance could not be built: a service it needs was gone.
            let by_needs = matches!(
                outcome,
                ServiceOutcome::Failed { error, .. } if error.starts_with("it needs service")
            );
            let consistent = by_child
                || by_needs
                || match end {
                    None => true,
                    Some(End::Ok) => outcome.is_clean(),
                    Some(End::Err) => matches!(outcome, ServiceOutcome::Failed { .. }) || cancelled,
                    Some(End::Panic) => {
                        matches!(outcome, ServiceOutcome::Panicked { .. }) || cancelled
                    }
                };
            if !consistent {
                violations.push(format!(
                    "service {}: its body ended {end:?}, the report says {outcome}",
                    spec.path
                ));
            }
        }
    }
    for service in &services {
        if !plan.nodes.iter().skip(1).any(|n| n.path == service.path) {
            violations.push(format!("unknown service {} reported", service.path));
        }
    }

    // Nothing alive after `Root::run` returns but what the report names.
    for (node, &count) in at_return.alive.iter().enumerate() {
        let path = &plan.nodes[node].path;
        let excused = unresponsive
            .iter()
            .any(|u| path == u || path.starts_with(&format!("{u}/")));
        if count != 0 && !excused {
            let scope = if node == 0 {
                "the root scope".to_owned()
            } else {
                format!("service {path}")
            };
            violations.push(format!(
                "{count} body(ies) of {scope} still alive when Root::run returned: {}",
                at_return
                    .labels
                    .iter()
                    .filter(|l| l.ends_with(&format!("in {path:?}"))
                        || (node > 0 && l.starts_with(&format!("service {path} ")))
                        || (node == 0 && l.as_str() == "main's body"))
                    .fold(Vec::<(&String, usize)>::new(), |mut groups, label| {
                        // The labels are sorted: equal ones are adjacent.
                        match groups.last_mut() {
                            Some((last, n)) if *last == label => *n += 1,
                            _ => groups.push((label, 1)),
                        }
                        groups
                    })
                    .into_iter()
                    .map(|(label, n)| if n == 1 {
                        label.clone()
                    } else {
                        format!("{n} x {label}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if at_return.blocking_running > abandoned as i64 {
        violations.push(format!(
            "{} blocking work(s) still running when Root::run returned, {abandoned} reported abandoned",
            at_return.blocking_running
        ));
    }

    // The exit code, from the report's own fields and from what the bodies did.
    let code = report.exit_code();
    let folded = report.all_folded();
    let timed_out = report.deadline_reached
        || report.main.is_aborted()
        || report.sessions.iter().any(|s| s.aborted > 0)
        || services.iter().any(|s| {
            matches!(
                s.outcome,
                ServiceOutcome::Aborted | ServiceOutcome::Forced | ServiceOutcome::Unresponsive
            )
        })
        || folded.iter().any(|f| f.aborted + f.descendants_aborted > 0);
    let failed = report.trigger.is_failure()
        || report.main.is_failure()
        || report.sessions.iter().any(|s| s.panicked > 0)
        || services
            .iter()
            .any(|s| !s.outcome.is_clean() && !s.is_handled())
        || folded
            .iter()
            .any(|f| f.failed + f.panicked + f.descendants_failed > 0);
    let expected = if timed_out {
        124
    } else if failed {
        1
    } else {
        0
    };
    if report.forced.is_none() && code != expected {
        violations.push(format!(
            "exit code {code}, the report's outcomes say {expected}"
        ));
    }
    if code == 0 && !report.is_clean() || code != 0 && report.is_clean() {
        violations.push(format!(
            "exit code {code} but is_clean={}",
            report.is_clean()
        ));
    }
    if ledger.main_failed.load(SeqCst) && code == 0 {
        violations.push("main's body returned Err (or panicked), the exit code is 0".to_owned());
    }
    // `main` returns its error (or panics) in the same poll that marks the ledger: the report
    // must keep it, whatever triggered the shutdown.
    if ledger.main_failed.load(SeqCst) && !report.main.is_failure() {
        violations.push(format!(
            "main's body returned Err (or panicked), the report says main {}",
            report.main
        ));
    }
    let session_panics: u64 = at_return.ended.sessions.iter().map(|k| k[2]).sum();
    if session_panics > 0 && code == 0 {
        violations.push(format!(
            "{session_panics} session(s) panicked, the exit code is 0"
        ));
    }
    // A failure its restart policy (or an ancestor's restart) handled is not the program's.
    let handled = |node: usize| {
        services.iter().any(|s| {
            s.path == plan.nodes[node].path
                && (s.is_handled()
                    || matches!(s.outcome, ServiceOutcome::RestartCancelled { .. })
                    || (s.outcome.is_clean() && s.restarts > 0))
        })
    };
    let service_failures = (1..plan.nodes.len())
        .filter(|&n| matches!(at_return.ended.services[n], Some(End::Err | End::Panic)))
        .filter(|&n| !handled(n))
        .count();
    if service_failures > 0 && code == 0 {
        violations.push(format!(
            "{service_failures} service(s) failed or panicked, the exit code is 0"
        ));
    }
    if ledger.aborted_dropped.load(SeqCst) && code != 124 {
        violations.push(format!(
            "a body was dropped mid-way at the deadline (aborted), the exit code is {code}, not 124"
        ));
    }

    // The deadline.
    let bound = ms(plan.timeout_ms) + ABORT_GRACE + SLACK;
    if report.stop_time > bound {
        violations.push(format!(
            "the report's stop time {:?} exceeds timeout {} ms + grace",
            report.stop_time, plan.timeout_ms
        ));
    }
    if let Some(trigger_at) = *lock(&ledger.trigger_at) {
        let returned_at = at_return.at;
        // A signal's trigger waits for the drain delay before the stop.
        let bound = bound + report.drain_delay.unwrap_or_default();
        if trigger_at <= returned_at && returned_at - trigger_at > bound {
            violations.push(format!(
                "Root::run returned {:?} after the trigger, timeout {} ms",
                returned_at - trigger_at,
                plan.timeout_ms
            ));
        }
    }
}

fn tally(report: &Report) {
    if report.drain_delay.is_some() {
        cover(C::drain_delays);
    }
    for stats in &report.sessions {
        cover_n(C::sessions_aborted, stats.aborted);
        cover_n(C::sessions_abandoned, stats.abandoned);
        cover_n(C::sessions_panicked, stats.panicked);
        cover_n(C::sessions_failed, stats.failed);
    }
    for service in report.all_services() {
        cover(match service.outcome {
            ServiceOutcome::Stopped => C::svc_stopped,
            ServiceOutcome::EndedEarly => C::svc_ended_early,
            ServiceOutcome::Failed { .. } => C::svc_failed,
            ServiceOutcome::Panicked { .. } => C::svc_panicked,
            ServiceOutcome::Aborted => C::svc_aborted,
            _ => C::svc_unresponsive,
        });
    }
    cover(match report.trigger {
        Trigger::Requested { .. } => C::trig_requested,
        Trigger::ServiceGaveUp { .. } => C::trig_service_gave_up,
        Trigger::ServiceFailed { .. } => C::trig_service_failed,
        Trigger::ServicePanicked { .. } => C::trig_service_panicked,
        Trigger::MainFailed { .. } => C::trig_main_failed,
        Trigger::MainPanicked { .. } => C::trig_main_panicked,
        Trigger::Finished => C::trig_finished,
        _ => C::trig_other,
    });
    if report.deadline_reached {
        cover(C::deadline_reached);
    }
    cover(match report.exit_code() {
        0 => C::exit_0,
        1 => C::exit_1,
        124 => C::exit_124,
        _ => C::exit_other,
    });
}

// ---------------------------------------------------------------------------------------------
// The test

/// Silences the panics of the bodies (their messages contain "fuzz:").
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !message.is_some_and(|m| m.contains("fuzz:")) {
                default(info);
            }
        }));
    });
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value}: not a number")))
}

#[test]
fn lifecycle_fuzz() {
    quiet_panics();
    let started = Instant::now();
    let (seeds, budget): (Vec<u64>, Option<Duration>) =
        if let Some(seed) = env_u64("CANSTOP_FUZZ_SEED") {
            let repeat = env_u64("CANSTOP_FUZZ_REPEAT").unwrap_or(1);
            ((0..repeat).map(|_| seed).collect(), None)
        } else {
            let base = env_u64("CANSTOP_FUZZ_BASE").unwrap_or(DEFAULT_BASE);
            match env_u64("CANSTOP_FUZZ_SEEDS") {
                Some(n) => ((0..n).map(|i| base + i).collect(), None),
                None => ((0..DEFAULT_SEEDS).map(|i| base + i).collect(), Some(BUDGET)),
            }
        };
    let seeds = Arc::new(seeds);
    let next = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..PARALLEL.min(seeds.len()))
        .map(|_| {
            let (seeds, next, ran, failures) =
                (seeds.clone(), next.clone(), ran.clone(), failures.clone());
            std::thread::spawn(move || loop {
                if budget.is_some_and(|budget| started.elapsed() > budget) {
                    return;
                }
                let index = next.fetch_add(1, SeqCst);
                let Some(&seed) = seeds.get(index) else {
                    return;
                };
                let result = run_seed(seed);
                ran.fetch_add(1, SeqCst);
                if let Err(failure) = result {
                    lock(&failures).push(failure);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a fuzz worker panicked");
    }
    let elapsed = started.elapsed();
    let ran = ran.load(SeqCst);
    let mut failures = std::mem::take(&mut *lock(&failures));
    failures.sort_by_key(|f| f.seed);
    if ran < seeds.len() {
        println!(
            "fuzz: budget of {:?} used up: ran {ran} of {} seeds",
            budget.unwrap_or_default(),
            seeds.len()
        );
    }
    println!(
        "fuzz: {ran} seeds in {elapsed:.1?} ({:.1} seeds/s), {} failed",
        ran as f64 / elapsed.as_secs_f64(),
        failures.len()
    );
    print_coverage();
    if failures.is_empty() {
        return;
    }
    // Every failing seed in one line each, the first few in full.
    for failure in &failures {
        println!(
            "fuzz: seed {} failed ({}): {}",
            failure.seed,
            failure.plan.summary(),
            failure.violations.join("; ")
        );
    }
    for failure in failures.iter().take(3) {
        println!("{failure}");
    }
    panic!(
        "{} of {ran} seeds failed; replay one with CANSTOP_FUZZ_SEED=<seed> cargo test -p canstop --test fuzz -- --nocapture (first: {})",
        failures.len(),
        failures[0].seed
    );
}
