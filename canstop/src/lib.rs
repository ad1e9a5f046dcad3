//! # canstop
//!
//! The lifecycle of the tasks inside a long-running tokio program: start them, know what is
//! running, stop them cleanly on a signal or a failure, wait a bounded time for in-flight
//! work, and say loudly and precisely what did not stop.
//!
//! - A [`Service`] lives as long as its parent (an accept loop, a queue consumer). Services
//!   form a tree: one started inside another is its child.
//! - A [`Session`] is one connection, request or job. It is *tracked*: shutdown waits for it
//!   (up to the deadline) instead of cutting it off. A `Session` is not a future; the only
//!   ways to run it are [`spawn`] and [`Scope::spawn`].
//! - A [`Root`] runs the shutdown sequence (trigger, stop, drain, abort, report, exit) and
//!   returns a [`Report`].
//! - The attribute macros [`main`], [`service`](macro@service), [`session`](macro@session) and [`test`] write that wiring
//!   for you; they only generate calls to the API above.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use canstop::{Root, Service, Session, Shutdown};
//!
//! let report = Root::new()
//!     .signals(false)
//!     .run(async {
//!         canstop::start(Service::new("acceptor", |shutdown: Shutdown| async move {
//!             for connection in 0..10 {
//!                 canstop::spawn(Session::new("connection", move |_| async move {
//!                     tokio::task::yield_now().await; // serve `connection`
//!                     let _ = connection;
//!                 }))?;
//!             }
//!             shutdown.shutdown_tree(); // in real life: SIGTERM
//!             shutdown.requested().await;
//!             Ok::<(), canstop::SpawnError>(())
//!         }))?;
//!         Ok::<(), canstop::SpawnError>(())
//!     })
//!     .await
//!     .unwrap();
//!
//! let connections = report.sessions_named("connection").unwrap();
//! assert_eq!(connections.started, 10);
//! assert_eq!(connections.finished, 10);
//! assert_eq!(report.exit_code(), 0);
//! # }
//! ```
//!
//! # Guarantees
//!
//! - A session is tracked from before its task exists, or refused with an error: never run
//!   untracked, even when the spawn races the shutdown.
//! - For every kind of session, `started = finished + failed + panicked + aborted`.
//! - Every service's outcome is reported, panics with their message (also a panic while a
//!   body is being dropped), and every error is kept, not only the one that triggered the
//!   shutdown; `main`'s own error or panic too, whatever triggered the shutdown.
//! - Every spawn that returned `Ok` is in the report, and when [`Root::run`] returns, every
//!   aborted body has been dropped, or the report names it (`unresponsive`).
//! - Nothing outlives the deadline: what is left is aborted, blocking work is abandoned and
//!   named, and the exit code says so. A process-owning root ([`Root::block_on`],
//!   `#[canstop::main]`) keeps that promise even when every runtime thread is blocked: a
//!   watchdog thread ends the process shortly after the deadline or a second signal.
//! - Runtime misuse (spawning outside a scope, after the drain, on a tree whose runtime is
//!   gone; an invalid service name) is a [`SpawnError`], and a root that cannot start (no
//!   runtime or no timer, `block_on` inside a runtime, zero workers, a malformed timeout) a
//!   [`StartError`]: never a panic.
//! - Supervision ([`Restart`], [`Strategy`], [`Service::restartable`]): a restart never
//!   starts once its service or the tree was told to stop (a stop during the backoff cancels
//!   it at once); a failure beyond the intensity limit escalates exactly once, to the nearest
//!   ancestor that restarts or as the trigger, with a message that names the chain; a failed
//!   instance's sessions stay tracked and counted, and its child services stop before the
//!   next instance starts.
//! - Readiness and order ([`Ready`], [`ServiceHandle::ready`], [`Service::needs`],
//!   [`start_all`], [`StopOrder`], [`ready()`](fn@ready)): a service needing others is built
//!   only once they are ready and is stopped before them; an unknown name or a circle is an
//!   error at the start, never a hang; an ordered stop still ends by the deadline, each step
//!   with its share of it; a failure before the tree was ever ready rolls back what started,
//!   in reverse order, and the report says the start-up failed. Lifecycle [`Event`]s reach
//!   the listeners given to [`Root::on_event`].
//! - A live [`State`] snapshot ([`state()`](fn@state), [`Scope::state`]) takes no lock that a
//!   session's spawn or end takes, and its counts are never torn: for every kind,
//!   `started >= finished + failed + panicked + aborted`.
//! - Health endpoints (feature `health`, `canstop::health`): `/readyz` fails from the trigger on
//!   (the drain delay included) and the endpoints answer until the report is made; answering
//!   a probe never blocks the tree, and a probe is not counted as a session.

