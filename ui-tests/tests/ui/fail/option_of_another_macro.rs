use canstop::session;

#[session(flavor = "current_thread")]
async fn job() {}

fn main() {
    let _ = job();
}
