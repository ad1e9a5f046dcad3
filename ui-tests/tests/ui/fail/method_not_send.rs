//! A method's body that is not `Send`: one error, at the body, naming the value held across
//! the `.await`.
use std::rc::Rc;
use std::sync::Arc;

use canstop::{service, Shutdown};

struct Server;

impl Server {
    #[service]
    async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let counter = Rc::new(1);
        shutdown.requested().await;
        let _ = counter;
    }
}

fn main() {}
