//! Mid-edit: a missing `;` in `main` gives rustc's one syntax error, not also "`main` function
//! is not allowed to be `async`".
#[canstop::main]
async fn main() {
    let answer = 42
    let _ = answer;
}
