use canstop::session;

#[session]
async fn job(n: u32) -> u32 {
    n
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    // A session is spawned, not started: one error, naming `canstop::spawn`.
    canstop::start(job(1))?;
    Ok(())
}
