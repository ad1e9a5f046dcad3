//! The example programs, end to end: each is started as a child process, driven over
//! loopback by a real client, sent a real signal mid-load, and judged from the client's
//! side and by its exit code and report.

use std::path::PathBuf;
use std::time::Duration;

use canstop_tests::{Counts, Running};
use nix::sys::signal::Signal::SIGTERM;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(30);

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime")
}

/// 200 connections mid-conversation when SIGTERM arrives: every line sent before the signal
/// is echoed, every connection closes cleanly, the report counts 200 sessions, exit 0.
#[test]
fn echo_answers_every_line_sent_before_sigterm_and_exits_0() {
    const CONNECTIONS: usize = 200;
    let mut server = Running::start(env!("CARGO_BIN_EXE_example-echo"), &["127.0.0.1:0"], &[]);
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();

    // Open every connection and hold a first exchange on each.
    let mut connections = rt.block_on(async {
        let mut connections = Vec::new();
        for i in 0..CONNECTIONS {
            let stream = TcpStream::connect(&addr).await.expect("connect");
            let mut stream = BufReader::new(stream);
            stream
                .write_all(format!("hello {i}\n").as_bytes())
                .await
                .unwrap();
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            assert_eq!(line, format!("hello {i}\n"));
            connections.push(stream);
        }
        // A second line on each, sent before the signal; not yet read back.
        for (i, stream) in connections.iter_mut().enumerate() {
            stream
                .write_all(format!("second {i}\n").as_bytes())
                .await
                .unwrap();
        }
        connections
    });

    server.signal(SIGTERM);

    rt.block_on(async {
        for (i, stream) in connections.iter_mut().enumerate() {
            let mut rest = String::new();
            // read_to_string fails on a reset: a clean close is an EOF after `bye`.
            stream.read_to_string(&mut rest).await.expect("clean close");
            assert_eq!(rest, format!("second {i}\nbye\n"));
        }
    });

    let ended = server.wait_exit_printed("echo", LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    assert_eq!(
        ended.session_counts("echo"),
        Counts {
            started: CONNECTIONS as u64,
            finished: CONNECTIONS as u64,
            ..Counts::default()
        }
    );
}

/// 200 clients that never stop talking (a line every 10 ms each) when SIGTERM arrives: the
/// linger after the stop is bounded, so every client still gets `bye`, and the program exits
/// 0 long before its 10 s deadline.
#[test]
fn echo_says_bye_to_chatty_clients_and_exits_0_well_before_the_deadline() {
    const CONNECTIONS: usize = 200;
    let mut server = Running::start(env!("CARGO_BIN_EXE_example-echo"), &["127.0.0.1:0"], &[]);
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();

    // Every client talks until it hears `bye`; it reports its first echo, then the end.
    let (echoed, mut first_echoes) = tokio::sync::mpsc::unbounded_channel::<()>();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let addr = addr.clone();
            let echoed = echoed.clone();
            rt.spawn(async move {
                let stream = TcpStream::connect(&addr).await.expect("connect");
                let (reader, mut writer) = stream.into_split();
                let talker = tokio::spawn(async move {
                    let mut ticker = tokio::time::interval(Duration::from_millis(10));
                    for n in 0.. {
                        ticker.tick().await;
                        let line = format!("client {i} line {n}\n");
                        if writer.write_all(line.as_bytes()).await.is_err() {
                            return; // the server has closed
                        }
                    }
                });
                let mut lines = BufReader::new(reader).lines();
                let mut echoes = 0;
                let heard = loop {
                    match lines.next_line().await {
                        Ok(Some(line)) if line == "bye" => break Ok(echoes),
                        Ok(Some(line)) => {
                            assert!(line.starts_with(&format!("client {i} line ")), "{line}");
                            echoes += 1;
                            if echoes == 1 {
                                let _ = echoed.send(());
                            }
                        }
                        Ok(None) => break Err(format!("client {i}: closed without bye")),
                        Err(error) => break Err(format!("client {i}: {error}")),
                    }
                };
                talker.abort();
                heard
            })
        })
        .collect();
    drop(echoed);
    rt.block_on(async {
        for _ in 0..CONNECTIONS {
            first_echoes.recv().await.expect("every client is echoed");
        }
    });

    server.signal(SIGTERM);
    let started = std::time::Instant::now();
    let heard: Vec<_> = rt.block_on(async {
        let mut heard = Vec::new();
        for client in clients {
            heard.push(client.await.expect("client task"));
        }
        heard
    });
    let (ended, _) = server.wait_exit(LIMIT);
    let took = started.elapsed();
    println!(
        "echo, chatty clients: exit {:?} {took:?} after SIGTERM\n{}",
        ended.code(),
        ended.text()
    );
    for result in heard {
        let echoes = result.expect("bye");
        assert!(echoes > 0);
    }
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    // The linger is at most 1 s after the stop.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(
        ended.session_counts("echo"),
        Counts {
            started: CONNECTIONS as u64,
            finished: CONNECTIONS as u64,
            ..Counts::default()
        }
    );
}

