//! What a body's return value means: the return types canstop accepts, and panics caught as
//! values so that a panicking body is reported with its message instead of being lost.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

/// The return types a service or session body may have: `()`; `Result<T, E>` where
/// `E: Display + Send` (so `std::io::Error`, `anyhow::Error` and
/// `Box<dyn Error + Send + Sync>` all work) and `T` is any value; or a plain value (numbers,
/// `bool`, `char`, `String`, `&'static str`, `Duration`, `Vec<T>`, `Option<T>`). A session's value goes to the
/// [`SessionHandle`](crate::SessionHandle) that awaits it (a service's is dropped).
///
/// An `Err` counts as a failure; its `Display` text is kept in the [`Report`](crate::Report).
///
/// For a type of your own, return `Ok::<_, Infallible>(value)`, or implement this trait (Rust
/// cannot tell "any `T`" from `Result` without specialization):
///
/// ```
/// struct Summary { rows: u64 }
///
/// impl canstop::BodyResult for Summary {
///     fn failure(&self) -> Option<String> {
///         None // a summary is always a success
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a result a service or session body can return",
    label = "a body returns `()`, a plain value, or `Result<T, E>` where `E: Display`",
    note = "canstop counts `Err` as a failure and keeps its message; a session's value goes to its `SessionHandle`: for a type of your own, return `Ok::<_, std::convert::Infallible>(value)` or implement `canstop::BodyResult` for it"
)]
pub trait BodyResult: Send + 'static {
    /// `None` for success, or the error's message (without consuming the value).
    fn failure(&self) -> Option<String>;

    /// Whether the failure is an [`Escalate`](crate::Escalate), which skips a service's
    /// restarts (see its docs for the error types where it is recognised).
    #[doc(hidden)]
    fn escalates(&self) -> bool {
        false
    }

    /// `Ok` for success, or the error's message.
    fn into_result(self) -> Result<(), String>
    where
        Self: Sized,
    {
        self.failure().map_or(Ok(()), Err)
    }
}

impl BodyResult for () {
    #[inline]
    fn failure(&self) -> Option<String> {
        None
    }
}

/// Plain values a session hands back through its handle: always a success.
macro_rules! plain_values {
    ($($ty:ty),* $(,)?) => {$(
        impl BodyResult for $ty {
            #[inline]
            fn failure(&self) -> Option<String> {
                None
            }
        }
    )*};
}

plain_values!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    std::time::Duration,
);

/// A collection or an optional value: a success (an empty one too).
impl<T: Send + 'static> BodyResult for Vec<T> {
    #[inline]
    fn failure(&self) -> Option<String> {
        None
    }
}

/// `None` is a value like any other, not a failure (return `Result` for that).
impl<T: Send + 'static> BodyResult for Option<T> {
    #[inline]
    fn failure(&self) -> Option<String> {
        None
    }
}

impl<T: Send + 'static, E: fmt::Display + Send + 'static> BodyResult for Result<T, E> {
    #[inline]
    fn failure(&self) -> Option<String> {
        // `{:#}` shows the whole chain for anyhow-style errors and is plain Display elsewhere.
        self.as_ref().err().map(|error| format!("{error:#}"))
    }

    #[inline]
    fn escalates(&self) -> bool {
        self.as_ref()
            .err()
            .is_some_and(crate::service::escalate::escalates)
    }
}

/// The return types `main`'s body may have: `()`, `Result<(), E>` where `E: Debug`, as for
/// `fn main()` itself (so `anyhow::Result<()>` works), or [`ExitCode`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a return type canstop accepts for `main` (or a test)",
    label = "`main` returns `()`, `Result<(), E>` where `E: Debug`, `ExitCode`, or `Result<ExitCode, E>`",
    note = "an `Err` (or a panic) is kept in the report and makes the exit code 1; the exit code is otherwise canstop's (see `canstop::exit_code`)"
)]
pub trait MainResult: 'static {
    /// `Ok` for success, or the error's `Debug` text.
    fn into_result(self) -> Result<(), String>;

    /// The exit code the body asks for (an [`ExitCode`] other than success): the process
    /// exits with it when everything else stopped cleanly.
    #[doc(hidden)]
    fn exit_code(&self) -> Option<ExitCode> {
        None
    }
}

/// `async fn main() -> Result<ExitCode, E>`: an `Err` as for `Result<(), E>`, an `Ok` code as
/// for `ExitCode`.
impl<E: fmt::Debug + 'static> MainResult for Result<ExitCode, E> {
    fn into_result(self) -> Result<(), String> {
        self.map(drop).map_err(|error| format!("{error:?}"))
    }

    fn exit_code(&self) -> Option<ExitCode> {
        self.as_ref().ok().and_then(MainResult::exit_code)
    }
}

/// `async fn main() -> ExitCode`: a code other than `SUCCESS` is the process's exit code when
/// the tree stopped cleanly (canstop's own code wins otherwise), and is shown in the report.
impl MainResult for ExitCode {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }

    fn exit_code(&self) -> Option<ExitCode> {
        (*self != ExitCode::SUCCESS).then_some(*self)
    }
}

impl MainResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Debug + 'static> MainResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|error| format!("{error:?}"))
    }
}

/// How a body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    Ok,
    Failed(String),
    /// Failed with an [`Escalate`](crate::Escalate): no restart.
    Escalated(String),
    Panicked(String),
}

impl Ended {
    /// How a body that returned `output` ended.
    pub(crate) fn of<R: BodyResult>(output: &R) -> Self {
        match output.failure() {
            None => Self::Ok,
            Some(error) if output.escalates() => Self::Escalated(error),
            Some(error) => Self::Failed(error),
        }
    }

    /// Whether it is an error or a panic.
    pub(crate) fn is_failure(&self) -> bool {
        !matches!(self, Self::Ok)
    }
}

/// Runs `f`, turning a panic into `Err(message)`: the one place canstop catches panics.
pub(crate) fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(payload.as_ref()))
}

/// Runs `f` with the panic hook silenced on this thread: for a probe whose panic is expected
/// and caught (see `has_timer`), so that it prints nothing. The process's hook is put back
/// afterwards (wrapped: it behaves as before), and a panic on another thread meanwhile still
/// reaches it.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    use std::cell::Cell;
    use std::sync::Arc;

    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }
    struct Restore(Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync>);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUIET.set(false);
            // `set_hook` panics on a panicking thread; `f` does not unwind through here.
            if !std::thread::panicking() {
                let previous = self.0.clone();
                std::panic::set_hook(Box::new(move |info| previous(info)));
            }
        }
    }
    let previous: Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> =
        Arc::from(std::panic::take_hook());
    let restore = Restore(previous.clone());
    std::panic::set_hook(Box::new(move |info| {
        if !QUIET.get() {
            previous(info);
        }
    }));
    QUIET.set(true);
    let result = f();
    drop(restore);
    result
}

/// The message of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}
