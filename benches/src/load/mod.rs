//! The load of the http workload: what sends the requests ([`Client`], chosen per run with
//! `--http-load`), with what shape ([`HttpOptions`]), and what came of it ([`Load`]).
//!
//! Whatever the client, the servers of one measurement live side by side in one process and
//! the client loads them **in turn**, the order rotating every round, on the machine's cores
//! but not on the servers' worker threads:
//!
//! - [`Client::Builtin`]: hyper's HTTP/1 client in this process, on a thread of its own, in
//!   turns of 10 ms ([`builtin`]); one rate per server over all its turns.
//! - [`Client::Wrk`]: wrk (HTTP/1, keep-alive), one process per turn of 1 s ([`tool`],
//!   [`wrk`]); one rate per server and round.
//! - [`Client::H2load`]: h2load (HTTP/2 with prior knowledge, h2c), one process per turn of
//!   about 1 s ([`tool`], [`h2load`]); one rate per server and round.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;

mod builtin;
mod h2load;
pub(crate) mod tool;
mod wrk;

pub(crate) use builtin::SLICE;

/// What loads the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Client {
    /// hyper's HTTP/1 client, in this process, in 10 ms turns.
    Builtin,
    /// wrk: HTTP/1 keep-alive, one process per 1 s turn.
    Wrk,
    /// h2load: HTTP/2 prior knowledge (h2c), one process per turn of about 1 s.
    H2load,
}

impl Client {
    pub(crate) const ALL: [Self; 3] = [Self::Builtin, Self::Wrk, Self::H2load];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::Wrk => "wrk",
            Self::H2load => "h2load",
        }
    }

    pub(crate) fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|client| client.id() == id)
    }
}

/// The shape of the http workload's load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HttpOptions {
    /// The measured time, per server (the external tools: rounded up to whole rounds of
    /// [`tool::ROUND`]).
    pub(crate) measure: Duration,
    /// The unmeasured time before it, per server (the built-in client: on the same
    /// connections; the external tools: whole rounds, on connections of their own).
    pub(crate) warmup: Duration,
    /// Concurrent keep-alive connections per server.
    pub(crate) connections: usize,
    /// Requests in flight per connection: 1, but for h2load, which multiplexes streams
    /// (`-m`).
    pub(crate) streams: usize,
    /// What sends the requests.
    pub(crate) client: Client,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            measure: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            connections: 32,
            streams: 1,
            client: Client::Builtin,
        }
    }
}

/// What the load client did to one server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Load {
    /// Connections opened (and closed again) by the client: the server must have accepted
    /// exactly these.
    pub(crate) connections: usize,
    /// Of those, how many the client may have closed with a request in flight (wrk ends each
    /// turn so): a server may count these as failed (a reset mid-request), no more.
    pub(crate) cut: usize,
    /// Successful (`2xx`) requests per second: one per measured round for the external
    /// tools, one over all the measured turns for the built-in client.
    pub(crate) rates: Vec<f64>,
}

/// Starts the client against `servers` on a thread of its own; the receiver gets its result,
/// one [`Load`] per server in the same order, once every connection has been closed.
pub(crate) fn start(
    servers: Vec<SocketAddr>,
    options: HttpOptions,
) -> Result<oneshot::Receiver<Result<Vec<Load>, String>>, String> {
    let (sender, receiver) = oneshot::channel();
    std::thread::Builder::new()
        .name("load-client".into())
        .spawn(move || {
            let loads = match options.client {
                Client::Builtin => builtin::run(servers, options),
                Client::Wrk | Client::H2load => tool::run(&servers, options),
            };
            let _ = sender.send(loads);
        })
        .map_err(|error| format!("cannot start the load client's thread: {error}"))?;
    Ok(receiver)
}
