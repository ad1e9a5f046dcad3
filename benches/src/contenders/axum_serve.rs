//! `axum::serve` with the http example's router: what `canstop::http::serve` is compared with
//! (the http workload only). It tracks nothing; its graceful shutdown waits for its
//! connections, and it counts them here through `tap_io`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::serve::ListenerExt;
use canstop_examples::http::app;
use tokio::net::TcpListener;

use super::http::{Served, Until};

pub(super) async fn http(listener: TcpListener, until: Until) -> Result<Served, String> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    let listener = listener.tap_io(move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
    });
    axum::serve(listener, app())
        .with_graceful_shutdown(until.wait())
        .await
        .map_err(|error| format!("axum::serve: {error}"))?;
    Ok(Served {
        accepted: accepted.load(Ordering::Relaxed),
        failed: 0,
        errors: Vec::new(),
    })
}
