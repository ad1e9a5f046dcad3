//! `#[session]` on a trait's declaration: one error, which says why and what to do.
use canstop::{session, Shutdown};

trait Handler {
    #[session]
    async fn handle(self, shutdown: Shutdown);
}

fn main() {}
