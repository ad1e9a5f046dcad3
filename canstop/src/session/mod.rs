//! Sessions: short-lived, tracked work. A [`Session`] is a value that is *not* a future, so the
//! only way to run it is a tracked spawn.
//!
//! - this file: [`Session`] (the value), [`SessionBody`], [`SessionHandle`], and the task
//!   that runs a session and counts its end ([`SessionTask`], its guard);
//! - [`sessions`]: the live sessions of one scope: admission, counting per kind and per
//!   thread, the parked registry and the deadline sweep;
//! - [`kind`]: what a session is, for counting: a name and a source location;
//! - [`wakers`]: the wakers of a shard's waiting sessions, which the deadline sweep wakes;
//! - [`judged`]: the bodies `#[session]` generates, which keep a wrong output type to one
//!   compile error.

pub(crate) mod judged;
pub(crate) mod kind;
pub(crate) mod sessions;
pub(crate) mod wakers;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::error::{SessionError, SpawnError};
use crate::lifecycle::log::InSpan;
use crate::outcome::{catching, noting_panic, BodyResult};
use crate::session::kind::SessionKind;
use crate::session::sessions::{BlockingStart, Place, Refusal, Settle, Swept, MAX_KINDS};
use crate::shutdown::Shutdown;
use crate::tree::context;
use crate::tree::node::Node;

/// One unit of tracked work (a connection, a request, a job), ready to be spawned.
///
/// A `Session` is not a `Future`: `tokio::spawn(session)` and `session.await` do not compile.
/// Run it with [`canstop::spawn`](crate::spawn) or [`Scope::spawn`](crate::Scope::spawn), so
/// that shutdown waits for it. `#[session]` fns return one; without the macro, build one with
/// [`Session::new`].
///
/// ```compile_fail
/// let session = canstop::Session::new("job", |_| async {});
/// // error: `Session<...>` is a canstop session, not a future
/// //   = note: spawn it with `canstop::spawn(session)?` (or `scope.spawn(session)?`) ...
/// tokio::spawn(session);
/// ```
///
/// ```compile_fail
/// # async fn f() {
/// let session = canstop::Session::new("job", |_| async {});
/// session.await; // error: `Session<...>` is not a future (help: `SpawnWithCanstop` ...)
/// # }
/// ```
#[must_use = "a session does nothing until it is spawned with `canstop::spawn(session)`"]
pub struct Session<B> {
    kind: SessionKind,
    body: B,
}

/// What a session runs: called once, when the session is spawned, to build its future.
///
/// Implemented for every `FnOnce(Shutdown) -> impl Future` whose output is a [`BodyResult`]
/// (it gets its scope's [`Shutdown`]), and for [`FutureBody`] (a future that does not need
/// one). Name it in bounds (`impl SessionBody<Output = T>`); it is not meant to be
/// implemented outside canstop: its `failure` method is hidden, and may change.
#[diagnostic::on_unimplemented(
    message = "this cannot run as a canstop session body",
    label = "a session body must be a `Send + 'static` future whose output is `()`, `Result<T, E>` with `E: Display`, or a value of a type canstop knows (numbers, `String`, `Vec<T>`, `Option<T>`, ...)",
    note = "a future that holds a non-`Send` value (an `Rc`, a `RefCell` borrow, a `MutexGuard`) across an `.await` is not `Send`: drop the value before the `.await`, or use its `Send` counterpart (`Arc`, `tokio::sync::Mutex`); an output that cannot end a session (an error type that is not `Display` or not `Send`) is named at the fn's return type"
)]
pub trait SessionBody: Send + 'static {
    /// The body's future.
    type Future: Future<Output = Self::Output> + Send + 'static;
    /// The body's result, handed to the session's handle: a [`BodyResult`] (`()`, a plain
    /// value, or `Result<T, E>` with `E: Display`) for every body canstop accepts.
    type Output: Send + 'static;
    /// Builds the future. `shutdown` makes the session's [`Shutdown`], for a body that wants
    /// one; a body that does not call it spares the spawn a reference count on the scope.
    fn start(self, shutdown: impl FnOnce() -> Shutdown) -> Self::Future;
    /// `None` for success, or the failure's message: the output's
    /// [`BodyResult::failure`]. (Not a bound on `Output`, so that `#[session]` can keep an
    /// output type that is not a `BodyResult` to one compile error: see `session/judged.rs`.)
    #[doc(hidden)]
    fn failure(output: &Self::Output) -> Option<String>;
}

