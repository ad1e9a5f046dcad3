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
    label = "a body returns `()`, `Result<T, E>` where `E: Display`, or a value of a type canstop knows (numbers, `bool`, `char`, `String`, `&'static str`, `Duration`, `Vec<T>`, `Option<T>`)",
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
/// `fn main()` itself (so `anyhow::Result<()>` works), or [`ExitCode`]. An `Err` is kept in
/// the report as its `Debug` text, less a backtrace it ends with (`anyhow`'s `Stack
/// backtrace:`, with `RUST_BACKTRACE` set); canstop's own errors and a `Box<dyn Error>` by
/// their `Display`, sources included (a struct dump would hide the message).
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
        self.map(drop).map_err(|error| main_error(&error))
    }

    fn exit_code(&self) -> Option<ExitCode> {
        self.as_ref().ok().and_then(MainResult::exit_code)
    }
}

/// `async fn main() -> ExitCode`: a code other than `SUCCESS` stops the tree (the trigger
/// [`MainExited`](crate::Trigger::MainExited)) and is the process's exit code when the tree
/// stopped cleanly (canstop's own code wins otherwise), and is shown in the report.
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
        self.map_err(|error| main_error(&error))
    }
}

/// `main`'s error as the report keeps it: its `Debug` text (what Rust's own `main` prints),
/// without the backtrace an error type appends to it (`anyhow`'s, when `RUST_BACKTRACE` is
/// set): the report says what ended how, in a few lines; a backtrace is for a log.
///
/// Except where `Debug` is a struct dump and `Display` the message: canstop's own errors
/// (`?` on a spawn or start in `main`: "\"api\" needs \"database\", which is not running in
/// its scope: start \"database\" first, ..." rather than `UnknownDependency { .. }`) and a
/// `Box<dyn Error>` (an `io::Error`'s "No such file or directory (os error 2)" rather than
/// `Os { code: 2, .. }`), which are shown by `Display`, their sources after a `: `.
fn main_error<E: fmt::Debug + 'static>(error: &E) -> String {
    let mut text = match displayed(error) {
        Some(error) => with_sources(error),
        None => format!("{error:?}"),
    };
    if let Some(at) = text.find("\n\nStack backtrace:") {
        text.truncate(at);
    }
    text
}

/// `error` as an error to show by its `Display`: one of canstop's own, or a boxed one.
fn displayed<E: 'static>(error: &E) -> Option<&(dyn std::error::Error + 'static)> {
    use std::error::Error;
    let any: &dyn std::any::Any = error;
    any.downcast_ref::<Box<dyn Error>>()
        .map(|e| &**e as &(dyn Error + 'static))
        .or_else(|| {
            any.downcast_ref::<Box<dyn Error + Send + Sync>>()
                .map(|e| &**e as _)
        })
        .or_else(|| {
            any.downcast_ref::<Box<dyn Error + Send>>()
                .map(|e| &**e as _)
        })
        .or_else(|| any.downcast_ref::<crate::SpawnError>().map(|e| e as _))
        .or_else(|| any.downcast_ref::<crate::StartError>().map(|e| e as _))
        .or_else(|| any.downcast_ref::<crate::ReadyError>().map(|e| e as _))
        .or_else(|| any.downcast_ref::<crate::SessionError>().map(|e| e as _))
}

/// `error`'s message, then each of its sources' after a `: `, less a source its message ends
/// with already (`"...: {0}"`, as several of canstop's own errors are written).
fn with_sources(error: &dyn std::error::Error) -> String {
    std::iter::successors(error.source(), |cause| cause.source()).fold(
        error.to_string(),
        |mut text, cause| {
            let cause = cause.to_string();
            if !text.ends_with(&cause) {
                text.push_str(": ");
                text.push_str(&cause);
            }
            text
        },
    )
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

/// Runs `f`, turning a panic into `Err(message)`: with [`noting_panic`], the one place
/// canstop catches panics.
pub(crate) fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(payload.as_ref()))
}

/// Runs `f`; if it panics, tells `noted` the panic's message, then lets the panic go on (for a
/// panic canstop counts but does not own: a session body's drop, which its handle reports).
pub(crate) fn noting_panic(f: impl FnOnce(), noted: impl FnOnce(String)) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        noted(panic_message(payload.as_ref()));
        std::panic::resume_unwind(payload);
    }
}

