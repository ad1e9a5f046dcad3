#[canstop::test]
fn runs() {
    assert_eq!(1 + 1, 2);
}

fn main() {}
