//! A service whose body does not parse yet, and whose options have a mistake: the caller,
//! which passes the right arguments and uses the `Service`, gets no error; only rustc's syntax
//! error and the option's.
use canstop::{service, Service, Shutdown};

#[service(nme = "acceptor")]
async fn accept(addr: String, shutdown: Shutdown, backlog: u32) -> Result<(), String> {
    let _listener = (addr, backlog)
    shutdown.requested().await;
    Ok(())
}

#[canstop::main]
async fn main() -> Result<(), canstop::SpawnError> {
    let service: Service = accept("0.0.0.0:80".to_owned(), 128);
    assert_eq!(service.name(), "accept");
    canstop::start(service)?;
    Ok(())
}
