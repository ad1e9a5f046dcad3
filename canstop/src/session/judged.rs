//! The bodies `#[session]` generates: one compile error per wrong output type.
//!
//! A session's output is judged at its end ([`SessionBody::failure`]): an `Err` is a failure.
//! For an output that cannot be judged (`-> Summary`, an error type that is not `Display` or
//! not `Send`), the generated fn is checked once, by [`session_output`] at its return type.
//! Every other bound must then hold whatever the output, or rustc reports the same mistake a
//! second time, at the fn's opaque return type. So the macro's body is a [`Judged`]: it
//! implements [`SessionBody`] for any `Send` output, with a judge picked by autoref
//! specialisation: [`ByBodyResult`] when the output is a [`BodyResult`], else [`Unjudged`]
//! (which only a crate that does not compile ever gets, [`session_output`] having failed):
//!
//! ```ignore
//! use canstop::__private::{ViaBodyResult as _, ViaNothing as _};
//! let judge = (&&canstop::__private::Probe::<Output>::new()).judge();
//! ```
//!
//! Method lookup tries the receiver `&&Probe<T>` first, which [`ViaBodyResult`] matches only
//! when `T: BodyResult` (also in a generic impl whose bounds prove it), then `&Probe<T>`,
//! which [`ViaNothing`] always matches.

use std::future::Future;
use std::marker::PhantomData;

use crate::outcome::BodyResult;
use crate::session::{FutureBody, SessionBody};
use crate::shutdown::Shutdown;

/// Judges a session's output: `None` for success, or the failure's message.
pub trait Judge<T>: Send + 'static {
    /// The output's failure, if it is one.
    fn failure(output: &T) -> Option<String>;
}

/// The judge of a [`BodyResult`]: its own [`failure`](BodyResult::failure).
#[derive(Debug, Clone, Copy)]
pub struct ByBodyResult;

impl<T: BodyResult> Judge<T> for ByBodyResult {
    #[inline]
    fn failure(output: &T) -> Option<String> {
        output.failure()
    }
}

/// The judge picked for an output that is not a [`BodyResult`]: never run (the crate did not
/// compile: [`session_output`] reported the output).
#[derive(Debug, Clone, Copy)]
pub struct Unjudged;

impl<T> Judge<T> for Unjudged {
    fn failure(_: &T) -> Option<String> {
        None
    }
}

/// What the judge is picked on (see `canstop/src/session/judged.rs`).
#[derive(Debug)]
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// A probe of the output type `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

/// Matches `&&Probe<T>` when `T` is a [`BodyResult`].
pub trait ViaBodyResult {
    /// [`ByBodyResult`].
    fn judge(&self) -> ByBodyResult {
        ByBodyResult
    }
}

impl<T: BodyResult> ViaBodyResult for &Probe<T> {}

/// Matches `&Probe<T>`, for any `T`.
pub trait ViaNothing {
    /// [`Unjudged`].
    fn judge(&self) -> Unjudged {
        Unjudged
    }
}

impl<T> ViaNothing for Probe<T> {}

/// A generated body and its judge: a future ([`FutureBody`]) or a closure that takes the
/// session's [`Shutdown`].
#[derive(Debug)]
pub struct Judged<B, J> {
    body: B,
    judge: PhantomData<fn() -> J>,
}

impl<B, J> Judged<B, J> {
    /// `body`, judged by `J`.
    pub fn new(body: B, _: J) -> Self {
        Self {
            body,
            judge: PhantomData,
        }
    }
}

/// The body `#[session]` generates for a fn without a `Shutdown` parameter: `future` (an
/// `async` block of the generated fn), judged by `judge`. Its `Send`
/// bound is this call's, so that a body holding a non-`Send` value across an `.await` gets
/// rustc's own error, once, which names the value and the `.await`. As [`Judged`]'s bound
/// only, rustc would say that `Judged<..>` is not a session body (more than one impl could
/// have applied). The output's bounds are left to [`session_output`], so that a wrong output
/// type stays one error.
pub fn judged_future<F, J>(future: F, judge: J) -> Judged<FutureBody<F>, J>
where
    F: Future + Send + 'static,
{
    Judged::new(FutureBody(future), judge)
}

impl<F, J> SessionBody for Judged<FutureBody<F>, J>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    J: Judge<F::Output>,
{
    type Future = F;
    type Output = F::Output;

    #[inline]
    fn start(self, _: impl FnOnce() -> Shutdown) -> F {
        self.body.0
    }

    #[inline]
    fn failure(output: &F::Output) -> Option<String> {
        J::failure(output)
    }
}

/// Checks, at a `#[session]` fn's return type, that its body's output can end a session: an
/// output that is not a [`BodyResult`] (an error type that is not `Display` or not `Send`) is
/// reported there, once, naming the type. Takes the future, so that the output's type is the
/// one the body's signature gives (the same obligation as the return type's, which rustc then
/// does not report again).
pub fn session_output<F, T>(_: &F)
where
    F: Future<Output = T>,
    T: BodyResult,
{
}

/// [`session_output`] for a closure body.
pub fn session_output_of<C, Fut, T>(_: &C)
where
    C: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = T>,
    T: BodyResult,
{
}