//!
//! # Names
//!
//! - Reach is in the name: [`Shutdown::shutdown_tree`], [`Scope::shutdown_tree`] and the free
//!   [`shutdown()`](fn@shutdown) stop the whole tree; [`ServiceHandle::stop`] stops one
//!   service and its subtree.
//! - [`Shutdown::triggered_by`] tells what started the shutdown; [`Shutdown::requested`]
//!   waits for this scope's stop; [`Shutdown::run_until_requested`] runs a future until it.
//! - The free functions ([`spawn`], [`start`], [`spawn_blocking`], [`shutdown()`](fn@shutdown),
//!   [`scope()`](fn@scope)) act on the current scope; [`Scope`]'s methods on a scope held by code that
//!   runs outside it.
//! - [`SpawnError`] is why one spawn or start was refused (also `shutdown()` outside any
//!   scope); [`StartError`] is why the [`Root`] could not start (exit code 78).

#![forbid(unsafe_code)]

// The public surface: errors, scopes, `Shutdown`, how a body's end is read, the escape hatch.
mod error;
mod outcome;
mod scope;
mod shutdown;
mod untracked;

// One folder per concept; each `mod.rs` is its map.
#[cfg(feature = "health")]
pub mod health;
mod lifecycle;
mod process;
mod report;
mod root;
mod service;
mod session;
mod sync;
mod tree;

// HTTP serving: the axum/hyper accept loop whose connections are sessions (feature).
#[cfg(feature = "hyper")]
pub mod http;

// loom: the shim over the primitives `sync` uses, and the models that check them.
mod loom;
#[cfg(all(test, canstop_loom))]
mod loom_models;

/// The attribute macros: `#[canstop::main]`, `#[service]`, `#[session]`, `#[canstop::test]`.
pub use canstop_macros::{main, service, session, test};
pub use error::{ReadyError, SessionError, SpawnError, StartError};
pub use lifecycle::events::Event;
pub use lifecycle::trigger::{Signal, Trigger};
pub use outcome::{BodyResult, MainResult};
pub use report::state::{NodeState, Phase, SessionCounts, State, TreePhase};
pub use report::{
    exit_code, Failure, FoldedServices, MainExitCode, MainOutcome, Report, ServiceOutcome,
    ServiceReport, SessionStats, FAILURES_KEPT, KEPT_STOPPED,
};
pub use root::duration::{parse_duration, DurationError};
pub use root::{Root, DEFAULT_TIMEOUT, DRAIN_DELAY_ENV, HEALTH_ADDR_ENV, REPORT_ENV, TIMEOUT_ENV};
pub use scope::{
    deliver_signal, ready, scope, shutdown, spawn, spawn_blocking, start, start_all, state, Scope,
};
pub use service::{
    Escalate, IntoService, Ready, Restart, Service, ServiceHandle, StartWithCanstop, Strategy,
    DEFAULT_MAX_RESTARTS, DEFAULT_WITHIN,
};
pub use session::kind::SessionKind;
pub use session::{FutureBody, IntoSession, Session, SessionBody, SessionHandle, SpawnWithCanstop};
pub use shutdown::Shutdown;
pub use tree::order::StopOrder;
pub use untracked::spawn_untracked;

/// The README's code blocks, compiled as doctests so that they cannot rot. Only with the
/// `ws` feature, which the HTTP block needs (`cargo test --workspace` builds canstop with it,
/// through the tests crate).
#[cfg(all(doctest, feature = "ws"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// What the macros generate calls to. Not public API: no semver guarantees.
#[doc(hidden)]
pub mod __private {
    pub use tokio;
    pub use tracing;

    use std::future::Future;
    use std::process::ExitCode;

    use crate::{MainResult, Report, Root};

