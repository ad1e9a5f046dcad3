//! `#[tokio::test]` above `#[canstop::test]`: one error, which says to remove one of the two.
#[tokio::test]
#[canstop::test]
async fn a_test() {}

fn main() {}
