//! Binding with a listen backlog, and an accept that survives accept errors.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream, ToSocketAddrs};

/// After an accept error that is not one connection's own (`EMFILE`, `ENFILE`, `ENOMEM`, ...),
/// how long the accept loop pauses before it accepts again (as `axum::serve` does).
pub const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// The listen backlog [`bind`] asks for: how many connections the kernel completes and queues
/// before the accept loop takes them. Linux caps it at `net.core.somaxconn` (4096 by default
/// since 5.4).
pub const DEFAULT_BACKLOG: u32 = 1024;

/// Binds a TCP listener on `addr` (the first address it resolves to that binds) with a listen
/// backlog of `backlog` connections, and `SO_REUSEADDR` on Unix as tokio sets it.
///
/// tokio's `TcpListener::bind` (through mio) listens with a backlog of **128**, as the
/// standard library does: a burst of more connects than that, before the accept loop takes
/// them (at start-up, after a pause, after a load balancer's failover), has its excess SYNs
/// dropped, and those clients wait a second or more for the retransmission. Bind with a larger
/// backlog, this function or by hand with tokio's `TcpSocket`:
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let socket = tokio::net::TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.bind("0.0.0.0:8080".parse().unwrap())?;
/// let listener = socket.listen(1024)?;
/// # let _ = listener; Ok(()) }
/// ```
///
/// # Errors
///
/// The error of the last address tried, of the same kind, its message naming the address
/// (`cannot listen on 127.0.0.1:3000: Address already in use (os error 98)`); or
/// `InvalidInput` when `addr` resolves to none.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let listener = canstop::http::bind("127.0.0.1:0", canstop::http::DEFAULT_BACKLOG).await?;
/// assert!(listener.local_addr()?.port() > 0);
/// # Ok(()) }
/// ```
pub async fn bind(addr: impl ToSocketAddrs, backlog: u32) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        match bind_one(addr, backlog) {
            Ok(listener) => return Ok(listener),
            // Named: a program may bind several (the app's, an admin port), and the error
            // reaches the report as `main`'s.
            Err(error) => {
                last = Some(io::Error::new(
                    error.kind(),
                    format!("cannot listen on {addr}: {error}"),
                ));
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        )
    }))
}

fn bind_one(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Accepts the next connection. An error that concerns only the connection being accepted
/// (refused, aborted, reset before it was accepted) is skipped; any other (`EMFILE`,
/// `ENFILE`, `ENOMEM`: out of descriptors or memory) is logged and retried after
/// [`ACCEPT_RETRY`], since it passes once connections close. Never fails.
///
/// The connection gets `TCP_NODELAY`, as tonic's server and Go's `net/http` set it: with
/// Nagle's algorithm, a response written in several small frames (HTTP/2's headers, data and
/// trailers; a gRPC reply) waits for the client's delayed ACK, up to 40 ms on Linux.
///
/// # Cancel safety
///
/// Cancel-safe: select it against the stop, which then also ends the pause.
pub(crate) async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    // The connection is already gone: its first read or write says so.
                    tracing::debug!(%error, %peer, "accept: cannot set TCP_NODELAY");
                }
                return (stream, peer);
            }
            Err(error) if is_connection_error(&error) => {
                tracing::debug!(%error, "accept: connection gone before it was accepted");
            }
            Err(error) => {
                tracing::error!(%error, retry_in = ?ACCEPT_RETRY, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// An accept error that concerns only the connection being accepted.
fn is_connection_error(error: &io::Error) -> bool {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port in use: the error keeps its kind and names the address (a review found the
    /// report's `main: FAILED: Os { code: 98, .. }` naming no address).
    #[tokio::test]
    async fn a_port_in_use_is_named_in_the_error() {
        let taken = bind("127.0.0.1:0", DEFAULT_BACKLOG).await.unwrap();
        let addr = taken.local_addr().unwrap();
        let error = bind(addr, DEFAULT_BACKLOG).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("cannot listen on {addr}: ")),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_accepted_connection_has_tcp_nodelay() {
        let listener = bind("127.0.0.1:0", DEFAULT_BACKLOG).await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let ((stream, _), client) = tokio::join!(accept(&listener), client);
        let _client = client.unwrap();
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn only_one_connections_errors_are_skipped_silently() {
        assert!(is_connection_error(&io::ErrorKind::ConnectionReset.into()));
        assert!(is_connection_error(
            &io::ErrorKind::ConnectionAborted.into()
        ));
        // EMFILE: "too many open files", not one connection's.
        assert!(!is_connection_error(&io::Error::from_raw_os_error(24)));
        assert!(!is_connection_error(&io::ErrorKind::OutOfMemory.into()));
    }
}
