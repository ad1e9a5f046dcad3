//! `needs`, `ready_timeout` and `stop_order` on `#[service]` go to the `Service` it builds
//! (on `main`: `main_stop_order.rs`).

use canstop::{service, Ready, Root, Service, Shutdown};

#[service]
async fn db(ready: Ready, shutdown: Shutdown) {
    ready.set();
    shutdown.requested().await;
}

#[service(name = "cache", needs = ["db"])]
async fn memcache(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[service(needs = ["db", "cache",], ready_timeout = "5s", stop_order = "reverse", timeout = "1s")]
async fn api(ready: Ready, shutdown: Shutdown, port: u16) {
    assert_eq!(port, 8080);
    ready.set();
    shutdown.requested().await;
}

// An empty list (an edit under way) needs nothing.
#[service(needs = [])]
async fn standalone(shutdown: Shutdown) {
    shutdown.requested().await;
}

#[service(stop_order = "by-dependency")]
async fn supervisor(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn debug(service: &Service) -> String {
    format!("{service:?}")
}

fn main() {
    assert!(debug(&standalone()).contains("needs: []"));
    let api_debug = debug(&api(8080));
    for field in [
        "needs: [\"db\", \"cache\"]",
        "ready_timeout: Some(5s)",
        "stop_order: Reverse",
        "signals_ready: true",
    ] {
        assert!(api_debug.contains(field), "{field}: {api_debug}");
    }
    let cache_debug = debug(&memcache());
    for field in [
        "needs: [\"db\"]",
        "ready_timeout: None",
        "signals_ready: false",
    ] {
        assert!(cache_debug.contains(field), "{field}: {cache_debug}");
    }
    assert!(debug(&supervisor()).contains("stop_order: ByDependency"));
    let report = Root::new()
        .signals(false)
        .block_on(async {
            let handles = canstop::start_all([api(8080), memcache(), db(), supervisor()])?;
            assert_eq!(handles.len(), 4);
            canstop::shutdown()?;
            Ok::<(), canstop::SpawnError>(())
        })
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}
