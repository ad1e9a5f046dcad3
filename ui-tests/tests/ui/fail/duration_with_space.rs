#[canstop::main(timeout = "10 s")]
async fn main() {}
