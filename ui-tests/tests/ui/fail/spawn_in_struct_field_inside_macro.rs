use canstop::session;

struct Holder {
    handle: tokio::task::JoinHandle<()>,
}

#[session]
async fn job() {
    // A single `:` before the path (a field) is not a path separator.
    let holders = vec![Holder {
        handle: tokio::spawn(async {}),
    }];
    drop(holders);
}

fn main() {
    let _ = job();
}
