#[canstop::main(flavor = "local")]
async fn main() {}
