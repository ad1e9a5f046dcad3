//! The signal listener: the first SIGINT/SIGTERM triggers the shutdown, a second one forces
//! the exit.
//!
//! On Unix it is a plain OS thread reading signals through `signal-hook`, not a tokio task:
//! signals are then seen even when every runtime thread is blocked in synchronous code, which
//! is exactly when a second Ctrl-C matters. (Tokio never uninstalls a signal handler once
//! installed, so the second-signal path is canstop's own either way.)

use std::io;
use std::sync::Arc;

use crate::shared::RootShared;
use crate::trigger::{Signal, Trigger};

/// What the listener does with the n-th signal.
fn on_signal(root: &RootShared, count: usize, signal: Signal) {
    tracing::info!(%signal, "signal received");
    if count == 1 {
        root.trigger(Trigger::Signal(signal));
    } else {
        root.force(signal);
    }
}

#[cfg(unix)]
mod imp {
    use super::*;
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::{Handle, Signals};

    /// The running listener; stops listening when dropped.
    #[derive(Debug)]
    pub(crate) struct Listener(Handle);

    impl Drop for Listener {
        fn drop(&mut self) {
            self.0.close();
        }
    }

    /// Installs the handlers (before returning, so no signal is missed) and starts listening.
    pub(crate) fn listen(root: Arc<RootShared>) -> io::Result<Listener> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        std::thread::Builder::new()
            .name("canstop-signals".into())
            .spawn(move || {
                for (count, number) in signals.forever().enumerate() {
                    let signal = if number == SIGINT {
                        Signal::Interrupt
                    } else {
                        Signal::Terminate
                    };
                    on_signal(&root, count + 1, signal);
                }
            })?;
        Ok(Listener(handle))
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

    pub(crate) fn listen(root: Arc<RootShared>) -> io::Result<Listener> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        let (mut c, mut brk, mut close) = (ctrl_c()?, ctrl_break()?, ctrl_close()?);
        let runtime = root.runtime.clone();
        Ok(Listener(runtime.spawn(async move {
            for count in 1.. {
                tokio::select! {
                    _ = c.recv() => {}
                    _ = brk.recv() => {}
                    _ = close.recv() => {}
                }
                on_signal(&root, count, Signal::CtrlC);
            }
        })))
    }
}

pub(crate) use imp::listen;
