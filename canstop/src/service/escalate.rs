//! [`Escalate`]: an error that skips the restart policy.

use std::any::Any;
use std::error::Error;
use std::fmt;

/// An error a service body returns to fail for good at once, skipping its own restarts: the
/// failure escalates as one beyond the intensity limit does, to the nearest ancestor that
/// restarts (whose instance fails with it, and whose own policy applies), or, when none does,
/// as the shutdown's trigger. It is not a "stop the whole tree" error: an ancestor that
/// restarts absorbs it like any escalated failure.
///
/// Recognised when the body's error type is `Escalate` itself, or a boxed error
/// (`Box<dyn Error + Send + Sync>` or `Box<dyn Error + Send>`: a body's error is `Send`) that is an
/// `Escalate` or has one in its [`source`](Error::source) chain. An `anyhow::Error` holding
/// one is not seen (canstop does not depend on anyhow): return `Box<dyn Error + Send + Sync>`
/// from a service that escalates, or map the error to `Escalate` at the return.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use std::error::Error;
/// use canstop::{Escalate, Restart, Root, Service, Trigger};
///
/// let report = Root::new()
///     .signals(false)
///     .run(async {
///         let service = Service::restartable("migrator", |_| async {
///             Err::<(), Box<dyn Error + Send + Sync>>(Escalate::new("schema too new").into())
///         })
///         .restart(Restart::OnFailure);
///         canstop::start(service)?;
///         Ok::<(), canstop::SpawnError>(())
///     })
///     .await
///     .unwrap();
/// let migrator = report.service("migrator").unwrap();
/// assert_eq!(migrator.restarts, 0);
/// assert!(matches!(report.trigger, Trigger::ServiceFailed { .. }));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalate {
    message: String,
}

impl Escalate {
    /// An escalating error with `error`'s message.
    pub fn new(error: impl fmt::Display) -> Self {
        Self {
            message: format!("{error:#}"),
        }
    }

    /// Its message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Escalate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Escalate {}

/// Whether `error` is an [`Escalate`], directly or boxed (see its docs).
pub(crate) fn escalates<E: 'static>(error: &E) -> bool {
    let any: &dyn Any = error;
    if any.is::<Escalate>() {
        return true;
    }
    let boxed: Option<&(dyn Error + 'static)> =
        if let Some(boxed) = any.downcast_ref::<Box<dyn Error + Send + Sync>>() {
            Some(boxed.as_ref())
        } else if let Some(boxed) = any.downcast_ref::<Box<dyn Error + Send>>() {
            Some(boxed.as_ref())
        } else {
            None
        };
    std::iter::successors(boxed, |&error| error.source()).any(|error| error.is::<Escalate>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Escalate);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "wrapped: {}", self.0)
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn recognised_directly_boxed_and_in_a_chain() {
        assert!(escalates(&Escalate::new("x")));
        let boxed: Box<dyn Error + Send + Sync> = Escalate::new("x").into();
        assert!(escalates(&boxed));
        let chained: Box<dyn Error + Send + Sync> = Box::new(Wrapper(Escalate::new("x")));
        assert!(escalates(&chained));
        let plain: Box<dyn Error + Send + Sync> = "plain".into();
        assert!(!escalates(&plain));
        assert!(!escalates(&"a str"));
        assert!(!escalates(&std::io::Error::other("io")));
    }
}

/// Where a child's failure that escalated reaches a restarting ancestor: one slot (the first
/// failure of an instance wins) and a wake-up for its supervisor.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    slot: std::sync::Mutex<Option<String>>,
    notify: tokio::sync::Notify,
}

impl Inbox {
    /// Delivers `failure` (the escalating child's trigger text) to the current instance.
    pub(crate) fn deliver(&self, failure: String) {
        let mut slot = crate::sync::locking::lock(&self.slot);
        if slot.is_none() {
            *slot = Some(failure);
            self.notify.notify_one();
        }
    }

    /// Completes with the first failure delivered to this instance.
    pub(crate) async fn receive(&self) -> String {
        loop {
            if let Some(failure) = crate::sync::locking::lock(&self.slot).take() {
                return failure;
            }
            self.notify.notified().await;
        }
    }

    /// Forgets a failure that arrived after the instance had ended (it is restarted already).
    pub(crate) fn clear(&self) {
        crate::sync::locking::lock(&self.slot).take();
    }
}
