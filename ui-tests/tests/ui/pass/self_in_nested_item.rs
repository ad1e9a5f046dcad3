//! A `#[service]` or `#[session]` may be an associated fn whose body declares items with their
//! own `Self` (an `impl`, a type): only the `impl` around the annotated fn is out of reach.

use canstop::{service, session, Root, Shutdown};

struct Server;

impl Server {
    #[service]
    async fn serve(shutdown: Shutdown, port: u16) {
        struct Listener {
            port: u16,
        }
        impl Listener {
            fn bind(port: u16) -> Self {
                Self { port }
            }
        }
        assert_eq!(Listener::bind(port).port, 7000);
        shutdown.requested().await;
    }

    #[session]
    async fn handle(id: u32) {
        #[derive(Debug, PartialEq)]
        enum Step {
            Next(Box<Self>),
            Done,
        }
        let steps = Step::Next(Box::new(Step::Done));
        assert_eq!(steps, Step::Next(Box::new(Step::Done)), "{id}");
    }
}

fn main() {
    let report = Root::new()
        .signals(false)
        .block_on(async {
            canstop::start(Server::serve(7000))?;
            canstop::spawn(Server::handle(1))?;
            canstop::shutdown()
        })
        .unwrap();
    assert_eq!(report.sessions_named("handle").unwrap().finished, 1, "{report}");
    assert_eq!(report.exit_code(), 0, "{report}");
}
