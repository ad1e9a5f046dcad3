use canstop::{service, Shutdown};

const DB: &str = "db";

#[service(needs = ["cache", DB, 3])]
async fn worker(shutdown: Shutdown) {
    shutdown.requested().await;
}

fn main() {
    let _ = (worker(), DB);
}
