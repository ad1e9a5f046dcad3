//! An unknown strategy on `main`: one error at the value, which lists the strategies.
#[canstop::main(strategy = "one-for-all")]
async fn main() {}