/// Under a 64-descriptor limit, more connections than descriptors: `accept` fails with
/// `EMFILE`. The server logs it and retries instead of failing; once the clients have gone,
/// it serves again, and SIGTERM still ends it with 0.
#[test]
fn http_survives_running_out_of_file_descriptors() {
    const CONNECTIONS: usize = 100;
    let program = env!("CARGO_BIN_EXE_example-http");
    let mut server = Running::start("prlimit", &["--nofile=64", program, "127.0.0.1:0"], &[]);
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();
    let connections = rt.block_on(async {
        let mut connections = Vec::new();
        for _ in 0..CONNECTIONS {
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            stream
                .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
                .await
                .unwrap();
            connections.push(stream);
        }
        connections
    });
    server.wait_for_log("accept failed", 1, LIMIT);
    drop(connections);

    // Served again (after the accept loop's pause).
    let started = std::time::Instant::now();
    let body = rt.block_on(async {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    });
    let served_after = started.elapsed();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.ends_with("hello\n"), "{body}");

    server.signal(SIGTERM);
    let (ended, took) = server.wait_exit(LIMIT);
    println!(
        "http out of descriptors: served again after {served_after:?}; exit {:?} {took:?} \
         after SIGTERM\n{}",
        ended.code(),
        ended.text()
    );
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    assert!(served_after < Duration::from_secs(3), "{served_after:?}");
}

/// SIGTERM during 200 slow requests: all get 200 OK, new connections are refused once the
/// trigger has closed the listener, exit 0.
#[test]
fn http_answers_every_request_in_flight_and_refuses_new_connections() {
    const REQUESTS: usize = 200;
    let mut server = Running::start(
        env!("CARGO_BIN_EXE_example-http"),
        &["127.0.0.1:0"],
        &[("RUST_LOG", "info,canstop_examples=debug")],
    );
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let request = client.get(format!("http://{addr}/slow")).send();
            rt.spawn(async move {
                let response = request.await?;
                let status = response.status();
                Ok::<_, reqwest::Error>((status, response.text().await?))
            })
        })
        .collect();

    // Every request is in the handler: now the signal.
    server.wait_for_log("slow request started", REQUESTS, LIMIT);
    server.signal(SIGTERM);
    server.wait_for_log("http server stopped accepting", 1, LIMIT);
    let refused = std::net::TcpStream::connect(&addr).expect_err("connect after the trigger");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    rt.block_on(async {
        for request in requests {
            let (status, body) = request.await.unwrap().expect("request in flight answered");
            assert_eq!(status, reqwest::StatusCode::OK);
            assert_eq!(body, "slow hello\n");
        }
    });
    let ended = server.wait_exit_printed("http", LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());
    let connections = ended.session_counts("http connection");
    assert_eq!(connections.started, REQUESTS as u64, "{}", ended.text());
    assert_eq!(connections.finished, connections.started);
}

