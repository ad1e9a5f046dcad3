//! `main` whose signature does not parse yet: two errors at the same token, and no
//! "`main` function not found" or "`main` may not be async".
#[canstop::main]
async fn main(x: ) -> Result<(), canstop::SpawnError> {
    Ok(())
}
