//! A session whose error type is not `Display`: the error at its return type names the type
//! (the body's own bound, which it also breaks, comes second).
use canstop::session;

#[derive(Debug)]
struct Oops;

#[session]
async fn job() -> Result<(), Oops> {
    Err(Oops)
}

fn main() {
    let _ = job();
}
