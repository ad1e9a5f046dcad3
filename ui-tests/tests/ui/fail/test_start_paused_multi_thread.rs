#[canstop::test(flavor = "multi_thread", start_paused = true)]
async fn runs() {}

fn main() {}
