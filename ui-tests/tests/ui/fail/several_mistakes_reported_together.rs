use canstop::{service, Shutdown};

#[service(nme = "worker", timeout = "10x")]
fn worker(shutdown: Shutdown, label: &str) {
    let _ = (shutdown, label);
}

fn main() {
    let _ = worker("a");
}
