//! Attribute macros for [canstop](https://docs.rs/canstop). Depend on `canstop`, not on this
//! crate: `canstop` re-exports every macro and the generated code names only `::canstop`
//! (or the path given with `crate = "..."`), `::core` and `::std`.
//!
//! Each macro runs in three steps, each in its own module: `attr` and `ast` parse the options
//! and the fn, `valid` (and `spawns`, the body check) record every misuse with a precise span,
//! and `expand` generates the code. All errors are reported together, and the
//! user's fn is still emitted, so that the only errors are the ones the macro reports.
//!
//! Only the signature must parse: the body is kept as tokens and emitted as written, and the
//! body checks run only on a body that parses. A body mid-edit (a missing `;`) thus gives
//! rustc's one syntax error, while callers still see the generated signature.

#![forbid(unsafe_code)]

mod ast;
mod attr;
mod declare;
// The duration grammar: a copy of the runtime's, checked to agree with it by a test, so that
// `timeout = "..."` and `CANSTOP_SHUTDOWN_TIMEOUT` cannot disagree. Its `pub` items are
// private here.
#[allow(unreachable_pub)]
mod duration;
mod error;
mod expand;
mod fallback;
mod spawns;
mod valid;
mod walk;

use proc_macro::TokenStream;
use quote::quote;

use crate::ast::Func;
use crate::attr::Macro;
use crate::error::Errors;

