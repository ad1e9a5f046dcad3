//! The trait pattern: a trait whose method returns a `canstop::Service`, implemented with
//! `#[service]`, and started through a `dyn` trait object.

use std::sync::Arc;

use canstop::{service, Root, Shutdown};

trait Worker: Send + Sync {
    fn run(self: Arc<Self>) -> canstop::Service;
}

struct Ticker {
    every_ms: u64,
}

impl Worker for Ticker {
    #[service(name = "ticker")]
    async fn run(self: Arc<Self>, shutdown: Shutdown) {
        assert_eq!(self.every_ms, 10);
        shutdown.requested().await;
    }
}

/// The same trait declared with `#[service]`: the declaration the `impl`'s method matches.
trait Listener: Send + Sync {
    #[service]
    async fn listen(self: Arc<Self>, shutdown: Shutdown, port: u16);
}

struct Tcp;

impl Listener for Tcp {
    #[service(name = "tcp")]
    async fn listen(self: Arc<Self>, shutdown: Shutdown, port: u16) {
        assert_eq!(port, 8080);
        shutdown.requested().await;
    }
}

fn main() {
    let listener: Arc<dyn Listener> = Arc::new(Tcp);
    let _: canstop::Service = listener.listen(8080);
    let workers: Vec<Arc<dyn Worker>> = vec![Arc::new(Ticker { every_ms: 10 })];
    let report = Root::new()
        .signals(false)
        .block_on(async move {
            for worker in workers {
                canstop::start(worker.run())?;
            }
            canstop::shutdown()
        })
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}
