use std::sync::Arc;

use canstop::{service, Shutdown};

struct Api;

impl Api {
    #[service]
    #[tracing::instrument(skip_all)]
    async fn run(self: Arc<Self>, shutdown: Shutdown) {
        shutdown.requested().await;
    }
}

fn main() {
    let _ = Arc::new(Api).run();
}
