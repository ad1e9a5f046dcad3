//! The health endpoints, through real sockets and a real HTTP client: every status transition
//! of `/livez`, `/readyz` and `/startupz` during the start-up, a restart, the drain delay and
//! the drain; the `?verbose` bodies; the axum router; the start-up errors; and a real process
//! probed from outside while it receives SIGTERM.
//!
//! In process, the tests synchronise on the tree's lifecycle events and on gates they open
//! themselves, never on sleeps: each state is reached before it is probed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use canstop::health::Health;
use canstop::{
    Event, Ready, Restart, Root, Scope, Service, Shutdown, Signal, SpawnError, StartError, Trigger,
};
use tokio::sync::{mpsc, oneshot, watch};

use canstop_tests::{root, Running};

const LIMIT: Duration = Duration::from_secs(30);

/// A free port on the loopback interface.
const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// The tree's lifecycle events, for a test to wait for.
struct Events {
    incoming: mpsc::UnboundedReceiver<Event>,
    seen: Vec<Event>,
    /// The events before this index have been waited for.
    cursor: usize,
}

impl Events {
    fn listen(root: Root) -> (Root, Self) {
        let (sender, incoming) = mpsc::unbounded_channel();
        let root = root.on_event(move |event: &Event| {
            let _ = sender.send(event.clone());
        });
        let events = Self {
            incoming,
            seen: Vec::new(),
            cursor: 0,
        };
        (root, events)
    }