/// The worker fails: the server is shut down too, the worker is the trigger, exit 1.
#[test]
fn http_shuts_down_when_its_worker_fails() {
    let mut server = Running::start(
        env!("CARGO_BIN_EXE_example-http"),
        &["127.0.0.1:0"],
        &[("WORKER_FAIL_AFTER", "3")],
    );
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let (ended, _) = server.wait_exit(LIMIT);
    let text = ended.text();
    println!(
        "http with a failing worker: exit {:?}\n{text}",
        ended.code()
    );
    assert_eq!(ended.code(), Some(1), "{text}");
    assert!(
        text.contains("trigger: service \"worker\" failed: upstream unavailable after 3 ticks"),
        "{text}"
    );
    assert!(text.contains("http: stopped cleanly"), "{text}");
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the server is gone"
    );
}

/// SIGTERM while jobs are being worked: the consumer stops claiming, the jobs in flight
/// finish, and every job is either done or still waiting in the queue.
#[test]
fn queue_loses_no_job_on_sigterm() {
    const JOBS: usize = 40;
    let spool = scratch_dir("queue");
    for dir in ["incoming", "working", "done"] {
        std::fs::create_dir_all(spool.join(dir)).unwrap();
    }
    for i in 0..JOBS {
        std::fs::write(
            spool.join("incoming").join(format!("job-{i:02}")),
            format!("payload {i}"),
        )
        .unwrap();
    }
    let mut consumer = Running::start(
        env!("CARGO_BIN_EXE_example-queue"),
        &[spool.to_str().unwrap()],
        &[("QUEUE_WORKERS", "4"), ("QUEUE_JOB_MS", "100")],
    );
    consumer.wait_for_log("job done", 8, LIMIT);
    consumer.signal(SIGTERM);
    let ended = consumer.wait_exit_printed("queue", LIMIT);
    assert_eq!(ended.code(), Some(0), "{}", ended.text());

    let names = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(spool.join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let (waiting, working, done) = (names("incoming"), names("working"), names("done"));
    assert!(working.is_empty(), "jobs left half-done: {working:?}");
    assert_eq!(
        waiting.len() + done.len(),
        JOBS,
        "waiting {waiting:?} done {done:?}"
    );
    assert!(
        done.len() >= 8 && !waiting.is_empty(),
        "the signal came mid-queue: {} done",
        done.len()
    );
    for name in &done {
        let i: usize = name["job-".len()..].parse().unwrap();
        let result = std::fs::read_to_string(spool.join("done").join(name)).unwrap();
        assert_eq!(result, format!("PAYLOAD {i}"));
    }
    let jobs = ended.session_counts("job");
    assert_eq!(jobs.started, done.len() as u64, "{}", ended.text());
    assert_eq!(jobs.finished, jobs.started);
    std::fs::remove_dir_all(&spool).unwrap();
}

/// A service that ignores its stop and a session that never ends: both aborted at the 2 s
/// deadline, named in the report, exit 124.
#[test]
fn stubborn_is_aborted_at_the_deadline_with_a_noisy_report() {
    let mut program = Running::start(env!("CARGO_BIN_EXE_example-stubborn"), &[], &[]);
    program.wait_for_line("running; stop me", LIMIT);
    program.signal(SIGTERM);
    let (ended, took) = program.wait_exit(LIMIT);
    let text = ended.text();
    println!(
        "stubborn: exit {:?} {took:?} after SIGTERM\n{text}",
        ended.code()
    );
    assert_eq!(ended.code(), Some(124), "{text}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert!(text.contains("stubborn: ABORTED at its deadline"), "{text}");
    assert!(text.contains("polite: stopped cleanly"), "{text}");
    let long = ended.session_counts("long_report");
    assert_eq!((long.started, long.aborted), (1, 1));
}

/// The report shows the supervisor tree, children indented under their parents.
#[test]
fn tree_reports_the_tree() {
    let mut program = Running::start(
        env!("CARGO_BIN_EXE_example-tree"),
        &[],
        &[("RUST_LOG", "info,example_tree=debug")],
    );
    program.wait_for_line("pipeline running", LIMIT);
    program.wait_for_log("batch done", 3, LIMIT);
    program.signal(SIGTERM);
    let (ended, _) = program.wait_exit(LIMIT);
    let text = ended.text();
    println!("tree: exit {:?}\n{text}", ended.code());
    assert_eq!(ended.code(), Some(0), "{text}");
    let tree: Vec<String> = ended
        .stderr
        .iter()
        .filter(|line| line.contains(": stopped cleanly"))
        .map(|line| {
            line.split(": stopped")
                .next()
                .unwrap()
                .trim_end()
                .to_owned()
        })
        .collect();
    assert_eq!(
        tree,
        [
            "    pipeline",
            "      ingest",
            "        parser",
            "      index",
            "    metrics",
        ],
        "{text}"
    );
    let batches = ended.session_counts("batch");
    assert_eq!(batches.finished, batches.started);
}

/// A fresh directory under the system's temp dir.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canstop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The supervised example with an upstream that never recovers: two restarts, then the
/// third failure within 5 s escalates: the tree stops, exit 1, and the report shows every
/// failure and the chain.
#[test]
fn supervised_restarts_twice_then_escalates_and_exits_1() {
    let program = Running::start(
        env!("CARGO_BIN_EXE_example-supervised"),
        &["127.0.0.1:0"],
        &[("UPSTREAM_FAIL_AFTER_MS", "200")],
    );
    let (ended, _) = program.wait_exit(LIMIT);
    let text = ended.text();
    println!("supervised: exit {:?}\n{text}", ended.code());
    assert_eq!(ended.code(), Some(1), "{text}");
    for instance in 1..=3 {
        let line = format!("upstream instance {instance} up");
        assert!(ended.stdout.contains(&line), "{text}");
    }
    assert!(
        !ended.stdout.contains(&"upstream instance 4 up".to_owned()),
        "{text}"
    );
    assert!(
        text.contains(
            "trigger: service \"upstream\" failed 3 times within 5s: upstream connection 3 reset \
             by peer"
        ),
        "{text}"
    );
    assert!(text.contains("restarted 2 times; 3 failures"), "{text}");
    assert!(
        text.contains("upstream connection 1 reset by peer"),
        "{text}"
    );
}

/// The supervised example with an upstream that recovers on its third instance: a real
/// client talks to the front end the whole time and is answered by every instance in turn;
/// SIGTERM then stops everything cleanly, exit 0, the two restarts in the report.
#[test]
fn supervised_keeps_serving_a_client_through_the_restarts_and_exits_0() {
    let mut program = Running::start(
        env!("CARGO_BIN_EXE_example-supervised"),
        &["127.0.0.1:0"],
        &[
            ("UPSTREAM_FAIL_AFTER_MS", "200"),
            ("UPSTREAM_FAILURES", "2"),
        ],
    );
    let addr = program.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();
    let stream = rt.block_on(TcpStream::connect(&addr)).expect("connect");
    let client = rt.spawn(async move {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut instances = std::collections::BTreeSet::new();
        let mut asked = 0u64;
        loop {
            asked += 1;
            if write
                .write_all(format!("ping {asked}\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
            let Some(line) = lines.next_line().await.expect("a clean connection") else {
                break;
            };
            if line == "bye" {
                assert_eq!(lines.next_line().await.expect("clean close"), None);
                return (instances, asked, true);
            }
            let instance: u64 = line
                .split("upstream instance ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected answer {line:?}"));
            instances.insert(instance);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (instances, asked, false)
    });
    program.wait_for_line("upstream instance 3 up", LIMIT);
    // The third instance is healthy: let it serve a little, then stop the program.
    program.wait_for_log("service restarting", 2, LIMIT);
    std::thread::sleep(Duration::from_millis(300));
    program.signal(SIGTERM);
    let (ended, _) = program.wait_exit(LIMIT);
    let text = ended.text();
    let (instances, asked, said_bye) = rt.block_on(client).expect("the client task");
    println!(
        "supervised: exit {:?}; client saw instances {instances:?} over {asked} lines\n{text}",
        ended.code()
    );
    assert!(
        said_bye,
        "the client was told bye and the connection closed cleanly"
    );
    assert_eq!(ended.code(), Some(0), "{text}");
    assert!(instances.is_superset(&[1, 2, 3].into()), "{instances:?}");
    assert!(text.contains("restarted 2 times; 2 failures"), "{text}");
    assert_eq!(ended.session_counts("client").finished, 1, "{text}");
}

/// The ordered example: started in the wrong order, the three services start database,
/// cache, api (each once what it needs is ready); a real HTTP request is answered; SIGTERM
/// stops them api, cache, database, each once the one that needs it has stopped; exit 0.
#[test]
fn ordered_starts_in_dependency_order_and_stops_in_reverse_after_sigterm() {
    let mut program = Running::start(
        env!("CARGO_BIN_EXE_example-ordered"),
        &["127.0.0.1:0"],
        &[("DATABASE_CONNECT_MS", "200")],
    );
    let addr = program.wait_for_prefix("listening on ", LIMIT);
    program.wait_for_line("tree ready", LIMIT);
    let rt = client_runtime();
    let answer = rt.block_on(async {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.0\r\n\r\n")
            .await
            .expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("answer");
        answer
    });
    assert!(answer.starts_with("HTTP/1.0 200 OK"), "{answer}");
    program.signal(SIGTERM);
    let (ended, _) = program.wait_exit(LIMIT);
    let text = ended.text();
    println!("ordered: exit {:?}\n{text}", ended.code());
    assert_eq!(ended.code(), Some(0), "{text}");
    let steps: Vec<&str> = ended
        .stdout
        .iter()
        .map(String::as_str)
        .filter(|line| !line.starts_with("listening on "))
        .map(|line| line.split(" after ").next().unwrap_or(line))
        .collect();
    assert_eq!(
        steps,
        [
            "database starting",
            "database ready",
            "cache starting",
            "cache ready",
            "api ready",
            "tree ready",
            "api stopping",
            "api stopped",
            "cache stopping",
            "cache stopped",
            "database stopping",
            "database stopped",
        ],
        "{text}"
    );
}

/// What a client opening a new connection every 10 ms saw after SIGTERM, and what the health
/// endpoints answered meanwhile.
#[derive(Debug, Default)]
struct Race {
    answered: usize,
    refused: usize,
    other: Vec<String>,
    /// `/readyz` and `/livez` just after the signal.
    readyz: u16,
    livez: u16,
}

/// A free loopback port, for `CANSTOP_HEALTH_ADDR`.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The status code of `GET path` on `addr` (HTTP/1.0), 0 when refused.
async fn probe(addr: &str, path: &str) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return 0;
    };
    let request = format!("GET {path} HTTP/1.0\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// SIGTERM to the http example, then a real client opens a new connection every 10 ms for
/// 1.8 s (the time Kubernetes keeps routing to a terminating pod) and sends a request on each.
fn kubernetes_race(drain_delay: &str) -> (Race, canstop_tests::Ended) {
    let health = format!("127.0.0.1:{}", free_port());
    let mut server = Running::start(
        env!("CARGO_BIN_EXE_example-http"),
        &["127.0.0.1:0"],
        &[
            ("CANSTOP_DRAIN_DELAY", drain_delay),
            ("CANSTOP_HEALTH_ADDR", health.as_str()),
        ],
    );
    let addr = server.wait_for_prefix("listening on ", LIMIT);
    let rt = client_runtime();
    // Ready before the signal (the endpoint is up before main's body runs; the tree is ready
    // once the server listens).
    rt.block_on(async {
        let until = tokio::time::Instant::now() + LIMIT;
        while probe(&health, "/readyz").await != 200 {
            assert!(tokio::time::Instant::now() < until, "never ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    server.signal(SIGTERM);
    let race = rt.block_on(async move {
        // Probed the way a kubelet does: not ready within moments of the signal (its
        // delivery is asynchronous), still alive.
        let signalled = tokio::time::Instant::now();
        let mut readyz = probe(&health, "/readyz").await;
        while readyz == 200 && signalled.elapsed() < Duration::from_millis(500) {
            tokio::time::sleep(Duration::from_millis(5)).await;
            readyz = probe(&health, "/readyz").await;
        }
        let livez = probe(&health, "/livez").await;
        let started = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        let mut requests = Vec::new();
        while started.elapsed() < Duration::from_millis(1800) {
            ticker.tick().await;
            let addr = addr.clone();
            requests.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(&addr).await?;
                stream
                    .write_all(b"GET / HTTP/1.1\r\nhost: canstop\r\n\r\n")
                    .await?;
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await?;
                Ok::<String, std::io::Error>(answer)
            }));
        }
        // Still not ready, still alive, at the end of the client's 1.8 s (inside the delay).
        let late = (
            probe(&health, "/readyz").await,
            probe(&health, "/livez").await,
        );
        let readyz = if late.0 == readyz { readyz } else { late.0 };
        let livez = if late.1 == livez { livez } else { late.1 };
        let mut race = Race {
            readyz,
            livez,
            ..Race::default()
        };
        for request in requests {
            match request.await.expect("the client task") {
                Ok(answer) if answer.starts_with("HTTP/1.1 200 OK") => race.answered += 1,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    race.refused += 1;
                }
                Ok(answer) => race.other.push(answer),
                Err(error) => race.other.push(error.to_string()),
            }
        }
        race
    });
    let (ended, _) = server.wait_exit(LIMIT);
    println!(
        "http, SIGTERM with CANSTOP_DRAIN_DELAY={drain_delay:?}: {race:?}, exit {:?}\n{}",
        ended.code(),
        ended.text()
    );
    (race, ended)
}

/// With a 2 s drain delay, every connection opened during the 1.8 s after SIGTERM is served
/// (without keep-alive), and the report counts each; exit 0.
#[test]
fn http_with_a_drain_delay_serves_every_connection_opened_after_sigterm() {
    let (race, ended) = kubernetes_race("2s");
    let text = ended.text();
    assert_eq!(ended.code(), Some(0), "{text}");
    // Not ready from the signal on, alive throughout.
    assert_eq!((race.readyz, race.livez), (503, 200), "{race:?}");
    assert!(race.answered >= 100, "{race:?}");
    assert_eq!((race.refused, race.other.len()), (0, 0), "{race:?}");
    let connections = ended.session_counts("http connection");
    assert_eq!(connections.started, race.answered as u64, "{text}");
    assert_eq!(connections.finished, connections.started, "{text}");
    assert!(text.contains("drained for a delay of 2"), "{text}");
}

/// The control: without a delay, the listener closes at the signal and the new connections
/// are refused (counted by the client, not failures of the server); exit 0.
#[test]
fn http_without_a_drain_delay_refuses_the_connections_opened_after_sigterm() {
    let (race, ended) = kubernetes_race("");
    let text = ended.text();
    assert_eq!(ended.code(), Some(0), "{text}");
    assert!(race.refused >= race.answered + race.other.len(), "{race:?}");
    if race.answered == 0 {
        assert!(text.contains("sessions: none"), "{text}");
    } else {
        let connections = ended.session_counts("http connection");
        assert_eq!(connections.started, race.answered as u64, "{text}");
    }
}
