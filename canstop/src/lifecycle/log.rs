//! Logging that cannot stop the lifecycle.
//!
//! canstop's own `tracing` events go to the program's subscriber, which may panic (a writer
//! that fails) or block (a log pipe nobody drains). Neither may keep the shutdown from
//! starting, delay the exit, or change its code:
//!
//! - Where a log and an action go together (a failure and its escalation, a trigger and the
//!   stop), the action comes first and the log after: a subscriber that blocks holds only
//!   the thread that logs, after the tree has acted.
//! - No log is written under a lock the stop takes (the tree's readiness, a restart round):
//!   a subscriber that blocks there would hold every thread that takes it.
//! - Every log of the lifecycle (at any level) runs through [`log`], and canstop's own spans
//!   are made ([`span`]), entered and left ([`InSpan`], [`Spanned`]) under the same catch, so
//!   that a subscriber's panic is the subscriber's: the panic hook prints it, and canstop
//!   goes on (it never unwinds through a supervisor or through the root's drop guards, where
//!   a second panic would abort the process).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `event` (a `tracing` macro call); a panic of the subscriber is not canstop's.
/// Returns whether it completed (`false`: the subscriber panicked).
#[inline]
pub(crate) fn log(event: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(event)).is_ok()
}

/// A span entered until this guard is dropped. A subscriber's panic in entering or leaving
/// it is not canstop's: the span is then not entered, or left as it is, and the work goes on.
pub(crate) struct InSpan<'a>(Option<tracing::span::Entered<'a>>);

impl<'a> InSpan<'a> {
    pub(crate) fn enter(span: &'a tracing::Span) -> Self {
        Self(catch_unwind(AssertUnwindSafe(|| span.enter())).ok())
    }
}

impl Drop for InSpan<'_> {
    fn drop(&mut self) {
        if let Some(entered) = self.0.take() {
            log(move || drop(entered));
        }
    }
}

/// The span `make` makes, or none when the subscriber panics making it.
pub(crate) fn span(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    catch_unwind(AssertUnwindSafe(make)).unwrap_or_else(|_| tracing::Span::none())
}

pin_project_lite::pin_project! {
    /// `future`, each poll in `span` ([`InSpan`]); dropped outside it. What a supervisor
    /// runs in, not `tracing`'s `Instrumented`, whose drop enters the span again and so
    /// turns a subscriber's panic there into a second one, which aborts the process.
    pub(crate) struct Spanned<F> {
        span: tracing::Span,
        #[pin]
        future: F,
    }
}

impl<F> Spanned<F> {
    pub(crate) fn new(span: tracing::Span, future: F) -> Self {
        Self { span, future }
    }
}

impl<F: std::future::Future> std::future::Future for Spanned<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        let _in = InSpan::enter(this.span);
        this.future.poll(cx)
    }
}