    /// Waits for the next event (after those waited for already) that is `wanted`.
    async fn until(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) {
        let found = tokio::time::timeout(LIMIT, async {
            loop {
                if let Some(at) = self.seen[self.cursor..].iter().position(&wanted) {
                    self.cursor += at + 1;
                    return;
                }
                let event = self.incoming.recv().await.expect("the tree's events ended");
                self.seen.push(event);
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {what} within {LIMIT:?}: {:#?}", self.seen));
    }

    /// Whether an event that is `wanted` has been published by now.
    fn published(&mut self, wanted: impl Fn(&Event) -> bool) -> bool {
        while let Ok(event) = self.incoming.try_recv() {
            self.seen.push(event);
        }
        self.seen.iter().any(wanted)
    }
}

/// A gate that a test opens, and that tree code waits for.
#[derive(Clone)]
struct Gate(Arc<watch::Sender<bool>>);

impl Gate {
    fn new() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }

    fn open(&self) {
        self.0.send_replace(true);
    }

    async fn wait(&self) {
        let _ = self.0.subscribe().wait_for(|open| *open).await;
    }
}

/// A real HTTP client of one server.
struct Client {
    http: reqwest::Client,
    addr: SocketAddr,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .no_proxy()
            .timeout(LIMIT)
            .build()
            .unwrap();
        Self { http, addr }
    }

    /// `GET path`: the status and the body.
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self.send(self.http.get(self.url(path))).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        request
            .send()
            .await
            .unwrap_or_else(|error| panic!("a request to {}: {error:?}", self.addr))
    }
}

/// What `main`'s body hands the test: a client of the built-in server, and the root scope.
fn hand_over(to: oneshot::Sender<(Client, Scope)>) -> Result<(), SpawnError> {
    let addr = Health::current()?
        .local_addr()
        .expect("the health server is bound");
    let _ = to.send((Client::new(addr), canstop::scope()?));
    Ok(())
}

/// A service that is ready once `ready` opens, then serves until told to stop.
fn ready_after(name: &'static str, ready: &Gate) -> Service {
    let ready = ready.clone();
    Service::new(name, move |shutdown: Shutdown| async move {
        ready.wait().await;
        Ready::of(&shutdown).set();
        shutdown.requested().await;
    })
    .signals_ready()
}

/// A gate open already.
fn opened() -> Gate {
    let gate = Gate::new();
    gate.open();
    gate
}

/// A service that, told to stop, stops only once `finish` opens: it holds the drain.
fn holds_the_drain(finish: &Gate) -> Service {
    let finish = finish.clone();
    Service::new("slow", move |shutdown: Shutdown| async move {
        shutdown.requested().await;
        finish.wait().await;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_passes_startupz_and_readyz_once_main_returned_and_every_service_is_ready() {
    let (root, mut events) = Events::listen(root().health_addr(LOOPBACK));
    let (db_ready, main_returns) = (Gate::new(), Gate::new());
    let (handed, handover) = oneshot::channel();
    let tree = root.run({
        let (db_ready, main_returns) = (db_ready.clone(), main_returns.clone());
        async move {
            canstop::start(ready_after("db", &db_ready))?;
            hand_over(handed)?;
            main_returns.wait().await;
            Ok::<(), SpawnError>(())
        }
    });
    let probes = async move {
        let (client, scope) = handover.await.unwrap();

        // Nothing ready, main's body running: alive, not started, not ready.
        assert_eq!(client.get("/livez").await, (200, "ok".to_owned()));
        assert_eq!(
            client.get("/livez?verbose").await,
            (
                200,
                "[+]ping ok\n[+]tree ok\nlivez check passed\n".to_owned()
            )
        );
        let not_started = "[+]ping ok\n[-]main failed: not returned yet\n[-]db failed: starting\n\
                           startupz check failed\n";
        // A failure is always verbose, as kube-apiserver's.
        assert_eq!(client.get("/startupz").await, (503, not_started.to_owned()));
        assert_eq!(
            client.get("/startupz?verbose").await,
            (503, not_started.to_owned())
        );
        assert_eq!(
            client.get("/readyz?verbose").await,
            (
                503,
                "[+]ping ok\n[+]shutdown ok\n[-]main failed: not returned yet\n\
                 [-]db failed: starting\nreadyz check failed\n"
                    .to_owned()
            )
        );
        // Excluding every failing check passes, as kube-apiserver's `?exclude=`.
        assert_eq!(
            client.get("/readyz?exclude=db&exclude=main").await,
            (200, "ok".to_owned())
        );

        // The service is ready; main's body has not returned.
        db_ready.open();
        events
            .until(
                "db ready",
                |e| matches!(e, Event::Ready { service } if service == "db"),
            )
            .await;
        assert_eq!(
            client.get("/readyz").await,
            (
                503,
                "[+]ping ok\n[+]shutdown ok\n[-]main failed: not returned yet\n[+]db ok\n\
                 readyz check failed\n"
                    .to_owned()
            )
        );
        assert_eq!(client.get("/startupz").await.0, 503);

        // main's body returns: the tree is ready, and started.
        main_returns.open();
        events
            .until("the tree ready", |e| matches!(e, Event::TreeReady))
            .await;
        assert_eq!(client.get("/readyz").await, (200, "ok".to_owned()));
        assert_eq!(client.get("/startupz").await, (200, "ok".to_owned()));
        assert_eq!(
            client.get("/readyz?verbose").await,
            (
                200,
                "[+]ping ok\n[+]shutdown ok\n[+]main ok\n[+]db ok\nreadyz check passed\n"
                    .to_owned()
            )
        );
        assert_eq!(
            client.get("/startupz?verbose").await,
            (
                200,
                "[+]ping ok\n[+]main ok\n[+]db ok\nstartupz check passed\n".to_owned()
            )
        );
        assert_eq!(
            client.get("/readyz?verbose&exclude=db&exclude=nope").await,
            (
                200,
                "[+]ping ok\n[+]shutdown ok\n[+]main ok\n[+]db excluded: ok\n\
                 warn: some health checks cannot be excluded: no matches for \"nope\"\n\
                 readyz check passed\n"
                    .to_owned()
            )
        );
        scope.shutdown_tree();
    };
    let (report, ()) = tokio::join!(tree, probes);
    let report = report.unwrap();
    assert!(report.is_clean(), "{report}");
    // Probes are not sessions: the report counts none.
    assert!(report.sessions.is_empty(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_lost_during_a_restart_and_back_once_the_new_instance_is_ready() {
    let (root, mut events) = Events::listen(root().health_addr(LOOPBACK));
    let (fail, second_ready) = (Gate::new(), Gate::new());
    let (handed, handover) = oneshot::channel();
    let tree = root.run({
        let (fail, second_ready) = (fail.clone(), second_ready.clone());
        async move {
            let instances = Arc::new(AtomicUsize::new(0));
            let flaky = Service::restartable("flaky", move |shutdown: Shutdown| {
                let instance = instances.fetch_add(1, Ordering::SeqCst);
                let (fail, second_ready) = (fail.clone(), second_ready.clone());
                async move {
                    if instance == 0 {
                        Ready::of(&shutdown).set();
                        fail.wait().await;
                        return Err("lost its connection");
                    }
                    second_ready.wait().await;
                    Ready::of(&shutdown).set();
                    shutdown.requested().await;
                    Ok(())
                }
            })
            .restart(Restart::OnFailure)
            .backoff(Duration::from_millis(1), Duration::from_millis(1))
            .signals_ready();
            canstop::start(flaky)?;
            hand_over(handed)
        }
    });
    let probes = async move {
        let (client, scope) = handover.await.unwrap();
        events
            .until("the tree ready", |e| matches!(e, Event::TreeReady))
            .await;
        assert_eq!(client.get("/readyz").await, (200, "ok".to_owned()));

        // The first instance fails: not ready until the second is.
        fail.open();
        events
            .until("the tree not ready", |e| matches!(e, Event::TreeNotReady))
            .await;
        let (status, body) = client.get("/readyz").await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body.starts_with("[+]ping ok\n[+]shutdown ok\n[+]main ok\n[-]flaky failed: "),
            "{body}"
        );
        assert!(
            body.contains("[-]flaky failed: starting\n")
                || body.contains("[-]flaky failed: restarting (attempt 1, next try in "),
            "{body}"
        );
        // A restart is neither a failure of the tree nor a new start-up.
        assert_eq!(client.get("/livez").await, (200, "ok".to_owned()));
        assert_eq!(client.get("/startupz").await, (200, "ok".to_owned()));

        second_ready.open();
        events
            .until("the tree ready again", |e| matches!(e, Event::TreeReady))
            .await;
        assert_eq!(client.get("/readyz").await, (200, "ok".to_owned()));
        scope.shutdown_tree();
    };
    let (report, ()) = tokio::join!(tree, probes);
    let report = report.unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.service("flaky").unwrap().restarts, 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_from_the_signal_on_livez_passes_to_the_end_and_the_server_closes_last() {
    let (root, mut events) = Events::listen(
        root()
            .health_addr(LOOPBACK)
            .drain_delay(Duration::from_secs(2))
            .timeout(LIMIT),
    );
    let finish = Gate::new();
    let (handed, handover) = oneshot::channel();
    let tree = root.run({
        let finish = finish.clone();
        async move {
            canstop::start(holds_the_drain(&finish))?;
            hand_over(handed)
        }
    });
    let probes = async move {
        let (client, scope) = handover.await.unwrap();
        events
            .until("the tree ready", |e| matches!(e, Event::TreeReady))
            .await;
        assert_eq!(client.get("/readyz").await, (200, "ok".to_owned()));

        // SIGTERM: the readiness drops with the trigger, before `deliver_signal` returns.
        scope.deliver_signal(Signal::Terminate);
        let (ready, body) = client.get("/readyz").await;
        assert_eq!(ready, 503, "{body}");
        assert_eq!(client.get("/livez").await, (200, "ok".to_owned()));
        assert_eq!(client.get("/startupz").await, (200, "ok".to_owned()));
        // Answered within the delay (no stop published yet): it says so. (On a machine so
        // loaded that the 2 s passed, the stop's reason below is checked instead.)
        if !events.published(|e| matches!(e, Event::Stopping { .. })) {
            assert!(
                body.contains("[-]shutdown failed: draining (SIGTERM)\n"),
                "{body}"
            );
            assert!(body.contains("[+]slow ok\n"), "{body}");
        }

        // The stop: the service holds the drain; the endpoints still answer.
        events
            .until("the stop", |e| matches!(e, Event::Stopping { .. }))
            .await;
        let (ready, body) = client.get("/readyz").await;
        assert_eq!(ready, 503, "{body}");
        assert!(
            body.contains("[-]shutdown failed: stopping (SIGTERM)\n"),
            "{body}"
        );
        assert!(body.contains("[-]slow failed: stopping\n"), "{body}");
        assert_eq!(client.get("/livez").await, (200, "ok".to_owned()));
        assert_eq!(client.get("/startupz").await, (200, "ok".to_owned()));
        finish.open();
        client.addr
    };
    let (report, addr) = tokio::join!(tree, probes);
    let report = report.unwrap();
    assert!(report.is_clean(), "{report}");
    // The delay waited (real time): the 2 s configured, give or take the clock.
    let waited = report.drain_delay.expect("a drain delay");
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(3),
        "{report}"
    );
    // Closed once the report is made: nothing listens any more.
    let refused = tokio::net::TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_fails_livez_while_the_tree_drains() {
    let (root, mut events) = Events::listen(root().health_addr(LOOPBACK).timeout(LIMIT));
    let (fail, finish) = (Gate::new(), Gate::new());
    let (handed, handover) = oneshot::channel();
    let tree = root.run({
        let (fail, finish) = (fail.clone(), finish.clone());
        async move {
            canstop::start(holds_the_drain(&finish))?;
            canstop::start(Service::new("broken", move |_: Shutdown| async move {
                fail.wait().await;
                Err::<(), _>("boom")
            }))?;
            hand_over(handed)
        }
    });
    let probes = async move {
        let (client, _scope) = handover.await.unwrap();
        events
            .until("the tree ready", |e| matches!(e, Event::TreeReady))
            .await;
        assert_eq!(client.get("/livez").await, (200, "ok".to_owned()));
        fail.open();
        events
            .until("the trigger", |e| matches!(e, Event::Triggered { .. }))
            .await;
        assert_eq!(
            client.get("/livez").await,
            (
                503,
                "[+]ping ok\n[-]tree failed: service \"broken\" failed: boom\n\
                 livez check failed\n"
                    .to_owned()
            )
        );
        let (ready, body) = client.get("/readyz?verbose").await;
        assert_eq!(ready, 503, "{body}");
        assert!(
            body.contains("[-]shutdown failed: stopping (service \"broken\" failed: boom)\n"),
            "{body}"
        );
        finish.open();
    };
    let (report, ()) = tokio::join!(tree, probes);
    let report = report.unwrap();
    assert!(
        matches!(&report.trigger, Trigger::ServiceFailed { service, .. } if service == "broken"),
        "{report}"
    );
    assert_ne!(report.exit_code(), 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_answers_as_the_built_in_server_in_the_programs_own_axum_app() {
    let (root, mut events) = Events::listen(root().health_addr(LOOPBACK));
    let (handed, handover) = oneshot::channel();
    let (routed, router) = oneshot::channel();
    let tree = root.run(async move {
        canstop::start(ready_after("db", &opened()))?;
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "hello" }))
            .merge(canstop::health::router()?);
        let _ = routed.send(app);
        hand_over(handed)
    });
    let probes = async move {
        let (built_in, scope) = handover.await.unwrap();
        // The program's own server (here a plain axum server beside the tree).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mounted = Client::new(listener.local_addr().unwrap());
        let app = router.await.unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        // The same answers from a router built from a scope, outside the tree's code.
        let of_scope = Health::of(&scope).router::<()>();
        assert!(format!("{:?}", Health::of(&scope)).contains("local_addr"));
        drop(of_scope);

        events
            .until("the tree ready", |e| matches!(e, Event::TreeReady))
            .await;
        assert_eq!(mounted.get("/").await, (200, "hello".to_owned()));
        for path in [
            "/livez",
            "/readyz",
            "/startupz",
            "/livez?verbose",
            "/readyz?verbose",
            "/startupz?verbose",
            "/readyz?verbose&exclude=nope",
        ] {
            assert_eq!(mounted.get(path).await, built_in.get(path).await, "{path}");
        }
        for client in [&built_in, &mounted] {
            let response = client.send(client.http.get(client.url("/readyz"))).await;
            let headers = response.headers();
            assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            // HEAD: the status, no body.
            let head = client.send(client.http.head(client.url("/readyz"))).await;
            assert_eq!(head.status().as_u16(), 200);
            assert_eq!(head.text().await.unwrap(), "");
            // Any other method: 405.
            let post = client.send(client.http.post(client.url("/readyz"))).await;
            assert_eq!(post.status().as_u16(), 405);
        }
        assert_eq!(built_in.get("/healthz").await.0, 404);
        server.abort();
        scope.shutdown_tree();
    };
    let (report, ()) = tokio::join!(tree, probes);
    assert!(report.unwrap().is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_in_use_is_a_start_up_error_and_nothing_runs() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let error = root()
        .health_addr(addr)
        .run({
            let ran = ran.clone();
            async move {
                ran.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await
        .unwrap_err();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(error.exit_code(), canstop::exit_code::CONFIG);
    let StartError::HealthBind {
        addr: at,
        error: io,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*at, addr);
    assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse);
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot serve the health endpoints on {addr}: ")),
        "{error}"
    );
}

/// The `probed` program, with `env`.
fn probed(env: &[(&str, &str)]) -> Running {
    Running::start(env!("CARGO_BIN_EXE_probed"), &[], env)
}

/// A runtime for the client of a child process.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// `GET path` on `addr`, or `None` once the server has gone: nothing listens, or the
/// connection was closed under the request as the program exited.
async fn probe(http: &reqwest::Client, addr: &str, path: &str) -> Option<(u16, String)> {
    let response = http.get(format!("http://{addr}{path}")).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

#[test]
fn a_real_process_is_probed_through_sigterm_its_delay_and_its_drain() {
    // A delay of 3 s (the environment overrides the 1 s compiled in): room to see it, on a
    // loaded machine too.
    let mut child = probed(&[
        ("CANSTOP_HEALTH_ADDR", "127.0.0.1:0"),
        ("CANSTOP_DRAIN_DELAY", "3s"),
    ]);
    // The environment overrides the address compiled in (127.0.0.2).
    let addr = child.wait_for_prefix("health on ", LIMIT);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    child.wait_for_line("READY", LIMIT);
    let rt = client_runtime();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .no_proxy()
        .timeout(LIMIT)
        .build()
        .unwrap();
    rt.block_on(async {
        // Ready once main's body has returned (a moment after READY).
        let until = Instant::now() + LIMIT;
        while probe(&http, &addr, "/readyz")
            .await
            .map(|(status, _)| status)
            != Some(200)
        {
            assert!(Instant::now() < until, "never ready");
            tokio::task::yield_now().await;
        }
    });
    child.signal(nix::sys::signal::Signal::SIGTERM);
    let (readyz, livez) = rt.block_on(async {
        // The signal is read on a thread of the program's: not ready from then on.
        let until = Instant::now() + LIMIT;
        let first = loop {
            let answer = probe(&http, &addr, "/readyz?verbose").await;
            match answer {
                Some(answer) if answer.0 == 503 => break answer,
                Some(_) => {}
                None => panic!("closed before it was seen not ready"),
            }
            assert!(
                Instant::now() < until,
                "still ready {LIMIT:?} after SIGTERM"
            );
        };
        // Then every answer until the program has gone: readyz 503, livez 200.
        let (mut readyz, mut livez) = (vec![first], Vec::new());
        while Instant::now() < until {
            let Some(ready) = probe(&http, &addr, "/readyz?verbose").await else {
                break;
            };
            readyz.push(ready);
            let Some(live) = probe(&http, &addr, "/livez").await else {
                break;
            };
            livez.push(live);
        }
        (readyz, livez)
    });
    let (ended, _) = child.wait_exit(LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    assert!(!readyz.is_empty() && !livez.is_empty());
    for (status, body) in &readyz {
        assert_eq!(*status, 503, "{body}");
        assert!(
            body.contains("[-]shutdown failed: draining (SIGTERM)\n")
                || body.contains("[-]shutdown failed: stopping (SIGTERM)\n"),
            "{body}"
        );
    }
    assert!(
        readyz
            .iter()
            .any(|(_, body)| body.contains("draining (SIGTERM)")),
        "never seen draining during the 3 s delay: {readyz:?}"
    );
    assert!(
        livez.iter().all(|answer| *answer == (200, "ok".to_owned())),
        "{livez:?}"
    );
    ended.assert_says("drained for a delay of 3");
}

#[test]
fn the_address_compiled_in_applies_without_the_environment() {
    let mut child = probed(&[]);
    let addr = child.wait_for_prefix("health on ", LIMIT);
    assert!(addr.starts_with("127.0.0.2:"), "{addr}");
    child.wait_for_line("READY", LIMIT);
    child.signal(nix::sys::signal::Signal::SIGTERM);
    let (ended, _) = child.wait_exit(LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
}

#[test]
fn a_malformed_or_taken_address_stops_the_program_at_start_up_with_exit_78() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    for (value, says) in [
        (
            "localhost:8081",
            "CANSTOP_HEALTH_ADDR=\"localhost:8081\": expected an IP address and a port".to_owned(),
        ),
        (
            taken.as_str(),
            format!("cannot serve the health endpoints on {taken}: "),
        ),
    ] {
        let child = probed(&[("CANSTOP_HEALTH_ADDR", value)]);
        let (ended, _) = child.wait_exit(LIMIT);
        assert_eq!(ended.code(), Some(78), "{value}: {}", ended.text());
        assert!(ended.text().contains(&says), "{value}: {}", ended.text());
        assert!(!ended.text().contains("READY"), "{}", ended.text());
    }
}