/// Runs `async fn main` in a canstop tree: a drop-in for `#[tokio::main]`.
///
/// The generated `fn main() -> ExitCode` builds the tokio runtime, creates the root of the
/// tree, installs the SIGINT/SIGTERM handlers (Ctrl-C on Windows), runs the body in the root
/// scope, waits for a trigger, runs the shutdown sequence, logs the report (and prints it to
/// stderr when no `tracing` subscriber is installed) and exits with the report's code.
///
/// `main`'s body is set-up: when it returns `Ok`, the program runs until a trigger (a signal,
/// a failing service, `canstop::shutdown()`, or every service having finished); when it
/// returns `Err`, that error is the trigger. It may return `()`, `Result<(), E>` for any
/// `E: Debug` (so `anyhow::Result<()>` works), `ExitCode` or `Result<ExitCode, E>`: a code
/// other than `SUCCESS` ends the program as `std::process::exit` would, but gracefully (it
/// is the trigger, "main returned exit code N": the services stop in order), and is the
/// process's exit code when the tree stopped cleanly (canstop's own code wins otherwise).
///
/// # Options
///
/// - `timeout = "10s"`: the tree's drain timeout (default 10 s), parsed at compile time
///   (`"250ms"`, `"10s"`, `"1m30s"`, `"2h"`; whole units only, no fractions: `"1s500ms"`, not
///   `"1.5s"`). `"0s"` is allowed: nothing waits at the stop, and whatever has not returned
///   when told is aborted at once (exit 124 if anything was). `CANSTOP_SHUTDOWN_TIMEOUT` in
///   the environment overrides it at start-up.
/// - `drain_delay = "5s"`: after a signal, how long the tree stays serving, not ready, before
///   its stop (`Root::drain_delay`; default none). For Kubernetes: the delay plus the timeout
///   must fit `terminationGracePeriodSeconds`. `CANSTOP_DRAIN_DELAY` overrides it.
/// - `health = "0.0.0.0:8081"`: serve the health endpoints `/livez`, `/readyz` and `/startupz`
///   on that address (`Root::health_addr`; canstop's `health` feature), checked at compile
///   time. `CANSTOP_HEALTH_ADDR` overrides it.
/// - `flavor = "multi_thread"` (the default) or `"current_thread"`: tokio's runtime flavor.
/// - `worker_threads = 4`: the multi-thread runtime's worker count.
/// - `strategy = "one_for_one"` (the default), `"one_for_all"` or `"rest_for_one"`: what the
///   root does to the other services started from `main` when one of them is restarted (see
///   [`macro@service`]).
/// - `stop_order = "by-dependency"` (the default) or `"reverse"`: the order the services
///   started from `main` stop in (`Root::stop_order`): those that `needs` others first and
///   the rest concurrently, or one at a time, the last started first (as OTP does).
/// - `crate = "::path::to::canstop"`: where canstop is, for crates that re-export it.
///
/// `main` has no `needs` or `ready_timeout`, and takes no `Ready`: the tree is ready once its
/// body has returned `Ok` and every service it started is ready (`canstop::ready()` waits for
/// that).
///
/// The body is checked: a direct `tokio::spawn`, `tokio::task::spawn`,
/// `tokio::task::spawn_blocking`, `tokio::task::spawn_local`, `std::thread::spawn`,
/// `Handle::spawn`, `Handle::spawn_blocking`, or `Handle::current().spawn(..)` /
/// `.spawn_blocking(..)` in it, in statements or in macro arguments, is a compile error
/// naming the tracked alternative (`canstop::spawn`, `canstop::start`,
/// `canstop::spawn_blocking`) and the escape hatch for a deliberately detached task,
/// `canstop::spawn_untracked`. Nested items (a `fn` declared in the body) and
/// `stringify!(..)` are not checked.
///
/// The check is syntactic: it cannot see `use tokio::spawn; spawn(..)`, a helper fn, or a
/// method on a value (`handle.spawn(..)`, `join_set.spawn(..)`). Clippy's
/// `disallowed-methods` can, crate-wide; in `clippy.toml`:
///
/// ```toml
/// disallowed-methods = [
///     { path = "tokio::task::spawn", reason = "untracked: use canstop::spawn or canstop::start" },
///     { path = "tokio::task::spawn_local", reason = "untracked: use canstop::spawn" },
///     { path = "tokio::task::spawn_blocking", reason = "untracked: use canstop::spawn_blocking" },
///     { path = "tokio::runtime::Handle::spawn", reason = "untracked: use canstop::spawn" },
///     { path = "tokio::runtime::Handle::spawn_blocking", reason = "untracked: use canstop::spawn_blocking" },
///     { path = "tokio::task::JoinSet::spawn", reason = "untracked: use canstop::spawn" },
///     { path = "std::thread::spawn", reason = "untracked: use canstop::spawn_blocking" },
/// ]
/// ```
///
/// (`tokio::spawn` is `tokio::task::spawn` re-exported: the one entry covers both.) A
/// deliberate exception is then `#[allow(clippy::disallowed_methods)]` on it, or
/// `canstop::spawn_untracked`.
///
/// # Example
///
/// ```
/// use canstop::{service, Shutdown};
///
/// #[service]
/// async fn heartbeat(shutdown: Shutdown, every_ms: u64) {
///     // Real code would `tokio::select!` on a timer and `shutdown.requested()`.
///     let _ = every_ms;
///     shutdown.requested().await;
/// }
///
/// #[canstop::main(timeout = "5s", flavor = "current_thread")]
/// async fn main() -> Result<(), canstop::SpawnError> {
///     canstop::start(heartbeat(1_000))?;
///     canstop::shutdown()?; // in real life: SIGTERM, or Ctrl-C
///     Ok(()) // the program now lives as long as its services
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(Macro::Main, args, item)
}

