//! Services that start in dependency order and stop in the reverse: a database stand-in, a
//! cache that needs it, and an HTTP API that needs both.
//!
//! ```text
//! cargo run -p canstop-examples --bin ordered -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/      # answered once everything is ready
//! ```
//!
//! `main` hands the three to `canstop::start_all` in the wrong order (api, cache, database):
//! each starts only once what it `needs` is ready (the database takes `DATABASE_CONNECT_MS`,
//! default 300 ms, to "connect"), and the program prints `tree ready` when all three are. On
//! SIGTERM they stop the other way round: the API first (it finishes the requests in
//! flight), then the cache, then the database, each only once the one that needs it has
//! stopped. Every step is printed, so the order can be checked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use canstop::{service, session, Ready, Shutdown};
use canstop_examples::{accept, announce, env_number, init_tracing};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the database stand-in holds: a counter of queries.
#[derive(Default)]
struct Database {
    queries: AtomicU64,
}

#[canstop::main(timeout = "5s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let connect = Duration::from_millis(env_number("DATABASE_CONNECT_MS", 300)?);
    let db = Arc::new(Database::default());
    let listener = TcpListener::bind(&addr).await?;
    announce(format_args!("listening on {}", listener.local_addr()?));
    // Given in the wrong order on purpose: `needs` orders them.
    canstop::start_all([
        api(listener, db.clone()),
        cache(db.clone()),
        database(db, connect),
    ])?;
    canstop::spawn(announce_ready())?;
    Ok(())
}

/// Prints `tree ready` once `main` has returned and every service is ready.
#[session]
async fn announce_ready() -> Result<(), canstop::ReadyError> {
    canstop::ready().await?;
    announce(format_args!("tree ready"));
    Ok(())
}

/// The database stand-in: ready once "connected"; at the stop, "flushes" for 100 ms.
#[service]
async fn database(shutdown: Shutdown, ready: Ready, db: Arc<Database>, connect: Duration) {
    announce(format_args!("database starting"));
    tokio::time::sleep(connect).await;
    announce(format_args!("database ready"));
    ready.set(); // the cache starts now
    shutdown.requested().await;
    announce(format_args!("database stopping"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    announce(format_args!(
        "database stopped after {} queries",
        db.queries.load(Ordering::SeqCst)
    ));
}

/// A cache in front of the database: started once the database is ready, ready after a
/// warm-up query; stopped before the database.
#[service(needs = ["database"])]
async fn cache(shutdown: Shutdown, ready: Ready, db: Arc<Database>) {
    announce(format_args!("cache starting"));
    db.queries.fetch_add(1, Ordering::SeqCst); // warm up
    tokio::time::sleep(Duration::from_millis(50)).await;
    announce(format_args!("cache ready"));
    ready.set(); // the api starts now
    shutdown.requested().await;
    announce(format_args!("cache stopping"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    announce(format_args!("cache stopped"));
}

/// The HTTP API: started once the database and the cache are ready; stopped first.
#[service(needs = ["database", "cache"])]
async fn api(
    shutdown: Shutdown,
    ready: Ready,
    listener: TcpListener,
    db: Arc<Database>,
) -> Result<(), canstop::SpawnError> {
    announce(format_args!("api ready"));
    ready.set(); // the tree is ready now
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            (stream, _) = accept(&listener) => {
                canstop::spawn(request(stream, db.clone()))?;
            }
        }
    }
    announce(format_args!("api stopping"));
    drop(listener);
    announce(format_args!("api stopped"));
    Ok(())
}

/// One HTTP/1.0 exchange: reads the request head, answers with the query count, closes.
#[session]
async fn request(mut stream: TcpStream, db: Arc<Database>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let queries = db.queries.fetch_add(1, Ordering::SeqCst) + 1;
    let body = format!("query {queries}\n");
    let response = format!(
        "HTTP/1.0 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
