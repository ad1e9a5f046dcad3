//! A session awaited as a future, its result then tried with `?`: one error, at the `.await`
//! (the `?` raises none of its own: the session's "output" is its body's).
use canstop::session;

#[session]
async fn job(n: u32) -> Result<u32, String> {
    Ok(n)
}

#[canstop::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let value = job(1).await?;
    assert_eq!(value, 1);
    Ok(())
}
