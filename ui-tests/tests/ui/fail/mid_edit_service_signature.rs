//! A service whose signature does not parse yet (a parameter without its type): rustc's
//! syntax error and one of the macro's at the same token; the caller, which passes the
//! arguments it will pass, gets no error.
use canstop::{service, Service, Shutdown};

#[service]
async fn worker(shutdown: Shutdown, port: ) {
    shutdown.requested().await;
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    let service: Service = worker(8080);
    canstop::start(service)?;
    Ok(())
}
