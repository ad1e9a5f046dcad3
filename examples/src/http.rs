//! The routes of the `http` example, as a library module so that the benchmarks serve the
//! same code; and, for the benchmarks' plain-tokio servers only, one HTTP/1 or HTTP/2
//! connection served by hand with hyper-util's auto builder (what `canstop::http::serve` does
//! for you, per connection).

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;

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

/// Serves one connection, HTTP/1 or HTTP/2 (prior knowledge: h2c), as `canstop::http::serve`
/// and `axum::serve` do, until the client closes it or `stop` completes; then hyper finishes
/// the request in flight and closes an HTTP/1 connection instead of waiting for the next
/// request, or sends an HTTP/2 one GOAWAY and lets its streams finish. HTTP/2 streams run as
/// plain `tokio::spawn` tasks. The benchmarks' plain-tokio servers serve with it.
pub async fn serve_connection(
    stream: TcpStream,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return result,
        () = stop => conn.as_mut().graceful_shutdown(),
    }
    conn.await
}
