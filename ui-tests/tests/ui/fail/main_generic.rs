#[canstop::main]
async fn main<T>() {}
