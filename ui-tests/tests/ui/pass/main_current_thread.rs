//! `#[canstop::main(flavor = "current_thread")]`, and a `main` returning a boxed error.

use tokio::runtime::{Handle, RuntimeFlavor};

#[canstop::main(flavor = "current_thread", timeout = "1m30s")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    assert_eq!(Handle::current().runtime_flavor(), RuntimeFlavor::CurrentThread);
    let port: u16 = "8080".parse()?;
    assert_eq!(port, 8080);
    Ok(())
}
