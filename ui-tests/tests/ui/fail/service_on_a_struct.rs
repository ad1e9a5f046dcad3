#[canstop::service]
struct Worker;

fn main() {
    let _ = Worker;
}
