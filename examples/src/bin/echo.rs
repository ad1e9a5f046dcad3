//! A TCP echo server: an accept-loop service, one session per connection.
//!
//! ```text
//! cargo run -p canstop-examples --bin echo -- 127.0.0.1:7000
//! ```
//!
//! On SIGTERM or Ctrl-C the acceptor stops accepting; each connection answers the lines it
//! has received, says `bye` and closes; the report counts every connection; the exit code is
//! 0. A second Ctrl-C skips the wait.

use canstop::{service, session, Shutdown};
use canstop_examples::{announce, init_tracing};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

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

/// Accepts connections until told to stop; each one becomes a tracked session.
#[service]
async fn echo_server(shutdown: Shutdown, listener: TcpListener) -> std::io::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()), // stop accepting
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                canstop::spawn(echo(stream)).map_err(std::io::Error::other)?;
            }
        }
    }
}

/// Echoes lines until the client leaves or the stop is requested. Lines already received
/// are always answered before the connection closes.
#[session]
async fn echo(stream: TcpStream, shutdown: Shutdown) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    loop {
        tokio::select! {
            biased; // a line that has arrived is answered before the stop is noticed
            line = lines.next_line() => match line? {
                Some(line) => {
                    writer.write_all(format!("{line}\n").as_bytes()).await?;
                }
                None => return Ok(()),
            },
            () = shutdown.requested() => {
                writer.write_all(b"bye\n").await?;
                writer.shutdown().await?;
                return Ok(());
            }
        }
    }
}