impl<F, Fut> SessionBody for F
where
    F: FnOnce(Shutdown) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: BodyResult,
{
    type Future = Fut;
    type Output = Fut::Output;

    fn start(self, shutdown: impl FnOnce() -> Shutdown) -> Fut {
        self(shutdown())
    }

    #[inline]
    fn failure(output: &Fut::Output) -> Option<String> {
        output.failure()
    }
}

/// A session body that is a future already and does not take its scope's [`Shutdown`]: what
/// [`Session::from_future`] runs, and what `#[session]` fns without a `Shutdown` parameter
/// expand to.
///
/// Such a session still stops with its scope: it is waited for during the drain and aborted
/// at the deadline; it only cannot see the stop coming.
#[derive(Debug)]
pub struct FutureBody<F>(F);

impl<F> FutureBody<F> {
    /// Wraps `future`.
    pub fn new(future: F) -> Self {
        Self(future)
    }
}

impl<F> SessionBody for FutureBody<F>
where
    F: Future + Send + 'static,
    F::Output: BodyResult,
{
    type Future = F;
    type Output = F::Output;

    fn start(self, _: impl FnOnce() -> Shutdown) -> F {
        self.0
    }

    #[inline]
    fn failure(output: &F::Output) -> Option<String> {
        output.failure()
    }
}

impl<F> Session<FutureBody<F>>
where
    F: Future + Send + 'static,
    F::Output: BodyResult,
{
    /// A session named `name`, located at the caller, that runs `future`: for work that does
    /// not need to see the stop coming (it is still waited for, and aborted at the deadline).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let report = canstop::Root::new()
    ///     .signals(false)
    ///     .run(async {
    ///         canstop::spawn(canstop::Session::from_future("ping", async {}))?;
    ///         Ok::<(), canstop::SpawnError>(())
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(report.sessions_named("ping").unwrap().finished, 1);
    /// # }
    /// ```
    #[track_caller]
    pub fn from_future(name: &'static str, future: F) -> Self {
        Self::with_kind(SessionKind::here(name), FutureBody(future))
    }
}

impl<B: SessionBody> Session<B> {
    /// A session named `name`, located at the caller. The body gets its scope's `Shutdown`;
    /// one that ignores it runs to completion during the drain (or until the deadline).
    ///
    /// `body` is called when the session is spawned, before admission, to build the future
    /// (keep side effects in the future, as an `async` block or fn does): if the spawn is
    /// refused, that future is dropped without ever being polled.
    #[track_caller]
    pub fn new(name: &'static str, body: B) -> Self {
        Self::with_kind(SessionKind::here(name), body)
    }

    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> SessionKind {
        self.kind
    }
}

impl<B> Session<B> {
    /// A session of an explicit kind (what `#[session]` generates). The body's bounds are
    /// checked where the session is spawned (for `#[session]`, at its return type, so that
    /// a body that is not `Send` gets one error at the fn's name).
    pub fn with_kind(kind: SessionKind, body: B) -> Self {
        Self { kind, body }
    }
}

impl<B> fmt::Debug for Session<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("kind", &self.kind).finish()
    }
}

/// What [`canstop::spawn`](crate::spawn) and [`Scope::spawn`](crate::Scope::spawn) take: a
/// [`Session`]. Implemented for `Session<B>` only; it exists so that passing something else
/// (an `async` block, a plain future) fails with a message that names the fix.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a canstop session",
    label = "`canstop::spawn` runs a `Session`",
    note = "a `#[session]` fn returns one; for a future, `canstop::Session::from_future(\"name\", future)` makes one (tracked, counted under that name); `canstop::spawn_untracked(future)` runs a future that shutdown does not wait for; a `#[service]` fn's `Service` is started with `canstop::start(service)?`"
)]
pub trait IntoSession: sealed::Sealed {
    /// The session's body.
    type Body: SessionBody;
    /// The session.
    fn into_session(self) -> Session<Self::Body>;
}

