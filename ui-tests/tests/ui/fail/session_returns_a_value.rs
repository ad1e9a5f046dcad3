use canstop::session;

#[session]
async fn lookup(id: u64) -> Result<u64, String> {
    Ok(id)
}

fn main() {
    let _ = canstop::spawn(lookup(7));
}
