use canstop::service;

struct Port(u16);

#[service]
async fn worker() -> Port {
    Port(1)
}

fn main() {
    let _ = worker();
}
