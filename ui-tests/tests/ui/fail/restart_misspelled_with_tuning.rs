use canstop::{service, Shutdown};

// A misspelled `restart`: one error, not also "`max_restarts` without a policy".
#[service(restat = "on-failure", max_restarts = 2)]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = worker();
}
