#[canstop::test(timeout = "30s1m")]
async fn stops() {}

fn main() {}
