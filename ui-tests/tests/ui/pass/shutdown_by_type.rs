//! canstop's `Shutdown` is recognised by its type's path, or by `#[shutdown]`: a user's own
//! `config::Shutdown` is an ordinary argument the caller passes; an alias is canstop's when
//! marked.

use canstop::{service, session, Root};

mod config {
    #[derive(Debug, PartialEq, Eq)]
    pub struct Shutdown {
        pub grace_ms: u64,
    }
}

use canstop::Shutdown as Stop;

#[service]
async fn by_path(policy: config::Shutdown, shutdown: ::canstop::Shutdown) {
    assert_eq!(policy, config::Shutdown { grace_ms: 5 });
    shutdown.requested().await;
}

#[service]
async fn by_alias(#[shutdown] stop: Stop, policy: config::Shutdown) {
    assert_eq!(policy.grace_ms, 7);
    stop.requested().await;
}

#[session]
async fn marked(#[shutdown] mut stop: canstop::Shutdown, id: u32) {
    stop = stop.clone();
    let _ = (stop.is_requested(), id);
}

fn main() {
    let report = Root::new()
        .signals(false)
        .block_on(async {
            canstop::start(by_path(config::Shutdown { grace_ms: 5 }))?;
            canstop::start(by_alias(config::Shutdown { grace_ms: 7 }))?;
            canstop::spawn(marked(1))?;
            canstop::shutdown()
        })
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}
