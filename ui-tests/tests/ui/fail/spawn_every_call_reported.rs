#[canstop::main]
async fn main() {
    tokio::spawn(async {});
    let run = || async {
        tokio::task::spawn(async {});
    };
    run().await;
}
