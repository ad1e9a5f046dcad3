//! HTTP serving (feature `hyper`; `axum` for axum routers, `ws` for WebSockets): an accept
//! loop whose every connection, HTTP/2 stream and WebSocket is a tracked session.
//!
//! `axum::serve(listener, app).with_graceful_shutdown(..)` run inside a `#[service]` compiles
//! and tracks nothing: its connections are tokio tasks that the tree neither waits for nor
//! counts (the report says `sessions: none`, and requests cut off at the deadline appear
//! nowhere), WebSocket tasks escape its graceful shutdown (axum#3003) and open SSE streams block
//! it (axum#2673). Use [`serve()`] (a service to [`canstop::start`](crate::start)) or
//! [`serve_until`] (inside a service body) instead; [`serve_service`] and
//! [`serve_service_until`] serve any tower service with hyper alone.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Router};
//! use canstop::Shutdown;
//!
//! /// A handler that sees the stop: it answers early when the server is stopping.
//! async fn report(shutdown: Shutdown) -> &'static str {
//!     match shutdown.run_until_requested(tokio::time::sleep(std::time::Duration::from_millis(5))).await {
//!         Some(()) => "done\n",
//!         None => "stopping: partial\n",
//!     }
//! }
//!
//! let report = canstop::Root::new()
//!     .signals(false)
//!     .run(async {
//!         let listener = canstop::http::bind("127.0.0.1:0", canstop::http::DEFAULT_BACKLOG).await?;
//!         let router = Router::new().route("/report", get(report));
//!         canstop::start(canstop::http::serve(listener, router))?;
//!         canstop::shutdown()?; // in real life: SIGTERM
//!         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//!     })
//!     .await?;
//! assert!(report.is_clean());
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! - Every accepted connection is a tracked session of kind `http connection` (its span, at
//!   `debug`, carries the peer address), spawned on the serving service's scope: the drain
//!   waits for it, the deadline aborts it, the report counts it. Each HTTP/2 stream runs as a
//!   session of kind `http/2 stream` of the same scope; each WebSocket upgraded through
//!   [`WebSocketUpgrade`] as a session of kind `websocket`. Nothing a connection starts runs
//!   untracked.
//! - Each request carries its connection's [`Stopping`] and, with feature `axum`, the
//!   client's address as `axum::extract::ConnectInfo<SocketAddr>` (what `axum::serve` gives
//!   with `into_make_service_with_connect_info::<SocketAddr>()`).
//! - A handler that panics is a session that panicked: counted, kept in the report, exit code
//!   1 (`axum::serve` drops the connection and goes on). A router that should answer a panic
//!   with a 500 adds tower-http's `CatchPanicLayer`.
//! - The service is ready once its body runs (the listener is bound and listening already).
//! - Accept errors never end the server: see "Accept errors".
//!
//! # At the stop
//!
//! - At the stop ([`Shutdown::requested`](crate::Shutdown::requested): at the trigger, or at
//!   the end of the [drain delay](crate::Root::drain_delay)), the listener is dropped (new
//!   connections are refused) and every connection is told to stop gracefully: an HTTP/1
//!   connection answers the request in flight and closes (an idle one closes at once); an
//!   HTTP/2 connection sends GOAWAY, finishes its open streams and closes.
//! - A connection that never had a request has nothing in progress at the stop. An HTTP/2
//!   one (a pre-connect, a frozen client): its client has a second to answer the GOAWAY's
//!   ping (which hyper waits for before it closes). An HTTP/1 one still open (an idle one has
//!   closed at once) is reading the head of its first request: its client has a second to
//!   complete it (it is then answered). After that second the connection is closed, counted
//!   as finished, rather than holding the drain until the deadline (a stalled or slowloris
//!   client). A connection that had requests is waited for up to the deadline: a response
//!   still queued for a slow reader, an upload read after its response, a WebSocket over
//!   HTTP/2, the head of a keep-alive connection's next request cannot be told from a frozen
//!   client by any shorter wait.
//! - During the drain delay ([`Shutdown::draining`](crate::Shutdown::draining) has fired, a
//!   load balancer still routes here), everything keeps being served: the listener stays open,
//!   a connection accepted then is served without keep-alive, and every HTTP/1 response
//!   carries `connection: close`, so that each client's next request opens a new connection
//!   (to another instance, once the load balancer has caught up). No connection is shut down
//!   at the start of the delay: an idle keep-alive connection, or one whose request is on its
//!   way, would be closed under its client.
//! - A response whose body never ends (SSE) holds its connection: wrap the stream with
//!   [`until_stop`] so that it ends at the stop.
//!
//! # Accept errors
//!
//! An error that concerns only the connection being accepted (reset or aborted before it
//! was accepted) is skipped. Any other (`EMFILE`, `ENFILE`: out of file descriptors; `ENOMEM`)
//! is logged at `error` and the loop accepts again after [`ACCEPT_RETRY`]: it passes once
//! connections close, and the connections already open are served meanwhile. The server never
//! fails over one, as `axum::serve` does not.
//!
//! # Listen backlog
//!
//! tokio's `TcpListener::bind` listens with a backlog of 128: a burst of more connects than
//! that before they are accepted has its excess dropped (those clients retransmit their SYN
//! a second later). [`bind`] binds with the backlog given ([`DEFAULT_BACKLOG`] is 1024); by
//! hand it is `tokio::net::TcpSocket::listen(n)`.
//!
//! # Handlers see the stop
//!
//! Every request carries its connection's [`Stopping`] (the serving scope's [`Shutdown`](crate::Shutdown)) in
//! its extensions; with feature `axum`, a handler takes it as an extractor: `shutdown:
//! Shutdown` or `Stopping(shutdown): Stopping`. With feature `ws`, [`WebSocketUpgrade`]
//! replaces axum's extractor and runs the socket as a tracked session that gets the
//! `Shutdown` (close it with [`close_going_away`]: 1001 Going Away).
//!
//! # Map of this folder
//!
//! - `serve.rs`: the accept loop, as a service or inside one;
//! - `accept.rs`: [`bind`] with a backlog, and the accept that classifies errors;
//! - `connection.rs`: one connection's session (hyper-util's auto builder, the graceful stop),
//!   [`Stopping`] put in each request, the HTTP/2 streams' executor;
//! - `extract.rs` (`axum`): the extractors; `stream.rs` (`axum`): [`until_stop`];
//! - `ws.rs` (`ws`): [`WebSocketUpgrade`].

/// What `canstop::http` serves: a tower service of hyper requests (an axum `Router` is one),
/// cloned per connection, its futures sent to the runtime. A trait alias: every such service
/// implements it.
pub trait HttpService<B>:
    tower_service::Service<
        hyper::Request<hyper::body::Incoming>,
        Response = hyper::Response<B>,
        Future: Send + 'static,
        Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> HttpService<B> for S where
    S: tower_service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
            Future: Send + 'static,
            Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        > + Clone
        + Send
        + 'static
{
}

/// The body of a response `canstop::http` serves. A trait alias: every such body implements
/// it.
pub trait HttpBody:
    hyper::body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> HttpBody for B where
    B: hyper::body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static
{
}

mod accept;
mod connection;
mod serve;

#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "axum")]
mod stream;
#[cfg(feature = "ws")]
mod ws;

pub use accept::{bind, ACCEPT_RETRY, DEFAULT_BACKLOG};
pub use connection::Stopping;
pub use serve::{serve_service, serve_service_until, SERVICE_NAME};

#[cfg(feature = "axum")]
pub use extract::StoppingRejection;
#[cfg(feature = "axum")]
pub use serve::{serve, serve_until};
#[cfg(feature = "axum")]
pub use stream::{until_stop, UntilStop};
#[cfg(feature = "ws")]
pub use ws::{close_going_away, WebSocketUpgrade, WebSocketUpgradeRejection, GOING_AWAY};