impl<B: SessionBody> IntoSession for Session<B> {
    type Body = B;
    #[inline]
    fn into_session(self) -> Session<B> {
        self
    }
}

mod sealed {
    pub trait Sealed {}
    impl<B> Sealed for super::Session<B> {}
}

/// Never implemented: it only exists so that using a `Session` as a future fails to compile
/// with a message that names the fix.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is a canstop session, not a future",
    label = "a session cannot be awaited or given to `tokio::spawn`",
    note = "spawn it with `canstop::spawn(session)?` (or `scope.spawn(session)?`), so that shutdown waits for it"
)]
pub trait SpawnWithCanstop {
    /// Never called: `Session` does not implement this trait.
    fn unreachable(&self) -> Poll<Infallible>;
}

/// Lets `tokio::spawn(session)` and `session.await` reach the unsatisfiable
/// [`SpawnWithCanstop`] bound, whose message names the tracked spawn. Its output is the
/// body's, so that the code around a mistaken `.await` (`job(1).await?`) raises no error of
/// its own.
impl<B: SessionBody> Future for Session<B>
where
    Session<B>: SpawnWithCanstop,
{
    type Output = B::Output;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<B::Output> {
        match self.unreachable() {
            Poll::Ready(never) => match never {},
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project_lite::pin_project! {
    /// The task of one session: the body's future, polled with the session's scope as the
    /// current one and panics caught, and the guard that counts how it ended.
    ///
    /// One flat future with the body's inline: the wrapper adds a few words to the body's own
    /// size, which decides the task's allocation size class.
    struct SessionTask<B: SessionBody> {
        // `None` only once dropped by [`SessionTask`]'s own drop. The `Option` costs a word
        // (an `async` block's state gives it no niche): see `the_task_adds_32_bytes_to_the_body`.
        #[pin]
        future: Option<B::Future>,
        guard: SessionGuard,
        // Boxed, and only when a subscriber wants it: a disabled span costs one word.
        span: Option<Box<tracing::Span>>,
        // How the output is judged.
        body: PhantomData<fn() -> B>,
    }

    impl<B: SessionBody> PinnedDrop for SessionTask<B> {
        /// A session dropped before its end (aborted by the sweep or its handle, or its
        /// runtime shutting down) has its body dropped here, under a catch, so that a panic
        /// in the body's drop is counted with its message; the panic then goes on (its
        /// handle reports it). A session that ended drops its body as a field, after this.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.guard.place.is_settled() {
                return;
            }
            let mut future = this.future;
            let guard = this.guard;
            noting_panic(|| future.set(None), |message| guard.drop_panicked(message));
        }
    }
}

impl<B: SessionBody> Future for SessionTask<B> {
    type Output = Result<B::Output, SessionError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let guard = this.guard;
        if guard
            .node
            .as_ref()
            .is_none_or(|node| node.sessions.is_aborted())
        {
            // The deadline sweep has begun: the body is dropped without another poll, and
            // the guard, dropped after it, counts the session (as panicked if that drop
            // panics).
            return Poll::Ready(Err(SessionError::Aborted));
        }
        let _span = this.span.as_deref().map(InSpan::enter);
        let Some(future) = this.future.as_pin_mut() else {
            // Not reached: the body is only taken by the task's drop.
            return Poll::Ready(Err(SessionError::Aborted));
        };
        let polled = {
            let _scope = context::enter(&mut guard.node);
            // The output's failure is read under the catch too: an error whose `Display`
            // panics is a panicked session, not a lost one.
            catching(|| {
                future.poll(cx).map(|output| {
                    let failure = B::failure(&output);
                    (output, failure)
                })
            })
        };
        match polled {
            Ok(Poll::Pending) => guard.park(cx.waker()).map(|()| Err(SessionError::Aborted)),
            Ok(Poll::Ready((output, failure))) => {
                match failure {
                    None => guard.finish(),
                    Some(error) => guard.failed(error),
                }
                Poll::Ready(Ok(output))
            }
            Err(message) => Poll::Ready(Err(guard.panicked(message))),
        }
    }
}

