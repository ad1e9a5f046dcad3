use canstop::session;

#[session]
fn job(id: u32) {
    let _ = id;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(1))?;
    Ok(())
}
