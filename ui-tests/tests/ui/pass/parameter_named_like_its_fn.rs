//! A parameter may have its fn's name, used by name, only through a format string's
//! `{request}`, or not at all: the generated call passes the parameter, not the inner fn.

use std::sync::{Arc, Mutex};

use canstop::{service, session, Root, Shutdown};

#[session]
async fn request(request: u64, log: Arc<Mutex<Vec<String>>>) {
    log.lock().unwrap().push(format!("handling {request}"));
}

#[session]
async fn width(width: usize, log: Arc<Mutex<Vec<String>>>) {
    log.lock().unwrap().push(format!("[{:>width$}]", "x"));
}

#[service]
async fn ticker(#[allow(unused_variables)] ticker: u8, shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let report = Root::new()
        .signals(false)
        .block_on(async move {
            canstop::start(ticker(1))?;
            canstop::spawn(request(7, log.clone()))?;
            canstop::spawn(width(3, log))?;
            canstop::shutdown()
        })
        .unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["[  x]", "handling 7"]);
    let requests = report.sessions_named("request").unwrap();
    assert_eq!((requests.started, requests.finished), (1, 1), "{report}");
    assert_eq!(report.exit_code(), 0, "{report}");
}
