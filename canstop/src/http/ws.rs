//! [`WebSocketUpgrade`]: an axum WebSocket upgrade whose socket is a tracked session.

use std::future::Future;

use axum::extract::ws::{self, CloseFrame, Message, WebSocket};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::{BodyResult, Session, SessionKind, Shutdown};

/// The kind name of a WebSocket's session.
pub(crate) const WEBSOCKET: &str = "websocket";

/// The close code a server sends when it goes away (shutting down): 1001, Going Away.
pub const GOING_AWAY: u16 = ws::close_code::AWAY;

/// axum's [`WebSocketUpgrade`](ws::WebSocketUpgrade), with the connection's [`Shutdown`]:
/// [`on_upgrade`](Self::on_upgrade) runs the socket as a tracked session of kind `websocket`.
///
/// With axum's own upgrade, the socket runs in a task of its own that shutdown neither sees
/// nor waits for (axum#3003): it is cut off when the runtime goes, mid-message, and the report
/// does not know it existed. Here the session is tracked from the handler on: the drain waits
/// for it, the deadline aborts it, and the report counts it.
///
/// ```
/// use axum::extract::ws::{Message, WebSocket};
/// use axum::{response::Response, routing::get, Router};
/// use canstop::http::WebSocketUpgrade;
/// use canstop::Shutdown;
///
/// async fn upgrade(upgrade: WebSocketUpgrade) -> Response {
///     upgrade.on_upgrade(echo)
/// }
///
/// /// Echoes until the client leaves or the server stops; then closes with 1001 Going Away.
/// async fn echo(mut socket: WebSocket, shutdown: Shutdown) -> Result<(), axum::Error> {
///     loop {
///         tokio::select! {
///             () = shutdown.draining() => {
///                 return canstop::http::close_going_away(&mut socket, "server shutting down").await;
///             }
///             message = socket.recv() => match message {
///                 Some(Ok(Message::Text(text))) => socket.send(Message::Text(text)).await?,
///                 Some(Ok(_)) => {}
///                 Some(Err(error)) => return Err(error),
///                 None => return Ok(()),
///             },
///         }
///     }
/// }
///
/// let router: Router = Router::new().route("/ws", get(upgrade));
/// # let _ = router;
/// ```
#[derive(Debug)]
pub struct WebSocketUpgrade {
    upgrade: ws::WebSocketUpgrade,
    shutdown: Shutdown,
}

/// Why the upgrade was refused: axum's reasons (not a WebSocket request, wrong version, ...),
/// or the connection's `Shutdown` missing (see [`StoppingRejection`](super::StoppingRejection)).
pub type WebSocketUpgradeRejection = Response;

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let shutdown = Shutdown::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let upgrade = ws::WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { upgrade, shutdown })
    }
}

impl WebSocketUpgrade {
    /// axum's upgrade, to configure it (buffer sizes, message size limits, protocols).
    pub fn map(mut self, f: impl FnOnce(ws::WebSocketUpgrade) -> ws::WebSocketUpgrade) -> Self {
        self.upgrade = f(self.upgrade);
        self
    }

    /// The response that upgrades the connection, and the socket's session: `handler` runs
    /// with the socket and the connection's [`Shutdown`] as a tracked session of kind
    /// `websocket` (located at the caller), spawned on the connection's scope before the
    /// response is returned. Its result is the session's: `Err` counts it as failed.
    ///
    /// A session whose upgrade does not complete (the client went away first) ends at once,
    /// failed, without calling `handler`.
    ///
    /// Once the scope is past its drain, the spawn is refused and the response is
    /// `503 Service Unavailable` (the socket would not be tracked).
    #[track_caller]
    #[must_use = "to set up the WebSocket connection, this response must be returned"]
    pub fn on_upgrade<F, Fut>(self, handler: F) -> Response
    where
        F: FnOnce(WebSocket, Shutdown) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: BodyResult,
    {
        let kind = SessionKind::here(WEBSOCKET);
        let (socket_sender, socket) = tokio::sync::oneshot::channel();
        let session = Session::with_kind(kind, move |shutdown: Shutdown| async move {
            let Ok(socket) = socket.await else {
                return Err("the WebSocket upgrade did not complete".to_owned());
            };
            match handler(socket, shutdown).await.failure() {
                None => Ok(()),
                Some(error) => Err(error),
            }
        });
        if let Err(error) = self.shutdown.scope().spawn(session) {
            tracing::warn!(%error, "WebSocket refused: the server is past its drain");
            return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
        }
        // axum hands the socket over from a task of its own, which ends there.
        self.upgrade.on_upgrade(move |socket| async move {
            let _ = socket_sender.send(socket);
        })
    }
}

/// Sends a close frame with code [`GOING_AWAY`] (1001) and `reason`, then reads until the
/// client's close answer (or the end of the connection), as the closing handshake asks, for
/// at most a second in all: a client that never answers, or stopped reading (the frame cannot
/// even be sent), is then dropped, and does not hold the drain until the deadline.
///
/// # Errors
///
/// The socket's error while sending the close frame.
pub async fn close_going_away(socket: &mut WebSocket, reason: &str) -> Result<(), axum::Error> {
    let handshake = async {
        socket
            .send(Message::Close(Some(CloseFrame {
                code: GOING_AWAY,
                reason: reason.into(),
            })))
            .await?;
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
        Ok(())
    };
    // The whole handshake is bounded: sending the frame too waits for a client that does not
    // read (its buffers full).
    tokio::time::timeout(crate::lifecycle::grace::CLOSE_ANSWER, handshake)
        .await
        .unwrap_or(Ok(()))
}
