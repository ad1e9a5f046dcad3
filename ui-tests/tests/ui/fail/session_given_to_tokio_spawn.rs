use canstop::session;

#[session]
async fn job() {}

async fn elsewhere() {
    let _ = tokio::spawn(job());
}

fn main() {
    let _ = elsewhere();
}
