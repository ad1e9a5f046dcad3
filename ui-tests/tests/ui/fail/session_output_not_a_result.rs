// A session whose output cannot end a session: one error per fn, at its return type.
use std::sync::Arc;

use canstop::session;

struct Summary {
    rows: u64,
}

#[session]
async fn summarize() -> Summary {
    Summary { rows: 1 }
}

struct Store;

impl Store {
    #[session]
    async fn summarize(self: Arc<Self>) -> Summary {
        Summary { rows: 2 }
    }
}

fn main() {
    let _ = summarize();
    let _ = Arc::new(Store).summarize();
    let _ = Summary { rows: 0 }.rows;
}
