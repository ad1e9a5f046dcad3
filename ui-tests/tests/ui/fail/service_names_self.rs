use canstop::service;

struct Config;

impl Config {
    #[service]
    async fn run(config: Self) {
        let _ = config;
    }
}

fn main() {}
