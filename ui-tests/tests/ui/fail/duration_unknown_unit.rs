#[canstop::main(timeout = "10x")]
async fn main() {}
