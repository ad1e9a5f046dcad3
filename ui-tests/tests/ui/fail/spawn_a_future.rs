#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    canstop::spawn(async {
        println!("hello");
    })?;
    Ok(())
}
