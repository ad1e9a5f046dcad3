//! A gRPC server: tonic's routes (a greeter, and tonic-health's `grpc.health.v1.Health`),
//! served by `canstop::http::serve_service`, so that every connection is a tracked session and
//! every RPC an `http/2 stream` session. The health service reports the tree's readiness.
//!
//! ```text
//! cargo run -p canstop-examples --bin grpc -- 127.0.0.1:50051
//! cargo run -p canstop-examples --bin grpc-client -- 127.0.0.1:50051 hello you
//! cargo run -p canstop-examples --bin grpc-client -- 127.0.0.1:50051 ticks    # until the stop
//! cargo run -p canstop-examples --bin grpc-client -- 127.0.0.1:50051 health   # watches it
//! ```
//!
//! The health of the whole server (service `""`, what `grpc_health_probe` and load balancers
//! ask) is NOT_SERVING until the tree is ready (`main` returned, after `GRPC_WARMUP_MS` of
//! start-up work: 0 by default), SERVING then, and NOT_SERVING again from the shutdown's
//! trigger on (or while a service restarts): canstop's readiness, as `/readyz` answers it.
//!
//! On SIGTERM the health says NOT_SERVING and each `Ticks` stream ends with UNAVAILABLE (the
//! client retries elsewhere). Then, at the stop (at once, or after `CANSTOP_DRAIN_DELAY`,
//! during which every RPC is still answered), the listener closes, the health `Watch` streams
//! end, each connection gets GOAWAY and finishes its RPCs, and the program exits 0.

use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use canstop::http::{bind, serve_service, until_stop, Stopping, DEFAULT_BACKLOG};
use canstop::{service, Event, Root, Shutdown};
use canstop_examples::grpc::greeter_server::{Greeter, GreeterServer};
use canstop_examples::grpc::{HelloReply, HelloRequest, Tick, TicksRequest};
use canstop_examples::{announce, env_number, init_tracing};
use futures_util::{stream, Stream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status};
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

fn main() -> ExitCode {
    init_tracing();
    // The tree's readiness as its events tell it (a listener must not block: a watch channel).
    let (ready, readiness) = watch::channel(false);
    Root::new()
        .timeout(Duration::from_secs(10))
        .on_event(move |event| {
            if matches!(event, Event::TreeReady | Event::TreeNotReady) {
                ready.send_replace(*event == Event::TreeReady);
            }
        })
        .main(run(readiness))
}

async fn run(readiness: watch::Receiver<bool>) -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50051".to_owned());
    let warmup = Duration::from_millis(env_number("GRPC_WARMUP_MS", 0)?);
    let (reporter, health) = tonic_health::server::health_reporter();
    // tonic-health starts SERVING: not before the tree is ready.
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    let routes = tonic::service::Routes::new(GreeterServer::new(Hello))
        .add_service(health)
        .prepare();
    let listener = bind(&addr, DEFAULT_BACKLOG).await?;
    announce(format_args!("listening on {}", listener.local_addr()?));
    canstop::start(serve_service(listener, routes))?;
    canstop::start(report_health(reporter, readiness))?;
    // A stand-in for a real server's start-up work (a cache to warm): the tree is ready once
    // this body returns.
    tokio::time::sleep(warmup).await;
    Ok(())
}

/// Reports the tree's readiness as the health of the whole server, as it changes. At the stop
/// it clears it, which ends the health `Watch` streams: they never end by themselves, and
/// would hold their connections, so the drain, until the deadline.
#[service]
async fn report_health(
    shutdown: Shutdown,
    mut reporter: HealthReporter,
    mut readiness: watch::Receiver<bool>,
) {
    loop {
        let status = match *readiness.borrow_and_update() {
            true => ServingStatus::Serving,
            false => ServingStatus::NotServing,
        };
        reporter.set_service_status("", status).await;
        tokio::select! {
            // A change first: without a drain delay, the trigger's NOT_SERVING and the stop
            // come together.
            biased;
            Ok(()) = readiness.changed() => {}
            () = shutdown.requested() => break,
        }
    }
    reporter.clear_service_status("").await;
}

/// The greeter.
struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let message = format!("hello {}", request.into_inner().name);
        Ok(Response::new(HelloReply { message }))
    }

    type TicksStream = Pin<Box<dyn Stream<Item = Result<Tick, Status>> + Send>>;

    /// A tick every `interval_ms` until the client leaves, or the server stops: then the
    /// stream ends with UNAVAILABLE, which tells the client to retry (elsewhere).
    async fn ticks(
        &self,
        request: Request<TicksRequest>,
    ) -> Result<Response<Self::TicksStream>, Status> {
        // canstop::http puts the connection's `Shutdown` in every request.
        let Some(Stopping(shutdown)) = request.extensions().get::<Stopping>().cloned() else {
            return Err(Status::internal("not served by canstop::http"));
        };
        let every = Duration::from_millis(request.get_ref().interval_ms.max(1));
        let ticks = stream::unfold(
            (tokio::time::interval(every), 0),
            |(mut timer, n)| async move {
                timer.tick().await;
                Some((Ok(Tick { n: n + 1 }), (timer, n + 1)))
            },
        );
        let goodbye = stream::once(async { Err(Status::unavailable("server shutting down")) });
        Ok(Response::new(Box::pin(
            until_stop(&shutdown, ticks).chain(goodbye),
        )))
    }
}