/// Runs `f`, which must not unwind (a `catching` probe whose panic is expected: see
/// `has_timer`), with the panic hook silenced for this thread, so that the expected panic
/// prints nothing.
///
/// The process's hook is put back afterwards, the same hook, not a wrapper; meanwhile a
/// panic on another thread still reaches it. Probes run one at a time (two roots starting
/// at once do not capture each other's stand-in). On a panicking thread (a root started
/// from a `Drop` during unwinding), where the hook cannot be changed, `f` runs as it is.
/// What this cannot rule out: a hook that another thread sets during the probe (a few
/// microseconds, at a root's start) is replaced by the one put back.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    use std::cell::Cell;
    use std::panic::{set_hook, take_hook, PanicHookInfo};
    use std::sync::{Arc, Mutex};

    type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Send + Sync + 'static>;
    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    /// Puts the process's hook back, also if `f` unwinds.
    struct Restore(Option<Arc<Hook>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUIET.set(false);
            let Some(previous) = self.0.take() else {
                return;
            };
            if std::thread::panicking() {
                // The stand-in stays; it forwards every other thread's panic.
                return;
            }
            // The stand-in, and with it its share of `previous`.
            drop(take_hook());
            match Arc::try_unwrap(previous) {
                Ok(hook) => set_hook(hook),
                Err(shared) => set_hook(Box::new(move |info| shared(info))),
            }
        }
    }

    if std::thread::panicking() {
        return f();
    }
    let _one = crate::sync::locking::lock(&ONE_AT_A_TIME);
    let previous = Arc::new(take_hook());
    let forward = previous.clone();
    set_hook(Box::new(move |info| {
        if !QUIET.get() {
            forward(info);
        }
    }));
    let _restore = Restore(Some(previous));
    QUIET.set(true);
    f()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose `Debug` ends with a backtrace, as `anyhow::Error`'s does when
    /// `RUST_BACKTRACE` is set.
    struct WithBacktrace;

    impl fmt::Debug for WithBacktrace {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("config missing\n\nCaused by:\n    no file\n\nStack backtrace:\n   0: main")
        }
    }

    /// The report keeps `main`'s error and its causes, not the backtrace (a review found 55
    /// frames in the one-line trigger).
    #[test]
    fn mains_error_is_kept_without_its_backtrace() {
        assert_eq!(
            MainResult::into_result(Err::<(), _>(WithBacktrace)),
            Err("config missing\n\nCaused by:\n    no file".to_owned())
        );
        assert_eq!(
            MainResult::into_result(Err::<(), _>("plain")),
            Err("\"plain\"".to_owned())
        );
    }

    /// canstop's own errors and boxed errors read as their messages, with their sources, not
    /// as struct dumps (a review found `UnknownDependency { service: "api", .. }` in a report).
    #[test]
    fn mains_error_of_a_known_kind_is_its_message() {
        let unknown = crate::SpawnError::UnknownDependency {
            service: "api".into(),
            needs: "database".into(),
        };
        let message = unknown.to_string();
        assert_eq!(
            MainResult::into_result(Err::<(), _>(unknown.clone())),
            Err(message.clone())
        );
        let boxed: Box<dyn std::error::Error> = Box::new(unknown);
        assert_eq!(MainResult::into_result(Err::<(), _>(boxed)), Err(message));

        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("cannot read the config")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        // A source that the message ends with already is not repeated (a review found
        // "cannot build the tokio runtime: Too many open files: Too many open files").
        let runtime = crate::StartError::Runtime(std::io::Error::other("Too many open files"));
        assert_eq!(
            MainResult::into_result(Err::<(), _>(runtime)),
            Err("cannot build the tokio runtime: Too many open files".to_owned())
        );
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Outer(io));
        assert_eq!(
            MainResult::into_result(Err::<ExitCode, _>(boxed)),
            Err("cannot read the config: no such file".to_owned())
        );
    }
}
