use canstop::session;

#[session]
async fn job(name: &str, count: u32) {
    let _ = (name, count);
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job("a", 1))?;
    Ok(())
}
