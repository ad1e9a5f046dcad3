//! The accept loop, as a service ([`serve_service`], [`serve`]) or inside one
//! ([`serve_service_until`], [`serve_until`]).

use std::io;

use tokio::net::TcpListener;

use super::accept::accept;
use super::connection;
use super::{HttpBody, HttpService};
use crate::{Ready, Service, Shutdown};

/// The name of the service [`serve`] and [`serve_service`] return.
pub const SERVICE_NAME: &str = "http";

/// A service named [`"http"`](SERVICE_NAME) that serves `service` on `listener`: every
/// connection a tracked session (see [the module docs](super) for what happens at the stop).
/// It signals its readiness: it is ready once its body runs, the listener being bound already.
/// Start it with [`canstop::start`](crate::start).
///
/// # Errors
///
/// None of its own: an accept error is logged and retried, never fatal. The service fails
/// only when the tree refuses a connection's session, which happens past its drain.
pub fn serve_service<S, B>(listener: TcpListener, service: S) -> Service
where
    S: HttpService<B>,
    B: HttpBody,
{
    Service::new(SERVICE_NAME, move |shutdown: Shutdown| {
        serve_service_until(listener, service, shutdown)
    })
    .signals_ready()
}

/// Serves `service` on `listener` until `shutdown` is [requested](Shutdown::requested), each
/// connection a tracked session of `shutdown`'s scope: the accept loop of [`serve_service`],
/// to run inside a service body. It sets the service ready (see [`Ready::of`]) once it runs,
/// then accepts until the stop, and drops the listener then (new connections are refused while
/// the ones open drain). The connections are not waited for here: the scope's drain does that.
///
/// # Errors
///
/// `Err` only when the scope refuses a connection's session (it is past its drain): accept
/// errors are logged and retried.
///
/// # Cancel safety
///
/// Dropping it drops the listener; the connections already accepted go on, tracked.
pub async fn serve_service_until<S, B>(
    listener: TcpListener,
    service: S,
    shutdown: Shutdown,
) -> io::Result<()>
where
    S: HttpService<B>,
    B: HttpBody,
{
    let scope = shutdown.scope();
    Ready::of(&shutdown).set();
    if let Ok(addr) = listener.local_addr() {
        tracing::debug!(%addr, "http: listening");
    }
    loop {
        tokio::select! {
            biased;
            () = shutdown.requested() => break,
            (stream, peer) = accept(&listener) => {
                scope
                    .spawn(connection::session(stream, peer, service.clone()))
                    .map_err(io::Error::other)?;
            }
        }
    }
    drop(listener);
    tracing::info!("http server stopped accepting");
    Ok(())
}

/// [`serve_service`] for an axum [`Router`](axum::Router): a service named
/// [`"http"`](SERVICE_NAME) to [`canstop::start`](crate::start).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::get, Router};
///
/// let report = canstop::Root::new()
///     .signals(false)
///     .run(async {
///         let listener = canstop::http::bind("127.0.0.1:0", 1024).await?;
///         let addr = listener.local_addr()?;
///         let router = Router::new().route("/", get(|| async { "hello\n" }));
///         let http = canstop::start(canstop::http::serve(listener, router))?;
///         http.ready().await?; // listening
///
///         let mut stream = tokio::net::TcpStream::connect(addr).await?;
///         use tokio::io::{AsyncReadExt, AsyncWriteExt};
///         stream.write_all(b"GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").await?;
///         let mut response = String::new();
///         stream.read_to_string(&mut response).await?;
///         assert!(response.ends_with("hello\n"));
///         canstop::shutdown()?;
///         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
///     })
///     .await?;
/// assert!(report.is_clean());
/// assert_eq!(report.sessions_named("http connection").unwrap().finished, 1);
/// # Ok(()) }
/// ```
#[cfg(feature = "axum")]
pub fn serve(listener: TcpListener, router: axum::Router) -> Service {
    serve_service(listener, router)
}

/// [`serve_service_until`] for an axum [`Router`](axum::Router): the accept loop, inside a
/// service body of one's own.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::get, Router};
/// use canstop::{Service, Shutdown};
///
/// let report = canstop::Root::new()
///     .signals(false)
///     .run(async {
///         let listener = canstop::http::bind("127.0.0.1:0", 1024).await?;
///         canstop::start(Service::new("api", |shutdown: Shutdown| async move {
///             let router = Router::new().route("/", get(|| async { "hello\n" }));
///             shutdown.shutdown_tree(); // in real life: SIGTERM
///             canstop::http::serve_until(listener, router, shutdown).await
///         }))?;
///         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
///     })
///     .await?;
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`serve_service_until`].
#[cfg(feature = "axum")]
pub async fn serve_until(
    listener: TcpListener,
    router: axum::Router,
    shutdown: Shutdown,
) -> io::Result<()> {
    serve_service_until(listener, router, shutdown).await
}
