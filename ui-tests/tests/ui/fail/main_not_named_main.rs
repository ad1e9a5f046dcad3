#[canstop::main]
async fn run() {}

fn main() {
    let _ = run();
}
