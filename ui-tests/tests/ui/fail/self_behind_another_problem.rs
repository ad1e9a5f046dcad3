//! `Self` in a signature whose first problem is something else (a borrow, an `impl Trait`, a
//! `where` clause): only the macro's error, and none from rustc about `Self`.
use canstop::{service, session};

struct Config;

impl Config {
    #[session]
    async fn borrowed(config: &Self) {
        let _ = config;
    }

    #[session]
    async fn converted(config: Option<impl Into<Self>>) {
        let _ = config;
    }

    #[service]
    async fn bounded()
    where
        Self: Sized,
    {
    }
}

fn main() {}
