use canstop::session;

#[session]
async fn job() {
    let _ = tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(1)));
}

fn main() {
    let _ = job();
}
