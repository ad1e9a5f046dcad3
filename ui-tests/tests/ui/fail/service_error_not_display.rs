use canstop::service;

#[derive(Debug)]
struct Oops;

#[service]
async fn worker() -> Result<(), Oops> {
    Err(Oops)
}

fn main() {
    let _ = worker();
}
