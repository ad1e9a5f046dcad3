//! What the example programs in `src/bin` share: logging set-up.
//!
//! Every example logs through `tracing` to **stderr** (the canstop report included) and prints
//! the facts a client needs (the address it listens on) to **stdout**.

use std::io::IsTerminal;

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

/// Prints a line on stdout and flushes it, for the program's clients (and tests) to read.
pub fn announce(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