/// A running session: await it for the session's value, drop it to let the session run on
/// (it stays tracked and counted either way), or [`abort`](Self::abort) it. What
/// [`canstop::spawn`](crate::spawn), [`Scope::spawn`](crate::Scope::spawn) and
/// [`canstop::spawn_blocking`](crate::spawn_blocking) return: tokio's `JoinHandle`, tracked.
///
/// # Cancel safety
///
/// Awaiting it is cancel-safe: dropping the `.await` (in a `select!`) leaves the session
/// running.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use canstop::{Root, Session, SessionError};
///
/// let report = Root::new()
///     .signals(false)
///     .run(async {
///         let lookup = canstop::spawn(Session::from_future("lookup", async {
///             Ok::<u64, String>(42)
///         }))?;
///         assert_eq!(lookup.await, Ok(Ok(42)));
///
///         let stuck = canstop::spawn(Session::from_future("stuck", std::future::pending::<()>()))?;
///         stuck.abort();
///         assert_eq!(stuck.await, Err(SessionError::Aborted));
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .await
///     .unwrap();
/// assert_eq!(report.sessions_named("lookup").unwrap().finished, 1);
/// assert_eq!(report.sessions_named("stuck").unwrap().aborted, 1);
/// # }
/// ```
pub struct SessionHandle<T> {
    join: tokio::task::JoinHandle<Result<T, SessionError>>,
}

impl<T> SessionHandle<T> {
    fn task(join: tokio::task::JoinHandle<Result<T, SessionError>>) -> Self {
        Self { join }
    }

    /// Aborts the session: its body is dropped at its next poll (as at its deadline), and it
    /// is counted as aborted and, since the program chose it, as
    /// [`cancelled`](crate::SessionStats::cancelled): it does not make the exit code 124, and
    /// the report does not say it was cut at a deadline. Blocking work that has started cannot
    /// be aborted; this then does nothing.
    pub fn abort(&self) {
        self.join.abort();
    }

    /// Whether the session has ended.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

impl<T> Future for SessionHandle<T> {
    type Output = Result<T, SessionError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.join)
            .poll(cx)
            .map(|joined| match joined {
                Ok(output) => output,
                Err(error) if error.is_panic() => Err(SessionError::Panicked {
                    message: crate::outcome::panic_message(error.into_panic().as_ref()),
                }),
                Err(_) => Err(SessionError::Aborted),
            })
    }
}

/// Two handles are equal when they are handles of the same session (so that a spawn's
/// `Result` can be compared, as in `assert_eq!(spawned, Err(SpawnError::NoScope))`).
impl<T> PartialEq for SessionHandle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.join.id() == other.join.id()
    }
}

impl<T> fmt::Debug for SessionHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Counts the session's end exactly once (its [`Place`] remembers): [`end`](Self::end) when
/// the body finished, failed or panicked in a poll, or its `Drop` when it was dropped before
/// that: aborted by the deadline sweep, by [`SessionHandle::abort`] or by a runtime shutting
/// down (and counted as panicked if the body's own drop, just before, panicked).
///
/// It leaves the scope's gate only in its `Drop`, which runs after the body's future has been
/// dropped (it is the task's next field): a drained scope has no body left alive.
struct SessionGuard {
    /// `None` only while lent to the thread's current-scope slot during a poll.
    node: Option<Arc<Node>>,
    place: Place,
}

impl SessionGuard {
    fn end(&mut self, how: Settle) -> Swept {
        match &self.node {
            Some(node) => node.sessions.settle(&mut self.place, how),
            None => Swept(false),
        }
    }

    /// The body finished: [`end`](Self::end)'s common case, inlined into the poll.
    #[inline]
    fn finish(&mut self) {
        if let Some(node) = &self.node {
            node.sessions.finish(&mut self.place);
        }
    }

