#[canstop::main]
async fn main() {
    let handle = ::tokio::task::spawn(async { 1 });
    let _ = handle.await;
}
