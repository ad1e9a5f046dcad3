#[canstop::test]
async fn runs(port: u16) {
    let _ = port;
}

fn main() {}
