use canstop::session;

#[session]
async fn job() {}

#[canstop::main]
async fn main() {
    job().await;
}
