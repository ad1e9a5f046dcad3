//! The http workload: the http example's server (`canstop_examples::http`) under the load
//! client of [`crate::load`], against `axum::serve` and the same server written with plain
//! tokio tasks.
//!
//! Every server here serves the same axum `app()` with hyper-util's auto builder (HTTP/1 and
//! HTTP/2 with prior knowledge), one task per connection, and at the stop drops its listener
//! and lets hyper finish the requests in flight (`graceful_shutdown`), as `canstop::http`
//! does. The canstop contender serves the example's routes with `canstop::http::serve`
//! itself; `axum::serve` is what it is compared with; the plain-tokio ones differ from it
//! only in how a connection task is spawned, tracked and told to stop.
//!
//! The servers of one measurement run side by side in one process, on the same runtime, and
//! the load client loads them in turn (see [`crate::load`]): the throughput of one server
//! drifts too much between processes and over seconds to compare servers measured one after
//! the other.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Contender;
use crate::load::{self, HttpOptions, Load};

/// What a server reports once it has stopped and every connection task has finished.
#[derive(Debug, Clone)]
pub(super) struct Served {
    /// Connections accepted.
    pub(super) accepted: usize,
    /// Connections whose serving ended with an error.
    pub(super) failed: usize,
    /// A sample of their errors, where the server keeps them (canstop's report).
    pub(super) errors: Vec<String>,
}

/// One round of the http workload: one server per contender, side by side on this runtime,
/// each on its own loopback listener, under the load client of [`crate::load`] (on its own
/// thread, loading them in turn); once it is done, every server is stopped and checked. The
/// values are the client's rates, in requests per second (one per measured round), in the
/// order of `contenders`.
pub(super) async fn measure(
    contenders: &[Contender],
    options: HttpOptions,
) -> Result<Vec<Vec<f64>>, String> {
    let done = CancellationToken::new();
    let mut servers = Vec::with_capacity(contenders.len());
    let mut addrs = Vec::with_capacity(contenders.len());
    for &contender in contenders {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("cannot listen on loopback: {error}"))?;
        addrs.push(
            listener
                .local_addr()
                .map_err(|error| format!("no local address: {error}"))?,
        );
        let until = Until(done.clone());
        servers.push(tokio::spawn(contender.serve_http(listener, until)));
    }
    // The kernel queues the client's connections until the servers accept them.
    let loads = match load::start(addrs, options) {
        Ok(client) => client
            .await
            .unwrap_or_else(|_| Err("the load client's thread died".to_owned())),
        Err(error) => Err(error),
    };
    done.cancel();
    let mut served = Vec::with_capacity(servers.len());
    for (server, &contender) in servers.into_iter().zip(contenders) {
        let result = server
            .await
            .map_err(|error| format!("the {} server's task failed: {error}", contender.id()))?;
        served.push(result.map_err(|error| format!("{}: {error}", contender.id()))?);
    }
    let loads = loads?;
    let mut rates = Vec::with_capacity(loads.len());
    for ((load, served), contender) in loads.into_iter().zip(&served).zip(contenders) {
        check(&load, served).map_err(|error| format!("{}: {error}", contender.id()))?;
        rates.push(load.rates);
    }
    Ok(rates)
}

/// A server's stop signal: completes once the load client has closed all its connections.
#[derive(Debug)]
pub(super) struct Until(CancellationToken);

impl Until {
    pub(super) async fn wait(self) {
        self.0.cancelled_owned().await;
    }
}

fn check(load: &Load, served: &Served) -> Result<(), String> {
    if served.accepted != load.connections {
        return Err(format!(
            "the server accepted {} connections, the client opened {}",
            served.accepted, load.connections
        ));
    }
    if served.failed > load.cut {
        return Err(format!(
            "{} connections failed (at most {} may, closed by the client with a request in \
             flight): {:?}",
            served.failed, load.cut, served.errors
        ));
    }
    if load.rates.is_empty() || load.rates.iter().any(|&rate| rate.is_nan() || rate <= 0.0) {
        return Err(format!(
            "no request was answered in a measured turn (rates {:?})",
            load.rates
        ));
    }
    Ok(())
}
