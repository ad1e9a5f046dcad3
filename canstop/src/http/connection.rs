//! One connection: a tracked session that serves HTTP/1 or HTTP/2 with hyper-util's auto
//! builder, stops gracefully, and hands each request its [`Stopping`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tracing::Instrument;

use super::{HttpBody, HttpService};

use crate::lifecycle::grace::CLOSE_ANSWER;
use crate::{FutureBody, Scope, Session, SessionBody, SessionKind, Shutdown};

/// The kind name of a connection's session.
pub(crate) const CONNECTION: &str = "http connection";
/// The kind name of an HTTP/2 stream's session (hyper runs each stream as its own task).
pub(crate) const STREAM: &str = "http/2 stream";

/// What a request of a connection served by `canstop::http` carries in its extensions: the
/// connection's [`Shutdown`] (its scope's: the serving service's). Handlers take it with the
/// `Stopping` extractor (feature `axum`), or from `request.extensions()`.
#[derive(Clone, Debug)]
pub struct Stopping(pub Shutdown);

impl std::ops::Deref for Stopping {
    type Target = Shutdown;

    fn deref(&self) -> &Shutdown {
        &self.0
    }
}

/// The tower service of one connection: `inner`, with [`Stopping`] put in each request, and,
/// once the tree drains, `connection: close` on each HTTP/1 response (the client then opens
/// its next request's connection afresh: to another instance, once the load balancer has
/// caught up).
#[derive(Clone, Debug)]
pub(crate) struct WithStop<S> {
    inner: S,
    stopping: Stopping,
    /// The client's address, for axum's `ConnectInfo<SocketAddr>` extractor.
    #[cfg(feature = "axum")]
    peer: SocketAddr,
}

impl<S, B> tower_service::Service<hyper::Request<Incoming>> for WithStop<S>
where
    S: tower_service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = CloseWhenDraining<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, mut request: hyper::Request<Incoming>) -> Self::Future {
        let http1 = request.version() < hyper::Version::HTTP_2;
        request.extensions_mut().insert(self.stopping.clone());
        // What `axum::serve` gives with `into_make_service_with_connect_info::<SocketAddr>()`.
        #[cfg(feature = "axum")]
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        CloseWhenDraining {
            inner: self.inner.call(request),
            stopping: http1.then(|| self.stopping.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// A response future that marks its HTTP/1 response `connection: close` when the tree is
    /// draining by the time it is ready.
    pub(crate) struct CloseWhenDraining<F> {
        #[pin]
        inner: F,
        // `None` for HTTP/2, whose connection-specific headers are not allowed.
        stopping: Option<Stopping>,
    }
}

impl<F, B, E> Future for CloseWhenDraining<F>
where
    F: Future<Output = Result<hyper::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some(stopping)) = (&mut response, this.stopping.as_ref()) {
            if stopping.is_draining() {
                response.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
            }
        }
        Poll::Ready(response)
    }
}

/// The connection's service as hyper calls it, noting that a request came: hyper calls it,
/// synchronously in the connection's task, as soon as a request's head is in (an HTTP/2
/// stream's before its task is spawned), before the tower service is asked whether it is
/// ready. A request held back by the application's backpressure (a concurrency limit, a
/// buffer around the whole service) has reached it: it is in progress.
#[derive(Clone, Debug)]
struct Counted<S> {
    inner: S,
    /// Whether the connection ever had a request (then something of it may be in progress).
    requested: Arc<AtomicBool>,
}

impl<S> hyper::service::Service<hyper::Request<Incoming>> for Counted<S>
where
    S: hyper::service::Service<hyper::Request<Incoming>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.requested.store(true, Ordering::Relaxed);
        self.inner.call(request)
    }
}

/// hyper's executor for the tasks of an HTTP/2 connection (one per stream): each is a tracked
/// session of the connection's scope, so that the drain waits for it and the deadline aborts
/// it. A spawn refused because the scope is past its drain drops the stream's task (hyper
/// then resets the stream): nothing runs untracked.
#[derive(Clone, Debug)]
pub(crate) struct SessionExecutor {
    scope: Scope,
}

impl<F> hyper::rt::Executor<F> for SessionExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        let stream = Session::with_kind(SessionKind::of_canstop(STREAM), FutureBody::new(future));
        if let Err(error) = self.scope.spawn(stream) {
            tracing::debug!(%error, "an HTTP/2 stream refused: the server is past its drain");
        }
    }
}

/// The session that serves one accepted connection.
pub(crate) fn session<S, B>(
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
) -> Session<impl SessionBody<Output = Result<(), ConnectionError>>>
where
    S: HttpService<B>,
    B: HttpBody,
{
    Session::with_kind(
        SessionKind::of_canstop(CONNECTION),
        move |shutdown: Shutdown| {
            let span = tracing::debug_span!("http connection", %peer);
            serve(stream, peer, service, shutdown).instrument(span)
        },
    )
}

