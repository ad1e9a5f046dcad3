//! A TCP echo server: an accept-loop service, one session per connection.
//!
//! ```text
//! cargo run -p canstop-examples --bin echo -- 127.0.0.1:7000
//! ```
//!
//! On SIGTERM or Ctrl-C the acceptor stops accepting; each connection finishes the line it is
//! echoing, says goodbye and closes; the report lists every connection; the exit code is 0.
//! A second Ctrl-C skips the wait.

use std::process::ExitCode;

use canstop::{Root, Service, Session, Shutdown};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    Root::new().main(async move {
        let listener = TcpListener::bind(&addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "echo server listening");
        canstop::start(echo_server(listener))?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

/// Accepts connections until told to stop; each one becomes a tracked session.
fn echo_server(listener: TcpListener) -> Service {
    Service::new("echo_server", move |shutdown: Shutdown| async move {
        loop {
            tokio::select! {
                () = shutdown.requested() => return Ok::<(), std::io::Error>(()),
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    canstop::spawn(echo(stream)).map_err(std::io::Error::other)?;
                }
            }
        }
    })
}

/// Echoes lines until the client leaves or the stop is requested; a line in flight is
/// always answered before the connection closes.
fn echo(stream: TcpStream) -> Session<impl canstop::SessionBody> {
    Session::new("echo", move |shutdown: Shutdown| async move {
        let (reader, mut writer) = stream.into_split();
        let mut lines = BufReader::new(reader).lines();
        loop {
            tokio::select! {
                biased;
                line = lines.next_line() => match line? {
                    Some(line) => {
                        writer.write_all(line.as_bytes()).await?;
                        writer.write_all(b"\n").await?;
                    }
                    None => return Ok(()),
                },
                () = shutdown.requested() => {
                    writer.write_all(b"bye\n").await?;
                    writer.shutdown().await?;
                    return Ok::<(), std::io::Error>(());
                }
            }
        }
    })
}
