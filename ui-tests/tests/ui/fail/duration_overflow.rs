#[canstop::main(timeout = "99999999999999999999s")]
async fn main() {}
