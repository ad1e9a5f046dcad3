#[canstop::main(timeout = "-1s")]
async fn main() {}
