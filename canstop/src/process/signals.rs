//! The signal listener: the first SIGINT/SIGTERM triggers the shutdown, a second one forces
//! the exit.
//!
//! On Unix it is a plain OS thread reading signals through `signal-hook`, not a tokio task:
//! signals are then seen even when every runtime thread is blocked in synchronous code, which
//! is exactly when a second Ctrl-C matters. (Tokio never uninstalls a signal handler once
//! installed, so the second-signal path is canstop's own either way.)
//!
//! The listener acts on a signal before anything is logged about it, and logs on another
//! thread: a `tracing` subscriber that blocks (a stalled log pipeline, a full stderr pipe) or
//! panics (a broken stderr pipe) must not keep the watchdog from being armed or the next
//! signal from being read.
//!
//! Once the last root listening for signals is done, SIGINT and SIGTERM have their default
//! effect again: they end the process.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use crate::lifecycle::shared::Tree;
use crate::lifecycle::trigger::{Signal, Trigger};

/// What the listener did with a signal, to be logged afterwards.
#[derive(Debug)]
enum Acted {
    /// The first signal: the shutdown was `triggered`, unless it was under way already.
    Triggered {
        signal: Signal,
        triggered: bool,
        timeout: Duration,
    },
    /// A later signal: the exit was forced (`first`: by this one).
    Forced { signal: Signal, first: bool },
}

impl Acted {
    fn log(&self) {
        match *self {
            Self::Triggered {
                signal,
                triggered,
                timeout,
            } => {
                tracing::info!(%signal, "signal received");
                let trigger = Trigger::Signal(signal);
                if triggered {
                    tracing::info!(%trigger, ?timeout, "shutdown triggered");
                } else {
                    tracing::debug!(%trigger, "shutdown already under way; trigger ignored");
                }
            }
            Self::Forced { signal, first } => {
                tracing::info!(%signal, "signal received");
                if first {
                    tracing::error!(%signal, "second signal: skipping the drain and exiting now");
                }
            }
        }
    }
}

/// What the listener does with the n-th signal. The watchdog (of a process-owning root) is
/// armed first; the tree is then triggered or aborted with logging silenced on this thread.
fn on_signal(tree: &Tree, _count: usize, signal: Signal) -> Acted {
    // Counted by the tree, with the signals delivered by `canstop::deliver_signal`.
    if tree.count_signal() == 1 {
        // The trigger arms the watchdog (its `Stopping` event) before it logs anything.
        let triggered = silently(|| tree.trigger(Trigger::Signal(signal))).unwrap_or(true);
        Acted::Triggered {
            signal,
            triggered,
            timeout: tree.timeout,
        }
    } else {
        let first = tree.forced_by().is_none();
        let _ = silently(|| tree.force(signal));
        Acted::Forced { signal, first }
    }
}

/// Runs `act` with no `tracing` subscriber on this thread, so that no log call inside it can
/// block or panic; `None` if it panicked anyway.
fn silently<T>(act: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(|| {
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), act)
    }))
    .ok()
}

/// Logs what the listener did, on a thread of its own (started with the first signal): if
/// the subscriber blocks, only this thread waits; if it panics, the panic is caught.
#[derive(Debug, Default)]
struct Log(Option<mpsc::Sender<Acted>>);

impl Log {
    fn log(&mut self, acted: Acted) {
        if self.0.is_none() {
            let (sender, receiver) = mpsc::channel::<Acted>();
            let spawned = std::thread::Builder::new()
                .name("canstop-signal-log".into())
                .spawn(move || {
                    for acted in receiver {
                        let _ = catch_unwind(AssertUnwindSafe(|| acted.log()));
                    }
                });
            if spawned.is_ok() {
                self.0 = Some(sender);
            }
        }
        if let Some(sender) = &self.0 {
            let _ = sender.send(acted);
        }
    }
}

#[cfg(unix)]
mod imp {
    use super::*;
    use crate::sync::locking::lock;
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::{Handle, Signals};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    /// Whether SIGINT and SIGTERM have their default effect (ending the process): true once
    /// the last listening root is done. signal-hook cannot put the default disposition back
    /// (its handler stays installed, and with no action left it would ignore the signal for
    /// the rest of the process), so an action registered once per process emulates it.
    static DEFAULT_EFFECT: AtomicBool = AtomicBool::new(false);

    /// The roots listening now, and whether the default-effect actions are registered.
    static LISTENING: Mutex<(usize, bool)> = Mutex::new((0, false));

    /// The running listener; stops listening when dropped.
    #[derive(Debug)]
    pub(crate) struct Listener(Handle);

    impl Drop for Listener {
        fn drop(&mut self) {
            // The default effect first: no moment in which the signals are ignored.
            done_listening();
            self.0.close();
        }
    }

    fn done_listening() {
        let mut listening = lock(&LISTENING);
        listening.0 -= 1;
        if listening.0 == 0 {
            DEFAULT_EFFECT.store(true, Ordering::SeqCst);
        }
    }

    /// Installs the handlers (before returning, so no signal is missed) and starts listening.
    pub(crate) fn listen(tree: Arc<Tree>) -> io::Result<Listener> {
        {
            let mut listening = lock(&LISTENING);
            if !listening.1 {
                // Registered before the listener's own actions, so it runs first: a no-op
                // while a root listens.
                for signal in [SIGINT, SIGTERM] {
                    signal_hook::flag::register_conditional_default(signal, &DEFAULT_EFFECT)?;
                }
                listening.1 = true;
            }
            listening.0 += 1;
            DEFAULT_EFFECT.store(false, Ordering::SeqCst);
        }
        let started = Signals::new([SIGINT, SIGTERM]).and_then(|mut signals| {
            let handle = signals.handle();
            std::thread::Builder::new()
                .name("canstop-signals".into())
                .spawn(move || {
                    let mut log = Log::default();
                    for (count, number) in signals.forever().enumerate() {
                        let signal = if number == SIGINT {
                            Signal::Interrupt
                        } else {
                            Signal::Terminate
                        };
                        log.log(on_signal(&tree, count + 1, signal));
                    }
                })?;
            Ok(handle)
        });
        match started {
            Ok(handle) => Ok(Listener(handle)),
            Err(error) => {
                done_listening();
                Err(error)
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::*;
    use tokio::task::JoinHandle;

    /// The running listener; stops listening when dropped.
    #[derive(Debug)]
    pub(crate) struct Listener(JoinHandle<()>);

    impl Drop for Listener {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    pub(crate) fn listen(tree: Arc<Tree>) -> io::Result<Listener> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        let (mut c, mut brk, mut close) = (ctrl_c()?, ctrl_break()?, ctrl_close()?);
        let runtime = tree.runtime.clone();
        Ok(Listener(runtime.spawn(async move {
            let mut log = Log::default();
            for count in 1.. {
                tokio::select! {
                    _ = c.recv() => {}
                    _ = brk.recv() => {}
                    _ = close.recv() => {}
                }
                log.log(on_signal(&tree, count, Signal::CtrlC));
            }
        })))
    }
}

pub(crate) use imp::listen;