    /// The body returned an error: counted, and its message kept.
    #[cold]
    fn failed(&mut self, error: String) {
        let _ = self.end(Settle::Failed(error));
    }

    /// After a poll returned `Pending`: makes sure the deadline sweep can wake the session.
    /// Ends it as aborted (`Ready`) if the sweep has been through already.
    #[inline]
    fn park(&mut self, waker: &Waker) -> Poll<()> {
        let Some(node) = &self.node else {
            return Poll::Pending;
        };
        if node.sessions.park(&mut self.place, waker) {
            return Poll::Pending;
        }
        // Swept already: ends as aborted, counted by the guard's drop, after the body's.
        Poll::Ready(())
    }

    /// A session dropped by the deadline sweep is counted by how its drop went (a panic
    /// there is a panic); that the deadline cut it is noted on the tree all the same.
    #[cold]
    fn cut_at_deadline(&self) {
        if let Some(node) = self.node.as_ref().filter(|node| node.sessions.is_aborted()) {
            node.cut();
        }
    }

    /// The body's drop panicked, before its end was counted (see `SessionTask`'s drop).
    #[cold]
    fn drop_panicked(&mut self, message: String) {
        self.cut_at_deadline();
        let _ = self.end(Settle::Panicked(format!(
            "{message} (while being dropped after its abort)"
        )));
    }

    /// The body panicked: counted, and the handle's error.
    #[cold]
    fn panicked(&mut self, message: String) -> SessionError {
        let _ = self.end(Settle::Panicked(message.clone()));
        SessionError::Panicked { message }
    }
}

impl Drop for SessionGuard {
    #[inline]
    fn drop(&mut self) {
        // `settle` would do nothing for a session counted already; checking here first keeps
        // the common drop (after `end`) from building a `Settle` and making the call.
        if !self.place.is_settled() {
            self.end_unsettled();
            return;
        }
        if let Some(node) = &self.node {
            node.sessions.leave();
        }
    }
}

impl SessionGuard {
    /// Dropped before its end was counted: the rare drop, kept out of the common one.
    #[cold]
    #[inline(never)]
    fn end_unsettled(&mut self) {
        // Dropped before its end: aborted by the sweep, or cancelled (`SessionHandle::abort`, a
        // runtime shutting down). (A body whose drop panicked was counted, with the panic's
        // message, by the task's drop, before this.)
        let how = if self
            .node
            .as_ref()
            .is_none_or(|node| node.sessions.is_aborted())
        {
            Settle::Aborted
        } else {
            // Not the sweep's doing: its handle's `abort`, or its runtime shutting down
            // outside a stop. The program's own cancellation, not a cut.
            Settle::Cancelled
        };
        if self.end(how) == Swept(true) {
            // Blocking work the deadline sweep counted: the sweep left the gate for it.
            return;
        }
        if let Some(node) = &self.node {
            node.sessions.leave();
        }
    }
}

#[cold]
fn refused(node: &Node, why: Refusal) -> SpawnError {
    match why {
        Refusal::Closed => SpawnError::Closed {
            scope: node.describe(),
        },
        Refusal::TooManyKinds => SpawnError::TooManyKinds {
            scope: node.describe(),
            limit: MAX_KINDS,
        },
    }
}

/// A span for one session, kept only when a subscriber wants it. At `DEBUG`: sessions are the
/// high-frequency work, and a span per session costs more than the session itself once a
/// subscriber records it; a subscriber at `INFO` pays one comparison per session here.
#[inline]
fn session_span(kind: SessionKind, blocking: bool) -> Option<Box<tracing::Span>> {
    if !tracing::level_enabled!(tracing::Level::DEBUG) {
        return None;
    }
    wanted_span(kind, blocking)
}

#[cold]
#[inline(never)]
fn wanted_span(kind: SessionKind, blocking: bool) -> Option<Box<tracing::Span>> {
    let span = if blocking {
        tracing::debug_span!("session", name = kind.name(), blocking = true)
    } else {
        tracing::debug_span!("session", name = kind.name())
    };
    (!span.is_disabled()).then(|| Box::new(span))
}

