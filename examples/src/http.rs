//! The HTTP server of the `http` example, as a library module so that the benchmarks serve
//! the same code: axum routes, hyper serves each connection, and each connection is a
//! canstop session.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use canstop::{service, session, Shutdown};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

/// The routes: `/` answers at once, `/slow` after half a second.
pub fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello\n" }))
        .route("/slow", get(slow))
}

/// A request that takes half a second: the kind a shutdown must not cut off.
pub async fn slow() -> &'static str {
    tracing::debug!("slow request started");
    tokio::time::sleep(Duration::from_millis(500)).await;
    "slow hello\n"
}

/// Accepts connections until told to stop, then drops the listener so that new connections
/// are refused while the ones in flight drain. An accept error does not fail the server: see
/// [`accept`](crate::accept).
#[service]
pub async fn http_server(
    shutdown: Shutdown,
    listener: TcpListener,
    app: Router,
) -> std::io::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            (stream, _) = crate::accept(&listener) => {
                canstop::spawn(connection(stream, app.clone())).map_err(std::io::Error::other)?;
            }
        }
    }
    drop(listener);
    tracing::info!("http server stopped accepting");
    Ok(())
}

/// One HTTP/1 connection, as a canstop session.
///
/// - Accepted before the tree drains: served with keep-alive until the client closes it or
///   the tree starts draining (a signal, and the drain delay if one is set: see
///   `CANSTOP_DRAIN_DELAY`); then the request in flight is answered and the connection
///   closed, so that the client reconnects, to another instance once the load balancer has
///   caught up.
/// - Accepted while draining (the load balancer still routes here during the delay):
///   served without keep-alive, one request and closed, and not cut off at the delay's
///   end: its request is answered, within the drain's timeout.
#[session]
pub async fn connection(
    stream: TcpStream,
    app: Router,
    shutdown: Shutdown,
) -> Result<(), hyper::Error> {
    if shutdown.is_draining() {
        serve_connection_with(stream, app, shutdown.requested(), false).await
    } else {
        serve_connection(stream, app, shutdown.draining()).await
    }
}

/// Serves one HTTP/1 connection until the client closes it or `stop` completes; then hyper
/// finishes the request in flight and closes the connection instead of waiting for the
/// next one. Shared with the benchmarks' plain-tokio servers, so that they serve the same.
pub async fn serve_connection(
    stream: TcpStream,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), hyper::Error> {
    serve_connection_with(stream, app, stop, true).await
}

/// [`serve_connection`], with or without keep-alive.
pub async fn serve_connection_with(
    stream: TcpStream,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
    keep_alive: bool,
) -> Result<(), hyper::Error> {
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(keep_alive)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return result,
        () = stop => conn.as_mut().graceful_shutdown(),
    }
    conn.await
}
