#[canstop::main(name = "server")]
async fn main() {}
