use canstop::{service, Ready};

#[service(ready_timeout = "0s")]
async fn worker(ready: Ready) {
    ready.set();
}

fn main() {
    let _ = worker();
}