pub(crate) fn spawn_on<B: SessionBody>(
    node: &Arc<Node>,
    session: Session<B>,
) -> Result<SessionHandle<B::Output>, SpawnError> {
    let span = session_span(session.kind, false);
    let future = {
        let _span = span.as_deref().map(InSpan::enter);
        session.body.start(|| Shutdown::new(node.clone()))
    };
    // Counted from here: a spawn racing the start of shutdown is refused or waited for.
    let place = node
        .sessions
        .admit(session.kind)
        .map_err(|why| refused(node, why))?;
    let task = SessionTask::<B> {
        future: Some(future),
        guard: SessionGuard {
            node: Some(node.clone()),
            place,
        },
        span,
        body: PhantomData,
    };
    // A task that the spawn drops at once (its runtime is shutting down) is counted as
    // aborted by its guard.
    Ok(SessionHandle::task(node.tree.runtime.spawn(task)))
}

pub(crate) fn spawn_blocking_on<F, R>(
    node: &Arc<Node>,
    kind: SessionKind,
    work: F,
) -> Result<SessionHandle<R>, SpawnError>
where
    F: FnOnce() -> R + Send + 'static,
    R: BodyResult,
{
    let span = session_span(kind, true);
    let place = node
        .sessions
        .admit(kind)
        .map_err(|why| refused(node, why))?;
    let mut guard = SessionGuard {
        node: Some(node.clone()),
        place,
    };
    let start = Arc::new(BlockingStart::default());
    // Registered before the spawn, so that the deadline sweep can cancel it or count it as
    // abandoned. If the sweep has been through already, the work was admitted and is aborted
    // at the deadline before it could start: it never runs, and is counted as aborted.
    if !node
        .sessions
        .register_blocking(&mut guard.place, start.clone())
    {
        // Its handle answers at once (a task of its own: this is the rare path).
        let aborted = node
            .tree
            .runtime
            .spawn(async { Err(SessionError::Aborted) });
        return Ok(SessionHandle::task(aborted));
    }
    let join = node.tree.runtime.spawn_blocking(move || {
        crate::sync::slots::share_on_this_thread();
        if !start.start() {
            // Cancelled by the sweep, which counted it and left the gate for it: the guard
            // only takes it out of the registry.
            return Err(SessionError::Aborted);
        }
        let _span = span.as_deref().map(InSpan::enter);
        let polled = {
            let _scope = context::enter(&mut guard.node);
            catching(|| {
                let output = work();
                let failure = output.failure();
                (output, failure)
            })
        };
        let (settle, output) = match polled {
            Ok((output, None)) => (Settle::Finished, Ok(output)),
            Ok((output, Some(error))) => (Settle::Failed(error), Ok(output)),
            Err(message) => (
                Settle::Panicked(message.clone()),
                Err(SessionError::Panicked { message }),
            ),
        };
        if guard.end(settle) == Swept(true) {
            // Abandoned at the deadline and counted by the sweep, which left the gate for it.
            drop(guard.node.take());
        }
        output
    });
    Ok(SessionHandle::task(join))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes<B: SessionBody>(_: &Session<B>) -> (usize, usize) {
        (
            std::mem::size_of::<B::Future>(),
            std::mem::size_of::<SessionTask<B>>(),
        )
    }

    /// tokio allocates a task in steps of 128 bytes, so the wrapper's size decides whether a
    /// session's task takes the same allocation as the bare body's (the memory benchmark's
    /// session sits a few bytes under a step). 24 bytes of bookkeeping (the scope, the place,
    /// the span), and 8 for the `Option` around the body, which lets the task's drop drop the
    /// body under a catch (an `async` block's state gives `Option` no niche): the price of a
    /// drop panic's message in the report.
    #[test]
    fn the_task_adds_32_bytes_to_the_body() {
        let session = Session::new("job", |shutdown: Shutdown| async move {
            shutdown.requested().await;
        });
        let (body, task) = sizes(&session);
        assert!(task <= body + 32, "body {body} B, task {task} B");
    }
}
