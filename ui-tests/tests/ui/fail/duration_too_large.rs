#[canstop::main(timeout = "9999999999999999h")]
async fn main() {}
