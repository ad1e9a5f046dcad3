use canstop::session;

#[session(name = "jobs/upload")]
async fn upload() {}

fn main() {
    let _ = upload();
}
