//! `#[service]` and `#[session]` on methods: `self: Arc<Self>` and `self`, `Self` in the
//! signature and in the body, `?` with conversions, and a generic `impl` (also associated fns
//! without `self` that name its type parameter).

use std::sync::Arc;

use canstop::{service, session, Root, ServiceOutcome, Shutdown};

struct Config {
    port: u16,
}

struct Api {
    config: Config,
    pool: Vec<String>,
}

impl Api {
    const NAME: &'static str = "api";

    fn port(&self) -> u16 {
        self.config.port
    }

    /// Serves until told to stop.
    #[service(name = "api")]
    async fn run(self: Arc<Self>, shutdown: Shutdown, greeting: String) -> Result<(), String> {
        let port: u16 = "7000".parse().map_err(|e: std::num::ParseIntError| e.to_string())?;
        assert_eq!((self.port(), port, Self::NAME), (7000, 7000, "api"));
        assert_eq!(greeting, "hello");
        shutdown.requested().await;
        Ok(())
    }

    #[session]
    async fn handle(self, mut id: u32, other: Self) -> Result<(), std::io::Error> {
        id += 1;
        if id == 0 {
            return Err(std::io::Error::other("zero"));
        }
        assert_eq!(self.pool.len() + other.pool.len(), id as usize - 1);
        Ok(())
    }

    #[service]
    async fn idle(self: Arc<Self>) {
        let _ = &self.pool;
        std::future::pending::<()>().await;
    }
}

struct Pool<T> {
    items: Vec<T>,
}

impl<T: Send + Sync + 'static> Pool<T> {
    #[service]
    async fn keep(self: Arc<Self>, shutdown: Shutdown) {
        let _first: Option<&T> = self.items.first();
        shutdown.requested().await;
    }

    #[session]
    async fn count(self: Arc<Self>) {
        assert_eq!(Self::len(&self), 1);
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// An associated fn without `self` that names the `impl`'s type parameter (its body is
    /// generated in place, where `T` is in scope).
    #[service]
    async fn fill(shutdown: Shutdown, items: Vec<T>) -> Result<(), String> {
        let pool: Arc<Pool<T>> = Arc::new(Pool { items });
        assert_eq!(pool.len(), 2);
        shutdown.requested().await;
        Ok(())
    }

    #[session]
    async fn first(items: Vec<T>) -> usize {
        let first: Option<&T> = items.first();
        usize::from(first.is_some())
    }
}

fn main() {
    let api = Arc::new(Api {
        config: Config { port: 7000 },
        pool: Vec::new(),
    });
    let report = Root::new()
        .signals(false)
        .block_on(async move {
            canstop::start(Arc::clone(&api).run("hello".to_owned()))?;
            canstop::start(Arc::clone(&api).idle())?;
            let one = Api {
                config: Config { port: 1 },
                pool: vec!["a".to_owned()],
            };
            let two = Api {
                config: Config { port: 2 },
                pool: Vec::new(),
            };
            canstop::spawn(one.handle(1, two))?;
            let pool = Arc::new(Pool { items: vec![1_u8] });
            canstop::start(Arc::clone(&pool).keep())?;
            canstop::spawn(pool.count())?;
            canstop::start(Pool::<u8>::fill(vec![1, 2]))?;
            canstop::spawn(Pool::<u8>::first(vec![3]))?;
            canstop::shutdown()
        })
        .unwrap();
    assert_eq!(report.service("api").unwrap().outcome, ServiceOutcome::Stopped, "{report}");
    assert_eq!(report.sessions_named("handle").unwrap().finished, 1, "{report}");
    assert_eq!(report.sessions_named("count").unwrap().finished, 1, "{report}");
    assert_eq!(report.sessions_named("first").unwrap().finished, 1, "{report}");
    assert_eq!(report.service("fill").unwrap().outcome, ServiceOutcome::Stopped, "{report}");
    assert_eq!(report.exit_code(), 0, "{report}");
}
