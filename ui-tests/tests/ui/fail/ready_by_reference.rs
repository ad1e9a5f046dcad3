use canstop::{service, Ready};

#[service]
async fn worker(ready: &Ready) {
    ready.set();
}

fn main() {}
