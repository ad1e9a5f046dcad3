//! The signal listener: the first SIGINT/SIGTERM triggers the shutdown, a second one forces
//! the exit. Tokio never uninstalls a signal handler once installed, so the second-signal
//! path is canstop's own: the listener keeps listening after the first.

use std::io;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::node::RootShared;
use crate::trigger::{Signal, Trigger};

/// The running listener; stops listening when dropped.
#[derive(Debug)]
pub(crate) struct Listener(JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Installs the handlers (before returning, so no signal is missed) and starts listening.
pub(crate) fn listen(root: Arc<RootShared>) -> io::Result<Listener> {
    let mut signals = Signals::install()?;
    Ok(Listener(tokio::spawn(async move {
        let first = signals.next().await;
        tracing::info!(signal = %first, "signal received");
        root.trigger(Trigger::Signal(first));
        let second = signals.next().await;
        root.force(second);
    })))
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}

#[cfg(not(unix))]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
}

#[cfg(not(unix))]
impl Signals {
    fn install() -> io::Result<Self> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        Ok(Self {
            ctrl_c: ctrl_c()?,
            ctrl_break: ctrl_break()?,
            close: ctrl_close()?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.ctrl_c.recv() => Signal::CtrlC,
            _ = self.ctrl_break.recv() => Signal::CtrlC,
            _ = self.close.recv() => Signal::CtrlC,
        }
    }
}
