use canstop::session;

#[session]
async fn job(label: impl std::fmt::Display + Send + 'static) {
    let _ = label.to_string();
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(job("a"))?;
    Ok(())
}
