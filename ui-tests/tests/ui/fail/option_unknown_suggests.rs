#[canstop::main(timout = "10s")]
async fn main() {}
