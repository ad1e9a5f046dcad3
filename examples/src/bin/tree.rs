//! A supervisor tree: a pipeline service starts child services, which start their own
//! children and sessions. The report shows the tree as it stopped, each service above its
//! children; the deepest ones stopped first.
//!
//! ```text
//! cargo run -p canstop-examples --bin tree          # then press Ctrl-C
//! ```

use std::time::Duration;

use canstop::{service, session, Shutdown};
use canstop_examples::{announce, init_tracing};

#[canstop::main(timeout = "5s")]
async fn main() -> Result<(), canstop::SpawnError> {
    init_tracing();
    canstop::start(pipeline())?;
    canstop::start(metrics())?;
    Ok(())
}

/// The top of the pipeline: two stages, each a child service.
#[service]
async fn pipeline(shutdown: Shutdown) -> Result<(), canstop::SpawnError> {
    canstop::start(ingest())?;
    canstop::start(index())?;
    announce(format_args!("pipeline running"));
    shutdown.requested().await;
    Ok(())
}

/// Reads batches: one session per batch, and a child service that parses.
#[service]
async fn ingest(shutdown: Shutdown) -> Result<(), canstop::SpawnError> {
    canstop::start(parser())?;
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            () = shutdown.requested() => return Ok(()),
            _ = ticker.tick() => {
                canstop::spawn(batch())?;
            }
        }
    }
}

/// A grandchild service.
#[service]
async fn parser(shutdown: Shutdown) {
    shutdown.requested().await;
}

/// Builds the index; takes a moment to flush when told to stop.
#[service]
async fn index(shutdown: Shutdown) {
    shutdown.requested().await;
    tokio::time::sleep(Duration::from_millis(100)).await; // flush
}

/// A top-level sibling of the pipeline, with no `Shutdown`: it is dropped at the stop.
#[service]
async fn metrics() {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticker.tick().await;
        tracing::debug!("metrics flushed");
    }
}

/// One batch of input; it finishes even during the drain.
#[session]
async fn batch() {
    tokio::time::sleep(Duration::from_millis(30)).await;
    tracing::debug!("batch done");
}
