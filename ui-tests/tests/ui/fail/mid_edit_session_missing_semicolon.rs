//! Mid-edit: a missing `;` in a session's body gives rustc's one syntax error, and nothing
//! from the macro or from the caller.
use canstop::session;

#[session]
async fn job(id: u32) -> Result<(), String> {
    let next = id + 1
    let _ = next;
    Ok(())
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(1))?;
    Ok(())
}