    /// How a `#[service]` or `#[session]` body gets the `Shutdown` canstop supplies: a
    /// parameter the macro takes for canstop's (written `Shutdown`, or marked `#[shutdown]`)
    /// whose type is another is one error, at its type. Implemented for [`Shutdown`] only.
    ///
    /// [`Shutdown`]: crate::Shutdown
    #[diagnostic::on_unimplemented(
        message = "this parameter is supplied by canstop, but its type is not `canstop::Shutdown`",
        label = "not `canstop::Shutdown`",
        note = "a parameter of type `Shutdown` or marked `#[shutdown]` is canstop's; to have the caller pass a type of your own, write its path (`config::Shutdown`)"
    )]
    pub trait SuppliedShutdown: Sized {
        /// The parameter's value.
        fn supplied(shutdown: crate::Shutdown) -> Self;
    }

    impl SuppliedShutdown for crate::Shutdown {
        fn supplied(shutdown: crate::Shutdown) -> Self {
            shutdown
        }
    }

    /// How a `#[service]` body gets the `Ready` canstop supplies, as [`SuppliedShutdown`]
    /// does its `Shutdown`: a parameter the macro takes for canstop's (written `Ready`, or
    /// marked `#[ready]`) whose type is another is one error, at its type. Implemented for
    /// [`Ready`] only.
    ///
    /// [`Ready`]: crate::Ready
    #[diagnostic::on_unimplemented(
        message = "this parameter is supplied by canstop, but its type is not `canstop::Ready`",
        label = "not `canstop::Ready`",
        note = "a parameter of type `Ready` or marked `#[ready]` is canstop's; to have the caller pass a type of your own, write its path (`config::Ready`)"
    )]
    pub trait SuppliedReady: Sized {
        /// The parameter's value.
        fn supplied(ready: crate::Ready) -> Self;
    }

    impl SuppliedReady for crate::Ready {
        fn supplied(ready: crate::Ready) -> Self {
            ready
        }
    }

    /// How a `#[service(restart = "..")]` gets each instance's arguments: a clone of what the
    /// caller passed (and of the receiver, for a method), taken each time the factory builds
    /// a body, as `(&RestartProbe::<T>::new()).again(&value)` with [`CloneArg`] and
    /// [`NotCloneArg`] in scope.
    ///
    /// Method resolution picks [`CloneArg::again`] when `T: Clone`, and
    /// [`NotCloneArg::again`] (one autoref further) otherwise, which requires `T:
    /// RestartArg`, implemented by no type: an argument that is not `Clone` is one error, at
    /// its type, that says why, even when it is a `Vec<T>` or an `Option<T>` of a type that
    /// is not (a bound `T: Clone` would report the inner type's missing `Clone` instead,
    /// without the reason).
    #[derive(Debug)]
    pub struct RestartProbe<T>(std::marker::PhantomData<fn() -> T>);

    impl<T> RestartProbe<T> {
        /// The probe for an argument of type `T`.
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            Self(std::marker::PhantomData)
        }
    }

    /// A clone of a `Clone` argument: see [`RestartProbe`].
    pub trait CloneArg<T> {
        /// A clone of `value`, for the next instance.
        fn again(&self, value: &T) -> T;
    }

    impl<T: Clone> CloneArg<T> for RestartProbe<T> {
        fn again(&self, value: &T) -> T {
            value.clone()
        }
    }

    /// An argument that is not `Clone`: the error. See [`RestartProbe`].
    pub trait NotCloneArg<T> {
        /// Never callable: `T` is not `Clone`, hence not [`RestartArg`].
        fn again(&self, value: &T) -> T
        where
            T: RestartArg;
    }

    impl<T> NotCloneArg<T> for &RestartProbe<T> {
        fn again(&self, value: &T) -> T
        where
            T: RestartArg,
        {
            value.never()
        }
    }

    /// The bound an argument of a restarted service fails when it is not `Clone`: implemented
    /// by no type. See [`RestartProbe`].
    #[diagnostic::on_unimplemented(
        message = "`restart` builds a new body from the same arguments at each restart, so each must be `Clone`: `{Self}` is not",
        label = "not `Clone`",
        note = "every instance of a restarted service gets clones of the caller's arguments: derive or implement `Clone`, share a value that cannot be cloned through an `Arc`, or create it in the body"
    )]
    pub trait RestartArg: Sized {
        /// Never called.
        fn never(&self) -> Self;
    }

    /// Proof that canstop was built with its `health` feature, which
    /// `#[canstop::main(health = "...")]` needs.
    #[diagnostic::on_unimplemented(
        message = "`health = \"...\"` needs canstop's `health` feature, which serves the health endpoints",
        label = "canstop was built without its `health` feature",
        note = "enable it: canstop = {{ version = \"...\", features = [\"health\"] }}"
    )]
    pub trait HealthEnabled {}

    /// See [`HealthEnabled`].
    #[derive(Debug)]
    pub struct HealthFeature;

    #[cfg(feature = "health")]
    impl HealthEnabled for HealthFeature {}

    /// `root` with its health endpoints on `addr`, for `#[canstop::main(health = "...")]`.
    pub fn health<F: HealthEnabled>(root: Root, addr: std::net::SocketAddr) -> Root {
        #[cfg(feature = "health")]
        let root = root.health_addr(addr);
        #[cfg(not(feature = "health"))]
        let _ = addr;
        root
    }

    pub use crate::session::judged::{
        judged_future, session_output, session_output_of, ByBodyResult, Judge, Judged, Probe,
        Unjudged, ViaBodyResult, ViaNothing,
    };

    /// Never called: a `#[service]` or `#[session]` body generated in place (a method's)
    /// starts with `if false { return output::<T>(); }`, which gives its `async` block the
    /// fn's return type before any `return` of the user's, so that a `return` of another
    /// type is reported where it is written.
    pub fn output<T>() -> T {
        unreachable!("a body's type anchor is never run")
    }

    /// The body of a generated `fn main`: [`Root::main`].
    pub fn main<F>(root: Root, body: F) -> ExitCode
    where
        F: Future,
        F::Output: MainResult,
    {
        root.main(body)
    }

    /// The body of a generated `#[canstop::test]`: runs `body` on the test's runtime in a
    /// fresh tree (no signal handlers, no environment override), and shuts the tree down when
    /// the body returns; [`test_passed`] then judges the report. A plain fn, as [`main`] is,
    /// so that a return type canstop does not accept is one error, at the test's.
    pub fn test<F>(runtime: TestRuntime, root: Root, body: F) -> Result<Report, crate::StartError>
    where
        F: Future,
        F::Output: MainResult,
    {
        runtime.block_on(
            root.signals(false)
                .timeout_from_env(false)
                .stop_when_body_returns(true)
                .run(body),
        )
    }

    /// Panics with the report, at the test (the generated call is located at its fn), unless
    /// everything stopped cleanly. Stricter than the exit code: a session that returned an
    /// error fails the test too.
    #[track_caller]
    pub fn test_passed(report: Result<Report, crate::StartError>) -> Report {
        let report = match report {
            Ok(report) => report,
            Err(error) => panic!("canstop could not start: {error}"),
        };
        match &report.main {
            crate::MainOutcome::Failed { error } => {
                panic!("the test body returned an error: {error}\n{report}")
            }
            crate::MainOutcome::Panicked { message } => {
                // The panic hook printed the body's panic where it happened; the test fails
                // with it again, without a second print.
                eprintln!("{report}");
                std::panic::resume_unwind(Box::new(format!("the test body panicked: {message}")))
            }
            _ => {}
        }
        if !report.is_clean() {
            panic!("the tree did not stop cleanly:\n{report}");
        }
        if let Some(code) = report.main_exit_code {
            panic!(
                "the test body returned exit code {}:\n{report}",
                code.number()
            );
        }
        // `Report::sessions` sums the whole tree's.
        let failed: u64 = report.sessions.iter().map(|stats| stats.failed).sum();
        if failed > 0 {
            panic!(
                "{failed} session(s) returned an error (which fails a test, though not the exit \
                 code):\n{report}"
            );
        }
        report
    }

    /// Whether canstop was built with `test-util` (tokio's paused clock), which
    /// `#[canstop::test(start_paused = true)]` checks at compile time.
    pub const TEST_UTIL: bool = cfg!(feature = "test-util");

    /// Builds the runtime of a generated `#[canstop::test]`.
    pub fn test_runtime(
        multi_thread: bool,
        workers: Option<usize>,
        start_paused: bool,
    ) -> TestRuntime {
        let mut builder = if multi_thread {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(workers) = workers {
                builder.worker_threads(workers);
            }
            builder
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        builder.enable_all();
        if start_paused {
            pause(&mut builder);
        }
        match builder.build() {
            Ok(runtime) => TestRuntime(runtime),
            Err(error) => panic!("cannot build the test's tokio runtime: {error}"),
        }
    }

    /// The runtime of a generated `#[canstop::test]`.
    #[derive(Debug)]
    pub struct TestRuntime(tokio::runtime::Runtime);

    impl TestRuntime {
        /// Runs the test, then shuts the runtime down without waiting for abandoned blocking
        /// work (dropping a runtime waits for it): a test whose blocking work never returns
        /// fails with its report instead of hanging.
        pub fn block_on<F: Future>(self, future: F) -> F::Output {
            let runtime = self.0;
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(future)));
            runtime.shutdown_timeout(crate::lifecycle::grace::EXIT_GRACE);
            match outcome {
                Ok(output) => output,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    }

    #[cfg(feature = "test-util")]
    fn pause(builder: &mut tokio::runtime::Builder) {
        builder.start_paused(true);
    }

    #[cfg(not(feature = "test-util"))]
    fn pause(_: &mut tokio::runtime::Builder) {
        panic!("`start_paused = true` needs canstop's `test-util` feature (tokio's paused clock)");
    }
}
