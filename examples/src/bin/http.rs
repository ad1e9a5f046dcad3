//! An HTTP server and a periodic worker (the conductor pattern): axum serves requests, each
//! connection is a tracked session, and a worker service ticks beside it.
//!
//! ```text
//! cargo run -p canstop-examples --bin http -- 127.0.0.1:3000
//! curl 127.0.0.1:3000/slow    # answers after 500 ms
//! ```
//!
//! On SIGTERM the listener closes at once (new connections are refused), every request in
//! flight is answered, keep-alive connections are closed after their current request, and
//! the program exits 0. Set `WORKER_FAIL_AFTER=3` to make the worker fail on its third tick:
//! the server is shut down too, the worker is the trigger, and the exit code is 1.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use canstop::{service, session, Shutdown};
use canstop_examples::{announce, init_tracing};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

#[canstop::main(timeout = "10s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let fail_after = match std::env::var("WORKER_FAIL_AFTER") {
        Ok(ticks) => Some(ticks.parse::<u64>()?),
        Err(_) => None,
    };
    let listener = TcpListener::bind(&addr).await?;
    announce(format_args!("listening on {}", listener.local_addr()?));
    canstop::start(http_server(listener, app()))?;
    canstop::start(worker(fail_after))?;
    Ok(())
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello\n" }))
        .route("/slow", get(slow))
}

/// A request that takes half a second: the kind a shutdown must not cut off.
async fn slow() -> &'static str {
    tracing::debug!("slow request started");
    tokio::time::sleep(Duration::from_millis(500)).await;
    "slow hello\n"
}

/// Accepts connections until told to stop, then drops the listener so that new connections
/// are refused while the ones in flight drain.
#[service]
async fn http_server(
    shutdown: Shutdown,
    listener: TcpListener,
    app: Router,
) -> std::io::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                canstop::spawn(connection(stream, app.clone())).map_err(std::io::Error::other)?;
            }
        }
    }
    drop(listener);
    tracing::info!("http server stopped accepting");
    Ok(())
}

/// One HTTP/1 connection. At the stop, hyper finishes the request in flight and closes the
/// connection instead of waiting for the next one.
#[session]
async fn connection(
    stream: TcpStream,
    app: Router,
    shutdown: Shutdown,
) -> Result<(), hyper::Error> {
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return result,
        () = shutdown.requested() => conn.as_mut().graceful_shutdown(),
    }
    conn.await
}

/// A periodic job (a metrics flush, a cache refresh). With `fail_after`, it fails on that
/// tick, which shuts the whole program down.
#[service]
async fn worker(shutdown: Shutdown, fail_after: Option<u64>) -> Result<(), String> {
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut ticks = 0;
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()),
            _ = ticker.tick() => {
                ticks += 1;
                tracing::debug!(ticks, "worker tick");
                if fail_after == Some(ticks) {
                    return Err(format!("upstream unavailable after {ticks} ticks"));
                }
            }
        }
    }
}