/// Turns an `async fn` into a constructor of a [`Service`]: calling the fn does not run the
/// body; it returns a service to start with `canstop::start(service)?` (or
/// `scope.start(service)?`), under the current scope.
///
/// - The service is named after the fn unless `name = "..."` is given; it runs in a `tracing`
///   span of that name, and its outcome (stopped, failed, panicked, ended early, aborted at
///   the deadline) is in the report.
/// - A parameter of canstop's `Shutdown` type is supplied by canstop, not by the caller: the
///   generated fn takes the other parameters, in order. It is recognised by its type's path,
///   `Shutdown`, `canstop::Shutdown`, `::canstop::Shutdown` or `<crate path>::Shutdown`, or
///   by the marker `#[shutdown]` on the parameter (for an alias: `use canstop::Shutdown as
///   Stop`). Another path ending in `Shutdown` (`config::Shutdown`) is the user's own type,
///   passed by the caller; a parameter taken for canstop's whose type is another (a user's
///   type imported as `Shutdown`) is an error at its type. A body that takes no `Shutdown` is
///   dropped as soon as its stop is requested.
/// - A parameter of canstop's `Ready` type is supplied likewise (recognised the same way, or
///   marked `#[ready]`): the service is then ready only once its body calls `ready.set()`
///   (its listener bound, its pool connected), not as soon as its body is built, and what
///   [needs](#readiness-and-order) it waits until then. A restarted service's every instance
///   gets a `Ready` of its own. A body may take a `Ready` without a `Shutdown`.
/// - The body returns `()` or `Result<(), E>` with `E: Display + Send` (any
///   [`BodyResult`](../canstop/trait.BodyResult.html): a value of a type it lists or
///   `Result<T, E>` too,
///   whose `Ok` value is dropped, as nothing awaits a service); an error or a panic before
///   the stop shuts the whole tree down, unless a `restart` policy starts a new instance.
/// - Arguments must be owned (`'static`): the service runs after the call returns. A callable
///   is owned whatever its signature borrows (`Box<dyn Fn(&str) -> bool + Send>`,
///   `fn(&[u8]) -> usize`). Generic fns and `impl Trait` arguments are not supported.
/// - It may be a method taking `self: Arc<Self>` or `self` (a borrowed `&self` is an error:
///   the body outlives the call), in a generic `impl` too, or in a trait's `impl` for a
///   trait method declared `fn run(self: Arc<Self>) -> canstop::Service`, which
///   `#[service] async fn run(self: Arc<Self>, shutdown: Shutdown);` in the trait writes for
///   you (a declaration takes no options; `#[session]` cannot declare one). The body may use
///   `self` and `Self`. In a generic `impl`, an associated fn without `self` that uses the
///   `impl`'s type parameter must name it with one capital letter (`T`, `K`) or use `Self`:
///   the macro cannot see the `impl`, and that is how it knows to keep the body inside it
///   (with a longer name, rustc's E0401 "can't use generic parameters from outer item"
///   follows).
/// - The generated fn keeps the fn's name, visibility, attributes and docs, and its
///   parameters' attributes: a parameter under `#[cfg(..)]` is taken, and bound in the body,
///   only where the `cfg` holds.
///
/// # Options
///
/// - `name = "acceptor"`: the name in logs and in the report.
/// - `timeout = "2s"`: its own stop deadline (never longer than the tree's).
/// - `restart = "never"` (the default), `"on-failure"` or `"always"`: what an end of the body
///   before its stop leads to. With `"never"`, an error or a panic escalates to the parent.
///   With `"on-failure"` (OTP's *transient*), an error or a panic starts a new instance, an
///   early `Ok` does not; with `"always"` (OTP's *permanent*), an early `Ok` does too.
/// - `max_restarts = 3` and `within = "10s"` (the defaults): at most that many restarts in
///   that period; the next failure escalates to the parent. `max_restarts = 0` escalates at
///   the first failure.
/// - `backoff = "100ms..30s"` (the default): the delay before a restart, from the first delay
///   growing exponentially up to the cap; both in the `timeout` grammar, the first not longer
///   than the cap. `"0s..0s"` restarts at once.
/// - `needs = ["db", "cache"]`: the siblings (services of the same parent, by name) it needs:
///   its body is built only once they are ready, and at the stop it stops before them. Each
///   name is a string literal, not empty, without `/`, given once, and not the service's own.
/// - `ready_timeout = "5s"`: how long each instance may take to be ready once its body is
///   built; past it, the instance fails (it is told to stop, and its restart policy applies
///   once it has; a late `ready.set()` no longer counts; without restarts the failure
///   escalates at once, and the service's `ready()` waiters get `ReadyError::TimedOut` at
///   once). Only with a `Ready` parameter:
///   without one the service is ready as soon as its body is built.
/// - `strategy = "one_for_one"` (the default), `"one_for_all"` or `"rest_for_one"`: what this
///   service does to its other children (the services started inside it) when one of them is
///   restarted: nothing, restart them all, or restart those started after it, as OTP
///   defines them.
/// - `stop_order = "by-dependency"` (the default) or `"reverse"`: the order its own children
///   stop in: those that need others first and the rest concurrently, or one at a time, the
///   last started first.
/// - `crate = "::path::to::canstop"`.
///
/// `max_restarts`, `within` and `backoff` tune a restart policy: without `restart` (or with
/// `"never"`) they are an error. The body is checked for untracked spawns as
/// [`macro@main`]'s is.
///
/// # Readiness and order
///
/// A database that is ready once connected, and an API that needs it: the API's body is
/// built once the database is ready, and at the stop the API stops first.
/// (`canstop::start_all` starts services given in any order in their dependency order.)
///
/// ```
/// use canstop::{service, Ready, Root, Shutdown};
///
/// #[service(ready_timeout = "10s")]
/// async fn database(shutdown: Shutdown, ready: Ready, url: String) -> Result<(), String> {
///     assert_eq!(url, "postgres://db"); // real code: connect the pool, then say so
///     ready.set();
///     shutdown.requested().await;
///     Ok(())
/// }
///
/// #[service(needs = ["database"])]
/// async fn api(shutdown: Shutdown) {
///     shutdown.requested().await;
/// }
///
/// let report = Root::new()
///     .signals(false)
///     .block_on(async {
///         let database = canstop::start(database("postgres://db".to_owned()))?;
///         database.ready().await?; // once its body has called `ready.set()`
///         canstop::start(api())?;
///         canstop::shutdown()?;
///         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
///     })
///     .unwrap();
/// assert_eq!(report.exit_code(), 0);
/// ```
///
/// # Restarts
///
/// A restart builds a new body from the same arguments: each instance gets a clone of every
/// argument the caller passed, and of the receiver for a method, so with `restart` they must
/// be `Clone` (an argument that is not is one compile error, at its type: pass an `Arc<T>`,
/// or create the value in the body). The `Shutdown` and the `Ready` are not cloned: each
/// instance gets its own. In a method's body, `self` is the instance's clone (the macro
/// renames it, as `async-trait` does, so a compiler message about it may call it
/// `__canstop_self`; a format string cannot capture it: write `"{}", self` rather than
/// `"{self}"`). Without `restart`, or with `restart = "never"`, the body runs once and
/// nothing needs to be `Clone`.
///
/// # Example
///
/// ```
/// use canstop::{service, Root, ServiceOutcome, Shutdown};
///
/// /// Serves until told to stop.
/// #[service(name = "acceptor", timeout = "2s")]
/// async fn accept_loop(addr: String, shutdown: Shutdown) -> Result<(), std::io::Error> {
///     assert_eq!(addr, "127.0.0.1:7000");
///     shutdown.requested().await; // real code: `tokio::select!` with `listener.accept()`
///     Ok(())
/// }
///
/// let report = Root::new()
///     .signals(false)
///     .block_on(async {
///         let service = accept_loop("127.0.0.1:7000".to_owned());
///         assert_eq!(service.name(), "acceptor");
///         canstop::start(service)?;
///         canstop::shutdown()
///     })
///     .unwrap();
/// assert_eq!(report.service("acceptor").unwrap().outcome, ServiceOutcome::Stopped);
/// assert_eq!(report.exit_code(), 0);
/// ```
///
/// A method: a struct holding its configuration and its pool, started with
/// `canstop::start(Arc::clone(&api).run(..))?`.
///
/// ```
/// use std::sync::Arc;
///
/// use canstop::{service, Root, Shutdown};
///
/// struct Api {
///     port: u16,
///     pool: Vec<String>,
/// }
///
/// impl Api {
///     #[service(name = "api")]
///     async fn run(self: Arc<Self>, shutdown: Shutdown, greeting: String) -> Result<(), String> {
///         assert_eq!((self.port, self.pool.len(), greeting.as_str()), (8080, 0, "hi"));
///         shutdown.requested().await;
///         Ok(())
///     }
/// }
///
/// let api = Arc::new(Api { port: 8080, pool: Vec::new() });
/// let report = Root::new()
///     .signals(false)
///     .block_on(async move {
///         canstop::start(Arc::clone(&api).run("hi".to_owned()))?;
///         canstop::shutdown()
///     })
///     .unwrap();
/// assert_eq!(report.exit_code(), 0);
/// ```
///
/// A queue consumer that a lost connection restarts, with a new connection made from a clone
/// of `url`: at most 5 times a minute, 1 s after a failure, then up to 1 min.
///
/// ```
/// use canstop::{service, Root, ServiceOutcome, Shutdown};
///
/// #[service(restart = "on-failure", max_restarts = 5, within = "1m", backoff = "1s..1m")]
/// async fn consumer(shutdown: Shutdown, url: String) -> Result<(), std::io::Error> {
///     assert_eq!(url, "amqp://queue"); // real code: connect, and consume until the stop
///     shutdown.requested().await;
///     Ok(())
/// }
///
/// let report = Root::new()
///     .signals(false)
///     .block_on(async {
///         canstop::start(consumer("amqp://queue".to_owned()))?;
///         canstop::shutdown()
///     })
///     .unwrap();
/// assert_eq!(report.service("consumer").unwrap().outcome, ServiceOutcome::Stopped);
/// assert_eq!(report.exit_code(), 0);
/// ```
///
/// [`Service`]: https://docs.rs/canstop/latest/canstop/struct.Service.html
#[proc_macro_attribute]
pub fn service(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(Macro::Service, args, item)
}

