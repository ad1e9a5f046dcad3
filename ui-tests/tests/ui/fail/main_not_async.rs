#[canstop::main]
fn main() {}
