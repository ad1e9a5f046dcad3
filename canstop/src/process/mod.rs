//! What a process-owning root does at the edge of the process: it reads signals on a thread
//! of its own, and a watchdog thread ends the process on time whatever the runtime does.
//!
//! - [`signals`]: SIGINT/SIGTERM (Ctrl-C on Windows): the first triggers the shutdown, a
//!   second forces the exit; the default dispositions come back once no root listens.
//! - [`watchdog`]: ends the process at the deadline plus a fuse, or soon after a second
//!   signal, with what it can report, whatever stderr or the `tracing` subscriber does.

pub(crate) mod signals;
pub(crate) mod watchdog;
