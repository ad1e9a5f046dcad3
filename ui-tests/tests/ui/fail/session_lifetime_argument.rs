use std::borrow::Cow;

use canstop::session;

#[session]
async fn job(name: Cow<'_, str>) {
    let _ = name;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job(Cow::Borrowed("a")))?;
    Ok(())
}
