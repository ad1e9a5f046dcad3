//! `needs` and `ready_timeout` belong to `#[service]`: one error each on a session or `main`.

use canstop::session;

#[session(needs = ["db"])]
async fn job() {}

#[canstop::main(ready_timeout = "5s")]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job())?;
    Ok(())
}