/// Why a connection ended with an error (a malformed request, a client that reset the
/// connection mid-request, an I/O error): the session's failure in the report.
pub(crate) type ConnectionError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `stream` until the client closes it or the stop ([`Shutdown::requested`]: HTTP/1,
/// the request in flight is answered, then the connection closes, an idle one at once;
/// HTTP/2, GOAWAY, the open streams finish; one that never had a request is closed if it has
/// not ended within [`CLOSE_ANSWER`]: an HTTP/2 client that has not answered the GOAWAY, an
/// HTTP/1 client that has not completed its first request's head). While the tree drains (the
/// drain delay), every connection keeps being served: an HTTP/1 response then carries
/// `connection: close`, and a connection accepted while draining is served without
/// keep-alive. (Shutting connections down at the start of the delay would close an idle
/// keep-alive connection, or one whose first request is on its way, under the client's feet:
/// the loss the delay exists to avoid.)
async fn serve<S, B>(
    stream: TcpStream,
    #[cfg_attr(not(feature = "axum"), allow(unused_variables))] peer: SocketAddr,
    service: S,
    shutdown: Shutdown,
) -> Result<(), ConnectionError>
where
    S: HttpService<B>,
    B: HttpBody,
{
    let late = shutdown.is_draining();
    let mut builder = auto::Builder::new(SessionExecutor {
        scope: shutdown.scope(),
    });
    // The extended CONNECT protocol: WebSockets over HTTP/2 (RFC 8441), as `axum::serve`.
    builder.http2().enable_connect_protocol();
    if late {
        builder.http1().keep_alive(false);
    }
    let requested = Arc::new(AtomicBool::new(false));
    let service = Counted {
        inner: TowerToHyperService::new(WithStop {
            inner: service,
            stopping: Stopping(shutdown.clone()),
            #[cfg(feature = "axum")]
            peer,
        }),
        requested: requested.clone(),
    };
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    let mut connection = pin!(connection);
    tokio::select! {
        // The connection first: a connection accepted just before the stop and first polled
        // after it reads the request already sent (and answers it) before it is told to shut
        // down; told first, hyper-util would cancel its protocol read without reading.
        biased;
        result = connection.as_mut() => return result.map_err(with_sources),
        () = shutdown.requested() => connection.as_mut().graceful_shutdown(),
    }
    // A connection on which no request was ever made has nothing in progress. HTTP/2: all
    // that is left is its client's answer to the GOAWAY's ping, which hyper waits for. HTTP/1:
    // an idle one has closed at once; one still open is reading the first bytes of a head
    // (hyper waits for the whole head, to answer it). A client that has not done its part
    // within `CLOSE_ANSWER` (frozen, gone without a FIN, or a slowloris) is closed on: it would
    // otherwise hold the drain until the deadline (exit 124). Any other connection is bounded
    // by the deadline alone: a request made means a response that may still be queued for a
    // slow reader, a stream still open (an upload, a WebSocket over HTTP/2), or the head of a
    // keep-alive connection's next request, which no shorter bound can tell from a frozen
    // client.
    let unanswered = async {
        tokio::time::sleep(CLOSE_ANSWER).await;
        if requested.load(Ordering::Relaxed) {
            std::future::pending::<()>().await;
        }
    };
    let result = tokio::select! {
        biased;
        result = connection => result,
        () = unanswered => {
            tracing::debug!(grace = ?CLOSE_ANSWER, "a client that never made a request did not end its connection after the stop (an HTTP/2 client that did not answer the GOAWAY, or an HTTP/1 client that did not complete its first request): connection closed");
            return Ok(());
        }
    };
    match result {
        // Shut down before its protocol was known: hyper-util cancels its version read
        // ("Cancelled"). A connection with no request yet (or only the first bytes of one,
        // shorter than HTTP/2's 24-byte preface) closed at the stop, not a failure.
        Err(error) if is_cancelled_read(error.as_ref()) => Ok(()),
        result => result.map_err(with_sources),
    }
}

/// Whether `error` is hyper-util's cancelled protocol read (an `Interrupted` I/O error), which
/// a connection shut down before its first request reports.
fn is_cancelled_read(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|error| error.kind() == std::io::ErrorKind::Interrupted)
}

/// The error with its sources' messages after its own: hyper's says only "connection error"
/// (or "error shutting down connection"), its sources say what happened (a reset, a broken
/// pipe, a malformed request), and the report keeps a failure's text, not its chain.
fn with_sources(error: ConnectionError) -> ConnectionError {
    let mut text = error.to_string();
    for cause in std::iter::successors(error.source(), |&cause| cause.source()) {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every request with `hello`.
    #[derive(Clone)]
    struct Hello;

    impl tower_service::Service<hyper::Request<Incoming>> for Hello {
        type Response = hyper::Response<String>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: hyper::Request<Incoming>) -> Self::Future {
            std::future::ready(Ok(hyper::Response::new("hello\n".to_owned())))
        }
    }

    /// A connection accepted just before the stop and first polled after it, its request
    /// already sent: the request is read and answered before the connection shuts down (told
    /// first, hyper-util cancels its protocol read unread). Also: that `serve` ends `Ok`.
    #[tokio::test]
    async fn a_request_already_there_at_the_first_poll_after_the_stop_is_answered() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        for _ in 0..20 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, peer) = listener.accept().await.unwrap();
            client
                .write_all(b"GET / HTTP/1.1\r\nhost: canstop\r\n\r\n")
                .await
                .unwrap();
            let report = crate::Root::new()
                .signals(false)
                .timeout_from_env(false)
                .run(async move {
                    crate::shutdown().map_err(|error| error.to_string())?;
                    let shutdown = Shutdown::new(
                        crate::tree::context::current().map_err(|error| error.to_string())?,
                    );
                    assert!(shutdown.is_requested());
                    serve(server, peer, Hello, shutdown)
                        .await
                        .map_err(|error| error.to_string())
                })
                .await
                .unwrap();
            assert!(report.is_clean(), "{report}");
            let mut answer = String::new();
            client.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer:?}");
            assert!(answer.ends_with("hello\n"), "{answer:?}");
        }
    }

    #[test]
    fn a_connection_error_keeps_what_its_sources_say() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        #[derive(Debug)]
        struct Hyper(std::io::Error);
        impl std::fmt::Display for Hyper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connection error")
            }
        }
        impl std::error::Error for Hyper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = with_sources(Box::new(Hyper(reset)));
        assert_eq!(error.to_string(), "connection error: connection reset");
        assert!(error.source().is_none());
    }
}
