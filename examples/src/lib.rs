//! What the example programs in `src/bin` share: logging set-up, and an accept that
//! survives accept errors.
//!
//! Every example logs through `tracing` to **stderr** (the canstop report included) and prints
//! the facts a client needs (the address it listens on) to **stdout**.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

pub mod grpc;
pub mod http;

/// Logs to stderr at `info` (or what `RUST_LOG` says), with colours only on a terminal.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// A number from the environment variable `name`, or `default` when it is unset or empty (as
/// orchestrator templates render a missing value); a malformed one is an error that names it.
pub fn env_number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(default),
        Ok(value) => value.parse().map_err(|e| format!("{name}={value:?}: {e}")),
        Err(_) => Ok(default),
    }
}

/// Prints a line on stdout and flushes it, for the program's clients (and tests) to read.
pub fn announce(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// After an accept error that is not one connection's own, how long the accept loop pauses.
pub const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// Accepts the next connection, as `axum::serve` does: an error that concerns only the
/// connection being accepted (refused, aborted, reset before it was accepted) is skipped; any
/// other (`EMFILE`, `ENFILE`, `ENOMEM`: out of descriptors or memory) is logged and retried
/// after [`ACCEPT_RETRY`], since it passes once connections close. An accept loop never fails
/// the server over one.
///
/// Cancel-safe: select it against the stop, which then also ends the pause.
pub async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                tracing::error!(%error, retry_in = ?ACCEPT_RETRY, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// An accept error that concerns only the connection being accepted.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
