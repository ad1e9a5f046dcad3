use canstop::service;

#[service]
async fn worker() -> u32 {
    1
}

fn main() {
    let _ = worker();
}
