//! A session is not restarted: `restart` (and `strategy`) on `#[session]` is an error that
//! says where they belong.
use canstop::session;

#[session(restart = "on-failure", strategy = "one_for_all")]
async fn job(id: u32) {
    let _ = id;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(1))?;
    Ok(())
}