/// Turns an `async fn` into a constructor of a tracked [`Session`]: one connection, request or
/// job. Calling the fn does not run the body; it returns a `Session`, which is **not a
/// `Future`** and is `#[must_use]`. The only ways to run it are canstop's tracked spawns,
/// `canstop::spawn(session)?` and `scope.spawn(session)?`, so that shutdown waits for it (up
/// to the deadline) instead of cutting it off.
///
/// - `tokio::spawn(session)` and `session.await` do not compile; the error names the fix.
/// - Sessions are counted per kind (the name, by default the fn's, and the fn's source
///   location): started, finished, failed, panicked, aborted. The counts stay exact on
///   return, error, panic and abort.
/// - A `Shutdown` parameter is supplied by canstop, as for [`macro@service`]. A session that
///   takes none is **not** cut off when the stop is requested: it runs to completion, or
///   until the deadline aborts it (that is what draining means). A session has no readiness:
///   a `Ready` parameter, `needs` and `ready_timeout` are errors.
/// - Arguments must be owned (`'static`): a reference or a borrowed lifetime is an error,
///   but a callable's own are not (`Box<dyn Fn(&str) -> bool + Send>`, `fn(&[u8]) -> usize`).
///   As for services, it may be a method taking `self: Arc<Self>` or `self`.
///
/// # Options
///
/// - `name = "upload"`: the kind's name in logs and in the report.
/// - `crate = "::path::to::canstop"`.
///
/// There is no `timeout`: a session drains within its scope's deadline.
///
/// # Example
///
/// ```
/// use canstop::{session, Root, Shutdown};
///
/// #[session]
/// async fn job(id: u32, shutdown: Shutdown) -> Result<(), String> {
///     if shutdown.is_requested() {
///         return Err(format!("job {id}: cancelled before it started"));
///     }
///     Ok(())
/// }
///
/// let report = Root::new()
///     .signals(false)
///     .block_on(async {
///         for id in 0..3 {
///             canstop::spawn(job(id))?;
///         }
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .unwrap();
/// let jobs = report.sessions_named("job").unwrap();
/// assert_eq!((jobs.started, jobs.finished), (3, 3));
/// ```
///
/// A session is not a future:
///
/// ```compile_fail
/// #[canstop::session]
/// async fn job() {}
///
/// async fn run() {
///     job().await; // error[E0277]: `Session<impl SessionBody>` is not a future
/// }
/// ```
///
/// [`Session`]: https://docs.rs/canstop/latest/canstop/struct.Session.html
#[proc_macro_attribute]
pub fn session(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(Macro::Session, args, item)
}

