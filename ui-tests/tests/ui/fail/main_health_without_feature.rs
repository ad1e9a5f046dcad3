// The ui-tests crate builds canstop without its `health` feature: one error, at the option,
// that names the feature.
#[canstop::main(health = "0.0.0.0:8081")]
async fn main() {}
