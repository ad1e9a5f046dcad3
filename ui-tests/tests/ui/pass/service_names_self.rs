//! `Self` as a parameter's type and in the return type of an associated fn (this was an error
//! before services could be methods).

use canstop::{service, session, Root};

#[derive(Debug, PartialEq)]
struct Config {
    port: u16,
}

impl Config {
    #[service]
    async fn run(config: Self) {
        assert_eq!(config, Self { port: 7000 });
    }

    #[session]
    async fn check(config: Self, expected: u16) -> Result<(), Box<Self>> {
        if config.port == expected {
            Ok(())
        } else {
            Err(Box::new(config))
        }
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "port {}", self.port)
    }
}

fn main() {
    let report = Root::new()
        .signals(false)
        .block_on(async {
            canstop::start(Config::run(Config { port: 7000 }))?;
            canstop::spawn(Config::check(Config { port: 1 }, 1))?;
            canstop::shutdown()
        })
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}
