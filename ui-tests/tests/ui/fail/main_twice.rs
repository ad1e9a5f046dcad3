#[canstop::main]
#[tokio::main]
async fn main() {}
