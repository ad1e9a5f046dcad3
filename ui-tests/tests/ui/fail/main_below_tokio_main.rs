//! `#[tokio::main]` above `#[canstop::main]`: tokio's runs first, so ours sees its output;
//! one error, which says to remove one of the two.
#[tokio::main]
#[canstop::main]
async fn main() {}
