#[canstop::test]
#[test]
async fn runs() {}

fn main() {}