/// Runs an `async fn` test in a canstop tree: a drop-in for `#[tokio::test]`.
///
/// The generated `#[test] fn` builds a runtime, runs the body in a fresh root scope (no
/// signal handlers, no `CANSTOP_SHUTDOWN_TIMEOUT`), shuts the tree down when the body
/// returns, and **fails, printing the report, unless everything stopped cleanly**: a service
/// or session still alive at the deadline, a failure, a panic, the body returning `Err` (the
/// panic then starts "the test body returned an error: ..") or an exit code, or a session
/// anywhere in the tree returning `Err` (stricter than the exit code, which such a session
/// does not change: "N session(s) returned an error"). A panic in the body is printed once,
/// where it happened, followed by the report; the test then fails with "the test body
/// panicked: <message>" (what `#[should_panic(expected = "..")]` matches). The report calls
/// the body `main`, as it does any root's body.
///
/// It replaces `#[tokio::test]`, as [`macro@main`] replaces `#[tokio::main]`: with both on
/// the fn, in either order, the error says to remove one.
///
/// # Options
///
/// - `flavor = "current_thread"` (the default) or `"multi_thread"`.
/// - `worker_threads = 2`: with `flavor = "multi_thread"`.
/// - `start_paused = true`: tokio's paused clock (current-thread only; needs canstop's
///   `test-util` feature).
/// - `timeout = "1s"`: the tree's drain timeout (default 10 s).
/// - `strategy = "one_for_all"` and `stop_order = "reverse"`: as for [`macro@main`].
/// - `crate = "::path::to::canstop"`.
///
/// The body is not checked for `tokio::spawn`: tests often run untracked clients.
///
/// # Example
///
/// ```
/// use canstop::{service, Shutdown};
///
/// #[service]
/// async fn worker(shutdown: Shutdown) {
///     shutdown.requested().await;
/// }
///
/// #[canstop::test(timeout = "1s")]
/// async fn the_worker_stops_cleanly() -> Result<(), canstop::SpawnError> {
///     let handle = canstop::start(worker())?;
///     assert_eq!(handle.name(), "worker");
///     Ok(())
/// }
/// # fn main() {} // rustdoc does not run `#[test]` fns; `cargo test` does.
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(Macro::Test, args, item)
}

