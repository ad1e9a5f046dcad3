use canstop::{service, Shutdown};

#[service]
async fn worker(#[cfg(not(any()))] shutdown: Shutdown, id: u32) {
    let _ = id;
}

fn main() {
    let _ = worker(1);
}
