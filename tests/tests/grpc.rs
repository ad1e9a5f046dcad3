//! The grpc example end to end: started as a child process, driven over loopback by real tonic
//! clients (the greeter's, and tonic-health's `grpc.health.v1.Health`), sent a real SIGTERM,
//! judged from the clients' side, by its exit code and by its report.

use std::future::Future;
use std::time::Duration;

use canstop_examples::grpc::greeter_client::GreeterClient;
use canstop_examples::grpc::{HelloRequest, Tick, TicksRequest};
use canstop_tests::{Counts, Running};
use nix::sys::signal::Signal::SIGTERM;
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus::{self, NotServing, Serving};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// A failsafe: nothing here waits on a clock, but a broken server must fail the test, not
/// hang it.
const LIMIT: Duration = Duration::from_secs(30);

/// The example's start-up work (`GRPC_WARMUP_MS`): the window in which a client asks for the
/// health before the tree is ready. A margin for a loaded machine to connect and ask (it takes
/// milliseconds), not a synchronisation: the test waits for SERVING on its Watch stream.
const WARMUP_MS: &str = "3000";

/// The drain delay: the health says NOT_SERVING while everything is still served. The same
/// kind of margin, for a Check sent once the Watch stream has said NOT_SERVING.
const DRAIN_DELAY: &str = "2s";

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime")
}

/// `future`, or a panic naming `what` after [`LIMIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {LIMIT:?}"))
}

/// A connection to the server (HTTP/2 with prior knowledge, as gRPC's cleartext clients).
async fn connect(addr: &str) -> Channel {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap();
    within("connect", endpoint.connect())
        .await
        .expect("connect")
}

/// The health of the whole server (service `""`), by a Check.
async fn check(health: &mut HealthClient<Channel>) -> ServingStatus {
    let response = within("Check", health.check(HealthCheckRequest::default()))
        .await
        .expect("Check answered");
    response.into_inner().status()
}

/// The next status a Watch stream says (`None`: the stream ended cleanly).
/// The status a `Ticks` stream ends with (ticks still in flight are skipped); a stream that
/// ends without one fails the test.
async fn end_of(ticks: &mut tonic::Streaming<Tick>) -> tonic::Status {
    loop {
        match within("the end of Ticks", ticks.message()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("Ticks ended without saying why"),
            Err(status) => return status,
        }
    }
}

async fn next_status(watch: &mut tonic::Streaming<HealthCheckResponse>) -> Option<ServingStatus> {
    within("Watch", watch.message())
        .await
        .expect("the Watch stream goes on or ends cleanly")
        .map(|response| response.status())
}