/// Parse, validate, expand; every error is reported, and the item is always emitted (the
/// generated fn, or a stub with its signature; the item as written only when it is not a fn).
fn entry(mac: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let args = proc_macro2::TokenStream::from(args);
    let mut errors = Errors::default();
    let has_options = !args.is_empty();
    let options = attr::parse(mac, args, &mut errors);
    if let Some(declaration) = declare::expand(mac, &options, has_options, &item, &mut errors) {
        let errors = errors.to_compile_error();
        return quote!(#errors #declaration).into();
    }
    let func = match Func::parse(item.clone(), mac.attr(), options.krate.as_ref()) {
        Ok(func) => func,
        Err(error) => {
            // A signature that does not parse (mid-edit): its own error, once, and a stub
            // with the callers' shape, so that no call site adds errors of its own.
            let (path, krate) = (options.krate.as_ref(), options.krate_tokens());
            if let Some(fallback) = fallback::expand(mac, &item, path, &krate) {
                let errors = errors.to_compile_error();
                return quote!(#errors #fallback).into();
            }
            errors.push(error);
            let errors = errors.to_compile_error();
            return quote!(#errors #item).into();
        }
    };
    if matches!(mac, Macro::Service | Macro::Session) && func.is_canstop_output() {
        // Another `#[service]` or `#[session]` above this one made the fn already: it stays.
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            format!(
                "`{}` is written twice on this fn (or with `#[service]`/`#[session]` above it): one fn makes one service or session; remove this attribute",
                mac.attr()
            ),
        ));
        let errors = errors.to_compile_error();
        return quote!(#errors #item).into();
    }
    let mut mode = valid::validate(mac, &options, &func, &mut errors);
    if mac != Macro::Test && func.body_parses && spawns::check(func.body.stream(), &mut errors) {
        // The spawn would be reported again by the body's type check (a session is not a
        // future): the body is left out until it is mended.
        mode = valid::Mode::Blind;
    }
    let expanded = expand::expand(mac, &options, &func, mode);
    let errors = errors.to_compile_error();
    quote!(#errors #expanded).into()
}
