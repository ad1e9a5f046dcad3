//! The echo server's accept loop written with tokio's habit: the spawn of a session (which
//! is not a future) is one error, the body check's, not also E0277 at the same place.
use canstop::{service, session, Shutdown};
use tokio::net::{TcpListener, TcpStream};

#[session]
async fn echo(stream: TcpStream) {
    drop(stream);
}

#[service]
async fn echo_server(shutdown: Shutdown, listener: TcpListener) -> std::io::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()),
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                tokio::spawn(echo(stream));
            }
        }
    }
}

fn main() {
    let _ = echo_server;
}
