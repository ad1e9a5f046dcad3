//! A borrowed `self` on a session that returns a value: one error, which names the fix (the
//! stub keeps the fn's output, so that nothing else fails).
use canstop::session;

struct Api {
    base: u32,
}

impl Api {
    #[session]
    async fn handle(&self, x: u32) -> u32 {
        self.base + x
    }
}

fn main() {
    let api = Api { base: 1 };
    let _ = api.handle(2);
}
