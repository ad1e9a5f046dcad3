//! A chat server: WebSocket clients talk (every text message goes to everyone), and an SSE
//! endpoint streams what is said. Every connection, WebSocket and stream is a tracked session.
//!
//! ```text
//! cargo run -p canstop-examples --bin chat -- 127.0.0.1:3000
//! websocat ws://127.0.0.1:3000/ws        # talk
//! curl -N 127.0.0.1:3000/events          # listen
//! ```
//!
//! On SIGTERM each WebSocket is closed with 1001 Going Away (clients reconnect elsewhere), each
//! SSE stream ends, and the program exits 0. With `CHAT_IGNORE_STOP=1` the WebSocket handler
//! ignores the stop (as a careless one would): the sockets are aborted at the deadline, the
//! report counts them as aborted, and the exit code says so.

use std::convert::Infallible;

use axum::extract::ws::{Message, WebSocket};
use axum::response::sse::{Event, Sse};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use canstop::http::{bind, close_going_away, serve, until_stop, WebSocketUpgrade, DEFAULT_BACKLOG};
use canstop::Shutdown;
use canstop_examples::{announce, init_tracing};
use futures_util::Stream;
use tokio::sync::broadcast;

/// What the handlers share: the room (every message said), and whether sockets ignore the stop.
#[derive(Clone)]
struct Room {
    said: broadcast::Sender<String>,
    ignore_stop: bool,
}

#[canstop::main(timeout = "10s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let room = Room {
        said: broadcast::channel(1024).0,
        ignore_stop: std::env::var("CHAT_IGNORE_STOP").is_ok_and(|v| v == "1"),
    };
    let router = Router::new()
        .route("/ws", get(talk))
        .route("/events", get(listen))
        .layer(Extension(room));
    let listener = bind(&addr, DEFAULT_BACKLOG).await?;
    announce(format_args!("listening on {}", listener.local_addr()?));
    canstop::start(serve(listener, router))?;
    Ok(())
}

/// `GET /ws`: the socket runs as a tracked session of kind `websocket`.
async fn talk(upgrade: WebSocketUpgrade, Extension(room): Extension<Room>) -> Response {
    upgrade.on_upgrade(move |socket, shutdown| chatter(socket, shutdown, room))
}

/// One chatter: says "welcome", then relays what they say to the room and what the room
/// says to them, until they leave or the server stops (then: 1001 Going Away).
async fn chatter(mut socket: WebSocket, shutdown: Shutdown, room: Room) -> Result<(), axum::Error> {
    let mut heard = room.said.subscribe();
    socket.send(Message::Text("welcome".into())).await?;
    let stop = async {
        if room.ignore_stop {
            std::future::pending().await
        } else {
            shutdown.draining().await;
        }
    };
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return close_going_away(&mut socket, "server shutting down").await,
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let _ = room.said.send(text.to_string());
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
            },
            said = heard.recv() => {
                if let Ok(said) = said {
                    socket.send(Message::Text(said.into())).await?;
                }
            }
        }
    }
}

/// `GET /events`: what the room says, as Server-Sent Events, until the server stops.
async fn listen(
    shutdown: Shutdown,
    Extension(room): Extension<Room>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let heard = room.said.subscribe();
    let welcome = futures_util::stream::once(async { Ok(Event::default().data("welcome")) });
    let said = futures_util::stream::unfold(heard, |mut heard| async move {
        loop {
            match heard.recv().await {
                Ok(said) => return Some((Ok(Event::default().data(said)), heard)),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    use futures_util::StreamExt as _;
    Sse::new(until_stop(&shutdown, welcome.chain(said)))
}
