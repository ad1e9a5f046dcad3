use canstop::session;

#[session(timeout = "5s")]
async fn job() {}

fn main() {
    let _ = job();
}
