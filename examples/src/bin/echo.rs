//! A TCP echo server: an accept-loop service, one session per connection.
//!
//! ```text
//! cargo run -p canstop-examples --bin echo -- 127.0.0.1:7000
//! ```
//!
//! On SIGTERM or Ctrl-C the acceptor stops accepting; each connection answers the lines it
//! has received (for at most a second, however chatty the client), says `bye` and closes; the report counts every connection; the exit code is
//! 0. A second Ctrl-C skips the wait.

use std::time::Duration;

use canstop::{service, session, Shutdown};
use canstop_examples::{accept, announce, init_tracing};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

#[canstop::main(timeout = "10s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    announce(format_args!("listening on {}", listener.local_addr()?));
    canstop::start(echo_server(listener))?;
    Ok(()) // the program now lives as long as its services
}

/// Accepts connections until told to stop; each one becomes a tracked session. An accept
/// error (out of file descriptors) is logged and retried, not fatal: see [`accept`].
#[service]
async fn echo_server(shutdown: Shutdown, listener: TcpListener) -> std::io::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()), // stop accepting
            (stream, _) = accept(&listener) => {
                canstop::spawn(echo(stream)).map_err(std::io::Error::other)?;
            }
        }
    }
}

/// After the stop, how long a connection keeps answering before it says goodbye: lines the
/// client sent just before the stop may still be on their way through the network stack.
const LINGER: Duration = Duration::from_millis(100);

/// The longest the linger lasts in all, for a client that never goes quiet.
const LINGER_MAX: Duration = Duration::from_secs(1);

/// Echoes lines until the client leaves or the stop is requested. After the stop it answers
/// what is still arriving until the client has been quiet for [`LINGER`], for at most
/// [`LINGER_MAX`] in all, then says `bye` and closes.
#[session]
async fn echo(stream: TcpStream, shutdown: Shutdown) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    loop {
        let line = tokio::select! {
            biased;
            line = lines.next_line() => line?,
            () = shutdown.requested() => break,
        };
        match line {
            Some(line) => writer.write_all(format!("{line}\n").as_bytes()).await?,
            None => return Ok(()),
        }
    }
    let end = Instant::now() + LINGER_MAX;
    loop {
        let quiet = (Instant::now() + LINGER).min(end);
        let Ok(line) = tokio::time::timeout_at(quiet, lines.next_line()).await else {
            break;
        };
        match line? {
            Some(line) => writer.write_all(format!("{line}\n").as_bytes()).await?,
            None => return Ok(()),
        }
    }
    writer.write_all(b"bye\n").await?;
    writer.shutdown().await
}
