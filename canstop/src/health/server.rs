//! The built-in server: HTTP/1 over hyper, owned by the root (not a service of the tree; see
//! the module's "Where it runs").
//!
//! - [`bind`] runs before `main`'s body: a bad address is a start-up error;
//! - [`start`] serves from a task on the tree's runtime, each connection a task of its own
//!   in a `JoinSet` of the server's (untracked: not sessions, see the module's docs);
//! - [`Server::close`] aborts it after the report; dropping a [`Server`] (the root's future
//!   dropped) aborts it too.
//!
//! An accept error (`EMFILE`, `ECONNABORTED`) is logged and retried after a pause, never
//! fatal: the probes must keep being answered by a program that runs out of descriptors
//! for a moment.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::error::StartError;
use crate::health::{Health, Probe};
use crate::lifecycle::grace::HEALTH_CLOSE;
use crate::lifecycle::shared::Tree;

/// How long a client may take to send its request's head: a slow client does not hold a
/// connection for ever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause after an accept error before the next accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// A listener bound for the health endpoints, not served yet.
pub(crate) struct Bound {
    listener: std::net::TcpListener,
    /// The address asked for.
    addr: SocketAddr,
    /// The address bound (its port, for a port 0).
    local: SocketAddr,
}

/// Binds `addr` for the health endpoints.
pub(crate) fn bind(addr: SocketAddr) -> Result<Bound, StartError> {
    let bind_error = |error| StartError::HealthBind { addr, error };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok(Bound {
        listener,
        addr,
        local,
    })
}

/// The running server; closes when [`close`](Self::close)d or dropped.
pub(crate) struct Server {
    task: JoinHandle<()>,
}

/// Serves the health endpoints of `tree` on `listener` from a task on the tree's runtime.
pub(crate) fn start(bound: Bound, tree: &Arc<Tree>) -> Result<Server, StartError> {
    let Bound {
        listener,
        addr,
        local,
    } = bound;
    let _runtime = tree.runtime.enter();
    let listener =
        TcpListener::from_std(listener).map_err(|error| StartError::HealthBind { addr, error })?;
    let _ = tree.health_addr.set(local);
    let addr = local;
    tracing::info!(%addr, "health endpoints listening on {addr}");
    let health = Health { tree: tree.clone() };
    Ok(Server {
        task: tree.runtime.spawn(serve(listener, health)),
    })
}

impl Server {
    /// Closes the listener and drops the connections; waits (bounded) until it has.
    pub(crate) async fn close(mut self) {
        self.task.abort();
        let _ = tokio::time::timeout(HEALTH_CLOSE, &mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The accept loop. Its connections are dropped with it.
async fn serve(listener: TcpListener, health: Health) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, health.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "health endpoints: accept failed; retrying");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
            },
            // Reaps the finished connections, so the set does not grow.
            Some(_) = connections.join_next() => {}
        }
    }
}

/// One connection: HTTP/1, keep-alive allowed.
async fn connection(stream: TcpStream, health: Health) {
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let response = respond(&health, request.method(), request.uri());
        async move { Ok::<_, Infallible>(response) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%error, "health endpoints: connection ended with an error");
    }
}

/// The response to `method` on `uri`.
fn respond(health: &Health, method: &Method, uri: &hyper::Uri) -> Response<String> {
    let Some(probe) = Probe::from_path(uri.path()) else {
        return text(StatusCode::NOT_FOUND, "not found\n".to_owned());
    };
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n".to_owned(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let answer = health.answer(probe, uri.query());
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    text(status, answer.body)
}

fn text(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(crate::health::CONTENT_TYPE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
