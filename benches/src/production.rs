//! Production mode (`CANSTOP_BENCH_PRODUCTION=1`): every measurement runs in a process set up
//! the way a production service runs, to check that the hot-path figures hold with every
//! feature on (issue 15). The runner's children inherit the variable, so one run measures
//! every contender in that mode:
//!
//! - a `tracing-subscriber` fmt subscriber at `INFO`, formatting into `io::sink` (the events
//!   are formatted; only the terminal's cost is left out), for every contender;
//! - a `metrics` recorder (`metrics-util`'s debugging recorder: a registry of atomic handles,
//!   as an exporter keeps them), for every contender;
//! - and for canstop's roots ([`configure`]): the health endpoints on a loopback port and a
//!   metrics export every second.
//!
//! canstop's `systemd` feature is compiled in too, and does nothing here: only a root that
//! owns the process (`Root::main`, `block_on`, `#[canstop::main]`) notifies systemd, and the
//! harness's roots run inside its own runtime (`Root::run`). What it sends is one datagram per
//! lifecycle event (ready, stopping, the watchdog's keep-alive), none per session.

use std::sync::OnceLock;
use std::time::Duration;

use canstop::Root;

/// The variable that turns production mode on (`1`).
pub(crate) const ENV: &str = "CANSTOP_BENCH_PRODUCTION";

/// Whether this process measures in production mode.
pub(crate) fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var(ENV).is_ok_and(|value| value == "1"))
}

/// Sets this process up as [the module](self) says, if production mode is on. Call once, at
/// the start of a child, before its runtime is built.
pub(crate) fn install() -> Result<(), String> {
    if !enabled() {
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .try_init()
        .map_err(|error| format!("production mode: a subscriber: {error}"))?;
    metrics_util::debugging::DebuggingRecorder::new()
        .install()
        .map_err(|error| format!("production mode: a metrics recorder: {error}"))?;
    Ok(())
}

/// `root` as a production service configures it, in production mode; as it is otherwise.
pub(crate) fn configure(root: Root) -> Root {
    if !enabled() {
        return root;
    }
    root.health_addr(([127, 0, 0, 1], 0))
        .metrics_every(Duration::from_secs(1))
}
