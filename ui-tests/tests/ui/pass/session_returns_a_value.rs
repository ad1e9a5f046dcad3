//! A session's value reaches the code that spawned it, through its handle.
use canstop::session;

#[session]
async fn lookup(id: u64) -> Result<u64, String> {
    Ok(id * 2)
}

#[session]
async fn nothing() {}

#[canstop::main(timeout = "1s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let doubled: u64 = canstop::spawn(lookup(21))?.await??;
    assert_eq!(doubled, 42);
    canstop::spawn(nothing())?.await?;
    Ok(())
}