/// Through the example's whole life: its health is NOT_SERVING while it starts, SERVING once
/// the tree is ready, and NOT_SERVING from SIGTERM on while the drain delay still serves every
/// RPC; the `Ticks` stream in flight at SIGTERM ends with UNAVAILABLE (a status, not a reset);
/// the health Watch open through it all ends cleanly at the stop; exit 0; the report counts
/// the two connections and each RPC as an `http/2 stream`, all finished.
#[test]
fn grpc_health_follows_the_readiness_and_rpcs_in_flight_end_cleanly_at_sigterm() {
    let mut server = Running::start(
        env!("CARGO_BIN_EXE_example-grpc"),
        &["127.0.0.1:0"],
        &[
            ("GRPC_WARMUP_MS", WARMUP_MS),
            ("CANSTOP_DRAIN_DELAY", DRAIN_DELAY),
        ],
    );
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();
    let hello = |name: &str| HelloRequest { name: name.into() };

    // Two connections: a health checker's and an application's.
    let (mut health, mut greeter, mut watch, mut ticks) = rt.block_on(async {
        let mut health = HealthClient::new(connect(&addr).await);
        let mut greeter = GreeterClient::new(connect(&addr).await);

        // Starting: NOT_SERVING, to a Check and to a Watch.
        assert_eq!(check(&mut health).await, NotServing, "while starting");
        let watch = within("Watch", health.watch(HealthCheckRequest::default())).await;
        let mut watch = watch.expect("Watch").into_inner();
        assert_eq!(next_status(&mut watch).await, Some(NotServing));
        // The tree is ready: the Watch says so, then a Check.
        assert_eq!(next_status(&mut watch).await, Some(Serving));
        assert_eq!(check(&mut health).await, Serving, "once ready");

        // An RPC answered, and a stream in flight.
        let reply = within("SayHello", greeter.say_hello(hello("canstop"))).await;
        assert_eq!(
            reply.expect("SayHello").into_inner().message,
            "hello canstop"
        );
        let ticks = within("Ticks", greeter.ticks(TicksRequest { interval_ms: 20 })).await;
        let mut ticks = ticks.expect("Ticks").into_inner();
        for n in 1..=3 {
            let tick = within("a tick", ticks.message()).await.expect("a tick");
            assert_eq!(tick, Some(Tick { n }));
        }
        (health, greeter, watch, ticks)
    });

    server.signal(SIGTERM);

    rt.block_on(async {
        // From the trigger on, NOT_SERVING (the Watch is told at once)...
        assert_eq!(next_status(&mut watch).await, Some(NotServing), "SIGTERM");
        assert_eq!(check(&mut health).await, NotServing, "during the delay");
        // ... while the drain delay still serves every RPC.
        let reply = within("SayHello", greeter.say_hello(hello("again"))).await;
        assert_eq!(
            reply
                .expect("SayHello during the delay")
                .into_inner()
                .message,
            "hello again"
        );

        // The stream in flight ended at the trigger, with a status the client can act on.
        let ended = end_of(&mut ticks).await;
        assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
        assert_eq!(ended.message(), "server shutting down", "{ended:?}");

        // At the stop, the end of the delay, the Watch ends cleanly (it would otherwise hold
        // its connection, and the drain, until the deadline).
        assert_eq!(
            next_status(&mut watch).await,
            None,
            "the Watch ends at the stop"
        );
    });

    let ended = server.wait_exit_printed("grpc", LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    assert_eq!(
        ended.session_counts("http connection"),
        Counts {
            started: 2,
            finished: 2,
            ..Counts::default()
        },
        "{}",
        ended.text()
    );
    // Three Checks, a Watch, two SayHellos, a Ticks: each RPC a tracked HTTP/2 stream.
    assert_eq!(
        ended.session_counts("http/2 stream"),
        Counts {
            started: 7,
            finished: 7,
            ..Counts::default()
        },
        "{}",
        ended.text()
    );
}

/// Without a drain delay, the trigger and the stop come together: a health Watch still hears
/// NOT_SERVING before it ends, the `Ticks` stream in flight still ends with UNAVAILABLE, and
/// the program exits 0.
#[test]
fn without_a_drain_delay_the_watch_hears_not_serving_before_it_ends() {
    let mut server = Running::start(env!("CARGO_BIN_EXE_example-grpc"), &["127.0.0.1:0"], &[]);
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();
    let (mut watch, mut ticks) = rt.block_on(async {
        let channel = connect(&addr).await;
        let mut health = HealthClient::new(channel.clone());
        let watch = within("Watch", health.watch(HealthCheckRequest::default())).await;
        let mut watch = watch.expect("Watch").into_inner();
        while next_status(&mut watch).await != Some(Serving) {}
        let mut greeter = GreeterClient::new(channel);
        let ticks = within("Ticks", greeter.ticks(TicksRequest { interval_ms: 20 })).await;
        let mut ticks = ticks.expect("Ticks").into_inner();
        let tick = within("a tick", ticks.message()).await.expect("a tick");
        assert_eq!(tick, Some(Tick { n: 1 }));
        (watch, ticks)
    });

    server.signal(SIGTERM);

    rt.block_on(async {
        assert_eq!(next_status(&mut watch).await, Some(NotServing), "SIGTERM");
        assert_eq!(
            next_status(&mut watch).await,
            None,
            "the Watch ends at the stop"
        );
        let ended = end_of(&mut ticks).await;
        assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    });
    let (ended, _) = server.wait_exit(LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    let connections = ended.session_counts("http connection");
    assert_eq!(connections.finished, 1, "{}", ended.text());
}
