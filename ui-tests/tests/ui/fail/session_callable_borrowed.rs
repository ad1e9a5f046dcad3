//! A callable is owned unless it borrows itself: a `'_` bound on the trait object, or a
//! reference to it.

use canstop::session;

#[session]
async fn filter(
    pred: Box<dyn Fn(&str) -> bool + Send + '_>,
    parse: &(dyn Fn(&[u8]) -> usize + Sync),
) {
    let _ = (pred("x"), parse(b"x"));
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    let empty = String::new();
    canstop::spawn(filter(Box::new(|s| s == empty), &|b| b.len()))?;
    Ok(())
}
