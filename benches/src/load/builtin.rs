//! The built-in load client of the http workload (`--http-load builtin`, the default):
//! hyper's HTTP/1 client on its own runtime and its own OS thread, so that it does not share
//! the server's workers (it shares the machine's cores, as an external load generator on the
//! same machine would).
//!
//! It opens [`HttpOptions::connections`] keep-alive connections to each server it is given
//! and loads the servers in turn, in slices of about [`SLICE`]: during a server's slice, each
//! of its connections sends `GET /` in a loop, one request at a time; the slice ends once
//! every connection has had its last answer, and the next server's slice begins. The order
//! of the servers rotates every round. A server's rate is the `200` responses completed
//! inside its slices divided by the length of its slices. Any other status or a connection
//! error fails the measurement.
//!
//! Slices, rather than one server after the other: on these machines the throughput of the
//! same server drifts by ±15 % over seconds and between processes, far more than the
//! difference to measure. Interleaved slices expose every server to the same drift: with
//! slices of 10 ms, the ratio between two servers of the same process is reproducible to
//! about ±1.5 % (with 100 ms, ±5 %; with 2 ms, ±0.5 %, but a fifth of each slice is then
//! spent starting and draining it, which is no longer the steady state).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::header::HOST;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};

use super::{HttpOptions, Load};

/// The longest turn of one server: its measured time (and its warm-up) is cut into equal
/// slices of at most this.
pub(crate) const SLICE: Duration = Duration::from_millis(10);

/// What the client did to one server, before it becomes a [`Load`].
#[derive(Debug, Clone, Copy)]
struct Counted {
    /// `200` responses completed inside the measured slices.
    requests: u64,
    /// The length of the measured slices, added up.
    measured: Duration,
}

/// The whole load, on a single-threaded runtime on this thread: one [`Load`] per server, in
/// order, each with one rate (its `200`s over the length of its measured slices).
pub(super) fn run(servers: Vec<SocketAddr>, options: HttpOptions) -> Result<Vec<Load>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot build the load client's runtime: {error}"))?;
    runtime.block_on(async move {
        let mut pools = Vec::with_capacity(servers.len());
        for addr in servers {
            pools.push(Pool::open(addr, options.connections).await?);
        }
        rounds(&mut pools, options.warmup, false).await?;
        rounds(&mut pools, options.measure, true).await?;
        let mut loads = Vec::with_capacity(pools.len());
        for pool in pools {
            loads.push(pool.close().await?);
        }
        Ok(loads)
    })
}

/// Gives every pool `total` of load, in slices of about [`SLICE`], the order rotating every
/// round; counted in the pools' results when `measured`.
async fn rounds(pools: &mut [Pool], total: Duration, measured: bool) -> Result<(), String> {
    if total.is_zero() || pools.is_empty() {
        return Ok(());
    }
    let slices = total.as_nanos().div_ceil(SLICE.as_nanos()).max(1);
    let slices = u32::try_from(slices).map_err(|_| "too many slices".to_owned())?;
    let slice = total / slices;
    let count = pools.len();
    for round in 0..slices as usize {
        for turn in 0..count {
            pools[(round + turn) % count].slice(slice, measured).await?;
        }
    }
    Ok(())
}

/// The client's connections to one server.
struct Pool {
    host: String,
    senders: Vec<SendRequest<Empty<Bytes>>>,
    drivers: Vec<JoinHandle<Result<(), hyper::Error>>>,
    counted: Counted,
}

impl Pool {
    async fn open(addr: SocketAddr, connections: usize) -> Result<Self, String> {
        let mut pool = Self {
            host: addr.to_string(),
            senders: Vec::with_capacity(connections),
            drivers: Vec::with_capacity(connections),
            counted: Counted {
                requests: 0,
                measured: Duration::ZERO,
            },
        };
        for _ in 0..connections {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|error| format!("load client: cannot connect to {addr}: {error}"))?;
            stream
                .set_nodelay(true)
                .map_err(|error| format!("load client: TCP_NODELAY: {error}"))?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(failed("handshake"))?;
            pool.drivers.push(tokio::spawn(conn));
            pool.senders.push(sender);
        }
        Ok(pool)
    }

    /// One slice of `length`: every connection sends requests until its end.
    async fn slice(&mut self, length: Duration, measured: bool) -> Result<(), String> {
        let end = Instant::now() + length;
        let mut connections = JoinSet::new();
        for sender in self.senders.drain(..) {
            connections.spawn(requests(sender, self.host.clone(), end));
        }
        let mut answered = 0;
        while let Some(joined) = connections.join_next().await {
            let (sender, count) =
                joined.map_err(|error| format!("a load connection failed: {error}"))??;
            self.senders.push(sender);
            answered += count;
        }
        if measured {
            self.counted.requests += answered;
            self.counted.measured += length;
        }
        Ok(())
    }

    /// Closes every connection and waits until hyper has: the server sees a clean end of
    /// stream.
    async fn close(mut self) -> Result<Load, String> {
        self.senders.clear();
        let connections = self.drivers.len();
        for driver in self.drivers {
            driver
                .await
                .map_err(|error| format!("load client: the connection task failed: {error}"))?
                .map_err(failed("closing"))?;
        }
        let Counted { requests, measured } = self.counted;
        Ok(Load {
            connections,
            cut: 0,
            rates: vec![requests as f64 / measured.as_secs_f64()],
        })
    }
}

/// `GET /` on one connection until `end`; the `200` responses completed before `end`.
async fn requests(
    mut sender: SendRequest<Empty<Bytes>>,
    host: String,
    end: Instant,
) -> Result<(SendRequest<Empty<Bytes>>, u64), String> {
    let mut answered = 0;
    while Instant::now() < end {
        sender.ready().await.map_err(failed("connection"))?;
        let request = Request::get("/")
            .header(HOST, &host)
            .body(Empty::<Bytes>::new())
            .map_err(|error| format!("load client: bad request: {error}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(failed("request"))?;
        let status = response.status();
        // Read the body to its end: the connection takes the next request only then.
        response
            .into_body()
            .collect()
            .await
            .map_err(failed("response body"))?;
        if status != StatusCode::OK {
            return Err(format!("load client: GET / answered {status}"));
        }
        if Instant::now() < end {
            answered += 1;
        }
    }
    Ok((sender, answered))
}

fn failed(what: &'static str) -> impl Fn(hyper::Error) -> String {
    move |error| format!("load client: {what}: {error}")
}
