use canstop::{service, Ready};

#[service]
async fn worker(first: Ready, second: canstop::Ready) {
    first.set();
    let _ = second;
}

fn main() {
    let _ = worker();
}
