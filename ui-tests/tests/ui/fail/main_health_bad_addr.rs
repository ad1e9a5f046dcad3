// Not a socket address: one error, at the value, saying what is expected.
#[canstop::main(health = "localhost:8081")]
async fn main() {}
